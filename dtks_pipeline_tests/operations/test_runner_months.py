"""`dtks run` month by month: an empty month is refused, a failed month names itself as the one
to fix, and a corrected earlier month rebuilds the published months after it."""
import shutil

import duckdb
import pytest

from dtks_pipeline.runner import EXIT_FAILED, EXIT_OK, EXIT_QUARANTINE, run_months
from dtks_pipeline_tests.warehouse_copy import copy_warehouse


@pytest.fixture()
def isolated_env(monkeypatch):
    """The runner sets DTKS_SOURCES/DTKS_WAREHOUSE; never the project's Dagster instance."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("DTKS_SOURCES", "")
    monkeypatch.setenv("DTKS_WAREHOUSE", "")


def test_an_empty_month_is_refused_and_the_next_month_names_it(small_sample, tmp_path, isolated_env, capsys):
    sources = tmp_path / "sources"
    (sources / "2022-10").mkdir(parents=True)
    (sources / "2022-10" / ".DS_Store").write_text("")  # hidden files are no delivery
    shutil.copytree(small_sample / "2022-11", sources / "2022-11")
    warehouse = tmp_path / "w" / "dtks.duckdb"

    assert run_months(sources, warehouse) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "[1/2] 2022-10: FAILED, not run:" in out and "holds no delivery file: nothing was delivered for 2022-10" in out
    assert "2022-11 not run: 2022-10 failed (" in out and "fix 2022-10 first" in out
    assert "Status: FAILED for 2022-10, 2022-11" in out
    assert not warehouse.exists()

    # Asking for the later month alone: refused before anything runs, naming the month to fix.
    assert run_months(sources, warehouse, months="2022-11") == EXIT_FAILED
    out = capsys.readouterr().out
    assert "dtks run: 2022-11 not run: 2022-10 failed: no delivery file in the month folder; fix 2022-10 first" in out
    assert "materializing" not in out and not warehouse.exists()


def _kematian_row(person: dict, died: str, serial: int) -> str:
    code = person["kode_desa"]
    born = person["tgl_lahir"].strftime("%d/%m/%Y")
    sex = "LAKI-LAKI" if person["jenis_kelamin"] == "L" else "PEREMPUAN"
    day, month, year = died.split("/")
    return (f"{person['nik']};{person['nama']};{sex};{born};{died};5108-KM-{year}{month}{day}-{serial:04d};"
            f"{code[:2]}.{code[2:4]}.{code[4:6]}.{code[6:]}")


def test_a_corrected_earlier_month_rebuilds_the_published_later_month(pipeline_months, tmp_path, isolated_env, capsys):
    # 2022-10 and 2022-11 as the session's monthly job runs built them, copied and published here; the
    # multi-month run of a fresh warehouse by the runner is tested through the CLI (test_cli.py).
    sources = tmp_path / "sources"
    shutil.copytree(pipeline_months.sources, sources)
    warehouse = copy_warehouse(pipeline_months.warehouse.parent, tmp_path / "w", publish_copy=True)

    # A recipient paid in both months; Dukcapil re-delivers 2022-10 with that person's death in it.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        person = con.execute("""
            SELECT p.person_id, p.nik, p.nama, p.jenis_kelamin, p.tgl_lahir, p.kode_desa
            FROM payout.payments a JOIN payout.payments b ON a.recipient_person_id = b.recipient_person_id
            JOIN registry.persons p ON p.person_id = a.recipient_person_id AND p.period = '2022-11'
            WHERE a.period = '2022-10' AND b.period = '2022-11' AND p.status = 'AKTIF'
            ORDER BY p.person_id LIMIT 1""").df().iloc[0].to_dict()
    deaths = sources / "2022-10" / "dukcapil_kematian.csv"
    text = deaths.read_text(encoding="utf-8-sig").rstrip("\n")
    deaths.write_text(text + "\n" + _kematian_row(person, "15/10/2022", 9999) + "\n", encoding="utf-8")

    assert run_months(sources, warehouse, months="2022-10") in (EXIT_OK, EXIT_QUARANTINE)
    out = capsys.readouterr().out
    # Progress: one line per stage while the month runs, with rows per second for each source.
    lines = out.splitlines()
    dtks_line = next(line for line in lines if line.strip().startswith("staging/dtks "))
    assert " staged + " in dtks_line and dtks_line.endswith("rows/s)")
    assert any(line.strip().startswith("checks of registry") and " passed in " in line for line in lines)
    assert any(line.strip().startswith("operations/published_warehouse") for line in lines)
    assert "2022-11 is published and built on 2022-10: rebuilt too, in order" in out
    assert "[2/2] 2022-11: ok" in out
    assert "months published in this run: 2022-10, 2022-11" in out

    with duckdb.connect(str(warehouse), read_only=True) as con:  # the published file
        status = dict(con.execute("SELECT period, status FROM registry.persons WHERE person_id = ?",
                                  [person["person_id"]]).fetchall())
        paid = con.execute("SELECT count(*) FROM payout.payments WHERE recipient_person_id = ?",
                           [person["person_id"]]).fetchone()[0]
    assert status == {"2022-10": "MENINGGAL", "2022-11": "MENINGGAL"}
    assert paid == 0
