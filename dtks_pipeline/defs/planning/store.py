"""The simulation.* tables, in a DuckDB file of their own (never the published warehouse).

`write_store` builds a fresh file beside the target and renames it into place,
so a reader never sees half a simulation. Tables: one per comparison view
(simulation.programs, budget, kecamatan, desa, coverage_desil,
coverage_kecamatan, changes_summary, changes), simulation.payments (the
scenario's payments: ids and amounts, NOKK masked, no NIK or name),
simulation.scenario (the scenario's programs as parsed) and simulation.runs
(what was simulated, from which files).
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb
import pandas as pd

SCHEMA = "simulation"
PAYMENT_COLUMNS = ["period", "program", "family_id", "nokk", "recipient_person_id", "kode_desa", "amount_idr", "rank",
                   "entry_reason"]


def write_store(path: Path, tables: dict[str, pd.DataFrame]) -> Path:
    """Write every frame as simulation.<name> into a new DuckDB file at `path` (atomic replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    con = duckdb.connect(str(tmp))
    try:
        # Fully qualified: the file's catalog is named after it (simulasi), whatever the schema.
        catalog = con.execute("SELECT current_database()").fetchone()[0]
        con.execute(f'CREATE SCHEMA "{catalog}".{SCHEMA}')
        for name, frame in tables.items():
            con.register("_frame", frame)
            con.execute(f'CREATE TABLE "{catalog}".{SCHEMA}.{name} AS SELECT * FROM _frame')
            con.unregister("_frame")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, path)
    return path
