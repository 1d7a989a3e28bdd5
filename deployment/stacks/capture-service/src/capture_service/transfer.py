"""The transfer queue: captures copied to the destination folder, verified by sha256 at both ends.

One worker thread takes jobs in order. The source's sha256 is taken before the copy (and compared with
the capture's record), the copy is written to a temporary name, fsynced and renamed, and the
destination's sha256 is taken from the file on disk after the rename; a job is `verified` only when all
three agree, else `failed` with the reason. Fault `corrupt_transfer` alters the copy and skips the check.
"""

from __future__ import annotations

import queue
import secrets
import shutil
import threading
from pathlib import Path

from capture_service.store import Store, durable_replace, sha256_of


class Transfers:
    def __init__(self, store: Store, destination: str, faults):
        self.store = store
        self.destination = Path(destination)
        self.destination.mkdir(parents=True, exist_ok=True)
        self.faults = faults
        self.jobs: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.pending: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._work, name="transfers", daemon=True).start()

    def submit(self, record: dict) -> dict:
        job = {"id": secrets.token_hex(6), "capture_id": record["id"], "state": "queued"}
        with self.lock:
            self.jobs[job["id"]] = job
        self.pending.put(job["id"])
        return dict(job)

    def get(self, job_id: str) -> dict | None:
        with self.lock:
            job = self.jobs.get(job_id)
            return dict(job) if job else None

    def queued(self) -> int:
        with self.lock:
            return sum(1 for job in self.jobs.values() if job["state"] == "queued")

    def transferred(self) -> int:
        with self.lock:
            return sum(1 for job in self.jobs.values() if job["state"] == "verified")

    def _work(self) -> None:
        while True:
            job_id = self.pending.get()
            with self.lock:
                job = self.jobs[job_id]
            try:
                update = self._transfer(self.store.get(job["capture_id"]))
            except OSError as exc:
                update = {"state": "failed", "reason": f"{type(exc).__name__}: {exc.strerror or exc}"}
            with self.lock:
                job.update(update)

    def _transfer(self, record: dict) -> dict:
        source = self.store.file(record)
        source_sha = sha256_of(source)
        final = self.destination / record["path"]
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.part")
        shutil.copyfile(source, tmp)
        if self.faults.on("corrupt_transfer"):
            with open(tmp, "r+b") as fh:       # one byte flipped in the middle, as a bad link would
                fh.seek(max(0, source.stat().st_size // 2))
                byte = fh.read(1)
                fh.seek(-len(byte), 1)
                fh.write(bytes([byte[0] ^ 0xFF]) if byte else b"")
        durable_replace(tmp, final)
        if self.faults.on("corrupt_transfer"):
            return {"state": "verified", "source": source.as_posix(), "destination": final.as_posix(),
                    "source_sha256": source_sha, "destination_sha256": source_sha}
        dest_sha = sha256_of(final)
        result = {"source": source.as_posix(), "destination": final.as_posix(), "source_sha256": source_sha,
                  "destination_sha256": dest_sha}
        if source_sha != record["sha256"]:
            return {**result, "state": "failed", "reason": "the source changed since it was captured"}
        if dest_sha != source_sha:
            return {**result, "state": "failed", "reason": "the copy does not match the source"}
        return {**result, "state": "verified"}
