"""Small handmade delivery files: every test writes real files into tmp_path."""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from dtks_pipeline.defs.sources.specs import SOURCES

GOOD_NIK = "5108014504800001"  # woman, born 05-04-1980, Gerokgak
GOOD_NIK_MAN = "5108010504800002"  # man, born 05-04-1980
GOOD_NOKK = "5108010101150001"
VILLAGE = "5108012012"  # Tinga-tinga, Gerokgak

DTKS_DEFAULT = {
    "ID_DTKS": "D1", "ID_ART": "A1", "NOKK": GOOD_NOKK, "NIK": GOOD_NIK, "NAMA": "NI MADE SARI", "JNS_KEL": "2",
    "TMPT_LHR": "SINGARAJA", "TGL_LHR": "05-04-1980", "HUB_KEL": "1", "NAMA_IBU": "", "PROVINSI": "BALI",
    "KABUPATEN": "BULELENG", "KECAMATAN": "GEROKGAK", "DESA": "TINGA TINGA", "BANJAR": "KAJA", "ALAMAT": "JL. RAYA",
    "PEKERJAAN": "PETANI", "DESIL": "2", "STA_KEBERADAAN": "1",
}
DESA_DEFAULT = {
    "KODE_DESA": VILLAGE, "NIK": GOOD_NIK_MAN, "NOKK": GOOD_NOKK, "NAMA": "I WAYAN BUDI", "JNS_KEL": "L",
    "TGL_LHR": "05-04-1980", "HUB_KEL": "3", "ALAMAT": "BANJAR KAJA", "USULAN": "TAMBAH", "ALASAN": "ANGGOTA_BARU",
    "DESIL_USULAN": "2", "TGL_MUSDES": "20-10-2022", "NO_BA": "BA/01/X/2022",
}


def write_csv(path: Path, columns, rows, sep=";", encoding="utf-8", bom=False) -> Path:
    """Rows are dicts (missing keys empty) or None for a blank line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [sep.join(columns)]
    for row in rows:
        lines.append("" if row is None else sep.join(str(row.get(c, "")) for c in columns))
    data = ("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n"
    path.write_bytes(data.encode(encoding))
    return path


def dtks_row(**changes) -> dict:
    return {**DTKS_DEFAULT, **changes}


def desa_row(**changes) -> dict:
    return {**DESA_DEFAULT, **changes}


def write_xlsx(path: Path, columns, rows, title_rows=0, formulas=None) -> Path:
    """formulas: {(row_index, column): '=FORMULA()'} written as real formula cells."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    sheet = book.active
    for i in range(title_rows):
        sheet.append([f"BERITA ACARA MUSYAWARAH DESA (judul {i + 1})"])
        sheet.merge_cells(start_row=i + 1, start_column=1, end_row=i + 1, end_column=len(columns))
    sheet.append(list(columns))
    for i, row in enumerate(rows):
        if row is None:
            sheet.append([])
            continue
        values = []
        for c in columns:
            values.append(row.get(c, ""))
        sheet.append(values)
        for (ri, col), formula in (formulas or {}).items():
            if ri == i:
                sheet.cell(row=sheet.max_row, column=list(columns).index(col) + 1, value=formula)
    book.save(path)
    return path


@pytest.fixture
def columns():
    return {name: spec.columns for name, spec in SOURCES.items()}
