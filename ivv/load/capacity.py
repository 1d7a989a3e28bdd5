"""The capacity search, as pure logic: which open-model rate to try next, when to stop, what was found.

The search raises the arrival rate in steps (`start_rate`, times `step_factor`, up to `max_rate`) until a
step is over a limit, then bisects between the highest clean rate and the lowest failing one. A step is
judged against the gate's own thresholds of the criteria named in `capacity.limits` (by default the p95
latency and the error rate), on the calls due after the step's warm-up, so a queue that builds up during
the step fails it. A step where the generator fell behind its own schedule (send lag p99 over
`capacity.max_send_lag_p99_ms`) proves nothing about the stack: it ends the search and does not count.

What the search can claim (`Conclusion`): the highest clean rate is always a true lower bound of the
capacity; with a failing rate above it the capacity is bracketed (the knee). Against the gate's minimum:
a lower bound at or over the minimum is a PASS; a bracket whose failing rate is at or under the minimum
is a FAIL; anything else (a lower bound under the minimum without a failing rate to show the stack
cannot do more, or a minimum inside the bracket) is NOT VERIFIED with the reason. When the minimum lies
inside the bracket the next probe is the minimum itself, so the verdict is decided by a measurement.
No Locust, no network: used by the load process (`capacity_run`) and tested without a service.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ivv.errors import ConfigError
from ivv.evidence.thresholds import Threshold

JUDGEABLE = ("perf.p95_ms", "perf.avg_response_ms", "perf.error_rate")
CLEAN, OVER, GENERATOR = "clean", "over", "generator"
SETTLE_S = 0.5          # pause between steps, after the drain, so one step's backlog never starts the next


@dataclass(frozen=True)
class CapacitySettings:
    """The gate's `capacity` mapping, validated (errors name the field)."""

    start_rate: float = 20.0
    step_factor: float = 2.0
    step_s: float = 8.0
    warmup_s: float = 2.0
    max_rate: float = 1000.0
    bisect_steps: int = 3
    max_seconds: float = 120.0
    max_send_lag_p99_ms: float = 50.0
    resolution: float = 0.05       # stop bisecting when the bracket is narrower than this share of its top
    users: int = 10
    limits: tuple[str, ...] = ("perf.p95_ms", "perf.error_rate")

    @classmethod
    def from_settings(cls, settings: dict | None, source: str = "gate settings") -> CapacitySettings:
        settings = dict(settings or {})
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown capacity settings {unknown} (known: {sorted(known)})")
        values: dict[str, Any] = {}
        for name in known - {"limits"}:
            if name not in settings:
                continue
            value = settings[name]
            integer = name in ("bisect_steps", "users")
            zero_ok = name in ("warmup_s", "bisect_steps")
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or \
                    (value == 0 and not zero_ok) or (integer and int(value) != value):
                kind = "a whole number" if integer else "a number"
                raise ConfigError(f"{source}: capacity.{name} must be {kind} {'>= 0' if zero_ok else '> 0'}, "
                                  f"got {value!r}")
            values[name] = int(value) if integer else float(value)
        out = cls(**values, **({"limits": cls._limits(settings["limits"], source)} if "limits" in settings else {}))
        if out.step_factor <= 1:
            raise ConfigError(f"{source}: capacity.step_factor must be > 1, got {out.step_factor:g}")
        if out.warmup_s >= out.step_s:
            raise ConfigError(f"{source}: capacity.warmup_s ({out.warmup_s:g}) must be shorter than "
                              f"capacity.step_s ({out.step_s:g})")
        if out.start_rate > out.max_rate:
            raise ConfigError(f"{source}: capacity.start_rate ({out.start_rate:g}) is over capacity.max_rate "
                              f"({out.max_rate:g})")
        return out

    @staticmethod
    def _limits(value, source: str) -> tuple[str, ...]:
        if not isinstance(value, list | tuple) or not value or any(v not in JUDGEABLE for v in value):
            raise ConfigError(f"{source}: capacity.limits must be a non-empty list of {list(JUDGEABLE)}, "
                              f"got {value!r}")
        return tuple(value)

    @property
    def max_calls(self) -> int:
        """An upper bound of the calls a whole search can make (bounds every user's loop)."""
        return int(self.max_rate * self.max_seconds) + 1


@dataclass
class Step:
    """One step of the search as measured: its rate, its figures on the judged window, and the verdict."""

    index: int
    rate: float
    phase: str                     # "step", "bisect" or "minimum"
    verdict: str = ""              # clean, over or generator
    reasons: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0           # wall clock of the step's schedule (warm-up included)
    ended: float = 0.0
    judged_from: float = 0.0       # wall clock from which calls were judged (after the warm-up)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge(values: dict[str, tuple[float | None, str]], limits: dict[str, Threshold], send_lag_p99_ms: float | None,
          max_send_lag_p99_ms: float) -> tuple[str, list[str]]:
    """A step's verdict from its figures: {criterion: (value, unit)} against the gate's thresholds."""
    if send_lag_p99_ms is None or send_lag_p99_ms > max_send_lag_p99_ms:
        lag = "no calls were sent" if send_lag_p99_ms is None else f"send lag p99 {send_lag_p99_ms:.1f} ms"
        return GENERATOR, [f"limited by the load generator: {lag} (bound {max_send_lag_p99_ms:g} ms)"]
    reasons = []
    for criterion, threshold in limits.items():
        value, unit = values.get(criterion, (None, None))
        if value is None:
            reasons.append(f"{criterion}: not measured")
        elif not threshold.check(value, unit):
            reasons.append(f"{criterion} {value:.2f} {unit} not {threshold.text}")
    return (OVER if reasons else CLEAN), reasons


class Search:
    """Plans the rates: steps up until a step is over a limit, then bisects; `next_rate` says what next.

    `minimum` is the gate's threshold of the capacity criterion (None: no minimum); it is probed when
    it lies inside the bracket, so a verdict against it rests on a measurement.
    """

    def __init__(self, settings: CapacitySettings, minimum: Threshold | None = None):
        self.settings = settings
        self.minimum = minimum
        self.steps: list[Step] = []
        self.stop_reason: str | None = None
        self._bisected = 0

    # -- the bracket -----------------------------------------------------------------------------
    @property
    def clean(self) -> float | None:
        rates = [s.rate for s in self.steps if s.verdict == CLEAN]
        return max(rates) if rates else None

    @property
    def failing(self) -> float | None:
        rates = [s.rate for s in self.steps if s.verdict == OVER]
        return min(rates) if rates else None

    def record(self, step: Step) -> None:
        if step.verdict not in (CLEAN, OVER, GENERATOR):
            raise ValueError(f"step {step.index}: verdict {step.verdict!r}")
        self.steps.append(step)
        if step.phase != "step":
            self._bisected += 1

    # -- what next -------------------------------------------------------------------------------
    def next_step(self, elapsed_s: float, step_cost_s: float | None = None) -> tuple[float, str] | None:
        """The next (rate, phase), or None with `stop_reason` set. `step_cost_s`: what a step has cost."""
        s = self.settings
        if self.stop_reason:
            return None
        last = self.steps[-1] if self.steps else None
        if last is not None and last.verdict == GENERATOR:
            return self._stop(f"limited by the load generator at {last.rate:g} req/s ({'; '.join(last.reasons)})")
        cost = step_cost_s if step_cost_s is not None else s.step_s + SETTLE_S
        if elapsed_s + cost > s.max_seconds:
            return self._stop(f"time budget: {elapsed_s:.0f} s spent, another step would pass "
                              f"capacity.max_seconds ({s.max_seconds:g} s)")
        if last is None:
            return s.start_rate, "step"
        low, high = self.clean, self.failing
        if high is None:  # still stepping up
            if last.rate >= s.max_rate:
                return self._stop(f"every step was clean up to capacity.max_rate ({s.max_rate:g} req/s)")
            return min(last.rate * s.step_factor, s.max_rate), "step"
        low = low or 0.0
        if self._bisected >= s.bisect_steps:
            return self._stop(f"bisection done ({s.bisect_steps} steps): capacity between {low:g} and {high:g} "
                              "req/s")
        if low and (high - low) / high < s.resolution:
            return self._stop(f"bracket {low:g}-{high:g} req/s is within {100 * s.resolution:g} %")
        probe = self._minimum_probe(low, high)
        if probe is not None:
            return probe, "minimum"
        return round((low + high) / 2.0, 3), "bisect"

    def _minimum_probe(self, low: float, high: float) -> float | None:
        m = self.minimum
        if m is None or m.op not in (">", ">="):
            return None
        rate = m.value if m.op == ">=" else m.value * 1.01
        tried = any(abs(st.rate - rate) < 1e-9 for st in self.steps)
        return rate if low < rate < high and not tried else None

    def _stop(self, reason: str) -> None:
        self.stop_reason = reason
        return None

    # -- what it found ---------------------------------------------------------------------------
    def conclusion(self) -> Conclusion:
        return Conclusion.of(self.clean, self.failing, self.stop_reason or "not run", self.minimum,
                             any(s.verdict == GENERATOR for s in self.steps))


@dataclass(frozen=True)
class Conclusion:
    """What the search may claim. `verdict`: PASS, FAIL or NOT VERIFIED against the gate's minimum,
    `value`: the capacity figure recorded (the highest clean rate, 0 when none was clean)."""

    value: float
    lower: float | None
    upper: float | None
    form: str                      # "knee" (bracketed), "at least" (lower bound only) or "none"
    verdict: str
    reason: str
    stop_reason: str
    generator_limited: bool

    @classmethod
    def of(cls, lower: float | None, upper: float | None, stop_reason: str, minimum: Threshold | None,
           generator_limited: bool) -> Conclusion:
        value = lower or 0.0
        if upper is not None:
            form = "knee"
            text = f"capacity between {value:g} and {upper:g} req/s (highest clean, lowest failing step)"
        elif lower is not None:
            form = "at least"
            text = f"capacity at least {value:g} req/s; no step failed ({stop_reason})"
        else:
            form = "none"
            text = f"no step was judged ({stop_reason})"
        if minimum is None:
            return cls(value, lower, upper, form, "NOT VERIFIED", f"{text}; the gate sets no minimum",
                       stop_reason, generator_limited)
        if lower is not None and minimum.check(value, "req/s"):
            verdict, why = "PASS", f"{text}: meets {minimum.text}"
        elif upper is not None and not minimum.check(upper * (1 - 1e-9), "req/s"):
            verdict, why = "FAIL", f"{text}: a step at {upper:g} req/s, within the minimum {minimum.text}, failed"
        elif upper is not None:
            verdict, why = "NOT VERIFIED", f"{text}: the minimum {minimum.text} lies inside, not decided ({stop_reason})"
        else:
            verdict, why = "NOT VERIFIED", f"{text}: a lower bound under {minimum.text} proves nothing"
        return cls(value, lower, upper, form, verdict, why, stop_reason, generator_limited)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
