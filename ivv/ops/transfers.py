"""A file the stack moves and says it verified, checked at both ends by ivv itself (`data.transfer_integrity`).

The profile's `api.transfer` names three calls and two files: `create` makes the file (a capture),
`submit` queues its transfer, `status` is polled until the transfer is no longer pending; `source` and
`destination` are paths on the target, and `claim` is the answer field that says "verified". A value
from an earlier answer is written `{create.id}`, `{submit.id}`, `{status.destination}`. ivv reads the
sha256 of both files on the target (not the service's own figures) and judges two facts per trial: the
destination's bytes equal the source's, and the service's claim agrees with that measurement (a service
that says `verified` over a corrupted copy FAILs; one that says `failed` over a good copy FAILs too).
"""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass, field

from ivv.errors import ProfileError
from ivv.evidence.facts import Fact, Undecided

PLACEHOLDER = re.compile(r"\{(create|submit|status)\.([A-Za-z0-9_]+)\}")


def fill(value, answers: dict[str, dict]):
    """`value` with every `{step.field}` replaced from the answers so far (nested dicts and lists too)."""
    if isinstance(value, dict):
        return {k: fill(v, answers) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, answers) for v in value]
    if not isinstance(value, str):
        return value
    whole = PLACEHOLDER.fullmatch(value)
    if whole:                                # a lone placeholder keeps the answer's type
        return _field(answers, *whole.groups())
    return PLACEHOLDER.sub(lambda m: str(_field(answers, *m.groups())), value)


def _field(answers: dict[str, dict], step: str, name: str):
    answer = answers.get(step)
    if not isinstance(answer, dict) or name not in answer:
        raise KeyError(f"{step}.{name}: the {step} answer has no field {name!r} (it was {answer!r:.200})")
    return answer[name]


@dataclass
class Trial:
    """One transfer: the answers, the files' sha256 as the target reads them, and what the service said."""

    number: int
    answers: dict[str, dict] = field(default_factory=dict)
    source: str | None = None
    destination: str | None = None
    sha256: dict[str, str | None] = field(default_factory=dict)
    claimed: object = None
    waited_s: float | None = None
    problem: str | None = None

    def facts(self, claim_value) -> list[Fact | Undecided]:
        name = f"transfer {self.number}"
        if self.problem:
            return [Undecided(f"{name}: destination equals the source (sha256 on the target)", self.problem,
                              details=self.as_dict())]
        src, dst = self.sha256.get("source"), self.sha256.get("destination")
        same = src is not None and src == dst and self.source != self.destination
        said = self.claimed == claim_value
        observed = {"source": src, "destination": dst, "paths": [self.source, self.destination]}
        return [Fact(f"{name}: destination equals the source (sha256 on the target)", same,
                     "the same sha256 at both ends, two different files", observed, details=self.as_dict()),
                Fact(f"{name}: the service's claim agrees with the measurement", said == same,
                     f"{claim_value!r} exactly when both ends match", {"claimed": self.claimed, "ends_match": same},
                     details=self.as_dict())]

    def as_dict(self) -> dict:
        return {"trial": self.number, "answers": self.answers, "source": self.source,
                "destination": self.destination, "sha256": self.sha256, "claimed": self.claimed,
                "waited_s": self.waited_s, **({"problem": self.problem} if self.problem else {})}


def spec_of(profile) -> dict:
    spec = (profile.data.get("api") or {}).get("transfer")
    if not spec:
        raise ProfileError(f"{profile.path}: api.transfer names no transfer to check")
    return spec


def sha256_on(stack, path: str) -> str | None:
    """The file's sha256 as the target computes it (sudo where it may: data folders are the service's)."""
    quoted = shlex.quote(path)
    result = stack.target.run(f"sudo -n sha256sum -- {quoted} 2>/dev/null || sha256sum -- {quoted}", timeout=60)
    digest = (result.stdout or "").split()[:1]
    return digest[0] if result.exit_status == 0 and digest and len(digest[0]) == 64 else None


def run_trial(number: int, protocol, stack, spec: dict) -> Trial:
    """create, submit, poll status until done (or the timeout), then read both files on the target."""
    trial = Trial(number)
    try:
        for step in ("create", "submit"):
            call = spec[step]
            trial.answers[step] = protocol.call(fill(call["operation"], trial.answers),
                                                fill(call.get("body"), trial.answers), call.get("role"))
        status = spec["status"]
        done = status.get("done") or {}
        pending = set(done.get("not") or [])
        deadline = time.monotonic() + float(status.get("timeout_s", 30))
        started = time.monotonic()
        while True:
            trial.answers["status"] = protocol.call(fill(status["operation"], trial.answers), None, status.get("role"))
            if trial.answers["status"].get(done.get("field", "state")) not in pending:
                break
            if time.monotonic() > deadline:
                trial.problem = f"still pending after {status.get('timeout_s', 30)} s: {trial.answers['status']}"
                return trial
            time.sleep(0.2)
        trial.waited_s = round(time.monotonic() - started, 3)
        trial.source = str(fill(spec["source"]["path"], trial.answers))
        trial.destination = str(fill(spec["destination"]["path"], trial.answers))
        trial.claimed = trial.answers["status"].get(spec["claim"]["field"])
    except (KeyError, OSError) as exc:
        trial.problem = f"{type(exc).__name__}: {exc}"
        return trial
    trial.sha256 = {"source": sha256_on(stack, trial.source), "destination": sha256_on(stack, trial.destination)}
    if trial.sha256["source"] is None:
        trial.problem = f"the source {trial.source} cannot be read on the target"
    return trial


def check(protocol, stack, trials: int) -> tuple[list[Fact | Undecided], list[dict]]:
    """`trials` transfers, two facts each; also the trials themselves for the evidence's artifact."""
    spec = spec_of(stack.profile)
    runs = [run_trial(n, protocol, stack, spec) for n in range(1, trials + 1)]
    claim_value = spec["claim"].get("verified", "verified")
    return [f for run in runs for f in run.facts(claim_value)], [run.as_dict() for run in runs]
