"""Publication: masking, atomic replacement, and crash safety with real second processes."""


import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dtks_pipeline.defs.operations.assets import PUBLISHED_KEY, build_published_warehouse
from dtks_pipeline.defs.operations.publish import ANALYST_TABLES, analyst_path_for, legacy_parts_dir_for, publish
from dtks_pipeline.defs.shared import WarehouseResource, monthly_partitions, resources_for
from dtks_pipeline.lib import warehouse

from .conftest import nik, write_sample_warehouse

UNMASKED = re.compile(r"^\d{16}$")
MASKED = re.compile(r"^\d{6}\*{8}\d{2}$")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def all_relations(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    return {tuple(r) for r in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = current_database() AND NOT internal"
    ).fetchall()}


# --- content --------------------------------------------------------------------------------------

def test_analyst_file_holds_only_masked_analyst_tables(sample_paths):
    working, published = sample_paths
    result = publish(working, published)

    assert result.skipped == []
    assert set(result.analyst_tables) == set(ANALYST_TABLES)
    con = duckdb.connect(str(analyst_path_for(published)), read_only=True)
    try:
        # Nothing but the six analyst tables, as real tables (no views pointing elsewhere).
        assert all_relations(con) == {("analyst", t) for t in ANALYST_TABLES}
        assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM duckdb_databases() WHERE NOT internal").fetchone()[0] == 1
        columns = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'analyst'"
        ).fetchall()
        names = {c for _, c, _ in columns}
        assert not names & {"tgl_lahir", "tmpt_lahir", "alamat", "nama_ibu"}
        # Every text value anywhere: no 16-digit number survives; NIK/NOKK columns are masked.
        for table, column, dtype in columns:
            if dtype != "VARCHAR":
                continue
            values = [v for (v,) in con.execute(f'SELECT DISTINCT "{column}" FROM analyst.{table}').fetchall() if v]
            assert not [v for v in values if UNMASKED.match(v)], f"unmasked 16-digit value in analyst.{table}.{column}"
            if column in ("nik", "nokk", "recipient_nik"):
                assert values and all(MASKED.match(v) for v in values), f"analyst.{table}.{column} not masked"
        first = con.execute("SELECT nik FROM analyst.persons WHERE person_id = 'P00000001' AND period = '2022-10'").fetchone()[0]
        assert first == nik(1)[:6] + "********" + nik(1)[-2:]
        assert con.execute("SELECT count(*) FROM analyst.persons").fetchone()[0] == 12
    finally:
        con.close()


def test_full_warehouse_gets_the_same_analyst_views(sample_paths):
    working, published = sample_paths
    publish(working, published)
    full = duckdb.connect(str(published), read_only=True)
    full.execute(f"ATTACH '{analyst_path_for(published)}' AS a (READ_ONLY)")
    try:
        for table in ANALYST_TABLES:
            kind = full.execute(
                "SELECT table_type FROM information_schema.tables WHERE table_catalog = current_database() "
                "AND table_schema = 'analyst' AND table_name = ?", [table]
            ).fetchone()[0]
            assert kind == "VIEW"
            diff = full.execute(
                f"SELECT count(*) FROM ((FROM analyst.{table} EXCEPT ALL FROM a.analyst.{table}) "
                f"UNION ALL (FROM a.analyst.{table} EXCEPT ALL FROM analyst.{table}))"
            ).fetchone()[0]
            assert diff == 0, table
        # The full file still has the personal data for cleared users.
        assert full.execute("SELECT count(*) FROM registry.persons WHERE tgl_lahir IS NOT NULL").fetchone()[0] == 12
    finally:
        full.close()


def test_publish_builds_only_from_tables_that_exist(tmp_path):
    working = tmp_path / "work" / "w.duckdb"
    con = warehouse.connect(working)
    con.execute("CREATE TABLE payout.summary (period VARCHAR, program VARCHAR, kode_desa VARCHAR, n_kpm BIGINT)")
    con.execute("INSERT INTO payout.summary VALUES ('2022-10', 'PKH', '5108012001', 3)")
    con.close()

    result = publish(working, tmp_path / "w.duckdb")

    assert result.analyst_tables == {"summary": 1}
    assert set(result.skipped) == set(ANALYST_TABLES) - {"summary"}
    con = duckdb.connect(str(result.analyst_path), read_only=True)
    assert [c[0] for c in con.execute("DESCRIBE analyst.summary").fetchall()] == ["period", "program", "kode_desa", "n_kpm"]
    con.close()


# --- second processes -----------------------------------------------------------------------------

def _write_version(working: Path, version: int) -> None:
    """Version v: table t with 20_000 + 1_000 v rows all tagged v, and meta(v, n)."""
    con = warehouse.connect(working)
    with warehouse.transaction(con):
        con.execute("CREATE OR REPLACE TABLE t AS SELECT ? AS v, i, repeat('x', 40) AS pad FROM range(?) r(i)", [version, 20_000 + 1_000 * version])
        con.execute("CREATE OR REPLACE TABLE meta AS SELECT ? AS v, ? AS n", [version, 20_000 + 1_000 * version])
    con.close()


READER = textwrap.dedent(
    """
    import json, sys, time, duckdb
    path, mode, stop = sys.argv[1], sys.argv[2], sys.argv[3]
    import os
    sql = "SELECT (SELECT v FROM meta), (SELECT n FROM meta), count(*), min(v), max(v) FROM t"
    held = duckdb.connect(path, read_only=True) if mode == "held" else None
    first = True
    deadline = time.time() + 30
    while time.time() < deadline and not os.path.exists(stop):
        try:
            con = held or duckdb.connect(path, read_only=True)
            row = con.execute(sql).fetchone()
            if held is None:
                con.close()
            print(json.dumps({"row": list(row)}), flush=True)
        except Exception as exc:
            print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        if first:
            print(json.dumps({"ready": True}), flush=True)
            first = False
        time.sleep(0.005)  # leave CPU to the publisher on a 2-core machine
    """
)


def _wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if needle in line:
            return
        if not line and proc.poll() is not None:
            raise AssertionError(f"child exited ({proc.returncode}) before '{needle}': {proc.stderr.read()}")
    raise AssertionError(f"child did not print '{needle}' within {timeout}s")


def test_readers_see_old_or_new_never_half(tmp_path):
    published = tmp_path / "dtks.duckdb"
    working = tmp_path / "work" / "dtks.duckdb"
    _write_version(working, 1)
    publish(working, published)
    stop = tmp_path / "stop"

    readers = {
        mode: subprocess.Popen([sys.executable, "-c", READER, str(published), mode, str(stop)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for mode in ("fresh", "held")
    }
    try:
        for proc in readers.values():
            _wait_for_line(proc, '"ready"')
        for version in range(2, 7):
            _write_version(working, version)
            publish(working, published)
            time.sleep(0.1)
    finally:
        stop.touch()
    outputs = {}
    for mode, proc in readers.items():
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        outputs[mode] = [json.loads(line) for line in out.splitlines() if line.strip()]

    for mode, records in outputs.items():
        errors = [r["error"] for r in records if "error" in r]
        assert not errors, f"{mode} reader failed: {errors[:3]}"
        rows = [r["row"] for r in records if "row" in r]
        assert rows
        for meta_v, meta_n, count, vmin, vmax in rows:
            assert meta_v == vmin == vmax and meta_n == count, f"{mode} reader saw a mixed state {meta_v, meta_n, count, vmin, vmax}"
    # The reader that keeps its connection keeps reading the file it opened (version 1) ...
    assert {r["row"][0] for r in outputs["held"] if "row" in r} == {1}
    # ... and one that reconnects moves on to the newer versions, ending with the last.
    fresh_versions = [r["row"][0] for r in outputs["fresh"] if "row" in r]
    assert fresh_versions == sorted(fresh_versions) and fresh_versions[-1] == 6
    assert len(set(fresh_versions)) >= 2


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("INSERT INTO t SELECT 2, i, 'committed' FROM range(1000) r(i)")   # committed (in the WAL)
    con.execute("BEGIN TRANSACTION")
    con.execute("INSERT INTO t SELECT 3, i, repeat('y', 40) FROM range(200000) r(i)")  # never committed
    print("mid-write", flush=True)
    while True:
        con.execute("INSERT INTO t SELECT 3, i, 'more' FROM range(50000) r(i)")
    """
)

KILLED_COPY = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from dtks_pipeline.defs.operations import publish as mod

    def slow_copy(src, dst):
        data = Path(src).read_bytes()
        with open(dst, "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush(); os.fsync(f.fileno())
            print("mid-copy", flush=True)
            time.sleep(60)
            f.write(data[len(data) // 2:])

    mod._copy_file = slow_copy
    mod.publish(sys.argv[1], sys.argv[2])
    """
)


def _kill_when(script: str, args: list[str], needle: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_line(proc, needle)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def _published_state(published: Path) -> tuple:
    con = duckdb.connect(str(published), read_only=True)
    try:
        return con.execute("SELECT count(*), max(v) FROM t").fetchone()
    finally:
        con.close()


def test_writer_killed_mid_write_leaves_published_unchanged(tmp_path):
    published = tmp_path / "dtks.duckdb"
    working = tmp_path / "work" / "dtks.duckdb"
    _write_version(working, 1)
    publish(working, published)
    before, analyst_before = sha256(published), sha256(analyst_path_for(published))

    _kill_when(KILLED_WRITER, [str(working)], "mid-write")

    assert sha256(published) == before and sha256(analyst_path_for(published)) == analyst_before
    assert _published_state(published) == (21_000, 1)
    # The next publish recovers the working file (committed rows only) and succeeds.
    publish(working, published)
    assert _published_state(published) == (22_000, 2)
    assert not Path(f"{working}.wal").exists()


def test_publisher_killed_mid_copy_leaves_published_unchanged(tmp_path):
    published = tmp_path / "dtks.duckdb"
    working = tmp_path / "work" / "dtks.duckdb"
    _write_version(working, 1)
    publish(working, published)
    before = sha256(published)
    _write_version(working, 2)

    _kill_when(KILLED_COPY, [str(working), str(published)], "mid-copy")

    leftovers = list(tmp_path.glob(".dtks.duckdb.publish-*.tmp"))
    assert leftovers, "the child should have died with its temporary copy half written"
    assert sha256(published) == before
    assert _published_state(published) == (21_000, 1)
    publish(working, published)
    assert _published_state(published) == (22_000, 2)
    assert not list(tmp_path.glob(".*.tmp")), "stale temporary files are cleaned up"


# --- the asset ------------------------------------------------------------------------------------

def _upstream_with_check(passed: bool):
    @dg.asset(key=["registry", "persons"], partitions_def=monthly_partitions, pool="duckdb")
    def persons(warehouse: WarehouseResource):
        write_sample_warehouse(warehouse.working_path)

    @dg.asset_check(asset=persons, blocking=True)
    def persons_ok() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=passed)

    return persons, persons_ok


@pytest.mark.parametrize("check_passes", [True, False])
def test_asset_publishes_only_after_upstream_checks_pass(tmp_path, check_passes):
    persons, persons_ok = _upstream_with_check(check_passes)
    published_asset = build_published_warehouse([persons.key])
    resources = resources_for(tmp_path / "sources", tmp_path / "wh" / "dtks.duckdb")

    result = dg.materialize(
        [persons, persons_ok, published_asset], resources=resources, partition_key="2022-11", raise_on_error=False
    )

    published = tmp_path / "wh" / "dtks.duckdb"
    mats = result.asset_materializations_for_node("operations__published_warehouse") if check_passes else []
    if check_passes:
        assert result.success
        assert published.exists() and analyst_path_for(published).exists()
        assert mats and mats[0].asset_key == PUBLISHED_KEY
        assert mats[0].metadata["analyst_row_counts"].value["persons"] == 12
    else:
        assert not result.success
        assert not published.exists(), "a failed blocking check must stop publication"


# --- cost of the month, not of the history -------------------------------------------------------

def _rows_by_period(path: Path, table: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"SELECT period, count(*) FROM {table} GROUP BY ALL ORDER BY 1").fetchall()
    finally:
        con.close()


def test_second_month_publication_writes_only_the_new_month(tmp_path):
    from .conftest import families_frame, persons_frame

    published = tmp_path / "warehouse" / "dtks.duckdb"
    working = published.parent / "work" / published.name

    def write(period: str, n: int = 6, codes: int = 6) -> None:
        con = warehouse.connect(working)
        with warehouse.transaction(con):
            warehouse.replace_period(con, "registry.persons", persons_frame(period, n), period)
            warehouse.replace_period(con, "registry.families", families_frame(period), period)
            con.execute("CREATE OR REPLACE TABLE ref.codes AS SELECT range AS code FROM range(?)", [codes])
        con.close()

    write("2022-10")
    first = publish(working, published, period="2022-10")
    assert sorted(first.periods_written) == ["registry.families/2022-10", "registry.persons/2022-10"]
    assert first.tables_copied == ["ref.codes"] and first.analyst_rebuilt

    write("2022-11")
    second = publish(working, published, period="2022-11")

    # Only November was written; October is kept as published, the unchanged code table is not copied again.
    assert sorted(second.periods_written) == ["registry.families/2022-11", "registry.persons/2022-11"]
    assert second.periods_reused == 2 and second.tables_copied == [] and second.tables_rebuilt == []
    assert not second.analyst_rebuilt, "the analyst file takes November's rows, it is not rebuilt"
    assert _rows_by_period(published, "registry.persons") == [("2022-10", 6), ("2022-11", 6)]
    assert _rows_by_period(analyst_path_for(published), "analyst.persons") == [("2022-10", 6), ("2022-11", 6)]

    # A changed code table is copied again.
    write("2022-11", codes=7)
    assert publish(working, published, period="2022-11").tables_copied == ["ref.codes"]
    con = duckdb.connect(str(published), read_only=True)
    assert con.execute("SELECT count(*) FROM ref.codes").fetchone()[0] == 7
    con.close()

    # October re-run with the same row counts but a death in it, published together with November
    # (month_plan defers a rebuilt month's publication to the last month of its chain): October's
    # write since it was published is noticed, and readers see the death.
    con = warehouse.connect(working)
    with warehouse.transaction(con):
        persons = persons_frame("2022-10")
        persons.loc[0, "status"] = "MENINGGAL"
        warehouse.replace_period(con, "registry.persons", persons, "2022-10")
    con.close()
    third = publish(working, published, period="2022-11")
    assert "registry.persons/2022-10" in third.periods_written
    for path in (published, analyst_path_for(published)):
        con = duckdb.connect(str(path), read_only=True)
        try:
            assert con.execute("SELECT status FROM analyst.persons WHERE period = '2022-10' AND person_id = 'P00000001'"
                               ).fetchone()[0] == "MENINGGAL"
        finally:
            con.close()
    # And a publication with nothing rewritten outside its own month leaves October alone.
    fourth = publish(working, published, period="2022-11")
    assert not [p for p in fourth.periods_written if p.endswith("/2022-10")]


# --- one self-contained file (WAREHOUSE.md) -------------------------------------------------------

def test_published_folder_copied_elsewhere_still_answers_queries(sample_paths, tmp_path):
    import shutil

    from dtks_pipeline.defs.operations.query import run_query

    working, published = sample_paths
    publish(working, published, period="2022-10")
    expected = _rows_by_period(published, "registry.persons")
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    for path in (published, analyst_path_for(published)):
        shutil.copy2(path, moved / path.name)
    shutil.rmtree(published.parent)  # the original folder, working file and all, is gone

    copy = moved / published.name
    assert _rows_by_period(copy, "registry.persons") == expected
    # With external access off (dtks query), so nothing can be read from beside the file.
    assert run_query("SELECT count(*) AS n FROM registry.persons", copy)["n"].tolist() == [sum(n for _, n in expected)]
    assert run_query("SELECT count(*) AS n FROM analyst.persons", analyst_path_for(copy))["n"].tolist() == [
        sum(n for _, n in expected)]
    con = duckdb.connect(str(copy), read_only=True)
    try:
        assert not con.execute("SELECT sql FROM duckdb_views() WHERE NOT internal AND "
                               "(sql ILIKE '%read_parquet%' OR sql LIKE ?)", [f"%{published.parent}%"]).fetchall()
    finally:
        con.close()


def test_a_catalog_of_parquet_parts_is_replaced_by_one_file(sample_paths):
    working, published = sample_paths
    parts = legacy_parts_dir_for(published)
    (parts / "registry.persons").mkdir(parents=True)
    con = duckdb.connect(str(published))  # the earlier layout: views over parts, manifest publication.parts
    con.execute("CREATE SCHEMA publication")
    con.execute("CREATE TABLE publication.parts (table_name VARCHAR, period VARCHAR, rows BIGINT, file VARCHAR)")
    con.execute(f"COPY (SELECT 1 AS x) TO '{parts / 'registry.persons' / '2022-10.parquet'}' (FORMAT parquet)")
    con.close()

    first = publish(working, published, period="2022-10")
    assert first.analyst_rebuilt and "registry.persons/2022-10" in first.periods_written
    assert parts.exists(), "a reader who opened the old catalog may still read its parts"
    assert _rows_by_period(published, "registry.persons") == [("2022-10", 6), ("2022-11", 6)]
    publish(working, published, period="2022-10")
    assert not parts.exists(), "no published catalog refers to the parts any more"
