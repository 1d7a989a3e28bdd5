"""Operational documentation as executable claims: the runbook's commands, run on the device as written.

A fenced code block is executed when its info string carries the word `run` (```` ```sh run ````,
```` ```bash {run} ````, ```` ```console ivv:run ````). Each command line in it (comments skipped, `\\`
continuations joined, a leading `$ ` prompt dropped) must exit 0 on the device. The Markdown heading
above the block names the procedure (install, status, logs, rollback...). Blocks without `run` are
illustration and are not judged.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from markdown_it import MarkdownIt

from ivv.ops.operation import StepResult

_RUN_WORD = re.compile(r"(?:^|[\s{,])(?:ivv:)?run(?:[\s},]|$)")


@dataclass(frozen=True)
class RunbookCommand:
    """One documented command: where it is written and what it says."""

    procedure: str       # the nearest heading above the block
    command: str
    line: int            # 1-based line in the source file
    source: str


@dataclass
class CommandOutcome:
    """A documented command and what running it as written gave."""

    command: RunbookCommand
    step: StepResult

    @property
    def works(self) -> bool:
        return self.step.works

    @property
    def exit_status(self) -> int:
        return self.step.exit_status

    @property
    def stderr_tail(self) -> str:
        return self.step.stderr_tail

    def as_dict(self) -> dict:
        return asdict(self) | {"works": self.works}


def _is_executable(info: str) -> bool:
    return bool(_RUN_WORD.search(info.strip()))


def _commands_in(block: str) -> list[tuple[int, str]]:
    """(offset, command) per logical line; continuations joined, prompts and comments dropped."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    pending_at = 0
    for offset, raw in enumerate(block.splitlines()):
        line = raw.rstrip()
        if not pending:
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("$ "):
                line = stripped[2:]
            pending_at = offset
        if line.endswith("\\"):
            pending.append(line[:-1].rstrip())
            continue
        pending.append(line.strip() if pending else line)
        out.append((pending_at, " ".join(p.strip() for p in pending)))
        pending = []
    if pending:
        out.append((pending_at, " ".join(p.strip() for p in pending)))
    return out


def extract(text: str, source: str = "runbook") -> list[RunbookCommand]:
    """Every command of every `run`-marked fenced block, in document order."""
    tokens = MarkdownIt("commonmark").parse(text)
    heading = "(no heading)"
    commands: list[RunbookCommand] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            heading = tokens[index + 1].content.strip()
        elif token.type == "fence" and _is_executable(token.info):
            first_line = token.map[0] + 2 if token.map else 0  # the line after the opening fence
            for offset, command in _commands_in(token.content):
                commands.append(RunbookCommand(heading, command, first_line + offset, source))
    return commands


def extract_file(path: str | Path) -> list[RunbookCommand]:
    path = Path(path)
    return extract(path.read_text(encoding="utf-8"), source=str(path))


def execute(target, commands: list[RunbookCommand], timeout_s: float = 300,
            substitutions: dict[str, str] | None = None) -> list[CommandOutcome]:
    """Run each command on the target as written (after `substitutions`, e.g. a version); all are run,
    even after a failure, so the report lists every broken procedure, not only the first."""
    outcomes = []
    for cmd in commands:
        text = cmd.command
        for key, value in (substitutions or {}).items():
            text = text.replace(key, value)
        result = target.run(text, timeout=timeout_s)
        outcomes.append(CommandOutcome(cmd, StepResult.of(result, 1500)))
    return outcomes
