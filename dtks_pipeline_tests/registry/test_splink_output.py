"""A month's registry build keeps Splink's training chatter (u sampling, EM iterations, blocking and predict
times, its by-design warnings) and DuckDB's progress bar off the console, so that `dtks run` shows its own
progress lines and summary.
A real trained model: more mentions than linkage_model.MIN_TRAINING_MENTIONS, real DuckDB."""
from __future__ import annotations

import datetime as dt
import logging
import string

from dtks_pipeline.defs.registry import build as build_mod, linkage_model
from dtks_pipeline.lib import warehouse
from dtks_pipeline_tests.registry.staging_fixture import DESA_A, dtks_row, nik, nokk, write_staging


def _letters(i: int) -> str:
    out = ""
    while True:
        i, r = divmod(i, 26)
        out = string.ascii_uppercase[r] + out
        if not i:
            return out


def test_a_trained_month_prints_no_splink_training_chatter(tmp_path, caplog):
    # (under pytest the root logger has a handler, so Splink logs there instead of adding its own console
    # handler: its records are what `dtks run` would print)
    caplog.set_level(logging.DEBUG)
    n = linkage_model.MIN_TRAINING_MENTIONS + 100
    rows = []
    for i in range(1, n + 1):
        dob = (dt.date(1950, 1, 1) + dt.timedelta(days=37 * i)).isoformat()
        rows.append(dtks_row(f"A{i}", f"H{i // 3}", nokk(i // 3 + 1), nik("01", dob, "L", i % 9000 + 1),
                             f"I MADE {_letters(i * 7919)}", "L", dob, 1 if i % 3 == 0 else 4, kode_desa=DESA_A))
    con = warehouse.connect(tmp_path / "w.duckdb")
    write_staging(con, "dtks", "2022-10", rows)
    built = build_mod.build_registry(con, "2022-10")
    assert built.scored.trained
    splink = [r for r in caplog.records if r.name.startswith("splink")]
    assert not [r.getMessage() for r in splink if r.levelno < logging.ERROR][:3]
    assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] is False
