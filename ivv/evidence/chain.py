"""The hash chain over evidence.jsonl: each record's `prev` is the sha256 of the line before it.

A line is hashed exactly as written (UTF-8, without its newline); the first record's `prev` is
`GENESIS`. Editing, deleting, inserting or reordering a line breaks the link after it, and the chain's
head (the hash of the last line) in the manifest catches a change to, or removal of, the last lines.
`walk(data)` reads a journal's bytes and says where the chain breaks; it decides nothing about verdicts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

GENESIS = "0" * 64


def line_hash(line: bytes | str) -> str:
    """sha256 of one journal line as written, without its newline."""
    data = line.encode("utf-8") if isinstance(line, str) else line
    return hashlib.sha256(data).hexdigest()


def link(body: str, prev: str) -> str:
    """A record's JSON text with `prev` added as its last field (the body is never re-encoded, so
    what was redacted stays redacted and `prev` itself is never touched by redaction)."""
    if not (body.startswith("{") and body.endswith("}")) or body == "{}":
        raise ValueError("an evidence record must be a non-empty JSON object")
    return f'{body[:-1]}, "prev": "{prev}"}}'


@dataclass
class Walk:
    """What walking a journal found: the parsed lines in order, the head, and where links broke."""

    lines: list[dict] = field(default_factory=list)      # parsed records, in file order
    head: str = GENESIS                                    # hash of the last complete line
    breaks: list[str] = field(default_factory=list)       # "what changed", one sentence each
    torn: bool = False                                     # an unterminated last line was dropped
    chained: bool = False                                  # at least one record carries `prev`
    hashes: list[str] = field(default_factory=list)       # hash of each complete line, in order
    seqs: list[int | None] = field(default_factory=list)  # the seq each line holds (None: unreadable)

    def position(self, seq: int) -> int | None:
        """Index (in hashes/seqs) of the line holding record `seq`, or None."""
        return next((i for i in range(len(self.seqs) - 1, -1, -1) if self.seqs[i] == seq), None)

    def record(self, seq: int) -> dict:
        return next((r for r in reversed(self.lines) if r.get("seq") == seq), {"seq": seq})


def walk(data: bytes) -> Walk:
    """Follow the chain through a journal's bytes. A torn last line (a run killed mid-write) is dropped
    and noted, never a break; every other unreadable or unlinked line is a break naming the record."""
    out = Walk()
    pieces = data.split(b"\n")
    out.torn = bool(pieces[-1])
    prev, last_seq, before = GENESIS, 0, "the start of the journal"
    for number, raw in enumerate(pieces[:-1], start=1):
        record = _parse(raw)
        if record is None:
            out.breaks.append(f"evidence.jsonl line {number} is not a JSON record (it was edited)")
            prev, last_seq, before = line_hash(raw), last_seq + 1, f"line {number}"
            out.hashes.append(prev)
            out.seqs.append(None)
            continue
        seq = record.get("seq")
        if "prev" in record:
            out.chained = True
            if isinstance(seq, int) and seq > last_seq + 1:
                gone = f"record {last_seq + 1}" if seq == last_seq + 2 else f"records {last_seq + 1}-{seq - 1}"
                out.breaks.append(f"evidence.jsonl: {gone} deleted (line {number} holds record {seq})")
            elif seq != last_seq + 1:
                out.breaks.append(f"evidence.jsonl line {number} holds record {seq} after record {last_seq}: "
                                  "records were duplicated or reordered")
            elif record["prev"] != prev:
                out.breaks.append(f"evidence.jsonl: {before} was changed after it was written (the chain "
                                  f"breaks at record {seq})")
        out.lines.append(record)
        prev = line_hash(raw)
        out.hashes.append(prev)
        out.seqs.append(seq if isinstance(seq, int) else None)
        last_seq = seq if isinstance(seq, int) else last_seq + 1
        before = describe(record)
    out.head = prev
    return out


def _parse(raw: bytes) -> dict | None:
    try:
        record = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def describe(record: dict) -> str:
    """`record 12 (perf.p95_ms: p95 latency)`: how a problem names a record."""
    seq = record.get("seq")
    if record.get("kind") == "test":
        return f"record {seq} (test {record.get('name')})"
    return f"record {seq} ({record.get('criterion')}: {record.get('name')})"
