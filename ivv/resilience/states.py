"""The device states trials start from, made once and put back before every trial.

- `N`: the previous release installed fresh and ready, data written through the API and seeded, the
  current release's archive uploaded, all of it synced;
- `N+1`: from `N`, upgraded to the current release by the profile's own upgrade (a release on probation
  for a stack with a watchdog);
- `entry`: the device as the suite found it, put back when the suite ends, so later suites see what they
  expect.

On the virtual device a state is a snapshot of the whole machine (`snapshot_save`/`snapshot_load`, about
a second each) reused while its `meta` (profile, release archives, fault knobs) matches. A device that
cannot snapshot is brought to the state by operations (rollback or install of N, upgrade to N+1): slower,
and the data is what the last trial left, which is why "data kept" is always judged against the data
read just before the trial. Every restore is noted (how, seconds) for the evidence.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ivv.errors import StackError
from ivv.ops.apidata import write_user_data

PREFIX = "ivv-res-"


@dataclass
class Restored:
    state: str
    how: str
    seconds: float

    def as_dict(self) -> dict:
        return {"state": self.state, "how": self.how, "seconds": self.seconds}


@dataclass
class Checkpoints:
    subject: object
    knobs: dict = field(default_factory=dict)
    log: list = field(default_factory=list)
    on_restore: Callable[[str], None] | None = None   # run after every restore (a self-test sets fault knobs)

    @property
    def target(self):
        return self.subject.target

    @property
    def can_snapshot(self) -> bool:
        return "snapshot" in self.target.capabilities

    def meta(self, state: str) -> dict:
        profile = self.subject.profile
        return {"state": state, "profile": profile.name,
                "profile_sha256": hashlib.sha256(profile.path.read_bytes()).hexdigest(),
                "archives": self.subject.archives(), "knobs": dict(sorted(self.knobs.items()))}

    def version_of(self, state: str) -> str:
        return self.subject.previous if state == "N" else self.subject.current

    # -- building ---------------------------------------------------------------------------------
    def _build_n(self) -> None:
        subject = self.subject
        stack, ops = subject.stack, subject.ops
        if not (subject.version() == subject.previous and stack.ready().is_ready):
            if subject.version() is not None:
                ops.uninstall()
            op = ops.install(subject.previous, subject.environment)
            if not (op.succeeded and op.ready):
                raise StackError(f"{self.target.name}: installing {subject.previous} for the resilience trials "
                                 f"failed: {ops.dump(op.as_dict())[-1500:]}")
        write_user_data(stack, ops, subject.profile.camera.get("device", "/dev/video0"))
        stack.upload(subject.current)
        subject.sync()

    def _build_n1(self) -> None:
        subject = self.subject
        self.restore("N")
        op = subject.ops.upgrade(subject.current, subject.environment)
        if not (op.succeeded and op.ready):
            raise StackError(f"{self.target.name}: upgrading to {subject.current} for the resilience trials "
                             f"failed: {subject.ops.dump(op.as_dict())[-1500:]}")
        subject.sync()

    def ensure(self, state: str) -> None:
        """Make the state once (a snapshot on the virtual device; nothing to keep elsewhere)."""
        if not self.can_snapshot:
            return
        name = PREFIX + state.replace("+", "p")
        known = self.target.snapshots().get(name)
        if known and known.get("meta") == self.meta(state):
            return
        started = time.monotonic()
        (self._build_n if state == "N" else self._build_n1)()
        seconds = self.target.snapshot_save(name, self.meta(state))
        self.log.append({"state": state, "how": f"built and saved as snapshot {name}",
                         "seconds": round(time.monotonic() - started, 1), "save_s": seconds})

    def restore(self, state: str) -> Restored:
        """Put the device in `state` (made first when needed); the subject reconnects afterwards."""
        started = time.monotonic()
        if self.can_snapshot:
            self.ensure(state)
            self.target.snapshot_load(PREFIX + state.replace("+", "p"))
            how = f"snapshot {PREFIX + state.replace('+', 'p')} loaded"
        else:
            (self._build_n if state == "N" else self._build_n1)()
            how = "rebuilt by the profile's operations"
        self.subject.reconnect()
        if self.on_restore is not None:
            self.on_restore(state)
        done = Restored(state, how, round(time.monotonic() - started, 2))
        self.log.append(done.as_dict())
        return done

    # -- the suite's entry state ----------------------------------------------------------------
    def save_entry(self) -> None:
        if self.can_snapshot:
            self.target.snapshot_save(PREFIX + "entry", {"state": "entry"})

    def restore_entry(self) -> Restored | None:
        """The device as the suite found it (virtual device only; elsewhere the current release is
        installed again by the caller)."""
        if not self.can_snapshot or PREFIX + "entry" not in self.target.snapshots():
            return None
        started = time.monotonic()
        self.target.snapshot_load(PREFIX + "entry")
        self.subject.reconnect()
        done = Restored("entry", f"snapshot {PREFIX}entry loaded", round(time.monotonic() - started, 2))
        self.log.append(done.as_dict())
        return done
