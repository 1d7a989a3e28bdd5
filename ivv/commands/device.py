"""`ivv device build | up | down | status | ssh | facts`: the virtual device by hand, and any target's facts."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

from ivv.config.inventory import load_inventory
from ivv.errors import ConfigError, TargetUnreachable
from ivv.targets.ssh import SshTarget
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


def _ssh_target(device: dict) -> SshTarget:
    return SshTarget(name=device["name"], host="127.0.0.1", port=int(device["ssh_port"]), user=device["user"],
                     key=device["key"], connect_timeout=5, host_key_checking="off")


def cmd_ssh(args) -> int:
    devices = _select([args.name] if args.name else [])
    if len(devices) != 1:
        names = ", ".join(d["name"] for d in devices) or "none"
        raise TargetUnreachable(f"pick one running virtual device with --name (running: {names}); ivv device up starts one")
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    target = _ssh_target(devices[0])
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
    names = inventory.select(args.target)
    running = {d["name"]: d for d in running_devices()}
    report = {}
    for name in names:
        entry = inventory.entry(name)
        if entry["kind"] == "qemu" and name in running:
            target = _ssh_target(running[name])
            facts = {**target.facts(), "kind": "qemu", "accel": running[name]["accel"]}
        else:
            target = inventory.create(name)
            facts = target.facts()
        target.close()
        report[name] = facts
    print(json.dumps(report if len(report) > 1 else next(iter(report.values())), indent=2, default=str))
    return 0
