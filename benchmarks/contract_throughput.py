"""How many contract checks per second the contract suite runs against the local reference stack.

    .venv/bin/python benchmarks/contract_throughput.py [--fuzz-examples 400] [--conformance-examples 5]

A "check" is one judged exchange: a compliance-matrix row, an auth-matrix cell, a conformance call whose
reply is validated, a fuzz example. Each phase runs against one local stack (processes on loopback,
started with ivv.stack.local) and prints checks, seconds and checks/second; compliance includes its bounded
waits for the (forbidden) replies to notifications, so its rate is low by design.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivv.config import profile as profile_lib  # noqa: E402
from ivv.contract.authmatrix import auth_matrix  # noqa: E402
from ivv.contract.compliance import compliance_matrix  # noqa: E402
from ivv.contract.conformance import conformance  # noqa: E402
from ivv.contract.document import load as load_contract  # noqa: E402
from ivv.contract.drift import drift  # noqa: E402
from ivv.contract.fuzz import fuzz  # noqa: E402
from ivv.contract.probe import Probe  # noqa: E402
from ivv.stack.local import start_local  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz-examples", type=int, default=400)
    parser.add_argument("--fuzz-seconds", type=float, default=60)
    parser.add_argument("--conformance-examples", type=int, default=5)
    args = parser.parse_args(argv)
    profile = profile_lib.load(profile_lib.DEFAULT_PROFILE)
    contract = load_contract(profile.contract_path)
    with tempfile.TemporaryDirectory(prefix="ivv-bench-") as tmp, start_local(profile, Path(tmp)) as stack:
        probe = Probe(stack.rpc_url, contract, stack.credentials(),
                      alive=lambda: stack.ready(1).status_code is not None)
        phases = [
            ("compliance matrix", lambda: len(compliance_matrix(probe, silence=0.5))),
            ("auth matrix", lambda: len(auth_matrix(probe))),
            ("conformance", lambda: conformance(probe, generated=args.conformance_examples).calls),
            ("fuzz", lambda: fuzz(probe, max_examples=args.fuzz_examples, seconds=args.fuzz_seconds).examples),
            ("drift", lambda: len(drift(contract, probe.observed))),
        ]
        total_checks, total_secs = 0, 0.0
        print(f"{'phase':<20}{'checks':>8}{'seconds':>10}{'checks/s':>10}")
        for name, run in phases:
            t0 = time.perf_counter()
            checks = run()
            secs = time.perf_counter() - t0
            total_checks += checks
            total_secs += secs
            print(f"{name:<20}{checks:>8}{secs:>10.2f}{checks / secs if secs else 0:>10.1f}")
        print(f"{'total':<20}{total_checks:>8}{total_secs:>10.2f}{total_checks / total_secs:>10.1f}")
        print(f"methods in the contract: {len(contract.methods)}; stack: {stack.rpc_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
