"""`ivv plan`: before a long run, which criteria each device can decide, and which will be NOT VERIFIED
there and why (no power control, no shell, not destructive, failed its pre-run health check).

Devices that can be reached now (ssh, local, endpoint) get their pre-run health check at once, the lease
only read, never taken; a virtual device is checked by the run after it boots. The plan predicts from
what the device and its stack can do (ivv.fleet.plan); the run still decides, and records a gap for
anything it could not measure. Exit status 0; with --check, 1 when some mandatory criterion will be NOT
VERIFIED on some device, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json

from ivv.config import profile as profile_lib
from ivv.config.gates import SHIPPED, GateSet
from ivv.config.inventory import load_inventory
from ivv.errors import IvvError
from ivv.evidence.verdict import ExitStatus
from ivv.fleet import plan, preflight


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("plan", help="which criteria each device can decide, before a run",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--gate", action="append", default=[], metavar="GATE",
                        help=f"gate file or name (repeatable; default: {', '.join(SHIPPED)})")
    parser.add_argument("--inventory", default=None, metavar="FILE", help="inventory YAML")
    parser.add_argument("--target", action="append", default=[], metavar="NAME", help="inventory target (repeatable)")
    parser.add_argument("--profile", default=None, metavar="FILE", help="stack profile YAML")
    parser.add_argument("--no-preflight", action="store_true", help="do not contact the devices")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a mandatory criterion will be NOT VERIFIED on some device")
    parser.set_defaults(func=run)
    return parser


def device_plan(inventory, name: str, profile, gates, contact: bool) -> plan.DevicePlan:
    target = inventory.create(name)
    try:
        checked = None
        if contact and getattr(target, "start", None) is None:
            checked = preflight.check(target, profile, gates, peek=True).as_dict()
        result = plan.plan_device(target, profile, gates, inventory.destructive(name), checked)
    finally:
        target.close()
    if checked is None:
        result.preflight = {"ok": None, "reason": None, "checks": [], "note": "checked by the run after the "
                            "device boots" if contact else "not contacted (--no-preflight)"}
    return result


def _print(plans: list[plan.DevicePlan], gates) -> None:
    for device in plans:
        total = len(gates.criteria)
        print(f"{device.target} ({device.kind}; device can: {', '.join(device.capabilities) or 'nothing'}; "
              f"stack can: {', '.join(device.stack_capabilities) or 'nothing'}; "
              f"{'destructive' if device.destructive else 'not destructive'})")
        pre = device.preflight or {}
        if pre.get("note"):
            print(f"  pre-run health check: {pre['note']}")
        else:
            print(f"  pre-run health check: {'passed' if pre.get('ok') else 'FAILED: left out of the run'}")
            for c in pre.get("checks", []):
                state = "ok" if c["ok"] else "does not apply" if c["ok"] is None else "FAILED"
                print(f"    {c['name']:<9} {state:<14} {c['observed']}" + (f" (needs {c['required']})" if c["required"] else ""))
        print(f"  can decide {len(device.decides)} of {total}: {', '.join(device.decides) or 'none'}")
        by_reason: dict[str, list[str]] = {}
        for cid, why in device.not_verified.items():
            by_reason.setdefault(why, []).append(cid)
        for why, ids in by_reason.items():
            print(f"  NOT VERIFIED {', '.join(ids)}: {why}")


def run(args: argparse.Namespace) -> int:
    gates = GateSet.load(args.gate or SHIPPED)
    profile = profile_lib.load(args.profile)
    inventory = load_inventory(args.inventory)
    plans = []
    for name in inventory.select(args.target):
        try:
            plans.append(device_plan(inventory, name, profile, gates, not args.no_preflight))
        except IvvError as exc:
            failed = preflight.unreachable(name, exc).as_dict()
            plans.append(plan.DevicePlan(name, inventory.entry(name)["kind"], [], [], inventory.destructive(name),
                                         not_verified={c.id: f"left out: {failed['reason']}" for c in gates.criteria},
                                         preflight=failed))
    if args.json:
        print(json.dumps([p.as_dict() for p in plans], indent=2, sort_keys=True))
    else:
        _print(plans, gates)
    mandatory = {c.id for c in gates.criteria if c.mandatory}
    short = any(set(p.not_verified) & mandatory for p in plans)
    return ExitStatus.HOLD if args.check and short else ExitStatus.PROCEED
