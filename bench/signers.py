"""What a signature costs through each signer, next to a raw ``cryptography`` signature.

Run from the repository root (one run, every figure from the same process)::

    python bench/signers.py              # the full run
    python bench/signers.py --quick      # fewer rounds, for a smoke test

It prints, for an RSA-2048 RS256 signature of an assertion-sized message:

(a) ``FileSigner.sign`` ÷ a raw ``cryptography`` signature with the same key object: what
    the Signer layer adds on top of the signature itself.
(b) ``PKCS11Signer.sign`` on a SoftHSM token ÷ the raw signature: what going through
    PKCS#11 (module lock, per-thread session, C_SignInit + C_Sign) costs. SoftHSM signs in
    software with OpenSSL, so this isolates the PKCS#11 path; a hardware HSM adds its own
    signing time and, for a network HSM, a round trip.
    The same key signed through python-pkcs11 directly is shown too: the gap between the
    two is this library's own PKCS#11 overhead; the rest is SoftHSM.
(c) ``KMSSigner.sign`` against moto's in-process KMS: a functional check only. It measures
    moto and botocore's request building, not AWS KMS (expect 5-30 ms per call in a region).

Every figure is a median of per-round medians over interleaved rounds (raw, file, SoftHSM,
raw, file, SoftHSM, ...), so a noisy neighbour hurts every side alike. SoftHSM and moto are
skipped with a note when they are not installed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from sfbearer.keys import generate_key_pair, verify_rs256
from sfbearer.signers import FileSigner, Signer

MESSAGE = b"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + b"x" * 280  # an assertion's signing input
PIN = "bench-pin-1234"
MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


def softhsm_signer(workdir: Path) -> Signer | None:
    util = shutil.which("softhsm2-util")
    module = next((m for m in MODULES if os.path.isfile(m)), None)
    if util is None or module is None:
        print("note: SoftHSM not installed; skipping (b)  (apt-get install softhsm2)")
        return None
    (workdir / "tokens").mkdir()
    conf = workdir / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {workdir / 'tokens'}\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [util, "--init-token", "--free", "--label", "bench", "--pin", PIN, "--so-pin", PIN],
        check=True,
        capture_output=True,
    )
    from sfbearer.signers.pkcs11 import generate_pkcs11_key

    module = os.path.realpath(module)
    return generate_pkcs11_key(f"pkcs11:token=bench;object=jwt?module-path={module}", pin=PIN)


def direct_pkcs11_sign(signer: Signer) -> Callable[[], object]:
    """python-pkcs11 called directly on the same key: the floor under PKCS11Signer."""
    import pkcs11

    module = signer.uri.module_path  # type: ignore[attr-defined]
    token = pkcs11.lib(module).get_token(token_label="bench")
    session = token.open()  # the token is already logged in for this process
    key = session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label="jwt")
    mechanism = pkcs11.Mechanism.SHA256_RSA_PKCS
    return lambda: key.sign(MESSAGE, mechanism=mechanism)


def moto_check() -> str:
    try:
        import boto3
        from moto import mock_aws
    except ImportError:
        return "skipped (boto3/moto not installed)"
    from sfbearer.signers.kms import KMSSigner

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with mock_aws():
        client = boto3.client("kms", region_name="eu-west-1")
        key = client.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        signer = KMSSigner(f"awskms:{key['Arn']}")
        # moto signs a DIGEST as if it were the raw message (not implemented upstream), so
        # its signature verifies over the digest; the test suite patches moto instead.
        n = 20
        start = time.perf_counter()
        for _ in range(n):
            signer.sign(MESSAGE)
        per_call = (time.perf_counter() - start) / n
    return f"works; {per_call * 1e3:.2f} ms per call (measures moto, not AWS KMS)"


def median_of_rounds(
    funcs: dict[str, Callable[[], object]], rounds: int, per_round: int
) -> dict[str, float]:
    """Interleave the candidates round by round; per-call median of per-round medians."""
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(rounds):
        for name, func in funcs.items():
            times = []
            for _ in range(per_round):
                t0 = time.perf_counter()
                func()
                times.append(time.perf_counter() - t0)
            samples[name].append(statistics.median(times))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (smoke test)")
    args = parser.parse_args()
    rounds, per_round = (5, 20) if args.quick else (25, 40)

    key = generate_key_pair().private_key
    file_signer = FileSigner(key)
    pad, sha256 = padding.PKCS1v15(), hashes.SHA256()
    funcs: dict[str, Callable[[], object]] = {
        "raw cryptography": lambda: key.sign(MESSAGE, pad, sha256),
        "FileSigner": lambda: file_signer.sign(MESSAGE),
    }
    with tempfile.TemporaryDirectory(prefix="sfbearer-bench-") as tmp:
        hsm = softhsm_signer(Path(tmp))
        if hsm is not None:
            assert verify_rs256(hsm.public_key(), MESSAGE, hsm.sign(MESSAGE))
            funcs["python-pkcs11 direct"] = direct_pkcs11_sign(hsm)
            funcs["PKCS11Signer (SoftHSM)"] = lambda: hsm.sign(MESSAGE)
        for func in funcs.values():  # warm up: sessions opened, caches filled
            func()
        result = median_of_rounds(funcs, rounds, per_round)

    raw = result["raw cryptography"]
    print(f"RSA-2048 RS256, {len(MESSAGE)}-byte message, {rounds} rounds x {per_round} calls")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for name, seconds in result.items():
        ratio = "" if name == "raw cryptography" else f"   {seconds / raw:5.2f} x raw"
        print(f"  {name:<24} {seconds * 1e6:9.1f} us{ratio}")
    print(f"  KMSSigner (moto)         {moto_check()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
