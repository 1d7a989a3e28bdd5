"""One resilience run on one stack: the subject, its checkpoints, the gate's limits, the seed, the power
cut, and every trial so far. The suite's tests are one call each; self-tests and `ivv resilience replay`
use the same calls.

Trial counts come from the gate (`resilience.<kind>.trials`, `resilience.power_cut.boundaries` and
`random_cuts`); the seed from `resilience.seed` or a new one, recorded with every random cut point.
"""

from __future__ import annotations

from ivv.errors import CapabilityMissing
from ivv.resilience import cuts, recovery, triggers
from ivv.resilience.plan import CutPoint, boundaries_from_events, new_seed, plan_cuts
from ivv.resilience.power import destructive_allowed, power_cut_for
from ivv.resilience.runner import DetachedRun
from ivv.resilience.states import Checkpoints
from ivv.resilience.subject import Subject
from ivv.resilience.trial import Limits, Trial

START = {"upgrade": "N", "rollback": "N+1"}


class Campaign:
    def __init__(self, stack, gates, knobs: dict | None = None, seed: int | None = None, opted_in: bool = False):
        self.subject = Subject(stack, gates)
        self.limits = Limits(gates)
        self.checkpoints = Checkpoints(self.subject, dict(knobs or {}))
        configured = self.limits.setting("resilience.seed")
        self.seed = int(seed if seed is not None else configured if configured is not None else new_seed())
        self.opted_in = opted_in
        self.trials: list[Trial] = []
        self.references: dict[str, dict] = {}

    @property
    def target(self):
        return self.subject.target

    def destructive(self) -> tuple[bool, str]:
        return destructive_allowed(self.target, self.opted_in)

    def _count(self, kind: str, default: int) -> int:
        return int(self.limits.setting(f"resilience.{kind}.trials", default))

    def _keep(self, trials: list[Trial]) -> list[Trial]:
        self.trials += trials
        return trials

    # -- power cuts -------------------------------------------------------------------------------
    def reference(self, operation: str) -> dict:
        """One uncut run of the operation from its start state: its boundaries and duration."""
        if operation not in self.references:
            self.checkpoints.restore(START[operation])
            run = DetachedRun(self.subject.device, f"{operation}-reference", self.subject.commands(operation),
                              self.subject.marker, hold=self.subject.hold)
            run.start()
            waited = run.wait_done(float(self.limits.setting("resilience.operation_timeout_s", 900)))
            events = run.events()
            done = [e for e in events if e.get("event") == "done"]
            self.references[operation] = {
                "boundaries": boundaries_from_events(events), "duration_s": done[-1]["t"] if done else None,
                "status": done[-1].get("status") if done else None, "ended": waited.reached, "output": run.output(80)}
        return self.references[operation]

    def plan(self, operation: str) -> list[CutPoint]:
        named = self.limits.setting("resilience.power_cut.boundaries")
        randoms = int(self.limits.setting("resilience.power_cut.random_cuts", 2))
        if named and not randoms:
            return plan_cuts([], None, 0, self.seed, only=list(named))
        ref = self.reference(operation)
        return plan_cuts(ref["boundaries"], ref["duration_s"], randoms, self.seed, only=list(named or []) or None)

    def power_cuts(self, operation: str, criterion: str, points: list[CutPoint] | None = None) -> list[Trial]:
        power = power_cut_for(self.target)
        points = points if points is not None else self.plan(operation)
        return self._keep([cuts.power_cut_trial(self.subject, self.checkpoints, power, self.limits, operation, point,
                                                number, criterion, self.seed)
                           for number, point in enumerate(points, start=1)])

    # -- the rest -----------------------------------------------------------------------------------
    def link_losses(self, criterion: str) -> list[Trial]:
        self.target.require("link")
        return self._keep([cuts.link_loss_trial(self.subject, self.checkpoints, self.limits, n, criterion)
                           for n in range(1, self._count("link_loss", 2) + 1)])

    def crashes(self, criterion: str, components: tuple[str, ...] = ("service", "media")) -> list[Trial]:
        self.checkpoints.restore("N")
        out, number = [], 0
        for component in components:
            for _ in range(self._count("crash", 2)):
                number += 1
                out.append(recovery.crash_trial(self.subject, self.limits, component, number, criterion))
        return self._keep(out)

    def camera_losses(self, criterion: str) -> list[Trial]:
        self.subject.stack.require("camera")
        self.checkpoints.restore("N")
        return self._keep([recovery.camera_loss_trial(self.subject, self.limits, n, criterion)
                           for n in range(1, self._count("camera_loss", 2) + 1)])

    def disk_fulls(self, criterion: str) -> list[Trial]:
        self.checkpoints.restore("N")
        return self._keep([recovery.disk_full_trial(self.subject, self.limits, n, criterion)
                           for n in range(1, self._count("disk_full", 2) + 1)])

    def auto_rollbacks(self, criterion: str) -> list[Trial]:
        declared = triggers.declared(self.subject.profile)
        if not declared:
            raise CapabilityMissing(f"{self.subject.profile.path}: the profile declares no rollback triggers "
                                    "(resilience.rollback_triggers), so there is nothing the stack promised to do")
        out, number = [], 0
        for trigger in declared:
            for _ in range(self._count("auto_rollback", 1)):
                number += 1
                out.append(triggers.auto_rollback_trial(self.subject, self.checkpoints, self.limits, trigger, number,
                                                        criterion))
        return self._keep(out)

    def replay(self, spec: dict, criterion: str) -> Trial:
        """Run one recorded trial again from its spec (`details.trial.spec` of its evidence)."""
        kind = spec["kind"]
        if kind == "power_cut":
            return self.power_cuts(spec["operation"], criterion, [CutPoint.from_dict(spec["cut"])])[0]
        if kind == "link_loss":
            return cuts.link_loss_trial(self.subject, self.checkpoints, self.limits, 1, criterion)
        if kind == "crash":
            self.checkpoints.restore("N")
            return recovery.crash_trial(self.subject, self.limits, spec["component"], 1, criterion)
        if kind in ("camera_loss", "disk_full"):
            self.checkpoints.restore("N")
            run = recovery.camera_loss_trial if kind == "camera_loss" else recovery.disk_full_trial
            return run(self.subject, self.limits, 1, criterion)
        if kind == "auto_rollback":
            trigger = next(t for t in triggers.declared(self.subject.profile) if t["name"] == spec["trigger"])
            return triggers.auto_rollback_trial(self.subject, self.checkpoints, self.limits, trigger, 1, criterion)
        raise ValueError(f"unknown trial kind {kind!r}")

    # -- the end ------------------------------------------------------------------------------------
    def begin(self) -> None:
        self.checkpoints.save_entry()

    def finish(self) -> dict:
        """Leave the device as the suite found it (the entry snapshot), or reset it to a clean overlay and
        reinstall the current release when that fails; says which."""
        try:
            restored = self.checkpoints.restore_entry()
            if restored is not None:
                return {"how": restored.how, "seconds": restored.seconds}
        except Exception as exc:  # noqa: BLE001 - the fallback below is the point
            failure = f"{type(exc).__name__}: {exc}"
        else:
            failure = "no entry snapshot on this device"
        return self._clean_start(failure)

    def _clean_start(self, failure: str) -> dict:
        from ivv.fixtures.stack import ensure_deployed

        target = self.target
        if "power" in target.capabilities and getattr(target, "kind", "") == "qemu":
            target.restore()
            ensure_deployed(target, self.subject.profile)
            return {"how": "reset to a clean overlay and reinstalled", "because": failure}
        ensure_deployed(target, self.subject.profile)
        return {"how": "current release installed again by the profile's operations", "because": failure}
