"""A timed operation on a target: the profile's commands run in order, then the wait for ready.

The clock runs from the first command's start to the moment the health endpoint says ready by code AND
body; the first failing command stops the operation. The result is plain data for evidence.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field


@dataclass
class StepResult:
    """One command's outcome as evidence keeps it: the command, exit status, time and output tails."""

    command: str
    exit_status: int
    duration_s: float
    stdout_tail: str = ""
    stderr_tail: str = ""

    @classmethod
    def of(cls, result, limit: int = 2000) -> StepResult:
        """From a transport's CommandResult, output cut to its last `limit` characters."""
        return cls(result.command, result.exit_status, round(result.duration, 3), _tail(result.stdout, limit),
                   _tail(result.stderr, limit))

    @property
    def works(self) -> bool:
        return self.exit_status == 0


@dataclass
class Operation:
    """A timed operation: its commands, whether they succeeded, and when the service was ready."""

    name: str
    steps: list[StepResult] = field(default_factory=list)
    commands_s: float = 0.0
    ready: bool = False
    total_s: float | None = None      # first command start -> ready (None when never ready)
    ready_wait_s: float = 0.0
    ready_observation: object = None
    window: tuple[float, float] | None = None   # the device's own clock (epoch s) around the operation

    @property
    def succeeded(self) -> bool:
        return all(s.exit_status == 0 for s in self.steps) and bool(self.steps)

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.exit_status != 0), None)

    def as_dict(self) -> dict:
        return asdict(self) | {"succeeded": self.succeeded}


def _tail(text: str | None, limit: int = 2000) -> str:
    return text[-limit:] if text else ""


def run_operation(target, name: str, commands: Iterable[str], ready: Callable[[float], object] | None,
                  ready_timeout_s: float, command_timeout_s: float = 600) -> Operation:
    """Run `commands` in order (stop at the first failure), then wait for ready.

    `ready(timeout_s)` returns an object with `.reached`, `.elapsed_s`, `.last` (ivv.health.probe.WaitResult).
    The total time runs from the first command's start to the ready answer.
    """
    op = Operation(name)
    start = time.monotonic()
    for command in commands:
        result = target.run(command, timeout=command_timeout_s)
        op.steps.append(StepResult.of(result))
        if result.exit_status != 0:
            break
    op.commands_s = round(time.monotonic() - start, 3)
    if ready is not None and op.succeeded:
        waited = ready(ready_timeout_s)
        op.ready = bool(waited.reached)
        op.ready_wait_s = round(waited.elapsed_s, 3)
        op.ready_observation = waited.last
        if op.ready:
            op.total_s = round(time.monotonic() - start, 3)
    return op

