"""Build and boot progress (and announced lines: a lease wait, a device left out) reaches a non-interactive log although pytest captures fixture output.

A tiny pytest session in a subprocess (output to pipes, as in CI): its fixture reports steps and runs a
slow command with a heartbeat, as the virtual device's image build and boot do. The lines must be in the
subprocess's output while the test passes; a plain print to stderr from the same fixture stays captured
(the positive control that capture was on)."""

import subprocess
import sys
import textwrap

from ivv.vdevice.progress import PREFIX, Progress

SESSION = '''
import sys

import pytest

from ivv.vdevice.progress import Progress, announce


@pytest.fixture(scope="session")
def device(tmp_path_factory):
    progress = Progress()
    progress.step("phase one: building the image")
    print("a plain line the capture keeps", file=sys.stderr)
    print("a line to the original stderr the capture keeps too", file=sys.__stderr__, flush=True)
    announce("ivv: board: leased by run first; waiting")
    progress.run("slow command", [sys.executable, "-c",
                 "import time\\nfor i in range(4):\\n    print('working', i, flush=True); time.sleep(0.3)"],
                 tmp_path_factory.mktemp("log") / "build.log", timeout=30, heartbeat=0.25)
    progress.step("phase two: booted")
    return 1


def test_uses_the_device(device):
    assert device == 1
'''


def test_progress_lines_reach_the_log_of_a_captured_pytest_session(tmp_path):
    (tmp_path / "test_tiny.py").write_text(SESSION)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_tiny.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    lines = [line for line in out.splitlines() if line.startswith(PREFIX)]
    text = "\n".join(lines)
    assert "phase one: building the image" in text and "phase two: booted" in text, out
    assert "slow command: started" in text and "slow command: done" in text, out
    assert any("slow command: working" in line for line in lines), out  # the heartbeat with the last output
    assert "a plain line the capture keeps" not in out  # capture really was on for the fixture
    # a lease wait is announced past capture; printing to sys.__stderr__ is not (fd 2 is captured too)
    assert "ivv: board: leased by run first; waiting" in out, out
    assert "the capture keeps too" not in out, out


def test_outside_pytest_lines_go_to_the_given_stream_or_stderr():
    import io

    stream = io.StringIO()
    Progress(stream=stream).step("to a stream")
    Progress(quiet=True).step("never shown")
    assert stream.getvalue().startswith(f"{PREFIX} [") and "to a stream" in stream.getvalue()
    code = textwrap.dedent("""
        from ivv.vdevice.progress import Progress
        Progress().step("plain stderr")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert "plain stderr" in proc.stderr and proc.stdout == ""
