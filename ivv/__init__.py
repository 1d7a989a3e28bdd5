"""ivv: turn measurements on a device into a gate-review report that cannot claim more than was measured.

One package per concept, evidence flowing one way (measure -> record -> derive -> render):
- `config/`: the one YAML loader and schemas; gates, waivers, inventory, stack profile.
- `targets/`: where a stack runs (local, ssh, qemu, endpoint), device facts, leases on shared devices.
- `vdevice/`: the virtual device (image, QEMU machine, QMP).
- `stack/`: the Stack interface (capabilities, components, the API it speaks) and its kinds.
- `ops/`: timed deployment operations and the facts that judge them; runbook; the device journal.
- `health/`: the one readiness rule and the health scenarios; `rpc/`: the JSON-RPC client, tokens, TLS;
  `contract/`: contract checks and fuzzing; `security/`: attacks from outside; `load/`: load and resources.
- `evidence/`: facts, records, the hash-chained journal, thresholds, verdicts, the bundle, redaction.
- `report/`: the gate review rendered from a bundle alone (Markdown, HTML, PDF); `pytestplugin/`: the
  pytest plugin; `fixtures/` (the repository's fixtures/): the shared fixtures; `commands/`: the CLI.
- Modules: `cli` (the `ivv` command), `errors` (one exception per domain), `resources` (shipped files,
  installed or in the checkout), `poll` (the one poller), `http` (the one HTTP GET), `clock` (clock
  offsets between this machine and a device).
"""

__version__ = "0.1.0"
