"""DuckDB warehouse I/O shared by every stage.

Every table that holds rows of a month is written delete-then-insert for that
period inside one transaction, so a reader never sees half a month and a rerun
replaces exactly that month.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

SCHEMAS = ("ref", "staging", "audit", "registry", "payout", "analyst")
# One row per period write (replace_rows with a period): publication republishes a month
# written since its last publication, even when its row counts did not change.
PERIOD_WRITES = "audit.period_writes"


# DuckDB's memory limit for the pipeline's connections. DuckDB's own default is 80 % of the machine's RAM,
# which it fills with cached pages and intermediate results (the month of 250k families peaked at 9.96 GB on
# 24 GiB without a limit); with a limit it spills joins, aggregates, sorts and temporary tables to
# `<database file>.tmp/` beside the file instead (DuckDB's default temp_directory for a file database).
# "default" (or empty) leaves DuckDB's default.
MEMORY_LIMIT_ENV_VAR = "DTKS_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "2GB"


def configure(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Apply the pipeline's DuckDB settings (MEMORY_LIMIT_ENV_VAR) to `con`; returns it.

    The setting belongs to the database instance, so it holds for every connection to the same file."""
    # (DuckDB's progress bar, drawn on stderr for every long query, would interleave with `dtks run`'s own lines)
    con.execute("SET enable_progress_bar = false")
    limit = os.environ.get(MEMORY_LIMIT_ENV_VAR, DEFAULT_MEMORY_LIMIT).strip()
    if limit and limit.lower() != "default":
        try:
            con.execute(f"SET memory_limit = '{limit.replace(chr(39), '')}'")
        except duckdb.Error as exc:
            raise ValueError(f"${MEMORY_LIMIT_ENV_VAR}={limit!r} is not a DuckDB memory limit "
                             f"(e.g. 2GB, 500MB, or 'default'): {exc}") from exc
    return con


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (with the pipeline's DuckDB settings, `configure`), creating its folder
    and schemas when writing."""
    path = Path(path)
    if read_only:
        return configure(duckdb.connect(str(path), read_only=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    con = configure(duckdb.connect(str(path)))
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


def replace_period_from(con: duckdb.DuckDBPyConnection, qualified: str, query: str, period: str,
                        params: list[object] | None = None) -> None:
    """`replace_period` with the rows of a SQL query instead of a frame (call inside a transaction; the
    table must exist): the rows go from table to table inside DuckDB, never through Python."""
    con.execute(f"DELETE FROM {qualified} WHERE period = ?", [period])
    con.execute(f"INSERT INTO {qualified} BY NAME {query}", params or [])
    mark_period_written(con, period)


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
