"""Fleet wall time: one `ivv gate` over two virtual devices against the same gate over one, side by side in
one run. Both use the fleet self-tests' short gate (ops.monitoring with short waits and the JSON-RPC
compliance matrix) and suites, so the figure is the cost of the second device, not of the suites.

    .venv/bin/python benchmarks/fleet.py [--devices 2]

Each device boots its own overlay of the cached image (built first if missing) inside the run, so boot
time is part of the figure, as it is for a user. Each guest has one virtual CPU, so under TCG two guests
fit on a 2-core host; a third device, or a host busy with other work, makes the ratio grow past 1x.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import fleet_support as fs  # noqa: E402  (the self-tests' short fleet gate and suites: one definition)


def gate_run(tmp: Path, names: list[str]) -> tuple[float, int, dict]:
    """Wall seconds, exit status and {device: ops.monitoring verdict} of one gate over `names`."""
    inventory = fs.inventory(tmp, [fs.vdevice(n) for n in names], name=f"inventory-{len(names)}.yaml")
    run_id = f"fleet-{len(names)}"
    started = time.monotonic()
    code, out = fs.run("gate", "--gate", fs.device_gate(tmp), "--inventory", inventory,
                       "--suites-dir", fs.device_suites(tmp), "--reports", tmp / "reports", "--run-id", run_id,
                       timeout=1800)
    seconds = time.monotonic() - started
    bundle = tmp / "reports" / run_id
    if not (bundle / "verdicts.json").exists():
        sys.exit(f"fleet benchmark: `ivv gate` over {names} wrote no verdicts (exit {code}):\n{out[-3000:]}")
    cells = fs.grid(bundle).get("ops.monitoring", {})
    manifest = json.loads((bundle / "manifest.json").read_text())
    return seconds, code, {"verdicts": cells, "devices_s": manifest.get("fleet", {}).get("devices_s")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2, help="devices in the fleet run (default 2)")
    args = parser.parse_args()
    print(f"host: {os.cpu_count()} cpus, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="ivv-fleet-bench-") as folder:
        tmp = Path(folder)
        one_s, one_code, one = gate_run(tmp, ["bench-a"])
        print(f"1 device : {one_s:7.1f} s wall, exit {one_code}, ops.monitoring {one['verdicts']}")
        many_s, many_code, many = gate_run(tmp, [f"bench-{chr(97 + i)}" for i in range(args.devices)])
        print(f"{args.devices} devices: {many_s:7.1f} s wall, exit {many_code}, ops.monitoring {many['verdicts']}, "
              f"per device {many['devices_s']}")
    print(f"ratio {args.devices} devices / 1 device: {many_s / one_s:.2f}x (1.00x would be perfectly parallel)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
