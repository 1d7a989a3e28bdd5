"""`python -m ivv.load.run --spec SPEC.json --out DIR [--workers N] [--hosts HOSTS.json]`: one load run in its own process.

Gevent monkey-patching happens first, before anything imports sockets or threads. The auth token comes
from the environment (IVV_LOAD_TOKEN), never from the command line, so it is not visible in `ps`. A worker
on a load-generator host is started with `--spec -` and reads `{"spec", "token"}` from stdin instead.
Prints the result summary as one JSON line; exit 0 when the run completed (whatever the figures).
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from ivv.load.spec import TOKEN_ENV, LoadSpec  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ivv.load.run", description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help="spec JSON written by LoadSpec.write; '-': spec and token "
                                                      "as one JSON object on stdin")
    parser.add_argument("--out", help="output directory (master or local run)")
    parser.add_argument("--workers", type=int, default=0, help="Locust worker processes (0 = local runner)")
    parser.add_argument("--worker-of", metavar="HOST:PORT", help="run as a Locust worker of this master")
    parser.add_argument("--hosts", metavar="FILE", help="load-generator hosts (ivv.load.remote.LoadHost list, JSON)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.spec == "-":
        given = json.load(sys.stdin)
        spec, token = LoadSpec.from_dict(given["spec"]), given.get("token") or None
    else:
        spec, token = LoadSpec.read(args.spec), os.environ.get(TOKEN_ENV) or None
    from ivv.load import distributed, runner
    from ivv.load.remote import LoadHost

    hosts = [LoadHost.from_dict(h) for h in json.loads(Path(args.hosts).read_text())] if args.hosts else []
    if args.worker_of:
        distributed.run_worker(spec, token, args.worker_of)
        return 0
    if not args.out:
        parser.error("--out is required unless --worker-of is given")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if spec.steps:
        from ivv.load import capacity_run

        result = capacity_run.run_search(spec, token, out)
    elif args.workers > 0 or hosts:
        result = distributed.run_master(spec, token, out, args.workers, hosts)
    else:
        result = runner.run_local(spec, token, out)
    print(json.dumps({"summary": result["summary"], "model": result["model"], "workers": result["workers"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
