"""Captured stills in dated folders (<captures_dir>/YYYY-MM-DD/<id>.jpg), each with a JSON record beside it.

A still and its record are written to a temporary name, fsynced and renamed, so a crash leaves a capture
whole or absent, never half; records are read back from disk at start, so they survive a restart.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import secrets
import threading
from pathlib import Path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def durable_replace(tmp: Path, final: Path) -> None:
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Store:
    def __init__(self, root: str):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.records: dict[str, dict] = {}
        for record_file in sorted(self.root.glob("*/*.json")):
            try:
                record = json.loads(record_file.read_text())
                self.records[record["id"]] = record
            except (OSError, ValueError, KeyError):
                continue            # an unreadable record is not a capture

    def new_path(self) -> tuple[str, Path]:
        """A fresh capture id and the temporary file its still is written to."""
        capture_id = secrets.token_hex(6)
        folder = self.root / datetime.date.today().isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        return capture_id, folder / f".{capture_id}.jpg.tmp"

    def commit(self, capture_id: str, tmp: Path, label: str, seconds: float) -> dict:
        """Make the still durable under its final name and record it."""
        final = tmp.with_name(f"{capture_id}.jpg")
        durable_replace(tmp, final)
        record = {"id": capture_id, "label": label, "path": final.relative_to(self.root).as_posix(),
                  "sha256": sha256_of(final), "bytes": final.stat().st_size,
                  "captured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
                  "capture_ms": round(seconds * 1000, 1)}
        record_tmp = final.with_name(f".{capture_id}.json.tmp")
        record_tmp.write_text(json.dumps(record))
        durable_replace(record_tmp, final.with_name(f"{capture_id}.json"))
        with self.lock:
            self.records[capture_id] = record
        return record

    def get(self, capture_id: str) -> dict | None:
        with self.lock:
            return self.records.get(capture_id)

    def count(self) -> int:
        with self.lock:
            return len(self.records)

    def file(self, record: dict) -> Path:
        return self.root / record["path"]
