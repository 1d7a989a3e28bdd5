"""`ivv profile init`: ask a running service what it can do and write a starting profile to edit.

    ivv profile init --endpoint ws://HOST:PORT/ws --health http://HOST:PORT --contract FILE
                     [--token TOKEN] [--output profile.yaml]

It asks only read-only questions: which health endpoints answer (and with what), which contract methods
answer without credentials and, with `--token`, which read-only methods answer for that token's role
(methods that change state are never called). The profile it writes is endpoint-only (no `deployment`)
and says in comments what each field is for and what was observed. The token is never written.
`ivv profile check FILE` validates a profile and prints what it describes.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import yaml

from ivv.commands import endpoint as endpoint_lib
from ivv.config import profile as profile_lib
from ivv.contract import document as contract_lib
from ivv.errors import ConfigError
from ivv.evidence import redact
from ivv.rpc.client import RpcClient, RpcConnectError, RpcError
from ivv.security.surface import READ_ONLY_NAMES, READ_ONLY_PREFIXES
from ivv.targets.endpoint import is_loopback


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("profile", help="write or check a stack profile",
                                   description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="profile_command", required=True)
    init = sub.add_parser("init", help="probe a running service and write a starting profile")
    init.add_argument("--endpoint", required=True, metavar="URL", help="ws://HOST:PORT/PATH of the JSON-RPC API")
    init.add_argument("--health", required=True, metavar="URL", help="http://HOST:PORT of the health server")
    init.add_argument("--contract", required=True, metavar="FILE", help="the service's OpenRPC contract")
    init.add_argument("--token", metavar="TOKEN", help="a JWT or API key to check login and role with (never written)")
    init.add_argument("--name", help="profile name (default: endpoint-HOST-PORT)")
    init.add_argument("--output", default="-", metavar="FILE", help="where to write the profile (default: stdout)")
    init.add_argument("--timeout", type=float, default=5.0, help="seconds per question (default 5)")
    init.set_defaults(func=run_init)
    check = sub.add_parser("check", help="validate a profile and print what it describes")
    check.add_argument("file")
    check.set_defaults(func=run_check)
    return parser


def read_only(name: str) -> bool:
    return name in READ_ONLY_NAMES or name.startswith(READ_ONLY_PREFIXES)


def probe_rpc(url: str, contract, token: str | None, timeout: float, auth_method: str = "authenticate",
              auth_param: str = "auth_token") -> dict:
    """What the API answers: per method without credentials, the login, and read-only calls with it."""
    observed: dict = {"methods": {}, "login": None, "file_routes": []}
    try:
        with RpcClient(url, timeout=timeout, connect_timeout=timeout, verify_tls=False) as anon:
            for name in contract.methods:
                if name == auth_method:
                    continue
                reply = anon.call(name)
                observed["methods"][name] = {"anonymous": "result" if reply.ok else reply.error_code}
        if token:
            with RpcClient(url, timeout=timeout, connect_timeout=timeout, verify_tls=False) as client:
                login = client.call(auth_method, {auth_param: token})
                observed["login"] = login.result if login.ok else {"error": login.error}
                role = (login.result or {}).get("role") if login.ok else None
                for name, method in contract.methods.items():
                    if name == auth_method:
                        continue
                    if not read_only(name) or method.required_params:
                        observed["methods"][name]["token"] = "not called (changes state or needs params)"
                        continue
                    if role and not contract.allows(name, role):
                        observed["methods"][name]["token"] = f"not called (needs more than {role})"
                        continue
                    reply = client.call(name)
                    observed["methods"][name]["token"] = "result" if reply.ok else reply.error_code
                    for item in (reply.result or {}).get("files", []) if isinstance(reply.result, dict) else []:
                        url_path = item.get("download_url") if isinstance(item, dict) else None
                        if url_path and item.get("filename") and url_path.endswith(item["filename"]):
                            route = url_path[: -len(item["filename"])] + "{filename}"
                            if route not in observed["file_routes"]:
                                observed["file_routes"].append(route)
    except RpcConnectError as exc:
        raise ConfigError(f"--endpoint {url}: {exc}") from exc
    except RpcError as exc:
        raise ConfigError(f"--endpoint {url}: the service stopped answering: {exc}") from exc
    return observed


def _flow(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a YAML scalar, quoted safely
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1000).strip()


def render(args, contract, health: dict, observed: dict) -> str:
    scheme, host, port, path = endpoint_lib.parse_url(args.endpoint, "--endpoint", ("ws", "wss"))
    base = endpoint_lib.build_profile(args.endpoint, args.health, args.contract, args.name, found_health=health)
    login = observed.get("login") or {}
    role = login.get("role") if isinstance(login, dict) else None
    kinds = ["jwt" if args.token and args.token.count(".") == 2 else "api_key"] if role else []
    answered = sorted(n for n, o in observed["methods"].items() if "result" in o.values())
    missing = sorted(n for n, o in observed["methods"].items() if -32601 in o.values())
    lines = [
        f"# Stack profile written by `ivv profile init` on {datetime.now(UTC):%Y-%m-%dT%H:%MZ}",
        f"# from the running service at {args.endpoint} (health {args.health}).",
        "# A starting point: check every value against the service's real configuration, then run",
        "#   ivv profile check THIS_FILE",
        "#   ivv gate --profile THIS_FILE --inventory YOUR_INVENTORY   (or ivv gate --endpoint ... for loopback)",
        "# No `deployment` section: ivv did not deploy this service, so it is validated endpoint-only and the",
        "# deployment and rollback criteria stay NOT VERIFIED. Add one if ivv should install the stack.",
        f"name: {base['name']}                 # short name shown in the report",
        f"description: {_flow(base['description'])}",
        f"contract: {base['contract']}   # OpenRPC document: methods, params, results and roles (x-role)",
        "",
        "rpc:",
        f"  port: {port}                       # API port on the device (the host comes from the inventory target)",
        f"  path: {path}                        # WebSocket path of the JSON-RPC endpoint",
        f"  tls: {str(scheme == 'wss').lower()}                       # true when the API speaks wss://",
        "  # The fields below are what the security suite attacks; a field left out is NOT VERIFIED, never",
        "  # guessed. Fill them in from the service's configuration:",
        f"  # bind: {'127.0.0.1' if is_loopback(host) else '0.0.0.0'}"
        "                # address the API is configured to listen on (least exposure)",
        "  # max_message_bytes: 65536       # largest request it accepts (request limits)",
        "  # rate_limit: {per_second: 200, burst: 400, error_code: -32002}   # its per-connection limit",
    ]
    if observed["file_routes"]:
        lines += ["  files:                           # download routes seen in list results (path traversal probes)",
                  f"    routes: {_flow(observed['file_routes'])}",
                  '    auth_header: "Authorization: Bearer {token}"   # how a download presents a credential']
    else:
        lines += ['  # files: {routes: ["/files/snapshots/{filename}"], auth_header: "Authorization: Bearer {token}"}']
    hs = base["health"]
    lines += [
        "",
        "health:",
        f"  port: {hs['port']}                       # health server port on the device",
        f"  tls: {str(hs['tls']).lower()}",
        "  # bind: 127.0.0.1               # address the health server is configured to listen on",
        f"  ready_endpoint: {hs['ready_endpoint']}             # the endpoint whose body says ready / not_ready",
        "  endpoints:                      # body status -> HTTP code; what each answered when probed:",
    ]
    for key, spec in hs["endpoints"].items():
        seen = health[key]
        lines.append(f"    {key}: {_flow(spec)}   # answered {seen['status']}"
                     + (f" with status {seen['body_status']!r}" if seen["body_status"] else ""))
    creds = base["auth"]["credentials"]
    lines += [
        "",
        "auth:",
        f"  methods: {_flow(kinds or ['jwt', 'api_key'])}"
        + (f"         # observed: the token given logged in as role {role}" if role else
           "         # not observed (no --token, or the token was refused): check"),
        f"  login: {_flow(base['auth']['login'])}   # the login call and its token param",
        f"  roles: {_flow(list(contract.roles))}        # least to most privileged (from the contract)",
        "  credentials:                    # where the harness finds credentials (values never written here)",
        f"    jwt_secret_env: {creds['jwt_secret_env']}          # the HS256 signing secret, to mint tokens per role",
        f"    api_keys_env: {_flow(creds['api_keys_env'])}",
        f"    revoked_api_key_env: {creds['revoked_api_key_env']}   # a key the service has revoked (must be refused)",
        "",
        "# Observed while probing (for your review; not read by ivv):",
        f"#   contract methods answering with a result: {', '.join(answered) or 'none'}",
        f"#   contract methods the service does not know (-32601): {', '.join(missing) or 'none'}",
    ]
    for name, seen in sorted(observed["methods"].items()):
        lines.append(f"#   {name} ({contract.least_role(name) or 'public'}): "
                     + ", ".join(f"{who}: {what}" for who, what in seen.items()))
    return "\n".join(lines) + "\n"


def run_init(args: argparse.Namespace) -> int:
    if args.token:
        redact.register(args.token)
    contract = contract_lib.load(args.contract)
    endpoint_lib.parse_url(args.endpoint, "--endpoint", ("ws", "wss"))
    health = endpoint_lib.probe_health(args.health, timeout=args.timeout)
    observed = probe_rpc(args.endpoint, contract, args.token, args.timeout)
    text = redact.redact(render(args, contract, health, observed))
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    out.write_text(text)
    profile_lib.load(out)  # what was written must load; a problem is a bug here, reported with file:line
    print(f"wrote {out}: {len(health)} health endpoint(s), "
          f"{sum(1 for o in observed['methods'].values() if 'result' in o.values())} method(s) answering; "
          "review the commented fields before use", file=sys.stderr)
    return 0


def run_check(args: argparse.Namespace) -> int:
    profile = profile_lib.load(args.file)
    mode = "endpoint-only (not deployed by ivv)" if profile.endpoint_only else "deployed by ivv"
    print(f"{profile.path}: {profile.name}, {mode}; rpc port {profile.rpc['port']}{profile.rpc['path']}, "
          f"health port {profile.health['port']} ({', '.join(profile.health['endpoints'])})")
    return 0
