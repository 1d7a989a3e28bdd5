"""Process-wide registry of secret values, and `redact()` which every writer calls.

Secrets come from `register(value)`, the `--ivv-secret` option and `IVV_SECRET_*` environment variables.
Writers (the journal, artifacts, manifest, reports, junit/html pages) pass their text through `redact`,
so a token handed to ivv can never reach the bundle, whatever escaping the writer applies.
"""

from __future__ import annotations

import html
import json
import os
import re
import threading
from typing import Any

MASK = "[REDACTED]"
MIN_LENGTH = 4  # shorter values would mask ordinary words and digits
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)

_lock = threading.Lock()
_secrets: set[str] = set()
_variants: list[str] = []


def _escaped_forms(value: str) -> set[str]:
    """The value as it appears after JSON, HTML/XML or both escapings."""
    as_json = json.dumps(value)[1:-1]
    forms = {value, as_json, html.escape(value), html.escape(value, quote=False), html.escape(as_json)}
    forms.add(html.escape(json.dumps(as_json)[1:-1]))
    return {f for f in forms if f}


def register(value: str | bytes | None) -> None:
    """Mark a value as secret from now on (short or empty values are ignored)."""
    if value is None:
        return
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    value = value.strip()
    if len(value) < MIN_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        forms = set(_variants)
        forms.update(_escaped_forms(value))
        _variants[:] = sorted(forms, key=len, reverse=True)  # longest first: no partial leftovers


def register_from_env(environ: dict[str, str] | None = None) -> None:
    """Register the value of every `IVV_SECRET_*` environment variable."""
    for key, value in (environ if environ is not None else os.environ).items():
        if key.startswith("IVV_SECRET_"):
            register(value)


def clear() -> None:
    """Forget every registered secret (self-tests only)."""
    with _lock:
        _secrets.clear()
        _variants.clear()


def secrets() -> frozenset[str]:
    return frozenset(_secrets)


def redact(text: str) -> str:
    """Replace every registered secret (in any escaped form) and PEM private keys by a mask."""
    if not text:
        return text
    text = _PEM.sub(MASK, text)
    for form in _variants:
        if form in text:
            text = text.replace(form, MASK)
    return text


def redact_bytes(data: bytes) -> bytes:
    """Redact bytes that decode as UTF-8; binary data is checked for raw secret bytes only."""
    try:
        return redact(data.decode("utf-8")).encode("utf-8")
    except UnicodeDecodeError:
        for form in _variants:
            raw = form.encode("utf-8")
            if raw in data:
                data = data.replace(raw, MASK.encode())
        return data


def redact_obj(obj: Any) -> Any:
    """Redact every string inside plain data (dicts, lists, tuples), keys included."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {redact_obj(k): redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


def redact_file(path: str | os.PathLike) -> bool:
    """Rewrite a file in place with secrets masked; True when something was masked."""
    with open(path, "rb") as fh:
        data = fh.read()
    cleaned = redact_bytes(data)
    if cleaned == data:
        return False
    with open(path, "wb") as fh:
        fh.write(cleaned)
    return True
