"""Virtual device figures: image build (cold and cached), boot-to-ready, and a trivial SSH command on a
new versus a reused connection. Prints the figures (and the host load, which TCG timings depend on).

    .venv/bin/python benchmarks/vdevice_boot.py [--boots 3] [--ssh 10] [--cold]

--cold rebuilds the image from scratch into a temporary cache (about 2-3 minutes, needs root and the
Debian mirror); without it the cold figure is the build time recorded when the cached image was built.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time

from ivv.targets.qemu import QemuTarget
from ivv.vdevice.image import build_image
from ivv.vdevice.progress import Progress
from ivv.vdevice.recipe import load_recipe


def figures(values: list[float]) -> str:
    return (f"median {statistics.median(values):6.2f} s  min {min(values):6.2f} s  max {max(values):6.2f} s  "
            f"(n={len(values)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boots", type=int, default=3, help="boot-to-ready measurements (default 3)")
    parser.add_argument("--ssh", type=int, default=10, help="SSH command measurements of each kind (default 10)")
    parser.add_argument("--cold", action="store_true", help="really rebuild the image in a temporary cache")
    args = parser.parse_args()
    quiet = Progress(quiet=True)
    print(f"host: {os.cpu_count()} cpus, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    recipe = load_recipe()
    if args.cold:
        scratch = tempfile.mkdtemp(prefix="ivv-bench-cache-")
        saved = os.environ.get("IVV_CACHE")
        os.environ["IVV_CACHE"] = scratch
        try:
            started = time.monotonic()
            build_image(recipe, progress=Progress())
            print(f"image build, cold:   {time.monotonic() - started:7.1f} s (measured now)")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            if saved is None:
                os.environ.pop("IVV_CACHE")
            else:
                os.environ["IVV_CACHE"] = saved
    image = build_image(recipe, progress=Progress())
    meta = image.meta()
    if not args.cold:
        print(f"image build, cold:   {meta['build_seconds']:7.1f} s (recorded when the cached image was built "
              f"{meta['built']})")
    started = time.monotonic()
    build_image(recipe, progress=quiet)
    print(f"image build, cached: {time.monotonic() - started:7.3f} s (recipe key {recipe.key[:12]}, "
          f"{meta['disk_bytes_allocated'] / 2**30:.2f} GiB allocated)")

    boots, power_cycles, resets, first, reused = [], [], [], [], []
    for index in range(args.boots):
        target = QemuTarget(name=f"bench-{index}", quiet=True)
        try:
            boots.append(target.start())
            print(f"  boot {index + 1}: {boots[-1]:.1f} s to ready", flush=True)
            if index == 0:
                assert target.ssh is not None
                for _ in range(args.ssh):
                    target.ssh.drop_connection()
                    first.append(target.run("true").duration)
                target.run("true")
                for _ in range(args.ssh):
                    reused.append(target.run("true").duration)
                power_cycles.append(target.power_cycle())
                resets.append(target.reset())
                accel = target.machine.accel if target.machine else "?"
        finally:
            target.close()
    print(f"boot to ready ({accel}):  {figures(boots)}")
    print(f"power cycle to ready: {figures(power_cycles)}")
    print(f"reset to ready:       {figures(resets)}")
    print(f"ssh 'true', new connection:    {figures(first)}")
    print(f"ssh 'true', reused connection: {figures(reused)}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
