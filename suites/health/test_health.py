"""Is monitoring operational: does every health endpoint answer, in its documented shape, truthfully?"""

import pytest

from ivv.errors import CapabilityMissing
from ivv.health import latency, readiness
from ivv.stack.base import Capability


def _shown(wait: dict) -> dict:
    """The last answer of a wait, as the report shows it: time, HTTP code and body."""
    last = wait.get("last") or {}
    return {"elapsed_s": wait.get("elapsed_s"), "http": last.get("status_code"), "body": last.get("body")}


@pytest.mark.criterion("ops.monitoring")
def test_endpoints_match_schema_and_status_codes(evidence, health_ops):
    for endpoint in health_ops.endpoints:
        answer = health_ops.probe(endpoint)
        art = evidence.artifact(f"{endpoint.name}.json", health_ops.dump(answer.summary()))
        shown = {"http": answer.status_code, "body": answer.body}
        if not endpoint.schema:
            evidence.gap("ops.monitoring", f"{endpoint.path}: the profile documents no schema for its body, so its "
                         "shape cannot be checked", details=shown)
        else:
            errors = readiness.schema_errors(answer.body, endpoint.schema) if answer.answered else [answer.error]
            evidence.check("ops.monitoring", f"{endpoint.path} body matches its documented schema", not errors,
                           expected="valid against the profile's schema", observed=errors or answer.body,
                           artifacts=[art], details=shown if not errors else {"errors": errors, **shown})
        ok, reason = readiness.consistency(answer, endpoint.status_codes)
        evidence.check("ops.monitoring", f"{endpoint.path} status code agrees with the body", ok,
                       expected=endpoint.status_codes, observed=reason, artifacts=[art],
                       details={"judged": reason, "http": answer.status_code, "status": answer.body_status})


@pytest.mark.criterion("ops.monitoring")
def test_ready_while_everything_runs(evidence, health_ops):
    answer = health_ops.probe(health_ops.ready_endpoint)
    try:
        device = health_ops.device_view()
    except CapabilityMissing as exc:
        evidence.gap("ops.monitoring", f"readiness truth: nothing on the device to compare with ({exc})")
        return
    if not device["components"]:
        evidence.gap("ops.monitoring", "readiness truth: the profile names no unit or process to compare with")
        return
    evidence.check("ops.monitoring", "readiness says ready while every component runs on the device",
                   answer.is_ready and device["all_running"], expected="ready, and every unit active",
                   observed={"health": answer.summary(), "device": device})


@pytest.mark.criterion("ops.monitoring")
def test_readiness_follows_the_dependency(evidence, health_ops):
    """Stop the dependency: ready must turn 503 within the bound; start it: back to 200."""
    if health_ops.dependency is None:
        pytest.skip(f"readiness truth: {health_ops.stack} can neither stop a media component nor remove the camera")
    result = health_ops.dependency_cycle()
    art = evidence.artifact("dependency-cycle.json", health_ops.dump(result))
    evidence.check("ops.monitoring", "readiness stably ready before the dependency is stopped",
                   result["baseline"]["reached"],
                   expected=f"{result['baseline']['in_a_row']} ready answers in a row within {result['timeout_s']} s",
                   observed=result["baseline"], artifacts=[art], details=_shown(result["baseline"]))
    if not result["baseline"]["reached"]:
        return
    evidence.check("ops.monitoring", "dependency stopped: readiness reports not ready (503) and stays so",
                   result["down"]["reached"] and result["down"]["consistent"],
                   expected=f"{result['down']['in_a_row']} not-ready answers in a row within {result['timeout_s']} s", observed=result["down"], artifacts=[art],
                   details=_shown(result["down"]))
    evidence.check("ops.monitoring", "device confirms the dependency was really stopped",
                   not result["device_while_down"]["all_running"], expected=f"{result['dependency']} confirmed away on the device",
                   observed=result["device_while_down"])
    evidence.check("ops.monitoring", "dependency started: readiness stably ready again within the bound",
                   result["up"]["reached"],
                   expected=f"{result['up']['in_a_row']} ready answers in a row within {result['timeout_s']} s",
                   observed=result["up"], artifacts=[art], details=_shown(result["up"]))


@pytest.mark.criterion("ops.monitoring")
def test_camera_health_follows_the_camera(evidence, health_ops):
    result = health_ops.camera_cycle()
    if result is None:
        pytest.skip("camera health: this target/profile offers no way to remove the camera")
    art = evidence.artifact("camera-cycle.json", health_ops.dump(result))
    evidence.check("ops.monitoring", "camera removed: camera health reports unhealthy", result["removed"]["reached"],
                   expected="unhealthy (and a non-2xx code)", observed=result["removed"], artifacts=[art],
                   details=_shown(result["removed"]))
    evidence.check("ops.monitoring", "camera restored: camera health reports healthy again",
                   result["restored"]["reached"], expected="healthy", observed=result["restored"], artifacts=[art],
                   details=_shown(result["restored"]))


@pytest.mark.criterion("ops.monitoring")
def test_start_to_ready_time(evidence, health_ops):
    """Judged by the gate setting `health.start_to_ready_s` where the gate has one; without it only
    "ready again" is judged (the harness's own wait is no requirement)."""
    if not health_ops.can(Capability.CONTROL):
        pytest.skip(f"restart to ready: {health_ops.stack} cannot restart its service")
    result = health_ops.restart_to_ready()
    if health_ops.setting("health.start_to_ready_s") is None:
        evidence.check("ops.monitoring", "service restart to ready (no time required by the gate)",
                       result["reached"], expected=f"ready within the harness's {health_ops.transition_timeout_s:g} s wait",
                       observed=result, details=result)
        return
    evidence.measure("ops.monitoring", "service restart to ready", result["elapsed_s"] if result["reached"] else None,
                     unit="s", setting="health.start_to_ready_s", details=result)


@pytest.mark.criterion("ops.monitoring")
def test_endpoint_latency_percentiles(evidence, health_ops):
    """Every call must answer; p95 is judged only where the gate sets `health.latency_p95_ms`."""
    samples, bound = health_ops.latency_samples, health_ops.setting("health.latency_p95_ms") is not None
    columns = ["endpoint", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"]
    for endpoint in health_ops.endpoints:
        latencies, failed = health_ops.sample_latency(endpoint, samples)
        ms = [round(v * 1000, 3) for v in latencies]
        p = latency.percentiles(ms) if ms else None
        table = {"columns": columns, "rows": [[endpoint.path, len(ms)] + (
            [round(p[k], 2) for k in ("p50", "p95", "p99", "max")] if p else ["-"] * 4)]}
        evidence.check("ops.monitoring", f"{endpoint.path}: all {samples} calls answered", not failed and bool(ms),
                       expected=samples, observed={"answered": len(ms), "failed": [f.summary() for f in failed[:3]]},
                       details={"table": table})
        if p and bound:
            evidence.measure("ops.monitoring", f"{endpoint.path} p95 latency over {len(ms)} calls", round(p["p95"], 3),
                             unit="ms", setting="health.latency_p95_ms", details={"table": table},
                             series={"label": f"{endpoint.path} latency per call", "unit": "ms", "values": ms})
