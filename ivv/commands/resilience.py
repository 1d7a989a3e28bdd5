"""`ivv resilience replay BUNDLE [CRITERION#TRIAL]`: run one recorded resilience trial again.

Without a trial, lists the bundle's recorded trials. With one, finds its spec in the bundle's evidence,
boots or reaches the target (the recorded command line's inventory and target unless given), and runs
that trial alone with the bundle's gate copies; prints what it saw. Exit status: 0 the trial passes, 1 it
fails, 2 it could not decide or the harness could not run.
"""

from __future__ import annotations

import argparse
import json

from ivv.config import profile as profile_mod
from ivv.config.inventory import load_inventory
from ivv.evidence.bundle import Bundle
from ivv.resilience.replay import command_defaults, find_trial, parse_ref, recorded_trials


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("resilience", help="replay one recorded resilience trial",
                                   description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="resilience_command", required=True)
    replay = sub.add_parser("replay", help="run one trial of a run bundle again (or list them)")
    replay.add_argument("bundle", help="the run bundle (reports/<run-id>)")
    replay.add_argument("trial", nargs="?", help="CRITERION#NUMBER, e.g. res.power_cut_upgrade#3")
    replay.add_argument("--inventory", default=None, metavar="FILE")
    replay.add_argument("--target", default=None, metavar="NAME")
    replay.add_argument("--profile", default=None, metavar="FILE")
    replay.add_argument("--destructive", action="store_true", help="allow destructive trials on a real device")
    replay.set_defaults(func=run_replay)
    return parser


def run_replay(args) -> int:
    bundle = Bundle.load(args.bundle)
    records = bundle.records()
    if not args.trial:
        for trial in recorded_trials(records):
            outcome = {True: "PASS", False: "FAIL", None: "not decided"}[trial["passed"]]
            print(f"{trial['criterion']}#{trial['trial']}  {outcome:11}  {trial['point']}")
        return 0
    criterion, number = parse_ref(args.trial)
    found = find_trial(records, criterion, number)
    defaults = command_defaults(bundle.manifest)
    inventory = load_inventory(args.inventory or defaults["inventory"])
    name = args.target or defaults["target"] or inventory.names()[0]
    print(f"replaying {criterion}#{number} ({found['point']}) on {name}: {json.dumps(found['spec'], sort_keys=True)}")
    from ivv.fixtures.stack import ensure_deployed
    from ivv.resilience.campaign import Campaign

    target = inventory.create(name)
    try:
        if getattr(target, "start", None):
            target.start()
        stack = ensure_deployed(target, profile_mod.load(args.profile or defaults["profile"]))
        campaign = Campaign(stack, bundle.gates, seed=found["spec"].get("seed"), opted_in=args.destructive)
        allowed, why = campaign.destructive()
        if found["spec"]["kind"] in ("power_cut", "disk_full", "camera_loss") and not allowed:
            print(f"not run: {why}")
            return 2
        campaign.begin()
        trial = campaign.replay(found["spec"], criterion)
        summary = trial.summary(criterion)
        print(json.dumps(summary, indent=2, sort_keys=True, default=str))
        campaign.finish()
    finally:
        target.close()
    passed = trial.passed_for(criterion)
    print({True: "PASS", False: "FAIL", None: "NOT VERIFIED"}[passed] + f": {criterion}#{number} replayed")
    return {True: 0, False: 1, None: 2}[passed]
