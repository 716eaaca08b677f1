"""DuckDB warehouse I/O shared by every stage.

Every table that holds rows of a month is written delete-then-insert for that
period inside one transaction, so a reader never sees half a month and a rerun
replaces exactly that month.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

SCHEMAS = ("ref", "staging", "audit", "registry", "payout", "analyst")
# One row per period write (replace_rows with a period): publication republishes a month
# written since its last publication, even when its row counts did not change.
PERIOD_WRITES = "audit.period_writes"


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file, creating its folder and schemas when writing."""
    path = Path(path)
    if read_only:
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    for schema in SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    return con


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Commit on success, roll back on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    qualified: str,
    frame: pd.DataFrame,
    where: dict[str, object],
) -> None:
    """Delete the rows matching `where` and insert `frame` (call inside a transaction).

    The table is created from the frame's columns on first use; later frames
    are inserted by column name so added columns never shift values.
    """
    con.register("_replace_rows_frame", frame)
    try:
        if not table_exists(con, qualified):
            con.execute(f"CREATE TABLE {qualified} AS SELECT * FROM _replace_rows_frame LIMIT 0")
        if where:
            clause = " AND ".join(f"{col} = ?" for col in where)
            con.execute(f"DELETE FROM {qualified} WHERE {clause}", list(where.values()))
        if len(frame):
            con.execute(f"INSERT INTO {qualified} BY NAME SELECT * FROM _replace_rows_frame")
        if where.get("period") is not None:
            mark_period_written(con, str(where["period"]))
    finally:
        con.unregister("_replace_rows_frame")


def mark_period_written(con: duckdb.DuckDBPyConnection, period: str) -> None:
    """Record that rows of `period` were (re)written (see PERIOD_WRITES); part of the caller's transaction."""
    # A connection not opened by `connect` (an in-memory test database) may lack the schema.
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {PERIOD_WRITES.split('.')[0]}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {PERIOD_WRITES} (written_period VARCHAR, written_at TIMESTAMP)")
    con.execute(f"INSERT INTO {PERIOD_WRITES} VALUES (?, current_timestamp::TIMESTAMP)", [period])


def period_writes(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> dict[str, object]:
    """The last write of each period ({} when nothing was recorded)."""
    qualified = f'"{catalog}".{PERIOD_WRITES}' if catalog else PERIOD_WRITES
    schema, name = PERIOD_WRITES.split(".")
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?"
    params: list[object] = [schema, name]
    if catalog:
        sql += " AND table_catalog = ?"
        params.append(catalog)
    if not con.execute(sql, params).fetchone()[0]:
        return {}
    return dict(con.execute(f"SELECT written_period, max(written_at) FROM {qualified} GROUP BY ALL").fetchall())


def replace_period(con: duckdb.DuckDBPyConnection, qualified: str, frame: pd.DataFrame, period: str, **extra_keys: object) -> None:
    """Delete-then-insert one period (and optional extra keys such as source) of a table."""
    replace_rows(con, qualified, frame, {"period": period, **extra_keys})
