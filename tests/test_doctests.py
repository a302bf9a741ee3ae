"""Every example in the package's docstrings runs and prints what it shows."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from types import ModuleType

import pytest

import sfbearer


def _modules() -> list[str]:
    found = [sfbearer.__name__]
    for info in pkgutil.walk_packages(sfbearer.__path__, prefix=f"{sfbearer.__name__}."):
        if not info.name.endswith(".__main__"):  # importing it runs the command line
            found.append(info.name)
    return sorted(found)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    try:
        module: ModuleType = importlib.import_module(name)
    except ImportError as exc:  # an optional extra that is not installed
        pytest.skip(f"{name}: {exc}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_examples_are_found() -> None:
    finder = doctest.DocTestFinder()
    examples = 0
    for name in _modules():
        try:
            examples += sum(len(t.examples) for t in finder.find(importlib.import_module(name)))
        except ImportError:
            continue
    assert examples > 150  # a walk that finds nothing would pass the test above vacuously
