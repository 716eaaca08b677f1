"""The monthly report: materialized by the monthly job after publication, `dtks report`, and its rendering."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import duckdb
import pytest

from dtks_pipeline.defs.reports.assets import REPORT_KEY
from dtks_pipeline.defs.reports.monthly import main, report_path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")


def _niks_and_names(sample, period):
    con = duckdb.connect(str(sample.warehouse), read_only=True)
    try:
        return con.execute("SELECT nik, nama FROM registry.persons WHERE period = ? AND nama IS NOT NULL", [period]).fetchall()
    finally:
        con.close()


def test_monthly_job_materializes_the_report_after_publication(published_sample):
    result = published_sample.results["2022-11"]
    mats = [e for e in result.get_asset_materialization_events() if e.asset_key == REPORT_KEY]
    assert len(mats) == 1
    metadata = mats[0].materialization.metadata
    path = Path(metadata["path"].value)
    assert path == report_path(published_sample.reports_dir, "2022-11") and path.is_file()
    assert "KPM" in metadata["summary"].value and "Rp" in metadata["summary"].value
    order = [e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"]
    assert order.index("reports__monthly") > order.index("operations__published_warehouse")

    page = path.read_text(encoding="utf-8")
    assert page.count('<svg class="chart"') >= 9
    assert "<script" not in page and "cdn" not in page.lower()
    for label in ("Kecamatan", "Desil", "Masuk", "Keluar", "Meninggal" if "MENINGGAL" in page else "Registri", "KPM"):
        assert label in page
    niks = _niks_and_names(published_sample, "2022-11")
    assert not any(nik in page for nik, _ in niks)
    assert not any(f">{name}<" in page for _, name in niks if len(name) > 8)


def test_dtks_report_writes_the_page_and_refuses_a_month_outside_the_data(published_sample, tmp_path):
    out = io.StringIO()
    assert main(Namespace(warehouse=str(published_sample.warehouse), month="2022-10", out=str(tmp_path)), out, io.StringIO()) == 0
    page = report_path(tmp_path, "2022-10").read_text(encoding="utf-8")
    total = duckdb.connect(str(published_sample.warehouse), read_only=True).execute(
        "SELECT sum(amount_idr)::BIGINT FROM payout.payments WHERE period = '2022-10'").fetchone()[0]
    assert f"Rp{total:,}".replace(",", ".") in page
    err = io.StringIO()
    assert main(Namespace(warehouse=str(published_sample.warehouse), month="2023-05", out=str(tmp_path / "x")),
                io.StringIO(), err) == 2
    assert "2023-05" in err.getvalue() and not (tmp_path / "x").exists()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent: apt-get update && apt-get install -y chromium")
def test_report_renders_in_chromium_with_every_chart_drawn(published_sample, tmp_path):
    page = report_path(published_sample.reports_dir, "2022-11")
    shot = tmp_path / "report.png"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "report_screenshot.py"), str(page), "--out", str(shot)],
                          capture_output=True, text=True, timeout=180)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(lines[-1])
    assert result["charts"] >= 9 and result["charts_drawn"] == result["charts"], result
    assert min(result["ink"]) >= 0.01
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
