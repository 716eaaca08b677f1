"""Open the Dagster asset lineage page in headless Chromium and save a screenshot.

    .venv/bin/python scripts/lineage_screenshot.py [--out data/screenshots/lineage.png]

Starts `dagster-webserver` on 127.0.0.1 (a free port) for `dtks_pipeline.definitions`
(attribute `defs`), with DAGSTER_HOME, DTKS_SOURCES and DTKS_WAREHOUSE in a temporary
folder (telemetry off), waits until the code location has loaded, then drives
/usr/bin/chromium (Debian's `chromium` package) over the DevTools protocol:
opens `/asset-groups` (Dagster 1.13's "Global asset lineage"), dismisses the
newsletter prompt, with every group expanded (the page's `expanded` URL parameter), and waits
until the group names and some asset names are on the page, then saves a PNG.
Prints one JSON line (url, png, groups and assets found, seconds) and exits 0
when everything expected rendered, 1 otherwise. Both processes it started are
stopped before it exits.

No new dependency: the DevTools client is `websockets` (already installed with
dagster-webserver's uvicorn[standard]).
"""
from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("DTKS_CHROMIUM", "/usr/bin/chromium")
GROUPS = ("ingestion", "registry", "payout", "operations")
ASSETS = ("persons", "families", "exclusions", "payments", "summary", "dtks", "umkm")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url: str, payload: dict | None = None, timeout: float = 5.0):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read().decode())


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # not up yet
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error})")


def start_webserver(port: int, home: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env.update({
        "DAGSTER_HOME": str(home / "dagster_home"),
        "DTKS_SOURCES": str(home / "sources"),
        "DTKS_WAREHOUSE": str(home / "warehouse" / "dtks.duckdb"),
        "DTKS_GX_DIR": str(home / "gx"),
        "GX_ANALYTICS_ENABLED": "false",
        "DAGSTER_DISABLE_TELEMETRY": "true",
    })
    (home / "dagster_home").mkdir(parents=True, exist_ok=True)
    (home / "sources").mkdir(exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster_home" / "dagster.yaml")
    webserver = Path(sys.executable).with_name("dagster-webserver")
    log = open(home / "webserver.log", "w")
    return subprocess.Popen(
        [str(webserver), "-h", "127.0.0.1", "-p", str(port), "-m", "dtks_pipeline.definitions", "-a", "defs"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


def stop(proc: subprocess.Popen | None) -> None:
    """Stop a process this script started, and its children (its own session)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class DevTools:
    """The smallest DevTools-protocol client: send a command, wait for its answer."""

    def __init__(self, ws_url: str):
        from websockets.sync.client import connect

        self.ws = connect(ws_url, max_size=None, open_timeout=10)
        self.ids = itertools.count(1)

    def __call__(self, method: str, **params):
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=30))
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, expression: str):
        return self("Runtime.evaluate", expression=expression, returnByValue=True).get("result", {}).get("value")

    def close(self):
        self.ws.close()


def start_chromium(profile: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1600,1000",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    port_file = profile / "DevToolsActivePort"
    port = wait_for(lambda: port_file.exists() and int(port_file.read_text().split()[0]), 30, "Chromium DevTools port")
    return proc, port


def capture(out: Path, timeout: float = 90.0) -> dict:
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="dtks-lineage-"))
    web = chrome = None
    try:
        port = free_port()
        web = start_webserver(port, tmp)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_json(f"{base}/server_info"), timeout, "dagster-webserver /server_info")
        query = {"query": "{ assetNodes { assetKey { path } groupName } }"}
        nodes = wait_for(lambda: http_json(f"{base}/graphql", query)["data"]["assetNodes"], timeout, "the code location to load")

        chrome, devtools_port = start_chromium(tmp / "chromium-profile")
        targets = wait_for(lambda: [t for t in http_json(f"http://127.0.0.1:{devtools_port}/json/list") if t["type"] == "page"],
                           30, "a Chromium page")
        cdp = DevTools(targets[0]["webSocketDebuggerUrl"])
        cdp("Page.enable")
        # A 2400x1500 CSS-pixel page captured at 1600x1000: more of the graph in one picture.
        cdp("Emulation.setDeviceMetricsOverride", width=2400, height=1500, deviceScaleFactor=2 / 3, mobile=False)
        # `expanded` lists the open groups as `global@global:<group>` (what the page writes to the
        # URL when a group is opened by hand): every group open, laid out and zoomed to fit.
        expanded = ",".join(f"global@global:{g}" for g in GROUPS)
        url = f"{base}/asset-groups?{urllib.parse.urlencode({'expanded': expanded})}"
        cdp("Page.navigate", url=url)
        text = lambda: cdp.eval("document.body ? document.body.innerText : ''") or ""  # noqa: E731
        wait_for(lambda: all(g in text() for g in GROUPS), timeout, "the group names on the lineage page")
        # The first visit shows a newsletter prompt over the graph: wait for it briefly and skip it.
        skip = "[...document.querySelectorAll('button')].filter(b => b.innerText.trim() === 'Skip')"
        try:
            wait_for(lambda: cdp.eval(f"{skip}.length"), 8, "the newsletter prompt")
            cdp.eval(f"{skip}.forEach(b => b.click())")
        except TimeoutError:
            pass  # no prompt this time

        # Only nodes in view are drawn: zoom out (the viewport's zoom-out button) until all are.
        zoom_out = "document.querySelectorAll('[class*=SVGViewport_iconButton]')[1]"

        def all_assets_drawn():
            if sum(a in text() for a in ASSETS) == len(ASSETS):
                return True
            cdp.eval(f"{zoom_out} && {zoom_out}.click()")
            time.sleep(1.0)
            return False
        try:
            wait_for(all_assets_drawn, 20, "asset names on the page", interval=0.1)
        except TimeoutError:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.with_suffix(".failed.png").write_bytes(base64.b64decode(cdp("Page.captureScreenshot", format="png")["data"]))
            out.with_suffix(".failed.txt").write_text(text(), encoding="utf-8")
            raise
        time.sleep(2)  # let the layout settle and the graph zoom to fit
        body = text()
        dom = cdp.eval("document.documentElement.outerHTML") or ""
        png = base64.b64decode(cdp("Page.captureScreenshot", format="png")["data"])
        cdp.close()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(png)
        (out.with_suffix(".html")).write_text(dom, encoding="utf-8")
        groups_found = [g for g in GROUPS if g in body]
        assets_found = [a for a in ASSETS if a in body]
        return {
            "url": url, "png": str(out), "png_bytes": len(png), "dom_chars": len(dom),
            "asset_nodes_in_graphql": len(nodes), "groups_found": groups_found, "assets_found": assets_found,
            "ok": len(groups_found) == len(GROUPS) and len(assets_found) == len(ASSETS),
            "seconds": round(time.monotonic() - started, 1),
        }
    finally:
        stop(chrome)
        stop(web)
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "screenshots" / "lineage.png")
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(json.dumps({"ok": False, "skipped": f"{CHROMIUM} not found (apt-get install -y chromium)"}))
        return 2
    result = capture(args.out, args.timeout)
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
