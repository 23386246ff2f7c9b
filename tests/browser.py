"""A small Chrome DevTools protocol client for tests: a real headless Chromium, driven over its websocket.

Chromium starts with a fresh profile, no sandbox (root in CI) and nothing that talks to the network on its
own; it writes its port into DevToolsActivePort. The client keeps every event it saw, so a test can ask
for console errors, uncaught exceptions and the URLs the page requested after the fact.
"""

import base64
import io
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Optional

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-default-apps", "--hide-scrollbars", "--remote-debugging-port=0"]


def chromium_path() -> Optional[str]:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Chromium:
    def __init__(self, profile: Path, width: int = 1280, height: int = 1000) -> None:
        import websocket

        exe = chromium_path()
        assert exe, "chromium is not installed (scripts/setup-browser.sh)"
        profile.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([exe, *FLAGS, "--user-data-dir=%s" % profile, "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            assert self.proc.poll() is None, "chromium exited with %s" % self.proc.returncode
            assert time.monotonic() < deadline, "chromium wrote no DevToolsActivePort in 60 s"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = json.loads(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10).read())
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.events: list[dict[str, Any]] = []
        self._id = 0
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(domain + ".enable")
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=False)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self._id:
                assert "error" not in msg, "%s: %s" % (method, msg["error"])
                return dict(msg.get("result") or {})
            self.events.append(msg)

    def wait_event(self, method: str, since: int = 0, timeout_s: float = 60) -> dict[str, Any]:
        """The first event named method at or after index since of the events kept."""
        deadline = time.monotonic() + timeout_s
        seen = since
        while True:
            for e in self.events[seen:]:
                if e.get("method") == method:
                    return e
            seen = len(self.events)
            assert time.monotonic() < deadline, "no %s in %g s" % (method, timeout_s)
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)

    def open(self, url: str) -> None:
        since = len(self.events)
        self.send("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired", since)

    def js(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-serialisable), or AssertionError."""
        r = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in r, r["exceptionDetails"]
        return r["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.js(expression):
            assert time.monotonic() < deadline, "never true in %g s: %s" % (timeout_s, expression)
            time.sleep(0.1)

    def screenshot(self, selector: str) -> Any:
        """A PIL image of the element, cut from the page at its document position."""
        from PIL import Image

        box = self.js("(function(){var e=document.querySelector(%s);e.scrollIntoView();var r=e.getBoundingClientRect();"
                      "return {x:r.left+window.scrollX,y:r.top+window.scrollY,width:r.width,height:r.height};})()"
                      % json.dumps(selector))
        assert box["width"] > 0 and box["height"] > 0, (selector, box)
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip=dict(box, scale=1))
        return Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen so far."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params") or {}
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.%s: %s" % (p["type"], [a.get("value", a.get("description")) for a in p["args"]]))
            elif m == "Runtime.exceptionThrown":
                out.append("exception: %s" % p["exceptionDetails"].get("exception", {}).get("description"))
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append("log: %s %s" % (p["entry"].get("text"), p["entry"].get("url", "")))
        return out

    def requested(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
