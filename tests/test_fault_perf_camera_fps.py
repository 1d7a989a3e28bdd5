"""perf.camera_fps can FAIL: a camera that stalls while the RPC API stays fast.

`camera_stall=0.5` freezes the test-pattern camera half a second after its first frame (its /state still
says online, so the stack stays ready); under the nominal load the RPC p95 still PASSes while the camera
figure FAILs. The clean stack is the positive control (both PASS); a profile without a frame source, and a
frame route nobody answers on, are NOT VERIFIED with the reason, never PASS.
"""

import socket
from dataclasses import replace

import pytest

from ivv.config.gates import GateSet
from ivv.config.profile import Profile
from ivv.load import figures
from ivv.load import suite as perf
from ivv.load.camera_watch import FrameRoute, FrameWatcher
from ivv.load.frames import FrameSpec

CRITERIA = ["perf.camera_fps", "perf.p95_ms"]


@pytest.fixture(scope="module")
def gates():
    return GateSet.load(["production-readiness"])


def nominal(gates, endpoint, out):
    settings = {**gates.setting("load"), "duration_s": 6, "spawn_rate": 50}
    outcome = perf.run(endpoint, settings, out, camera=gates.setting("camera"))
    return outcome, perf.evaluate(outcome, gates, CRITERIA)


@pytest.mark.slow
def test_fault_perf_camera_fps_stalled_camera_fails_while_rpc_passes(gates, profile, local_stack_factory, tmp_path):
    results = {}
    for name, faults in (("clean", {}), ("stall", {"camera_stall": 0.5})):
        endpoint = perf.endpoint_for(local_stack_factory(faults=faults))
        assert endpoint.frames is not None and endpoint.frames.relay is None  # read straight from its port
        results[name] = nominal(gates, endpoint, tmp_path / name)
    (clean, clean_v), (stall, stall_v) = results["clean"], results["stall"]
    assert {c: v["verdict"] for c, v in clean_v.items()} == {"perf.camera_fps": "PASS", "perf.p95_ms": "PASS"}
    assert {c: v["verdict"] for c, v in stall_v.items()} == {"perf.camera_fps": "FAIL", "perf.p95_ms": "PASS"}
    good = perf.camera_figure(clean, "")
    frozen = perf.camera_figure(stall, "")
    assert good.details["delivered"] >= 0.8 * good.details["expected"] and good.details["invalid"] == 0
    assert frozen.value == 0 and frozen.details["answered"] >= 1 and frozen.details["dropped"] > 40
    assert (clean.out_dir / "frames.csv").read_text().count("\n") > 40


@pytest.mark.slow
def test_fault_perf_camera_fps_no_frame_source_is_not_verified(gates, profile, local_stack_factory, tmp_path):
    stack = local_stack_factory()
    camera = {k: v for k, v in profile.camera.items() if k != "stream"}
    stack.profile = Profile(profile.path, {**profile.data, "camera": camera})
    endpoint = perf.endpoint_for(stack)
    assert endpoint.frames is None and "camera.stream" in endpoint.extra["frames"]
    _outcome, verdicts = nominal(gates, endpoint, tmp_path)
    assert verdicts["perf.camera_fps"]["verdict"] == "NOT VERIFIED"
    assert "camera.stream" in verdicts["perf.camera_fps"]["reason"]
    assert verdicts["perf.p95_ms"]["verdict"] == "PASS"


def test_a_frame_route_nobody_answers_on_is_not_measured():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    spec = FrameSpec("media", "stream", "/stream", 640, 480, 10)
    watch = FrameWatcher(FrameRoute(spec, "127.0.0.1", port, port), max_duration_s=1.2).start().stop()
    assert watch.events and all(kind == "E" for kind, _t, _p in watch.events)
    figure = figures.camera_figure(None, "route", 0, {"connect": len(watch.events)}, "shape")
    assert figure.value is None and "never answered" in figure.details["reason"]
    assert replace(spec, mode="snapshot").mode == "snapshot"
