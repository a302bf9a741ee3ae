"""A fake Salesforce for httpx.MockTransport: token endpoint, identity and a little REST."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx

INSTANCE = "https://acme.my.salesforce.com"
LOGIN = "https://login.salesforce.com"
ORG = "00Dxx0000001gPLEAY"
USER = "005xx000001SwiUAAS"
CLIENT_ID = "3MVG9fakeconsumerkey0000000000"
USERNAME = "int@acme.com"


class FakeClock:
    """Wall-clock time that only moves when told."""

    def __init__(self, start: float = 1_764_540_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeSalesforce:
    """Counts token POSTs; scripted token replies; a REST API that accepts live tokens."""

    def __init__(self, *, instance_url: str = INSTANCE, id_host: str = LOGIN) -> None:
        self.instance_url = instance_url
        self.id_host = id_host
        self.lock = threading.Lock()
        self.token_posts = 0
        self.assertions: list[str] = []
        self.script: list[Callable[[httpx.Request], httpx.Response]] = []
        self.live: set[str] = set()
        self.revoked: list[str] = []
        self.api_calls = 0
        self.serial = 0
        self.same_token = False
        self.delay = 0.0
        self.records = [{"Id": f"001{i:015d}", "Name": f"Acme {i}"} for i in range(5)]
        self.page_size = 2

    # -- token endpoint ---------------------------------------------------------------
    def issue(self) -> httpx.Response:
        with self.lock:
            if not (self.same_token and self.live):
                self.serial += 1
            token = f"{ORG}!AQtoken{self.serial:04d}"
            self.live.add(token)
        body = {
            "access_token": token,
            "instance_url": self.instance_url,
            "id": f"{self.id_host}/id/{ORG}/{USER}",
            "token_type": "Bearer",
            "scope": "api",
            "issued_at": "1764542533000",
            "signature": "sig",
        }
        return httpx.Response(200, json=body)

    def token_endpoint(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.token_posts += 1
            form = parse_qs(request.content.decode())
            self.assertions.append(form["assertion"][0])
            scripted = self.script.pop(0) if self.script else None
        if self.delay:
            time.sleep(self.delay)
        if scripted is not None:
            return scripted(request)
        return self.issue()

    # -- REST --------------------------------------------------------------------------
    def expire_all(self) -> None:
        with self.lock:
            self.live.clear()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/services/oauth2/token":
            return self.token_endpoint(request)
        if path == "/services/oauth2/revoke":
            token = parse_qs(request.content.decode())["token"][0]
            with self.lock:
                self.revoked.append(token)
                self.live.discard(token)
            return httpx.Response(200)
        auth = request.headers.get("Authorization", "")
        with self.lock:
            self.api_calls += 1
            ok = auth.startswith("Bearer ") and auth[7:] in self.live
        if not ok:
            return httpx.Response(
                401,
                json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
            )
        return self.rest(request)

    def rest(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.rstrip("/")
        if path == "/services/data":
            return httpx.Response(
                200,
                json=[
                    {"label": "Winter '26", "url": "/services/data/v65.0", "version": "65.0"},
                    {"label": "Winter '27", "url": "/services/data/v68.0", "version": "68.0"},
                    {"label": "Spring '09", "url": "/services/data/v9.0", "version": "9.0"},
                ],
            )
        if path.startswith("/id/"):
            return httpx.Response(200, json={"user_id": USER, "organization_id": ORG})
        if path.endswith("/limits"):
            return httpx.Response(
                200, json={"DailyApiRequests": {"Max": 15000, "Remaining": 14998}}
            )
        if "/query" in path:
            if "/query/" in request.url.path and path.split("/")[-1].startswith("01g"):
                start = int(path.split("-")[-1])
            else:
                q = request.url.params.get("q", "")
                if "Bogus" in q:
                    return httpx.Response(
                        400,
                        json=[{"message": "No such column 'Bogus'", "errorCode": "INVALID_FIELD"}],
                    )
                start = 0
            end = start + self.page_size
            page = self.records[start:end]
            body: dict[str, object] = {
                "totalSize": len(self.records),
                "done": end >= len(self.records),
                "records": [{"attributes": {"type": "Account"}, **r} for r in page],
            }
            if end < len(self.records):
                body["nextRecordsUrl"] = f"/services/data/v68.0/query/01gxx-{end}"
            return httpx.Response(200, json=body)
        if "/sobjects/Account" in path:
            if request.method == "POST":
                return httpx.Response(201, json={"id": "001NEW", "success": True, "errors": []})
            if request.method in ("PATCH", "DELETE"):
                return httpx.Response(204)
            if path.endswith("/describe"):
                return httpx.Response(200, json={"name": "Account", "fields": []})
            if path.endswith("/001MISSING"):
                return httpx.Response(
                    404,
                    json=[
                        {
                            "message": "The requested resource does not exist",
                            "errorCode": "NOT_FOUND",
                        }
                    ],
                )
            return httpx.Response(200, json={"Id": path.split("/")[-1], "Name": "Acme"})
        if path == "/stream":
            return httpx.Response(200, content=b"x" * 100_000)
        if path == "/echo":
            return httpx.Response(200, content=request.content)
        return httpx.Response(404, json=[{"message": "nope", "errorCode": "NOT_FOUND"}])


def error(status: int, error: str = "", description: str = "", **headers: str):
    def reply(request: httpx.Request) -> httpx.Response:
        if error:
            return httpx.Response(
                status, json={"error": error, "error_description": description}, headers=headers
            )
        return httpx.Response(status, text="<html>oops</html>", headers=headers)

    return reply


def drop(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection reset", request=request)


def body(status: int, content: bytes, content_type: str = "text/html"):
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers={"Content-Type": content_type})

    return reply


def decode_claims(assertion: str) -> dict[str, object]:
    import base64

    payload = assertion.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
