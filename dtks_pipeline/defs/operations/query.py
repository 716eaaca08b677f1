"""`dtks query "SQL"`: read-only SQL on the published warehouse.

By default the query runs on the analyst-only file `<stem>_analyst.duckdb`
(schema `analyst`: masked NIK/NOKK, no birth dates), which holds no personal
data at all. `--full-access` opens the full published file instead (for staff
cleared for personal data). Either file is opened read-only with DuckDB's
external access disabled, so a query cannot ATTACH the other file or read
files from disk (both files are self-contained: publish.py; a full file of the earlier layout,
views over `<name>.parts/`, may read that folder until the next publication replaces it).

Only reading statements are accepted: the SQL is parsed with DuckDB
(`duckdb.extract_statements`) and must be exactly one SELECT (which includes
FROM-first queries, VALUES, DESCRIBE, SHOW and SUMMARIZE) or an EXPLAIN of
one. Anything else is refused with exit code 2 before it reaches the
database. With `--csv`, text a spreadsheet would run as a formula (`=`, `+`, `-`,
`@`, tab, CR) gets a leading `'` (`lib/formula_text.py`); numbers stay numbers. Exit codes: 0 ok, 1 file missing or query error, 2 refused.
"""
from __future__ import annotations

import re
import sys
from argparse import Namespace
from pathlib import Path
from typing import TextIO

import duckdb
import pandas as pd

from dtks_pipeline.defs.operations.publish import analyst_path_for, legacy_parts_dir_for
from dtks_pipeline.lib.formula_text import neutralise_frame

ALLOWED = {duckdb.StatementType.SELECT}
EXPLAIN_PREFIX = re.compile(r"^\s*EXPLAIN\s+(ANALYZE\s+|\([^)]*\)\s*)?", re.IGNORECASE)
TABLE_ROW_LIMIT = 200
EXIT_OK, EXIT_ERROR, EXIT_REFUSED = 0, 1, 2


class Refused(ValueError):
    """The statement is not a single read-only query."""


def check_read_only(sql: str) -> None:
    """Raise Refused unless `sql` is exactly one SELECT (or EXPLAIN [ANALYZE] of one)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise Refused(f"the SQL could not be parsed: {exc}") from exc
    if len(statements) != 1:
        raise Refused(f"give exactly one statement (got {len(statements)})")
    stmt = statements[0]
    if stmt.type == duckdb.StatementType.EXPLAIN:
        inner = EXPLAIN_PREFIX.sub("", stmt.query, count=1)
        if inner == stmt.query:
            raise Refused("EXPLAIN with options this command does not understand; use plain EXPLAIN SELECT ...")
        check_read_only(inner)  # EXPLAIN ANALYZE runs its statement: it must read only too
        return
    if stmt.type not in ALLOWED:
        raise Refused(
            f"{stmt.type.name} statements are not allowed: this command only reads "
            "(SELECT, FROM ..., DESCRIBE, SHOW, SUMMARIZE, EXPLAIN SELECT)"
        )


def database_path(published: str | Path, full_access: bool) -> Path:
    published = Path(published)
    return published if full_access else analyst_path_for(published)


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=True)
    legacy = legacy_parts_dir_for(path)
    if legacy.is_dir():  # a catalog of the earlier layout, until the next publication replaces it
        con.execute("SET allowed_directories = ?", [[f"{legacy}/"]])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def run_query(sql: str, path: Path) -> pd.DataFrame:
    """Check, then run the query read-only on `path` (raises Refused or duckdb.Error)."""
    check_read_only(sql)
    con = connect_read_only(path)
    try:
        relation = con.sql(sql)
        if relation is None:
            return pd.DataFrame()
        frame = relation.df()
        # sum() of integers is HUGEINT, which pandas turns into floats (180000000.0):
        # show whole rupiah and counts as integers.
        for name, type_ in zip(relation.columns, relation.types):
            if str(type_) == "HUGEINT":
                frame[name] = frame[name].astype("Int64")
        return frame
    finally:
        con.close()


def print_frame(frame: pd.DataFrame, as_csv: bool, out: TextIO) -> None:
    if as_csv:
        # A CSV is opened in a spreadsheet: formula-like text is neutralised as in the worksheets.
        neutralise_frame(frame).to_csv(out, index=False, lineterminator="\n")
        return
    if list(frame.columns) == ["explain_key", "explain_value"]:  # EXPLAIN: print the plan as drawn
        for value in frame["explain_value"]:
            out.write(f"{value}\n")
        return
    if frame.empty:
        out.write(" | ".join(frame.columns) + "\n(0 rows)\n")
        return
    shown = frame.head(TABLE_ROW_LIMIT)
    with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_colwidth", 60):
        out.write(shown.to_string(index=False, na_rep="NULL") + "\n")
    more = f", showing the first {TABLE_ROW_LIMIT}; use --csv for all" if len(frame) > TABLE_ROW_LIMIT else ""
    out.write(f"({len(frame):,} rows{more})\n")


def main(args: Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    full_access = bool(getattr(args, "full_access", False))
    path = database_path(args.warehouse, full_access)
    try:
        check_read_only(args.sql)
    except Refused as exc:
        err.write(f"dtks query: refused: {exc}\n")
        return EXIT_REFUSED
    if not path.exists():
        what = "published warehouse" if full_access else "analyst warehouse"
        err.write(f"dtks query: {what} {path} not found (has a month been published?)\n")
        return EXIT_ERROR
    try:
        frame = run_query(args.sql, path)
    except duckdb.Error as exc:
        hint = "" if full_access else " (the analyst file holds only the schema `analyst`: analyst.persons, families, exclusions, payments, changes, summary)"
        err.write(f"dtks query: {type(exc).__name__}: {exc}{hint}\n")
        return EXIT_ERROR
    print_frame(frame, bool(getattr(args, "csv", False)), out)
    return EXIT_OK
