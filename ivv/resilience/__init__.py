"""Resilience: power cuts, link loss and crashes in the middle of upgrade and rollback, and recovery
measured down to the first camera frame.

- `claim`: what n trials support (the rule of three) and whether the gate's required failure rate is met.
- `plan`: cut points: every boundary an operation shows, and K random points from a recorded seed.
- `manifest`: which release an install tree is, against every release's file manifest.
- `device_runner`: the script run on the device (standard library only): an operation's commands,
  detached, its boundaries as events, frozen at a cut point.
- `runner`: the harness side of that run (`Device`, `DetachedRun`).
"""
