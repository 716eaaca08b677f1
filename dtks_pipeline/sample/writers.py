"""Writing a Table as CSV or XLSX, with blank and title rows, byte-deterministically.

Each writer returns the row map of the file: element k (0-based) is the table row
written as data row k+1, or -1 for a blank row (numbered, but no record).
"""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from dtks_pipeline.sample.damage import MISSING, Table
from dtks_pipeline.sample.population import EPOCH

FIXED_TIME = dt.datetime(2022, 12, 31, 8, 0, 0)


def _row_map(n: int, blanks) -> np.ndarray:
    idx = np.arange(n)
    if blanks is None or len(blanks) == 0:
        return idx
    return np.insert(idx, np.sort(np.asarray(blanks)), -1)


def write_csv(t: Table, path: Path, sep: str = ";", encoding: str = "utf-8", lineterm: str = "\n",
              blanks=None, empty_blank_lines: bool = False) -> np.ndarray:
    rm = _row_map(len(t), blanks)
    safe = np.maximum(rm, 0)
    cols = {}
    for c in t.cols:
        v = np.asarray(t.data[c], dtype=object)[safe] if len(t) else np.array([], dtype=object)
        v = v.copy()
        v[rm < 0] = ""
        cols[c] = v
    df = pd.DataFrame(cols, columns=t.cols)
    text = df.to_csv(sep=sep, index=False, lineterminator=lineterm)
    if empty_blank_lines and (rm < 0).any():
        lines = text.split(lineterm)
        for k in np.flatnonzero(rm < 0):
            lines[k + 1] = ""
        text = lineterm.join(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return rm


def _deterministic_zip(raw: bytes) -> bytes:
    zin = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps 'modified' with the clock on save
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>2022-12-31T08:00:00Z\g<2>", data)
            zout.writestr(zi, data)
    return out.getvalue()


NUMERIC_COLS = {"HUB_KEL", "DESIL_USULAN"}


def write_xlsx(t: Table, path: Path, titles=(), blanks=None, sheet: str = "Usulan") -> np.ndarray:
    rm = _row_map(len(t), blanks)
    wb = Workbook()
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.creator = "Operator Desa"
    ws = wb.active
    ws.title = sheet
    ncol = len(t.cols)
    r = 1
    for title in titles:
        ws.cell(row=r, column=1, value=title).font = Font(bold=True)
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncol)
        r += 1
    for j, c in enumerate(t.cols, 1):
        ws.cell(row=r, column=j, value=c).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(j)].width = 18
    for k, i in enumerate(rm):
        rr = r + 1 + k
        if i < 0:
            continue
        for j, c in enumerate(t.cols, 1):
            v = t.data[c][i]
            if c in t.dates and t.excel_dates and not t.text_date[c][i] and t.dates[c][i] != MISSING:
                d = (EPOCH + np.timedelta64(int(t.dates[c][i]), "D")).astype(dt.date)
                cell = ws.cell(row=rr, column=j, value=dt.datetime(d.year, d.month, d.day))
                cell.number_format = "DD/MM/YYYY"
                continue
            if v == "" or v is None:
                continue
            if c in NUMERIC_COLS and v.isdigit():
                ws.cell(row=rr, column=j, value=int(v))
                continue
            ws.cell(row=rr, column=j, value=v)  # a value starting with "=" is stored as a formula
    buf = io.BytesIO()
    wb.save(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_deterministic_zip(buf.getvalue()))
    return rm
