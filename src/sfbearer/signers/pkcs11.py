"""PKCS#11 signer: an RSA key inside an HSM (SoftHSM, YubiHSM, Thales/Entrust, CloudHSM).

The key is named by an RFC 7512 URI and never leaves the token: the token signs with
``CKM_SHA256_RSA_PKCS`` and hands back only signatures and the public modulus/exponent.

Concurrency and processes:

* a PKCS#11 module is loaded and initialised once per process, and again in a child after
  ``fork()`` (the PKCS#11 standard requires a child to call ``C_Initialize`` itself);
* each thread uses its own session; the user login is per application and token, so it is
  done once, on a session kept open for the life of the process;
* python-pkcs11 initialises modules with ``C_Initialize(NULL)``, which per PKCS#11 tells the
  module it will not be called from several threads at once (SoftHSM then turns its own
  locking off). Calls into one module are therefore serialised by a process-wide lock.
  Signing a JWT is one operation per token refresh, so this costs nothing that matters.

Example:
    >>> signer = PKCS11Signer(
    ...     "pkcs11:token=acme;object=sfbearer"
    ...     "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin"
    ... )  # doctest: +SKIP
    >>> len(signer.sign(b"header.claims"))  # doctest: +SKIP
    256
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import rsa

from sfbearer._exceptions import SignerError
from sfbearer.keys import ALLOWED_KEY_SIZES, MIN_KEY_SIZE
from sfbearer.signers._base import public_key_fingerprint
from sfbearer.signers._pkcs11_session import (
    Pkcs11Module,
    TokenRef,
    find_module,
    pkcs11_api,
)
from sfbearer.signers.uri import Pkcs11Uri, parse_pkcs11_uri, pin_source_path

if TYPE_CHECKING:
    from pkcs11 import Session

# python-pkcs11 private keys are typed Any here: their sign() lives on a mixin its stubs
# do not attach to PrivateKey.

__all__ = ["PKCS11Signer", "generate_pkcs11_key", "open_or_generate_pkcs11_key", "read_pin"]

_MAX_PIN_FILE_BYTES = 1024


class _NoSuchKeyError(SignerError):
    """The token has no key the URI names (lets "open, or else create" tell it apart)."""


def read_pin(uri: Pkcs11Uri) -> str | None:
    """The PIN a URI's ``pin-source`` points to (``file:PATH`` or ``env:VAR``), or None.

    A PIN file must not be readable by group or others (``chmod 600``); one trailing newline
    is ignored.

    Raises:
        SignerError: the file or variable is missing, empty or unsafe.
    """
    source = uri.pin_source
    if source is None:
        return None
    if source.startswith("env:"):
        name = source[4:]
        value = os.environ.get(name)
        if not value:
            raise SignerError(
                f"pin-source env:{name}: the environment variable {name} is not set or empty",
                hint=f"export {name}=... (the token's user PIN)",
            )
        return value
    path = pin_source_path(source)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise SignerError(f"cannot read the PIN file {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if st.st_mode & 0o077:
            raise SignerError(
                f"PIN file {path} has mode {st.st_mode & 0o777:04o}: "
                "it must not be accessible by group or others",
                hint=f"chmod 600 {path}",
            )
        data = os.read(fd, _MAX_PIN_FILE_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > _MAX_PIN_FILE_BYTES:
        raise SignerError(f"PIN file {path} is too large to hold a PIN")
    try:
        text = data.decode("utf-8").removesuffix("\n").removesuffix("\r")
    except UnicodeDecodeError:
        raise SignerError(f"PIN file {path} is not UTF-8 text") from None
    if not text:
        raise SignerError(f"PIN file {path} is empty")
    return text


class PKCS11Signer:
    """Signs RS256 with an RSA private key held in a PKCS#11 token.

    Every check runs in the constructor: the module loads, the token exists, the PIN is
    right, the key exists and is an RSA key of at least 2048 bits that may sign, and the token
    supports ``CKM_SHA256_RSA_PKCS``.

    Args:
        uri: an RFC 7512 URI with ``token=`` (or another token attribute), ``object=`` and/or
            ``id=``, and ``module-path=`` (or ``module-name=``).
        pin: the user PIN; overrides the URI's ``pin-source`` (the CLI passes a prompted PIN
            here). Kept in memory only to log in again after a fork or a token reset.

    Raises:
        SignerError: any of the checks above fails, with the reason and a hint.
    """

    __slots__ = ("_key_id", "_keys", "_module", "_pin", "_public_key", "_token", "uri")

    def __init__(self, uri: str, *, pin: str | None = None) -> None:
        self.uri = parse_pkcs11_uri(uri)
        if self.uri.object is None and self.uri.id is None:
            raise SignerError(
                "pkcs11: URI must name the key with object=LABEL or id=%XX",
                hint="e.g. pkcs11:token=acme;object=sfbearer?module-path=...",
            )
        if self.uri.object_type not in (None, "private"):
            raise SignerError("pkcs11: URI type must be 'private' (the key that signs)")
        self._pin = pin if pin is not None else read_pin(self.uri)
        self._keys = threading.local()  # this thread's (session, key handle)
        self._module: Pkcs11Module = find_module(self.uri)
        self._token: TokenRef = self._module.find_token(self.uri)
        self._public_key = self._inspect()
        self._key_id = public_key_fingerprint(self._public_key)

    @property
    def key_id(self) -> str:
        return self._key_id

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public_key

    def sign(self, message: bytes) -> bytes:
        """Return the RS256 signature of ``message``, computed inside the token."""
        p11 = pkcs11_api()

        def op(session: Session) -> bytes:
            key = self._private_key(session)
            return bytes(key.sign(message, mechanism=p11.Mechanism.SHA256_RSA_PKCS))

        return self._module.call(op, token=self._token, pin=self._pin, what="sign")

    def _private_key(self, session: Session) -> Any:
        cached: tuple[Session, Any] | None = getattr(self._keys, "pair", None)
        if cached is not None and cached[0] is session:
            return cached[1]
        key = self._find_key(session)
        self._keys.pair = (session, key)
        return key

    def _find_key(self, session: Session) -> Any:
        p11 = pkcs11_api()
        try:
            key = session.get_key(
                object_class=p11.ObjectClass.PRIVATE_KEY, label=self.uri.object, id=self.uri.id
            )
        except p11.NoSuchKey:
            raise _NoSuchKeyError(
                f"no private key matches {self.uri.describe()} in the token",
                hint="list the token's objects (pkcs11-tool --list-objects --login) or create "
                "the key with `sfbearer keys new --signer URI`",
            ) from None
        except p11.MultipleObjectsReturned:
            raise SignerError(
                f"several private keys match {self.uri.describe()}",
                hint="add id=%XX to the URI to pick one",
            ) from None
        return key

    def _inspect(self) -> rsa.RSAPublicKey:
        p11 = pkcs11_api()

        def op(session: Session) -> rsa.RSAPublicKey:
            key = self._find_key(session)
            where = self.uri.describe()
            key_type = key[p11.Attribute.KEY_TYPE]
            if key_type != p11.KeyType.RSA:
                name = getattr(key_type, "name", str(key_type))
                raise SignerError(
                    f"the key ({where}) is {'an' if name[:1] in 'AEIOUFHLMNRSX' else 'a'} {name} key; "
                    "Salesforce needs RSA (RS256)",
                    hint="create an RSA key of 2048 bits or more in the token",
                )
            modulus = int.from_bytes(key[p11.Attribute.MODULUS], "big")
            exponent = int.from_bytes(key[p11.Attribute.PUBLIC_EXPONENT], "big")
            if modulus.bit_length() < MIN_KEY_SIZE:
                raise SignerError(
                    f"the key ({where}) has {modulus.bit_length()} bits; at least "
                    f"{MIN_KEY_SIZE} are required",
                    hint="create a new key of 2048, 3072 or 4096 bits in the token",
                )
            if not key[p11.Attribute.SIGN]:
                raise SignerError(
                    f"the key ({where}) is not allowed to sign (CKA_SIGN is false)",
                    hint="create a key with the sign capability",
                )
            return rsa.RSAPublicNumbers(exponent, modulus).public_key()

        if p11.Mechanism.SHA256_RSA_PKCS not in self._token.mechanisms:
            raise SignerError(
                f"the token {self._token.label!r} does not support CKM_SHA256_RSA_PKCS",
            )
        return self._module.call(op, token=self._token, pin=self._pin, what="open the key")

    def __repr__(self) -> str:
        return f"<PKCS11Signer {self.uri.describe()} key_id={self._key_id[:23]}...>"


def generate_pkcs11_key(uri: str, key_size: int = 2048, *, pin: str | None = None) -> PKCS11Signer:
    """Create an RSA key pair inside the token and return its signer.

    The private key is created non-extractable and sensitive (``CKA_EXTRACTABLE`` false,
    ``CKA_SENSITIVE`` true), private, stored on the token, and allowed only to sign; the
    public key only to verify. Its label is the URI's ``object=``, its ``CKA_ID`` the URI's
    ``id=`` when given.

    Example:
        >>> signer = generate_pkcs11_key(
        ...     "pkcs11:token=acme;object=sfbearer?module-path=/usr/lib/softhsm/libsofthsm2.so"
        ...     "&pin-source=env:ACME_PIN")  # doctest: +SKIP

    Raises:
        SignerError: a bad URI or key size, a key with that label/id already in the token, or
            any token error.
    """
    parsed = parse_pkcs11_uri(uri)
    if not parsed.object:
        raise SignerError("pkcs11: URI needs object=LABEL to name the new key")
    if key_size not in ALLOWED_KEY_SIZES:
        raise SignerError(f"key size must be one of {ALLOWED_KEY_SIZES}, got {key_size}")
    secret = pin if pin is not None else read_pin(parsed)
    module = find_module(parsed)
    token = module.find_token(parsed)
    p11 = pkcs11_api()

    def op(session: Session) -> None:
        existing = list(
            session.get_objects(
                {p11.Attribute.LABEL: parsed.object}
                if parsed.id is None
                else {p11.Attribute.ID: parsed.id}
            )
        )
        if existing:
            raise SignerError(
                f"the token already holds an object with {parsed.describe()}",
                hint="choose another object= label (keys are never overwritten)",
            )
        extra: dict[Any, Any] = {} if parsed.id is None else {"id": parsed.id}
        session.generate_keypair(
            p11.KeyType.RSA,
            key_size,
            store=True,
            label=parsed.object,
            capabilities=p11.MechanismFlag.SIGN | p11.MechanismFlag.VERIFY,
            public_template={p11.Attribute.TOKEN: True, p11.Attribute.VERIFY: True},
            private_template={
                p11.Attribute.TOKEN: True,
                p11.Attribute.PRIVATE: True,
                p11.Attribute.SENSITIVE: True,
                p11.Attribute.EXTRACTABLE: False,
                p11.Attribute.SIGN: True,
                p11.Attribute.DECRYPT: False,
                p11.Attribute.UNWRAP: False,
            },
            **extra,
        )

    module.call(op, token=token, pin=secret, what="generate the key", rw=True)
    return PKCS11Signer(uri, pin=secret)


def open_or_generate_pkcs11_key(
    uri: str, key_size: int = 2048, *, pin: str | None = None
) -> tuple[PKCS11Signer, bool]:
    """Open the key the URI names, or create it in the token when there is none.

    Returns:
        The signer, and True when the key was created now.

    Raises:
        SignerError: as :class:`PKCS11Signer` and :func:`generate_pkcs11_key` do; an
            unsuitable existing key (too small, not RSA, cannot sign) is refused, never
            replaced.
    """
    try:
        return PKCS11Signer(uri, pin=pin), False
    except _NoSuchKeyError:
        return generate_pkcs11_key(uri, key_size, pin=pin), True
