"""`ivv stack build`: reproducible release archives whose offline wheelhouse runs the service by itself."""

import hashlib
import os
import subprocess
import sys
import tarfile
import time
import zipfile

import jwt
import pytest
import requests
import yaml

from ivv import cli
from ivv.errors import ProfileError
from ivv.rpc.client import RpcClient
from ivv.stack import release as stack
from ivv.stack.local import free_port


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def built(profile, tmp_path_factory):
    out = tmp_path_factory.mktemp("releases")
    return {b.version: b for b in stack.build_releases(profile, ["1.0.0", "1.1.0"], out)}


def test_same_inputs_same_bytes(profile, built, tmp_path, monkeypatch):
    again = {b.version: b for b in stack.build_releases(profile, ["1.0.0", "1.1.0"], tmp_path / "a")}
    assert {v: b.sha256 for v, b in again.items()} == {v: b.sha256 for v, b in built.items()}
    assert built["1.0.0"].sha256 != built["1.1.0"].sha256
    assert sha(again["1.0.0"].path) == built["1.0.0"].sha256
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")  # a different input must change the bytes
    other = stack.build_releases(profile, ["1.0.0"], tmp_path / "b")[0]
    assert other.sha256 != built["1.0.0"].sha256


def test_archive_layout_is_normalised(built):
    with tarfile.open(built["1.1.0"].path) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names)
        assert {(m.uid, m.gid, m.uname, m.mtime) for m in members} == {(0, 0, "root", stack.FIXED_MTIME)}
        top = "camera-service-1.1.0"
        assert tar.extractfile(f"{top}/VERSION").read() == b"1.1.0\n"
        release = yaml.safe_load(tar.extractfile(f"{top}/config/release.yaml"))
        assert release == {"camera": {"max_cameras": 8}}
        assert tar.getmember(f"{top}/scripts/install.sh").mode == 0o755
        wheels = sorted(n.rsplit("/", 1)[1] for n in names if n.endswith(".whl"))
        assert [w.split("-")[0].lower() for w in wheels] == ["pyjwt", "pyyaml", "websockets"]
        assert all("py3-none-any" in w or ("cp311" in w and "manylinux" in w and "x86_64" in w) for w in wheels)
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    with open(built["1.1.0"].path, "rb") as raw:
        assert raw.read(10)[4:8] == b"\0\0\0\0"  # gzip header mtime 0


def test_release_runs_from_its_wheelhouse_alone(built, tmp_path):
    """Unpack 1.1.0 like install.sh does and start it with `python -S` (no site-packages at all)."""
    with tarfile.open(built["1.1.0"].path) as tar:
        tar.extractall(tmp_path, filter="data")
    root = tmp_path / "camera-service-1.1.0"
    for wheel in (root / "wheelhouse").glob("*.whl"):
        zipfile.ZipFile(wheel).extractall(root / "lib")
    port, health = free_port(), free_port()
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(yaml.safe_dump({
        "server": {"port": port}, "health": {"port": health},
        "storage": {"recordings_dir": str(tmp_path / "r"), "snapshots_dir": str(tmp_path / "s")},
        "auth": {"api_keys_file": str(tmp_path / "keys.json")}, "logging": {"dir": str(tmp_path / "log")},
        "media": {"url": f"http://127.0.0.1:{free_port()}"}}))
    secret = "s" * 40
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": f"{root}/src:{root}/lib", "CAMERA_SERVICE_JWT_SECRET": secret}
    proc = subprocess.Popen([sys.executable, "-S", "-m", "camera_service", "--config-dir", str(root / "config"),
                             "--env", "local", "--overlay", str(overlay)], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{health}/health/ready", timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()[-800:]
                time.sleep(0.2)
        assert answer.headers["Server"] == "camera-service/1.1.0"
        assert answer.status_code == 503  # no media component here: honestly not ready
        token = jwt.encode({"user_id": "t", "role": "admin", "exp": int(time.time()) + 60}, secret, algorithm="HS256")
        with RpcClient(f"ws://127.0.0.1:{port}/ws") as rpc:
            assert rpc.authenticate(token).ok
            info = rpc.request("get_server_info")
        assert (info["version"], info["max_cameras"]) == ("1.1.0", 8)
    finally:
        proc.terminate()
        proc.wait(10)


def test_cli_build_and_unknown_version(profile, tmp_path, capsys):
    assert cli.main(["stack", "build", "--version", "1.2.0-broken", "--out", str(tmp_path)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.split()[0] == sha(tmp_path / "camera-service-1.2.0-broken.tar.gz")
    assert cli.main(["stack", "build", "--version", "9.9.9", "--out", str(tmp_path)]) == 2
    assert "no release manifest for 9.9.9" in capsys.readouterr().err
    with pytest.raises(ProfileError, match="known: 1.0.0, 1.1.0, 1.2.0-broken"):
        stack.build_releases(profile, ["0.1.0"], tmp_path)
