"""What an error reply must not give away: the one list of leak patterns (stack traces, source locations,
filesystem paths, exception class names, interpreter internals, memory addresses) and the service's
own secrets. Used by the disclosure probe and by the fuzzer's oracle alike.

Only replies that are not a JSON-RPC success are scanned (a result is judged by its schema, and may
document a path, such as a snapshot's `file_path`), whatever their shape: an error object, an error given
as a string, a frame that is not JSON at all. Text the client itself sent is not a leak when echoed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

PATTERNS: dict[str, re.Pattern] = {
    "stack trace": re.compile(r"Traceback \(most recent call last\)|^\s+at [\w.$]+\(.*:\d+\)", re.M),
    "source location": re.compile(r"File \"[^\"]+\", line \d+|\.py\", line \d+|\.(?:py|js|go|java|rs):\d+"),
    "filesystem path": re.compile(
        r"(?<![\w.~])/(?:home|opt|usr|var|etc|tmp|root|srv|lib|proc|run|app|workspace|work)/[\w.@+-]+"
        r"|[A-Za-z]:\\\\[\w]"),
    "exception class": re.compile(
        r"\b(?:KeyError|TypeError|AttributeError|ValueError|IndexError|NameError|AssertionError|"
        r"RuntimeError|OSError|FileNotFoundError|PermissionError|UnicodeDecodeError|JSONDecodeError|"
        r"NullPointerException)\b"),
    "memory address": re.compile(r"\bat 0x[0-9a-fA-F]{6,}\b"),
    "interpreter internals": re.compile(r"site-packages|\[Errno \d+\]"),
}


def strings_of(value: Any) -> str:
    """Every string inside a value (keys too), one per line, unescaped, for scanning."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(strings_of(k) + "\n" + strings_of(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "\n".join(strings_of(v) for v in value)
    return "" if value is None else str(value)


def leaks_in(text: str, secrets: Iterable[str] = (), sent: str = "") -> list[str]:
    """What `text` gives away: names of the matching patterns, plus 'secret value' when a secret appears.
    A match that is part of what the client sent (`sent`) is its own input echoed, not a leak."""
    found = []
    for name, pattern in PATTERNS.items():
        if any(m.group(0).strip() not in sent for m in pattern.finditer(text)):
            found.append(name)
    if any(s and len(s) >= 4 and s in text for s in secrets):
        found.append("secret value")
    return found


def reply_leaks(frame: Any, raw: str = "", secrets: Iterable[str] = (), sent: str = "") -> list[str]:
    """`leaks_in` over a reply that is not a success: its parsed frame's strings, or the raw text when the
    reply is not JSON."""
    if isinstance(frame, dict) and "result" in frame and "error" not in frame:
        return []
    text = strings_of(frame) if isinstance(frame, (dict, list)) else (raw or strings_of(frame))
    return leaks_in(text, secrets, sent)
