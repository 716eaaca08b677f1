"""The damaged-delivery corpus of issue 10, each case on small handmade files.

A broken file holds back only itself: it is quarantined (KARANTINA) with a reason,
nothing of it is staged, its rows are counted as quarantined, and the source's other
files are staged. Every file in the month folder is accounted for.
"""
from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from dtks_pipeline.defs.sources.specs import SOURCES
from dtks_pipeline.defs.sources.staging import StagingFailed, conservation_violations, stage_source
from dtks_pipeline.lib import warehouse

from .conftest import GOOD_NIK, GOOD_NIK_MAN, VILLAGE, desa_row, dtks_row, write_csv, write_xlsx

DEATH_COLUMNS = SOURCES["dukcapil_kematian"].columns


def death_row(i: int, **changes) -> dict:
    return {"NIK": death_nik(i), "NAMA": f"I WAYAN CONTOH {i}", "JNS_KEL": "LAKI-LAKI",
            "TGL_LHR": "05-04-1980", "TGL_MENINGGAL": "10-10-2022", "NO_AKTA": f"AKTA-{i}", "KODE_DESA": VILLAGE, **changes}


def death_nik(i: int) -> str:
    """A valid NIK per row: a man born 05-04-1980 in Gerokgak, serial i."""
    return f"510801050480{i:04d}"


def deaths(n: int, bad: int = 0, **bad_changes) -> list[dict]:
    rows = [death_row(i, NIK=death_nik(i + 1)) for i in range(n)]
    for i in range(bad):
        rows[i] = {**rows[i], **(bad_changes or {"NIK": "5.10801E+15"})}
    return rows


@pytest.fixture
def db(tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    yield con
    con.close()


def files_of(con, period, source=None):
    sql = "SELECT source_file, status, status_reason, rows_read, rows_staged, rows_rejected, rows_quarantined FROM audit.source_files WHERE period = ?"
    params = [period]
    if source:
        sql += " AND source = ?"
        params.append(source)
    return {r[0]: r[1:] for r in con.execute(sql + " ORDER BY 1", params).fetchall()}


def stage_all(con, month_dir, period, sources=None):
    outcomes = {}
    for source in sources or SOURCES:
        try:
            outcomes[source] = stage_source(con, source, month_dir, period)
        except StagingFailed as exc:
            outcomes[source] = exc
    return outcomes


# ---------------------------------------------------------------- CSV lines

def test_a_stray_quote_swallows_no_rows(tmp_path, db):
    month = tmp_path / "2022-10"
    rows = [dtks_row(ID_ART=f"A{i}", NIK=f"5108014504{80:02d}{i:04d}") for i in range(1, 62)]
    rows[1]["NAMA"] = '"NI MADE SARI'  # the quote opens a field that never closes
    write_csv(month / "dtks.csv", SOURCES["dtks"].columns, rows)
    stage_source(db, "dtks", month, "2022-10")

    assert files_of(db, "2022-10")["dtks.csv"] == ("OK", "", 61, 60, 1, 0)
    assert db.execute("SELECT source_row, reason_code, message FROM audit.rejected_rows").fetchall() == [
        (2, "BARIS_RUSAK", "line 3 of the file: unbalanced double quote: a quoted field opens on this line and never closes")]
    # Row numbers after the quote stay true: row 61 is the 61st data line.
    assert db.execute("SELECT id_art FROM staging.dtks WHERE source_row = 61").fetchall() == [("A61",)]
    assert conservation_violations(db, "dtks", "2022-10").empty


def test_a_quote_inside_a_word_is_a_character_and_a_line_too_long_is_rejected(tmp_path, db):
    month = tmp_path / "2022-10"
    columns = SOURCES["nelayan"].columns
    path = month / "nelayan.csv"
    write_csv(path, columns, [{"NIK": GOOD_NIK, "NAMA": 'NI MADE O"SARI'}, {"NIK": GOOD_NIK_MAN, "NAMA": "I WAYAN"}])
    path.write_text(path.read_text() + f"{GOOD_NIK};NI KADEK;;;;;EXTRA;FIELDS\r\n")
    stage_source(db, "nelayan", month, "2022-10")
    assert db.execute("SELECT source_row, nama FROM staging.nelayan ORDER BY 1").fetchall() == [(1, 'NI MADE O"SARI'), (2, "I WAYAN")]
    assert db.execute("SELECT source_row, reason_code, message FROM audit.rejected_rows").fetchall() == [
        (3, "BARIS_RUSAK", "line 4 of the file: line has 8 fields, the header 6")]


def test_a_binary_file_is_quarantined_not_an_uncaught_error(tmp_path, db):
    month = tmp_path / "2022-10"
    month.mkdir(parents=True)
    (month / "samsat_kendaraan.csv").write_bytes(bytes(range(256)) * 40)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.txt", "not a table")
    (month / "angkutan.csv").write_bytes(buffer.getvalue())
    outcome = stage_source(db, "samsat_kendaraan", month, "2022-10")
    stage_source(db, "angkutan", month, "2022-10")
    status, reason, *_ = files_of(db, "2022-10")["samsat_kendaraan.csv"]
    assert status == "KARANTINA" and "binary" in reason
    assert files_of(db, "2022-10")["angkutan.csv"][:2] == ("KARANTINA", "file is a zip archive (an .xlsx workbook?), not CSV text")
    assert outcome.quarantined[0]["source_file"] == "samsat_kendaraan.csv"
    assert "no earlier delivery" in outcome.note  # a first month: the registry has no Samsat rows


# ---------------------------------------------------------------- encodings and bytes

@pytest.mark.parametrize("sep", ["\t", ";"])
def test_utf16_unicode_text_is_read(tmp_path, db, sep):
    month = tmp_path / "2022-10"
    write_csv(month / "dtks.csv", SOURCES["dtks"].columns, [dtks_row(), dtks_row(ID_ART="A2", NAMA="NI KADEK DÉWI")],
              sep=sep, encoding="utf-16", bom=False)  # Python's utf-16 codec writes the BOM itself
    stage_source(db, "dtks", month, "2022-10")
    assert files_of(db, "2022-10")["dtks.csv"][:1] == ("OK",)
    assert db.execute("SELECT nama FROM staging.dtks ORDER BY source_row").fetchall() == [("NI MADE SARI",), ("NI KADEK DÉWI",)]
    assert db.execute("SELECT encoding FROM audit.source_files").fetchall() == [("utf-16",)]


def test_utf16_with_an_unexpected_separator_names_encoding_and_separator(tmp_path, db):
    month = tmp_path / "2022-10"
    write_csv(month / "dtks.csv", SOURCES["dtks"].columns, [dtks_row()], sep=",", encoding="utf-16")
    with pytest.raises(StagingFailed):
        stage_source(db, "dtks", month, "2022-10")  # first month, DTKS quarantined: nothing to fall back on
    status, reason, *_ = files_of(db, "2022-10")["dtks.csv"]
    assert status == "KARANTINA" and reason == "wrong separator: the header is split by ',', expected ';' or TAB (read as utf-16)"


def test_a_nul_byte_never_truncates_a_name(tmp_path, db):
    month = tmp_path / "2022-10"
    path = write_csv(month / "dukcapil_kematian.csv", DEATH_COLUMNS, [death_row(1, NIK=death_nik(1), NAMA="NI\x00 MADE SARI DEWI")])
    assert b"\x00" in path.read_bytes()
    stage_source(db, "dukcapil_kematian", month, "2022-10")
    assert db.execute("SELECT nama FROM staging.dukcapil_kematian").fetchall() == [("NI MADE SARI DEWI",)]
    assert db.execute("SELECT source_row, flag_code, message FROM audit.flags").fetchall() == [
        (1, "KARAKTER_NUL", "NAMA: NUL byte(s) removed")]


# ---------------------------------------------------------------- the month folder

def test_every_file_in_the_month_folder_is_accounted_for(tmp_path, db):
    month = tmp_path / "2022-10"
    write_csv(month / "dtks.csv", SOURCES["dtks"].columns, [dtks_row()])
    write_csv(month / "DUKCAPIL_KEMATIAN.CSV", DEATH_COLUMNS, deaths(8))  # upper case: still the death list
    write_xlsx(month / "desa" / f"{VILLAGE}.xlsx", SOURCES["desa"].columns, [desa_row()])
    write_xlsx(month / "desa" / "Copy of 5108022010.xlsx", SOURCES["desa"].columns, [desa_row(KODE_DESA="5108022010")])
    write_xlsx(month / "5108012013.xlsx", SOURCES["desa"].columns, [desa_row(KODE_DESA="5108012013")])  # outside desa/
    (month / "desa" / "5108012001.xls").write_bytes(b"\xd0\xcf\x11\xe0legacy")
    (month / "desa" / f"~${VILLAGE}.xlsx").write_bytes(b"lock")
    (month / "catatan operator.txt").write_text("dikirim tgl 3")
    stage_all(db, month, "2022-10")

    delivered = {p.relative_to(month).as_posix() for p in month.rglob("*") if p.is_file()}
    recorded = files_of(db, "2022-10")
    assert delivered <= set(recorded)
    assert recorded["DUKCAPIL_KEMATIAN.CSV"][:5] == ("OK", "used as dukcapil_kematian.csv", 8, 8, 0)
    assert db.execute("SELECT count(*) FROM staging.dukcapil_kematian").fetchone() == (8,)
    assert recorded["5108012013.xlsx"][:4] == ("OK", "village file outside desa/: used", 1, 1)
    unused = {f: r[1] for f, r in recorded.items() if r[0] == "TIDAK_DIGUNAKAN"}
    assert set(unused) == {"desa/Copy of 5108022010.xlsx", "desa/5108012001.xls", f"desa/~${VILLAGE}.xlsx", "catatan operator.txt"}
    assert "copy of village 5108022010" in unused["desa/Copy of 5108022010.xlsx"]
    assert "legacy Excel 97-2003 .xls" in unused["desa/5108012001.xls"]
    assert "lock file" in unused[f"desa/~${VILLAGE}.xlsx"]
    assert "unknown file name" in unused["catatan operator.txt"]
    # The good village file is staged despite the others.
    assert recorded[f"desa/{VILLAGE}.xlsx"][:1] == ("OK",)


def test_a_foreign_village_code_quarantines_that_file_only(tmp_path, db):
    month = tmp_path / "2022-10"
    write_csv(month / "desa" / "5171012001.csv", SOURCES["desa"].columns, [desa_row(KODE_DESA="5171012001")], sep=",")
    write_xlsx(month / "desa" / f"{VILLAGE}.xlsx", SOURCES["desa"].columns, [desa_row()])
    outcome = stage_source(db, "desa", month, "2022-10")
    recorded = files_of(db, "2022-10")
    assert recorded["desa/5171012001.csv"] == ("KARANTINA", "file name '5171012001' is not a Buleleng village code "
                                               "(a file of another regency's village?)", 1, 0, 0, 1)
    assert recorded[f"desa/{VILLAGE}.xlsx"][:4] == ("OK", "", 1, 1)
    assert "events wait" in outcome.note and conservation_violations(db, "desa", "2022-10").empty


def test_a_cover_sheet_is_skipped_and_a_workbook_without_data_names_its_sheets(tmp_path, db):
    month = tmp_path / "2022-10"
    good = month / "desa" / f"{VILLAGE}.xlsx"
    write_xlsx(good, SOURCES["desa"].columns, [desa_row(), desa_row(NAMA="=HYPERLINK(\"x\")")], title_rows=1,
               formulas={(1, "NAMA"): '=HYPERLINK("http://x","I WAYAN")'})
    book = openpyxl.load_workbook(good)
    cover = book.create_sheet("Sampul", 0)
    cover.append(["USULAN DESA TINGA-TINGA"])
    cover.append(["Perbekel: ...."])
    book.save(good)
    bad = month / "desa" / "5108012013.xlsx"
    only_cover = openpyxl.Workbook()
    only_cover.active.title = "Sampul"
    only_cover.active.append(["BERITA ACARA"])
    only_cover.save(bad)
    stage_source(db, "desa", month, "2022-10")
    recorded = files_of(db, "2022-10")
    assert recorded[f"desa/{VILLAGE}.xlsx"][:5] == ("OK", "", 2, 1, 1)
    assert db.execute("SELECT reason_code, message FROM audit.rejected_rows").fetchall() == [("SEL_FORMULA", "NAMA: a spreadsheet cell holds a formula (never executed)")]
    assert '=HYPERLINK(' in db.execute("SELECT raw_record->>'NAMA' FROM audit.rejected_rows").fetchone()[0]
    status, reason, *_ = recorded["desa/5108012013.xlsx"]
    assert status == "KARANTINA" and "no sheet has the header row; sheets found: 'Sampul' (1 non-empty rows)" in reason


# ---------------------------------------------------------------- dirty or broken: size and history

def test_17_bad_rows_of_305_is_a_dirty_file_not_a_broken_one(tmp_path, db):
    month = tmp_path / "2022-10"
    write_csv(month / "dukcapil_kematian.csv", DEATH_COLUMNS, deaths(305, bad=17))
    stage_source(db, "dukcapil_kematian", month, "2022-10")
    assert files_of(db, "2022-10")["dukcapil_kematian.csv"] == ("OK", "", 305, 288, 17, 0)


def test_a_column_of_ref_errors_quarantines_the_snapshot_and_the_last_accepted_one_is_used(tmp_path, db):
    rows = [dtks_row(ID_ART=f"A{i}", NIK=f"5108014504{80:02d}{i:04d}") for i in range(1, 101)]
    write_csv(tmp_path / "2022-10" / "dtks.csv", SOURCES["dtks"].columns, rows)
    write_csv(tmp_path / "2022-11" / "dtks.csv", SOURCES["dtks"].columns, [{**r, "DESIL": "#REF!"} for r in rows])
    stage_source(db, "dtks", tmp_path / "2022-10", "2022-10")
    outcome = stage_source(db, "dtks", tmp_path / "2022-11", "2022-11")

    status, reason, read, staged, rejected, quarantined = files_of(db, "2022-11")["dtks.csv"]
    assert (status, read, staged, rejected, quarantined) == ("KARANTINA", 100, 0, 0, 100)
    assert reason.startswith("broken delivery: 100 of 100 rows rejected (100.0%)") and "mostly DESIL: KODE_TIDAK_VALID (100 rows)" in reason
    assert outcome.fallback_period == "2022-10" and "the registry uses the snapshot of 2022-10" in outcome.note
    assert db.execute("SELECT count(*) FROM staging.dtks WHERE period = '2022-11'").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM audit.rejected_rows WHERE period = '2022-11'").fetchone() == (0,)
    assert conservation_violations(db, "dtks", "2022-11").empty


def test_a_broken_first_dtks_says_the_registry_cannot_be_built(tmp_path, db):
    rows = [dtks_row(ID_ART=f"A{i}", DESIL="#REF!") for i in range(1, 60)]
    write_csv(tmp_path / "2022-10" / "dtks.csv", SOURCES["dtks"].columns, rows)
    with pytest.raises(StagingFailed) as failed:
        stage_source(db, "dtks", tmp_path / "2022-10", "2022-10")
    assert "dtks.csv quarantined for 2022-10, and no earlier accepted delivery to fall back on" in str(failed.value)
    assert "dtks accept --month 2022-10 --file dtks.csv" in str(failed.value)
    assert files_of(db, "2022-10")["dtks.csv"][0] == "KARANTINA"  # the audit row is written all the same


def test_header_spelled_with_spaces_or_lower_case_and_a_header_only_event_file(tmp_path, db):
    month = tmp_path / "2022-10"
    path = write_csv(month / "dukcapil_kematian.csv", DEATH_COLUMNS, deaths(3))
    header, rest = path.read_text().split("\n", 1)
    path.write_text(";".join(f" {c.replace('_', ' ').lower()}" for c in header.split(";")) + "\n" + rest)
    write_csv(month / "dukcapil_pindah.csv", SOURCES["dukcapil_pindah"].columns, [])  # no moves this month
    stage_all(db, month, "2022-10", ["dukcapil_kematian", "dukcapil_pindah"])
    recorded = files_of(db, "2022-10")
    assert recorded["dukcapil_kematian.csv"][:4] == ("OK", "", 3, 3)
    assert recorded["dukcapil_pindah.csv"][:4] == ("OK", "", 0, 0)
