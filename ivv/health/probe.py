"""Health probing: what a health endpoint says, whether that can be believed, and how fast it says it.

A health answer is only evidence when three things hold: the body matches the documented schema, the
status code agrees with the status in the body (a `not_ready` body with 200 is a lie a load balancer
would believe), and the answer follows the truth on the device (stop the dependency, readiness drops).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace

import jsonschema
import requests

# Body statuses that say "do not send traffic here" and the codes that say the same to a proxy.
NEGATIVE_STATUSES = frozenset({"not_ready", "unhealthy", "error", "down", "fail", "failed", "critical"})
POSITIVE_STATUSES = frozenset({"ready", "healthy", "ok", "up", "pass", "degraded"})
DEFAULT_STATUS_CODES = {"ready": 200, "healthy": 200, "degraded": 200, "not_ready": 503, "unhealthy": 500}


@dataclass(frozen=True)
class HealthAnswer:
    """One GET of a health endpoint, as plain data for evidence."""

    url: str
    status_code: int | None
    body: object | None
    latency_s: float
    error: str | None = None

    @property
    def body_status(self) -> str | None:
        return self.body.get("status") if isinstance(self.body, dict) else None

    @property
    def answered(self) -> bool:
        return self.status_code is not None

    @property
    def is_ready(self) -> bool:
        """Ready only when the code is 2xx AND the body says a positive status: both, never one."""
        return (
            self.status_code is not None
            and 200 <= self.status_code < 300
            and self.body_status in POSITIVE_STATUSES
        )

    def summary(self) -> dict:
        return {"url": self.url, "status_code": self.status_code, "body": self.body,
                "latency_ms": round(self.latency_s * 1000, 2), "error": self.error}


def probe(url: str, timeout: float = 5.0, verify: bool | str = False, session: requests.Session | None = None
          ) -> HealthAnswer:
    """GET `url` once; a refused connection or a non-JSON body is an answer too, not an exception."""
    getter = session.get if session is not None else requests.get
    start = time.perf_counter()
    try:
        response = getter(url, timeout=timeout, verify=verify)
    except requests.RequestException as exc:
        return HealthAnswer(url, None, None, time.perf_counter() - start, f"{type(exc).__name__}: {exc}")
    latency = time.perf_counter() - start
    try:
        body = response.json()
    except ValueError:
        return HealthAnswer(url, response.status_code, response.text[:500], latency, "body is not JSON")
    return HealthAnswer(url, response.status_code, body, latency)


def schema_errors(body: object, schema: dict) -> list[str]:
    """Every way `body` breaks `schema`, as 'path: message' lines (empty list = valid)."""
    validator = jsonschema.Draft202012Validator(schema)
    out = []
    for err in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        out.append(f"{where}: {err.message}")
    return out


def expected_code(body_status: str | None, status_codes: dict[str, int] | None = None) -> int | None:
    """The status code the documentation promises for a body status (None when it says nothing)."""
    codes = status_codes or DEFAULT_STATUS_CODES
    return codes.get(body_status) if body_status is not None else None


def consistency(answer: HealthAnswer, status_codes: dict[str, int] | None = None) -> tuple[bool, str]:
    """Does the status code agree with the body? Returns (ok, reason).

    Judged two ways, and both must hold: the code the documentation maps the body status to, and the
    general rule that a negative body never comes with 2xx (nor a positive body with 5xx).
    """
    if not answer.answered:
        return False, f"no answer: {answer.error}"
    status = answer.body_status
    if status is None:
        return False, f"body has no 'status' field (HTTP {answer.status_code})"
    code = answer.status_code
    ok_code = 200 <= code < 300
    if status in NEGATIVE_STATUSES and ok_code:
        return False, f"body says {status!r} but HTTP {code}: a prober would count it healthy"
    if status in POSITIVE_STATUSES and not ok_code:
        return False, f"body says {status!r} but HTTP {code}"
    want = expected_code(status, status_codes)
    if want is not None and want != code:
        return False, f"body says {status!r}: documented code {want}, got {code}"
    if status not in NEGATIVE_STATUSES | POSITIVE_STATUSES and want is None:
        return False, f"body status {status!r} is neither documented nor a known status word"
    return True, f"{status!r} with HTTP {code}"


@dataclass
class WaitResult:
    """How a bounded wait for a condition ended."""

    reached: bool
    elapsed_s: float
    polls: int
    last: object = None
    history: list = field(default_factory=list)


def wait_until(check: Callable[[], tuple[bool, object]], timeout_s: float, interval_s: float = 0.25,
               keep: int = 20) -> WaitResult:
    """Poll `check` (returns (done, observation)) until done or `timeout_s`; bounded in time and count."""
    start = time.monotonic()
    polls = 0
    history: list = []
    last = None
    max_polls = int(timeout_s / max(interval_s, 0.01)) + 2
    while polls < max_polls:
        polls += 1
        done, last = check()
        history.append(last)
        del history[:-keep]
        elapsed = time.monotonic() - start
        if done:
            return WaitResult(True, elapsed, polls, last, history)
        if elapsed >= timeout_s:
            break
        time.sleep(interval_s)
    return WaitResult(False, time.monotonic() - start, polls, last, history)


def wait_ready(url: str, timeout_s: float, interval_s: float = 0.25, verify: bool | str = False) -> WaitResult:
    """Wait until `url` says ready by code AND body."""
    def check():
        answer = probe(url, timeout=min(5.0, max(timeout_s, 0.5)), verify=verify)
        return answer.is_ready, answer.summary()
    return wait_until(check, timeout_s, interval_s)


def wait_not_ready(url: str, timeout_s: float, interval_s: float = 0.25, verify: bool | str = False
                   ) -> WaitResult:
    """Wait until `url` answers and says not ready (a refused connection does not count: it proves nothing
    about whether the health server tells the truth)."""
    def check():
        answer = probe(url, timeout=min(5.0, max(timeout_s, 0.5)), verify=verify)
        return answer.answered and not answer.is_ready, answer.summary()
    return wait_until(check, timeout_s, interval_s)


def percentiles(values: Iterable[float], points: Iterable[int] = (50, 90, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles plus min/max/mean; empty input is an error, not zeros."""
    data = sorted(values)
    if not data:
        raise ValueError("no values to compute percentiles from")
    out = {"min": data[0], "max": data[-1], "mean": statistics.fmean(data), "count": len(data)}
    for p in points:
        rank = max(1, -(-p * len(data) // 100))  # ceil without floats
        out[f"p{p}"] = data[rank - 1]
    return out


def sample_latency(url: str, samples: int, verify: bool | str = False, timeout: float = 5.0
                   ) -> tuple[list[float], list[HealthAnswer]]:
    """GET `url` `samples` times over one keep-alive session; returns latencies (s) of answered calls and
    the failed answers."""
    latencies: list[float] = []
    failed: list[HealthAnswer] = []
    with requests.Session() as session:
        for _ in range(max(0, int(samples))):
            answer = probe(url, timeout=timeout, verify=verify, session=session)
            if answer.answered and answer.error is None:
                latencies.append(answer.latency_s)
            else:
                failed.append(answer)
    return latencies, failed


# --- the profile's health endpoints on a deployed stack -------------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    schema: dict
    status_codes: dict


class HealthOps:
    """Health endpoints of a deployed stack, and the device-side actions that must change what they say.

    Control actions (stop/start the dependency, remove/restore the camera, restart the service) are the
    profile's commands run on the target; a stack object may provide `control(action)` instead (the
    local process tree does), returning a CommandResult-like object.
    """

    def __init__(self, target, profile, stack=None, gates=None):
        self.target, self.profile, self.stack, self.gates = target, profile, stack, gates
        self.endpoints = [Endpoint(name, spec["path"], spec.get("schema") or {}, spec.get("codes") or {})
                          for name, spec in profile.health["endpoints"].items()]
        self.ready_endpoint = next(e for e in self.endpoints if e.name == profile.ready_endpoint)

    def setting(self, key: str, default=None):
        return self.gates.setting(key, default) if self.gates is not None else default

    @property
    def transition_timeout_s(self) -> float:
        return float(self.setting("health.ready_transition_timeout_s", 60))

    @property
    def latency_samples(self) -> int:
        return int(self.setting("health.latency_samples", 20))

    @staticmethod
    def dump(obj) -> str:
        import json
        return json.dumps(obj, indent=2, sort_keys=True, default=str)

    def url(self, endpoint: Endpoint) -> str:
        if callable(getattr(self.stack, "health_url", None)):
            return self.stack.health_url(endpoint.name)
        host, port = self.target.address(self.profile.health["port"])
        return self.profile.health_url(endpoint.name, host, port)

    def reachable_or_raise(self) -> None:
        """A health endpoint that does not answer is evidence only if the device itself still answers:
        otherwise the target raises TargetUnreachable and the criterion stays NOT VERIFIED."""
        self.target.run("true", timeout=30)

    def probe(self, endpoint: Endpoint) -> HealthAnswer:
        answer = probe(self.url(endpoint))
        if not answer.answered:
            self.reachable_or_raise()
        return answer

    def sample_latency(self, endpoint: Endpoint, samples: int):
        latencies, failed = sample_latency(self.url(endpoint), samples)
        if failed:
            self.reachable_or_raise()
        return latencies, failed

    def endpoint(self, name: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.name == name), None)

    # -- control -----------------------------------------------------------------------------------
    def _local_actions(self) -> dict | None:
        """A local process tree is controlled through its own methods, not shell commands."""
        stack = self.stack
        if getattr(self.target, "kind", None) != "local" or not hasattr(stack, "restart"):
            return None
        return {"media.stop": stack.stop_media, "media.start": stack.start_media, "service.restart": stack.restart}

    def command_for(self, action: str) -> str | None:
        section, _, verb = action.partition(".")
        if section == "service" and verb == "restart" and self.profile.units:
            return f"sudo systemctl restart {self.profile.units[0]}"
        return (self.profile.data.get(section) or {}).get(verb)

    def can(self, action: str) -> bool:
        local = self._local_actions()
        if local is not None:
            return action in local
        return self.command_for(action) is not None and "shell" in getattr(self.target, "capabilities", {"shell"})

    def control(self, action: str):
        local = self._local_actions()
        if local is not None:
            if action not in local:
                raise LookupError(f"the local stack cannot {action}")
            started = time.monotonic()
            local[action]()
            return SimpleNamespace(exit_status=0, duration=time.monotonic() - started, stdout="", stderr="")
        command = self.command_for(action)
        if command is None:
            raise LookupError(f"{self.profile.path}: no command for {action}")
        return self.target.run(command, timeout=120)

    def device_view(self) -> dict:
        """What the device itself says about the stack's components (systemd units, or local processes)."""
        if self._local_actions() is not None:
            states = {name: bool(getattr(self.stack, name, None) and getattr(self.stack, name).running)
                      for name in ("media", "service")}
        else:
            from ivv.ops.deployment import unit_state
            states = {u: unit_state(self.target, u).get("ActiveState") for u in self.profile.units}
        return {"components": states, "all_running": bool(states) and all(
            s in ("active", True) for s in states.values())}

    # -- scenarios -----------------------------------------------------------------------------------
    def _wait(self, endpoint: Endpoint, want_ready: bool) -> dict:
        url = self.url(endpoint)
        waited = (wait_ready if want_ready else wait_not_ready)(url, self.transition_timeout_s, 0.25)
        if not waited.reached:
            self.reachable_or_raise()
        last = waited.last if isinstance(waited.last, dict) else {}
        answer = HealthAnswer(url, last.get("status_code"), last.get("body"), 0.0, last.get("error"))
        consistent, reason = consistency(answer, endpoint.status_codes) if answer.answered else (False, "no answer")
        return {"reached": waited.reached, "elapsed_s": round(waited.elapsed_s, 3), "polls": waited.polls,
                "last": last, "consistent": consistent, "consistency": reason}

    def dependency_cycle(self) -> dict:
        """Stop the media dependency: readiness must say not ready (code and body agreeing); start it again."""
        result = {"timeout_s": self.transition_timeout_s}
        stopped = self.control("media.stop")
        result["stop"] = {"exit": stopped.exit_status}
        try:
            result["down"] = self._wait(self.ready_endpoint, want_ready=False)
            result["device_while_down"] = self.device_view()
        finally:
            started = self.control("media.start")
            result["start"] = {"exit": started.exit_status}
            result["up"] = self._wait(self.ready_endpoint, want_ready=True)
        return result

    def camera_cycle(self) -> dict | None:
        """Remove the camera: camera health must turn unhealthy; restore it: healthy again."""
        cameras = self.endpoint("cameras")
        if cameras is None or not (self.can("camera.remove") and self.can("camera.restore")):
            return None
        url = self.url(cameras)

        def unhealthy():
            answer = probe(url)
            return answer.answered and not answer.is_ready and consistency(answer, cameras.status_codes)[0], \
                answer.summary()

        def healthy():
            answer = probe(url)
            return answer.is_ready, answer.summary()

        result = {}
        removed = self.control("camera.remove")
        try:
            waited = wait_until(unhealthy, self.transition_timeout_s, 0.25)
            result["removed"] = {"exit": removed.exit_status, "reached": waited.reached,
                                 "elapsed_s": round(waited.elapsed_s, 3), "last": waited.last}
        finally:
            restored = self.control("camera.restore")
            waited = wait_until(healthy, self.transition_timeout_s, 0.25)
            result["restored"] = {"exit": restored.exit_status, "reached": waited.reached,
                                  "elapsed_s": round(waited.elapsed_s, 3), "last": waited.last}
            self._wait(self.ready_endpoint, want_ready=True)
        return result

    def restart_to_ready(self) -> dict:
        """Restart the service; time from the restart command's start to ready (code and body)."""
        start = time.monotonic()
        restarted = self.control("service.restart")
        waited = wait_ready(self.url(self.ready_endpoint), self.transition_timeout_s, 0.1)
        return {"exit": restarted.exit_status, "reached": waited.reached and restarted.exit_status == 0,
                "elapsed_s": round(time.monotonic() - start, 3), "last": waited.last}
