"""Bulk API 2.0 ingest in the emulator: rows per second of a job, as a ratio to the same rows
sent one REST create at a time over the same connection, in the same run.

A job is processed while its PATCH to UploadComplete is answered, so the emulator serves
nothing else meanwhile: what matters is that a job's time grows with its own rows only, not
with the rows the org already holds. Each scenario runs on an org that already holds 10,000
accounts:

    .venv/bin/python bench/emulator_bulk.py [--rows 2500] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import httpx
import jwt

from sfbearer.emulator import Emulator
from sfbearer.keys import generate_key_pair

V = "/services/data/v68.0"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def login(sf: Emulator, client: httpx.Client) -> dict[str, str]:
    keys = generate_key_pair()
    app = sf.add_app(name="bench", certificate=keys.certificate)
    sf.add_user(username="bulk@acme.com")
    sf.authorize(app="bench", user="bulk@acme.com")
    claims = {"iss": app.consumer_key, "sub": "bulk@acme.com", "aud": sf.url,
              "exp": int(time.time()) + 170}  # fmt: skip
    assertion = jwt.encode(claims, keys.private_key, algorithm="RS256")
    token = client.post("/services/oauth2/token", data={"grant_type": GRANT,
                                                        "assertion": assertion}).json()  # fmt: skip
    return {"Authorization": f"Bearer {token['access_token']}"}


def job(client: httpx.Client, auth: dict[str, str], csv: str, **options: Any) -> float:
    """Seconds from UploadComplete to a finished job (the rows are checked to have gone in)."""
    body = {"object": "Account", "lineEnding": "LF", **options}
    made = client.post(f"{V}/jobs/ingest", json=body, headers=auth).json()
    url = f"{V}/jobs/ingest/{made['id']}"
    client.put(f"{url}/batches", content=csv.encode(),
               headers={**auth, "Content-Type": "text/csv"})  # fmt: skip
    started = time.perf_counter()
    client.patch(url, json={"state": "UploadComplete"}, headers=auth, timeout=600)
    took = time.perf_counter() - started
    info = client.get(url, headers=auth).json()
    if info["state"] != "JobComplete" or info["numberRecordsFailed"]:
        raise SystemExit(f"the job did not go through: {info}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    n = args.rows
    results: dict[str, list[float]] = {"rest": [], "insert": [], "unique": [], "upsert": []}
    for run in range(args.runs):
        with Emulator() as sf, httpx.Client(base_url=sf.url, timeout=60) as client:
            sf.add_field("Account", "Ext__c", "string", external_id=True, unique=True)
            for i in range(10_000):
                sf.records.create("Account", {"Name": f"Held {i}"})
            auth = login(sf, client)
            started = time.perf_counter()
            for i in range(n):
                client.post(f"{V}/sobjects/Account", json={"Name": f"R{run}-{i}"}, headers=auth)
            results["rest"].append(time.perf_counter() - started)
            names = "\n".join(f"I{run}-{i}" for i in range(n))
            results["insert"].append(job(client, auth, f"Name\n{names}\n", operation="insert"))
            keyed = "\n".join(f"U{i},E{run}-{i}" for i in range(n))
            results["unique"].append(
                job(client, auth, f"Name,Ext__c\n{keyed}\n", operation="insert")
            )
            results["upsert"].append(job(client, auth, f"Name,Ext__c\n{keyed}\n",
                                         operation="upsert", externalIdFieldName="Ext__c"))  # fmt: skip
    rest = statistics.median(results["rest"])
    print(f"{n} rows into an org of 10,000 accounts, median of {args.runs} runs:")
    print(f"  REST creates, one request each: {rest:6.2f} s ({n / rest:7.0f} rows/s)")
    for name, label in (("insert", "bulk insert"), ("unique", "bulk insert, unique ext id"),
                        ("upsert", "bulk upsert of those rows")):  # fmt: skip
        took = statistics.median(results[name])
        print(f"  {label + ':':<31} {took:6.2f} s ({n / took:7.0f} rows/s, "
              f"{rest / took:5.1f}x the REST creates)")  # fmt: skip


if __name__ == "__main__":
    main()
