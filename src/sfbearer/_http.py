"""``httpx``, imported without its command-line client.

httpx's package ``__init__`` imports its CLI (click, rich, pygments: about half of httpx's
import time) whenever those happen to be installed. A library never runs that CLI, so the
first import made through here hides ``httpx._main`` for the duration of the import; httpx
then binds its documented fallback ``httpx.main``. Nothing changes when httpx was already
imported, and ``import httpx._main`` still works afterwards.
"""

from __future__ import annotations

import sys

if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
    sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx
    finally:
        del sys.modules["httpx._main"]

import httpx

__all__ = ["TLS_TRUST_HINT", "httpx", "untrusted_certificate"]

TLS_TRUST_HINT = (
    "trust its CA: SFBEARER_CA_BUNDLE=ca.pem (or ca_bundle in the profile, or SSL_CERT_FILE); "
    "for the emulator, start it with --ca-out ca.pem and use that file"
)


def untrusted_certificate(exc: BaseException) -> str | None:
    """Why TLS verification failed, when that is what ``exc`` (or its cause) is; else None.

    httpx reports an untrusted certificate as a ``ConnectError``, which reads like a network
    outage; the real cause is in the chain as :class:`ssl.SSLCertVerificationError`.

    Example:
        >>> import ssl
        >>> untrusted_certificate(ssl.SSLCertVerificationError(1, "self-signed certificate"))
        'self-signed certificate'
        >>> untrusted_certificate(TimeoutError()) is None
        True
    """
    import ssl

    seen: BaseException | None = exc
    for _ in range(8):  # a bounded walk: chains are short, and may in principle loop
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return str(getattr(seen, "verify_message", "") or seen.args[-1] or "verify failed")
        seen = seen.__cause__ or seen.__context__
    return None
