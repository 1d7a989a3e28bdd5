"""Resilience: power cuts, link loss and crashes in the middle of upgrade and rollback, and recovery
measured down to the first camera frame.

- `claim`: what n trials support (the rule of three) and whether the gate's required failure rate is met.
- `plan`: cut points: every boundary an operation shows, and K random points from a recorded seed.
- `manifest`: which release an install tree is, against every release's file manifest.
- `device_runner`: the script run on the device (standard library only): an operation's commands,
  detached, its boundaries as events, frozen at a cut point.
- `runner`: the harness side of that run (`Device`, `DetachedRun`).
- `power`: how a power cut is made on a target, and whether destructive tests may run there.
- `subject`: the stack under test and the facts a trial reads from the device.
- `states`: the device states trials start from, made once and put back before every trial.
- `campaign`: one resilience run on one stack (subject, checkpoints, limits, seed, trials).
- `frames`: a camera frame judged, the time to the first valid one, whether a recording plays.
- `triggers`: the stack's declared rollback triggers, provoked, and the rollback they must cause.
- `summary`: the report's resilience part, from the bundle alone.
- `replay`: one recorded trial run again from its bundle.
"""
