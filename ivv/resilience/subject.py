"""The stack under resilience tests, and the facts a trial reads from the device.

`Subject` wraps a deployed stack that can deploy: the two releases a trial moves between (N, the
profile's previous, and N+1, its current), their file manifests from the pinned archives, which release
the install tree is, the data checksums, the frame source, the recording kept across a cut, the
operation's commands and phase marker, and a journal excerpt and a state summary for failed trials.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ivv.errors import CapabilityMissing, ProfileError
from ivv.ops.deployment import StackOps
from ivv.ops.files import diff_checksums, file_inventory
from ivv.resilience.frames import FrameSource, fetch_recording, probe_media, suffix_of
from ivv.resilience.manifest import Match, archive_manifest, match_release, tree_files
from ivv.resilience.runner import Device
from ivv.stack import release


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class Recording:
    """A recording started before a cut: its file, and when it started (this machine's clock)."""

    filename: str
    started: float
    reply: dict = field(default_factory=dict)


class Subject:
    def __init__(self, stack, gates=None):
        self.ops = StackOps(stack, gates)
        self.stack, self.target, self.profile, self.gates = stack, stack.target, stack.profile, gates
        self.previous, self.current = self.ops.previous_version, self.ops.current_version
        self._manifests: dict[str, dict[str, str]] | None = None
        self._device: Device | None = None
        self._credentials = None

    # -- the device ------------------------------------------------------------------------------
    @property
    def device(self) -> Device:
        if self._device is None:
            self._device = Device(self.target)
        return self._device

    def reconnect(self) -> None:
        """After a cut or a snapshot load: the runner's view of the device is read again when needed."""
        self._device = None

    @property
    def environment(self) -> str:
        return self.ops.environments[-1]

    def commands(self, operation: str) -> list[str]:
        version = self.current if operation in ("install", "upgrade") else None
        return self.stack.commands(operation, version, self.environment)

    @property
    def marker(self) -> str | None:
        return (self.profile.deployment or {}).get("phase_marker")

    @property
    def hold(self) -> str | None:
        """The phase-hold folder (None: the stack's scripts do not wait at their markers)."""
        return (self.profile.deployment or {}).get("phase_hold") if self.marker else None

    def sync(self) -> None:
        """Make everything written so far durable, so "before" means what a cut cannot take away."""
        self.device.sh("sync", 120)

    # -- credentials and frames ---------------------------------------------------------------------
    def token(self, role: str) -> str:
        if self._credentials is None:
            self._credentials = self.stack.credentials(api_keys=False)
        return self._credentials.token(role)

    @property
    def frames(self) -> FrameSource:
        return FrameSource(self.stack, self.token)

    @property
    def recording_spec(self) -> dict:
        return dict(self.profile.camera.get("recording") or {})

    def start_recording(self) -> Recording | None:
        """Start the profile's recording (None when the profile names none)."""
        spec = self.recording_spec
        if not spec:
            return None
        call = spec["start"]
        with self.stack.client(spec.get("role"), timeout=30) as client:
            reply = client.request(call["method"], dict(call.get("params") or {}), timeout=30)
        return Recording(str(reply[spec.get("file_field", "filename")]), time.monotonic(), reply)

    def recording_size(self, recording: Recording) -> int | None:
        """The recording's file size on the device now (None when the profile names no folder for it)."""
        folder = self.recording_spec.get("dir")
        if not folder:
            return None
        out = self.device.sh(f"stat -c %s {shlex.quote(folder + '/' + recording.filename)} 2>/dev/null", 30).stdout
        return int(out.strip()) if out.strip().isdigit() else None

    def wait_writing(self, recording: Recording, bound_s: float, interval_s: float = 0.5) -> bool | None:
        """Wait until the recording's file has bytes on the device: the stack's recorder may open its
        output only once the camera stream answers, seconds after the start call on a slow device. Its
        start becomes the last moment the file was seen without bytes, so the time it recorded before a cut
        is never undercounted (the loss is overstated by at most one poll). None: the profile names no
        folder to look in."""
        if not self.recording_spec.get("dir"):
            return None
        deadline = time.monotonic() + bound_s
        while True:
            asked = time.monotonic()
            if self.recording_size(recording):
                return True
            recording.started = asked
            if asked > deadline:
                return False
            time.sleep(interval_s)

    def recording_grows(self, recording: Recording, wait_s: float = 1.5) -> bool | None:
        first = self.recording_size(recording)
        if first is None:
            return None
        time.sleep(wait_s)
        second = self.recording_size(recording)
        return second is not None and second > first

    def judge_recording(self, recording: Recording) -> dict:
        """{fetched, playable, seconds, ...} of a recording through the stack's file route."""
        spec = self.recording_spec
        if not spec.get("download"):
            raise CapabilityMissing(f"{self.profile.path}: camera.recording.download is not set")
        data, problem = fetch_recording(self.stack, spec, recording.filename, self.token(spec.get("role") or "viewer"))
        if data is None:
            return {"fetched": False, "playable": False, "error": problem, "seconds": 0.0}
        return {"fetched": True, **probe_media(data, suffix_of(recording.filename))}

    # -- releases ------------------------------------------------------------------------------------
    @property
    def manifests(self) -> dict[str, dict[str, str]]:
        if self._manifests is None:
            self._manifests = {v: archive_manifest(release.pinned(self.profile, v)[0])
                               for v in (self.previous, self.current)}
        return self._manifests

    def archives(self) -> dict[str, str]:
        return {v: release.pinned(self.profile, v)[1] for v in (self.previous, self.current)}

    def tree(self) -> Match:
        """Which release the install tree (`paths.current`, followed) is."""
        current = self.profile.paths.get("current") or self.profile.paths.get("install")
        if not current:
            raise ProfileError(f"{self.profile.path}: paths.current (or paths.install) names no install tree")
        resolved = self.device.sh(f"readlink -f {shlex.quote(current)}", 30).stdout.strip()
        if not resolved:
            return match_release({}, self.manifests)
        return match_release(tree_files(file_inventory(self.target, [resolved]), resolved), self.manifests)

    def version(self) -> str | None:
        return self.stack.installed_version()

    def data(self) -> dict[str, str]:
        return self.ops.data_checksums()

    @staticmethod
    def data_kept(before: dict, after: dict) -> tuple[bool, dict]:
        """Every file there before is there with the same sha256 (new files are allowed)."""
        diff = diff_checksums(before, after)
        return not (diff["missing"] or diff["changed"]), {"missing": diff["missing"], "changed": diff["changed"],
                                                          "new": len(diff["new"])}

    # -- for failed trials ---------------------------------------------------------------------------
    def journal(self, since: str, lines: int = 60) -> str:
        """The device journal since `since` (UTC on this machine's clock), the stack's units and ivv's runs
        only, last lines. The window is asked for on the device's own clock: now there, less the time
        elapsed here since `since` (a device clock set wrong after a cut still gives the right lines)."""
        try:
            elapsed = (datetime.now(UTC) - datetime.strptime(since, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC))
            device_now = self.stack.device_time()
            if device_now is None:
                return "(journal not readable: the device's clock could not be read)"
            text = self.stack.journal(device_now - elapsed.total_seconds() - 2)
        except Exception as exc:  # noqa: BLE001 - a journal that cannot be read is said so, not fatal
            return f"(journal not readable: {exc})"
        names = [*self.profile.units, "watchdog", "ivv-op", "kernel"]
        keep = [line for line in text.splitlines() if any(n in line for n in names)]
        return "\n".join(keep[-lines:])

    def state(self) -> dict:
        """What the device looks like now: version, install tree, components, readiness."""
        out: dict = {}
        try:
            out["version"] = self.version()
            out["tree"] = self.tree().text
            for comp in self.stack.components:
                seen = self.stack.component_state(comp.name)
                out[comp.name] = seen.detail
            answer = self.stack.ready()
            out["ready"] = answer.is_ready
            out["ready_answer"] = answer.summary()
        except Exception as exc:  # noqa: BLE001 - a device that no longer answers is itself the state
            out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        return out
