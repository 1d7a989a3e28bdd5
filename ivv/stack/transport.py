"""The API served with TLS for the transport check, however the stack runs.

`stack.serving_tls(folder)` (a context manager) yields where the TLS API answers and what the checking client trusts:
- a stack ivv deployed: the environment `ivv.rpc.tls.transport_plan` names (production), deployed for the
  check when the device runs another, with a certificate from a CA made for the run placed first when
  the inventory says `tls.lab_ca`; the device's own environment is deployed again afterwards;
- a local process tree: a copy started with TLS on and a lab-issued certificate for 127.0.0.1;
- a service ivv did not deploy: as it runs, judged only when it is reached over wss://.
A plan that cannot check anything raises CapabilityMissing with its reason (NOT VERIFIED).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ivv.errors import CapabilityMissing, StackError
from ivv.rpc.tls import LabCa, Trust, provision, transport_plan
from ivv.stack.base import Capability


@dataclass
class TlsServing:
    """Where the API answers with TLS on, what the client trusts, and what the harness did to get there."""

    host: str
    port: int
    path: str
    trust: Trust
    environment: str
    credentials: object
    setup: dict = field(default_factory=dict)
    deploy_error: str | None = None   # the TLS environment did not deploy or never became ready

    @property
    def url(self) -> str:
        return f"wss://{self.host}:{self.port}{self.path}"


@contextlib.contextmanager
def planned(stack, folder: Path) -> Iterator[TlsServing]:
    """A stack on a target: the environment the transport plan names, deployed for the check if needed."""
    plan = transport_plan(stack.profile, stack.target)
    if plan.environment is None:
        raise CapabilityMissing(plan.reason)
    lab = LabCa(folder) if plan.lab_ca else None
    host, port = stack.address("rpc")
    trust = Trust.for_target(stack.target, host, lab)
    serving = TlsServing(host, port, stack.profile.rpc["path"], trust, plan.environment, stack.credentials())
    if not plan.redeploy:
        yield serving
        return
    stack.require(Capability.DEPLOY)
    version = stack.installed_version() or stack.profile.deployment["current"]
    try:
        if lab is not None:
            serving.setup["certificate placed"] = provision(stack.target, stack.profile, *lab.issue(trust.server_name))
            serving.setup["certificate placed"]["issued for"] = trust.server_name
        op = stack.operation("install", version, plan.environment)
        serving.setup["deployed"] = {"environment": plan.environment, "from": plan.current, "ready": op.ready,
                                     "seconds": op.total_s}
        if not (op.succeeded and op.ready):
            step = op.failed_step
            serving.deploy_error = (f"`{step.command}` exited {step.exit_status}: {step.stderr_tail[-300:]}" if step
                                    else f"not ready within {stack.ready_timeout_s:.0f} s: {op.ready_observation}")
        serving.credentials = stack.credentials()
        yield serving
    finally:
        if plan.environment != plan.current:
            back = stack.operation("install", version, plan.current)
            if not (back.succeeded and back.ready):
                raise StackError(f"{stack.target.name}: could not deploy its own {plan.current} environment again "
                                 f"after the transport check: {back.failed_step or back.ready_observation}")


@contextlib.contextmanager
def local_copy(stack, folder: Path) -> Iterator[TlsServing]:
    """A local stack like `stack` with TLS on and a certificate the run's lab CA issued for its address."""
    from ivv.stack.local import COMPONENTS, enable_tls, prepare_local

    copy = prepare_local(stack.profile, folder, faults=stack.faults)
    lab = LabCa(folder)
    enable_tls(copy, *lab.write_pair(copy.host))
    try:
        for name in COMPONENTS:
            copy.start_component(name)
        copy.ensure_ready(30)
        yield TlsServing(copy.host, copy.rpc_port, stack.profile.rpc["path"], Trust.for_target(stack.target, copy.host, lab),
                         "local+tls", copy.credentials(),
                         {"certificate placed": {"issued for": copy.host, "by": "lab CA made for this run"}})
    finally:
        copy.stop()
