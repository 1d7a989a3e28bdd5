"""The deployment suite on the virtual device with the reference stack: every check it makes passes,
and the figures a reviewer reads (install time, unit states, modes, TLS per environment) are recorded."""

import opsrun
import pytest

pytestmark = pytest.mark.vdevice


def test_deployment_suite_passes_on_the_reference_stack(vdevice, tmp_path_factory):
    run = opsrun.shared_cdr_run(vdevice, tmp_path_factory)
    for criterion in ("ops.deploy", "ops.env_config"):
        assert run.verdict(criterion) == "PASS", run.explain()
    install = [r for r in run.records("ops.deploy") if r["kind"] == "measurement"]
    assert len(install) == 1 and 0 < install[0]["value"] <= 600 and install[0]["unit"] == "s"
    names = " | ".join(r["name"] for r in run.records() if r.get("suite") == "deployment" or
                       r.get("criterion") in ("ops.deploy", "ops.env_config"))
    for fact in ("restart policy", "readable by", "mode 0600", "speaks TLS: True", "speaks TLS: False",
                 "forced rotation", "second install changes no installed file", "uninstall removes the units",
                 "reinstall after uninstall"):
        assert fact in names, f"no evidence about {fact!r}: {names}"
    kept = next(r for r in run.records("ops.data_preserved") if "uninstall keeps every data file" in r["name"])
    assert kept["verdict"] == "PASS"
