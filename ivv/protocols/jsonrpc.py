"""JSON-RPC 2.0 over WebSocket (`api.kind: jsonrpc-ws`, the default): the contract is an OpenRPC
document, the checks run through one `ivv.contract.probe.Probe` per session and stack (so values a method
returned feed the calls of the next check), and every call logs in with the profile's `auth.login`.
"""

from __future__ import annotations

from ivv.contract import document as contract_lib
from ivv.contract.authmatrix import auth_failures, auth_grid, auth_matrix, credential_kinds
from ivv.contract.boundary import boundary_pass
from ivv.contract.compliance import compliance_matrix
from ivv.contract.conformance import conformance
from ivv.contract.drift import drift
from ivv.contract.fuzz import fuzz
from ivv.contract.fuzzcases import CANARY
from ivv.contract.probe import Probe
from ivv.errors import ProfileError
from ivv.protocols.base import CheckResult, Matrix, Protocol, register_protocol
from ivv.stack.base import Capability


def load_contract(profile) -> contract_lib.Contract:
    if profile.contract_path is None:
        raise ProfileError(f"{profile.path}: no `contract` file: the contract suite has nothing to check against")
    return contract_lib.load(profile.contract_path)


def probe_for(stack, contract, credentials, timeout: float = 5.0) -> Probe:
    """The contract checks' probe of a stack: its API, and recovery where the stack can restart."""
    api = stack.api

    def recover() -> None:
        if stack.can(Capability.CONTROL):
            stack.restart()
        else:
            stack.wait_ready(30)

    canaries = (lambda: stack.canaries(CANARY)) if stack.can(Capability.FILES) else None
    return Probe(api.url, contract, credentials, timeout=timeout, client_options=api.client_options,
                 alive=stack.alive, recover=recover, canaries=canaries, auth_method=api.login_method,
                 auth_param=api.login_param)


@register_protocol
class JsonRpcWs(Protocol):
    kind = "jsonrpc-ws"
    schemes = ("ws", "wss")
    offers = frozenset({"conformance", "drift", "jsonrpc_compliance", "fuzz", "boundaries", "auth_matrix",
                        "notifications", "transport_tls", "surface"})

    def __init__(self, stack, setting):
        super().__init__(stack, setting)
        self._probe: Probe | None = None

    @classmethod
    def connect(cls, endpoint, timeout: float = 10.0, **options):
        from ivv.rpc.client import RpcClient

        return RpcClient(endpoint.url, timeout=timeout, **{**endpoint.client_options, **options}).connect()

    @property
    def probe(self) -> Probe:
        """The session's probe, with the current test's credentials."""
        if self._probe is None:
            self._probe = probe_for(self.stack, load_contract(self.stack.profile), self.stack.credentials(),
                                    float(self.setting("call_timeout_s", 5)))
        if self.credentials is not None:
            self._probe.credentials = self.credentials
        return self._probe

    def write_data(self, device: str) -> list[dict]:
        """One snapshot and one short recording, as an operator (ivv.ops.apidata)."""
        from ivv.ops.apidata import write_data_via_api

        with self.stack.client("operator", timeout=60) as client:
            return write_data_via_api(client, device)

    def conformance(self) -> CheckResult:
        result = conformance(self.probe, generated=int(self.setting("conformance_examples", 5)),
                             extra_names=tuple(self.setting("probe_methods", [])))
        facts = result.facts()
        problems = [f"{v['method']} {v['path']}: {v['rule']}" for v in result.violations[:5]]
        return CheckResult([Matrix("method conformance", result.rows, "conformance-exchanges.txt",
                                   ("method", "expected", "observed", "verdict"))], facts, problems)

    def drift(self) -> CheckResult:
        rows = drift(self.probe.contract, self.probe.observed)
        return CheckResult([Matrix("drift: documented vs observed", rows, "drift.txt",
                                   ("item", "documented", "observed", "verdict"))])

    def compliance(self) -> CheckResult:
        rows = compliance_matrix(self.probe, silence=float(self.setting("notification_silence_s", 1.0)))
        return CheckResult([Matrix("JSON-RPC 2.0 compliance matrix", rows, "compliance-exchanges.txt")])

    def fuzz(self) -> CheckResult:
        report = fuzz(self.probe, max_examples=int(self.setting("fuzz_examples", 50)),
                      seconds=float(self.setting("fuzz_seconds", 60)),
                      call_timeout=float(self.setting("fuzz_call_timeout_s", 5)),
                      shrink_seconds=float(self.setting("fuzz_shrink_seconds", 30)),
                      methods=self.setting("fuzz_methods", None),
                      fs_snapshot=lambda: self.stack.fs_snapshot(CANARY))
        problems = [f"{f.method} {f.kind}: {f.frame[:200]}" for f in report.failures]
        return CheckResult(facts=report.facts(), problems=problems)

    def boundaries(self) -> CheckResult:
        rows = boundary_pass(self.probe, methods=self.setting("fuzz_methods", None))
        return CheckResult([Matrix("param boundaries (each constraint from both sides)", rows,
                                   "boundary-exchanges.txt", ("param constraint", "expected", "observed", "verdict"))])

    def auth_matrix(self) -> CheckResult:
        probe = self.probe
        rows = auth_matrix(probe)
        grid = auth_grid(rows, probe.contract, credential_kinds(probe.credentials))
        failed = auth_failures(rows)
        return CheckResult([Matrix("auth and roles matrix", rows, "auth-exchanges.txt", grid=grid)],
                           problems=failed and ["auth matrix failures:\n" + "\n".join(failed)])
