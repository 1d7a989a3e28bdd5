"""gate-review.pdf: the HTML report printed by headless Chromium over the DevTools protocol (CDP).

Why this renderer: `Page.printToPDF` takes a footer template that Chromium stamps on every page (page X
of Y, the run id, the evidence sha256), which plain `chromium --print-to-pdf` cannot do. It is the engine
the HTML page is checked with, so the PDF is laid out like the page a reviewer opens; it is already a
host package (Debian `chromium`); and it is driven over its DevTools websocket with websocket-client, a
dependency ivv already has. WeasyPrint can stamp footers too (`@page` rules) but needs pango and brings
a second layout engine whose result could differ from the browser's.

`Browser` is also what the report's self-tests use to measure the page (`open`, `evaluate`).
"""

from __future__ import annotations

import base64
import html
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import websocket

from ivv.errors import PrerequisiteError

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
START_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 120.0
A4_INCHES = (8.27, 11.69)
MARGINS_INCHES = {"marginTop": 0.45, "marginBottom": 0.6, "marginLeft": 0.45, "marginRight": 0.45}
PRINT_SCALE = 0.85
# the CSS width one printed page lays out: A4 less the side margins, at 96 px per inch, over the scale
PRINT_WIDTH_PX = int((A4_INCHES[0] - MARGINS_INCHES["marginLeft"] - MARGINS_INCHES["marginRight"]) * 96 / PRINT_SCALE)
OPEN_DETAILS = "document.querySelectorAll('details').forEach(d => d.open = true); document.body.dataset.show = 'all'"


def chromium_binary() -> str:
    """The Chromium to drive: $IVV_CHROMIUM, else the first of chromium / chromium-browser / google-chrome."""
    wanted = os.environ.get("IVV_CHROMIUM")
    for name in ([wanted] if wanted else CANDIDATES):
        found = shutil.which(name)
        if found:
            return found
    where = f"IVV_CHROMIUM={wanted!r} is not an executable" if wanted else "no chromium on PATH"
    raise PrerequisiteError(f"making gate-review.pdf needs Chromium ({where}): install the Debian package "
                            "chromium (`make bootstrap` does, as root)")


def footer_template(text: str) -> str:
    """Chromium's footer template: the given line on the left, `page X of Y` on the right, on every page."""
    return ('<div style="font-family: \'DejaVu Sans\', sans-serif; font-size: 7px; color: #222; width: 100%; '
            'margin: 0 0.45in; display: flex; justify-content: space-between; gap: 12px;">'
            f'<span>{html.escape(text)}</span>'
            '<span style="white-space: nowrap;">page <span class="pageNumber"></span> of '
            '<span class="totalPages"></span></span></div>')


class Browser:
    """One headless Chromium with a fresh profile, driven over CDP; closed (and its profile removed) on exit."""

    def __init__(self, binary: str | None = None, timeout: float = CALL_TIMEOUT_S):
        self.binary = binary or chromium_binary()
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="ivv-chromium-", ignore_cleanup_errors=True)
        self._proc: subprocess.Popen | None = None
        self._ws: websocket.WebSocket | None = None
        self._next_id = 0
        self._events: list[dict] = []

    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        profile = Path(self._profile.name)
        log = open(profile / "chromium.log", "wb")  # noqa: SIM115 - closed once the process is started
        try:
            self._proc = subprocess.Popen(
                [self.binary, *FLAGS, f"--user-data-dir={profile / 'data'}", "--remote-debugging-port=0", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        finally:
            log.close()
        port_file = profile / "data" / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise PrerequisiteError(f"{self.binary} did not open its DevTools port within {START_TIMEOUT_S:g} s: "
                                        f"{self._log_tail()}")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self._ws = websocket.create_connection(f"ws://127.0.0.1:{port.strip()}{path.strip()}",
                                               timeout=self.timeout, suppress_origin=True)

    def _log_tail(self) -> str:
        log = Path(self._profile.name) / "chromium.log"
        text = log.read_text(errors="replace").strip() if log.exists() else ""
        return text[-600:] or "no output"

    def _receive(self, deadline: float) -> dict:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PrerequisiteError(f"{self.binary} did not answer within {self.timeout:g} s")
        self._ws.settimeout(remaining)
        try:
            return json.loads(self._ws.recv())
        except websocket.WebSocketTimeoutException:
            raise PrerequisiteError(f"{self.binary} did not answer within {self.timeout:g} s") from None
        except websocket.WebSocketConnectionClosedException:
            raise PrerequisiteError(f"{self.binary} closed its DevTools connection: {self._log_tail()}") from None

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """One CDP command; events that arrive meanwhile are kept for `wait_event`."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") != self._next_id:
                self._events.append(reply)
                continue
            if "error" in reply:
                raise PrerequisiteError(f"{self.binary}: {method} failed: {reply['error'].get('message')}")
            return reply.get("result") or {}

    def wait_event(self, method: str, session: str | None = None) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            for event in self._events:
                if event.get("method") == method and event.get("sessionId") == session:
                    self._events.remove(event)
                    return event.get("params") or {}
            self._events.append(self._receive(deadline))

    def open(self, url: str, width: int | None = None, height: int | None = None, media: str | None = None) -> str:
        """A new page showing `url` (loaded), at `width` x `height` CSS pixels and as CSS `media` ("print")
        when given; its session id."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=session)
        if width and height:
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        if media:
            self.send("Emulation.setEmulatedMedia", {"media": media}, session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_event("Page.loadEventFired", session)
        return session

    def evaluate(self, session: str, expression: str):
        """The value of a JavaScript expression in the page (JSON-serialisable values only)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session=session)
        if "exceptionDetails" in result:
            raise PrerequisiteError(f"script failed in the page: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def screenshot(self, session: str) -> bytes:
        """PNG of the page's viewport."""
        return base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"])

    def print_to_pdf(self, session: str, footer: str) -> bytes:
        width, height = A4_INCHES
        result = self.send("Page.printToPDF", {
            "paperWidth": width, "paperHeight": height, **MARGINS_INCHES, "scale": PRINT_SCALE,
            "printBackground": True, "displayHeaderFooter": True, "headerTemplate": "<div></div>",
            "footerTemplate": footer_template(footer), "preferCSSPageSize": False,
        }, session=session)
        return base64.b64decode(result["data"])

    def close(self) -> None:
        """Ask Chromium to quit, wait for it, then end what is left of its process group (its helpers)."""
        if self._ws is not None:
            try:
                self._ws.send(json.dumps({"id": self._next_id + 1, "method": "Browser.close"}))
                self._ws.close()
            except (OSError, websocket.WebSocketException):
                pass
            self._ws = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)  # the session it was started in: only its helpers
            except (ProcessLookupError, PermissionError):
                pass
            self._proc.wait(timeout=10)
            self._proc = None
        self._profile.cleanup()


def print_pdf(html_path: str | Path, pdf_path: str | Path, footer: str, binary: str | None = None) -> Path:
    """Print the rendered HTML report to `pdf_path` (A4 portrait, every <details> open, footer on every page)."""
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
    if not html_path.exists():
        raise FileNotFoundError(f"{html_path}: no HTML report to print (render the bundle first)")
    with Browser(binary) as browser:
        session = browser.open(html_path.as_uri())
        browser.evaluate(session, OPEN_DETAILS)
        data = browser.print_to_pdf(session, footer)
    tmp = pdf_path.with_suffix(".pdf.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, pdf_path)
    return pdf_path
