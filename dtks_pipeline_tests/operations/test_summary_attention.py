"""The run summary's loud part: quarantined and unused files, held families, and exit code 3."""
from pathlib import Path

import pandas as pd

from dtks_pipeline.defs.registry.held import HELD_TABLE
from dtks_pipeline.defs.sources import file_status as fs
from dtks_pipeline.lib import warehouse
from dtks_pipeline.runner import MonthResult
from dtks_pipeline.summary import attention_report, print_summary, run_status


def file_row(period, source, source_file, status, reason=""):
    return {"period": period, "source": source, "source_file": source_file, "rows_read": 10, "rows_staged": 0 if status != fs.OK else 10,
            "rows_rejected": 0, "rows_blank": 0, "encoding": "utf-8", "sha256": "x", "status": status, "message": "",
            "loaded_at": pd.Timestamp("2022-11-05"), "status_reason": reason, "rows_quarantined": 10 if status == fs.KARANTINA else 0}


def write_warehouse(published: Path, held: bool) -> None:
    con = warehouse.connect(published.parent / "work" / published.name)
    try:
        con.execute(fs.SOURCE_FILES_DDL)
        rows = [file_row("2022-10", "dtks", "dtks.csv", fs.OK), file_row("2022-10", "dukcapil_kematian", "dukcapil_kematian.csv", fs.OK),
                file_row("2022-11", "dtks", "dtks.csv", fs.KARANTINA, "missing required column(s): NAMA"),
                file_row("2022-11", "dukcapil_kematian", "dukcapil_kematian.csv", fs.KARANTINA, "38% of rows rejected"),
                file_row("2022-11", "desa", "desa/Copy of 5108022010.xlsx", fs.TIDAK_DIGUNAKAN, "a copy, not a village file")]
        frame = pd.DataFrame(rows)
        con.register("f", frame)
        con.execute(f"INSERT INTO {fs.SOURCE_FILES_TABLE} BY NAME SELECT * FROM f")
        if held:
            con.execute(f"CREATE TABLE {HELD_TABLE} (period VARCHAR, family_id VARCHAR, nokk VARCHAR, reason_code VARCHAR, detail VARCHAR)")
            con.execute(f"INSERT INTO {HELD_TABLE} VALUES ('2022-11', 'K00000007', '5108010101010001', 'NIK_GANDA', 'x'), "
                        "('2022-11', 'K00000009', '5108010101010002', 'NIK_GANDA', 'x')")
    finally:
        con.close()


def test_quarantined_files_say_what_was_used_instead_and_held_families_are_counted(tmp_path):
    published = tmp_path / "dtks.duckdb"
    write_warehouse(published, held=True)
    report = run_status(published, ["2022-11"])
    assert report.n_quarantined == 2 and report.n_unused == 1 and report.n_held == 2
    assert report.has_quarantine_or_held
    text = "\n".join(report.quarantined + report.unused + report.held)
    assert "2022-11  dtks.csv: missing required column(s): NAMA; the snapshot of 2022-10 is used instead" in text
    assert "dukcapil_kematian.csv: 38% of rows rejected; its events wait" in text
    assert "desa/Copy of 5108022010.xlsx: a copy, not a village file" in text
    assert "NIK_GANDA: 2 families (K00000007, K00000009)" in text
    assert "5108010101010001" not in text  # no NOKK in the summary
    assert not run_status(published, ["2022-10"]).has_quarantine_or_held


def test_summary_status_line_says_completed_with_quarantine(tmp_path, capsys):
    published = tmp_path / "dtks.duckdb"
    write_warehouse(published, held=False)
    print_summary(published, ["2022-11"], [MonthResult("2022-11", success=True, seconds=1.0, published=True)])
    out = capsys.readouterr().out
    assert "!! QUARANTINED FILES (2)" in out and "!! FILES NOT USED (1)" in out and "FAMILIES HELD" not in out
    assert "Status: COMPLETED WITH QUARANTINE (2 file(s) quarantined; see above)" in out


def test_an_unused_file_alone_does_not_make_a_quarantine(tmp_path):
    published = tmp_path / "dtks.duckdb"
    con = warehouse.connect(published.parent / "work" / published.name)
    try:
        con.execute(fs.SOURCE_FILES_DDL)
        con.register("f", pd.DataFrame([file_row("2022-10", "desa", "desa/old.xls", fs.TIDAK_DIGUNAKAN, "legacy .xls")]))
        con.execute(f"INSERT INTO {fs.SOURCE_FILES_TABLE} BY NAME SELECT * FROM f")
    finally:
        con.close()
    with warehouse.connect(published.parent / "work" / published.name, read_only=True) as con:
        report = attention_report(con, ["2022-10"])
    assert report.n_unused == 1 and not report.has_quarantine_or_held
