"""Power and network commands of a real device from the inventory, the destructive opt-in, and an attached
virtual device's capabilities (no VM started)."""

from pathlib import Path

import pytest

from ivv.config.inventory import load_inventory
from ivv.errors import CapabilityMissing, TargetError
from ivv.resilience.power import destructive_allowed, power_cut_for
from ivv.targets.hostcontrol import HostCommands
from ivv.targets.qemu import QemuTarget
from ivv.targets.ssh import SshTarget

EXAMPLE = Path(__file__).resolve().parent.parent / "deployment" / "inventory" / "lab-power.example.yaml"


def test_lab_power_example_gives_power_link_and_the_destructive_opt_in(tmp_path):
    key = tmp_path / "id"
    key.write_text("not a real key\n")
    inventory = tmp_path / "lab.yaml"
    inventory.write_text(EXAMPLE.read_text().replace("~/.ssh/ivv_lab_ed25519", str(key)))
    target = load_inventory(inventory).create("bench-pi")
    assert {"power", "reset", "link"} <= target.capabilities and target.destructive
    assert destructive_allowed(target) == (True, "the inventory entry of bench-pi says destructive: true")
    assert power_cut_for(target).how.startswith("the inventory's power commands")


def test_a_device_without_power_commands_cannot_be_cut_and_is_not_destructive(monkeypatch):
    monkeypatch.delenv("IVV_DESTRUCTIVE", raising=False)
    plain = SshTarget(name="pi", host="10.0.0.9")
    assert "power" not in plain.capabilities and "link" not in plain.capabilities
    with pytest.raises(CapabilityMissing, match="power: {down: ..., up: ...}"):
        power_cut_for(plain)
    allowed, why = destructive_allowed(plain)
    assert not allowed and "destructive: true" in why and "--ivv-destructive" in why
    assert destructive_allowed(plain, opted_in=True)[0]
    monkeypatch.setenv("IVV_DESTRUCTIVE", "1")
    assert destructive_allowed(plain)[0]


def test_host_commands_fill_the_target_and_fail_by_name(tmp_path):
    commands = HostCommands(down=f"touch {tmp_path}/down-{{name}}-{{host}}", up="exit 4")
    commands.run("down", {"name": "pi", "host": "10.0.0.9"})
    assert (tmp_path / "down-pi-10.0.0.9").exists()
    with pytest.raises(TargetError, match="exit 4` exited 4"):
        commands.run("up", {})


def test_ssh_power_cycle_runs_the_host_commands_in_order(tmp_path, monkeypatch):
    log = tmp_path / "log"
    target = SshTarget(name="pi", host="10.0.0.9",
                       power={"down": f"echo down >> {log}", "up": f"echo up >> {log}", "down_s": 0})
    monkeypatch.setattr(SshTarget, "wait_reachable", lambda self, timeout: 0.0)
    monkeypatch.setattr(SshTarget, "_ssh", lambda self, cmd, timeout, **kw: type("R", (), {"stdout": "running\n"})())
    assert target.power_cycle() >= 0
    assert log.read_text().split() == ["down", "up"]


def test_virtual_device_is_always_destructive_and_an_attached_one_cannot_get_a_new_overlay():
    owned = QemuTarget(name="vd", quiet=True)
    attached = QemuTarget(name="vd", attach="/nonexistent", quiet=True)
    assert {"power", "reset", "link", "snapshot"} <= owned.capabilities == attached.capabilities
    assert destructive_allowed(attached)[0]
    assert power_cut_for(attached).how.startswith("QMP quit and a new QEMU")
    with pytest.raises(CapabilityMissing, match="cannot replace its overlay"):
        attached.restore()
