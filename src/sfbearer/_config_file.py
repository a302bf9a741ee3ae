"""The configuration file itself: read, validate and write the TOML document of profiles.

Kept apart from :mod:`sfbearer.config` (which resolves flags, variables and profiles) so each
module holds one concern. Every problem is a :class:`~sfbearer.ProfileError` naming the file,
the profile and the key, never a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfbearer._exceptions import ProfileError

if TYPE_CHECKING:
    from sfbearer.config import Profile

__all__ = [
    "PROFILE_FIELDS",
    "Document",
    "check_profile_name",
    "close_match",
    "profile_to_table",
    "read_document",
    "unwritable_config_hint",
    "validate_table",
    "write_document",
]

# field -> (kind, default). Kept equal to Profile's fields (a test checks it).
PROFILE_FIELDS: dict[str, tuple[str, Any]] = {
    "client_id": ("str", None),
    "username": ("str", None),
    "environment": ("str", "production"),
    "audience": ("str", None),
    "allow_hosts": ("hosts", ()),
    "jwt_key_file": ("key", None),
    "jwt_key_env": ("var", None),
    "cert_file": ("path", None),
    "passphrase_env": ("var", None),
    "passphrase_file": ("path", None),
    "session_timeout": ("minutes", 120),
    "cache": ("cache", "memory"),
    "audit": ("path", None),
    "proxy": ("str", None),
    "ca_bundle": ("path", None),
    "timeout": ("seconds", 30.0),
    # Certificate rotation (sfbearer certs rotate / promote): the pending pair, and the
    # pair (and consumer key) the last promotion replaced.
    "next_jwt_key_file": ("key", None),
    "next_cert_file": ("path", None),
    "previous_jwt_key_file": ("key", None),
    "previous_cert_file": ("path", None),
    "previous_client_id": ("str", None),
}
_REQUIRED = ("client_id", "username")
_TOP_LEVEL = ("default", "profiles")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_MAX_CONFIG_BYTES = 1024 * 1024
_MAX_SESSION_MINUTES = 24 * 60


@dataclass
class Document:
    """The parsed file: the default profile's name and each profile's validated table."""

    default: str | None = None
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)


def close_match(word: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to ``word`` (for "did you mean"), or None."""
    import difflib

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def unwritable_config_hint(path: Path) -> str:
    """What to do when the configuration file cannot be written."""
    if os.environ.get("SFBEARER_CONFIG"):
        return (
            f"SFBEARER_CONFIG names {path}: point it at a file in a directory you can write "
            "to, or unset it to use the default location"
        )
    return f"make {path.parent} writable, or set SFBEARER_CONFIG to a file you can write"


def check_profile_name(name: str) -> str:
    """Raise :class:`ProfileError` unless ``name`` is 1-64 letters, digits, ``_.-``."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ProfileError(
            f"invalid profile name {name!r}",
            hint="use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
        )
    return name


def _fail(source: str, profile: str, key: str, problem: str, hint: str = "") -> ProfileError:
    return ProfileError(f"{source}: profile {profile!r}: {key} {problem}", hint=hint)


def _empty_hint(key: str) -> str:
    if key == "client_id":
        return (
            "the client id is the External Client App's Consumer Key (3MVG9...); "
            "sfbearer app checklist shows where to copy it"
        )
    if key == "username":
        return "the username is the integration user's Salesforce username (user@example.com)"
    return f"give {key} a value, or leave it out"


def _resolve_path(value: str, base: Path | None) -> str:
    p = Path(value).expanduser()
    if base is not None and not p.is_absolute():
        p = base / p
    return str(p)


def _check_value(source: str, profile: str, key: str, value: Any, base: Path | None) -> Any:
    kind = PROFILE_FIELDS[key][0]
    if kind == "hosts":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(
            isinstance(h, str) and h.strip() for h in value
        ):
            raise _fail(source, profile, key, "must be a list of host names")
        return tuple(h.strip().lower() for h in value)
    if kind == "minutes":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(source, profile, key, "must be a whole number of minutes")
        if not 1 <= value <= _MAX_SESSION_MINUTES:
            raise _fail(source, profile, key, f"must be 1 to {_MAX_SESSION_MINUTES} minutes")
        return value
    if kind == "seconds":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(source, profile, key, "must be a number of seconds")
        if not 0 < value <= 600:
            raise _fail(source, profile, key, "must be more than 0 and at most 600 seconds")
        return float(value)
    if not isinstance(value, str) or not value.strip():
        raise _fail(source, profile, key, "must be a non-empty string", hint=_empty_hint(key))
    value = value.strip()
    if kind == "var" and not _VAR_RE.match(value):
        raise _fail(
            source,
            profile,
            key,
            "must be the NAME of an environment variable, not its value",
            hint='e.g. jwt_key_env = "SFBEARER_JWT_KEY"',
        )
    if kind == "path":
        return _resolve_path(value, base)
    if kind == "key":
        if value.startswith(("pkcs11:", "awskms:")):
            return value
        if "-----BEGIN" in value:
            # Never echo the value: it is a private key.
            raise _fail(
                source,
                profile,
                key,
                "holds PEM text; it must be a path (or use jwt_key_env for a PEM in a variable)",
            )
        return _resolve_path(value, base)
    if kind == "cache":
        if value == "memory" or value.startswith(("redis://", "rediss://")):
            return value
        if value.startswith("file:") and len(value) > len("file:"):
            return "file:" + _resolve_path(value[len("file:") :], base)
        raise _fail(
            source,
            profile,
            key,
            f"{value!r} is not a cache",
            hint="use memory, file:PATH, redis://HOST:PORT/DB or rediss://...",
        )
    return value


def validate_table(
    profile: str,
    table: Mapping[str, Any],
    *,
    source: str,
    base: Path | None = None,
) -> dict[str, Any]:
    """Check one profile's table (unknown keys, types, ranges); return it normalised.

    Relative paths are made absolute against ``base`` (the configuration file's directory).
    """
    if not isinstance(table, Mapping):
        raise ProfileError(
            f"{source}: profile {profile!r} must be a table",
            hint=f"write it as [profiles.{profile}] followed by key = value lines",
        )
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in PROFILE_FIELDS:
            guess = close_match(key, PROFILE_FIELDS)
            raise ProfileError(
                f"{source}: profile {profile!r}: unknown key {key!r}",
                hint=f"did you mean {guess!r}?"
                if guess
                else "known keys: " + ", ".join(PROFILE_FIELDS),
            )
        if value is None:
            continue
        out[key] = _check_value(source, profile, key, value, base)
    for key in _REQUIRED:
        if not out.get(key):
            raise _fail(source, profile, key, "is required")
    if out.get("jwt_key_file") and out.get("jwt_key_env"):
        raise _fail(source, profile, "jwt_key_file", "and jwt_key_env are both set; keep only one")
    return out


def read_document(path: Path) -> Document:
    """Read and validate the whole file; a missing file is an empty document.

    Raises:
        ProfileError: unreadable file, invalid TOML (with its line), unknown or invalid keys.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(_MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return Document()
    except IsADirectoryError:
        raise ProfileError(
            f"{path} is a directory, not a configuration file",
            hint="SFBEARER_CONFIG must name a file, e.g. ~/.config/sfbearer/config.toml",
        ) from None
    except OSError as exc:
        raise ProfileError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > _MAX_CONFIG_BYTES:
        raise ProfileError(f"{path} is too large to be an sfbearer configuration file")
    import tomllib

    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProfileError(f"{path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(
            f"{path}: invalid TOML: {exc}",
            hint="fix the line named above (strings need double quotes)",
        ) from None
    return _document(path, raw)


def _document(path: Path, raw: Mapping[str, Any]) -> Document:
    source = str(path)
    for key in raw:
        if key not in _TOP_LEVEL:
            guess = close_match(key, _TOP_LEVEL)
            hint = (
                f"did you mean {guess!r}?"
                if guess
                else f"profiles go in tables named [profiles.NAME], e.g. [profiles.{key}]"
            )
            raise ProfileError(f"{source}: unknown top-level key {key!r}", hint=hint)
    profiles_raw = raw.get("profiles", {})
    if not isinstance(profiles_raw, Mapping):
        raise ProfileError(
            f"{source}: 'profiles' must be a table of profiles",
            hint="write each profile as [profiles.NAME]",
        )
    doc = Document()
    for name, table in profiles_raw.items():
        if not _NAME_RE.match(name):
            raise ProfileError(f"{source}: invalid profile name {name!r}")
        doc.profiles[name] = validate_table(name, table, source=source, base=path.parent)
    default = raw.get("default")
    if default is not None:
        if not isinstance(default, str) or default not in doc.profiles:
            guess = close_match(str(default), doc.profiles)
            raise ProfileError(
                f"{source}: default = {default!r} names no profile in the file",
                hint=f"did you mean {guess!r}?" if guess else "set it to a profile's name",
            )
        doc.default = default
    return doc


def profile_to_table(profile: Profile, *, keep_defaults: bool = False) -> dict[str, Any]:
    """The TOML table for ``profile``: None values left out, defaults too unless asked."""
    table: dict[str, Any] = {}
    for key, (_kind, default) in PROFILE_FIELDS.items():
        value = getattr(profile, key)
        if value is None or value == ():
            continue
        if value == default and not keep_defaults and key != "environment":
            continue
        table[key] = list(value) if isinstance(value, tuple) else value
    return table


def write_document(path: Path, doc: Document) -> None:
    """Write ``doc`` atomically, mode 0600 (the directory is created 0700 when missing)."""
    import tomli_w

    from sfbearer._files import atomic_write

    data: dict[str, Any] = {}
    if doc.default and doc.default in doc.profiles:
        data["default"] = doc.default
    data["profiles"] = {name: doc.profiles[name] for name in sorted(doc.profiles)}
    header = (
        b"# sfbearer configuration: profiles of connection settings (no secrets).\n"
        b"# Rewritten by sfbearer init / profiles; comments are not kept.\n\n"
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, header + tomli_w.dumps(data).encode("utf-8"), mode=0o600)
    except OSError as exc:
        raise ProfileError(
            f"cannot write {path}: {exc.strerror or exc}", hint=unwritable_config_hint(path)
        ) from None
