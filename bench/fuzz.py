"""Fuzz the emulator: >= 100,000 random and mutated requests; report status counts and any 5xx.

Requests go straight into the emulator's ASGI application (the same app the server runs,
middleware included), so a run takes a minute or two instead of an hour of HTTP:

    .venv/bin/python bench/fuzz.py [--cases 100000] [--seed 1]

Exit status 1 when any case got a 5xx (the first few are printed).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import time
import urllib.parse
from collections import Counter
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from sfbearer.emulator import Emulator
from sfbearer.emulator.app import build_app
from sfbearer.keys import generate_key_pair

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLAIMS = ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "prn"]
HEADERS = ["alg", "typ", "kid", "crit", "jku", "x5c", "x5u", "jwk", "zip", "b64"]
SOQL = ["SELECT", "Id", "Name", ",", "FROM", "Account", "Contact", "User", "Organization", "WHERE",
        "=", "!=", "<", ">=", "LIKE", "IN", "NOT", "(", ")", "'x'", "'%a_'", "NULL", "TRUE", "AND", "OR",
        "ORDER", "BY", "DESC", "NULLS", "LAST", "LIMIT", "OFFSET", "5", "-1", "99999999999", "COUNT()",
        "TODAY", "LAST_N_DAYS:3", "2020-01-01", "2020-01-01T00:00:00Z", "Account.Name", "\\'", "'", "Owner.Name"]  # fmt: skip


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rand_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice(
            [0, -1, 1, 2**31, 2**63, 10**13, 10**20, int(time.time()), int(time.time() * 1000)]
        )
    if kind == 3:
        return rng.choice([0.5, -1e300, 1e300, time.time()])
    if kind in (4, 5):
        # Now and then a lone surrogate, as JSON encoders write a broken string ("\ud800").
        top = 0xDFFF if rng.random() < 0.1 else 0x2FF
        return "".join(chr(rng.choice([rng.randrange(0x20, 0x2FF), rng.randrange(0x20, top + 1)]))
                       for _ in range(rng.randrange(12)))  # fmt: skip
    if kind in (6, 7):
        return [rand_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {str(rand_json(rng, 3)): rand_json(rng, depth + 1) for _ in range(rng.randrange(4))}


class Fuzzer:
    def __init__(self, sf: Emulator, rng: random.Random) -> None:
        self.sf = sf
        self.rng = rng
        self.pair = generate_key_pair()
        self.app = sf.add_app(name="fuzz", certificate=self.pair.certificate)
        sf.add_user(username="fuzz@acme.com")
        sf.authorize(app="fuzz", user="fuzz@acme.com")
        self.asgi = build_app(sf.ctx)
        self.valid = [self.mint() for _ in range(50)]
        self.token = ""

    def claims(self) -> dict[str, Any]:
        now = int(self.sf.clock.now())
        return {"iss": self.app.consumer_key, "sub": "fuzz@acme.com", "aud": self.sf.url,
                "exp": now + 120, "iat": now, "jti": str(self.rng.random())}  # fmt: skip

    def mint(self) -> str:
        return jwt.encode(self.claims(), self.pair.private_key, algorithm="RS256")

    def sign(self, header: Any, claims: Any) -> str:
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        sig = self.pair.private_key.sign(
            signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{signing_input}.{b64(sig)}"

    # -- cases -------------------------------------------------------------------------------
    def mutated(self) -> str:
        token = self.rng.choice(self.valid)
        for _ in range(self.rng.randrange(1, 5)):
            i = self.rng.randrange(len(token) + 1)
            op = self.rng.randrange(6)
            if op == 0 and token:
                i = min(i, len(token) - 1)
                token = token[:i] + chr(self.rng.randrange(0x20, 0x7F)) + token[i + 1 :]
            elif op == 1:
                token = token[:i] + token[i + self.rng.randrange(1, 20) :]
            elif op == 2:
                token = (
                    token[:i]
                    + "".join(chr(self.rng.randrange(1, 0x7FF)) for _ in range(5))
                    + token[i:]
                )
            elif op == 3:
                token = token[:i]
            elif op == 4:
                token = token[:i] + "." + token[i:]
            else:
                parts = token.split(".")
                self.rng.shuffle(parts)
                token = ".".join(parts)
        return token

    def random_claims(self) -> str:
        base = {k: v for k, v in self.claims().items() if self.rng.random() < 0.7}
        for _ in range(self.rng.randrange(4)):
            base[self.rng.choice(CLAIMS)] = rand_json(self.rng)
        return self.sign({"alg": "RS256"}, base)

    def random_header(self) -> str:
        header: dict[str, Any] = {"alg": "RS256"} if self.rng.random() < 0.5 else {}
        for _ in range(self.rng.randrange(4)):
            header[self.rng.choice(HEADERS)] = rand_json(self.rng)
        if self.rng.random() < 0.3:
            header["alg"] = self.rng.choice(
                ["none", "HS256", "RS384", "rs256", "PS256", "ES256", ""]
            )
        return self.sign(header, self.claims())

    def structured_soql(self) -> str:
        """A mostly well-formed query, so evaluation (not only parsing) is fuzzed."""
        obj = self.rng.choice(["Account", "Contact", "User", "Organization", "Case", "Opportunity"])
        fields = self.rng.sample(
            ["Id", "Name", "CreatedDate", "Email", "IsDeleted", "OwnerId", "Bogus"],
            k=self.rng.randrange(1, 4),
        )
        q = f"SELECT {', '.join(fields)} FROM {obj}"
        if self.rng.random() < 0.7:
            field = self.rng.choice(["Name", "CreatedDate", "Id", "IsDeleted", "Email"])
            op = self.rng.choice(["=", "!=", "<", ">", "<=", ">=", "LIKE", "IN"])
            lit = self.rng.choice(
                [
                    "'a%'",
                    "NULL",
                    "TRUE",
                    "TODAY",
                    "2020-01-01",
                    "2020-01-01T00:00:00Z",
                    "('x', 'y')",
                    "5",
                    "'001000000000000'",
                ]
            )
            q += f" WHERE {'NOT ' if self.rng.random() < 0.2 else ''}{field} {op} {lit}"
        if self.rng.random() < 0.4:
            q += f" ORDER BY {self.rng.choice(fields)} {self.rng.choice(['', 'ASC', 'DESC NULLS LAST'])}"
        if self.rng.random() < 0.4:
            q += f" LIMIT {self.rng.choice([0, 1, 5, 2001, -3])}"
        if self.rng.random() < 0.2:
            q += f" OFFSET {self.rng.choice([0, 1, 2000, 2001])}"
        return q

    def form(self, assertion: str) -> tuple[bytes, str]:
        r = self.rng.random()
        if r < 0.8:
            return urllib.parse.urlencode(
                {"grant_type": GRANT, "assertion": assertion}
            ).encode(), "application/x-www-form-urlencoded"
        if r < 0.9:
            return json.dumps(
                {"grant_type": GRANT, "assertion": assertion}
            ).encode(), "application/json"
        body = bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(300)))
        return body, self.rng.choice(
            ["application/x-www-form-urlencoded", "", "text/plain", "multipart/form-data"]
        )

    def case(self) -> tuple[str, str, str, dict[str, str], bytes]:
        """(category, method, path, headers, body)."""
        pick = self.rng.random()
        auth = {"authorization": f"Bearer {self.token}"}
        if pick < 0.35:
            body, ctype = self.form(self.mutated())
            return "token/mutated", "POST", "/services/oauth2/token", {"content-type": ctype}, body
        if pick < 0.45:
            body, ctype = self.form(self.random_claims())
            return "token/claims", "POST", "/services/oauth2/token", {"content-type": ctype}, body
        if pick < 0.50:
            body, ctype = self.form(self.random_header())
            return "token/header", "POST", "/services/oauth2/token", {"content-type": ctype}, body
        if pick < 0.60:
            body, ctype = self.form(
                "".join(chr(self.rng.randrange(0x20, 0x7F)) for _ in range(self.rng.randrange(200)))
            )
            return (
                "token/garbage",
                self.rng.choice(["POST", "POST", "GET", "PUT"]),
                "/services/oauth2/token",
                {"content-type": ctype},
                body,
            )
        if pick < 0.80:
            q = " ".join(self.rng.choice(SOQL) for _ in range(self.rng.randrange(1, 16)))
            r = self.rng.random()
            if r < 0.3:
                q = "SELECT Id FROM Account WHERE " + q
            elif r < 0.7:
                q = self.structured_soql()
            return (
                "api/soql",
                "GET",
                "/services/data/v68.0/query/?" + urllib.parse.urlencode({"q": q}),
                auth,
                b"",
            )
        if pick < 0.92:
            segs = ["services", "data", "v68.0", "v45.0", "v1.0", "sobjects", "Account", "Contact", "describe",
                    "query", "queryAll", "limits", "001000000000000AAA", "01g5g0000000001AAA-2000", "..",
                    "%00", "Nope", "Id", "Ext__c", "Name", "deleted", "updated", "composite", "tree",
                    "A-1", "42", "jobs", "ingest", "query", "750000000000001AAA", "batches",
                    "successfulResults", "failedResults", "unprocessedrecords", "results"]  # fmt: skip
            path = "/" + "/".join(self.rng.choice(segs) for _ in range(self.rng.randrange(1, 7)))
            if self.rng.random() < 0.7:
                path = "/services/data/v68.0" + path
            body = json.dumps(rand_json(self.rng)).encode()
            return (
                "api/paths",
                self.rng.choice(["GET", "POST", "PATCH", "PUT", "DELETE"]),
                path,
                auth,
                body,
            )
        paths = ["/services/oauth2/userinfo", "/services/oauth2/revoke", f"/id/{self.sf.org_id}/005000000000000AAA",
                 "/__emulator/faults", "/__emulator/apps", "/__emulator/users", "/__emulator/authorize", "/__emulator/clock",
                 "/__emulator/fields"]  # fmt: skip
        path = self.rng.choice(paths)
        if path == "/__emulator/faults":  # never switch real faults on: only invalid settings
            body = json.dumps(
                {"error_rate": self.rng.choice([2, -1, "x", None]), "scope": "nowhere"}
            ).encode()
        elif path == "/__emulator/clock":
            body = json.dumps({"advance_seconds": self.rng.choice(["x", None, [], "nan"])}).encode()
        else:
            body = json.dumps(rand_json(self.rng)).encode()
        headers = (
            auth if self.rng.random() < 0.5 else {"authorization": "Bearer " + self.mutated()[:80]}
        )
        headers["content-type"] = "application/json"
        return "other", self.rng.choice(["GET", "POST"]), path, headers, body

    async def call(self, method: str, target: str, headers: dict[str, str], body: bytes) -> int:
        path, _, query = target.partition("?")
        scope = {
            "type": "http", "http_version": "1.1", "method": method, "scheme": "http",
            "path": urllib.parse.unquote(path), "raw_path": path.encode(), "query_string": query.encode(),
            "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
            "headers": [(k.encode(), v.encode("latin-1", "replace")) for k, v in headers.items()]
            + [(b"content-length", str(len(body)).encode()), (b"host", b"127.0.0.1")],
        }  # fmt: skip
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.asgi(scope, receive, send)  # type: ignore[arg-type]
        return status


async def run(cases: int, seed: int) -> int:
    rng = random.Random(seed)
    failures: list[tuple[str, str, str, bytes, int]] = []
    counts: Counter[tuple[str, int]] = Counter()
    with Emulator() as sf:
        from dataclasses import replace

        sf.ctx.config = replace(sf.ctx.config, login_rate_limit=10**9, daily_api_limit=10**9)
        sf.add_field("Account", "Ext__c", "string", external_id=True, unique=True)
        fuzzer = Fuzzer(sf, rng)
        status = await fuzzer.call("POST", "/services/oauth2/token", {"content-type": "application/x-www-form-urlencoded"},
                                   urllib.parse.urlencode({"grant_type": GRANT, "assertion": fuzzer.valid[0]}).encode())  # fmt: skip
        assert status == 200
        fuzzer.token = sf.ctx.sessions.create(
            sf.ctx.registry.get_user_by_username("fuzz@acme.com").id,
            "fuzz",
            frozenset({"api"}),
            120,
        )  # type: ignore[union-attr]
        start = time.perf_counter()
        for i in range(cases):
            category, method, path, headers, body = fuzzer.case()
            try:
                status = await fuzzer.call(method, path, headers, body)
            except Exception as exc:  # an exception escaping the app is a 5xx too
                status = 599
                body = repr(exc).encode() + b" | " + body
            counts[(category, status)] += 1
            if status >= 500:
                failures.append((category, method, path, body[:300], status))
            if (i + 1) % 20000 == 0:
                print(f"  {i + 1} cases, {time.perf_counter() - start:.0f} s")
        elapsed = time.perf_counter() - start
    print(f"{cases} cases in {elapsed:.1f} s ({cases / elapsed:.0f}/s), seed {seed}")
    for category in sorted({c for c, _ in counts}):
        row = {status: n for (c, status), n in counts.items() if c == category}
        print(f"  {category:<14} " + "  ".join(f"{s}:{row[s]}" for s in sorted(row)))
    print(f"5xx answers: {len(failures)}")
    for failure in failures[:10]:
        print("  ", failure)
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args.cases, args.seed)))


if __name__ == "__main__":
    main()
