"""The API methods: role needed, parameters, and what each one does. Framing lives in rpc.py."""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from camera_service import rpc, version
from camera_service.auth import PERMISSIONS
from camera_service.media import MediaUnavailable
from camera_service.storage import RetentionPolicy, StorageError, iso

NUMBER = (int, float)


@dataclass(frozen=True)
class Param:
    types: tuple
    required: bool = False
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Method:
    role: str | None
    params: dict[str, Param]
    handler: Any


def _is(value, types) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def validate(params: dict, spec: dict[str, Param]) -> dict:
    """Checked params (unknown, missing, wrongly typed or out-of-range ones are -32602)."""
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise rpc.RpcError(rpc.INVALID_PARAMS, data={"reason": f"unknown parameter(s): {', '.join(unknown)}"})
    for name, p in spec.items():
        if name not in params:
            if p.required:
                raise rpc.RpcError(rpc.INVALID_PARAMS, data={"reason": f"missing parameter: {name}"})
            continue
        value = params[name]
        if not _is(value, p.types):
            raise rpc.RpcError(rpc.INVALID_PARAMS, data={"reason": f"wrong type for parameter: {name}"})
        if p.choices is not None and value not in p.choices:
            raise rpc.RpcError(rpc.INVALID_PARAMS,
                               data={"reason": f"{name} must be one of {', '.join(map(str, p.choices))}"})
        if isinstance(value, float) and not math.isfinite(value):
            raise rpc.RpcError(rpc.INVALID_PARAMS, data={"reason": f"{name} must be a finite number"})
        if p.minimum is not None and value < p.minimum:
            raise rpc.RpcError(rpc.INVALID_PARAMS, data={"reason": f"{name} must be >= {p.minimum}"})
        if p.maximum is not None and value > p.maximum:
            raise rpc.RpcError(rpc.INVALID_PARAMS, data={"reason": f"{name} must be <= {p.maximum}"})
    return params


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _storage_error(exc: StorageError) -> rpc.RpcError:
    if exc.reason == "no_space":
        return rpc.RpcError(rpc.INSUFFICIENT_STORAGE)
    return rpc.RpcError(rpc.INVALID_PARAMS, data={"reason": str(exc)})


def _camera(svc, device: str, connected: bool = True) -> dict:
    camera = svc.monitor.cameras.get(device)
    if camera is None or (connected and camera["status"] != "CONNECTED"):
        raise rpc.RpcError(rpc.CAMERA_NOT_FOUND, data={"device": device})
    return camera


async def authenticate(svc, session, params):
    identity = svc.authenticate(params["auth_token"])
    session.identity = identity
    if svc.faults.session_leak:
        svc.leaked_identity = identity
    return {"authenticated": True, "role": identity.role, "permissions": PERMISSIONS[identity.role],
            "expires_at": iso(identity.expires_at) if identity.expires_at else None,
            "session_id": session.session_id, "auth_method": identity.method}


async def ping(svc, session, params):
    return "pong"


async def get_camera_list(svc, session, params):
    cameras = [svc.monitor.cameras[d] for d in svc.monitor.devices]
    return {"cameras": cameras, "total": len(cameras),
            "connected": sum(1 for c in cameras if c["status"] == "CONNECTED")}


async def get_camera_status(svc, session, params):
    device = params["device"]
    camera = dict(_camera(svc, device, connected=False))
    stream = svc.monitor.media_state.get("stream", {})
    camera["metrics"] = {"bytes_sent": int(stream.get("bytes_sent", 0)),
                         "readers": int(stream.get("clients", 0)),
                         "uptime": svc.monitor.uptime(device)}
    camera["capabilities"] = {"formats": ["MJPEG"],
                              "resolutions": [camera["resolution"]] if camera["resolution"] else []}
    return camera


async def take_snapshot(svc, session, params):
    device = params["device"]
    _camera(svc, device)
    # a filename given is checked as given: an empty one breaks the contract's pattern, it is not "no name"
    filename = params["filename"] if "filename" in params else \
        f"snapshot_{time.strftime('%Y%m%d_%H%M%S')}_{secrets.token_hex(3)}.jpg"
    try:
        svc.store.check_space(evict=svc.faults.delete_when_full)
        path = svc.store.path("snapshots", filename)
        jpeg = await svc.media.snapshot()
    except StorageError as exc:
        raise _storage_error(exc) from exc
    except MediaUnavailable as exc:
        raise rpc.RpcError(rpc.MEDIA_UNAVAILABLE) from exc
    await asyncio.to_thread(path.write_bytes, jpeg)
    return {"device": device, "filename": path.name, "status": "completed", "timestamp": now_iso(),
            "file_size": len(jpeg), "file_path": str(path)}


async def start_recording(svc, session, params):
    device = params["device"]
    _camera(svc, device)
    if device in svc.media.recordings:
        raise rpc.RpcError(rpc.RECORDING_IN_PROGRESS, data={"device": device})
    fmt = params.get("format", "mp4" if svc.faults.fragile_recordings else svc.config["recording"]["default_format"])
    duration = params.get("duration")
    max_s = svc.config["recording"]["max_duration_s"]
    if duration is not None and duration > max_s:
        raise rpc.RpcError(rpc.INVALID_PARAMS, data={"reason": f"duration must be <= {max_s}"})
    session_id = secrets.token_hex(8)
    filename = f"recording_{time.strftime('%Y%m%d_%H%M%S')}_{session_id[:6]}.{fmt}"
    try:
        svc.store.check_space(evict=svc.faults.delete_when_full)
        await svc.media.state()
    except StorageError as exc:
        raise _storage_error(exc) from exc
    except MediaUnavailable as exc:
        raise rpc.RpcError(rpc.MEDIA_UNAVAILABLE) from exc
    rec = await svc.media.start_recording(device, session_id, svc.store.path("recordings", filename),
                                          fmt, duration)
    svc.watch_recording(rec)
    await svc.notify("recording_status_update", {"device": device, "status": "STARTED",
                                                 "filename": filename, "duration": 0})
    return {"device": device, "session_id": session_id, "filename": filename, "status": "STARTED",
            "start_time": iso(rec.start), "duration": duration, "format": fmt}


async def stop_recording(svc, session, params):
    device = params["device"]
    _camera(svc, device, connected=False)
    rec = svc.media.recordings.get(device)
    if rec is None:
        raise rpc.RpcError(rpc.INVALID_PARAMS, data={"reason": f"no recording in progress on {device}"})
    await svc.media.stop_recording(rec)
    size = rec.path.stat().st_size if rec.path.exists() else 0
    return {"device": device, "session_id": rec.session_id, "filename": rec.filename, "status": "STOPPED",
            "start_time": iso(rec.start), "end_time": iso(rec.end), "duration": round(rec.end - rec.start, 3),
            "file_size": size}


def _listing(kind):
    async def handler(svc, session, params):
        return svc.store.listing(kind, params.get("limit", 100), params.get("offset", 0))
    return handler


def _info(kind):
    async def handler(svc, session, params):
        try:
            return svc.store.describe(kind, svc.store.existing(kind, params["filename"]))
        except StorageError as exc:
            raise _storage_error(exc) from exc
    return handler


def _delete(kind):
    async def handler(svc, session, params):
        try:
            return svc.store.delete(kind, params["filename"])
        except StorageError as exc:
            raise _storage_error(exc) from exc
    return handler


async def get_storage_info(svc, session, params):
    return await asyncio.to_thread(svc.store.space)


async def set_retention_policy(svc, session, params):
    kind = params["policy_type"]
    if kind == "age" and params.get("max_age_days") is None:
        raise rpc.RpcError(rpc.INVALID_PARAMS, data={"reason": "policy_type age needs max_age_days"})
    if kind == "size" and params.get("max_size_gb") is None:
        raise rpc.RpcError(rpc.INVALID_PARAMS, data={"reason": "policy_type size needs max_size_gb"})
    return svc.store.set_policy(RetentionPolicy(kind, params["enabled"], params.get("max_age_days"),
                                                params.get("max_size_gb")))


async def cleanup_old_files(svc, session, params):
    return await asyncio.to_thread(svc.store.cleanup)


async def get_metrics(svc, session, params):
    return svc.metrics.snapshot(len(svc.connections))


async def get_status(svc, session, params):
    media = await svc.media.health()
    components = {"websocket_server": "running" if svc.serving else "stopped",
                  "camera_monitor": "running" if svc.monitor.running else "stopped",
                  "mediamtx_controller": "running" if media["status"] == "healthy" else "error"}
    healthy = all(v == "running" for v in components.values())
    return {"status": "healthy" if healthy else "degraded", "uptime": svc.metrics.uptime(),
            "version": version(), "components": components}


async def get_server_info(svc, session, params):
    return {"name": "camera-service", "version": version(),
            "capabilities": ["snapshots", "recordings", "notifications", "mjpeg"],
            "supported_formats": ["mp4", "mkv"], "max_cameras": int(svc.config["camera"]["max_cameras"])}


async def get_server_time(svc, session, params):
    """The service's clock (epoch seconds), so a client can place notification event times on its own."""
    return {"time": time.time()}


async def get_streams(svc, session, params):
    stream = svc.monitor.media_state.get("stream", {})
    return [{"name": device.rsplit("/", 1)[-1], "source": svc.monitor.stream_url,
             "ready": camera["status"] == "CONNECTED", "readers": int(stream.get("clients", 0)),
             "bytes_sent": int(stream.get("bytes_sent", 0))}
            for device, camera in svc.monitor.cameras.items()]


DEVICE = {"device": Param((str,), required=True)}
PAGE = {"limit": Param((int,), minimum=1, maximum=1000), "offset": Param((int,), minimum=0)}
FILENAME = {"filename": Param((str,), required=True)}

METHODS: dict[str, Method] = {
    "authenticate": Method(None, {"auth_token": Param((str,), required=True)}, authenticate),
    "ping": Method("viewer", {}, ping),
    "get_camera_list": Method("viewer", {}, get_camera_list),
    "get_camera_status": Method("viewer", DEVICE, get_camera_status),
    "take_snapshot": Method("operator", DEVICE | {"filename": Param((str,))}, take_snapshot),
    "start_recording": Method("operator", DEVICE | {"duration": Param(NUMBER, minimum=1, maximum=3600),
                                                   "format": Param((str,), choices=("mp4", "mkv"))},
                              start_recording),
    "stop_recording": Method("operator", DEVICE, stop_recording),
    "list_recordings": Method("viewer", PAGE, _listing("recordings")),
    "list_snapshots": Method("viewer", PAGE, _listing("snapshots")),
    "get_recording_info": Method("viewer", FILENAME, _info("recordings")),
    "get_snapshot_info": Method("viewer", FILENAME, _info("snapshots")),
    "delete_recording": Method("operator", FILENAME, _delete("recordings")),
    "delete_snapshot": Method("operator", FILENAME, _delete("snapshots")),
    "get_storage_info": Method("admin", {}, get_storage_info),
    "set_retention_policy": Method("admin", {
        "policy_type": Param((str,), required=True, choices=("age", "size", "manual")),
        "enabled": Param((bool,), required=True),
        "max_age_days": Param(NUMBER, minimum=0), "max_size_gb": Param(NUMBER, minimum=0)},
        set_retention_policy),
    "cleanup_old_files": Method("admin", {}, cleanup_old_files),
    "get_metrics": Method("admin", {}, get_metrics),
    "get_status": Method("admin", {}, get_status),
    "get_server_info": Method("admin", {}, get_server_info),
    "get_server_time": Method("viewer", {}, get_server_time),
    "get_streams": Method("viewer", {}, get_streams),
}
