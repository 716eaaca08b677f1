"""Tiny handmade staging tables for the registry tests.

Rows are given as dicts with only the fields that matter; every other
contract column is NULL. `source_row` is numbered per (source, period) unless given.
"""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from dtks_pipeline.defs.registry.inputs import STAGING_COLUMNS

DESA_A = "5108012001"
DESA_B = "5108012002"
DESA_C = "5108062001"


def nik(kec: str, dob: str, jk: str, serial: int) -> str:
    """A NIK consistent with birth date and sex: 5108 + kec + DDMMYY(+40 for women) + serial."""
    d = dt.date.fromisoformat(dob)
    day = d.day + (40 if jk == "P" else 0)
    return f"5108{kec}{day:02d}{d.month:02d}{d.year % 100:02d}{serial:04d}"


def nokk(serial: int) -> str:
    return f"510801010120{serial:04d}"


def write_staging(con: duckdb.DuckDBPyConnection, source: str, period: str, rows: list[dict], source_file: str | None = None) -> None:
    columns = STAGING_COLUMNS[source]
    con.execute("CREATE SCHEMA IF NOT EXISTS staging")
    ddl = ", ".join(f"{c} {t}" for c, t in {"period": "VARCHAR", "source_file": "VARCHAR", "source_row": "BIGINT", **columns}.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS staging.{source} ({ddl})")
    con.execute(f"DELETE FROM staging.{source} WHERE period = ?", [period])
    if not rows:
        return
    records = []
    for i, row in enumerate(rows, start=1):
        rec = {c: None for c in columns}
        rec.update(row)
        rec["period"] = period
        rec["source_file"] = row.get("source_file", source_file or f"{source}.csv")
        rec["source_row"] = row.get("source_row", i)
        records.append(rec)
    frame = pd.DataFrame(records)
    for c, t in columns.items():
        if t == "DATE":
            frame[c] = pd.to_datetime(frame[c]).dt.date
    con.register("_rows", frame)
    con.execute(f"INSERT INTO staging.{source} BY NAME SELECT * FROM _rows")
    con.unregister("_rows")


def dtks_row(id_art: str, id_dtks: str, nokk_: str, nik_: str, nama: str, jk: str, dob: str, hub_kel: int,
             kode_desa: str = DESA_A, desil: int | None = 2, sta: int = 1, alamat: str = "JL. RAYA 1") -> dict:
    return dict(id_dtks=id_dtks, id_art=id_art, nokk=nokk_, nik=nik_, nama=nama, jenis_kelamin=jk, tgl_lahir=dob,
                hub_kel=hub_kel, kode_desa=kode_desa, alamat=alamat, desil=desil, sta_keberadaan=sta)


def build_month(resource, period: str):
    """Materialize registry_tables and its checks for `period` in-process (Dagster), on `resource`'s warehouse."""
    import dagster as dg

    from dtks_pipeline.defs.registry.assets import registry_tables
    from dtks_pipeline.defs.registry.checks import ASSET_CHECKS
    return dg.materialize([registry_tables, *ASSET_CHECKS], partition_key=period,
                          resources={"warehouse": resource}, raise_on_error=False)


def person_of_member(con: duckdb.DuckDBPyConnection, period: str, id_art: str) -> str:
    """The person_id the month's links give the staged DTKS row of member `id_art`."""
    return con.execute("""SELECT l.person_id FROM registry.person_links l JOIN staging.dtks s
                          ON s.period = l.source_period AND s.source_file = l.source_file AND s.source_row = l.source_row
                          WHERE l.period = ? AND l.source = 'dtks' AND s.id_art = ?""", [period, id_art]).fetchone()[0]


def staged_months(directory, rows_of, periods=("2022-10", "2022-11")):
    """A warehouse in `directory` with `rows_of(period)` staged as each period's DTKS rows: (resource, an open
    connection to it)."""
    from dtks_pipeline.defs.shared import WarehouseResource
    resource = WarehouseResource(path=str(directory / "w.duckdb"))
    con = resource.connect()
    for period in periods:
        write_staging(con, "dtks", period, rows_of(period))
    return resource, con
