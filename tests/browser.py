"""Headless Chromium for tests of rendered HTML, driven by Selenium and the system's chromedriver.

Selenium (the ``test`` extra) starts ``chromedriver`` (``/usr/bin/chromedriver`` from the
distribution's chromium-driver package, or $CHROMEDRIVER) with headless Chromium. What a test
needs comes from the driver's logs and its DevTools bridge:

- console errors, uncaught exceptions and failed loads: the ``browser`` log
  (``goog:loggingPrefs``), level SEVERE;
- every request a page made, and its navigations: the ``performance`` log (DevTools
  ``Network.*`` and ``Page.*`` events);
- screenshots and PDFs: ``Page.captureScreenshot`` / ``Page.printToPDF`` through
  ``driver.execute_cdp_cmd``.

Usage::

    with chromium_or_skip() as browser:
        page = browser.load(path_to_html)
        assert not page.errors, page.errors
        assert all(u.startswith("file://") for u in page.requests)
        browser.screenshot(tmp_path / "page.png")

``Chromium()`` raises :class:`ChromiumUnavailable` when Selenium, the browser or the driver is
missing; tests turn that into a skip with :func:`chromium_or_skip`.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
DRIVERS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
    "--disable-dev-shm-usage",
)


class ChromiumUnavailable(RuntimeError):
    """No Chromium/Chrome, chromedriver or Selenium on this machine."""


class DevToolsError(RuntimeError):
    """The browser answered a command with an error, or a page could not be opened."""


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


def find_chromedriver() -> str | None:
    """The driver: $CHROMEDRIVER if set, else the distribution's, else one on PATH."""
    explicit = os.environ.get("CHROMEDRIVER")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for path in DRIVERS:
        if Path(path).exists():
            return path
    return shutil.which("chromedriver")


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
    navigations: list[str] = field(default_factory=list)          # frames navigated to (URLs)

    @property
    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads, as readable lines."""
        return [f"{m['source']}: {m['text']}" for m in self.console if m["level"] == "error"]


_LEVELS = {"SEVERE": "error", "WARNING": "warning", "INFO": "info", "DEBUG": "debug"}


class Chromium:
    """One headless browser with one page; close it with ``close()`` or ``with``."""

    def __init__(self, binary: str | None = None, *, width: int = 1280, height: int = 900,
                 timeout: float = 30.0):
        try:
            from selenium import webdriver
            from selenium.common.exceptions import WebDriverException
        except ImportError:
            raise ChromiumUnavailable("selenium is not installed (pip install -e '.[test]')"
                                      ) from None
        self.binary = binary or find_chromium()
        if not self.binary:
            raise ChromiumUnavailable(
                "headless Chromium is not installed (apt-get install chromium, or set CHROMIUM)")
        driver_path = find_chromedriver()
        if not driver_path:
            raise ChromiumUnavailable("chromedriver is not installed (apt-get install "
                                      "chromium-driver, or set CHROMEDRIVER)")
        self.timeout = timeout
        self.width, self.height = width, height
        self._profile = tempfile.mkdtemp(prefix="grader-chromium-")
        self._log = tempfile.NamedTemporaryFile(prefix="chromedriver-", suffix=".log")
        options = webdriver.ChromeOptions()
        options.binary_location = self.binary
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self._profile}")
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        options.add_experimental_option("perfLoggingPrefs", {"enableNetwork": True,
                                                             "enablePage": True})
        service = webdriver.ChromeService(executable_path=driver_path,
                                          log_output=self._log.name)
        try:
            self.driver = webdriver.Chrome(options=options, service=service)
        except WebDriverException as exc:
            shutil.rmtree(self._profile, ignore_errors=True)
            raise ChromiumUnavailable(f"chromedriver could not start Chromium: "
                                      f"{str(exc).splitlines()[0]}") from None
        self._WebDriverException = WebDriverException
        self._events: list[dict[str, Any]] = []   # DevTools events of the last load
        try:
            self.driver.set_page_load_timeout(timeout)
            self.driver.set_script_timeout(timeout)
            # Headless windows have a minimum width; the emulated viewport is exact.
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1,
                       "mobile": False})
            self.send("Network.enable")
        except BaseException:
            self.close()
            raise

    # ---- DevTools through the driver -------------------------------------------------------
    def send(self, method: str, params: dict | None = None) -> dict:
        """Send one DevTools command to the page and return its result."""
        try:
            return self.driver.execute_cdp_cmd(method, params or {}) or {}
        except self._WebDriverException as exc:
            raise DevToolsError(f"{method}: {str(exc).splitlines()[0]}") from None

    def _drain(self) -> tuple[list[dict], list[dict]]:
        """(browser log entries, DevTools events) since the last call."""
        console = self.driver.get_log("browser")
        events = []
        for entry in self.driver.get_log("performance"):
            try:
                message = json.loads(entry["message"])["message"]
            except (KeyError, ValueError, TypeError):
                continue
            events.append({"method": message.get("method", ""),
                           "params": message.get("params", {})})
        return console, events

    # ---- pages -----------------------------------------------------------------------------
    def load(self, target: str | os.PathLike, *, settle: float = 0.2) -> PageLoad:
        """Open a file path or URL, wait for its load event, and report what happened."""
        url = (target if isinstance(target, str) and "://" in target
               else Path(target).resolve().as_uri())
        self._drain()   # forget what earlier pages logged
        try:
            self.driver.get(url)
        except self._WebDriverException as exc:
            raise DevToolsError(f"could not open {url}: {str(exc).splitlines()[0]}") from None
        self.evaluate("new Promise(r => requestAnimationFrame(() => r(1)))")
        time.sleep(settle)  # late console messages (timers) arrive here
        console, self._events = self._drain()
        return self._page_load(url, console, self._events)

    @staticmethod
    def _page_load(url: str, console: list[dict], events: list[dict]) -> PageLoad:
        page = PageLoad(url)
        for entry in console:
            source = str(entry.get("source", "console")).replace("console-api", "console")
            page.console.append({"level": _LEVELS.get(entry.get("level", ""), "info"),
                                 "text": str(entry.get("message", "")), "source": source})
        for event in events:
            method, params = event["method"], event["params"]
            if method == "Network.requestWillBeSent":
                page.requests.append(params.get("request", {}).get("url", ""))
            elif method == "Network.loadingFailed" and not any(
                    m["source"] == "network" for m in page.console):
                page.console.append({"level": "error", "source": "network",
                                     "text": f"{params.get('errorText', 'failed')} "
                                             f"({params.get('type', '')})"})
            elif method == "Page.frameNavigated":
                page.navigations.append(params.get("frame", {}).get("url", ""))
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
        """The end of chromedriver's log, for error messages."""
        try:
            return Path(self._log.name).read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # ---- lifetime --------------------------------------------------------------------------
    def close(self) -> None:
        driver = getattr(self, "driver", None)
        if driver is not None:
            try:
                driver.quit()
            except Exception:  # noqa: BLE001 - closing must not mask a test's own failure
                pass
            self.driver = None
        shutil.rmtree(self._profile, ignore_errors=True)
        try:
            self._log.close()
        except OSError:
            pass

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
