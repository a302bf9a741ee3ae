"""sfbearer: secure server-to-server Salesforce integrations over the OAuth 2.0 JWT Bearer Flow.

Example:
    >>> import sfbearer
    >>> creds = sfbearer.JWTBearerCredentials.from_profile("prod")  # doctest: +SKIP
    >>> with sfbearer.SalesforceClient(creds) as sf:  # doctest: +SKIP
    ...     for row in sf.query("SELECT Id, Name FROM Account"):
    ...         print(row["Name"])

Public names are loaded lazily, so ``import sfbearer`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sfbearer._exceptions import (
    ApiError,
    AssertionConfigError,
    CertificateError,
    ConfigError,
    EnvironmentConfigError,
    KeyFileError,
    ProfileError,
    SalesforceError,
    SfBearerError,
    SignerError,
    TokenRequestError,
    TransportError,
)

if TYPE_CHECKING:
    from sfbearer._aclient import AsyncSalesforceClient
    from sfbearer.assertion import DecodedAssertion, decode_assertion, mint_assertion
    from sfbearer.auth import SalesforceAuth
    from sfbearer.client import SalesforceClient
    from sfbearer.credentials import JWTBearerCredentials
    from sfbearer.environments import Environment
    from sfbearer.integrations.requests import SalesforceRequestsAuth
    from sfbearer.keys import (
        CertificateInfo,
        KeyPair,
        generate_key_pair,
        load_certificate,
        load_private_key,
        load_private_key_from_env,
        load_private_key_pem,
    )
    from sfbearer.signers import FileSigner, Signer
    from sfbearer.token import Token

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    "AsyncSalesforceClient": "sfbearer._aclient",
    "CertificateInfo": "sfbearer.keys",
    "DecodedAssertion": "sfbearer.assertion",
    "Environment": "sfbearer.environments",
    "FileSigner": "sfbearer.signers",
    "JWTBearerCredentials": "sfbearer.credentials",
    "KeyPair": "sfbearer.keys",
    "SalesforceAuth": "sfbearer.auth",
    "SalesforceClient": "sfbearer.client",
    "SalesforceRequestsAuth": "sfbearer.integrations.requests",
    "Signer": "sfbearer.signers",
    "Token": "sfbearer.token",
    "decode_assertion": "sfbearer.assertion",
    "generate_key_pair": "sfbearer.keys",
    "load_certificate": "sfbearer.keys",
    "load_private_key": "sfbearer.keys",
    "load_private_key_from_env": "sfbearer.keys",
    "load_private_key_pem": "sfbearer.keys",
    "mint_assertion": "sfbearer.assertion",
}

__all__ = [
    "ApiError",
    "AssertionConfigError",
    "AsyncSalesforceClient",
    "CertificateError",
    "CertificateInfo",
    "ConfigError",
    "DecodedAssertion",
    "Environment",
    "EnvironmentConfigError",
    "FileSigner",
    "JWTBearerCredentials",
    "KeyFileError",
    "KeyPair",
    "ProfileError",
    "SalesforceAuth",
    "SalesforceClient",
    "SalesforceError",
    "SalesforceRequestsAuth",
    "SfBearerError",
    "Signer",
    "SignerError",
    "Token",
    "TokenRequestError",
    "TransportError",
    "__version__",
    "decode_assertion",
    "generate_key_pair",
    "load_certificate",
    "load_private_key",
    "load_private_key_from_env",
    "load_private_key_pem",
    "mint_assertion",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sfbearer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
