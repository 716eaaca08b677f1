"""Ingestion assets run in process against a real DuckDB file."""
import dagster as dg
import duckdb

from dtks_pipeline.defs.shared import resources_for
from dtks_pipeline.defs.sources.assets import staging_assets, staging_checks
from dtks_pipeline.defs.sources.specs import SOURCES
from dtks_pipeline.defs.sources.staging import conservation_violations

from .conftest import GOOD_NIK, VILLAGE, desa_row, dtks_row, write_csv, write_xlsx


def materialize(src, warehouse, period, names):
    assets = [staging_assets[n] for n in names]
    checks = [c for c in staging_checks if any(k.asset_key.path[-1] in names for k in c.check_keys)]
    return dg.materialize(assets + checks, partition_key=period, resources=resources_for(src, warehouse), raise_on_error=False)


def query(warehouse, sql, params=()):
    con = duckdb.connect(str(warehouse.parent / "work" / warehouse.name), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_good_and_broken_sources_in_one_month(tmp_path):
    src, wh = tmp_path / "src", tmp_path / "wh" / "dtks.duckdb"
    month = src / "2022-10"
    write_csv(month / "dtks.csv", SOURCES["dtks"].columns, [dtks_row(), dtks_row(NIK="5.10801E+15"), None])
    write_csv(month / "nelayan.csv", [c for c in SOURCES["nelayan"].columns if c != "NAMA"], [{"NIK": GOOD_NIK}])
    write_xlsx(month / "desa" / f"{VILLAGE}.xlsx", SOURCES["desa"].columns, [desa_row()])
    write_csv(month / "desa" / "5108012013.csv", SOURCES["desa"].columns, [desa_row(KODE_DESA="5108012013"), desa_row(KODE_DESA=VILLAGE)])

    result = materialize(src, wh, "2022-10", ["dtks", "nelayan", "desa", "dukcapil_kematian"])
    # A broken file holds back only itself: every asset succeeds, the file is quarantined.
    assert result.success
    assert not result.get_step_failure_events()

    # The broken source wrote nothing but its audit row; the others are complete and conserved.
    assert query(wh, "SELECT count(*) FROM staging.nelayan") == [(0,)]
    assert query(wh, "SELECT status, status_reason, rows_read, rows_quarantined FROM audit.source_files WHERE source = 'nelayan'") == [
        ("KARANTINA", "missing required column(s): NAMA (read as utf-8, separator ';')", 1, 1)]
    assert query(wh, "SELECT count(*) FROM staging.dtks WHERE period = '2022-10'") == [(1,)]
    assert query(wh, "SELECT source_row, reason_code FROM audit.rejected_rows WHERE source = 'dtks'") == [(2, "NIK_RUSAK")]
    assert query(wh, "SELECT source_file, rows_read, rows_staged, rows_rejected FROM audit.source_files WHERE source = 'desa' ORDER BY 1") == [
        ("desa/5108012012.xlsx", 1, 1, 0), ("desa/5108012013.csv", 2, 1, 1)]
    assert query(wh, "SELECT status FROM audit.source_files WHERE source = 'dukcapil_kematian'") == [("TIDAK_DIKIRIM",)]
    checks = {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}
    assert {k for k, e in checks.items() if not e.passed} == {("nelayan", "file_quarantine")}
    warned = checks[("nelayan", "file_quarantine")]
    assert warned.severity == dg.AssetCheckSeverity.WARN and "nelayan.csv: missing required column(s): NAMA" in warned.description
    nelayan = next(e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == "nelayan")
    assert nelayan.materialization.metadata["quarantined_files"].value[0]["source_file"] == "nelayan.csv"
    materialization = next(e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == "dtks")
    metadata = materialization.materialization.metadata
    assert metadata["dagster/row_count"].value == 1
    assert metadata["rejected_by_reason"].value == {"NIK_RUSAK": 1}
    assert GOOD_NIK not in metadata["preview"].value and "510801********01" in metadata["preview"].value


def test_rerun_replaces_the_month_and_missing_snapshot_uses_the_last(tmp_path):
    src, wh = tmp_path / "src", tmp_path / "wh" / "dtks.duckdb"
    write_csv(src / "2022-10" / "dtks.csv", SOURCES["dtks"].columns, [dtks_row(), dtks_row(ID_ART="A2")])
    (src / "2022-11").mkdir(parents=True)
    assert materialize(src, wh, "2022-10", ["dtks"]).success
    assert materialize(src, wh, "2022-10", ["dtks"]).success  # rerun: same rows, not doubled
    assert query(wh, "SELECT count(*) FROM staging.dtks") == [(2,)]

    result = materialize(src, wh, "2022-11", ["dtks"])
    assert result.success
    assert query(wh, "SELECT status, message FROM audit.source_files WHERE period = '2022-11'") == [
        ("TIDAK_DIKIRIM", "dtks.csv not delivered for 2022-11: the registry uses the snapshot of 2022-10")]


def test_first_month_without_dtks_fails(tmp_path):
    src, wh = tmp_path / "src", tmp_path / "wh" / "dtks.duckdb"
    (src / "2022-10").mkdir(parents=True)
    result = materialize(src, wh, "2022-10", ["dtks"])
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.error.message
    assert "no earlier accepted delivery" in message and "registry of 2022-10 cannot be built" in message


def test_conservation_detects_a_lost_row(tmp_path):
    src, wh = tmp_path / "src", tmp_path / "wh" / "dtks.duckdb"
    write_csv(src / "2022-10" / "dtks.csv", SOURCES["dtks"].columns, [dtks_row(), dtks_row(ID_ART="A2")])
    assert materialize(src, wh, "2022-10", ["dtks"]).success
    con = duckdb.connect(str(wh.parent / "work" / wh.name))
    try:
        assert conservation_violations(con, "dtks", "2022-10").empty
        con.execute("DELETE FROM staging.dtks WHERE source_row = 2")  # a row vanishes
        bad = conservation_violations(con, "dtks", "2022-10")
    finally:
        con.close()
    assert bad[["source_file", "rows_read", "rows_staged", "rows_rejected"]].values.tolist() == [["dtks.csv", 2, 1, 0]]
