"""The health endpoints of a running stack, and the actions on the device that must change what they say.

A health answer is only evidence when it follows the truth on the device: stop the media component and
readiness must drop (while the device confirms the component is down), take the camera away and camera
health must turn unhealthy, restart the service and readiness must come back. The actions go through the
stack (`ivv.stack.base.Stack.control`, `.camera`), so the same scenario runs on a local process tree, a
virtual or real device, or a service ivv did not deploy whose profile names the commands.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass

from ivv.health import latency
from ivv.health.readiness import HealthAnswer, consistency, probe, wait_ready
from ivv.poll import wait_until
from ivv.stack.base import Capability


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    schema: dict
    status_codes: dict

    @property
    def spec(self) -> dict:
        return {"codes": self.status_codes}


class HealthOps:
    """Health endpoints of `stack` (an ivv.stack.base.Stack) judged against its device, gate settings from `gates`."""

    def __init__(self, stack, gates=None):
        self.stack, self.profile, self.gates = stack, stack.profile, gates
        self.endpoints = [Endpoint(name, spec["path"], spec.get("schema") or {}, spec.get("codes") or {})
                          for name, spec in self.profile.health["endpoints"].items()]
        self.ready_endpoint = self.endpoint(self.profile.ready_endpoint)

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
        return json.dumps(obj, indent=2, sort_keys=True, default=str)

    def url(self, endpoint: Endpoint) -> str:
        return self.stack.health_url(endpoint.name)

    def endpoint(self, name: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.name == name), None)

    def probe(self, endpoint: Endpoint) -> HealthAnswer:
        """One answer; one that does not come is evidence only if the device itself still answers."""
        answer = probe(self.url(endpoint), endpoint.spec)
        if not answer.answered:
            self.stack.reachable()
        return answer

    def sample_latency(self, endpoint: Endpoint, samples: int):
        latencies, failed = latency.sample_latency(self.url(endpoint), samples)
        if failed:
            self.stack.reachable()
        return latencies, failed

    def can(self, *capabilities: str) -> bool:
        return self.stack.can(*capabilities)

    def device_view(self) -> dict:
        """What the device itself says about the stack's components."""
        return self.stack.components_view()

    @property
    def stable_polls(self) -> int:
        """Consecutive ready answers that make readiness stable (gate `health.stable_polls`)."""
        return max(1, int(self.setting("health.stable_polls", 3)))

    @property
    def not_ready_polls(self) -> int:
        """Consecutive not-ready answers that make a drop real, not a blip (gate `health.not_ready_polls`)."""
        return max(1, int(self.setting("health.not_ready_polls", 3)))

    # -- scenarios -----------------------------------------------------------------------------------
    def _hold(self, endpoint: Endpoint, want_ready: bool, polls: int) -> dict:
        """Wait until `polls` answers in a row say ready (or answer and say not ready); a flapping endpoint
        never gets there. A refused connection never counts as not ready: it proves nothing about whether
        the health server tells the truth."""
        url = self.url(endpoint)
        streak = {"n": 0}

        def check():
            answer = probe(url, endpoint.spec, timeout=min(5.0, self.transition_timeout_s))
            agrees = answer.is_ready if want_ready else (answer.answered and not answer.is_ready)
            streak["n"] = streak["n"] + 1 if agrees else 0
            return streak["n"] >= polls, answer.summary()

        waited = wait_until(check, self.transition_timeout_s, 0.25)
        if not waited.reached:
            self.stack.reachable()
        last = waited.last if isinstance(waited.last, dict) else {}
        answer = HealthAnswer(url, last.get("status_code"), last.get("body"), 0.0, last.get("error"))
        consistent, reason = consistency(answer, endpoint.status_codes) if answer.answered else (False, "no answer")
        return {"reached": waited.reached, "elapsed_s": round(waited.elapsed_s, 3), "polls": waited.polls,
                "in_a_row": polls, "last": last, "consistent": consistent, "consistency": reason,
                "history": [{"status_code": h.get("status_code"), "status": (h.get("body") or {}).get("status")
                             if isinstance(h.get("body"), dict) else None} for h in waited.history[-8:]
                            if isinstance(h, dict)]}

    def _wait(self, endpoint: Endpoint, want_ready: bool) -> dict:
        return self._hold(endpoint, want_ready, self.stable_polls if want_ready else self.not_ready_polls)

    @property
    def dependency(self) -> str | None:
        """What readiness depends on and ivv can take away: the media component where the profile names
        one, else the camera where the stack can remove it (a service with no media server, whose
        readiness is the camera's presence); None: neither."""
        if any(c.name == "media" for c in self.stack.components) and self.stack.can(Capability.CONTROL):
            return "media"
        return "camera" if self.stack.can(Capability.CAMERA) else None

    def _take_dependency(self, present: bool):
        if self.dependency == "media":
            return self.stack.control("media", "start" if present else "stop")
        return self.stack.camera(present=present)

    def _dependency_view(self) -> dict:
        """What the device says while the dependency is away: its components, and for the camera whether
        the device node is gone (`all_running` False means the device confirms the loss)."""
        if self.dependency == "media":
            return self.device_view()
        device = self.stack.camera_device
        gone = self.stack.target.run(f"test ! -e {shlex.quote(device)}", timeout=30).exit_status == 0
        return {"camera": device, "present": not gone, "all_running": not gone}

    def dependency_cycle(self) -> dict:
        """Readiness stably ready first; take the dependency away (stop the media component, or remove
        the camera): readiness must say not ready (code and body agreeing) for `not_ready_polls` answers
        in a row while the device confirms the loss; bring it back: stably ready. Without a stable
        baseline nothing is taken away."""
        result = {"timeout_s": self.transition_timeout_s, "dependency": self.dependency,
                  "baseline": self._wait(self.ready_endpoint, True)}
        if not result["baseline"]["reached"]:
            return result
        stopped = self._take_dependency(present=False)
        result["stop"] = {"exit": stopped.exit_status}
        try:
            result["down"] = self._wait(self.ready_endpoint, want_ready=False)
            result["device_while_down"] = self._dependency_view()
        finally:
            started = self._take_dependency(present=True)
            result["start"] = {"exit": started.exit_status}
            result["up"] = self._wait(self.ready_endpoint, want_ready=True)
        return result

    def camera_cycle(self) -> dict | None:
        """Remove the camera: camera health must turn unhealthy; restore it: healthy again."""
        cameras = self.endpoint("cameras")
        if cameras is None or not self.stack.can(Capability.CAMERA):
            return None
        url = self.url(cameras)

        def unhealthy():
            answer = probe(url, cameras.spec)
            return answer.answered and not answer.is_ready and consistency(answer, cameras.status_codes)[0], \
                answer.summary()

        def healthy():
            answer = probe(url, cameras.spec)
            return answer.is_ready, answer.summary()

        result = {}
        removed = self.stack.camera(present=False)
        try:
            waited = wait_until(unhealthy, self.transition_timeout_s, 0.25)
            result["removed"] = {"exit": removed.exit_status, "reached": waited.reached,
                                 "elapsed_s": round(waited.elapsed_s, 3), "last": waited.last}
        finally:
            restored = self.stack.camera(present=True)
            waited = wait_until(healthy, self.transition_timeout_s, 0.25)
            result["restored"] = {"exit": restored.exit_status, "reached": waited.reached,
                                  "elapsed_s": round(waited.elapsed_s, 3), "last": waited.last}
            self._wait(self.ready_endpoint, want_ready=True)
        return result

    def restart_to_ready(self) -> dict:
        """Restart the service; time from the restart command's start to ready (code and body)."""
        self.stack.require(Capability.CONTROL)
        start = time.monotonic()
        restarted = self.stack.control("service", "restart")
        waited = wait_ready(self.url(self.ready_endpoint), self.transition_timeout_s, 0.1,
                            spec=self.ready_endpoint.spec)
        return {"exit": restarted.exit_status, "reached": waited.reached and restarted.exit_status == 0,
                "elapsed_s": round(time.monotonic() - start, 3), "last": waited.last}
