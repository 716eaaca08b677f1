"""The asset lineage page renders in a real browser: groups and asset names, with a screenshot.

Runs scripts/lineage_screenshot.py (dagster-webserver on a free 127.0.0.1 port, DAGSTER_HOME
in a temporary folder, headless Chromium over the DevTools protocol); ~30 s. The screenshot
goes to the git-ignored data/screenshots/lineage.png. Needs Debian's chromium:
`apt-get update && apt-get install -y chromium`.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent: apt-get update && apt-get install -y chromium")
@pytest.mark.skip(reason="known failure since the reports group was added: the graph zooms out until no label is "
                         "drawn and the script times out waiting for asset names (open; see issue 11/12 notes)")
def test_lineage_page_shows_groups_and_assets():
    out = ROOT / "data" / "screenshots" / "lineage.png"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lineage_screenshot.py"), "--out", str(out), "--timeout", "120"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-3000:]
    result = json.loads(lines[-1])
    assert set(result["groups_found"]) == {"ingestion", "registry", "payout", "operations"}
    assert {"persons", "families", "payments", "dtks"} <= set(result["assets_found"])
    assert out.exists() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
