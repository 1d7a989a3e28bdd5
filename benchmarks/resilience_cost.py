"""Resilience trial costs on the virtual device: seconds per power-cut trial (cut to ready, cut to the
first frame, the whole trial), per crash trial, and what a snapshot restore saves against boot plus
install. Prints the host load too (TCG timings follow it).

    .venv/bin/python benchmarks/resilience_cost.py [--cuts 2] [--crashes 2]

Runs under the machine-wide VM lock when called by hand: flock /work/vdevice.lock .venv/bin/python ...
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from ivv.fixtures.stack import ensure_deployed

from ivv.config import profile as profile_mod
from ivv.config.gates import GateSet, load_gate
from ivv.resilience.campaign import Campaign
from ivv.resilience.plan import CutPoint
from ivv.targets.qemu import QemuTarget

GATE = Path(__file__).resolve().parent.parent / "deployment" / "gates" / "resilience.yaml"


def figures(values: list[float]) -> str:
    if not values:
        return "not measured"
    return f"median {statistics.median(values):7.1f} s  min {min(values):7.1f} s  max {max(values):7.1f} s  (n={len(values)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cuts", type=int, default=2, help="power-cut trials of the upgrade (default 2)")
    parser.add_argument("--crashes", type=int, default=2, help="crash trials of the service (default 2)")
    args = parser.parse_args()
    print(f"host: {os.cpu_count()} cpus, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    folder = Path(tempfile.mkdtemp(prefix="ivv-res-bench-"))
    data = yaml.safe_load(GATE.read_text())
    data["settings"]["resilience"].update({"crash": {"trials": args.crashes}})
    (folder / "gate.yaml").write_text(yaml.safe_dump(data))
    gates = GateSet([load_gate(folder / "gate.yaml")])
    target = QemuTarget(name="bench", quiet=True)
    try:
        boot = target.start()
        profile = profile_mod.load()
        started = time.monotonic()
        stack = ensure_deployed(target, profile)
        install = time.monotonic() - started
        campaign = Campaign(stack, gates)
        started = time.monotonic()
        campaign.checkpoints.ensure("N")
        build = time.monotonic() - started
        cuts = campaign.power_cuts("upgrade", "res.power_cut_upgrade",
                                   [CutPoint.at_boundary("phase:switch")] * args.cuts)
        crashes = campaign.crashes("res.crash_recovery", ("service",))
        restores = [t.restored["seconds"] for t in cuts if t.restored]

        def timing(trials, name):
            return [t.timings[name] for t in trials if isinstance(t.timings.get(name), (int, float))]

        print(f"boot to ready:                       {boot:7.1f} s")
        print(f"install of the current release:      {install:7.1f} s")
        print(f"state N built once (install, data):  {build:7.1f} s")
        print(f"snapshot restore before a trial:     {figures(restores)}")
        print(f"power cut to ready:                  {figures(timing(cuts, 'power cut to ready'))}")
        print(f"power cut to the first valid frame:  {figures(timing(cuts, 'the power cut to the first valid frame'))}")
        print(f"re-run of the upgrade (converge):    {figures(timing(cuts, 'converge_s'))}")
        print(f"kill -9 of the service to ready:     {figures(timing(crashes, 'kill -9 of service to ready'))}")
        print(f"baseline per trial without snapshots (boot + install): {boot + install:7.1f} s; "
              f"with them: {statistics.median(restores) if restores else float('nan'):.1f} s")
        for trial in cuts:
            passed = trial.passed_for("res.power_cut_upgrade")
            print(f"  trial {trial.number}: {'PASS' if passed else 'FAIL' if passed is False else 'not decided'}"
                  f" {'; '.join(trial.failures('res.power_cut_upgrade'))}")
        campaign.finish()
    finally:
        target.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
