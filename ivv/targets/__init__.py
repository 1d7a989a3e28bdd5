"""Targets: where the stack runs. One module per kind, registered by the kind name the inventory uses.

- `base`: the Target interface (capabilities, CommandResult, `run`/`put`/`get`, power/reset/link), the
  kind registry (a kind is registered once).
- `local`: this machine; `ssh`: a device over SSH (one master connection); `qemu`: the virtual device;
  `endpoint`: a device reached over the network only.
- `facts`: device facts through testinfra (units, files, sockets) and the process table.
- `lease`: leases on shared devices, kept on the device and expiring by themselves.
- `hostcontrol`: power and network of a real device switched by commands on the harness host.
"""

from ivv.targets.base import CommandResult, Target, create_target, register_target, target_kinds

__all__ = ["CommandResult", "Target", "create_target", "register_target", "target_kinds"]
