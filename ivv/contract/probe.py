"""How the contract checks reach a service: `Probe` (fresh connections, roles, a bounded wait on a
documented rate limit, recovery), `Observed` (what the service was seen doing, for drift and for real
param values) and `harvest` (call the read-only methods first so later calls use real values)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ivv.contract.document import Contract
from ivv.rpc.auth import Credentials
from ivv.rpc.client import Reply, RpcClient, RpcConnectionLost, RpcError, RpcTimeout
from ivv.rpc.refusals import RATE, refusals


@dataclass
class Observed:
    """What the service was seen doing: codes per method, result fields per method, methods present."""

    codes: dict[str, set[int]] = field(default_factory=dict)
    fields: dict[str, set[str]] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)
    absent: set[str] = field(default_factory=set)
    extra: set[str] = field(default_factory=set)
    notifications: dict[str, set[str]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)  # param name -> a value the service returned
    sources: dict[str, dict[str, list]] = field(default_factory=dict)  # key -> {method: values it returned}

    def note(self, method: str, frame: Any) -> None:
        if not isinstance(frame, dict):
            return
        err = frame.get("error")
        if isinstance(err, dict) and isinstance(err.get("code"), int):
            self.codes.setdefault(method, set()).add(err["code"])
        elif "result" in frame:
            self.present.add(method)
            res = frame["result"]
            if isinstance(res, dict):
                self.fields.setdefault(method, set()).update(res)
            said: dict[str, list] = {}
            self._harvest(res, said)
            for key, values in said.items():  # what a method said last replaces what it said of that key before
                self.values.setdefault(key, values[0])
                self.sources.setdefault(key, {})[method] = values

    def _harvest(self, value: Any, said: dict[str, list], depth: int = 0) -> None:
        """Collect values by key (filename, device...) from a result, so later calls can use real ones
        (a recording's filename for get_recording_info)."""
        if depth > 4:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, str | int) and not isinstance(v, bool):
                    if v not in said.setdefault(k, []):
                        said[k].append(v)
                else:
                    self._harvest(v, said, depth + 1)
        elif isinstance(value, list):
            for v in value[:3]:
                self._harvest(v, said, depth + 1)

    def value_for(self, name: str, method: str) -> list[Any]:
        """Candidate values for param ``name`` of ``method``, best first: from methods sharing words with
        it (recordings ~ recording), and among those from a listing (list_*, get_*), which shows the thing
        exists, before one returned by the call that made it."""
        def words(text: str) -> set[str]:
            return {w.rstrip("s") for w in text.split("_")}
        mine = words(method)
        by_source = self.sources.get(name, {})
        ranked = sorted(by_source.items(), key=lambda kv: (-len(mine & words(kv[0])),
                                                           not kv[0].startswith(("list_", "get_"))))
        return list(dict.fromkeys(v for _, values in ranked for v in values))


@dataclass
class Probe:
    """How the checks reach the service.

    Args:
        url: the JSON-RPC WebSocket URL.
        contract: the loaded contract.
        credentials: to mint tokens per role.
        timeout: per-call timeout (s).
        client_options: passed to RpcClient (verify_tls, ca_file).
        alive: returns True when the service is up (health endpoint); default: a new connection works.
        recover: brings a crashed service back (restart on a local stack, wait for systemd on a device).
        auth_method / auth_param: how a session authenticates.
    """

    url: str
    contract: Contract
    credentials: Credentials
    timeout: float = 5.0
    client_options: dict = field(default_factory=dict)
    alive: Callable[[], bool] | None = None
    recover: Callable[[], None] | None = None
    auth_method: str = "authenticate"
    auth_param: str = "auth_token"
    observed: Observed = field(default_factory=Observed)
    rate_limit_retries: int = 5
    canaries: Callable[[], dict[str, str]] | None = None  # traversal canary files present: path -> stamp

    def client(self) -> RpcClient:
        return RpcClient(self.url, timeout=self.timeout, **self.client_options).connect()

    def session(self, credential: str | None) -> tuple[RpcClient, Any]:
        """A connected client authenticated with ``credential`` (None: not authenticated)."""
        cli = self.client()
        reply = None
        if credential is not None:
            reply = cli.authenticate(credential, method=self.auth_method, param=self.auth_param).frame
            self.observed.note(self.auth_method, reply)
        return cli, reply

    def role_session(self, role: str) -> RpcClient:
        cli, reply = self.session(self.credentials.token(role))
        if not (isinstance(reply, dict) and "result" in reply):
            cli.close()
            raise RpcError(f"{self.url}: a valid {role} token was refused by {self.auth_method}: {reply}")
        return cli

    def top_role_session(self) -> RpcClient | None:
        """A session of the most privileged role, or None when it cannot be opened (for best-effort
        helpers that harvest real values or undo side effects)."""
        try:
            return self.role_session(self.contract.roles[-1])
        except RpcError:
            return None

    def is_alive(self) -> bool:
        if self.alive is not None:
            try:
                return bool(self.alive())
            except Exception:  # noqa: BLE001 - any failure to answer means not alive
                return False
        try:
            with RpcClient(self.url, timeout=2, connect_timeout=2, **self.client_options):
                return True
        except RpcError:
            return False

    @property
    def rate_codes(self) -> frozenset[int]:
        """The documented rate-limit refusal's codes: a call answered with one is waited out, not judged."""
        return refusals(self.contract.error_codes)[RATE].codes

    def call(self, cli: RpcClient, method: str, params: Any, timeout: float | None = None):
        """A call that waits out a documented rate limit (bounded) and records what it saw."""
        for attempt in range(self.rate_limit_retries + 1):
            resp = cli.call(method, params, timeout=timeout)
            if resp.error_code in self.rate_codes and attempt < self.rate_limit_retries:
                time.sleep(0.2 * (attempt + 1))
                continue
            self.observed.note(method, resp.frame)
            return resp
        return resp


    def reply(self, cli: RpcClient, method: str, params: Any) -> Reply:
        """`call`, with a timeout or a hang-up answered as a Reply (an observation, not an exception)."""
        try:
            return self.call(cli, method, params)
        except RpcTimeout:
            return Reply(method, timeout=True, exchange=cli.exchanges[-1] if cli.exchanges else None)
        except RpcConnectionLost as exc:
            return Reply(method, lost=True, close_code=exc.close_code,
                         exchange=cli.exchanges[-1] if cli.exchanges else None)

    def undo(self) -> None:
        """Stop what the checks started (start_x -> stop_x with valid params), best effort."""
        from ivv.contract.params import undo_calls

        cli = self.top_role_session()
        if cli is None:
            return
        with cli:
            for method, params in undo_calls(self.contract, self.observed):
                try:
                    cli.call(method, params)
                except RpcError:
                    continue


def harvest(probe: Probe) -> None:
    """Call the read-only methods that need no params (get_*, list_*) so later calls can use real values
    (a connected camera's device, an existing filename) instead of made-up ones."""
    contract = probe.contract
    cli = probe.top_role_session()
    if cli is None:
        return
    with cli:
        for m in contract.methods.values():
            if not m.required_params and m.name.startswith(("get_", "list_")):
                try:
                    probe.call(cli, m.name, {})
                except RpcError:
                    continue


# How long produce() lets what it started run before stopping it: a recording stopped at once may
# leave no file, and on a slow device (the emulated one) the recorder takes over a second to write one.
HOLD_S = 4.0


def produce(probe: Probe) -> None:
    """Make one of each thing the service keeps (take_*, start_* then stop_*, create_*), then harvest, so
    checks that need a real instance (a file to read, delete or download) have one. Best effort."""
    from ivv.contract.params import PRODUCERS, undo_calls, valid_params

    harvest(probe)
    cli = probe.top_role_session()
    if cli is None:
        return
    contract = probe.contract
    with cli:
        for m in contract.methods.values():
            if m.name.startswith(PRODUCERS):
                try:
                    probe.call(cli, m.name, valid_params(m, probe.observed))
                except RpcError:
                    continue
        time.sleep(HOLD_S)
        for method, params in undo_calls(contract, probe.observed):
            try:
                probe.call(cli, method, params)
            except RpcError:
                continue
    harvest(probe)
