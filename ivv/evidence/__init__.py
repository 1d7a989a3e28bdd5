"""The evidence spine: records in, verdicts out, one way.

- `journal.py`: `Record` (frozen, plain data), `Journal` (append-only evidence.jsonl, fsync'ed per record,
  hash-chained), `Recorder` (the `evidence` fixture: `measure`, `check`, `gap`, `artifact`).
- `chain.py`: the hash chain over journal lines (`prev`), and walking it to find where it breaks.
- `bundle.py`: the run bundle folder (create, manifest, checkpoints, seal, load).
- `integrity.py`: the manifest's seal (chain head, file digests, optional HMAC) and `verify()`.
- `thresholds.py`: `Threshold(op, value, unit)`: checks a value, prints `< 50 ms`.
- `verdict.py`: the `Verdict`, `Decision` and `ExitStatus` enums, and the worst-of order.
- `rederive.py`: every record's verdict recomputed from its value and the gate's threshold.
- `binding.py`: the measurement that decides a criterion on a target, its repeats, outliers.
- `verdicts.py`: `derive()`: criterion verdicts per target and the gate decision (verdicts.json).
- `facts.py`: `Fact` / `Undecided`, the positive-control and minimum-observation rules.
- `claim.py`: what n trials or calls show (the rule of three, Clopper-Pearson bounds, calls needed for a rate).
- `redact.py`: the secret registry every writer passes its text through.
- `merge.py`: device bundles merged into one fleet bundle (each verified first, no device counted twice).
- `baseline.py`: a run's figures and its baseline's (binding values, raw samples), the baseline copied in.
- `regression.py`: the gate's regression limits and the one rule that judges a change (trend.* criteria).
"""
