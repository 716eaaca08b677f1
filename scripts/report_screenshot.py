"""Open an HTML report in headless Chromium via file:// and check that every chart is drawn.

    .venv/bin/python scripts/report_screenshot.py REPORT.html [--out shot.png] [--height 1800]

Drives /usr/bin/chromium (Debian's `chromium`) over the DevTools protocol (the
client of scripts/lineage_screenshot.py), loads the page from file:// with the
network disabled, finds every chart (`svg.chart`) and its box in the page,
captures the whole page as PNG, and counts the non-white pixels inside each
chart's box. Prints one JSON line (charts found, charts drawn, per-chart
share of ink, the screenshot path) and exits 0 when every chart is drawn, 1
otherwise, 2 when Chromium is absent. `--out` saves `--height` CSS pixels of
the page from `--offset` down (for docs/).
"""
from __future__ import annotations

import argparse
import base64
import json
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lineage_screenshot import CHROMIUM, DevTools, http_json, start_chromium, stop, wait_for  # noqa: E402

MIN_INK = 0.01  # a drawn chart has at least 1 % non-white pixels in its box
WIDTH = 1100
CHECK_SCALE = 0.25  # the pixel check reads a quarter-size capture (the PNG decoder here is plain numpy)


def decode_png(data: bytes) -> np.ndarray:
    """An 8-bit, non-interlaced RGB/RGBA PNG (what Chromium writes) as an HxWx{3,4} array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    if depth != 8 or interlace or color not in (2, 6):
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {color}, interlace {interlace})")
    channels = 3 if color == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(height, 1 + width * channels)
    out = np.zeros((height, width * channels), dtype=np.int32)
    prev = np.zeros(width * channels, dtype=np.int32)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 0:
            cur = line
        elif kind == 2:
            cur = (line + prev) & 0xFF
        else:  # Sub, Average, Paeth depend on the left neighbour: byte by byte
            cur = np.zeros_like(line)
            for x in range(len(line)):
                left = cur[x - channels] if x >= channels else 0
                up, ul = prev[x], (prev[x - channels] if x >= channels else 0)
                if kind == 1:
                    pred = left
                elif kind == 3:
                    pred = (left + up) // 2
                else:
                    p = left + up - ul
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                    pred = left if pa <= pb and pa <= pc else (up if pb <= pc else ul)
                cur[x] = (line[x] + pred) & 0xFF
        out[y] = cur
        prev = cur
    return out.reshape(height, width, channels).astype(np.uint8)


def check(page: Path, out: Path | None, height: int, timeout: float = 60.0, offset: int = 0) -> dict:
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="dtks-report-"))
    chrome = None
    try:
        chrome, port = start_chromium(tmp / "profile")
        targets = wait_for(lambda: [t for t in http_json(f"http://127.0.0.1:{port}/json/list") if t["type"] == "page"],
                           30, "a Chromium page")
        cdp = DevTools(targets[0]["webSocketDebuggerUrl"])
        cdp("Page.enable")
        cdp("Network.enable")
        cdp("Network.emulateNetworkConditions", offline=True, latency=0, downloadThroughput=-1, uploadThroughput=-1)
        cdp("Emulation.setDeviceMetricsOverride", width=WIDTH, height=900, deviceScaleFactor=1, mobile=False)
        url = page.resolve().as_uri()
        cdp("Page.navigate", url=url)
        wait_for(lambda: cdp.eval("document.readyState") == "complete", timeout, "the page to load")
        boxes = cdp.eval("""[...document.querySelectorAll('svg.chart')].map(e => {
            const r = e.getBoundingClientRect();
            return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; })""") or []
        full_h = int(cdp.eval("document.documentElement.scrollHeight") or 900)
        shot = base64.b64decode(cdp("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                                    clip={"x": 0, "y": 0, "width": WIDTH, "height": full_h, "scale": CHECK_SCALE})["data"])
        pixels = decode_png(shot)[:, :, :3]
        ink = []
        for x, y, w, h in (tuple(v * CHECK_SCALE for v in box) for box in boxes):
            region = pixels[int(y):int(y + h), int(x):int(x + w)]
            ink.append(round(float((region.min(axis=2) < 235).mean()) if region.size else 0.0, 4))
        if out is not None:
            top = base64.b64decode(cdp("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                                       clip={"x": 0, "y": offset, "width": WIDTH,
                                             "height": max(1, min(height, full_h - offset)), "scale": 1})["data"])
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(top)
        title = cdp.eval("document.title")
        cdp.close()
        drawn = sum(v >= MIN_INK for v in ink)
        return {"url": url, "title": title, "charts": len(boxes), "charts_drawn": drawn, "ink": ink,
                "page_height": full_h, "png": str(out) if out else None, "ok": bool(boxes) and drawn == len(boxes),
                "seconds": round(time.monotonic() - started, 1)}
    finally:
        stop(chrome)
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--height", type=int, default=1800)
    parser.add_argument("--offset", type=int, default=0, help="--out starts this many CSS pixels down the page")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(json.dumps({"ok": False, "skipped": f"{CHROMIUM} not found (apt-get install -y chromium)"}))
        return 2
    result = check(args.page, args.out, args.height, offset=args.offset)
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
