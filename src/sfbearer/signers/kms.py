"""AWS KMS signer: an RSA key that lives in KMS and signs through its ``Sign`` API.

Needs the ``kms`` extra (``boto3``) and the usual AWS credential chain (environment, shared
config and credentials files, SSO, container or instance role). The key must be an
``RSA_2048``, ``RSA_3072`` or ``RSA_4096`` key with usage ``SIGN_VERIFY``, and the caller
needs ``kms:GetPublicKey`` and ``kms:Sign`` on it.

Messages are hashed here (SHA-256) and KMS signs the digest (``MessageType=DIGEST``,
``RSASSA_PKCS1_V1_5_SHA_256``): a raw message is capped at 4 KB by KMS, and a certificate's
to-be-signed part can be larger; the digest also keeps the assertion itself out of KMS's
request logs.

Retries: throttling and transient errors are retried by botocore alone, in its ``standard``
retry mode (exponential backoff with jitter, :data:`MAX_ATTEMPTS` attempts in all). This
module never retries on its own, so one slow KMS never costs more than that budget.

Example:
    >>> signer = KMSSigner("awskms:alias/sfbearer?region=eu-west-1")  # doctest: +SKIP
    >>> len(signer.sign(b"header.claims"))  # doctest: +SKIP
    256
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sfbearer._exceptions import SignerError
from sfbearer.signers._base import public_key_fingerprint
from sfbearer.signers.uri import AwsKmsUri, parse_awskms_uri

__all__ = ["MAX_ATTEMPTS", "SIGNING_ALGORITHM", "KMSSigner", "kms_client"]

SIGNING_ALGORITHM = "RSASSA_PKCS1_V1_5_SHA_256"
#: Attempts per KMS call, first one included (botocore "standard" retry mode).
MAX_ATTEMPTS = 4
_KEY_SPECS = ("RSA_2048", "RSA_3072", "RSA_4096")
_CONNECT_TIMEOUT = 5.0
_READ_TIMEOUT = 10.0
_HINTS = {
    "NotFoundException": "check the key id or alias, and the region",
    "AccessDeniedException": "the caller needs kms:GetPublicKey and kms:Sign on this key",
    "DisabledException": "enable the key in KMS",
    "KMSInvalidStateException": "the key is pending deletion, pending import or unavailable",
    "UnrecognizedClientException": "the AWS credentials are not valid",
    "InvalidSignatureException": "the AWS credentials are not valid",
    "ExpiredTokenException": "the AWS session credentials have expired",
}


def kms_client(uri: AwsKmsUri) -> Any:
    """A boto3 KMS client for ``uri``'s region, profile and endpoint, with botocore retries.

    Raises:
        SignerError: boto3 is not installed, or the profile or region cannot be resolved.
    """
    try:
        import boto3
        import botocore.config
        import botocore.exceptions
    except ImportError:
        raise SignerError(
            "AWS KMS signers need the boto3 package", hint="pip install 'sfbearer[kms]'"
        ) from None
    config = botocore.config.Config(
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        connect_timeout=_CONNECT_TIMEOUT,
        read_timeout=_READ_TIMEOUT,
    )
    try:
        session = boto3.session.Session(profile_name=uri.profile, region_name=uri.region)
        return session.client("kms", endpoint_url=uri.endpoint_url, config=config)
    except botocore.exceptions.ProfileNotFound:
        raise SignerError(
            f"awskms: AWS profile {uri.profile!r} not found",
            hint="check ~/.aws/config or drop ?profile=",
        ) from None
    except botocore.exceptions.NoRegionError:
        raise SignerError(
            "awskms: no AWS region", hint="add ?region=... to the URI or set AWS_REGION"
        ) from None
    except botocore.exceptions.BotoCoreError as exc:
        raise SignerError(f"awskms: cannot create the KMS client: {exc}") from None


def _boto_errors() -> tuple[type[Exception], ...]:
    """The exceptions a KMS call raises (botocore's two roots), for one translation point."""
    import botocore.exceptions

    return (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


def _translate(exc: Exception, what: str, key: str) -> SignerError:
    import botocore.exceptions

    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", "")).strip()
        detail = f"{code}: {message}" if message else code
        return SignerError(f"AWS KMS could not {what} ({key}): {detail}", hint=_HINTS.get(code, ""))
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return SignerError(
            "AWS KMS: no AWS credentials found",
            hint="configure the AWS credential chain (AWS_PROFILE, a role, aws sso login)",
        )
    return SignerError(f"AWS KMS could not {what} ({key}): {type(exc).__name__}: {exc}")


class KMSSigner:
    """Signs RS256 with an AWS KMS asymmetric RSA key (``SIGN_VERIFY``).

    The constructor fetches the public key once (``GetPublicKey``) and checks the key spec,
    the key usage and the signing algorithm, so a wrong key fails here, before anything is
    sent to Salesforce. Later signatures use the key's ARN as KMS returned it, so an alias
    moved to another key cannot make this signer disagree with its cached public key.

    Args:
        uri: an ``awskms:`` URI (string or parsed).
        client: a boto3 KMS client to use instead of one built from the URI (tests, or a
            client with your own session).

    Raises:
        SignerError: KMS or the credentials cannot be reached, or the key cannot sign RS256.
    """

    __slots__ = (
        "_arn",
        "_client",
        "_client_pid",
        "_key_id",
        "_lock",
        "_public_key",
        "key_spec",
        "uri",
    )

    def __init__(self, uri: str | AwsKmsUri, *, client: Any = None) -> None:
        self.uri = parse_awskms_uri(uri) if isinstance(uri, str) else uri
        self._lock = threading.Lock()
        self._client = client if client is not None else kms_client(self.uri)
        # A client we built is rebuilt in a forked child: its pooled connections are the
        # parent's sockets, and two processes on one socket would mix their replies.
        self._client_pid = os.getpid() if client is None else 0
        try:
            reply = self._client.get_public_key(KeyId=self.uri.key)
        except _boto_errors() as exc:
            raise _translate(exc, "read the public key", self.uri.key) from None
        spec = reply.get("KeySpec") or reply.get("CustomerMasterKeySpec")
        usage = reply.get("KeyUsage")
        where = self.uri.key
        if spec not in _KEY_SPECS:
            raise SignerError(
                f"the KMS key {where} is {spec}; Salesforce needs RSA (one of {', '.join(_KEY_SPECS)})",
                hint="create a KMS key with --key-spec RSA_2048 --key-usage SIGN_VERIFY",
            )
        if usage != "SIGN_VERIFY":
            raise SignerError(
                f"the KMS key {where} has usage {usage}; it must be SIGN_VERIFY",
                hint="a key's usage cannot be changed: create one with --key-usage SIGN_VERIFY",
            )
        if SIGNING_ALGORITHM not in reply.get("SigningAlgorithms", ()):
            raise SignerError(f"the KMS key {where} does not offer {SIGNING_ALGORITHM}")
        public_key = serialization.load_der_public_key(reply["PublicKey"])
        if not isinstance(public_key, rsa.RSAPublicKey):  # pragma: no cover - spec checked
            raise SignerError(f"the KMS key {where} did not return an RSA public key")
        self.key_spec: str = spec
        self._arn: str = reply.get("KeyId") or self.uri.key
        self._public_key = public_key
        self._key_id = public_key_fingerprint(public_key)

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def arn(self) -> str:
        """The key's ARN, as KMS reported it."""
        return self._arn

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public_key

    def sign(self, message: bytes) -> bytes:
        """Hash ``message`` with SHA-256 here and have KMS sign the digest."""
        digest = hashlib.sha256(message).digest()
        try:
            reply = self._current_client().sign(
                KeyId=self._arn,
                Message=digest,
                MessageType="DIGEST",
                SigningAlgorithm=SIGNING_ALGORITHM,
            )
        except _boto_errors() as exc:
            raise _translate(exc, "sign", self._arn) from None
        signature = reply.get("Signature")
        if not isinstance(signature, bytes) or len(signature) * 8 != self._public_key.key_size:
            raise SignerError(f"AWS KMS returned no valid signature ({self._arn})")
        return signature

    def _current_client(self) -> Any:
        if self._client_pid and self._client_pid != os.getpid():
            with self._lock:
                if self._client_pid != os.getpid():
                    self._client = kms_client(self.uri)
                    self._client_pid = os.getpid()
        return self._client

    def __repr__(self) -> str:
        return f"<KMSSigner {self._arn} key_id={self._key_id[:23]}...>"
