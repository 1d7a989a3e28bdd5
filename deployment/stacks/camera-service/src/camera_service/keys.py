"""`python -m camera_service.keys --file api-keys.json add ROLE | revoke ID | list`: manage API keys.

`add` prints the new key once; only its sha256 is stored. Revoked keys stop working at the next request.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from camera_service.auth import ROLES, ApiKeyStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="camera_service.keys", description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, required=True, help="the api_keys_file of the config")
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add")
    add.add_argument("role", choices=ROLES)
    add.add_argument("--id")
    sub.add_parser("revoke").add_argument("id")
    sub.add_parser("list")
    args = parser.parse_args(argv)
    store = ApiKeyStore(args.file)
    if args.action == "add":
        key_id, key = store.add(args.role, args.id)
        print(json.dumps({"id": key_id, "role": args.role, "key": key}))
    elif args.action == "revoke":
        if not store.revoke(args.id):
            print(f"no API key with id {args.id!r} in {args.file}", file=sys.stderr)
            return 1
    else:
        for entry in store.entries():
            print(f"{entry['id']}\t{entry['role']}\t{'revoked' if entry.get('revoked') else 'active'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
