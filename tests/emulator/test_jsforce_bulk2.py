"""jsforce's Bulk API 2.0 client (``conn.bulk2``), unchanged, against the emulator over TLS.

Skipped, like ``test_jsforce.py``, without node or jsforce (``SFBEARER_NODE_MODULES``).
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpx

from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair

from .conftest import make_org
from .test_jsforce import NODE, node_modules

__all__ = ["node_modules"]  # the fixture, found by pytest through this module

SCRIPT = r"""
const jsforce = require("jsforce");
const { url, token } = JSON.parse(process.env.BULK_JSON);  // not in argv
(async () => {
  const conn = new jsforce.Connection({ instanceUrl: url, accessToken: token, version: "62.0" });
  const out = {};
  const load = await conn.bulk2.loadAndWaitForResults({
    object: "Account", operation: "insert", pollInterval: 20, pollTimeout: 10000,
    input: [{ Name: "JS Bulk 1", Phone: "1" }, { Name: "JS Bulk 2", Phone: null }, { Phone: "3" }],
  });
  out.inserted = load.successfulResults.map((r) => [r.sf__Created, r.Name]);
  out.failed = load.failedResults.map((r) => r.sf__Error);
  const ids = load.successfulResults.map((r) => r.sf__Id);
  const del = await conn.bulk2.loadAndWaitForResults({
    object: "Account", operation: "delete", pollInterval: 20, pollTimeout: 10000,
    input: [{ Id: ids[0] }],
  });
  out.deleted = del.successfulResults.length;
  const stream = await conn.bulk2.query(
    "SELECT Name, Phone FROM Account WHERE Name LIKE 'JS Bulk%' ORDER BY Name",
    { pollInterval: 20, pollTimeout: 10000 });
  out.queried = (await stream.toArray()).map((r) => [r.Name, r.Phone]);
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(String(e && e.stack)); process.exit(1); });
"""


def test_jsforce_bulk2_load_and_query(
    node_modules: Path, key_pair: KeyPair, tmp_path: Path
) -> None:
    script = tmp_path / "bulk2.js"
    script.write_text(SCRIPT)
    with Emulator(tls=True) as sf:
        trust = ssl.create_default_context(cafile=str(sf.ca_path))
        with httpx.Client(base_url=sf.url, verify=trust, timeout=10) as client:
            token = next(make_org(sf, key_pair, client=client)).login()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SFBEARER_")}
        env.update(NODE_PATH=str(node_modules), NODE_EXTRA_CA_CERTS=str(sf.ca_path),
                   BULK_JSON=json.dumps({"url": sf.url, "token": token}))  # fmt: skip
        done = subprocess.run([str(NODE), str(script)], capture_output=True, text=True, env=env,
                              timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    assert out["inserted"] == [["true", "JS Bulk 1"], ["true", "JS Bulk 2"]]
    assert out["failed"] == ["REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"]
    assert out["deleted"] == 1
    assert out["queried"] == [["JS Bulk 2", ""]]
