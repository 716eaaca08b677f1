"""What the registry of month P reads from staging.

- Snapshot sources (dtks, samsat_kendaraan, nelayan, angkutan, umkm): the rows
  of the latest delivered period <= P.
- Event sources (dukcapil_kematian, dukcapil_pindah, desa): the rows of every
  period <= P.

Each source becomes a temporary view `in_<source>` on the connection. A
staging table that does not exist yet is an empty view with the contract's
columns, so the registry can be built and tested before every source is.
"""
from __future__ import annotations

import duckdb

from dtks_pipeline.defs.sources.specs import SOURCES
from dtks_pipeline.defs.sources.validation import SQL_TYPES, staging_columns
from dtks_pipeline.lib.warehouse import table_exists

SNAPSHOT_SOURCES = tuple(name for name, spec in SOURCES.items() if spec.is_snapshot)
EVENT_SOURCES = tuple(name for name, spec in SOURCES.items() if not spec.is_snapshot)
PERSON_SOURCES = SNAPSHOT_SOURCES + EVENT_SOURCES
STAGING_SOURCES = PERSON_SOURCES  # every staging table the registry depends on

_ROW_ID = {"period": "VARCHAR", "source_file": "VARCHAR", "source_row": "BIGINT"}

# The staging contract, as the ingestion stage declares it.
STAGING_COLUMNS: dict[str, dict[str, str]] = {
    name: {column: SQL_TYPES[kind] for column, kind in staging_columns(name).items()} for name in SOURCES
}


def snapshot_period(con: duckdb.DuckDBPyConnection, source: str, period: str) -> str | None:
    """The latest period <= `period` for which `source` has staged rows."""
    if not table_exists(con, f"staging.{source}"):
        return None
    return con.execute(f"SELECT max(period) FROM staging.{source} WHERE period <= ?", [period]).fetchone()[0]


def first_data_period(con: duckdb.DuckDBPyConnection) -> str | None:
    """The earliest period any staging table holds: the first month of data."""
    periods = [
        con.execute(f"SELECT min(period) FROM staging.{s}").fetchone()[0]
        for s in STAGING_SOURCES
        if table_exists(con, f"staging.{s}")
    ]
    periods = [p for p in periods if p]
    return min(periods) if periods else None


def register_inputs(con: duckdb.DuckDBPyConnection, period: str) -> dict[str, list[str]]:
    """Create the views `in_<source>` for month `period`; return the periods used per source."""
    used: dict[str, list[str]] = {}
    for source, columns in STAGING_COLUMNS.items():
        wanted = {**_ROW_ID, **columns}
        if table_exists(con, f"staging.{source}"):
            present = {
                r[0] for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = ?",
                    [source],
                ).fetchall()
            }
            select = ", ".join(
                f"CAST({c} AS {t}) AS {c}" if c in present else f"CAST(NULL AS {t}) AS {c}" for c, t in wanted.items()
            )
            if source in SNAPSHOT_SOURCES:
                snap = snapshot_period(con, source, period)
                where = "period = ?"
                params = [snap]
                used[source] = [snap] if snap else []
            else:
                where = "period <= ?"
                params = [period]
                used[source] = [
                    r[0] for r in con.execute(
                        f"SELECT DISTINCT period FROM staging.{source} WHERE period <= ? ORDER BY 1", [period]
                    ).fetchall()
                ]
            con.execute(f"CREATE OR REPLACE TEMP TABLE in_{source} AS SELECT {select} FROM staging.{source} WHERE {where}", params)
        else:
            select = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in wanted.items())
            con.execute(f"CREATE OR REPLACE TEMP TABLE in_{source} AS SELECT {select} LIMIT 0")
            used[source] = []
    return used
