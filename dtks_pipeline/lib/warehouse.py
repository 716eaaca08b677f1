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
    finally:
        con.unregister("_replace_rows_frame")


def replace_period(con: duckdb.DuckDBPyConnection, qualified: str, frame: pd.DataFrame, period: str, **extra_keys: object) -> None:
    """Delete-then-insert one period (and optional extra keys such as source) of a table."""
    replace_rows(con, qualified, frame, {"period": period, **extra_keys})
