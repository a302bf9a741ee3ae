"""Signer URIs: ``pkcs11:`` (RFC 7512), ``awskms:``, or a key file path.

Everywhere a key file goes, a signer URI goes. :func:`resolve_signer` turns one into a
:class:`~sfbearer.signers.Signer`; the parsers here are pure (no ``pkcs11`` or ``boto3``
import), so a bad URI is refused before any module is loaded or any network is touched.

Example:
    >>> uri = parse_pkcs11_uri(
    ...     "pkcs11:token=acme;object=sf%20jwt?module-path=/usr/lib/softhsm/libsofthsm2.so"
    ...     "&pin-source=file:/run/secrets/pin")
    >>> uri.token, uri.object, uri.pin_source
    ('acme', 'sf jwt', 'file:/run/secrets/pin')
    >>> parse_awskms_uri("awskms:alias/sfbearer?region=eu-west-1").key
    'alias/sfbearer'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sfbearer._exceptions import SignerError

if TYPE_CHECKING:
    from sfbearer.signers._base import Signer

__all__ = [
    "AwsKmsUri",
    "Pkcs11Uri",
    "ensure_signer_key",
    "is_signer_uri",
    "parse_awskms_uri",
    "parse_pkcs11_uri",
    "resolve_signer",
    "with_object",
]

# RFC 7512 section 2.3: the attributes a PKCS#11 URI may carry (vendor ones start "x-").
_PATH_ATTRS = frozenset(
    {
        "id",
        "library-description",
        "library-manufacturer",
        "library-version",
        "manufacturer",
        "model",
        "object",
        "serial",
        "slot-description",
        "slot-id",
        "slot-manufacturer",
        "token",
        "type",
    }
)
_QUERY_ATTRS = frozenset({"module-name", "module-path", "pin-source", "pin-value"})
_OBJECT_TYPES = frozenset({"public", "private", "cert", "secret-key", "data"})
# pk11-pchar / pk11-qchar: unreserved, the sub-delims RFC 7512 leaves available, and
# percent-escapes; the query may also hold "/", "?" and "|" unescaped.
_PCHAR = r"A-Za-z0-9\-._~:\[\]@!$'()*+,="
_PATH_VALUE_RE = re.compile(rf"(?:[{_PCHAR}&]|%[0-9A-Fa-f]{{2}})*")
_QUERY_VALUE_RE = re.compile(rf"(?:[{_PCHAR}/?|]|%[0-9A-Fa-f]{{2}})*")
_NAME_RE = re.compile(r"[a-z][a-z0-9-]*")
_PCT_RE = re.compile(rb"%([0-9A-Fa-f]{2})")


def _pct_decode(value: str) -> bytes:
    """RFC 3986 percent-decoding to raw bytes (RFC 7512 values may be binary, e.g. ``id``)."""
    raw = value.encode("ascii")
    return _PCT_RE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def _text(name: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SignerError(f"pkcs11: URI attribute {name!r} is not valid UTF-8") from None


@dataclass(frozen=True, slots=True)
class Pkcs11Uri:
    """An RFC 7512 PKCS#11 URI, taken apart and percent-decoded.

    Attributes:
        token: the token label (``token=``).
        object: the key label (``object=``); also the label of a key generated from the URI.
        id: the key's ``CKA_ID`` bytes (``id=%01%02``), or None.
        serial: the token serial number, or None.
        manufacturer: the token manufacturer, or None.
        model: the token model, or None.
        slot_id: the slot number (``slot-id=``), or None.
        object_type: ``private`` (the only type a signer uses), or None.
        module_path: the PKCS#11 module (shared library) to load.
        module_name: a module name to look up in the usual module directories.
        pin_source: where the PIN comes from: ``file:PATH`` or ``env:VAR``.
        vendor: vendor attributes (``x-...``), kept but not interpreted.
    """

    token: str | None = None
    object: str | None = None
    id: bytes | None = None
    serial: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    slot_id: int | None = None
    object_type: str | None = None
    module_path: str | None = None
    module_name: str | None = None
    pin_source: str | None = None
    vendor: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """A short, secret-free description for messages (``token 'acme', object 'sf'``)."""
        parts = []
        if self.token is not None:
            parts.append(f"token {self.token!r}")
        if self.object is not None:
            parts.append(f"object {self.object!r}")
        if self.id is not None:
            parts.append(f"id {self.id.hex()}")
        return ", ".join(parts) or "the first token"


def _split_attrs(part: str, sep: str, kind: str, pattern: re.Pattern[str]) -> dict[str, bytes]:
    attrs: dict[str, bytes] = {}
    if not part:
        return attrs
    for item in part.split(sep):
        name, eq, value = item.partition("=")
        if not eq or not _NAME_RE.fullmatch(name):
            raise SignerError(f"pkcs11: URI {kind} attribute {item!r} is not name=value")
        if not pattern.fullmatch(value):
            raise SignerError(
                f"pkcs11: URI attribute {name!r} has characters that must be percent-encoded",
                hint="encode spaces as %20, ';' as %3B, '/' in labels as %2F",
            )
        if name in attrs:
            # RFC 7512: an attribute must not appear more than once.
            raise SignerError(f"pkcs11: URI attribute {name!r} appears more than once")
        attrs[name] = _pct_decode(value)
    return attrs


def parse_pkcs11_uri(uri: str) -> Pkcs11Uri:
    """Parse an RFC 7512 ``pkcs11:`` URI.

    ``pin-value`` is refused: a PIN in clear in a URI ends up in shell history, process lists
    and config files. The PIN comes from ``pin-source=file:PATH``, from
    ``pin-source=env:VAR`` (an sfbearer extension), or from the caller.

    Raises:
        SignerError: not a ``pkcs11:`` URI, a malformed or repeated attribute, an unknown
            attribute, a ``pin-value``, or an unsupported ``pin-source``.
    """
    if not uri.startswith("pkcs11:"):
        raise SignerError("not a pkcs11: URI")
    body = uri[len("pkcs11:") :]
    if "#" in body:
        raise SignerError("pkcs11: URI must not have a fragment ('#')")
    path, _, query = body.partition("?")
    path_attrs = _split_attrs(path, ";", "path", _PATH_VALUE_RE)
    query_attrs = _split_attrs(query, "&", "query", _QUERY_VALUE_RE)
    for name in path_attrs:
        if name not in _PATH_ATTRS and not name.startswith("x-"):
            raise SignerError(f"pkcs11: URI has an unknown path attribute {name!r}")
    for name in query_attrs:
        if name not in _QUERY_ATTRS and not name.startswith("x-"):
            raise SignerError(f"pkcs11: URI has an unknown query attribute {name!r}")
    if "pin-value" in query_attrs:
        raise SignerError(
            "pkcs11: URI carries pin-value: a PIN must never be written in clear in a URI",
            hint="use pin-source=file:/path/to/pin (mode 0600) or pin-source=env:VAR, "
            "or let the command prompt for it",
        )
    if path_attrs.get("x-pin-value") or query_attrs.get("x-pin-value"):
        raise SignerError("pkcs11: URI carries a PIN in clear; use pin-source instead")

    def text(name: str, attrs: dict[str, bytes]) -> str | None:
        raw = attrs.get(name)
        return None if raw is None else _text(name, raw)

    slot_id: int | None = None
    slot_text = text("slot-id", path_attrs)
    if slot_text is not None:
        if not slot_text.isdigit():
            raise SignerError("pkcs11: URI slot-id must be a decimal number")
        slot_id = int(slot_text)
    object_type = text("type", path_attrs)
    if object_type is not None and object_type not in _OBJECT_TYPES:
        raise SignerError(f"pkcs11: URI type must be one of {sorted(_OBJECT_TYPES)}")
    pin_source = text("pin-source", query_attrs)
    if pin_source is not None:
        _check_pin_source(pin_source)
    vendor = {
        name: _text(name, value)
        for attrs in (path_attrs, query_attrs)
        for name, value in attrs.items()
        if name.startswith("x-")
    }
    return Pkcs11Uri(
        token=text("token", path_attrs),
        object=text("object", path_attrs),
        id=path_attrs.get("id"),
        serial=text("serial", path_attrs),
        manufacturer=text("manufacturer", path_attrs),
        model=text("model", path_attrs),
        slot_id=slot_id,
        object_type=object_type,
        module_path=text("module-path", query_attrs),
        module_name=text("module-name", query_attrs),
        pin_source=pin_source,
        vendor=vendor,
    )


def _check_pin_source(source: str) -> None:
    if source.startswith("env:"):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", source[4:]):
            raise SignerError("pkcs11: URI pin-source=env:VAR needs a valid variable name")
        return
    if source.startswith("file:"):
        if not pin_source_path(source):
            raise SignerError("pkcs11: URI pin-source=file: needs a path")
        return
    raise SignerError(
        f"pkcs11: URI pin-source {source!r} is not supported",
        hint="use pin-source=file:/path/to/pin or pin-source=env:VAR",
    )


def pin_source_path(source: str) -> str:
    """The file path of a ``file:`` pin-source (``file:/p``, ``file:///p``, ``file:rel``)."""
    if source.startswith("file://"):
        parts = urlsplit(source)
        if parts.netloc not in ("", "localhost"):
            raise SignerError("pkcs11: URI pin-source must be a local file")
        return parts.path
    return source[len("file:") :]


# --- awskms: -------------------------------------------------------------------------------

_KMS_KEY_ID_RE = re.compile(
    r"(?:mrk-[0-9a-f]{32}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})"
)
_KMS_ALIAS_RE = re.compile(r"alias/[A-Za-z0-9/_-]{1,250}")
_KMS_ARN_RE = re.compile(
    r"arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):\d{12}:"
    rf"(?:key/{_KMS_KEY_ID_RE.pattern}|{_KMS_ALIAS_RE.pattern})"
)
_KMS_QUERY = frozenset({"region", "profile", "endpoint-url"})


@dataclass(frozen=True, slots=True)
class AwsKmsUri:
    """An ``awskms:`` signer URI.

    Attributes:
        key: the key id, key ARN, alias (``alias/name``) or alias ARN, as KMS takes it.
        region: the AWS region (from ``?region=`` or the ARN); None for the default chain.
        profile: the AWS shared-config profile (``?profile=``), or None.
        endpoint_url: another KMS endpoint (LocalStack, a VPC endpoint), or None.
    """

    key: str
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


def parse_awskms_uri(uri: str) -> AwsKmsUri:
    """Parse ``awskms:KEY[?region=R&profile=P&endpoint-url=URL]``.

    ``KEY`` is ``alias/NAME``, a key id, a key ARN or an alias ARN.

    Raises:
        SignerError: not an ``awskms:`` URI, or a malformed key reference or option.
    """
    if not uri.startswith("awskms:"):
        raise SignerError("not an awskms: URI")
    key, _, query = uri[len("awskms:") :].partition("?")
    arn = _KMS_ARN_RE.fullmatch(key)
    if not (arn or _KMS_ALIAS_RE.fullmatch(key) or _KMS_KEY_ID_RE.fullmatch(key)):
        raise SignerError(
            f"awskms: {key!r} is not a KMS key id, key ARN, alias/NAME or alias ARN",
            hint="e.g. awskms:alias/sfbearer or awskms:arn:aws:kms:eu-west-1:111122223333:key/...",
        )
    options: dict[str, str] = {}
    for item in query.split("&") if query else ():
        name, eq, raw = item.partition("=")
        if not eq or name not in _KMS_QUERY:
            raise SignerError(
                f"awskms: URI option {name!r} is not one of {sorted(_KMS_QUERY)}",
            )
        if name in options:
            raise SignerError(f"awskms: URI option {name!r} appears more than once")
        try:
            options[name] = _pct_decode(raw).decode("utf-8")
        except (UnicodeDecodeError, UnicodeEncodeError):
            raise SignerError(f"awskms: URI option {name!r} is not valid text") from None
    region = options.get("region") or (arn.group("region") if arn else None)
    if region is not None and not re.fullmatch(r"[a-z]{2}(?:-[a-z]+)+-\d+", region):
        raise SignerError(f"awskms: {region!r} is not an AWS region name")
    endpoint = options.get("endpoint-url")
    if endpoint is not None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SignerError("awskms: endpoint-url must be an http(s) URL")
    return AwsKmsUri(key=key, region=region, profile=options.get("profile"), endpoint_url=endpoint)


def with_object(uri: str, label: str) -> str:
    """The same ``pkcs11:`` URI naming another key: ``object=label``, without ``id=``.

    For rotation: the new key lives in the same token, with the same module and PIN source.

    Example:
        >>> with_object("pkcs11:token=acme;object=jwt;id=%01?module-path=/m.so", "jwt 2027")
        'pkcs11:token=acme;object=jwt%202027?module-path=/m.so'

    Raises:
        SignerError: ``uri`` is not a valid ``pkcs11:`` URI, or ``label`` is empty.
    """
    from urllib.parse import quote

    parse_pkcs11_uri(uri)  # validate first
    if not label:
        raise SignerError("the new key label must not be empty")
    path, sep, query = uri[len("pkcs11:") :].partition("?")
    kept = [a for a in path.split(";") if a and not a.startswith(("object=", "id="))]
    kept.append("object=" + quote(label, safe=""))
    return "pkcs11:" + ";".join(kept) + sep + query


def is_signer_uri(value: str) -> bool:
    """True for ``pkcs11:`` and ``awskms:`` URIs (anything else is a key file path)."""
    return value.startswith(("pkcs11:", "awskms:"))


def resolve_signer(
    uri_or_path: str,
    *,
    passphrase: str | bytes | None = None,
    pin: str | None = None,
) -> Signer:
    """Open the signer a URI or key file path names.

    ``pkcs11:`` opens a :class:`~sfbearer.signers.pkcs11.PKCS11Signer` (``pin`` is used when
    the URI has no ``pin-source``); ``awskms:`` opens a
    :class:`~sfbearer.signers.kms.KMSSigner`; anything else is a PEM key file, loaded with
    ``passphrase``. Every check (module, token, PIN, key type and size, sign permission,
    KMS key spec and usage) runs here, before any request to Salesforce.

    Example:
        >>> signer = resolve_signer("server.key")  # doctest: +SKIP
        >>> signer = resolve_signer("awskms:alias/sfbearer?region=eu-west-1")  # doctest: +SKIP

    Raises:
        SignerError: the signer cannot be opened or cannot sign RS256.
        KeyFileError: the key file cannot be used.
    """
    if uri_or_path.startswith("pkcs11:"):
        from sfbearer.signers.pkcs11 import PKCS11Signer

        return PKCS11Signer(uri_or_path, pin=pin)
    if uri_or_path.startswith("awskms:"):
        from sfbearer.signers.kms import KMSSigner

        return KMSSigner(uri_or_path)
    from sfbearer.keys import load_private_key
    from sfbearer.signers.file import FileSigner

    return FileSigner(load_private_key(uri_or_path, passphrase), source=uri_or_path)


def ensure_signer_key(
    uri: str, *, key_size: int = 2048, pin: str | None = None
) -> tuple[Signer, bool]:
    """The signer ``keys new --signer URI`` certifies: created in the vault when possible.

    ``pkcs11:`` opens the key the URI names, or generates it in the token (non-extractable,
    sensitive) when the token has none; ``awskms:`` opens the existing KMS key (KMS keys are
    created with AWS's own tools and policies, never by sfbearer).

    Returns:
        The signer, and True when a key was created now.

    Raises:
        SignerError: not a signer URI, or the signer cannot be opened or created.
    """
    if uri.startswith("pkcs11:"):
        from sfbearer.signers.pkcs11 import open_or_generate_pkcs11_key

        return open_or_generate_pkcs11_key(uri, key_size, pin=pin)
    if uri.startswith("awskms:"):
        from sfbearer.signers.kms import KMSSigner

        return KMSSigner(uri), False
    raise SignerError(
        "expected a pkcs11: or awskms: signer URI",
        hint="for a key file, use `sfbearer keys new --out-dir DIR` without --signer",
    )
