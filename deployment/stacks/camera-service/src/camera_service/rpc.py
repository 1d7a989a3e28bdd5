"""JSON-RPC 2.0 framing: parse, validate, batch, notifications, error objects. No method knowledge here.

Error codes: the JSON-RPC 2.0 standard ones plus the service codes -32001..-32008 (the set the API page
lists first; the contract says so in `x-error-code-set`). Internal errors never carry a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
AUTH_FAILED = -32001
RATE_LIMITED = -32002
PERMISSION_DENIED = -32003
CAMERA_NOT_FOUND = -32004
RECORDING_IN_PROGRESS = -32005
MEDIA_UNAVAILABLE = -32006
INSUFFICIENT_STORAGE = -32007
NOT_SUPPORTED = -32008

MESSAGES = {
    PARSE_ERROR: "Parse error",
    INVALID_REQUEST: "Invalid Request",
    METHOD_NOT_FOUND: "Method not found",
    INVALID_PARAMS: "Invalid params",
    INTERNAL_ERROR: "Internal error",
    AUTH_FAILED: "Authentication failed or token expired",
    RATE_LIMITED: "Rate limit exceeded",
    PERMISSION_DENIED: "Insufficient permissions",
    CAMERA_NOT_FOUND: "Camera not found or disconnected",
    RECORDING_IN_PROGRESS: "Recording already in progress",
    MEDIA_UNAVAILABLE: "Media server unavailable",
    INSUFFICIENT_STORAGE: "Insufficient storage",
    NOT_SUPPORTED: "Capability not supported",
}


class RpcError(Exception):
    """An error answer: code, message and optional data (never a traceback)."""

    def __init__(self, code: int, message: str | None = None, data: Any = None):
        super().__init__(message or MESSAGES.get(code, "Error"))
        self.code = code
        self.message = message or MESSAGES.get(code, "Error")
        self.data = data

    def to_dict(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


Dispatch = Callable[[str, dict, bool], Awaitable[Any]]  # (method, params, is_notification) -> result


def _error(request_id, err: RpcError) -> dict:
    return {"jsonrpc": "2.0", "error": err.to_dict(), "id": request_id}


def _valid_id(value) -> bool:
    return value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool))


async def handle_one(request, dispatch: Dispatch) -> dict | None:
    """Answer one request object; None for a notification (no `id` member)."""
    if not isinstance(request, dict):
        return _error(None, RpcError(INVALID_REQUEST))
    is_notification = "id" not in request
    request_id = request.get("id")
    if (request.get("jsonrpc") != "2.0" or not isinstance(request.get("method"), str)
            or not _valid_id(request_id)
            or ("params" in request and not isinstance(request["params"], (dict, list)))):
        return _error(request_id if _valid_id(request_id) else None, RpcError(INVALID_REQUEST))
    params = request.get("params", {})
    if isinstance(params, list):
        if params:
            return None if is_notification else _error(
                request_id, RpcError(INVALID_PARAMS, data={"reason": "params must be an object"}))
        params = {}
    try:
        result = await dispatch(request["method"], params, is_notification)
    except RpcError as err:
        return None if is_notification else _error(request_id, err)
    if is_notification:
        return None
    return {"jsonrpc": "2.0", "result": result, "id": request_id}


async def handle_text(text: str | bytes, dispatch: Dispatch) -> str | None:
    """Answer one WebSocket message: a single request or a batch. None when nothing is to be sent."""
    try:
        message = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError):  # too deeply nested JSON is a parse error too
        return json.dumps(_error(None, RpcError(PARSE_ERROR)))
    if isinstance(message, list):
        if not message:
            return json.dumps(_error(None, RpcError(INVALID_REQUEST)))
        answers = [a for a in [await handle_one(r, dispatch) for r in message] if a is not None]
        return json.dumps(answers) if answers else None
    answer = await handle_one(message, dispatch)
    return json.dumps(answer) if answer is not None else None
