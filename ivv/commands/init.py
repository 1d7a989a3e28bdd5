"""`ivv init DIR`: scaffold a team's own ivv project, to validate their stack from their own repository.

Writes `DIR/ivv/` with a profile, a contract (the team's own when `--contract` is given, else a
one-method stub), an inventory (this machine, plus a commented SSH device), a gate (the shipped
production-readiness criteria under the team's own gate id), a README snippet, and `DIR/tox.ini` with an
`ivv` environment. With `--endpoint`/`--health`/`--contract` the profile is written by `ivv profile init`
from what the running service answers. Nothing is overwritten: an existing file is an error naming it.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

import yaml

from ivv import resources
from ivv.config import profile as profile_lib
from ivv.config.gates import load_gate
from ivv.contract import document as contract_lib
from ivv.errors import ConfigError

CONTRACT_STUB = {
    "openrpc": "1.2.6",
    "info": {"title": "TODO: your service", "version": "0.1.0"},
    "x-roles": ["viewer", "operator", "admin"],
    "methods": [
        {"name": "authenticate", "x-role": None, "paramStructure": "by-name",
         "params": [{"name": "auth_token", "required": True, "schema": {"type": "string", "minLength": 1}}],
         "result": {"name": "result", "schema": {"type": "object", "required": ["authenticated"],
                                                 "properties": {"authenticated": {"const": True}}}},
         "errors": [{"$ref": "#/components/errors/AUTH_FAILED"}]},
        {"name": "ping", "x-role": "viewer", "params": [],
         "result": {"name": "result", "schema": {"const": "pong"}},
         "errors": [{"$ref": "#/components/errors/AUTH_FAILED"}]},
    ],
    "components": {"errors": {"AUTH_FAILED": {"code": -32001, "message": "Authentication failed or token expired"},
                              "PERMISSION_DENIED": {"code": -32003, "message": "Insufficient permissions"}}},
}

PROFILE_TEMPLATE = """\
# Stack profile of {name}: everything the ivv suites need to know about the stack (schema: ivv's
# config/schemas/profile.schema.json). Replace every TODO, then run `ivv profile check ivv/profile.yaml`.
# No `deployment` section: ivv validates the running service endpoint-only, and the deployment and
# rollback criteria stay NOT VERIFIED until you add one (see the reference stack's profile).
name: {name}
description: "TODO: what this stack is"
contract: contract.openrpc.json     # OpenRPC document: methods, params, results, roles (x-role)

rpc:
  port: 8002                        # TODO: API port on the device
  path: /ws                         # TODO: WebSocket path of the JSON-RPC endpoint
  tls: false
  # bind: 127.0.0.1                 # TODO: configured listen address (least exposure)
  # max_message_bytes: 65536        # TODO: largest request it accepts (request limits)

health:
  port: 8003                        # TODO: health server port on the device
  ready_endpoint: ready
  endpoints:
    ready: {{path: /health/ready, codes: {{ready: 200, not_ready: 503}}}}   # TODO: body status -> HTTP code

auth:
  methods: [jwt, api_key]
  login: {{method: authenticate, param: auth_token}}
  roles: [viewer, operator, admin]
  credentials:                      # where the harness finds credentials (values never written here)
    jwt_secret_env: IVV_JWT_SECRET
    api_keys_env: {{viewer: IVV_API_KEY_VIEWER, operator: IVV_API_KEY_OPERATOR, admin: IVV_API_KEY_ADMIN}}
    revoked_api_key_env: IVV_API_KEY_REVOKED
"""

INVENTORY_TEMPLATE = """\
# Where the stack runs. `local` (this machine) is always available; add your devices below.
targets:
  - {name: service, kind: local, environment: staging, tags: [endpoint-only]}
  # - name: cam-01
  #   kind: ssh
  #   host: 192.0.2.10
  #   user: ivv
  #   key: ~/.ssh/id_ed25519
  #   environment: staging
"""

TOX_TEMPLATE = """\
[tox]
envlist = ivv

[testenv:ivv]
description = gate the stack with ivv (report in reports/latest/gate-review.html)
deps = {{env:IVV_PACKAGE:{package}}}
skip_install = true
passenv = IVV_*, CAMERA_*, HOME
commands = ivv gate --gate ivv/gate.yaml --profile ivv/profile.yaml --inventory ivv/inventory.yaml {{posargs}}
"""

def package_source() -> str:
    """Where tox and pip get ivv from: the checkout this ivv runs from, else the installed distribution's
    origin; "ivv" only as the last resort (the PyPI name may belong to another project)."""
    root = resources.checkout()
    if root is not None:
        return str(root)
    try:
        from importlib.metadata import distribution
        url = distribution("ivv").read_text("direct_url.json")
        if url:
            return json.loads(url).get("url", "ivv").removeprefix("file://")
    except Exception:  # noqa: BLE001 - any metadata problem leaves the plain name
        pass
    return "ivv"


README_TEMPLATE = """\
# Gating {name} with ivv

```
pip install {package}     # ivv itself (its checkout or wheel); or: IVV_PACKAGE=/path/to/ivv.whl tox -e ivv
ivv profile check ivv/profile.yaml
IVV_JWT_SECRET=... ivv gate --gate ivv/gate.yaml --profile ivv/profile.yaml --inventory ivv/inventory.yaml
tox -e ivv                          # the same, from tox
ivv report reports/latest           # render the report again from the bundle alone
```

- `ivv/profile.yaml`: ports, health endpoints, auth, paths of the stack (fill in every TODO).
- `ivv/contract.openrpc.json`: the API contract the contract and security suites check.
- `ivv/inventory.yaml`: where the stack runs (this machine, or devices over SSH).
- `ivv/gate.yaml`: the criteria and thresholds of your gate review (copied from ivv's
  production-readiness gate; edit thresholds and `mandatory` to your requirements).
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("init", help="scaffold a project that gates its own stack with ivv",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="the project folder (created if missing)")
    parser.add_argument("--name", help="stack name (default: the folder's name)")
    parser.add_argument("--endpoint", metavar="URL", help="ws://HOST:PORT/PATH of a running service to probe")
    parser.add_argument("--health", metavar="URL", help="http://HOST:PORT of its health server")
    parser.add_argument("--contract", metavar="FILE", help="its OpenRPC contract (copied into the project)")
    parser.add_argument("--token", metavar="TOKEN", help="a JWT or API key to probe with (never written)")
    parser.set_defaults(func=run)
    return parser


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "my-stack"


def run(args: argparse.Namespace) -> int:
    root = Path(args.directory)
    name = _slug(args.name or root.resolve().name)
    probing = [o for o in ("endpoint", "health") if getattr(args, o)]
    if probing and not (args.endpoint and args.health and args.contract):
        raise ConfigError("--endpoint and --health go together, and need --contract (the service's OpenRPC file)")
    files = {"ivv/profile.yaml", "ivv/contract.openrpc.json", "ivv/inventory.yaml", "ivv/gate.yaml",
             "ivv/README.md", "tox.ini"}
    existing = sorted(f for f in files if (root / f).exists())
    if existing:
        raise ConfigError(f"{root}: {', '.join(existing)} already exist(s); ivv init writes a new project only")
    (root / "ivv").mkdir(parents=True, exist_ok=True)
    contract = root / "ivv" / "contract.openrpc.json"
    if args.contract:
        contract_lib.load(args.contract)  # a broken contract is named now, not at the first gate run
        shutil.copyfile(args.contract, contract)
    else:
        contract.write_text(json.dumps(CONTRACT_STUB, indent=2) + "\n")
    profile = root / "ivv" / "profile.yaml"
    if args.endpoint:
        from ivv.commands import profile as profile_cmd

        profile_cmd.run_init(argparse.Namespace(endpoint=args.endpoint, health=args.health,
                                                contract=str(contract.resolve()), token=args.token, name=name,
                                                output=str(profile), timeout=5.0))
        text = profile.read_text().replace(f"contract: {contract.resolve()}", "contract: contract.openrpc.json")
        profile.write_text(text)
    else:
        profile.write_text(PROFILE_TEMPLATE.format(name=name))
    (root / "ivv" / "inventory.yaml").write_text(INVENTORY_TEMPLATE)
    (root / "ivv" / "gate.yaml").write_text(_gate_text(name))
    (root / "ivv" / "README.md").write_text(README_TEMPLATE.format(name=name, package=package_source()))
    (root / "tox.ini").write_text(TOX_TEMPLATE.format(package=package_source()))
    profile_lib.load(profile)          # what was written must load
    load_gate(root / "ivv" / "gate.yaml")
    print(f"wrote {root}/ivv/ (profile, contract, inventory, gate, README) and {root}/tox.ini; "
          f"next: fill in the TODOs, then `ivv profile check {profile}`", file=sys.stderr)
    return 0


def _gate_text(name: str) -> str:
    """The shipped production-readiness gate under the team's own id, with a header saying so."""
    shipped = resources.deployment("gates", "production-readiness.yaml")
    data = yaml.safe_load(shipped.read_text())
    data["gate"] = {**data["gate"], "id": f"{name}-readiness", "title": f"{name}: production readiness"}
    header = ("# Your gate: criteria, thresholds and which are mandatory, copied from ivv's production-readiness\n"
              "# gate. Edit them to your requirements; add `trace: [REQ-1]` to map a criterion to your documents.\n")
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)
