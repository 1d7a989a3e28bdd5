"""Regression limits against a baseline run, and the one rule that judges a change.

A gate declares limits per measured criterion (`regression: {perf.p95_ms: "+20%", ops.rollback_time:
"+30 s"}`, or `{limit: "+20%", min_effect: "10 ms", mandatory: false}`). Each becomes a criterion
`trend.<id>` whose threshold is the limit (`<= 20 %`, `<= 30 s`); its measurement is the worsening
against the baseline that the data make certain, so a PASS means "no regression beyond the limit", as
sure as this run and its baseline can say.

The rule (`judge`), for a limit "+L" (an increase is worse; "-L": a decrease is):
- worsening w = (run - baseline) in the bad direction, minus `min_effect` (the noise floor, in the
  figure's unit; 0 by default), relative to the baseline (x 100 %) for a "%" limit;
- where raw samples exist on both sides (every call's latency, repeated timings), a seeded bootstrap of
  the statistic (B resamples of each side, seed from the criterion id) gives w's distribution; the
  measurement is its lower 2.5 % quantile, the smallest worsening consistent with the data;
- otherwise the measurement is w of the two figures.
The criterion FAILs when even that lower bound exceeds the limit. Why both parts: the bootstrap only
knows the noise within a run (a few % on a p95 of 300 calls), but two identical runs on a shared
2-core TCG host differ far more (p95 3.3 ms against 7.5 ms measured); the gate's `min_effect` is that
run-to-run noise, stated where a reviewer sees it. A relative limit on a baseline of 0 cannot be judged.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from ivv.evidence.thresholds import Threshold, convert

RESAMPLES = 2000
QUANTILE = 0.025
_LIMIT = re.compile(r"^\s*([+-])\s*([0-9]+(?:\.[0-9]+)?)\s*(%|pp|[A-Za-z/]+)\s*$")
_AMOUNT = re.compile(r"^\s*\+?\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z/%]*)\s*$")
STATISTICS = ("p50", "p90", "p95", "p99", "mean", "median", "max", "min")


class LimitError(ValueError):
    """A regression limit that cannot be read."""


@dataclass(frozen=True)
class Limit:
    criterion: str                 # the measured criterion it watches (perf.p95_ms)
    direction: int                 # +1: an increase is worse, -1: a decrease is worse
    amount: float
    relative: bool                 # % of the baseline; else absolute, in `unit`
    unit: str | None
    text: str                      # as the gate wrote it: "+20%"
    min_effect: float = 0.0
    min_effect_unit: str | None = None
    mandatory: bool = True

    @property
    def trend_id(self) -> str:
        return f"trend.{self.criterion}"

    def threshold(self) -> Threshold:
        return Threshold("<=", self.amount, "%" if self.relative else self.unit)

    def describe(self) -> str:
        """`perf.p95_ms at most 20 % above the baseline run's, beyond a noise floor of 10 ms`."""
        floor = f", beyond a noise floor of {self.min_effect:g} {self.min_effect_unit or ''}".rstrip() \
            if self.min_effect else ""
        how = f"{self.amount:g} %" if self.relative else f"{self.amount:g} {self.unit}"
        return f"{self.criterion} at most {how} {'above' if self.direction > 0 else 'below'} the baseline run's{floor}"


def parse(criterion: str, spec) -> Limit:
    """A gate's `regression` entry: text ("+20%", "-10%", "+30 s", "+1 pp") or a mapping."""
    options = dict(spec) if isinstance(spec, dict) else {"limit": spec}
    text = options.get("limit")
    match = _LIMIT.match(str(text)) if isinstance(text, str) else None
    if match is None:
        raise LimitError(f"regression.{criterion}: {text!r} is not a limit; expected a sign, a number and a unit "
                         "such as \"+20%\", \"-10%\", \"+30 s\" or \"+1 pp\" (percentage points)")
    sign, amount, unit = match.groups()
    floor, floor_unit = 0.0, None
    if options.get("min_effect") is not None:
        found = _AMOUNT.match(str(options["min_effect"]))
        if found is None:
            raise LimitError(f"regression.{criterion}.min_effect: {options['min_effect']!r} is not an amount such as "
                             "\"10 ms\"")
        floor, floor_unit = float(found.group(1)), (found.group(2) or None)
    relative = unit == "%"
    return Limit(criterion, 1 if sign == "+" else -1, float(amount), relative,
                 None if relative else ("%" if unit == "pp" else unit), text.strip(), floor,
                 "%" if floor_unit == "pp" else floor_unit, bool(options.get("mandatory", True)))


def statistic(values, name: str, axis=None):
    """A named statistic of samples (`p95`, `mean`, `median`, `max`, `min`), along `axis` if given."""
    import numpy as np

    data = np.asarray(values, dtype=float)
    if name.startswith("p") and name[1:].isdigit():
        return np.percentile(data, float(name[1:]), axis=axis)
    return {"mean": np.mean, "median": np.median, "max": np.max, "min": np.min}[name](data, axis=axis)


def _resampled(rng, values, stat: str, count: int):
    """`count` bootstrap replicates of the statistic, drawn in blocks to bound memory."""
    import numpy as np

    out, block = [], max(1, min(count, 2_000_000 // max(values.size, 1)))
    while len(out) < count:
        n = min(block, count - len(out))
        out.extend(statistic(rng.choice(values, size=(n, values.size), replace=True), stat, axis=1).tolist())
    return np.asarray(out)


@dataclass(frozen=True)
class Change:
    """The worsening of one figure against its baseline, and how sure it is."""

    baseline: float
    run: float
    unit: str | None               # of baseline and run
    point: float | None            # the worsening of the two figures (in % or in the limit's unit)
    bound: float | None            # the recorded measurement: the lower bound (bootstrap) or the point
    unit_of_change: str | None
    method: str                    # bootstrap | figures | undefined
    detail: dict

    @property
    def judged(self) -> bool:
        return self.bound is not None


def _worsening(limit: Limit, base: float, run: float, unit: str | None) -> float | None:
    floor = convert(limit.min_effect, limit.min_effect_unit or unit, unit) if limit.min_effect else 0.0
    worse = limit.direction * (run - base) - floor
    if limit.relative:
        return None if base == 0 else 100.0 * worse / abs(base)
    return convert(worse, unit, limit.unit) if limit.unit else worse


def judge(limit: Limit, base: float, run: float, unit: str | None, base_samples=None, run_samples=None,
          stat: str | None = None) -> Change:
    """The change of `run` against `base` under `limit`; with samples on both sides and a statistic, a
    seeded bootstrap of it (deterministic: the same data give the same bound)."""
    unit_of_change = "%" if limit.relative else (limit.unit or unit)
    point = _worsening(limit, base, run, unit)
    if point is None:
        return Change(base, run, unit, None, None, unit_of_change, "undefined",
                      {"why": "the baseline figure is 0, so a relative limit cannot judge a change; use an "
                              "absolute limit (for example \"+1 pp\" or \"+5 ms\")"})
    if not (base_samples and run_samples and stat in STATISTICS and len(base_samples) > 1 and len(run_samples) > 1):
        return Change(base, run, unit, point, point, unit_of_change, "figures", {})
    import numpy as np

    seed = zlib.crc32(limit.criterion.encode("utf-8"))
    rng = np.random.default_rng(seed)
    b, r = np.asarray(base_samples, dtype=float), np.asarray(run_samples, dtype=float)
    pairs = zip(_resampled(rng, b, stat, RESAMPLES), _resampled(rng, r, stat, RESAMPLES), strict=True)
    draws = [w for w in (_worsening(limit, float(x), float(y), unit) for x, y in pairs) if w is not None]
    if len(draws) < RESAMPLES // 2:
        return Change(base, run, unit, point, point, unit_of_change, "figures", {"bootstrap": "baseline resamples of 0"})
    low, high = (float(q) for q in np.quantile(draws, [QUANTILE, 1 - QUANTILE]))
    sample_point = _worsening(limit, float(statistic(b, stat)), float(statistic(r, stat)), unit)
    return Change(base, run, unit, sample_point, low, unit_of_change, "bootstrap",
                  {"statistic": stat, "resamples": RESAMPLES, "seed": seed, "interval": [low, high],
                   "quantile": QUANTILE, "n_baseline": int(b.size), "n_run": int(r.size)})
