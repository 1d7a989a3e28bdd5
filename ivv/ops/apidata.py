"""Data written through the stack's API the way a user would, so "data preserved" has data to preserve."""

from __future__ import annotations

import time

from ivv.rpc.client import RpcError, RpcErrorResponse


def write_data_via_api(client, device: str, recording_s: int = 2) -> list[dict]:
    """Make the service write data the way a user would: one snapshot and one short recording.

    `client` is an authenticated ivv.rpc.client.RpcClient (operator role or above). Returns the results, so the
    evidence shows which files the service said it wrote.
    """
    results = [{"take_snapshot": client.request("take_snapshot", {"device": device}, timeout=30)}]
    started = client.request("start_recording", {"device": device, "duration": recording_s}, timeout=30)
    time.sleep(recording_s + 1.0)
    try:
        stopped = client.request("stop_recording", {"device": device}, timeout=30)
    except Exception as exc:  # noqa: BLE001 - a recording that ended by its duration cannot be stopped
        stopped = {"note": f"stop_recording: {exc}"}
    results.append({"start_recording": started, "stop_recording": stopped})
    return results


def write_user_data(stack, ops, device: str) -> list[dict]:
    """The data an operation must keep: what the API writes through the stack's protocol (its failure
    kept, not raised: a stack without such a call still has its data compared) and one marker file per
    data folder in any case (`ops.seed_data_markers`)."""
    from ivv.protocols import protocol_of

    try:
        written = protocol_of(stack.profile)(stack, lambda _name, default=None: default).write_data(device)
    except (NotImplementedError, RpcError, RpcErrorResponse, OSError) as exc:
        written = [{"not written through the API": f"{type(exc).__name__}: {exc}"}]
    return written + [{"marker": path} for path in ops.seed_data_markers()]
