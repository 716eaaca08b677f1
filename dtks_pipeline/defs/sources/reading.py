"""Read one delivered file into strings, exactly as delivered, with row identity.

The reader never interprets values: it finds the header row (title rows above it
are skipped and not counted), numbers the data rows from 1, marks blank rows
(they keep their number but are no record) and, for .xlsx, cells that hold a
formula (their text is kept, never evaluated).

A CSV row is one PHYSICAL line: a quote never joins lines, so a stray `"` cannot
swallow the rows after it. A line whose quotes do not balance, or that has more
non-empty fields than the header, is kept as a broken row (rejected downstream,
naming the line). NUL bytes are removed from cells and the row remembers where.

A file that cannot be read as a whole raises DeliveryError naming the file and the
reason (unreadable, binary, wrong separator, missing column, no sheet with the
header); the caller quarantines it.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

HEADER_SEARCH_ROWS = 10  # a header lower than this is not a header
OTHER_SEPARATORS = (",", ";", "\t", "|")
UTF16_SEPARATORS = ("\t",)  # Excel's "Unicode Text" is UTF-16 with TAB
SEPARATOR_NAMES = {",": "','", ";": "';'", "\t": "TAB", "|": "'|'"}

# File signatures of things that are not text.
MAGIC = (
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook?), not CSV text"),
    (b"\xd0\xcf\x11\xe0", "a legacy Excel 97-2003 (.xls) workbook, not CSV text"),
    (b"%PDF", "a PDF document, not CSV text"),
    (b"\x1f\x8b", "a gzip archive, not CSV text"),
    (b"Rar!", "a RAR archive, not CSV text"),
)


class DeliveryError(Exception):
    """A file that fails as a whole (unreadable, empty, wrong separator, missing column)."""

    def __init__(self, source_file: str, message: str, rows: int = 0):
        super().__init__(f"{source_file}: {message}")
        self.source_file = source_file
        self.message = message
        self.rows = rows  # data lines the file seems to hold (counted as quarantined)


@dataclass
class RawDelivery:
    source_file: str  # path relative to the period folder
    frame: pd.DataFrame  # every cell a string ('' for empty); index = source_row; blank rows removed
    formula_column: pd.Series  # per row: the columns holding a formula, comma-separated, '' if none
    blank_rows: int  # rows that were blank (numbered, but no record)
    encoding: str
    sha256: str
    broken_rows: pd.Series | None = None  # per row: why the line could not be split ('' if fine)
    nul_columns: pd.Series | None = None  # per row: columns from which NUL bytes were removed ('' if none)
    sheet: str = ""  # the .xlsx sheet read
    header_line: int = 1  # line (CSV) or sheet row (.xlsx) of the header, 1-based: data row r is line header_line + r

    def __post_init__(self):
        if self.broken_rows is None:
            self.broken_rows = pd.Series("", index=self.frame.index, dtype=object)
        if self.nul_columns is None:
            self.nul_columns = pd.Series("", index=self.frame.index, dtype=object)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- decoding

def _decode(source_file: str, data: bytes) -> tuple[str, str]:
    """Text and encoding name. UTF-16/32 by BOM (or by NUL pattern), then UTF-8, then Windows-1252."""
    boms = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
            (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"\xef\xbb\xbf", "utf-8-sig"))
    for bom, name in boms:
        if data.startswith(bom):
            try:
                return data.decode(name), name.replace("-sig", "")
            except UnicodeDecodeError as exc:
                raise DeliveryError(source_file, f"starts with a {name} byte-order mark but is not valid {name} text ({exc.reason} at byte {exc.start})") from exc
    head = data[:4000]
    if len(head) >= 4 and head.count(0) * 3 >= len(head):  # UTF-16 without BOM: every other byte NUL
        name = "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _refuse_binary(source_file: str, data: bytes, text: str) -> None:
    for magic, what in MAGIC:
        if data.startswith(magic):
            raise DeliveryError(source_file, f"file is {what}")
    sample = text[:4000]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    if sample and control * 20 > len(sample):
        raise DeliveryError(source_file, f"file is binary, not CSV text ({control} control bytes in its first {len(sample)} characters)")


def physical_lines(text: str) -> list[str]:
    """The file's lines as a text editor shows them (CRLF, LF or CR alone)."""
    text = text.lstrip("\ufeff")
    lines = re.split(r"\r\n|\n|\r", text)
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line starts no line
    return lines


# ---------------------------------------------------------------- header and frame

def _norm_header(cell: object) -> str:
    """'TGL_LHR', ' tgl lhr ', 'Tgl-Lhr' and 'NO. AKTA' -> 'TGL_LHR', 'NO_AKTA'."""
    text = str(cell if cell is not None else "").replace("\x00", "").lstrip("\ufeff").strip().upper()
    return re.sub(r"[\s.\-]+", "_", text).strip("_")


def _header_score(row: list[str], columns: tuple[str, ...]) -> int:
    names = {_norm_header(c) for c in row}
    return sum(c in names for c in columns)


def _find_header(rows: list[list[str]], columns: tuple[str, ...]) -> int | None:
    """Index of the first row holding at least half of the expected columns."""
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if _header_score(row, columns) * 2 >= len(columns):
            return i
    return None


def _unique_names(header: list[str]) -> list[str]:
    """Unnamed or repeated extra columns get distinct names so raw_record keeps them."""
    names, seen = [], set()
    for i, name in enumerate(header):
        name = name or f"KOLOM_{i + 1}"
        while name in seen:
            name = f"{name}_{i + 1}"
        seen.add(name)
        names.append(name)
    return names


def _frame(source_file: str, rows: list[list[str]], header_at: int, columns: tuple[str, ...],
           formulas: dict[tuple[int, int], str] | None, broken: list[str] | None, encoding: str, sha: str,
           sheet: str = "", has_nul: bool = False) -> RawDelivery:
    """The delivery's frame from its rows (lists of cell texts) and the header's position.

    formulas: (row, column) of formula cells; broken: per row, why its line could not be
    split; has_nul: the text holds NUL bytes somewhere (else no cell is searched for one)."""
    header = [_norm_header(c) for c in rows[header_at]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise DeliveryError(source_file, f"missing required column(s): {', '.join(missing)}", rows=len(rows) - header_at - 1)
    names = _unique_names(header)
    width = len(names)
    body = rows[header_at + 1:]
    broken = list(broken[header_at + 1:]) if broken is not None else [""] * len(body)
    formula_of = [""] * len(body)
    for r, c in sorted(formulas or {}):
        i = r - header_at - 1
        if 0 <= i < len(body) and c < width:
            formula_of[i] = f"{formula_of[i]},{names[c]}" if formula_of[i] else names[c]
    numbers, kept, kept_broken, kept_formula, nul = [], [], [], [], []
    blank_rows = 0
    for i, r in enumerate(body):
        if len(r) > width:
            if not broken[i] and any(str(c).strip() for c in r[width:]):
                broken[i] = f"line has {len(r)} fields, the header {width}"
            r = r[:width]
        elif len(r) < width:
            r = list(r) + [""] * (width - len(r))
        if not broken[i] and not any(c.strip() for c in r):
            blank_rows += 1  # numbered, but no record
            continue
        if has_nul:
            # NUL bytes end strings in C code and truncate names: removed, and remembered per row.
            cols = [names[j] for j, c in enumerate(r) if "\x00" in c]
            if cols:
                r = [c.replace("\x00", "") for c in r]
            nul.append(",".join(cols))
        numbers.append(i + 1)
        kept.append(r)
        kept_broken.append(broken[i])
        kept_formula.append(formula_of[i])
    index = pd.Index(numbers, name="source_row", dtype="int64")
    columns_of = list(zip(*kept)) if kept else [()] * width
    frame = pd.DataFrame({name: pd.Series(col, index=index, dtype=object) for name, col in zip(names, columns_of)}, index=index)
    return RawDelivery(source_file, frame, pd.Series(kept_formula, index=index, dtype=object), blank_rows, encoding, sha,
                       pd.Series(kept_broken, index=index, dtype=object),
                       pd.Series(nul if has_nul else [""] * len(kept), index=index, dtype=object), sheet, header_at + 1)


# ---------------------------------------------------------------- CSV

def _pick_separator(lines: list[str], columns: tuple[str, ...]) -> tuple[str, int, int]:
    """(separator, header line index, columns found) maximising the expected columns in one header line."""
    best = ("", -1, 0)
    for sep in OTHER_SEPARATORS:
        for i, line in enumerate(lines[:HEADER_SEARCH_ROWS]):
            found = _header_score(line.split(sep), columns)
            if found > best[2]:
                best = (sep, i, found)
    return best


UNCLOSED_QUOTE = "unbalanced double quote: a quoted field opens on this line and never closes"


def _opens_unclosed_quote(line: str, sep: str) -> bool:
    """True when a field of the line starts with a quote that the line never closes
    (a quote inside an unquoted field, as in O"NEIL, is only a character)."""
    try:
        list(csv.reader([line], delimiter=sep, strict=True))
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def split_lines(lines: list[str], sep: str) -> tuple[list[list[str]], list[str]]:
    """Cells of every physical line, and per line why it is broken ('' if not).

    A line whose double quotes do not balance opened a quoted field it never closed:
    read with quotes as plain characters (so its cells are kept for the raw record)
    and marked broken, instead of letting the quote run into the next lines."""
    broken = [UNCLOSED_QUOTE if line.count('"') % 2 and _opens_unclosed_quote(line, sep) else "" for line in lines]
    # Lines whose quotes balance cannot run into the next one: one reader parses them all.
    good = iter(csv.reader([line for line, b in zip(lines, broken) if not b], delimiter=sep, strict=False))
    rows: list[list[str]] = []
    for line, b in zip(lines, broken):
        if b:
            rows.append(next(csv.reader([line], delimiter=sep, quoting=csv.QUOTE_NONE)))
        else:
            rows.append(next(good, []))
    return rows, broken


def _blank_rows(body: pd.DataFrame) -> np.ndarray:
    """Per row: every cell empty or white space. Arrow's kernels column by column (a pandas
    Series per column cost more than the check itself on a small village file)."""
    blank = np.ones(len(body), dtype=bool)
    for column in body.columns:
        cells = pa.array(body[column].to_numpy(object), pa.string(), from_pandas=True)  # a missing field is null
        blank &= pc.fill_null(pc.equal(pc.utf8_trim_whitespace(cells), ""), True).to_numpy(zero_copy_only=False)
    return blank


def _read_balanced(text: str, lines: list[str], sep: str, header_at: int, columns: tuple[str, ...], encoding: str,
                   sha: str, source_file: str) -> RawDelivery | None:
    """Fast path (pandas' C parser) for a file whose every line closes its quotes and has no
    more fields than the first line: then a record is exactly a physical line. None when
    that does not hold or the parser disagrees with the line count (the careful path decides)."""
    if any(line.count('"') % 2 and _opens_unclosed_quote(line, sep) for line in lines if '"' in line):
        return None
    try:
        table = pd.read_csv(io.StringIO(text.lstrip("\ufeff")), sep=sep, header=None, dtype=str, keep_default_na=False,
                            skip_blank_lines=False, engine="c", quotechar='"', na_filter=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        return None
    if len(table) != len(lines):
        return None
    header = [_norm_header(c) for c in table.iloc[header_at]]
    while header and header[-1] == "" and len(header) > len(columns):
        header.pop()  # empty trailing cells of the first line widen the table, not the header
    if table.shape[1] > len(header) and (table.iloc[header_at + 1:, len(header):] != "").to_numpy().any():
        return None  # a data line longer than the header: the careful path names it
    missing = [c for c in columns if c not in header]
    if missing:
        raise DeliveryError(source_file, f"missing required column(s): {', '.join(missing)}", rows=len(lines) - header_at - 1)
    names = _unique_names(header)
    body = table.iloc[header_at + 1:, :len(names)].copy()
    body.columns = names
    body.index = pd.RangeIndex(1, len(body) + 1, name="source_row")
    blank = _blank_rows(body)
    frame = body[~blank].astype(object)
    empty = pd.Series("", index=frame.index, dtype=object)
    return RawDelivery(source_file, frame, empty, int(blank.sum()), encoding, sha, empty.copy(), empty.copy(),
                       header_line=header_at + 1)


def read_csv(path: Path, source_file: str, columns: tuple[str, ...], separators: tuple[str, ...],
             any_separator: bool = False) -> RawDelivery:
    """any_separator: an operator accepted the file, so a separator other than the agreed one is read."""
    data = path.read_bytes()
    if not data.strip():
        raise DeliveryError(source_file, "file is empty")
    text, encoding = _decode(source_file, data)
    _refuse_binary(source_file, data, text)
    lines = physical_lines(text)
    if not any(line.strip() for line in lines):
        raise DeliveryError(source_file, "file is empty")
    allowed = tuple(separators) + (UTF16_SEPARATORS if encoding.startswith("utf-16") else ())
    sep, header_at, found = _pick_separator(lines, columns)
    data_lines = sum(1 for line in lines[max(header_at, 0) + 1:] if line.strip())
    if found * 2 < len(columns):
        # The lines themselves are not shown: without a header they may be personal data.
        raise DeliveryError(source_file, f"no header row with the expected columns in its first {HEADER_SEARCH_ROWS} lines "
                                         f"(read as {encoding}, {found} of {len(columns)} found); expected {', '.join(columns)}",
                            rows=max(len([ln for ln in lines if ln.strip()]) - 1, 0))
    if sep not in allowed and not any_separator:
        raise DeliveryError(source_file, f"wrong separator: the header is split by {SEPARATOR_NAMES[sep]}, expected "
                                         f"{' or '.join(SEPARATOR_NAMES[s] for s in allowed)} (read as {encoding})", rows=data_lines)
    try:
        if "\x00" not in text:
            fast = _read_balanced(text, lines, sep, header_at, columns, encoding, sha256_of(data), source_file)
            if fast is not None:
                return fast
        rows, broken = split_lines(lines, sep)
        return _frame(source_file, rows, header_at, columns, None, broken, encoding, sha256_of(data), has_nul="\x00" in text)
    except DeliveryError as exc:  # say how the file was read: an encoding problem shows here
        raise DeliveryError(source_file, f"{exc.message} (read as {encoding}, separator {SEPARATOR_NAMES[sep]})", rows=exc.rows) from exc


# ---------------------------------------------------------------- XLSX

def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number cell holding a NIK: no '.0', no exponent
    return str(value)


_CELL_WITH_FORMULA = re.compile(rb'<(?:\w+:)?c\b([^>]*?)(?<!/)>\s*<(?:\w+:)?f\b(?:[^>]*?/>|[^>]*>(.*?)</(?:\w+:)?f>)', re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')


def _column_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def _sheet_xml_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> XML path inside the workbook (workbook.xml and its relationships)."""
    book = archive.read("xl/workbook.xml")
    rels = archive.read("xl/_rels/workbook.xml.rels")
    targets = {m.group(1).decode(): m.group(2).decode()
               for m in re.finditer(rb'<Relationship\b[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels)}
    targets.update({m.group(2).decode(): m.group(1).decode()
                    for m in re.finditer(rb'<Relationship\b[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)})
    out = {}
    for m in re.finditer(rb'<(?:\w+:)?sheet\b([^>]*)/?>', book):
        attrs = m.group(1)
        name = re.search(rb'\bname="([^"]*)"', attrs)
        rid = re.search(rb'\br:id="([^"]*)"|\bid="([^"]*)"', attrs)
        if not name or not rid:
            continue
        target = targets.get((rid.group(1) or rid.group(2)).decode(), "")
        target = target.lstrip("/")
        out[_xml_unescape(name.group(1).decode())] = target if target.startswith("xl/") else f"xl/{target}"
    return out


def _xml_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")


def formula_cells(data: bytes, sheet_name: str) -> dict[tuple[int, int], str]:
    """(row, column) 0-based -> formula text ('=...') of every formula cell of a sheet.

    Read from the sheet's XML: calamine gives values only, and a formula must be
    recognised as one (never evaluated, never trusted)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml_path = _sheet_xml_paths(archive).get(sheet_name)
        if not xml_path or xml_path not in archive.namelist():
            return {}
        xml = archive.read(xml_path)
    if b"<f" not in xml and b":f" not in xml:
        return {}
    out = {}
    for m in _CELL_WITH_FORMULA.finditer(xml):
        ref = _CELL_REF.search(m.group(1))
        if ref:
            text = _xml_unescape((m.group(2) or b"").decode("utf-8", errors="replace"))
            out[(int(ref.group(2)) - 1, _column_index(ref.group(1)))] = "=" + text if text else "=(shared formula)"
    return out


def read_xlsx(path: Path, source_file: str, columns: tuple[str, ...]) -> RawDelivery:
    from python_calamine import CalamineWorkbook

    data = path.read_bytes()
    if not data:
        raise DeliveryError(source_file, "file is empty")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DeliveryError(source_file, "file is a legacy Excel 97-2003 (.xls) workbook named .xlsx: save it as .xlsx")
    if not data.startswith(b"PK"):
        raise DeliveryError(source_file, "not a readable .xlsx workbook (not a zip archive)")
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for name in workbook.sheet_names:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            sheets.append((name, [[_cell_text(v) for v in row] for row in rows]))
    except Exception as exc:  # zip or XML damage: the file as a whole is unreadable
        raise DeliveryError(source_file, f"not a readable .xlsx workbook ({type(exc).__name__}: {str(exc)[:120]})") from exc
    # The data may not be on the first sheet (a cover page): take the first sheet with the header.
    for name, rows in sheets:
        header_at = _find_header(rows, columns)
        if header_at is None:
            continue
        try:
            formulas_at = formula_cells(data, name)
        except (KeyError, zipfile.BadZipFile) as exc:
            raise DeliveryError(source_file, f"not a readable .xlsx workbook ({type(exc).__name__})") from exc
        for (r, c), formula in formulas_at.items():
            if r < len(rows) and c < len(rows[r]):
                rows[r][c] = formula  # the formula's text, not its cached value
        return _frame(source_file, rows, header_at, columns, formulas_at, None, "xlsx", sha256_of(data), sheet=name)
    if not sheets or not any(any(c.strip() for c in row) for _, rows in sheets for row in rows):
        raise DeliveryError(source_file, "file is empty")
    found = ", ".join(f"{name!r} ({sum(1 for r in rows if any(c.strip() for c in r))} non-empty rows)" for name, rows in sheets)
    best = max(sheets, key=lambda s: max((_header_score(r, columns) for r in s[1][:HEADER_SEARCH_ROWS]), default=0))
    missing = [c for c in columns if all(c not in {_norm_header(x) for x in r} for r in best[1][:HEADER_SEARCH_ROWS])]
    raise DeliveryError(source_file, f"no sheet has the header row; sheets found: {found}; "
                                     f"missing required column(s): {', '.join(missing)}",
                        rows=max(sum(1 for r in best[1] if any(c.strip() for c in r)) - 1, 0))


def read_delivery(path: Path, source_file: str, columns: tuple[str, ...], separators: tuple[str, ...],
                  any_separator: bool = False) -> RawDelivery:
    """Read a .csv or .xlsx delivery; every failure is a DeliveryError naming the file and the reason."""
    if not path.exists():
        raise DeliveryError(source_file, "file not delivered")
    try:
        if path.suffix.lower() == ".xlsx":
            return read_xlsx(path, source_file, columns)
        return read_csv(path, source_file, columns, separators, any_separator=any_separator)
    except DeliveryError:
        raise
    except Exception as exc:  # whatever else a damaged file provokes: never an uncaught reader error
        raise DeliveryError(source_file, f"unreadable ({type(exc).__name__}: {str(exc)[:200]})") from exc
