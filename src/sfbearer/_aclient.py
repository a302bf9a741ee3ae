"""``AsyncSalesforceClient``: :class:`~sfbearer.SalesforceClient` for asyncio.

Example:
    >>> from sfbearer import AsyncSalesforceClient
    >>> async def names(creds):  # doctest: +SKIP
    ...     async with AsyncSalesforceClient(creds) as sf:
    ...         return [a["Name"] async for a in sf.query("SELECT Name FROM Account")]
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

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

__all__ = ["AsyncSObject", "AsyncSalesforceClient"]


class AsyncSalesforceClient:
    """The async twin of :class:`~sfbearer.SalesforceClient` (same methods, awaited).

    Args:
        credentials: where tokens come from.
        api_version: pin a version; by default the newest, discovered once.
        transport: an httpx async transport (tests use ``httpx.MockTransport``).
    """

    def __init__(
        self,
        credentials: JWTBearerCredentials,
        api_version: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.credentials = credentials
        self._version = normalize_version(api_version) if api_version else None
        self._lock = asyncio.Lock()
        self._http = httpx.AsyncClient(
            auth=SalesforceAuth(credentials), transport=transport, **http_options(credentials)
        )

    async def _url(self, path: str) -> str:
        if path.startswith(("https://", "http://")):
            return path
        base = (await self.credentials.atoken()).instance_url
        if path.startswith("/"):
            return base + path
        return f"{base}/services/data/v{await self.api_version()}/{path}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """See :meth:`sfbearer.SalesforceClient.request`."""
        url = await self._url(path)
        kwargs = dict(body_kwargs(json, data))
        kwargs["headers"] = {**kwargs.get("headers", {}), **(headers or {})}
        try:
            response = await self._http.request(method.upper(), url, params=params, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(exc, url) from exc
        if response.status_code >= 400:
            raise api_error(response.status_code, response.content, method=method, url=url)
        return response

    async def get_json(self, path: str, **params: Any) -> Any:
        return (await self.request("GET", path, params=params or None)).json()

    async def api_version(self) -> str:
        """The API version in use: pinned, or the newest the org offers (asked once)."""
        if self._version is None:
            async with self._lock:
                if self._version is None:
                    self._version = newest_version(await self.get_json("/services/data/"))
        return self._version

    async def query_pages(
        self, soql: str, *, include_deleted: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        """Every page of a SOQL query, fetched lazily."""
        resource = "queryAll" if include_deleted else "query"
        page: dict[str, Any] = await self.get_json(resource, q=soql)
        while True:
            yield page
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = await self.get_json(str(next_url))

    async def query(
        self, soql: str, *, include_deleted: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        """Every record of a SOQL query across pages: ``async for record in sf.query(...)``."""
        async for page in self.query_pages(soql, include_deleted=include_deleted):
            for record in page.get("records", []):
                yield record

    def sobject(self, name: str) -> AsyncSObject:
        return AsyncSObject(self, check_sobject(name))

    async def limits(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.get_json("limits/")
        return result

    async def identity(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.get_json((await self.credentials.atoken()).id_url)
        return result

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncSalesforceClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncSalesforceClient({self.credentials!r}, api_version={self._version!r})"


class AsyncSObject:
    """Async CRUD on one sObject type."""

    def __init__(self, client: AsyncSalesforceClient, name: str) -> None:
        self._client = client
        self.name = name

    async def create(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        response = await self._client.request("POST", f"sobjects/{self.name}/", json=dict(fields))
        result: dict[str, Any] = response.json()
        return result

    async def get(self, record_id: str, fields: list[str] | None = None) -> dict[str, Any]:
        params = {"fields": ",".join(fields)} if fields else None
        path = f"sobjects/{self.name}/{check_id(record_id)}"
        result: dict[str, Any] = (await self._client.request("GET", path, params=params)).json()
        return result

    async def update(self, record_id: str, fields: Mapping[str, Any]) -> None:
        path = f"sobjects/{self.name}/{check_id(record_id)}"
        await self._client.request("PATCH", path, json=dict(fields))

    async def delete(self, record_id: str) -> None:
        await self._client.request("DELETE", f"sobjects/{self.name}/{check_id(record_id)}")

    async def describe(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._client.get_json(f"sobjects/{self.name}/describe/")
        return result
