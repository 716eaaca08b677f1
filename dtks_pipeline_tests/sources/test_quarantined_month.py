"""A month whose death list is 10 % damaged: the file is quarantined, the month completes and
pays everyone else, and `dtks accept` followed by a re-run applies the deaths.

Runs the project's monthly job in process on the session's `published_sample` (3,000
families: a death list long enough for 10 % to be a broken file), month 2022-11 on a copy
of its working files as they were after 2022-10, with the same programs file.
"""
from __future__ import annotations

import math
import shutil

import duckdb

from dtks_pipeline.cli import main as dtks
from dtks_pipeline.definitions import build_definitions
from dtks_pipeline.defs.payout.programs import PROGRAMS_ENV_VAR
from dtks_pipeline.defs.shared import resources_for
from dtks_pipeline.defs.sources.specs import SOURCES
from dtks_pipeline_tests.warehouse_copy import copy_warehouse

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _damage_nik(path, share: float) -> tuple[list[str], int]:
    """Excel's scientific notation in the NIK of the first `share` of the rows; the intact NIKs."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(";")
    at = header.index("NIK")
    body = [line.split(";") for line in lines[1:] if line.strip()]
    bad = math.ceil(share * len(body))
    for cells in body[:bad]:
        cells[at] = f"{float(cells[at]):.5E}"
    path.write_text("\n".join([lines[0]] + [";".join(c) for c in body]) + "\n", encoding="utf-8")
    return [c[at] for c in body[bad:] if c[at]], bad


def _query(warehouse, sql, params=()):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_a_damaged_death_list_holds_back_only_itself_and_accept_applies_it(published_sample, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DTKS_GX_DIR", str(tmp_path / "gx"))
    monkeypatch.setenv(PROGRAMS_ENV_VAR, str(published_sample.programs_file))
    src, published = tmp_path / "src", tmp_path / "wh" / "dtks.duckdb"
    for period in ("2022-10", "2022-11"):
        shutil.copytree(published_sample.sources / period, src / period)
    intact, bad = _damage_nik(src / "2022-11" / SOURCES["dukcapil_kematian"].filename, 0.10)
    assert published_sample.results["2022-10"].success  # 2022-10 as the fixture ran (and copied) it
    copy_warehouse(published_sample.after_october, published.parent)
    job = build_definitions(resources_for(src, published)).resolve_job_def("dtks_monthly")

    result = job.execute_in_process(partition_key="2022-11", raise_on_error=False, run_config=QUIET)
    assert result.success  # the month completes and is published
    failed = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations() if not e.passed}
    assert set(failed) == {("staging/dukcapil_kematian", "file_quarantine")}
    assert failed[("staging/dukcapil_kematian", "file_quarantine")].severity.value == "WARN"
    status, reason, read, quarantined = _query(published, "SELECT status, status_reason, rows_read, rows_quarantined "
                                                          "FROM audit.source_files WHERE period = '2022-11' AND source = 'dukcapil_kematian'")[0]
    assert status == "KARANTINA" and reason.startswith(f"broken delivery: {bad} of {read} rows rejected") and quarantined == read
    assert "mostly NIK: NIK_RUSAK" in reason
    paid = _query(published, "SELECT count(*) FROM payout.payments WHERE period = '2022-11'")[0][0]
    assert paid > 0
    # The deaths wait: the people of the intact rows are still active in 2022-11.
    marks = ",".join("?" * len(intact))
    waiting = _query(published, f"SELECT count(*) FROM registry.persons WHERE period = '2022-11' AND status = 'AKTIF' AND nik IN ({marks})", intact)[0][0]
    assert waiting > 0

    assert dtks(["accept", "--month", "2022-11", "--file", "dukcapil_kematian.csv", "--note", "NIK rusak di 10 % baris",
                 "--by", "test", "--warehouse", str(published)]) == 0
    capsys.readouterr()
    rerun = job.execute_in_process(partition_key="2022-11", raise_on_error=False, run_config=QUIET)
    assert rerun.success and all(e.passed for e in rerun.get_asset_check_evaluations()
                                 if e.asset_key.to_user_string() == "staging/dukcapil_kematian")
    assert _query(published, "SELECT status, rows_staged + rows_rejected, rows_rejected >= ? FROM audit.source_files "
                             "WHERE period = '2022-11' AND source = 'dukcapil_kematian'", [bad]) == [("DITERIMA", read, True)]
    still = _query(published, f"SELECT count(*) FROM registry.persons WHERE period = '2022-11' AND status = 'AKTIF' AND nik IN ({marks})", intact)[0][0]
    assert still == 0  # the accepted deaths are applied
    assert _query(published, "SELECT count(*) FROM payout.payments WHERE period = '2022-11'")[0][0] > 0
