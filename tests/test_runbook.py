"""ivv.ops.runbook: which documented commands are executable, and running them on a (local) shell."""

import subprocess
import time
from types import SimpleNamespace

from ivv.ops import runbook

DOC = """# Camera service runbook

## Install
```sh run
# unpack and install
sudo ./install.sh \\
    --environment production
```

## Status
```console
$ systemctl status camera-service
```

```bash {run}
$ systemctl is-active camera-service
```

## Logs
```sh ivv:run
journalctl -u camera-service -n 20
```
Not executed (no run word):
```sh
rm -rf /
```
"""


def test_extract_only_run_blocks_with_headings_and_lines():
    cmds = runbook.extract(DOC, "RUNBOOK.md")
    assert [(c.procedure, c.command) for c in cmds] == [
        ("Install", "sudo ./install.sh --environment production"),
        ("Status", "systemctl is-active camera-service"),
        ("Logs", "journalctl -u camera-service -n 20"),
    ]
    assert cmds[0].line == 6 and DOC.splitlines()[cmds[0].line - 1].startswith("sudo ./install.sh")
    assert DOC.splitlines()[cmds[2].line - 1].startswith("journalctl")


def test_running_word_is_not_matched_inside_other_words():
    assert runbook.extract("```sh running\nls\n```\n```rundown\nls\n```\n") == []


class _Shell:
    """A minimal local target: real subprocesses."""

    def run(self, cmd, timeout=60, check=False):
        start = time.monotonic()
        proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=timeout)
        return SimpleNamespace(command=cmd, exit_status=proc.returncode, stdout=proc.stdout, stderr=proc.stderr,
                               duration=time.monotonic() - start)


def test_execute_reports_every_failure_not_only_the_first():
    doc = "## A\n```sh run\nfalse\necho {version}\nexit 3\n```\n"
    outcomes = runbook.execute(_Shell(), runbook.extract(doc), substitutions={"{version}": "1.2"})
    assert [o.exit_status for o in outcomes] == [1, 0, 3]
    assert outcomes[1].step.stdout_tail.strip() == "1.2"
    assert [o.works for o in outcomes] == [False, True, False]
