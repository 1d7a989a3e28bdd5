"""Reference camera service: JSON-RPC 2.0 over WebSocket, a health server, and a MJPEG media component.

The release build stamps its version into the `VERSION` file beside this package; a source checkout
reports "0.0.0+src".
"""

from pathlib import Path

_VERSION_FILE = Path(__file__).with_name("VERSION")


def version() -> str:
    """The release version this code was built as."""
    try:
        return _VERSION_FILE.read_text().strip()
    except OSError:
        return "0.0.0+src"
