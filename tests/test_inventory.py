"""Inventory files: the shipped ones load, and every kind of mistake names the file, line and field."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ivv import cli
from ivv.config.inventory import DEFAULT_INVENTORY, load_inventory
from ivv.errors import InventoryError

REPO = Path(__file__).resolve().parents[1]
LAB = REPO / "deployment" / "inventory" / "lab.example.yaml"


def write(tmp_path: Path, text: str, name: str = "inv.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def key(tmp_path):
    path = tmp_path / "id_test"
    path.write_text("not a real key, only has to be readable\n")
    return path


def test_default_inventory_is_one_virtual_device():
    inventory = load_inventory()
    assert inventory.path == DEFAULT_INVENTORY
    assert inventory.names() == ["vdevice"]
    entry = inventory.entry("vdevice")
    assert entry["kind"] == "qemu"
    assert Path(entry["recipe"]) == REPO / "deployment" / "vdevice"
    target = inventory.create("vdevice")
    assert target.kind == "qemu" and target.environment == "staging" and "virtual" in target.tags
    assert not target.started  # creating a target does not boot it


def test_local_is_always_available():
    inventory = load_inventory()
    assert inventory.select(["local"]) == ["local"]
    assert inventory.create("local").kind == "local"


def test_lab_example_with_a_readable_key(tmp_path, key):
    text = LAB.read_text().replace("~/.ssh/ivv_lab_ed25519", str(key))
    inventory = load_inventory(write(tmp_path, text, "lab.yaml"))
    assert inventory.names() == ["rpi4-cam", "jetson-nano-cam"]
    pi = inventory.create("rpi4-cam")
    assert (pi.kind, pi.host, pi.port, pi.user, pi.key) == ("ssh", "192.168.50.21", 22, "ivv", str(key))
    assert pi.environment == "staging" and "raspberry-pi" in pi.tags
    assert inventory.create("jetson-nano-cam").environment == "production"


def test_lab_example_as_shipped_names_the_missing_key():
    with pytest.raises(InventoryError) as err:
        load_inventory(LAB)
    assert str(LAB) in str(err.value) and "defaults.key" in str(err.value)


@pytest.mark.parametrize(("target_yaml", "expected"), [
    ("{name: pi, kind: ssh, user: ivv}", ["targets[0]", "'host' is required"]),
    ("{name: pi, kind: ssh, host: 10.0.0.2, user: ivv, port: 70000}", ["targets[0].port", "1-65535", "70000"]),
    ("{name: pi, kind: ssh, host: 10.0.0.2, user: ivv, port: '22'}", ["targets[0].port", "integer port"]),
    ("{name: pi, kind: serial, host: 10.0.0.2}", ["targets[0].kind", "unknown kind 'serial'", "local, qemu, ssh"]),
    ("{name: pi, kind: ssh, host: 10.0.0.2}", ["targets[0].user", "required"]),
    ("{name: pi, kind: ssh, host: 10.0.0.2, user: ivv, key: /nonexistent/id_ed25519}",
     ["targets[0].key", "cannot read SSH key /nonexistent/id_ed25519"]),
    ("{name: pi, kind: ssh, host: 10.0.0.2, user: ivv, colour: red}", ["targets[0]", "colour", "allowed:"]),
    ("{name: 'bad name', kind: local}", ["targets[0].name", "does not match"]),
    ("{name: vm, kind: qemu, memory_mb: 64}", ["targets[0].memory_mb", "256"]),
])
def test_wrong_inventory_names_file_line_and_field(tmp_path, target_yaml, expected):
    path = write(tmp_path, f"targets:\n  - {target_yaml}\n")
    with pytest.raises(InventoryError) as err:
        load_inventory(path)
    message = str(err.value)
    assert f"{path}:2:" in message, message     # file and line of the offending entry
    for part in expected:
        assert part in message, message


def test_unreadable_key_that_is_a_directory(tmp_path):
    path = write(tmp_path, f"targets:\n  - {{name: pi, kind: ssh, host: h, user: u, key: {tmp_path}}}\n")
    with pytest.raises(InventoryError, match="targets\\[0\\].key: cannot read SSH key"):
        load_inventory(path)


@pytest.mark.parametrize(("text", "expected"), [
    ("", "empty inventory"),
    ("targets: [", "not valid YAML"),
    ("devices: []", "'targets' is required"),
    ("targets: []", "should be non-empty"),
    ("targets:\n  - {name: a, kind: local}\n  - {name: a, kind: local}\n", "duplicate target name 'a'"),
])
def test_malformed_files(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(InventoryError, match=expected) as err:
        load_inventory(path)
    assert str(path) in str(err.value)


def test_missing_file_and_unknown_target(tmp_path):
    with pytest.raises(InventoryError, match="cannot read inventory"):
        load_inventory(tmp_path / "nope.yaml")
    with pytest.raises(InventoryError, match="no target named 'rpi'.*vdevice"):
        load_inventory().select(["rpi"])


def test_cli_device_facts_exits_2_on_a_wrong_inventory(tmp_path, capsys):
    path = write(tmp_path, "targets:\n  - {name: pi, kind: ssh, user: ivv, port: 0}\n")
    assert cli.main(["device", "facts", "--inventory", str(path), "--target", "pi"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "targets[0].port" in err and "'host' is required" in err
    assert cli.main(["device", "facts", "--target", "nosuch"]) == 2
    assert "no target named 'nosuch'" in capsys.readouterr().err


def test_cli_device_facts_of_the_local_target(capsys):
    assert cli.main(["device", "facts", "--target", "local"]) == 0
    assert '"kind": "local"' in capsys.readouterr().out


def test_pytest_run_with_a_wrong_inventory_stops_with_exit_2(tmp_path):
    path = write(tmp_path, "targets:\n  - {name: x, kind: telnet}\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "--ivv-inventory", str(path), "tests/test_thresholds.py"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "unknown kind 'telnet'" in proc.stdout + proc.stderr
