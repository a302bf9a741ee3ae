#!/usr/bin/env bash
# Runs the real Salesforce CLI, unchanged, against a local sfbearer emulator over TLS.
#
#   bench/interop_sf_cli.sh PATH/TO/sf [PATH/TO/sfbearer]
#
# Install the CLI anywhere first (it is large; it is not part of CI), e.g.
#   npm install --prefix ~/sf-cli @salesforce/cli   ->  ~/sf-cli/node_modules/.bin/sf
# The CLI runs on the `node` found on PATH; recent releases need Node.js 22 or later.
#
# The script makes a key pair, seeds an org (an External Client App with that certificate, a
# pre-authorized user, two Accounts), serves it with `sfbearer emulator serve --tls --ca-out`,
# then runs `sf org login jwt`, `sf org display`, `sf data query` (JSON, a relationship,
# --all-rows and the human table), `sf data create/get/update/delete record`,
# `sf org list limits`, `sf sobject list/describe`, `sf data export tree`, `sf data import tree`
# (files and a plan; a refused import creates nothing), a second login and
# `sf org logout` with NODE_EXTRA_CA_CERTS pointing at the emulator's
# CA and a throw-away HOME. Each command's exit code and a short summary of its --json answer
# are printed (never a token); the exit code is the number of failed commands.
# KEEP=1 keeps the work directory (its files hold the session's token) for a closer look.
set -uo pipefail

sf=${1:?usage: $0 PATH/TO/sf [PATH/TO/sfbearer]}
here=$(cd "$(dirname "$0")/.." && pwd)
sfbearer=${2:-$(command -v sfbearer || echo "$here/.venv/bin/sfbearer")}
sf=$(cd "$(dirname "$sf")" && pwd)/$(basename "$sf")
python=$(dirname "$sfbearer")/python
[ -x "$python" ] || python=python3

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  if [ -n "${KEEP:-}" ]; then echo "kept:     $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The CLI reads and writes its auth files under HOME; keep the user's own untouched.
export HOME="$work/home" SF_DISABLE_TELEMETRY=true SF_AUTOUPDATE_DISABLE=true
export SF_USE_GENERIC_UNIX_KEYCHAIN=true SF_SKIP_NEW_VERSION_CHECK=true NO_COLOR=1
export PATH="$(dirname "$sf"):$PATH"  # its hooks spawn `sf` by name
mkdir -p "$HOME"

"$python" -c 'import sys
from sfbearer.keys import generate_key_pair, write_key_pair
write_key_pair(generate_key_pair(common_name="sf-cli-interop"), sys.argv[1])' "$work/keys" || exit 99
consumer_key=3MVG9local.sf.cli.interop
username=cli@acme.com
cat >"$work/seed.toml" <<EOF
[[apps]]
name = "sf-cli"
certificate = "keys/server.crt"
consumer_key = "$consumer_key"

[[users]]
username = "$username"

[[authorizations]]
app = "sf-cli"
user = "$username"

[[records.Account]]
Name = "Acme"

[[records.Account]]
Name = "Globex"
EOF

"$sfbearer" emulator serve --tls --ca-out "$work/ca.pem" --seed "$work/seed.toml" \
  >"$work/url" 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 100); do
  [ -s "$work/url" ] && break
  sleep 0.1
done
url=$(head -n1 "$work/url")
[ -n "$url" ] || { cat "$work/serve.log"; exit 99; }
export NODE_EXTRA_CA_CERTS="$work/ca.pem"

echo "sf:       $("$sf" --version 2>/dev/null | head -n1)"
echo "emulator: $url"
failed=0

# run NAME JQ-LIKE-PYTHON-EXPR -- sf args...: runs sf with --json, prints exit code + summary.
run() {
  local name=$1 expr=$2
  shift 3
  local out="$work/$name.json" rc
  "$sf" "$@" --json >"$out" 2>"$work/$name.err"
  rc=$?
  local summary
  summary=$("$python" - "$out" "$expr" "$work/$name.err" <<'PY'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except ValueError:
    lines = [l for l in open(sys.argv[3]).read().splitlines() if l.strip()]
    errors = [l for l in lines if "Error" in l] or lines or ["(nothing on stderr)"]
    print("no JSON answer:", errors[-1].strip()[:160])
    raise SystemExit
if doc.get("status", 1) != 0:
    print(f"{doc.get('name')}: {doc.get('message')}")
else:
    r = doc.get("result")
    print(eval(sys.argv[2], {"r": r}))
PY
)
  [ "$rc" -eq 0 ] || failed=$((failed + 1))
  printf '%-14s exit %-3s %s\n' "$name" "$rc" "$summary"
}

run login "(r['username'], r['orgId'], r['instanceUrl'])" -- \
  org login jwt --client-id "$consumer_key" --jwt-key-file "$work/keys/server.key" \
  --username "$username" --instance-url "$url" --alias emu
run display "(r['connectedStatus'], r['apiVersion'], r['username'])" -- \
  org display --target-org emu
run query "(r['totalSize'], [x['Name'] for x in r['records']])" -- \
  data query --query "SELECT Id, Name FROM Account ORDER BY Name" --target-org emu
run create "(r['success'], r['id'])" -- \
  data create record --sobject Account --values "Name='Initech'" --target-org emu
new_id=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["result"]["id"])' \
  "$work/create.json" 2>/dev/null || echo 001000000000000AAA)
run get "(r['Id'], r['Name'])" -- \
  data get record --sobject Account --record-id "$new_id" --target-org emu
run update "r['success']" -- \
  data update record --sobject Account --record-id "$new_id" --values "Name='Initech 2'" \
  --target-org emu
run relations "[(x['Name'], (x.get('Owner') or {}).get('Name')) for x in r['records']]" -- \
  data query --query "SELECT Name, Owner.Name FROM Account WHERE Name LIKE 'Init%'" \
  --target-org emu
run delete "r['success']" -- \
  data delete record --sobject Account --record-id "$new_id" --target-org emu
run all-rows "r['totalSize']" -- \
  data query --all-rows --query "SELECT Id FROM Account WHERE Id = '$new_id'" --target-org emu
# The human table (laid out from the query's column metadata), not JSON.
if table=$("$sf" data query --query "SELECT Id, Name FROM Account ORDER BY Name" \
  --target-org emu 2>"$work/table.err") && grep -q Globex <<<"$table"; then
  printf '%-14s exit %-3s %s\n' table 0 "$(grep -c 001 <<<"$table") rows"
else
  failed=$((failed + 1))
  printf '%-14s exit %-3s %s\n' table 1 "$(tail -n1 "$work/table.err")"
fi
run limits "[x for x in r if x['name'] == 'DailyApiRequests']" -- \
  org list limits --target-org emu
run sobjects "len(r)" -- sobject list --target-org emu
run describe "(r['name'], len(r['fields']))" -- sobject describe --sobject Account --target-org emu
run export "len(r)" -- data export tree --query "SELECT Id, Name FROM Account" \
  --target-org emu --output-dir "$work/export"
# sObject Tree: an Account with two Contacts from a file, then a plan whose Contacts file
# names its Account by reference, then a file with a bad record (must fail, create nothing).
cat >"$work/Accounts.json" <<'JSON'
{"records": [
 {"attributes": {"type": "Account", "referenceId": "AccountRef1"}, "Name": "Tree Co",
  "Contacts": {"records": [
   {"attributes": {"type": "Contact", "referenceId": "ContactRef1"}, "LastName": "Smith"},
   {"attributes": {"type": "Contact", "referenceId": "ContactRef2"}, "LastName": "Jones"}]}}]}
JSON
run import "[(x['refId'], x['type']) for x in r]" -- \
  data import tree --files "$work/Accounts.json" --target-org emu
mkdir -p "$work/plan"
echo '{"records": [{"attributes": {"type": "Account", "referenceId": "PlanAcc"}, "Name": "Plan Co"}]}' \
  >"$work/plan/Accounts.json"
echo '{"records": [{"attributes": {"type": "Contact", "referenceId": "PlanCon"}, "LastName": "Planned", "AccountId": "@PlanAcc"}]}' \
  >"$work/plan/Contacts.json"
echo '[{"sobject": "Account", "saveRefs": true, "files": ["Accounts.json"]},
 {"sobject": "Contact", "resolveRefs": true, "files": ["Contacts.json"]}]' >"$work/plan/plan.json"
run import-plan "[(x['refId'], x['type']) for x in r]" -- \
  data import tree --plan "$work/plan/plan.json" --target-org emu
run imported "[(x['LastName'], x['Account']['Name']) for x in r['records']]" -- \
  data query --query "SELECT LastName, Account.Name FROM Contact ORDER BY LastName" --target-org emu
echo '{"records": [{"attributes": {"type": "Account", "referenceId": "Good"}, "Name": "Never Co"},
 {"attributes": {"type": "Account", "referenceId": "Bad"}, "Phone": "1"}]}' >"$work/Bad.json"
"$sf" data import tree --files "$work/Bad.json" --target-org emu --json >"$work/bad.json" 2>/dev/null
bad_rc=$?
bad=$("$python" -c 'import json,sys; print([(d["referenceId"], d["StatusCode"]) for d in json.load(open(sys.argv[1]))["data"]])' \
  "$work/bad.json" 2>/dev/null)
[ "$bad_rc" -ne 0 ] && [ -n "$bad" ] || failed=$((failed + 1))
printf '%-14s exit %-3s %s (a refusal is expected)\n' import-bad "$bad_rc" "$bad"
run none-created "r['totalSize']" -- \
  data query --query "SELECT Id FROM Account WHERE Name = 'Never Co'" --target-org emu
run relogin "r['username']" -- \
  org login jwt --client-id "$consumer_key" --jwt-key-file "$work/keys/server.key" \
  --username "$username" --instance-url "$url" --alias emu
run logout "r" -- org logout --target-org emu --no-prompt

"$sfbearer" emulator stats --json --url "$url" --ca "$work/ca.pem" 2>/dev/null |
  "$python" -c 'import json,sys; s=json.load(sys.stdin); print("stats:   ", s["token_requests"]["ok"], "logins,", s["api_calls"], "API calls")'
echo "failed:   $failed"
exit "$failed"
