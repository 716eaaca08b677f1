"""The comparison as an .xlsx workbook: an "Info" sheet, then one sheet per view.

Formula-safe: every cell goes through the worksheets' neutralisation helper, so a
text such as `=HYPERLINK(...)` (a programme name typed in a scenario file, say)
is stored as literal text and never evaluated. Headings are Indonesian
(compare.HEADINGS); rupiah columns carry a thousands format.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from dtks_pipeline.defs.operations.worksheets import safe_cell_value
from dtks_pipeline.defs.planning.compare import HEADINGS, MONEY_COLUMNS

SHEET_NAMES = {
    "programs": "Program", "budget": "Anggaran", "kecamatan": "Kecamatan", "desa": "Desa",
    "coverage_desil": "Cakupan_Desil", "coverage_kecamatan": "Cakupan_Kecamatan",
    "changes_summary": "Masuk_Keluar_Ringkas", "changes": "Masuk_Keluar_Keluarga",
}
MONEY_FORMAT = '"Rp"#,##0'
COUNT_FORMAT = "#,##0"


def _put(ws, row: int, col: int, raw) -> None:
    value, literal = safe_cell_value(raw)
    if value is None:
        return
    cell = ws.cell(row=row, column=col)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # a string cell, never a formula
        if literal:
            cell.quotePrefix = True


def write_sheet(ws, frame: pd.DataFrame) -> None:
    columns = list(frame.columns)
    for i, name in enumerate(columns, start=1):
        _put(ws, 1, i, HEADINGS.get(name, name))
        ws.cell(row=1, column=i).font = Font(bold=True)
    for r, record in enumerate(frame.itertuples(index=False), start=2):
        for c, raw in enumerate(record, start=1):
            _put(ws, r, c, raw)
    for i, name in enumerate(columns, start=1):
        letter = get_column_letter(i)
        if pd.api.types.is_numeric_dtype(frame[name]):
            fmt = MONEY_FORMAT if name in MONEY_COLUMNS else COUNT_FORMAT
            for cell in ws[letter][1:]:
                cell.number_format = fmt
        width = max([len(HEADINGS.get(name, name))] + [len(str(v)) for v in frame[name].head(200)])
        ws.column_dimensions[letter].width = min(max(width + 2, 9), 45)
    ws.freeze_panes = "A2"


def write_workbook(path: Path, views: dict[str, pd.DataFrame], info: list[tuple[str, object]]) -> Path:
    """Write `path` (an Info sheet of (label, value) pairs, then one sheet per view)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Info"
    for r, (key, value) in enumerate(info, start=1):
        _put(ws, r, 1, key)
        ws.cell(row=r, column=1).font = Font(bold=True)
        _put(ws, r, 2, value)
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 34, 90
    for name, frame in views.items():
        write_sheet(wb.create_sheet(SHEET_NAMES.get(name, name)[:31]), frame)
    wb.properties.title = "Simulasi anggaran DTKS"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
