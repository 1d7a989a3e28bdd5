"""A small stand-in stack service for ops self-tests: an HTTP health server run as a plain process.

Readiness follows the media process (its pid file) unless a knob makes it lie: `lies` (always ready),
`flap` (ready and not ready on alternate answers). Knobs come from CONFIG/knobs (one word per line);
the environment it was installed for from CONFIG/environment.
"""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(sys.argv[1])
PORT = int(sys.argv[2])
CONFIG = ROOT / "config"


def knobs() -> set[str]:
    path = CONFIG / "knobs"
    return set(path.read_text().split()) if path.exists() else set()


def media_running() -> bool:
    try:
        os.kill(int((ROOT / "run" / "media.pid").read_text().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


class Handler(BaseHTTPRequestHandler):
    answers = 0

    def do_GET(self):  # noqa: N802 - http.server naming
        Handler.answers += 1
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        on = knobs()
        if self.path == "/health/ready":
            ready = media_running()
            if "lies" in on:
                ready = True
            if "flap" in on:
                ready = Handler.answers % 2 == 0
            code, body = (200, {"status": "ready", "timestamp": stamp}) if ready else \
                (503, {"status": "not_ready", "timestamp": stamp})
        elif self.path == "/health/system":
            code, body = 200, {"status": "healthy", "timestamp": stamp}
        else:
            code, body = 404, {"error": "not found"}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
