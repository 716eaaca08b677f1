"""`dtks accept` / `dtks reject`: an operator's decision on a quarantined file, by checksum."""
from __future__ import annotations

from dtks_pipeline.cli import main as dtks
from dtks_pipeline.defs.shared import WarehouseResource
from dtks_pipeline.defs.sources.specs import SOURCES
from dtks_pipeline.defs.sources.staging import stage_source
from dtks_pipeline.lib import warehouse

from .conftest import write_csv
from .test_corpus import DEATH_COLUMNS, deaths, files_of


def _stage(working, month_dir, period="2022-11", source="dukcapil_kematian"):
    con = warehouse.connect(working)
    try:
        return stage_source(con, source, month_dir, period)
    finally:
        con.close()


def _files(working, period="2022-11"):
    con = warehouse.connect(working, read_only=True)
    try:
        return files_of(con, period), con.execute(
            "SELECT decision, decided_by, note, sha256 FROM audit.file_decisions ORDER BY decided_at").fetchall()
    finally:
        con.close()


def test_accept_stages_a_quarantined_file_reject_keeps_it_and_a_new_checksum_is_judged_afresh(tmp_path, capsys):
    published = tmp_path / "wh" / "dtks.duckdb"
    working = WarehouseResource(path=str(published)).working_path
    src = tmp_path / "src"
    write_csv(src / "2022-10" / "dukcapil_kematian.csv", DEATH_COLUMNS, deaths(100))
    write_csv(src / "2022-11" / "dukcapil_kematian.csv", DEATH_COLUMNS, deaths(100, bad=20))
    _stage(working, src / "2022-10", "2022-10")
    _stage(working, src / "2022-11")
    assert _files(working)[0]["dukcapil_kematian.csv"][0] == "KARANTINA"

    # Nothing to decide on a file that is not quarantined, or not there.
    assert dtks(["accept", "--month", "2022-10", "--file", "dukcapil_kematian.csv", "--note", "x", "--warehouse", str(published)]) == 2
    assert "is not quarantined (status OK)" in capsys.readouterr().out
    assert dtks(["accept", "--month", "2022-11", "--file", "nelayan.csv", "--note", "x", "--warehouse", str(published)]) == 2
    assert "quarantined files of 2022-11: dukcapil_kematian.csv" in capsys.readouterr().out

    code = dtks(["accept", "--month", "2022-11", "--file", "DUKCAPIL_KEMATIAN.csv", "--note", "NIK kolom rusak, sisanya benar",
                 "--by", "operator1", "--warehouse", str(published)])
    assert code == 0 and "accepted by operator1" in capsys.readouterr().out
    _stage(working, src / "2022-11")
    files, decisions = _files(working)
    status, reason, read, staged, rejected, quarantined = files["dukcapil_kematian.csv"]
    assert (status, read, staged, rejected, quarantined) == ("DITERIMA", 100, 80, 20, 0)  # bad rows still rejected row by row
    assert reason.startswith("accepted by operator1") and "NIK kolom rusak" in reason
    assert decisions[0][:3] == ("TERIMA", "operator1", "NIK kolom rusak, sisanya benar")

    # Reject confirms the quarantine.
    assert dtks(["reject", "--month", "2022-11", "--file", "dukcapil_kematian.csv", "--note", "minta kirim ulang",
                 "--by", "operator2", "--warehouse", str(published)]) == 0
    _stage(working, src / "2022-11")
    status, reason, *_ = _files(working)[0]["dukcapil_kematian.csv"]
    assert status == "KARANTINA" and reason.startswith("rejected by operator2") and "minta kirim ulang" in reason

    # A re-delivered file (another checksum) is judged afresh: the decisions were on the old file.
    write_csv(src / "2022-11" / "dukcapil_kematian.csv", DEATH_COLUMNS, deaths(100, bad=30))
    _stage(working, src / "2022-11")
    status, reason, *_ = _files(working)[0]["dukcapil_kematian.csv"]
    assert status == "KARANTINA" and reason.startswith("broken delivery: 30 of 100")


def test_an_accepted_file_that_cannot_be_read_stays_quarantined(tmp_path, capsys):
    published = tmp_path / "wh" / "dtks.duckdb"
    working = WarehouseResource(path=str(published)).working_path
    month = tmp_path / "src" / "2022-10"
    write_csv(month / "nelayan.csv", [c for c in SOURCES["nelayan"].columns if c != "NIK"], [{"NAMA": "I WAYAN"}])
    _stage(working, month, "2022-10", "nelayan")
    assert dtks(["accept", "--month", "2022-10", "--file", "nelayan.csv", "--note", "cek", "--by", "op",
                 "--warehouse", str(published)]) == 0
    _stage(working, month, "2022-10", "nelayan")
    status, reason, *_ = _files(working, "2022-10")[0]["nelayan.csv"]
    assert status == "KARANTINA" and reason.startswith("accepted by op") and "still unreadable: missing required column(s): NIK" in reason


def test_an_accepted_file_with_another_separator_is_read(tmp_path):
    published = tmp_path / "wh" / "dtks.duckdb"
    working = WarehouseResource(path=str(published)).working_path
    month = tmp_path / "src" / "2022-10"
    write_csv(month / "nelayan.csv", SOURCES["nelayan"].columns, [{"NIK": "5108014504800001", "NAMA": "NI MADE"}], sep=",")
    _stage(working, month, "2022-10", "nelayan")
    assert _files(working, "2022-10")[0]["nelayan.csv"][0] == "KARANTINA"
    assert dtks(["accept", "--month", "2022-10", "--file", "nelayan.csv", "--note", "koma", "--warehouse", str(published)]) == 0
    _stage(working, month, "2022-10", "nelayan")
    status, reason, read, staged, *_ = _files(working, "2022-10")[0]["nelayan.csv"]
    assert (status, read, staged) == ("DITERIMA", 1, 1) and reason.startswith("accepted by")
