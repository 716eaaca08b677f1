"""Read one delivered file into strings, exactly as delivered, with row identity.

The reader never interprets values: it finds the header row (title rows above it
are skipped and not counted), numbers the data rows from 1, marks blank rows
(they keep their number but are no record) and, for .xlsx, cells that hold a
formula (their text is kept, never evaluated). A file that cannot be read as a
whole raises DeliveryError naming the file and the reason.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd

HEADER_SEARCH_ROWS = 10  # a header lower than this is not a header
OTHER_SEPARATORS = (",", ";", "\t", "|")


class DeliveryError(Exception):
    """A file that fails as a whole (missing, empty, wrong separator, missing column)."""

    def __init__(self, source_file: str, message: str):
        super().__init__(f"{source_file}: {message}")
        self.source_file = source_file
        self.message = message


@dataclass
class RawDelivery:
    source_file: str  # path relative to the period folder
    frame: pd.DataFrame  # every cell a string ('' for empty); index = source_row; blank rows removed
    formula_column: pd.Series  # per row: first column holding a formula, '' if none
    blank_rows: int  # rows that were blank (numbered, but no record)
    encoding: str
    sha256: str


def _decode(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _norm_header(cell: object) -> str:
    return str(cell if cell is not None else "").strip().upper().lstrip("\ufeff")


def _find_header(rows: list[list[str]], columns: tuple[str, ...]) -> int | None:
    """Index of the first row holding at least half of the expected columns."""
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = {_norm_header(c) for c in row}
        if sum(c in names for c in columns) * 2 >= len(columns):
            return i
    return None


def _missing_columns_error(source_file: str, header: list[str], columns: tuple[str, ...], text: str | None, sep: str | None) -> DeliveryError:
    missing = [c for c in columns if c not in header]
    if text is not None:
        first_line = text.splitlines()[0] if text else ""
        for other in OTHER_SEPARATORS:
            if other != sep and sum(c in first_line.upper() for c in columns) == len(columns) and other in first_line:
                return DeliveryError(source_file, f"wrong separator: header is split by {other!r}, expected {sep!r}; required column(s) {', '.join(missing)} not found")
    return DeliveryError(source_file, f"missing required column(s): {', '.join(missing)}")


def _frame(source_file: str, rows: list[list[str]], columns: tuple[str, ...], formulas: list[list[bool]] | None,
           encoding: str, sha: str, text: str | None = None, sep: str | None = None) -> RawDelivery:
    header_at = _find_header(rows, columns)
    if header_at is None:
        header = [_norm_header(c) for c in rows[0]] if rows else []
        raise _missing_columns_error(source_file, header, columns, text, sep)
    header = [_norm_header(c) for c in rows[header_at]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise _missing_columns_error(source_file, header, columns, text, sep)
    # Unnamed or repeated extra columns get distinct names so raw_record keeps them.
    names, seen = [], set()
    for i, name in enumerate(header):
        name = name or f"KOLOM_{i + 1}"
        while name in seen:
            name = f"{name}_{i + 1}"
        seen.add(name)
        names.append(name)
    body = rows[header_at + 1:]
    width = len(names)
    cells = [(r + [""] * width)[:width] if len(r) <= width else r[:width - 1] + [" ".join(r[width - 1:])] for r in body]
    frame = pd.DataFrame(cells, columns=names, dtype=object).fillna("")
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="source_row")
    formula_column = pd.Series("", index=frame.index, dtype=object)
    if formulas is not None:
        for i, flags in enumerate(formulas[header_at + 1:]):
            for j, is_formula in enumerate(flags[:width]):
                if is_formula:
                    formula_column.iat[i] = names[j]
                    break
    blank = pd.concat([frame[c].astype("string[pyarrow]").str.strip() == "" for c in frame.columns], axis=1).all(axis=1)
    return RawDelivery(source_file, frame[~blank], formula_column[~blank], int(blank.sum()), encoding, sha)


def read_csv(path: Path, source_file: str, columns: tuple[str, ...], separators: tuple[str, ...]) -> RawDelivery:
    import hashlib

    data = path.read_bytes()
    if not data.strip():
        raise DeliveryError(source_file, "file is empty")
    text, encoding = _decode(data)
    first_line = text.lstrip("\ufeff").splitlines()[0]
    # The allowed separator that splits the header into the most fields.
    sep = max(separators, key=lambda s: first_line.count(s))
    try:
        # The C parser is fast; blank lines are kept so row numbers stay true.
        table = pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=str, keep_default_na=False,
                            skip_blank_lines=False, engine="c", quotechar='"')
        rows = table.fillna("").to_numpy().tolist()
    except pd.errors.ParserError:
        # Ragged rows (more fields than the header): the csv module takes them as they are.
        rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    return _frame(source_file, rows, columns, None, encoding, hashlib.sha256(data).hexdigest(), text=text, sep=sep)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number cell holding a NIK: no '.0', no exponent
    return str(value)


def read_xlsx(path: Path, source_file: str, columns: tuple[str, ...]) -> RawDelivery:
    import hashlib

    data = path.read_bytes()
    if not data:
        raise DeliveryError(source_file, "file is empty")
    try:
        # data_only=False: a formula is read as its text and never evaluated.
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # zip or XML damage: the file as a whole is unreadable
        raise DeliveryError(source_file, f"not a readable .xlsx workbook ({type(exc).__name__})") from exc
    sheet = workbook.worksheets[0]
    rows, formulas = [], []
    for row in sheet.iter_rows():
        rows.append([_cell_text(getattr(c, "value", None)) for c in row])
        formulas.append([getattr(c, "data_type", None) == "f" for c in row])
    workbook.close()
    if not rows:
        raise DeliveryError(source_file, "file is empty")
    return _frame(source_file, rows, columns, formulas, "xlsx", hashlib.sha256(data).hexdigest())


def read_delivery(path: Path, source_file: str, columns: tuple[str, ...], separators: tuple[str, ...]) -> RawDelivery:
    if not path.exists():
        raise DeliveryError(source_file, "file not delivered")
    if path.suffix.lower() == ".xlsx":
        return read_xlsx(path, source_file, columns)
    return read_csv(path, source_file, columns, separators)
