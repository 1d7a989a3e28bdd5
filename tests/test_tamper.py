"""A bundle edited after its run is caught by `ivv report` (exit 3, naming what changed); an unedited one
re-renders byte-identically. The bundles come from a real pytest run of the demo suite."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ivv import cli
from ivv.evidence import chain

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tests" / "demo"
OUTPUTS = ("verdicts.json", "gate-review.md", "gate-review.html")


def demo_run(tmp: Path, run_id: str, env: dict | None = None) -> Path:
    suite = tmp / "suite"
    suite.mkdir(exist_ok=True)
    shutil.copyfile(DEMO / "demo_suite.py", suite / "demo_suite.py")  # outside the repo: no root conftest
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "demo_suite.py",
                             "--ivv-gate", str(DEMO / "demo-gate.yaml"), "--ivv-reports", str(tmp / "reports"),
                             "--ivv-run-id", run_id], cwd=suite, capture_output=True, text=True, timeout=180,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp / "reports" / run_id


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> Path:
    return demo_run(tmp_path_factory.mktemp("tamper"), "orig")


@pytest.fixture
def bundle(original, tmp_path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(original, copy, symlinks=True)
    return copy


def report(bundle: Path, capsys) -> tuple[int, str, dict]:
    status = cli.main(["report", str(bundle)])
    err = capsys.readouterr().err
    return status, err, json.loads((bundle / "verdicts.json").read_text())


def edit_line(bundle: Path, match: str, change) -> int:
    """Apply `change` to the first evidence line containing `match`; returns its seq."""
    path = bundle / "evidence.jsonl"
    lines = path.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if match in line)
    lines[index] = change(lines[index])
    path.write_text("\n".join(lines) + "\n")
    return index + 1


def test_an_unedited_bundle_verifies_and_re_renders_byte_identically(original, bundle, capsys):
    status, err, verdicts = report(bundle, capsys)
    assert status == 0 and err == ""
    assert verdicts["integrity"] == {"status": "verified", "problems": [], "notes": []}
    assert verdicts["decision"] == "PROCEED"
    for name in OUTPUTS:
        assert (bundle / name).read_bytes() == (original / name).read_bytes(), name


def test_an_edited_value_is_caught(bundle, capsys):
    seq = edit_line(bundle, '"worst of sleep(1 ms) samples"', lambda s: re.sub(r'"value": [0-9.]+', '"value": 999', s))
    status, err, verdicts = report(bundle, capsys)
    assert status == 3
    assert f"bundle altered: evidence.jsonl: record {seq} (demo.latency: worst of sleep(1 ms) samples) was changed" in err
    assert f"record {seq} (demo.latency: worst of sleep(1 ms) samples): stored verdict PASS, but 999 ms against " \
           "< 50 ms is FAIL" in err
    assert verdicts["integrity"]["status"] == "altered" and verdicts["decision"] == "HOLD"
    assert verdicts["criteria"]["demo.latency"]["verdict"] == "FAIL"     # re-derived, not the stored PASS
    assert any(f["kind"] == "tamper" for f in verdicts["criteria"]["demo.latency"]["findings"])


def test_an_edited_verdict_is_caught(bundle, capsys):
    seq = edit_line(bundle, '"kind": "gap", "criterion": "demo.skipped"',
                    lambda s: s.replace('"verdict": "NOT VERIFIED"', '"verdict": "PASS"'))
    status, err, verdicts = report(bundle, capsys)
    assert status == 3
    assert f"record {seq} (demo.skipped: not measured): stored verdict PASS, but a gap is NOT VERIFIED" in err
    assert verdicts["criteria"]["demo.skipped"]["verdict"] == "NOT VERIFIED"


def test_a_deleted_line_is_caught(bundle, capsys):
    seq = edit_line(bundle, '"kind": "gap", "criterion": "demo.skipped"', lambda s: "")
    path = bundle / "evidence.jsonl"
    path.write_text("\n".join(line for line in path.read_text().splitlines() if line) + "\n")
    status, err, _ = report(bundle, capsys)
    assert status == 3 and f"bundle altered: evidence.jsonl: record {seq} deleted (line {seq} holds record {seq + 1})" in err


def test_the_last_line_deleted_is_caught_by_the_manifest_head(bundle, capsys):
    path = bundle / "evidence.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    status, err, _ = report(bundle, capsys)
    assert status == 3 and f"ends at record {len(lines) - 1}, but the manifest's chain head is record {len(lines)}" in err


def test_an_edited_gate_copy_is_caught(bundle, capsys):
    copy = bundle / "gates" / "demo.yaml"
    copy.write_text(copy.read_text().replace("mandatory: true", "mandatory: false", 1))
    status, err, verdicts = report(bundle, capsys)
    assert status == 3
    assert "bundle altered: gates/demo.yaml was changed after the run wrote it" in err
    assert verdicts["decision"] == "HOLD"


def test_one_changed_artifact_byte_is_caught(bundle, capsys):
    artifact = next((bundle / "artifacts").rglob("roundtrip.txt"))
    data = bytearray(artifact.read_bytes())
    data[3] ^= 0x01
    artifact.write_bytes(bytes(data))
    status, err, _ = report(bundle, capsys)
    name = artifact.relative_to(bundle).as_posix()
    assert status == 3 and f"bundle altered: {name} was changed after it was written" in err


def test_a_torn_last_line_is_dropped_not_altered(bundle, capsys):
    with open(bundle / "evidence.jsonl", "a") as fh:
        fh.write('{"seq": 99, "kind": "chec')
    status, err, verdicts = report(bundle, capsys)
    assert status == 0 and verdicts["integrity"]["status"] == "verified"
    assert "torn line" in verdicts["integrity"]["notes"][0]


def test_a_bundle_from_before_format_2_is_unchained_not_altered(bundle, capsys):
    manifest = json.loads((bundle / "manifest.json").read_text())
    for key in ("format", "seal"):
        manifest.pop(key)
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    path = bundle / "evidence.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "prev"}) + "\n" for r in lines))
    status, _, verdicts = report(bundle, capsys)
    assert status == 0 and verdicts["integrity"]["status"] == "unchained"
    assert verdicts["decision"] == "PROCEED"


def test_stripping_the_format_from_a_chained_bundle_is_caught(bundle, capsys):
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest.pop("format")
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    status, err, _ = report(bundle, capsys)
    assert status == 3 and "manifest.json lost its format version" in err


def test_the_real_command_exits_3_and_names_the_change(bundle):
    edit_line(bundle, '"worst of sleep(1 ms) samples"', lambda s: re.sub(r'"value": [0-9.]+', '"value": 999', s))
    result = subprocess.run([sys.executable, "-m", "ivv.cli", "report", str(bundle)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 3 and "bundle altered: evidence.jsonl: record" in result.stderr
    assert "integrity: altered" in result.stdout


def test_a_signed_manifest_verifies_with_its_key_and_catches_a_manifest_edit(tmp_path, monkeypatch, capsys):
    key = "bundle-key-4f1c9e0d"
    signed = demo_run(tmp_path, "signed", env={"IVV_BUNDLE_KEY": key})
    manifest = json.loads((signed / "manifest.json").read_text())
    assert manifest["seal"]["signature"]["alg"] == "hmac-sha256" and key not in (signed / "manifest.json").read_text()
    monkeypatch.setenv("IVV_BUNDLE_KEY", key)
    status, _, verdicts = report(signed, capsys)
    assert status == 0 and verdicts["integrity"]["notes"] == ["the manifest's signature verifies"]
    # an edit of the manifest together with the seal it holds: only the key can tell
    manifest["stack"] = {"name": "camera-service", "version": "9.9.9"}
    (signed / "manifest.json").write_text(json.dumps(manifest))
    status, err, _ = report(signed, capsys)
    assert status == 3 and "manifest.json does not match its signature" in err
    monkeypatch.delenv("IVV_BUNDLE_KEY")
    status, _, verdicts = report(signed, capsys)
    assert status == 0 and "set IVV_BUNDLE_KEY" in verdicts["integrity"]["notes"][0]


def test_the_chain_walk_names_each_break():
    lines = []
    prev = chain.GENESIS
    for seq in (1, 2, 3):
        line = chain.link(json.dumps({"seq": seq, "kind": "check", "criterion": "a.b", "name": f"n{seq}"}), prev)
        lines.append(line)
        prev = chain.line_hash(line)
    good = chain.walk(("\n".join(lines) + "\n").encode())
    assert good.breaks == [] and good.head == prev and good.chained
    swapped = chain.walk(("\n".join([lines[0], lines[2], lines[1]]) + "\n").encode())
    assert "record 2 deleted (line 2 holds record 3)" in swapped.breaks[0]
    assert "duplicated or reordered" in swapped.breaks[1]
