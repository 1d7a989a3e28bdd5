"""`python -m camera_service --config-dir DIR --env ENV [--overlay FILE]...`: run the service.

Exit status: 0 on SIGTERM/SIGINT, 2 bad configuration, 3 refused to start (e.g. a broken release).
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import logging
import logging.handlers
import signal
import sys
from pathlib import Path

from camera_service import config as config_mod
from camera_service import version
from camera_service.app import Service, StartupError
from camera_service.faults import FaultError


def setup_logging(section: dict) -> None:
    level = getattr(logging, str(section.get("level", "INFO")).upper(), logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    log_dir = section.get("dir")
    if log_dir:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        # WatchedFileHandler reopens the file after logrotate moves it away.
        handlers.append(logging.handlers.WatchedFileHandler(Path(log_dir) / "camera-service.log"))
    root = logging.getLogger()
    root.setLevel(level)
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    logging.getLogger("websockets").setLevel(max(level, logging.WARNING))


STOP_LIMIT_S = 30      # seconds; each recording gets 5 s to finish its file


async def serve(service: Service) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    log = logging.getLogger("camera_service")
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if service.faults.ignore_sigterm:   # fault knob: a stop hangs until systemd's stop timeout kills it
        loop.add_signal_handler(signal.SIGTERM, lambda: log.warning("fault ignore_sigterm: SIGTERM ignored"))
    await service.start()
    await stop.wait()
    log.info("stopping")
    # a bounded stop: one that hangs past STOP_LIMIT_S writes every thread's stack to stderr (the journal,
    # so the hang can be found) and exits with status 1, long before systemd's stop timeout would kill it
    faulthandler.dump_traceback_later(STOP_LIMIT_S, exit=True)
    await service.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="camera_service", description=__doc__.splitlines()[0])
    parser.add_argument("--config-dir", type=Path, required=True)
    parser.add_argument("--env", default="development", choices=config_mod.ENVIRONMENTS)
    parser.add_argument("--overlay", type=Path, action="append", default=[])
    parser.add_argument("--version", action="version", version=version())
    args = parser.parse_args(argv)
    try:
        config = config_mod.load(args.config_dir, args.env, args.overlay)
        setup_logging(config.get("logging", {}))
        service = Service(config)
    except (config_mod.ConfigError, FaultError, KeyError) as exc:
        print(f"camera-service: configuration error: {exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        logging.getLogger("camera_service").error("refusing to start: %s", exc)
        return 3
    try:
        asyncio.run(serve(service))
    except StartupError as exc:
        logging.getLogger("camera_service").error("refusing to start: %s", exc)
        return 3
    except OSError as exc:
        logging.getLogger("camera_service").error("cannot listen: %s", exc)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
