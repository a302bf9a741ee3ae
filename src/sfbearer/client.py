"""``SalesforceClient``: the REST API with tokens that manage themselves.

Example:
    >>> from sfbearer import JWTBearerCredentials, SalesforceClient
    >>> creds = JWTBearerCredentials.from_profile("prod")  # doctest: +SKIP
    >>> with SalesforceClient(creds) as sf:  # doctest: +SKIP
    ...     for account in sf.query("SELECT Id, Name FROM Account"):
    ...         print(account["Name"])
    ...     new = sf.sobject("Account").create({"Name": "Acme"})
    ...     sf.sobject("Account").update(new["id"], {"Phone": "555"})

One pooled ``httpx.Client`` built on :class:`~sfbearer.SalesforceAuth`; the base URL is the
token's ``instance_url``. Salesforce error arrays raise :class:`~sfbearer.ApiError`, and
network failures :class:`~sfbearer.TransportError`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sfbearer import _fork
from sfbearer._exchange import http_options
from sfbearer._http import httpx
from sfbearer._rest import (
    api_error,
    body_kwargs,
    check_id,
    check_sobject,
    newest_version,
    normalize_version,
    transport_error,
)
from sfbearer.auth import SalesforceAuth

if TYPE_CHECKING:
    from sfbearer.credentials import JWTBearerCredentials

__all__ = ["SObject", "SalesforceClient"]


class SalesforceClient:
    """A small Salesforce REST client.

    Args:
        credentials: where tokens come from.
        api_version: pin a version (``"68.0"``); by default the newest the org offers,
            discovered once from ``/services/data/``.
        transport: an httpx transport (tests use ``httpx.MockTransport``).
    """

    def __init__(
        self,
        credentials: JWTBearerCredentials,
        api_version: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.credentials = credentials
        self._version = normalize_version(api_version) if api_version else None
        self._lock = threading.Lock()
        self._http = httpx.Client(
            auth=SalesforceAuth(credentials), transport=transport, **http_options(credentials)
        )
        _fork.register(self, _fork.reset_rest_client)  # no pooled socket shared with a parent

    # -- plumbing -------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        if path.startswith(("https://", "http://")):
            return path
        base = self.credentials.token().instance_url
        if path.startswith("/"):
            return base + path
        return f"{base}/services/data/v{self.api_version}/{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send an authenticated request and return the response (2xx/3xx only).

        ``path`` is absolute (``/services/data/v68.0/limits/``), a full URL on the instance,
        or relative to the versioned REST base (``sobjects/Account/describe``).

        Raises:
            ApiError: Salesforce answered 4xx/5xx (its error array, parsed).
            TransportError: Salesforce could not be reached.
        """
        url = self._url(path)
        kwargs = dict(body_kwargs(json, data))
        kwargs["headers"] = {**kwargs.get("headers", {}), **(headers or {})}
        try:
            response = self._http.request(method.upper(), url, params=params, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(exc, url) from exc
        if response.status_code >= 400:
            raise api_error(response.status_code, response.content, method=method, url=url)
        return response

    def get_json(self, path: str, **params: Any) -> Any:
        """GET ``path`` and return the decoded JSON body."""
        return self.request("GET", path, params=params or None).json()

    @property
    def api_version(self) -> str:
        """The API version in use: pinned, or the newest the org offers (asked once)."""
        if self._version is None:
            with self._lock:
                if self._version is None:
                    self._version = newest_version(self.get_json("/services/data/"))
        return self._version

    # -- API ------------------------------------------------------------------------------
    def query_pages(self, soql: str, *, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        """Every page of a SOQL query (``totalSize``, ``done``, ``records``), fetched lazily."""
        resource = "queryAll" if include_deleted else "query"
        page: dict[str, Any] = self.get_json(resource, q=soql)
        while True:
            yield page
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self.get_json(str(next_url))

    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        """Every record of a SOQL query, across ``nextRecordsUrl`` pages, fetched lazily."""
        for page in self.query_pages(soql, include_deleted=include_deleted):
            yield from page.get("records", [])

    def sobject(self, name: str) -> SObject:
        """CRUD on one sObject type: ``sf.sobject("Account").create({...})``."""
        return SObject(self, check_sobject(name))

    def limits(self) -> dict[str, Any]:
        """The org's limits (``/limits/``)."""
        result: dict[str, Any] = self.get_json("limits/")
        return result

    def identity(self) -> dict[str, Any]:
        """The identity of the integration user (the token's ``id`` URL)."""
        result: dict[str, Any] = self.get_json(self.credentials.token().id_url)
        return result

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SalesforceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SalesforceClient({self.credentials!r}, api_version={self._version!r})"


class SObject:
    """Create, read, update, delete and describe records of one sObject type."""

    def __init__(self, client: SalesforceClient, name: str) -> None:
        self._client = client
        self.name = name

    def create(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Create a record; returns ``{"id", "success", "errors"}``."""
        result: dict[str, Any] = self._client.request(
            "POST", f"sobjects/{self.name}/", json=dict(fields)
        ).json()
        return result

    def get(self, record_id: str, fields: list[str] | None = None) -> dict[str, Any]:
        """Read a record (all fields, or only ``fields``)."""
        params = {"fields": ",".join(fields)} if fields else None
        path = f"sobjects/{self.name}/{check_id(record_id)}"
        result: dict[str, Any] = self._client.request("GET", path, params=params).json()
        return result

    def update(self, record_id: str, fields: Mapping[str, Any]) -> None:
        """Update a record's fields."""
        path = f"sobjects/{self.name}/{check_id(record_id)}"
        self._client.request("PATCH", path, json=dict(fields))

    def delete(self, record_id: str) -> None:
        """Delete a record."""
        self._client.request("DELETE", f"sobjects/{self.name}/{check_id(record_id)}")

    def describe(self) -> dict[str, Any]:
        """The sObject's metadata."""
        result: dict[str, Any] = self._client.get_json(f"sobjects/{self.name}/describe/")
        return result


def __getattr__(name: str) -> Any:
    # AsyncSalesforceClient lives in its own module; importable from here too.
    if name in ("AsyncSalesforceClient", "AsyncSObject"):
        from sfbearer import _aclient

        return getattr(_aclient, name)
    raise AttributeError(name)
