"""How much minting an assertion costs, next to what it cannot avoid and what others do.

Run from the repository root (one run, one key for every figure)::

    python bench/mint.py              # the full run
    python bench/mint.py --quick      # fewer rounds, for a smoke test

It prints three ratios:

(a) ``mint_assertion`` ÷ a raw ``cryptography`` RSA-2048 PKCS#1 v1.5 / SHA-256 signature of a
    message of the same size (target ≤ 1.15): what building the JWS costs on top of the
    signature itself.
(b) simple-salesforce's path — PyJWT handed the PEM text at each login, so the key is parsed
    every time — ÷ ``mint_assertion`` with a key loaded once.
(c) the whole process ``sfbearer assertion new ... --out jwt.txt`` ÷ a ten-line PyJWT script
    doing the same (read the key file, build the claims, encode, write jwt.txt): the median
    of the per-pair ratios of interleaved pairs (target ≤ 1.0).

Every figure is a median over interleaved rounds, so a noisy neighbour hurts both sides alike.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from sfbearer.assertion import mint_assertion
from sfbearer.keys import generate_key_pair, load_private_key, write_key_pair

CLIENT_ID = "3MVG9" + "x" * 80
USERNAME = "integration@acme.com"
AUDIENCE = "https://login.salesforce.com"

PYJWT_SCRIPT = """\
import sys, time, uuid, jwt
key_file, client_id, username, audience, out = sys.argv[1:6]
with open(key_file) as fh:
    key = fh.read()
now = int(time.time())
claims = {"iss": client_id, "sub": username, "aud": audience,
          "exp": now + 180, "iat": now, "jti": uuid.uuid4().hex}
with open(out, "w") as fh:
    fh.write(jwt.encode(claims, key, algorithm="RS256"))
"""


def _per_op(func: Callable[[], object], iterations: int) -> float:
    start = time.perf_counter()
    for _ in range(iterations):
        func()
    return (time.perf_counter() - start) / iterations


def _interleaved(
    funcs: dict[str, Callable[[], object]], rounds: int, iterations: int
) -> dict[str, list[float]]:
    """Per-operation times of each function, ``rounds`` times, the order rotating each round."""
    times: dict[str, list[float]] = {name: [] for name in funcs}
    names = list(funcs)
    for name in names:  # warm-up: caches, lazy imports, branch predictors
        _per_op(funcs[name], max(1, iterations // 4))
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            times[name].append(_per_op(funcs[name], iterations))
    return times


def _fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:8.1f} µs"


def bench_in_process(key_path: Path, rounds: int, iterations: int) -> tuple[float, float]:
    key = load_private_key(key_path)
    pem_text = key_path.read_text()
    sample = mint_assertion(key, client_id=CLIENT_ID, username=USERNAME, audience=AUDIENCE)
    message = sample.rpartition(".")[0].encode()  # the same size as what mint_assertion signs
    pad, sha = padding.PKCS1v15(), hashes.SHA256()

    def raw_signature() -> bytes:
        return key.sign(message, pad, sha)

    def ours() -> str:
        return mint_assertion(key, client_id=CLIENT_ID, username=USERNAME, audience=AUDIENCE)

    def pyjwt_pem_each_login() -> str:
        now = int(time.time())
        claims = {
            "iss": CLIENT_ID,
            "sub": USERNAME,
            "aud": AUDIENCE,
            "exp": now + 180,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, pem_text, algorithm="RS256")

    fast = _interleaved({"raw": raw_signature, "ours": ours}, rounds, iterations)
    # PyJWT parses the PEM each call (tens of ms): fewer iterations, the same interleaving
    slow = _interleaved({"ours": ours, "pyjwt": pyjwt_pem_each_login}, max(5, rounds // 20), 5)
    raw_m, ours_m = statistics.median(fast["raw"]), statistics.median(fast["ours"])
    pyjwt_m, ours_m2 = statistics.median(slow["pyjwt"]), statistics.median(slow["ours"])
    per_round = [o / r for o, r in zip(fast["ours"], fast["raw"], strict=True)]
    print(f"raw RSA-2048 signature ({len(message)}-byte message) {_fmt_us(raw_m)}")
    print(f"mint_assertion (key loaded once)              {_fmt_us(ours_m)}")
    print(f"PyJWT jwt.encode(claims, PEM text)            {_fmt_us(pyjwt_m)}")
    ratio_a = statistics.median(per_round)
    ratio_b = pyjwt_m / ours_m2
    print(
        f"(a) mint_assertion / raw signature  = {ratio_a:.3f}  "
        f"(median of {len(per_round)} per-round ratios; ratio of medians {ours_m / raw_m:.3f}; "
        "target <= 1.15)"
    )
    print(f"(b) PyJWT with PEM each login / ours = {ratio_b:.1f}x")
    return ratio_a, ratio_b


def _sfbearer_command() -> list[str]:
    script = Path(sys.executable).with_name("sfbearer")
    if script.exists():
        return [str(script)]
    found = shutil.which("sfbearer")
    if found:
        return [found]
    return [sys.executable, "-c", "from sfbearer.cli import run; run()"]


def _run(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise SystemExit(f"{argv[0]} failed (exit {result.returncode}): {message}")
    return elapsed


def bench_processes(key_path: Path, workdir: Path, pairs: int) -> float | None:
    if importlib.util.find_spec("sfbearer.cli.assertion") is None:
        print("(c) skipped: `sfbearer assertion new` is not available in this checkout")
        return None
    script = workdir / "pyjwt_assertion.py"
    script.write_text(PYJWT_SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFBEARER_")}
    env["SFBEARER_CONFIG"] = str(workdir / "no-config.toml")  # no profile file to read
    # an installed package has its .pyc files (pip compiles at install time), and so do PyJWT
    # and cryptography; without them a source checkout would be timed recompiling itself
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    ours = [
        *_sfbearer_command(),
        "assertion",
        "new",
        "--client-id",
        CLIENT_ID,
        "--username",
        USERNAME,
        "--jwt-key-file",
        str(key_path),
        "--environment",
        "production",
        "--out",
        str(workdir / "jwt-sfbearer.txt"),
    ]
    theirs = [
        sys.executable,
        str(script),
        str(key_path),
        CLIENT_ID,
        USERNAME,
        AUDIENCE,
        str(workdir / "jwt-pyjwt.txt"),
    ]
    _run(ours, env)  # warm-up: .pyc files, page cache
    _run(theirs, env)
    ratios, ours_t, theirs_t = [], [], []
    for i in range(pairs):
        if i % 2 == 0:
            a, b = _run(ours, env), _run(theirs, env)
        else:
            b, a = _run(theirs, env), _run(ours, env)
        ours_t.append(a)
        theirs_t.append(b)
        ratios.append(a / b)
    print(f"`sfbearer assertion new --out` process       {statistics.median(ours_t) * 1e3:8.1f} ms")
    print(
        f"10-line PyJWT script process                 {statistics.median(theirs_t) * 1e3:8.1f} ms"
    )
    ratio = statistics.median(ratios)
    print(
        f"(c) sfbearer / PyJWT script (whole process) = {ratio:.3f}  "
        f"(median of {pairs} interleaved pairs; target <= 1.0)"
    )
    print(f"    command: {' '.join(ours[-13:])}")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # many short rounds: each raw/ours pair of batches sees the same machine load
    parser.add_argument("--rounds", type=int, default=301, help="interleaved rounds (a)")
    parser.add_argument("--iterations", type=int, default=25, help="operations per round (a)")
    parser.add_argument("--pairs", type=int, default=21, help="interleaved process pairs (c)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.iterations, args.pairs = 41, 10, 10
    print(f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="sfbearer-bench-") as tmp:
        workdir = Path(tmp)
        key_path, _ = write_key_pair(generate_key_pair(key_size=2048), workdir / "keys")
        bench_in_process(key_path, args.rounds, args.iterations)
        bench_processes(key_path, workdir, max(10, args.pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
