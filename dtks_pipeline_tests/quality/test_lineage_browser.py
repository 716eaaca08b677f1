"""The lineage pages render in a real browser: every group, and each watched group's assets by name.

Runs scripts/lineage_screenshot.py (dagster-webserver on a free 127.0.0.1 port for the project's
definitions, DAGSTER_HOME in a temporary folder, headless Chromium over the DevTools protocol).
The global lineage page must draw every group; the registry and payout groups' own lineage
pages must draw each of their assets as a labelled node wholly in view, at a zoom where Dagster
still draws nodes (the global graph with every group open no longer fits at such a zoom since
the reports group was added). The registry page's screenshot goes to the git-ignored
data/screenshots/lineage.png. Most of the time is the webserver loading the definitions.
Needs Debian's chromium: `apt-get update && apt-get install -y chromium`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("DTKS_CHROMIUM", "/usr/bin/chromium"))  # as the script reads it
GROUPS_ONLY_SCALE = 0.15  # below it Dagster draws no asset node


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} absent: apt-get update && apt-get install -y chromium")
def test_lineage_pages_show_groups_and_their_assets():
    out = ROOT / "data" / "screenshots" / "lineage.png"
    out.unlink(missing_ok=True)  # the PNG checked below is this run's
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lineage_screenshot.py"), "--out", str(out),
         "--group", "registry", "--group", "payout", "--timeout", "120"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(lines[-1])
    groups = result["assets_by_group"]  # what the webserver loaded from dtks_pipeline.definitions
    assert {"ingestion", "registry", "payout", "operations", "reports"} <= set(groups)
    assert {"persons", "families", "exclusions"} <= set(groups["registry"])
    assert {"payments", "waiting_list"} <= set(groups["payout"])

    overview = result["global_lineage"]
    assert set(overview["expected"]) == set(groups) and overview["missing"] == [], overview

    pages = {page["group"]: page for page in result["group_lineage"]}
    assert set(pages) == {"registry", "payout"}
    for group, page in pages.items():
        # `missing`: expected names with no node wholly in view labelled by them (or by them
        # middle-truncated, as Dagster shortens long names when zoomed out).
        assert sorted(page["expected"]) == sorted(groups[group]) and page["missing"] == [], page
        assert page["scale"] >= GROUPS_ONLY_SCALE, page

    assert pages["registry"]["png"] == str(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
