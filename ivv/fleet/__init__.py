"""Fleets: many devices in one gate run, each checked before it starts, decided together.

- `runner.py`: `ivv gate` over several devices: one pytest process per device at once (`--max-parallel`),
  their bundles merged into one fleet bundle (ivv.evidence.merge), as `ivv merge` does for runner hosts.
- `preflight.py`: the pre-run health check of a device (reachable, disk space, clock in sync, camera
  present, no lease held by another run); a device that fails it is left out, NOT VERIFIED.
- `plan.py`: which criteria each device can decide and which will be NOT VERIFIED and why (`ivv plan`).
- `plugin.py`: the pytest side: the health check before a device's first test, devices left out, and the
  suites a device marked not destructive never runs.
- `convergence.py`: `fleet.converged`: every device reports the same version within the gate's bound.
"""
