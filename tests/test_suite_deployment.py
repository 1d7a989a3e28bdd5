"""The deployment suite on the virtual device with the reference stack: every check it makes passes,
and the figures a reviewer reads (install time, unit states, modes, TLS per environment) are recorded."""

import opsrun
import pytest

pytestmark = pytest.mark.vdevice


def test_deployment_suite_passes_on_the_reference_stack(vdevice, tmp_path):
    run = opsrun.run_gate(tmp_path, vdevice, "deployment", opsrun.gate_file(tmp_path), timeout=900)
    try:
        for criterion in ("ops.deploy", "ops.env_config", "ops.data_preserved"):
            assert run.verdict(criterion) == "PASS", run.explain()
        install = [r for r in run.records("ops.deploy") if r["kind"] == "measurement"]
        assert len(install) == 1 and 0 < install[0]["value"] <= 600 and install[0]["unit"] == "s"
        names = " | ".join(r["name"] for r in run.records())
        for fact in ("restart policy", "readable by", "0600", "speaks TLS: True", "speaks TLS: False",
                     "forced rotation", "second install changes no installed file", "uninstall keeps every data"):
            assert fact in names, f"no evidence about {fact!r}: {names}"
        assert (run.bundle / "gate-review.md").exists()
    finally:
        opsrun.restore_current(vdevice)
