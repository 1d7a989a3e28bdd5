"""Shared by the stub self-tests: start tests/stubs/camera_stub.py on 127.0.0.1 (clean, or misbehaving in
exactly one way), reach it as the contract checks and the security probes do, and decide a criterion
from what they return the way a gate run does (recorded into a journal, verdicts derived)."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivv.contract.document import load
from ivv.contract.matrix import record_matrix, table, transcript
from ivv.contract.probe import Probe
from ivv.evidence.facts import record
from ivv.evidence.journal import Journal, Recorder
from ivv.evidence.verdicts import derive
from ivv.rpc.auth import Credentials
from ivv.security.surface import Surface

STUBS = Path(__file__).resolve().parent / "stubs"
CONTRACT = load(STUBS / "camera-stub.openrpc.json")
MAX_BYTES = 8192  # what the stub's profile would state


@dataclass
class CameraStub:
    port: int
    secret: str
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def files_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def credentials(self) -> Credentials:
        return Credentials(self.secret)

    def surface(self, contract=CONTRACT) -> Surface:
        return Surface(self.url, contract, self.credentials(), timeout=3)

    def probe(self, contract=CONTRACT) -> Probe:
        return Probe(self.url, contract, self.credentials(), timeout=3, alive=self.alive)

    def alive(self) -> bool:
        return self.process.poll() is None

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.credentials().token('admin')}"}


@contextlib.contextmanager
def stubs():
    """`with stubs() as start:` -> `start(fault=None, secret=None, max_bytes=8192)` gives a running
    CameraStub; every stub started is killed on leaving (a test module's `camera_stub` fixture)."""
    started: list[CameraStub] = []

    def start(fault: str | None = None, secret: str | None = None, max_bytes: int = MAX_BYTES) -> CameraStub:
        secret = secret or secrets.token_urlsafe(48)
        cmd = [sys.executable, str(STUBS / "camera_stub.py"), f"--secret={secret}", "--max-bytes", str(max_bytes)]
        proc = subprocess.Popen([*cmd, *(["--fault", fault] if fault else [])], stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        assert line.startswith("PORT "), f"the stub did not start: {line!r}"
        stub = CameraStub(int(line.split()[1]), secret, proc)
        started.append(stub)
        return stub

    try:
        yield start
    finally:
        for stub in started:
            stub.process.kill()
            stub.process.wait(10)


def stub_fixture():
    """A `camera_stub` fixture for a test module (`stub = stub_fixture()` at module level): the factory
    of `stubs`, every stub killed after the test."""
    @pytest.fixture(name="camera_stub")
    def fixture():
        with stubs() as start:
            yield start
    return fixture


def verdict_of(tmp_path: Path, criterion: str, results=(), matrix: list | None = None) -> tuple[str, list]:
    """The criterion's verdict from probe results (and a matrix of rows), recorded and derived as a gate
    run would; returns (verdict, records)."""
    recorder = Recorder(Journal(tmp_path / "evidence.jsonl"), tmp_path)
    if results:
        record(recorder, results, criterion)
    if matrix is not None:
        record_matrix(recorder, criterion, "matrix", matrix, table(matrix), "matrix.txt", transcript(matrix))
    records = recorder.recorded(criterion)
    return derive(records)["criteria"][criterion]["verdict"], records
