"""Request counters and process resource figures for get_metrics, plus the leak_mb_per_min fault."""

from __future__ import annotations

import asyncio
import os
import resource
import time


def rss_mb() -> float:
    """Resident set size of this process in MiB (from /proc, so it is the current value, not the peak)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 1048576, 2)
    except OSError:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 2)


class Metrics:
    def __init__(self):
        self.started = time.monotonic()
        self.requests = 0
        self.errors = 0
        self.total_ms = 0.0
        self._cpu_mark = (time.monotonic(), time.process_time())

    def record(self, elapsed_ms: float, failed: bool) -> None:
        self.requests += 1
        self.total_ms += elapsed_ms
        self.errors += int(failed)

    def uptime(self) -> float:
        return round(time.monotonic() - self.started, 3)

    def cpu_percent(self) -> float:
        wall, cpu = time.monotonic(), time.process_time()
        last_wall, last_cpu = self._cpu_mark
        self._cpu_mark = (wall, cpu)
        return round(100.0 * (cpu - last_cpu) / max(wall - last_wall, 1e-6), 2)

    def snapshot(self, active_connections: int) -> dict:
        return {
            "active_connections": active_connections,
            "total_requests": self.requests,
            "average_response_time": round(self.total_ms / self.requests, 3) if self.requests else 0.0,
            "error_rate": round(self.errors / self.requests, 4) if self.requests else 0.0,
            "memory_usage": rss_mb(),
            "cpu_usage": self.cpu_percent(),
        }


async def leak(mb_per_min: float) -> None:
    """Fault knob leak_mb_per_min: keep allocating touched memory that is never released."""
    hoard: list[bytes] = []
    step_s = 1.0
    chunk = int(mb_per_min * 1048576 / 60 * step_s)
    while True:
        hoard.append(b"\x5a" * chunk)
        await asyncio.sleep(step_s)
