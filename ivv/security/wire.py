"""Attack traffic on several named connections, merged into one transcript with secrets described.

Built on the shared client (`ivv.rpc.client.RpcClient`); what this adds is what a probe needs that a
contract check does not: a hung-up connection or a timeout is an observation, not an exception, several
interleaved connections share one time-ordered transcript, and a token shows up as what it is
(`<token alg=none claims={"role": "admin"} ...>`) instead of its text, so a reviewer can read the attack
while no secret reaches the report. Every call answers with the one reply type, `ivv.rpc.client.Reply`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ivv.rpc.auth import redact_text
from ivv.rpc.client import Exchange, Reply, RpcClient, RpcConnectError, RpcConnectionLost, RpcTimeout

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
            return Reply(method, lost=True)
        try:
            return self.client.call(method, params, timeout=timeout)
        except RpcTimeout:
            return Reply(method, timeout=True, exchange=self.client.exchanges[-1] if self.client.exchanges else None)
        except RpcConnectionLost as exc:
            return Reply(method, lost=True, close_code=exc.close_code,
                         exchange=self.client.exchanges[-1] if self.client.exchanges else None)

    def send_raw(self, frame: str, timeout: float | None = None) -> Reply:
        """A frame a well-behaved client would not send (oversize, malformed); the first reply back."""
        if not self.client.connected:
            self.transcript.add(self.name, "!", "frame not sent: connection is closed")
            return Reply("(raw frame)", lost=True)
        try:
            exchange = self.client.send_raw(frame, timeout=timeout)
        except RpcConnectionLost as exc:
            return Reply("(raw frame)", lost=True, close_code=exc.close_code,
                         exchange=self.client.exchanges[-1] if self.client.exchanges else None)
        if exchange.outcome == "timeout":
            return Reply("(raw frame)", timeout=True, exchange=exchange)
        replies = exchange.replies()
        return Reply("(raw frame)", replies[0] if replies else None, exchange)

    def authenticate(self, token: str | None, param: str = "auth_token") -> Reply:
        return self.call("authenticate", {param: token})

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
