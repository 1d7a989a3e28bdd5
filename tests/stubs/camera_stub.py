"""A small camera-like JSON-RPC service over WebSocket on 127.0.0.1, for the harness's own tests.

It serves tests/stubs/camera-stub.openrpc.json correctly (HS256 logins with user_id + role, roles,
documented error codes, a size limit, a file route under /media/images/) unless `--fault` names exactly
one way to misbehave. Method names differ from the reference stack on purpose, so a probe that only
works for the reference's names shows here. Run:

    python tests/stubs/camera_stub.py --secret S [--fault NAME] [--max-bytes N]

It prints `PORT <n>` once it listens, and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
from http import HTTPStatus

import jwt
from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

FAULTS = {
    "internal_errors": "every call that would answer a result answers -32603 instead",
    "params_before_auth": "methods with required params check them first and never check who calls",
    "success_shaped_login": "a failed login answers a result {authenticated: false}; the session stays out",
    "refuse_valid": "every login is refused, valid ones too",
    "text_traceback": "errors are sent as a raw-text Python traceback, not as JSON",
    "string_error": "errors are sent as a string holding a traceback instead of an error object",
    "no_errors": "every request gets a result, whatever it is",
    "empty_name_default": "capture_image takes an empty filename as 'use the default name'",
    "files_500": "the file route answers 500 to a name it does not accept, instead of 400",
    "no_size_limit": "no message size limit (params are still validated strictly)",
}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ROLES = ("viewer", "operator", "admin")
NEEDS = {"ping": "viewer", "get_devices": "viewer", "list_images": "viewer", "capture_image": "operator",
         "get_image_info": "viewer", "get_config": "admin"}
PARAMS = {"authenticate": ({"auth_token"}, {"auth_token"}), "list_images": (set(), {"limit"}),
          "capture_image": ({"device"}, {"device", "filename"}), "get_image_info": ({"filename"}, {"filename"})}
TRACEBACK = ('Traceback (most recent call last):\n  File "/srv/camera/app.py", line 42, in dispatch\n'
             "KeyError: 'device'")


class Refused(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class Stub:
    def __init__(self, secret: str, fault: str | None):
        self.secret, self.fault = secret, fault
        self.images: dict[str, bytes] = {}

    def identity(self, token) -> str | None:
        if self.fault == "refuse_valid" or not isinstance(token, str):
            return None
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            return None
        return claims.get("role") if claims.get("role") in ROLES else None

    def check_params(self, method: str, params: dict) -> None:
        required, known = PARAMS.get(method, (set(), set()))
        if set(params) - known or required - set(params):
            raise Refused(-32602, "Invalid params")
        limit = params.get("limit", 1)
        if "limit" in params and (not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100):
            raise Refused(-32602, "Invalid params")
        for key in ("device", "auth_token"):
            if key in params and (not isinstance(params[key], str) or not params[key]):
                raise Refused(-32602, "Invalid params")
        name = params.get("filename", "-")
        if "filename" in params and not (isinstance(name, str) and (NAME.match(name) or
                                                               (name == "" and self.fault == "empty_name_default"))):
            raise Refused(-32602, "Invalid params")

    def call(self, session: dict, method: str, params: dict):
        if method == "authenticate":
            self.check_params(method, params)
            role = self.identity(params["auth_token"])
            if role is None:
                if self.fault == "success_shaped_login":
                    return {"authenticated": False, "reason": "invalid token"}
                raise Refused(-32001, "Authentication failed or token expired")
            session["role"] = role
            return {"authenticated": True, "role": role}
        if method not in NEEDS:
            raise Refused(-32601, "Method not found")
        if "auth_token" in params:  # a call may carry its own credential, as the reference stack allows
            params = dict(params)
            session = {"role": self.identity(params.pop("auth_token"))}
        if self.fault == "params_before_auth" and PARAMS.get(method, (set(),))[0]:
            self.check_params(method, params)  # ...and nobody asks who calls
        else:
            role = session.get("role")
            if role is None:
                raise Refused(-32001, "Authentication failed or token expired")
            if ROLES.index(role) < ROLES.index(NEEDS[method]):
                raise Refused(-32003, "Insufficient permissions")
            self.check_params(method, params)
        result = self.result(method, params)
        if self.fault == "internal_errors":
            raise Refused(-32603, "Internal error")
        return result

    def result(self, method: str, params: dict):
        if method == "ping":
            return "pong"
        if method == "get_devices":
            return {"devices": [{"device": "cam0"}]}
        if method == "list_images":
            names = sorted(self.images)[: params.get("limit", 100)]
            return {"files": [{"filename": n, "download_url": f"/media/images/{n}"} for n in names],
                    "total": len(self.images)}
        if method == "capture_image":
            if params["device"] != "cam0":
                raise Refused(-32004, "Device not found")
            name = params.get("filename") or f"image-{len(self.images) + 1}.jpg"
            self.images[name] = b"\xff\xd8stub-image\xff\xd9"
            return {"filename": name, "status": "completed"}
        if method == "get_image_info":
            if params["filename"] not in self.images:
                raise Refused(-32602, "Invalid params")
            return {"filename": params["filename"], "size": len(self.images[params["filename"]])}
        return {"name": "camera-stub", "version": "1.0.0"}

    def answer(self, session: dict, text: str) -> str | None:
        if self.fault == "no_errors":
            return json.dumps({"jsonrpc": "2.0", "result": {"ok": True}, "id": _id_of(text)})
        try:
            request = json.loads(text)
        except (ValueError, RecursionError):  # too deeply nested is unreadable too
            return self.error(None, -32700, "Parse error")
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or not isinstance(request.get("method"), str):
            return self.error(None, -32600, "Invalid Request")
        if "id" not in request:
            return None
        params = request.get("params", {})
        params = {} if params == [] else params
        try:
            if not isinstance(params, dict):
                raise Refused(-32602, "Invalid params")
            result = self.call(session, request["method"], params)
        except Refused as exc:
            return self.error(request["id"], exc.code, exc.message)
        return json.dumps({"jsonrpc": "2.0", "result": result, "id": request["id"]})

    def error(self, ident, code: int, message: str) -> str:
        if self.fault == "text_traceback":
            return TRACEBACK
        if self.fault == "string_error":
            return json.dumps({"jsonrpc": "2.0", "error": f"{message}\n{TRACEBACK}", "id": ident})
        return json.dumps({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": ident})

    async def session(self, conn) -> None:
        state: dict = {}
        async for message in conn:
            reply = self.answer(state, message)
            if reply is not None:
                await conn.send(reply)

    def http(self, conn, request):
        """The WebSocket path goes on to the handshake; /media/images/<name> serves a stored image."""
        path = request.path.split("?", 1)[0]
        if path == "/ws":
            return None
        if not path.startswith("/media/images/"):
            return self.plain(HTTPStatus.NOT_FOUND, b"not found")
        header = request.headers.get("Authorization", "")
        if self.identity(header[7:] if header.startswith("Bearer ") else None) is None:
            return self.plain(HTTPStatus.UNAUTHORIZED, b"authentication required")
        name = path[len("/media/images/"):]
        if not NAME.match(name):
            return self.plain(HTTPStatus.INTERNAL_SERVER_ERROR if self.fault == "files_500" else HTTPStatus.BAD_REQUEST,
                              b"bad name")
        if name not in self.images:
            return self.plain(HTTPStatus.NOT_FOUND, b"no such image")
        return self.plain(HTTPStatus.OK, self.images[name], "image/jpeg")

    @staticmethod
    def plain(status: HTTPStatus, body: bytes, kind: str = "text/plain") -> Response:
        headers = Headers([("Content-Type", kind), ("Content-Length", str(len(body))), ("Connection", "close")])
        return Response(status.value, status.phrase, headers, body)


def _id_of(text: str):
    try:
        request = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return request.get("id") if isinstance(request, dict) else None


async def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret", required=True)
    parser.add_argument("--fault", choices=sorted(FAULTS))
    parser.add_argument("--max-bytes", type=int, default=8192)
    args = parser.parse_args(argv)
    stub = Stub(args.secret, args.fault)
    logging.getLogger("websockets").setLevel(logging.CRITICAL)  # refused frames are the point, not news
    limit = None if args.fault == "no_size_limit" else args.max_bytes
    async with serve(stub.session, "127.0.0.1", 0, process_request=stub.http, max_size=limit) as server:
        print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
