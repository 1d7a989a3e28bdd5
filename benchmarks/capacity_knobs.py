"""The capacity search against the local reference stack, clean and with fault knobs, side by side:
`cpu_ms` (each call burns CPU) must lower the measured capacity, `slow_ms` (each call sleeps) must not.

    .venv/bin/python benchmarks/capacity_knobs.py [--step 3] [--max-rate 640] [--knobs clean cpu_ms=10 slow_ms=50]

Each search uses the production-readiness gate's limits (p95, error rate) and minimum, with shorter
steps than the gate's so the whole comparison takes a minute or two. Prints each search's step table and
its conclusion, then one line per knob. The machine's load average is printed first: the service and the
generator share its cores, so a busy machine lowers every figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


def parse_knob(text: str) -> tuple[str, dict]:
    if text == "clean":
        return text, {}
    name, _, value = text.partition("=")
    return text, {name: float(value) if "." in value else int(value)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=float, default=3.0, help="seconds per step (warm-up: a third)")
    parser.add_argument("--max-rate", type=float, default=640.0)
    parser.add_argument("--knobs", nargs="+", default=["clean", "cpu_ms=10", "slow_ms=50"])
    args = parser.parse_args()

    from ivv.config import profile as profile_mod
    from ivv.config.gates import GateSet
    from ivv.load import capacity_record as capacity
    from ivv.load import suite as perf
    from ivv.stack.local import start_local

    gates = GateSet.load(["production-readiness"])
    shape = {"step_s": args.step, "warmup_s": round(args.step / 3, 2), "max_rate": args.max_rate,
             "bisect_steps": 3, "max_seconds": 60}
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}, {os.cpu_count()} cores; "
          f"search {shape}")
    minimum = gates.criterion(capacity.CRITERION).threshold
    found = {}
    with tempfile.TemporaryDirectory(prefix="ivv-capacity-") as tmp:
        for text in args.knobs:
            name, faults = parse_knob(text)
            stack = start_local(profile_mod.load(None), Path(tmp) / f"stack-{len(found)}", faults=faults)
            try:
                outcome = capacity.run(perf.endpoint_for(stack), gates, gates.setting("load"),
                                       {**gates.setting("capacity"), **shape}, Path(tmp) / f"run-{len(found)}",
                                       sample_interval_s=0.5)
            finally:
                stack.stop()
            table = capacity.table(capacity.steps_of(outcome))
            print(f"\n{name}")
            print("  " + " | ".join(table["columns"]))
            for row in table["rows"]:
                print("  " + " | ".join(str(c) for c in row))
            found[name] = capacity.conclusion(outcome, minimum)
            print(f"  -> {found[name].verdict}: {found[name].reason}")
    print()
    for name, c in found.items():
        upper = f"{c.upper:g}" if c.upper is not None else "-"
        print(f"{name:<14} capacity {c.form:<8} {c.value:>7g} req/s  (lowest failing {upper:>5})  {c.verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
