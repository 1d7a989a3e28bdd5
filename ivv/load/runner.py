"""Locust as a library: one run of a `LoadSpec` on this machine, headless, and its outputs.

Run in its own process (`python -m ivv.load.run`): importing Locust monkey-patches the interpreter with
gevent. The run ends by the clock: users stop calling at `end_at`, the runner waits for calls still in
flight (bounded by the call timeout), then quits. Outputs in the out dir:
result.json (figures + per-second series), requests.csv (every call), locust_*.csv and locust_report.html
(Locust's own statistics and report), latency.svg.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import gevent
from locust.env import Environment
from locust.html import get_html_report
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV, StatsCSVFileWriter, stats_history

from ivv.load import http_user, jsonrpc_user
from ivv.load.recorder import CALL_FIELDS, Recorder
from ivv.load.spec import LoadSpec
from ivv.load.stats import summarize, time_series
from ivv.report import plots

DRAIN_MARGIN_S = 1.0


# The Locust user of each protocol: (make_user_class(spec, token), in_flight()).
USERS = {"jsonrpc-ws": (jsonrpc_user.make_user_class, jsonrpc_user.JsonRpcConnection.in_flight),
         "http": (http_user.make_user_class, http_user.in_flight)}


def make_environment(spec: LoadSpec, token: str | None) -> tuple[Environment, type]:
    user = USERS[spec.protocol][0](spec, token)
    env = Environment(user_classes=[user], host=user.host)     # each user class says its host form
    return env, user


def wait_for_drain(timeout_s: float, spec: LoadSpec) -> None:
    """Give calls still in flight in this process (counted by the spec's protocol's users) their chance
    to answer or time out."""
    in_flight = USERS[spec.protocol][1]
    deadline = time.time() + timeout_s + DRAIN_MARGIN_S
    while in_flight() and time.time() < deadline:
        gevent.sleep(0.05)


def run_local(spec: LoadSpec, token: str | None, out_dir: Path) -> dict:
    """Closed or open model with Locust's LocalRunner; returns the result written to result.json."""
    env, user = make_environment(spec, token)
    recorder = Recorder(env)
    runner = env.create_local_runner()
    writer = start_csv(env, out_dir)
    started, cpu0 = time.time(), time.process_time()
    user.end_at = started + spec.duration_s
    runner.start(spec.users, spawn_rate=spec.spawn_rate)
    gevent.sleep(max(0.0, user.end_at - time.time()))
    wait_for_drain(spec.timeout_s, spec)
    ended, cpu_s = time.time(), time.process_time() - cpu0
    runner.quit()
    return finish(env, spec, recorder, started, ended, out_dir, writer, workers=0,
                  extra={"generator_cpu_s": cpu_s})


def start_csv(env: Environment, out_dir: Path) -> tuple[StatsCSVFileWriter, list]:
    writer = StatsCSVFileWriter(env, PERCENTILES_TO_REPORT, str(out_dir / "locust"), full_history=True)
    greenlets = [gevent.spawn(writer.stats_writer), gevent.spawn(stats_history, env.runner)]
    return writer, greenlets


def finish(env, spec, recorder, started, ended, out_dir: Path, writer, workers: int, extra: dict | None = None) -> dict:
    """Stop the CSV writer, write the final Locust CSVs + HTML, our figures, every call and the plot."""
    csv_writer, greenlets = writer
    gevent.killall(greenlets)
    csv_writer.close_files()
    final = StatsCSV(env, PERCENTILES_TO_REPORT)
    for name, write in (("stats", final.requests_csv), ("failures", final.failures_csv),
                        ("exceptions", final.exceptions_csv)):
        with open(out_dir / f"locust_{name}.csv", "w", newline="") as f:
            write(csv.writer(f))
    (out_dir / "locust_report.html").write_text(get_html_report(env, show_download_link=False))
    with open(out_dir / "requests.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CALL_FIELDS)
        for call in sorted(recorder.calls):
            w.writerow((f"{call[0]:.6f}", f"{call[1]:.3f}", *call[2:5], f"{call[5]:.3f}", call[6] or ""))
    total = env.stats.total
    summary = summarize(recorder.calls, recorder.setup, dict(recorder.connections), started, ended)
    series = time_series(recorder.calls, started)
    spec_data = json.loads(spec.to_json())
    result = {
        "spec": spec_data, "model": spec.model, "workers": workers, "started": started, "ended": ended,
        "summary": summary, "series": series,
        "locust": {"requests": total.num_requests, "failures": total.num_failures,
                   "avg_ms": total.avg_response_time, "p95_ms": total.get_response_time_percentile(0.95),
                   "max_ms": total.max_response_time},
        **(extra or {}),
    }
    (out_dir / "result.json").write_text(json.dumps(result, indent=1, sort_keys=True))
    plots.latency_plot(series, out_dir / "latency.svg", title=f"{spec.model} model, {spec.users} users")
    return result
