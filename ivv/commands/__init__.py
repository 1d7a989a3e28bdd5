"""Subcommands of `ivv`; each module offers `add_parser(subparsers)` and sets `func` on its parser.

- `gate`: run the suites against targets and decide the gates (exit statuses: ivv.evidence.verdict).
- `endpoint`: `ivv gate --endpoint/--health/--contract` for a service ivv did not deploy.
- `report`: render a bundle again (verified first; `--pdf`).
- `init`: scaffold a team's own project (profile, contract, inventory, gate, tox env).
- `profile`: write a starting profile from a running service, or check one.
- `device`: build, boot and inspect the virtual device; facts of any target; leases of shared devices.
- `stack`: build the reference stack's release archives, run it as local processes.
- `load`: a load run outside a gate.
- `merge`: `ivv merge BUNDLE...`: device bundles (a fleet run, or several runner hosts) into one.
- `plan`: `ivv plan`: per device, the criteria it can decide and why the others will be NOT VERIFIED.
- `compare`: `ivv compare RUN --baseline ...`: per-criterion deltas against a baseline run.
- `trend`: `ivv trend FOLDER`: each figure over a folder's verified history, plotted.
- `resilience`: `ivv resilience replay BUNDLE [CRITERION#TRIAL]`: one recorded trial again.
"""
