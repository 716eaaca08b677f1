"""`dtks query`: analyst file by default, read-only, writes refused with exit code 2."""
import io
import re
from argparse import Namespace

import duckdb
import pytest

from dtks_pipeline.cli import main as cli_main
from dtks_pipeline.defs.operations.publish import analyst_path_for, publish
from dtks_pipeline.defs.operations.query import EXIT_ERROR, EXIT_OK, EXIT_REFUSED, Refused, check_read_only, main

from .conftest import nik


@pytest.fixture()
def published(sample_paths):
    working, published = sample_paths
    publish(working, published)
    return published


def run(published, sql, csv=False, full_access=False):
    out, err = io.StringIO(), io.StringIO()
    code = main(Namespace(sql=sql, warehouse=str(published), csv=csv, full_access=full_access), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_default_reads_the_masked_analyst_file(published):
    code, out, _ = run(published, "SELECT person_id, nik, nokk FROM analyst.persons WHERE period = '2022-10' ORDER BY person_id", csv=True)
    assert code == EXIT_OK
    lines = out.strip().splitlines()
    assert lines[0] == "person_id,nik,nokk" and len(lines) == 7
    assert lines[1].split(",")[1] == nik(1)[:6] + "********" + nik(1)[-2:]
    assert not re.search(r"\d{16}", out), "no full NIK/NOKK may come out of the analyst file"


@pytest.mark.parametrize("sql", [
    "SELECT * FROM registry.persons",
    "SELECT tgl_lahir FROM analyst.persons",
    "SELECT recipient_nik FROM payout.payments",
    "SELECT * FROM read_csv('/etc/hostname')",
])
def test_personal_data_is_unreachable_from_the_analyst_file(published, sql):
    code, out, err = run(published, sql)
    assert code == EXIT_ERROR and err and out == ""


def test_other_files_cannot_be_attached_even_by_a_select(published):
    # ATTACH is refused by the parser check; the connection itself has external access disabled.
    code, _, err = run(published, f"ATTACH '{published}' AS full_db")
    assert code == EXIT_REFUSED and "ATTACH" in err
    from dtks_pipeline.defs.operations.query import connect_read_only
    con = connect_read_only(analyst_path_for(published))
    with pytest.raises(duckdb.Error):
        con.execute(f"ATTACH '{published}' AS full_db (READ_ONLY)")
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true")
    con.close()


@pytest.mark.parametrize("sql", [
    "DELETE FROM analyst.persons",
    "INSERT INTO analyst.summary VALUES ('x')",
    "UPDATE analyst.persons SET nama = 'X'",
    "DROP TABLE analyst.persons",
    "CREATE TABLE x AS SELECT 1",
    "COPY analyst.persons TO '/tmp/out.csv'",
    "EXPLAIN ANALYZE DELETE FROM analyst.persons",
    "CHECKPOINT",
    "SET threads = 1",
    "SELECT 1; DELETE FROM analyst.persons",
    "SELEC nonsense",
])
def test_writing_statements_are_refused(published, sql):
    analyst = analyst_path_for(published)
    before = analyst.read_bytes()
    code, out, err = run(published, sql)
    assert code == EXIT_REFUSED
    assert err.startswith("dtks query: refused:") and out == ""
    assert analyst.read_bytes() == before


@pytest.mark.parametrize("sql", ["SELECT 1", "FROM analyst.summary", "DESCRIBE analyst.persons", "SHOW ALL TABLES",
                                 "SUMMARIZE analyst.payments", "EXPLAIN SELECT count(*) FROM analyst.persons",
                                 "WITH a AS (SELECT 1 AS x) SELECT * FROM a"])
def test_reading_statements_are_allowed(sql):
    check_read_only(sql)  # does not raise


def test_full_access_opens_the_full_file_read_only(published):
    code, out, _ = run(published, "SELECT count(*) AS n FROM registry.persons WHERE tgl_lahir IS NOT NULL", full_access=True)
    assert code == EXIT_OK and "12" in out and "(1 rows)" in out
    code, _, err = run(published, "DELETE FROM registry.persons", full_access=True)
    assert code == EXIT_REFUSED


def test_cli_dispatch_and_missing_file(tmp_path, published, capsys):
    assert cli_main(["query", "--warehouse", str(published), "SELECT count(*) AS n FROM analyst.families"]) == EXIT_OK
    assert "(1 rows)" in capsys.readouterr().out
    assert cli_main(["query", "--warehouse", str(tmp_path / "none.duckdb"), "SELECT 1"]) == EXIT_ERROR
    assert "not found" in capsys.readouterr().err


def test_refused_is_raised_for_multiple_statements():
    with pytest.raises(Refused, match="exactly one"):
        check_read_only("SELECT 1; SELECT 2")


def test_csv_neutralises_formula_text_and_keeps_numbers(published):
    import csv as csv_module

    from .conftest import HOSTILE_NAME

    sql = ("SELECT nama, '+6281234' AS telp, '@SUM(A1)' AS note, '-1+1' AS dash, -5 AS minus, 750000 AS amount "
           "FROM analyst.persons WHERE period = '2022-10' AND person_id = 'P00000003'")
    code, out, _ = run(published, sql, csv=True)
    assert code == EXIT_OK
    header, row = list(csv_module.reader(io.StringIO(out)))
    assert header == ["nama", "telp", "note", "dash", "minus", "amount"]
    assert row == ["'" + HOSTILE_NAME, "'+6281234", "'@SUM(A1)", "'-1+1", "-5", "750000"]
    # The table output shows the stored value as it is.
    code, out, _ = run(published, sql)
    assert HOSTILE_NAME in out and "'=" not in out
