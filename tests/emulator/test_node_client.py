"""A Node.js client shaped like the Salesforce CLI's JWT login, over TLS with NODE_EXTRA_CA_CERTS.

Node's own crypto signs the assertion exactly as sfdx-core does (``exp`` = ``Date.now() + 300``,
i.e. milliseconds; ``aud`` = the instance URL with a trailing slash; no ``jti``), then the CLI's
follow-up requests are made. Skipped where ``node`` is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair, write_key_pair

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

SCRIPT = r"""
const crypto = require("crypto");
const fs = require("fs");
const https = require("https");
const [instanceUrl, clientId, username, keyFile] = process.argv.slice(2);

function b64url(buf) { return Buffer.from(buf).toString("base64url"); }
function request(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(path, instanceUrl), { method, headers }, (res) => {
      let data = "";
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode, body: data }));
    });
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

(async () => {
  const header = b64url(JSON.stringify({ alg: "RS256" }));
  const claims = b64url(JSON.stringify({ iss: clientId, sub: username, aud: instanceUrl + "/", exp: Date.now() + 300 }));
  const signature = crypto.sign("RSA-SHA256", Buffer.from(header + "." + claims), fs.readFileSync(keyFile));
  const assertion = header + "." + claims + "." + b64url(signature);
  const form = new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }).toString();
  const token = await request("POST", "/services/oauth2/token",
    { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": Buffer.byteLength(form) }, form);
  const out = { token: token.status, tokenError: token.status === 200 ? null : JSON.parse(token.body) };
  if (token.status === 200) {
    const auth = { Authorization: "Bearer " + JSON.parse(token.body).access_token };
    const q = (soql) => request("GET", "/services/data/v51.0/query?q=" + encodeURIComponent(soql), auth);
    const scratch = await q("SELECT Id FROM ScratchOrgInfo limit 1");
    out.scratch = [scratch.status, JSON.parse(scratch.body)[0].errorCode];
    out.versions = (await request("GET", "/services/data", auth)).status;
    const org = await q("SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, OrganizationType FROM Organization");
    out.org = [org.status, JSON.parse(org.body).totalSize];
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""


@pytest.fixture(scope="module", params=["salesforce", "strict"])
def tls_org(
    request: pytest.FixtureRequest, key_pair: KeyPair, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Emulator, str, Path]]:
    key_path, _ = write_key_pair(key_pair, tmp_path_factory.mktemp("node-keys"))
    with Emulator(tls=True, validation=request.param) as sf:
        app = sf.add_app(name="cli", certificate=key_pair.certificate)
        sf.add_user(username="cli@acme.com")
        sf.authorize(app="cli", user="cli@acme.com")
        yield sf, app.consumer_key, key_path


def run_node(sf: Emulator, consumer_key: str, key_path: Path, tmp_path: Path) -> dict[str, object]:
    script = tmp_path / "login.js"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFBEARER_")}
    env["NODE_EXTRA_CA_CERTS"] = str(sf.ca_path)
    done = subprocess.run(
        [str(NODE), str(script), sf.url, consumer_key, "cli@acme.com", str(key_path)],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_salesforce_cli_shaped_login_from_node(
    tls_org: tuple[Emulator, str, Path], tmp_path: Path
) -> None:
    sf, consumer_key, key_path = tls_org
    result = run_node(sf, consumer_key, key_path, tmp_path)
    if sf.config.validation == "strict":
        assert result == {
            "token": 400,
            "tokenError": {"error": "invalid_grant", "error_description": "invalid assertion"},
        }
    else:
        assert result == {
            "token": 200,
            "tokenError": None,
            "scratch": [400, "INVALID_TYPE"],
            "versions": 200,
            "org": [200, 1],
        }
