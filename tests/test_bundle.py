"""Run bundles: layout, manifest facts (redacted), the latest link, and loading a bundle back."""

import json
from pathlib import Path

from ivv.config.gates import GateSet, load_gate
from ivv.evidence import redact
from ivv.evidence.bundle import Bundle, current

DEMO = Path(__file__).resolve().parent / "demo"


def test_create_writes_manifest_gate_copy_and_latest_link(tmp_path):
    gates = GateSet([load_gate(DEMO / "demo-gate.yaml")])
    bundle = Bundle.create(tmp_path, "run-1", gates=gates, waiver_files=[DEMO.parent.parent / "deployment" / "waivers" / "example.yaml"])
    manifest = json.loads((tmp_path / "run-1" / "manifest.json").read_text())
    assert manifest["run_id"] == "run-1" and manifest["ended"] is None
    assert manifest["gates"][0]["sha256"] == gates.gates[0].sha256
    assert (tmp_path / "run-1" / "gates" / "demo.yaml").read_bytes() == (DEMO / "demo-gate.yaml").read_bytes()
    assert manifest["harness"]["version"] and manifest["harness"]["git_sha"]
    assert (tmp_path / "latest").resolve() == (tmp_path / "run-1").resolve()
    bundle.recorder().check("demo.file_roundtrip", "session fact", True)
    bundle.finish()
    loaded = Bundle.load(tmp_path / "latest")
    assert loaded.manifest["ended"] and loaded.manifest["format"] == 2
    assert loaded.manifest["seal"]["evidence"]["records"] == 1 and len(loaded.manifest["seal"]["evidence"]["head"]) == 64
    assert loaded.manifest["seal"]["files"]["gates/demo.yaml"] == gates.gates[0].sha256
    assert loaded.verify().status == "verified"
    assert [r.name for r in loaded.records()] == ["session fact"]
    assert loaded.gates.criterion("demo.latency").threshold.text == "< 50 ms"
    assert loaded.waivers()[0].criterion == "security.transport_tls"
    assert current() is None  # only the plugin sets the current bundle


def test_manifest_facts_are_merged_and_redacted(tmp_path):
    bundle = Bundle.create(tmp_path, "run-2")
    redact.register("ssh-password-77")
    try:
        bundle.update_manifest("targets", {"vdev": {"kernel": "6.1", "login": "ssh-password-77"}})
        bundle.update_manifest("targets", {"pi": {"model": "Raspberry Pi 4"}})
        bundle.set_manifest("stack", {"name": "camera-service", "version": "1.2.0"})
    finally:
        redact.clear()
    text = (tmp_path / "run-2" / "manifest.json").read_text()
    assert "ssh-password-77" not in text
    manifest = json.loads(text)
    assert set(manifest["targets"]) == {"vdev", "pi"} and manifest["stack"]["version"] == "1.2.0"
    bundle.finish()


def test_second_bundle_with_same_id_is_refused(tmp_path):
    import pytest

    from ivv.errors import ConfigError
    Bundle.create(tmp_path, "same").finish()
    with pytest.raises(ConfigError, match="already exists"):
        Bundle.create(tmp_path, "same")
