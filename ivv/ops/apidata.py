"""Data written through the stack's API the way a user would, so "data preserved" has data to preserve."""

from __future__ import annotations

import time


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
