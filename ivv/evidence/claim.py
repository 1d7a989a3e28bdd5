"""What n trials support: the rule of three, and whether the gate's required failure rate is reached.

With 0 failures in n independent trials, the failure rate is below 3/n at 95 % confidence (the exact
bound is 1 - 0.05^(1/n), which 3/n approaches from above, so 3/n is the safe side). A gate may state the
failure rate it needs (`resilience.required_failure_rate`); fewer than 3/rate clean trials cannot support
it, and the criterion stays NOT VERIFIED with that reason. With failures no bound is claimed: each failed
trial is listed instead. Many calls with some failed (a load's error rate) have the exact one-sided
Clopper-Pearson bound, `upper_bound`, which is what "below x % of calls fail" can rest on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CONFIDENCE = 0.95


def percent(rate: float) -> str:
    """A rate as the report prints it: `30 %`, `0.5 %`."""
    value = rate * 100
    text = f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.2g}"
    return f"{text} %"


def trials_needed(rate: float) -> int:
    """Clean trials needed before 3/n drops to `rate` or below."""
    if not 0 < rate <= 1:
        raise ValueError(f"a required failure rate must be in (0, 1], got {rate!r}")
    return math.ceil(3 / rate - 1e-9)


def _binomial_cdf(failures: int, trials: int, p: float) -> float:
    """P(X <= failures) for X ~ Binomial(trials, p), summed in log space (no overflow for large n)."""
    if p <= 0:
        return 1.0
    if p >= 1:
        return 0.0 if failures < trials else 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    lg = math.lgamma(trials + 1)
    return min(1.0, sum(math.exp(lg - math.lgamma(k + 1) - math.lgamma(trials - k + 1) + k * log_p
                                 + (trials - k) * log_q) for k in range(failures + 1)))


def upper_bound(failures: int, trials: int, confidence: float = CONFIDENCE) -> float:
    """The exact one-sided upper confidence bound on a failure rate after `failures` of `trials` failed
    (Clopper-Pearson: the p at which seeing that few failures has probability 1 - confidence); 1.0 with
    no trials."""
    if trials <= 0 or failures >= trials:
        return 1.0
    low, high = failures / trials, 1.0
    for _ in range(60):                                  # bisection to well below a display digit
        middle = (low + high) / 2
        low, high = (middle, high) if _binomial_cdf(failures, trials, middle) > 1 - confidence else (low, middle)
    return high


def calls_needed(rate: float, confidence: float = CONFIDENCE) -> int:
    """Trials without a failure before `upper_bound` drops below `rate` (299 for 1 %, 29 for 10 %)."""
    if not 0 < rate < 1:
        raise ValueError(f"a failure rate bound must be in (0, 1), got {rate!r}")
    return math.floor(math.log(1 - confidence) / math.log1p(-rate)) + 1


@dataclass(frozen=True)
class Claim:
    """The statement n trials with `failures` failed ones support."""

    trials: int
    failures: int
    required_rate: float | None = None

    @property
    def bound(self) -> float | None:
        """Upper bound on the failure rate (rule of three), None when a trial failed or none ran."""
        if self.failures or self.trials <= 0:
            return None
        return min(1.0, 3 / self.trials)

    @property
    def exact_bound(self) -> float | None:
        if self.failures or self.trials <= 0:
            return None
        return 1 - (1 - CONFIDENCE) ** (1 / self.trials)

    @property
    def needed(self) -> int | None:
        return trials_needed(self.required_rate) if self.required_rate else None

    @property
    def enough(self) -> bool:
        """Do the trials support the gate's required rate (True when the gate requires none)?"""
        return self.needed is None or (self.failures == 0 and self.trials >= self.needed)

    @property
    def text(self) -> str:
        if self.trials <= 0:
            return "no trial ran: nothing is claimed"
        if self.failures:
            return (f"{self.failures} of {self.trials} trials failed: no bound on the failure rate is claimed "
                    "(each failed trial is listed)")
        bound = self.bound
        said = ("no bound below 100 % (3/n drops below 100 % from 4 trials on)" if bound >= 1 else
                f"failure rate below {percent(bound)} at 95 % confidence (rule of three: 3/{self.trials})")
        out = f"0 failures in {self.trials} trial{'s' if self.trials != 1 else ''}: {said}"
        if self.required_rate and not self.enough:
            out += (f"; the gate asks for below {percent(self.required_rate)}, which needs at least "
                    f"{self.needed} trials without failure")
        elif self.required_rate:
            out += f"; meets the gate's required rate below {percent(self.required_rate)}"
        return out

    def as_dict(self) -> dict:
        return {"trials": self.trials, "failures": self.failures, "bound": self.bound,
                "exact_bound": self.exact_bound, "required_rate": self.required_rate, "needed": self.needed,
                "enough": self.enough, "text": self.text}
