"""python -m capture_service --config-dir DIR --env ENV [--overlay FILE]...

Exit status: 2 bad configuration, 3 refused to start (a broken release); systemd restarts neither.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from capture_service import app, config
from capture_service.faults import Faults

SECRET_ENV = "CAPTURE_SERVICE_JWT_SECRET"


def version() -> str:
    stamp = Path(__file__).with_name("VERSION")
    return stamp.read_text().strip() if stamp.exists() else "0+source"


def _stop(*_):
    raise KeyboardInterrupt      # SIGTERM ends serve_forever the way Ctrl-C does


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="capture_service", description=__doc__.splitlines()[0])
    parser.add_argument("--config-dir", required=True)
    parser.add_argument("--env", required=True)
    parser.add_argument("--overlay", action="append", default=[])
    args = parser.parse_args(argv)
    try:
        cfg = config.load(Path(args.config_dir), args.env, args.overlay)
        faults = Faults(cfg["faults"])
    except (config.ConfigError, ValueError) as exc:
        print(f"capture_service: {exc}", file=sys.stderr)
        return 2
    log_dir = Path(cfg.get("logging", {}).get("dir", "."))
    handlers = [logging.StreamHandler()]
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_dir / "capture-service.log"))
    except OSError as exc:
        print(f"capture_service: cannot write logs in {log_dir} ({exc.strerror}); logging to stderr only",
              file=sys.stderr)
    logging.basicConfig(level=cfg.get("logging", {}).get("level", "INFO"), handlers=handlers,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if faults.on("broken_release"):
        logging.getLogger("capture_service").error("this release refuses to start (broken_release)")
        return 3
    secret = os.environ.get(SECRET_ENV, "")
    if len(secret) < 32:
        print(f"capture_service: {SECRET_ENV} must hold a secret of at least 32 characters", file=sys.stderr)
        return 2
    app.wait_camera(cfg["camera"].get("device"), float(cfg["camera"].get("wait_s", 5)))
    service = app.Service(cfg, version(), secret, faults)
    server = app.serve(service, cfg["server"].get("host", "127.0.0.1"), int(cfg["server"]["port"]))
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
