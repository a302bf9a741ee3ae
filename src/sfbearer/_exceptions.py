"""The one exception tree of sfbearer.

::

    SfBearerError
    ├── ConfigError                 bad configuration or arguments (CLI exit 78)
    │   ├── KeyFileError            a key file that cannot or must not be used
    │   ├── CertificateError        a certificate that cannot be read or does not fit
    │   ├── EnvironmentConfigError  a token URL / audience / host that breaks the host rules
    │   ├── AssertionConfigError    claims that cannot make a valid assertion
    │   ├── SignerError             a signer (file, HSM, KMS) that cannot sign
    │   └── ProfileError            a profile that is missing, invalid or already there
    ├── SalesforceError             Salesforce answered and said no (CLI exit 2)
    │   ├── TokenRequestError       the token endpoint refused (error, description, diagnosis)
    │   └── ApiError                a REST API call failed (status, error_code, message, fields)
    └── TransportError              Salesforce could not be reached (CLI exit 3)

Every foreign exception (httpx, cryptography, OS) is translated at one boundary with
``raise ... from``. Messages never contain a token, an assertion, key bytes or a passphrase.
"""

from __future__ import annotations

from collections.abc import Sequence

from sfbearer._api_hints import api_hint, one_line

__all__ = [
    "ApiError",
    "AssertionConfigError",
    "CertificateError",
    "ConfigError",
    "EnvironmentConfigError",
    "KeyFileError",
    "ProfileError",
    "SalesforceError",
    "SfBearerError",
    "SignerError",
    "TokenRequestError",
    "TransportError",
]


class SfBearerError(Exception):
    """Base class of every error sfbearer raises.

    Attributes:
        hint: a short, actionable suggestion for a person (may be empty).
    """

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(SfBearerError):
    """The configuration, a file or an argument cannot be used as given."""

    exit_code = 78


class KeyFileError(ConfigError):
    """A private key that cannot be loaded, or must not be (unsafe permissions, weak, wrong type)."""


class CertificateError(ConfigError):
    """A certificate that cannot be read, or that does not belong with the key."""


class EnvironmentConfigError(ConfigError):
    """A token URL, audience or API host that breaks the host rules."""


class AssertionConfigError(ConfigError):
    """Claims or a lifetime that cannot make a valid JWT bearer assertion."""


class SignerError(ConfigError):
    """A signer (key file, PKCS#11 token, cloud KMS key) that cannot sign."""


class ProfileError(ConfigError):
    """A profile that is missing, invalid, or already exists."""


class SalesforceError(SfBearerError):
    """Salesforce answered, and refused."""

    exit_code = 2


class TokenRequestError(SalesforceError):
    """The token endpoint refused the assertion.

    Attributes:
        error: Salesforce's ``error`` code (``invalid_grant``...), or a local code such as
            ``invalid_response`` when the reply could not be understood.
        description: Salesforce's ``error_description``.
        status: the HTTP status code (0 when no response was received).
        retryable: whether trying again later may succeed.
        diagnosis: the likely cause and the concrete fix, for a person.

    ``exit_code`` is 3 (unknown / unavailable, as for an unreachable server) when Salesforce
    answered 5xx or ``temporarily_unavailable``: an outage must not read as "critical".
    """

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int,
        retryable: bool,
        diagnosis: str,
        retry_after: float | None = None,
    ) -> None:
        message = f"token request refused: {error}: {description}" if description else error
        super().__init__(message, hint=diagnosis)
        self.error = error
        self.description = description
        self.status = status
        self.retryable = retryable
        self.diagnosis = diagnosis
        self.retry_after = retry_after
        if status >= 500 or error == "temporarily_unavailable":
            self.exit_code = TransportError.exit_code


class ApiError(SalesforceError):
    """A Salesforce REST API call failed with an error body (``exit_code`` 3 for a 5xx).

    Attributes:
        status: the HTTP status code.
        error_code: Salesforce's ``errorCode`` (``INVALID_FIELD``...).
        api_message: Salesforce's ``message`` as sent (a SOQL error spans lines: the
            query, a caret under the spot, the row and column; ``str(error)`` is one line).
        hint: what to do, from the ``errorCode`` (or the status when the code is unknown).
        fields: the fields the error names, if any.
        errors: every error object of the response's JSON array.
    """

    def __init__(
        self,
        status: int,
        error_code: str,
        api_message: str,
        *,
        fields: Sequence[str] = (),
        errors: Sequence[dict[str, object]] = (),
        method: str = "",
        url: str = "",
        hint: str = "",
    ) -> None:
        where = f" ({method} {url})" if method and url else ""
        super().__init__(
            f"Salesforce API error {status} {error_code}: {one_line(api_message)}{where}",
            hint=hint or api_hint(status, error_code, fields),
        )
        if status >= 500:  # Salesforce (or something in between) is unavailable: unknown
            self.exit_code = TransportError.exit_code
        self.status = status
        self.error_code = error_code
        self.api_message = api_message
        self.fields = list(fields)
        self.errors = list(errors)


class TransportError(SfBearerError):
    """Salesforce (or the emulator) could not be reached: DNS, connection, TLS, timeout."""

    exit_code = 3
