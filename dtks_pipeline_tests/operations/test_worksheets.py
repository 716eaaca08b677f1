"""Per-village worksheets: content, masking, and formula neutralisation (opened with openpyxl)."""
import re
import zipfile
from argparse import Namespace

import duckdb
from openpyxl import load_workbook

from dtks_pipeline.defs.operations.publish import publish
from dtks_pipeline.defs.operations.worksheets import SHEETS, main, safe_cell_value, write_worksheets

from .conftest import HOSTILE_NAME, VILLAGE_A, VILLAGE_B, nik


def rows(ws):
    values = list(ws.iter_rows(values_only=True))
    header = values[0]
    return [dict(zip(header, r)) for r in values[1:]]


def test_one_workbook_per_village_with_three_sheets(sample_paths, tmp_path):
    working, _ = sample_paths
    con = duckdb.connect(str(working), read_only=True)
    files = write_worksheets(con, "2022-11", tmp_path / "ws", every_village=False)
    every = write_worksheets(con, "2022-11", tmp_path / "all")
    con.close()

    assert [f.name for f in files] == [f"{VILLAGE_A}_SUMBERKLAMPOK.xlsx", f"{VILLAGE_B}_BANYUASRI.xlsx"]
    assert len(every) == 148  # every desa and kelurahan of Buleleng gets its workbook
    empty = load_workbook(next(f for f in every if f.name.startswith("5108012002")))
    assert all(ws.max_row == 1 for ws in empty)  # header only: nothing to verify
    wb = load_workbook(files[0])
    assert wb.sheetnames == list(SHEETS)
    masuk = rows(wb["MASUK"])
    assert [(r["FAMILY_ID"], r["ALASAN"], r["NAMA_PENERIMA"]) for r in masuk] == [("K00000002", "BARU", HOSTILE_NAME)]
    assert masuk[0]["NIK_PENERIMA"] == nik(3)[:6] + "********" + nik(3)[-2:]
    assert "VERIFIKASI" in wb["MASUK"][1][len(SHEETS["MASUK"])].value
    assert rows(wb["KELUAR"]) == [] and rows(wb["DAFTAR_TUNGGU"]) == []

    wb_b = load_workbook(files[1])
    keluar = rows(wb_b["KELUAR"])
    assert [(r["FAMILY_ID"], r["ALASAN"]) for r in keluar] == [("K00000003", "TIDAK_AKTIF")]
    assert keluar[0]["NAMA_PENERIMA_LALU"] == "I MADE CONTOH 5"  # who was paid last month
    assert keluar[0]["KETERANGAN"] == "MENINGGAL I MADE CONTOH 5 (2022-11-03)"
    tunggu = rows(wb_b["DAFTAR_TUNGGU"])
    assert [(r["URUTAN"], r["FAMILY_ID"], r["NAMA_KEPALA"], r["DESIL"]) for r in tunggu] == [(1, "K00000003", "I MADE CONTOH 5", 3)]
    for f in files:  # no full NIK or NOKK in any cell
        for ws in load_workbook(f):
            for row in ws.iter_rows(values_only=True):
                assert not any(isinstance(v, str) and re.fullmatch(r"\d{16}", v) for v in row)


def test_hostile_name_is_stored_as_text_not_formula(sample_paths, tmp_path):
    working, _ = sample_paths
    con = duckdb.connect(str(working), read_only=True)
    path = write_worksheets(con, "2022-11", tmp_path / "ws", every_village=False)[0]
    con.close()

    cell = load_workbook(path)["MASUK"]["E2"]
    assert cell.value == HOSTILE_NAME
    assert cell.data_type == "s"  # a string, not "f"
    assert cell.quotePrefix  # Excel keeps it text even when edited
    with zipfile.ZipFile(path) as z:
        sheet_xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml


def test_safe_cell_value_flags_every_trigger():
    for text in ("=1+1", "+62812", "-2+3", "@SUM(A1)", "\t=1"):
        assert safe_cell_value(text) == (text, True)
    assert safe_cell_value("I MADE") == ("I MADE", False)
    assert safe_cell_value(float("nan")) == (None, False)


def test_main_reads_the_published_file(sample_paths, tmp_path, capsys, monkeypatch):
    from dtks_pipeline.defs.operations import worksheets

    working, published = sample_paths
    publish(working, published)
    # Three villages instead of 148 keep the test fast; the 148 are checked above.
    monkeypatch.setattr(worksheets, "village_names", lambda con: {VILLAGE_A: "Sumberklampok", VILLAGE_B: "Banyuasri", "5108012002": "X"})
    args = Namespace(warehouse=str(published), month="2022-11", out=str(tmp_path / "out"))
    assert main(args) == 0
    assert "3 village worksheets" in capsys.readouterr().out
    assert len(list((tmp_path / "out" / "2022-11").glob("*.xlsx"))) == 3
