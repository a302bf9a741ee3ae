"""Every command's ``--help`` shows examples (docs/cli.md promises it), and each example names
a real command and only options that command takes."""

from __future__ import annotations

import shlex
from collections.abc import Iterator

import click
import pytest

from cli_result import RunCli
from sfbearer.cli import cli

_SKIPPED_GROUPS: set[str] = set()


def _leaves(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(command, info_name=path[-1])
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            if len(path) == 1 and name in _SKIPPED_GROUPS:
                continue
            sub = command.get_command(ctx, name)
            assert sub is not None
            yield from _leaves(sub, (*path, name))
    else:
        yield path


_COMMANDS = sorted(_leaves(cli, ("sfbearer",)))


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path[1:]:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None, path
        command = found
    return command


def _examples(help_text: str) -> list[str]:
    """The example commands, a line continued with a backslash joined to the next."""
    lines = help_text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("Example"))
    first = lines[start].split(":", 1)[1].strip()
    found = [first] if first.startswith("sfbearer") else []
    continued = False
    for line in lines[start + 1 :]:
        text = line.strip()
        if continued:
            found[-1] = found[-1][:-1].rstrip() + " " + text
        elif text.startswith("sfbearer"):
            found.append(text)
        else:
            break
        continued = text.endswith("\\")
    return found


def test_continued_example_lines_are_checked_whole() -> None:
    text = "Examples:\n  sfbearer a --x 1 \\\n      --y 2\n  sfbearer b\nafter"
    assert _examples(text) == ["sfbearer a --x 1 --y 2", "sfbearer b"]


def test_the_walk_finds_the_commands_of_the_audit() -> None:
    names = {" ".join(p[1:]) for p in _COMMANDS}
    assert {"demo", "profiles list", "token revoke", "audit tail", "app manifest"} <= names


@pytest.mark.parametrize("path", _COMMANDS, ids=[" ".join(p[1:]) for p in _COMMANDS])
def test_help_has_examples_that_fit_the_command(run_cli: RunCli, path: tuple[str, ...]) -> None:
    result = run_cli(*path[1:], "--help")
    assert result.code == 0, result
    examples = _examples(result.stdout)
    assert examples, result.stdout
    target = _command(path)
    reached = []  # every example's options are checked; one at least runs this command
    for example in examples:
        segments = example.split("#", 1)[0].split("|")
        reached += [_check(s, example) for s in segments if s.split()[0] == "sfbearer"]
    assert target in reached, examples


def _check(segment: str, example: str) -> click.Command:
    """The command ``segment`` runs, after checking each option it passes exists."""
    words = shlex.split(segment, posix=True)
    command: click.Command = cli
    options = {o for p in cli.params for o in p.opts}
    for word in words[1:]:
        if isinstance(command, click.Group) and not word.startswith("-"):
            found = command.get_command(click.Context(command), word)
            if found is not None:
                command = found
                options |= {o for p in command.params for o in p.opts}
                continue
        if word.startswith("-") and word != "-":
            assert word.split("=", 1)[0] in options, (example, word)
    return command
