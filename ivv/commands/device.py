"""`ivv device build | up | down | status | ssh | facts`: the virtual device by hand, and any target's facts."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

from ivv.config.inventory import load_inventory
from ivv.errors import ConfigError, IvvError, TargetUnreachable
from ivv.targets.base import target_kinds
from ivv.targets.lease import Lease
from ivv.targets.qemu import attached
from ivv.vdevice.image import build_image, cached_image
from ivv.vdevice.machine import running_devices
from ivv.vdevice.progress import Progress
from ivv.vdevice.recipe import load_recipe
from ivv.vdevice.watchdog import end_qemu


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("device", help="build, boot and inspect the virtual device; facts of any target")
    sub = parser.add_subparsers(dest="device_command", required=True)

    build = sub.add_parser("build", help="build the virtual device image (cached by recipe hash)")
    build.add_argument("--recipe", help="image recipe folder (default deployment/vdevice)")
    build.add_argument("--force", action="store_true", help="rebuild even when a cached image matches")
    build.set_defaults(func=cmd_build)

    up = sub.add_parser("up", help="boot a virtual device and leave it running (ended after --ttl)")
    up.add_argument("--name", default="vdevice")
    up.add_argument("--recipe")
    up.add_argument("--ttl", type=float, default=4 * 3600, help="seconds before the device is ended (default 4 h)")
    up.add_argument("--memory-mb", type=int, default=1024)
    up.add_argument("--cpus", type=int, default=2)
    up.add_argument("--accel", choices=("auto", "tcg", "kvm"))
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="power off running virtual devices (all, or those named)")
    down.add_argument("names", nargs="*")
    down.set_defaults(func=cmd_down)

    status = sub.add_parser("status", help="list running virtual devices and the cached image")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    ssh = sub.add_parser("ssh", help="open a shell (or run a command) on a running virtual device")
    ssh.add_argument("--name", default=None, help="device name (default: the only running one)")
    ssh.add_argument("command", nargs=argparse.REMAINDER, help="command to run instead of a shell")
    ssh.set_defaults(func=cmd_ssh)

    facts = sub.add_parser("facts", help="facts of an inventory target (boots a virtual device if needed)")
    facts.add_argument("--inventory", help="inventory YAML (default deployment/inventory/vdevice.yaml)")
    facts.add_argument("--target", help="target name (default: every target in the inventory)", action="append")
    facts.set_defaults(func=cmd_facts)

    leases = sub.add_parser("leases", help="who holds each shared (ssh) device of an inventory, and until when")
    leases.add_argument("--inventory", help="inventory YAML (default deployment/inventory/vdevice.yaml)")
    leases.set_defaults(func=cmd_leases)


def cmd_build(args) -> int:
    image = build_image(load_recipe(args.recipe), progress=Progress(), force=args.force)
    print(json.dumps({"image": str(image.directory), **image.meta()}, indent=2))
    return 0


def cmd_up(args) -> int:
    from ivv.targets.qemu import QemuTarget

    target = QemuTarget(name=args.name, recipe=args.recipe, memory_mb=args.memory_mb, cpus=args.cpus,
                        accel=args.accel, ttl=args.ttl, owned=False)
    if any(d["name"] == args.name for d in running_devices()):
        raise ConfigError(f"a virtual device named {args.name} is already running (ivv device status)")
    seconds = target.start()
    assert target.ssh is not None and target.machine is not None
    target.ssh.close()
    print(f"{args.name}: ready in {seconds:.1f} s ({target.machine.accel}); "
          f"ssh: ivv device ssh --name {args.name}  (port {target.machine.ssh_port}); "
          f"ends by itself in {args.ttl / 3600:.1f} h or with: ivv device down {args.name}")
    return 0


def _select(names: list[str]) -> list[dict]:
    devices = running_devices()
    return [d for d in devices if not names or d["name"] in names]


def cmd_down(args) -> int:
    devices = _select(args.names)
    if not devices:
        print("no running virtual device" + (f" named {', '.join(args.names)}" if args.names else ""))
        return 0 if not args.names else 1
    for device in devices:
        end_qemu(int(device["pid"]), os.path.join(device["run_dir"], "qmp.sock"))
        shutil.rmtree(device["run_dir"], ignore_errors=True)
        print(f"{device['name']}: powered off (pid {device['pid']})")
    return 0


def cmd_status(args) -> int:
    devices = running_devices()
    image = cached_image(load_recipe())
    if args.json:
        print(json.dumps({"image": str(image.directory) if image else None, "devices": devices}, indent=2))
        return 0
    print(f"image: {image.directory if image else 'not built (ivv device build)'}")
    if not devices:
        print("no running virtual device")
    for d in devices:
        left = (d.get("deadline") or 0) - time.time()
        print(f"{d['name']}: pid {d['pid']}, ssh 127.0.0.1:{d['ssh_port']}, accel {d['accel']}, "
              f"forwards {d['forwards']}, lease {left / 60:.0f} min left, console {d['console_log']}")
    return 0


def cmd_ssh(args) -> int:
    devices = _select([args.name] if args.name else [])
    if len(devices) != 1:
        names = ", ".join(d["name"] for d in devices) or "none"
        raise TargetUnreachable(f"pick one running virtual device with --name (running: {names}); ivv device up starts one")
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    target = attached(devices[0])
    argv = target.ssh_argv(*command, tty=not command and sys.stdin.isatty())
    os.execvp(argv[0], _without_control(argv))
    return 0


def _without_control(argv: list[str]) -> list[str]:
    """An interactive session does not need (or leave behind) a master connection."""
    out: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "-o" and i + 1 < len(argv) and argv[i + 1].startswith("Control"):
            skip = True
            continue
        out.append(arg)
    return out


def cmd_facts(args) -> int:
    inventory = load_inventory(args.inventory)
    report = {}
    for name in inventory.select(args.target):
        target = inventory.create(name)
        try:
            report[name] = target.inspect()
        finally:
            target.close()
    print(json.dumps(report if len(report) > 1 else next(iter(report.values())), indent=2, default=str))
    return 0


def cmd_leases(args) -> int:
    """Who holds each shared device of the inventory, until when (the device's own clock)."""
    inventory = load_inventory(args.inventory)
    shared = [n for n in inventory.names() if target_kinds()[inventory.entry(n)["kind"]].shared]
    if not shared:
        print(f"{inventory.path}: no shared device (ssh targets take leases; this machine and virtual devices "
              "belong to the run that uses them)")
        return 0
    for name in shared:
        target = inventory.create(name)
        try:
            lease = Lease(target, "ivv-device-leases")
            info, now = lease.read(), lease.device_now()
        except IvvError as exc:
            print(f"{name}: not reachable ({exc})")
            continue
        finally:
            target.close()
        if info is None:
            print(f"{name}: free")
        else:
            left = info.expires - (now or info.expires)
            state = f"expires in {left:.0f} s" if left > 0 else f"EXPIRED {-left:.0f} s ago (the next run takes over)"
            print(f"{name}: leased by run {info.run_id} ({info.holder}@{info.host}, pid {info.pid}), {state}"
                  + (f", took over from {info.taken_over_from}" if info.taken_over_from else ""))
    return 0
