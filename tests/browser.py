"""Headless Chromium for tests of rendered HTML, with no Python dependencies beyond stdlib.

Chromium is driven through the DevTools protocol over ``--remote-debugging-pipe``: commands are
JSON objects separated by NUL bytes, written to the browser's fd 3, answers read from its fd 4.
That gives what a WebDriver would (console messages, uncaught exceptions, every network
request, screenshots, print-to-PDF) without selenium or a websocket client.

Usage::

    with Chromium() as browser:
        page = browser.load(path_to_html)
        assert not page.errors, page.errors
        browser.screenshot(tmp_path / "page.png")

``Chromium()`` raises :class:`ChromiumUnavailable` when no browser is installed; tests turn that
into a skip with :func:`chromium_or_skip`.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
    "--remote-debugging-pipe",
)


class ChromiumUnavailable(RuntimeError):
    """No Chromium/Chrome binary on this machine (set CHROMIUM to its path)."""


class DevToolsError(RuntimeError):
    """The browser answered a command with an error, closed the pipe, or timed out."""


def find_chromium() -> str | None:
    """The browser binary: $CHROMIUM if set, else the first of CANDIDATES on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_or_skip():
    """A started :class:`Chromium`, or a pytest skip saying why there is none."""
    import pytest

    try:
        return Chromium()
    except ChromiumUnavailable as exc:
        pytest.skip(str(exc))


@dataclass
class PageLoad:
    """What happened while one URL loaded."""
    url: str
    console: list[dict[str, str]] = field(default_factory=list)   # {"level", "text", "source"}
    requests: list[str] = field(default_factory=list)             # every URL the page fetched

    @property
    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads, as readable lines."""
        return [f"{m['source']}: {m['text']}" for m in self.console if m["level"] == "error"]


_LAUNCHER = (
    "import os, sys\n"
    "r, w = int(sys.argv[1]), int(sys.argv[2])\n"
    "os.dup2(r, 3); os.dup2(w, 4); os.close(r); os.close(w)\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)


def _above_4(fd: int) -> int:
    """``fd`` moved to a number of 10 or more (the original is closed)."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class Chromium:
    """One headless browser process with one page (tab); close it with ``close()`` or ``with``."""

    def __init__(self, binary: str | None = None, *, width: int = 1280, height: int = 900,
                 timeout: float = 30.0):
        self.binary = binary or find_chromium()
        if not self.binary:
            raise ChromiumUnavailable(
                "headless Chromium is not installed (apt-get install chromium, or set CHROMIUM)")
        self.timeout = timeout
        self.width, self.height = width, height
        self._profile = tempfile.mkdtemp(prefix="grader-chromium-")
        self._log = tempfile.TemporaryFile()  # the browser's stderr; a pipe nobody reads would fill up
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The child's ends must not already be fds 3 or 4, or the shell's moves below clash.
        to_browser_r, from_browser_w = (_above_4(fd) for fd in (to_browser_r, from_browser_w))
        # The browser expects the pipe on fds 3 and 4 exactly. A tiny Python launcher moves them
        # there and execs the browser (dash cannot redirect fds above 9; preexec_fn is unsafe
        # with threads).
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(to_browser_r), str(from_browser_w),
             self.binary, *FLAGS, f"--user-data-dir={self._profile}",
             f"--window-size={width},{height}", "about:blank"],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        try:
            target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
            self._session = self._send("Target.attachToTarget",
                                       {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable")
            # Headless windows have a minimum width; the emulated viewport is exact.
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        except BaseException:
            self.close()
            raise

    # ---- protocol ------------------------------------------------------------------------
    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        wanted = self._next_id
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._read(deadline, f"answer to {method}")
            if msg.get("id") == wanted:
                if "error" in msg:
                    raise DevToolsError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self._events.append(msg)

    def send(self, method: str, params: dict | None = None) -> dict:
        """Send one DevTools command to the page and return its result."""
        return self._send(method, params, self._session)

    def _read(self, deadline: float, waiting_for: str) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DevToolsError(f"timed out waiting for {waiting_for}")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise DevToolsError(f"the browser exited while waiting for {waiting_for}:\n"
                                        + self.stderr_tail())
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def _wait_event(self, method: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(e["method"] == method for e in self._events):
            msg = self._read(deadline, method)
            if "method" in msg:
                self._events.append(msg)

    # ---- pages ---------------------------------------------------------------------------
    def load(self, target: str | os.PathLike, *, settle: float = 0.2) -> PageLoad:
        """Open a file path or URL, wait for its load event, and report what happened."""
        url = target if isinstance(target, str) and "://" in target else Path(target).resolve().as_uri()
        self._events.clear()
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise DevToolsError(f"could not open {url}: {result['errorText']}")
        self._wait_event("Page.loadEventFired")
        self.evaluate("new Promise(r => requestAnimationFrame(() => r(1)))")
        time.sleep(settle)  # late console messages (timers) arrive here
        self.evaluate("1")  # drains events that arrived during the pause
        return self._page_load(url)

    def _page_load(self, url: str) -> PageLoad:
        page = PageLoad(url)
        for event in self._events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                level = "error" if params.get("type") in ("error", "assert") else params.get("type", "log")
                page.console.append({"level": level, "text": text, "source": "console"})
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                text = details.get("exception", {}).get("description") or details.get("text", "")
                page.console.append({"level": "error", "text": text, "source": "exception"})
            elif method == "Log.entryAdded":
                entry = params.get("entry", {})
                page.console.append({"level": entry.get("level", "info"), "text": entry.get("text", ""),
                                     "source": entry.get("source", "log")})
            elif method == "Network.requestWillBeSent":
                page.requests.append(params.get("request", {}).get("url", ""))
            elif method == "Network.loadingFailed":
                page.console.append({"level": "error", "source": "network",
                                     "text": f"{params.get('errorText', 'failed')} ({params.get('type', '')})"})
        return page

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise DevToolsError(f"{expression!r} raised: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def screenshot(self, path: str | os.PathLike, *, full_page: bool = True,
                   media: str = "screen") -> Path:
        """Save a PNG of the page; ``full_page`` captures its whole height, ``media="print"``
        shows it with print styles."""
        self.send("Emulation.setEmulatedMedia", {"media": media})
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": self.width,
                              "height": min(size["height"], 16000), "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", params)["data"]
        self.send("Emulation.setEmulatedMedia", {"media": ""})
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path

    def print_pdf(self, path: str | os.PathLike) -> Path:
        """Print the page to PDF (A4) the way a user's "Print" would."""
        data = self.send("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69,
                                             "printBackground": False})["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path

    def stderr_tail(self, chars: int = 2000) -> str:
        """The end of what the browser wrote to stderr, for error messages."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-chars:]

    # ---- lifetime ------------------------------------------------------------------------
    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._send("Browser.close")
            except (DevToolsError, OSError, AttributeError):
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
