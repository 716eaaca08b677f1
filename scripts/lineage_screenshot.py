"""Open asset groups' lineage pages of the Dagster UI in headless Chromium and save screenshots.

    .venv/bin/python scripts/lineage_screenshot.py [--out data/screenshots/lineage.png] [--group registry ...]

Starts `dagster-webserver` on 127.0.0.1 (a free port) for `dtks_pipeline.definitions`
(attribute `defs`), with DAGSTER_HOME, DTKS_SOURCES and DTKS_WAREHOUSE in a temporary
folder (telemetry off), and /usr/bin/chromium (Debian's `chromium` package) beside it;
once the code location has loaded it asks the webserver (GraphQL) for every asset and
its group, marks the newsletter prompt as seen, and drives Chromium over the DevTools
protocol:

1. the global lineage page (`/asset-groups`) must list every group;
2. each asset group's own lineage page (default: registry and payout, the groups the
   analysts watch) must draw every asset of the group as a labelled node. The page opens
   zoomed to the graph's width, which for a tall group shows only its middle: the script
   zooms out with the page's own zoom-out button, one step at a time, until every asset
   of the group is drawn, and fails if that needs a scale below the one under which
   Dagster draws no nodes at all (why the global graph, zoomed to fit all groups, showed
   no labels once the reports group was added).

The first group's screenshot goes to --out, the others beside it (`lineage_<group>.png`).
Prints one JSON line (url, groups, assets drawn, scale, seconds) and exits 0 when
everything expected rendered, 1 otherwise. Both processes it started are stopped before
it exits.

No new dependency: the DevTools client is `websockets` (already installed with
dagster-webserver's uvicorn[standard]).
"""
from __future__ import annotations

import argparse
import base64
import contextlib
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
# The groups the analysts watch: who is in the register, who is paid.
WATCHED_GROUPS = ("registry", "payout")
# Below this scale Dagster's asset graph draws no asset nodes at all (GROUPS_ONLY_SCALE in
# dagster-webserver's AssetGraphExplorer.tsx); zooming out further can only hide labels.
GROUPS_ONLY_SCALE = 0.15


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

        self.stack = contextlib.ExitStack()
        self.ws = self.stack.enter_context(connect(ws_url, max_size=None, open_timeout=10))
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
        self.stack.close()


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


def asset_groups(base: str, timeout: float) -> tuple[str, dict[str, list[str]]]:
    """The code location's name and, per group, the labels of its assets (the key's last part,
    as the graph draws them), from the webserver's GraphQL once the location has loaded."""
    query = {"query": "{ assetNodes { assetKey { path } groupName repository { location { name } } } }"}
    nodes = wait_for(lambda: http_json(f"{base}/graphql", query)["data"]["assetNodes"], timeout,
                     "the code location to load")
    groups: dict[str, list[str]] = {}
    for node in nodes:
        groups.setdefault(node["groupName"], []).append(node["assetKey"]["path"][-1])
    return nodes[0]["repository"]["location"]["name"], {g: sorted(a) for g, a in sorted(groups.items())}


# The nodes the graph has drawn (Dagster draws those at least partly in view) and its zoom: a
# node's first line of text is its label; links to assets of other groups carry the
# open_in_new icon; `whole` when the node's box lies entirely inside the viewport.
DRAWN_JS = r"""(() => {
  const vp = document.querySelector('[data-svg-viewport]');
  const layer = vp && vp.firstElementChild;
  const svg = layer && layer.querySelector('svg');
  if (!svg) return null;
  const m = /matrix\(([^,]+)/.exec(layer.style.transform || '');
  const v = vp.getBoundingClientRect();
  const nodes = [...svg.querySelectorAll('foreignObject')].map(f => {
    const r = f.getBoundingClientRect();
    return {
      label: ((f.firstElementChild && f.firstElementChild.innerText) || '').trim().split('\n')[0].trim(),
      link: !!f.querySelector('[aria-label=open_in_new]'),
      whole: r.top >= v.top && r.bottom <= v.bottom && r.left >= v.left && r.right <= v.right,
      loading: (f.innerText || f.textContent || '').includes('Loading'),
    };
  }).filter(n => n.label);
  return {scale: m ? parseFloat(m[1]) : null, nodes};
})()"""
ZOOM_OUT_JS = "(b => b ? b.click() : 'no zoom-out button')" \
              "(document.querySelector('[data-svg-viewport] [aria-label=zoom_out]')?.closest('button'))"
ZOOM_STEP = 0.05  # what one press of the zoom-out button takes off the scale


def label_matches(label: str, name: str) -> bool:
    """A drawn label is the name, or the name middle-truncated by Dagster (`publish…_warehouse`)."""
    if label == name:
        return True
    head, sep, tail = label.partition("…")
    return bool(sep) and len(head) + len(tail) < len(name) and name.startswith(head) and name.endswith(tail)


def shown(drawn: dict | None, own_nodes_only: bool) -> list[str]:
    """Labels of the nodes wholly in view (of this group's own assets only, when asked)."""
    return [n["label"] for n in (drawn or {}).get("nodes", []) if n["whole"] and not (own_nodes_only and n["link"])]


def missing_labels(drawn: dict | None, names: list[str], own_nodes_only: bool) -> list[str]:
    labels = shown(drawn, own_nodes_only)
    return [name for name in names if not any(label_matches(label, name) for label in labels)]


def open_graph(cdp: DevTools, url: str, timeout: float) -> dict:
    """Navigate and wait until the graph is laid out (its first nodes drawn, the initial zoom set)."""
    cdp("Page.navigate", url=url)
    wait_for(lambda: (cdp.eval(DRAWN_JS) or {}).get("nodes"), timeout, f"graph nodes on {url}", interval=0.25)
    time.sleep(0.3)
    return cdp.eval(DRAWN_JS)


def zoom_out_until_drawn(cdp: DevTools, names: list[str], own_nodes_only: bool) -> tuple[dict, int]:
    """Press the page's zoom-out button (one step, about the viewport's centre) until every
    name is drawn wholly in view; stop before the scale under which no asset node is drawn.
    Returns the last state and how many steps it took."""
    drawn, steps = cdp.eval(DRAWN_JS) or {}, 0
    while missing_labels(drawn, names, own_nodes_only) and (drawn.get("scale") or 0) - ZOOM_STEP >= GROUPS_ONLY_SCALE - 1e-6:
        result = cdp.eval(ZOOM_OUT_JS)
        if result == "no zoom-out button":
            raise RuntimeError("the lineage page has no zoom-out button ([aria-label=zoom_out])")
        steps += 1
        time.sleep(0.1)  # one render (a stale read only costs one more step)
        drawn = cdp.eval(DRAWN_JS) or {}
    return drawn, steps


def screenshot(cdp: DevTools, png: Path) -> int:
    data = base64.b64decode(cdp("Page.captureScreenshot", format="png")["data"])
    png.parent.mkdir(parents=True, exist_ok=True)
    png.write_bytes(data)
    return len(data)


def check_page(cdp: DevTools, url: str, names: list[str], own_nodes_only: bool, png: Path, timeout: float) -> dict:
    """One lineage page: every name drawn as a labelled node wholly in view; screenshot to png
    (or .failed.png with the page's text beside it when something is missing)."""
    started = time.monotonic()
    open_graph(cdp, url, timeout)
    drawn, steps = zoom_out_until_drawn(cdp, names, own_nodes_only)
    missing = missing_labels(drawn, names, own_nodes_only)
    try:  # nodes fill in their status rows after the layout: let the picture show them (briefly)
        wait_for(lambda: not any(n["loading"] for n in (cdp.eval(DRAWN_JS) or {}).get("nodes", [])), 3,
                 "node details", interval=0.25)
    except TimeoutError:
        pass
    failed_png, failed_txt = png.with_suffix(".failed.png"), png.with_suffix(".failed.txt")
    if missing:
        png = failed_png
        failed_txt.write_text(cdp.eval("document.body.innerText") or "", encoding="utf-8")
    else:  # a failure picture left by an earlier run would contradict this one
        failed_png.unlink(missing_ok=True)
        failed_txt.unlink(missing_ok=True)
    size = screenshot(cdp, png)
    return {
        "url": url, "expected": names, "missing": missing, "scale": drawn.get("scale"), "zoom_out_steps": steps,
        "shown": sorted(set(shown(drawn, own_nodes_only))),
        "png": str(png), "png_bytes": size, "seconds": round(time.monotonic() - started, 1),
    }


def capture(out: Path, groups: tuple[str, ...] = WATCHED_GROUPS, timeout: float = 90.0) -> dict:
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="dtks-lineage-"))
    web = chrome = None
    try:
        port = free_port()
        web = start_webserver(port, tmp)
        chrome, devtools_port = start_chromium(tmp / "chromium-profile")  # starts while the code loads
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_json(f"{base}/server_info"), timeout, "dagster-webserver /server_info")
        location, assets_by_group = asset_groups(base, timeout)
        unknown = [g for g in groups if g not in assets_by_group]
        if unknown:
            raise ValueError(f"no asset group {unknown} in the definitions (groups: {sorted(assets_by_group)})")
        # The first visit shows a newsletter prompt over the graph: mark it seen on the instance.
        http_json(f"{base}/graphql", {"query": "mutation { setNuxSeen }"})
        loaded = round(time.monotonic() - started, 1)

        pages_url = f"http://127.0.0.1:{devtools_port}/json/list"
        targets = wait_for(lambda: [t for t in http_json(pages_url) if t["type"] == "page"], 30, "a Chromium page")
        cdp = DevTools(targets[0]["webSocketDebuggerUrl"])
        cdp("Page.enable")
        # A 2400x1500 CSS-pixel page captured at 1600x1000: more of the graph in one picture.
        cdp("Emulation.setDeviceMetricsOverride", width=2400, height=1500, deviceScaleFactor=2 / 3, mobile=False)
        out.parent.mkdir(parents=True, exist_ok=True)
        # The global lineage page: every group drawn (as a collapsed group node).
        overview = check_page(cdp, f"{base}/asset-groups", sorted(assets_by_group), False,
                              out.with_name(f"{out.stem}_groups.png"), 30)
        pages = []
        for i, group in enumerate(groups):
            url = f"{base}/locations/{urllib.parse.quote(location)}/asset-groups/{urllib.parse.quote(group)}/lineage"
            png = out if i == 0 else out.with_name(f"{out.stem}_{group}.png")
            pages.append({"group": group, **check_page(cdp, url, assets_by_group[group], True, png, 30)})
        cdp.close()
        return {
            "base_url": base, "location": location, "assets_by_group": assets_by_group, "loaded_seconds": loaded,
            "global_lineage": overview, "group_lineage": pages,
            "ok": not overview["missing"] and not any(p["missing"] for p in pages),
            "seconds": round(time.monotonic() - started, 1),
        }
    finally:
        stop(chrome)
        stop(web)
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "screenshots" / "lineage.png")
    parser.add_argument("--group", action="append",
                        help=f"asset group to open (repeatable; default: {', '.join(WATCHED_GROUPS)})")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds for the webserver to load the code")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(json.dumps({"ok": False, "skipped": f"{CHROMIUM} not found (apt-get install -y chromium)"}))
        return 2
    result = capture(args.out, tuple(args.group or WATCHED_GROUPS), args.timeout)
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
