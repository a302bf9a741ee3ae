"""Pure helpers shared by the sync and async REST clients: paths, versions, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from sfbearer._exceptions import ApiError, ConfigError, TransportError
from sfbearer._http import TLS_TRUST_HINT, httpx, untrusted_certificate
from sfbearer.auth import NO_API_SCOPE

__all__ = [
    "api_error",
    "check_id",
    "check_sobject",
    "newest_version",
    "normalize_version",
    "transport_error",
]

_VERSION_RE = re.compile(r"^v?(\d{1,3})(?:\.(\d))?$")
_SOBJECT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
_ID_RE = re.compile(r"^[A-Za-z0-9]{1,18}$")


def normalize_version(version: str | float | int) -> str:
    """``68``, ``"v68.0"``, ``68.0`` → ``"68.0"``.

    Raises:
        ConfigError: not an API version.
    """
    match = _VERSION_RE.match(str(version).strip())
    if not match:
        raise ConfigError(f"{version!r} is not a Salesforce API version", hint="e.g. 68.0")
    return f"{int(match.group(1))}.{match.group(2) or 0}"


def newest_version(payload: object) -> str:
    """The newest version in ``GET /services/data/``'s list.

    Raises:
        ApiError: the reply is not a list of versions.
    """
    versions = []
    if isinstance(payload, list):
        for entry in payload:
            if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                try:
                    versions.append(normalize_version(entry["version"]))
                except ConfigError:
                    continue
    if not versions:
        raise ApiError(200, "INVALID_RESPONSE", "/services/data/ did not list any API version")
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


def check_sobject(name: str) -> str:
    if not isinstance(name, str) or not _SOBJECT_RE.match(name):
        raise ConfigError(f"{name!r} is not an sObject name")
    return name


def check_id(record_id: str) -> str:
    if not isinstance(record_id, str) or not _ID_RE.match(record_id):
        raise ConfigError(f"{record_id!r} is not a record id")
    return quote(record_id)


def api_error(status: int, content: bytes, *, method: str, url: str) -> ApiError:
    """A Salesforce error array (``[{"message", "errorCode", "fields"}]``) as an :class:`ApiError`."""
    try:
        payload: Any = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        payload = None
    errors = [e for e in payload if isinstance(e, dict)] if isinstance(payload, list) else []
    if isinstance(payload, dict):
        if "errorCode" in payload or "message" in payload:
            errors = [payload]
        elif "error" in payload:
            errors = [{"errorCode": payload["error"], "message": payload.get("error_description")}]
    where = httpx.URL(url).copy_with(query=None)
    if not errors:
        reason = httpx.codes.get_reason_phrase(status) or "error"
        return ApiError(status, f"HTTP_{status}", reason, method=method, url=str(where))
    first = errors[0]
    fields = first.get("fields")
    error = ApiError(
        status,
        str(first.get("errorCode") or f"HTTP_{status}"),
        str(first.get("message") or ""),
        fields=[str(f) for f in fields] if isinstance(fields, list) else (),
        errors=errors,
        method=method,
        url=str(where),
    )
    if status == 401 and NO_API_SCOPE in error.api_message:
        # A valid token from an app without the api scope: logging in again cannot help.
        error.hint = (
            "the External Client App lacks the api scope: add 'Manage user data via APIs "
            "(api)' to its OAuth scopes (sfbearer doctor checks the scopes)"
        )
    return error


def transport_error(exc: httpx.HTTPError, url: str | httpx.URL) -> TransportError:
    """An httpx failure as a :class:`TransportError` (the one translation boundary)."""
    host = httpx.URL(str(url)).host
    reason = untrusted_certificate(exc)
    if reason is not None:
        return TransportError(
            f"the TLS certificate of {host} is not trusted ({reason})", hint=TLS_TRUST_HINT
        )
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else type(exc).__name__
    return TransportError(
        f"could not reach {host}: {kind}", hint="check the network, proxy and CA bundle"
    )


def body_kwargs(json_body: Any, data: bytes | str | None) -> Mapping[str, Any]:
    if json_body is not None and data is not None:
        raise ConfigError("pass either json or data, not both")
    if json_body is not None:
        return {"json": json_body}
    if data is not None:
        return {
            "content": data.encode() if isinstance(data, str) else data,
            "headers": {"Content-Type": "application/json"},
        }
    return {}
