"""Attack traffic on several named connections, merged into one transcript with secrets described.

Built on the shared client (`ivv.rpc.client.RpcClient`); what this adds is what a probe needs that a
contract check does not: a hung-up connection or a timeout is an observation, not an exception, several
interleaved connections share one time-ordered transcript, and a token shows up as what it is
(`<token alg=none claims={"role": "admin"} ...>`) instead of its text, so a reviewer can read the attack
while no secret reaches the report.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from ivv.rpc.auth import redact_text
from ivv.rpc.client import Exchange, RpcClient, RpcConnectError, RpcConnectionLost, RpcTimeout

SHOWN_CHARS = 600  # a transcript line shows this much of a frame; the rest is counted, not printed


@dataclass
class Transcript:
    """Frames in order, from every connection of one probe; `describe` hides a secret behind a label."""

    lines: list[tuple[float, str, str, str]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def describe(self, secret: str | None, label: str) -> None:
        if secret:
            self.labels[secret] = label

    def add(self, connection: str, direction: str, text: str) -> None:
        self.lines.append((time.monotonic() - self.started, connection, direction, text))

    def note(self, text: str) -> None:
        self.add("--", "#", text)

    def clean(self, text: str) -> str:
        for secret in sorted(self.labels, key=len, reverse=True):
            text = text.replace(secret, self.labels[secret])
        return redact_text(text)

    def mark(self) -> int:
        return len(self.lines)

    def render(self, since: int = 0) -> str:
        out = []
        for offset, connection, direction, text in self.lines[since:]:
            shown = self.clean(text)
            if len(shown) > SHOWN_CHARS:
                shown = f"{shown[:SHOWN_CHARS]}... ({len(shown)} chars in all)"
            out.append(f"[{offset * 1000:9.1f} ms] {connection:>6} {direction} {shown}")
        return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Reply:
    """A JSON-RPC answer, or how the connection ended instead (`lost`, `timeout`)."""

    message: object = None
    lost: bool = False
    timeout: bool = False

    @property
    def succeeded(self) -> bool:
        return isinstance(self.message, dict) and "result" in self.message and "error" not in self.message

    @property
    def error(self) -> dict | None:
        err = self.message.get("error") if isinstance(self.message, dict) else None
        return err if isinstance(err, dict) else None

    @property
    def error_code(self) -> int | None:
        return self.error.get("code") if self.error else None

    def summary(self) -> str:
        if self.succeeded:
            return "result " + json.dumps(self.message["result"])[:160]
        if self.error is not None:
            return f"error {self.error_code} {json.dumps(self.error.get('message'))[:160]}"
        if self.lost:
            return "connection closed by the server"
        if self.timeout:
            return "no answer (timeout)"
        return f"unexpected frame {str(self.message)[:160]}"


class Conn:
    """One named connection; every exchange lands in the shared transcript."""

    def __init__(self, url: str, name: str, transcript: Transcript, timeout: float = 5.0,
                 verify_tls: bool = False):
        self.name, self.transcript = name, transcript
        self.client = RpcClient(url, timeout=timeout, connect_timeout=timeout, verify_tls=verify_tls,
                                on_exchange=self._record)
        try:
            self.client.connect()
        except RpcConnectError as exc:
            transcript.add(name, "!", str(exc))
            raise
        transcript.add(name, "*", f"connected to {url}")

    def _record(self, exchange: Exchange) -> None:
        self.transcript.add(self.name, ">", exchange.sent)
        for text in exchange.received:
            self.transcript.add(self.name, "<", text)
        if exchange.outcome not in ("reply", "no-reply"):
            self.transcript.add(self.name, "!", exchange.outcome)

    @property
    def open(self) -> bool:
        return self.client.connected

    def call(self, method: str, params: dict | None = None, timeout: float | None = None) -> Reply:
        if not self.client.connected:
            self.transcript.add(self.name, "!", f"{method} not sent: connection is closed")
            return Reply(lost=True)
        try:
            return Reply(message=self.client.call(method, params, timeout=timeout).frame)
        except RpcTimeout:
            return Reply(timeout=True)
        except RpcConnectionLost:
            return Reply(lost=True)

    def send_raw(self, frame: str, timeout: float | None = None) -> Reply:
        """A frame a well-behaved client would not send (oversize, malformed); the first reply back."""
        if not self.client.connected:
            self.transcript.add(self.name, "!", "frame not sent: connection is closed")
            return Reply(lost=True)
        try:
            exchange = self.client.send_raw(frame, timeout=timeout)
        except RpcConnectionLost:
            return Reply(lost=True)
        if exchange.outcome == "timeout":
            return Reply(timeout=True)
        replies = exchange.replies()
        return Reply(message=replies[0] if replies else None)

    def authenticate(self, token: str | None, param: str = "auth_token") -> Reply:
        return self.call("authenticate", {param: token})

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
