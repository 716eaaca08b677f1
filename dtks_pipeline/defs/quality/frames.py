"""A month of a table as the pandas frame Great Expectations validates.

Only the columns a suite needs are read (never names or birth dates), NIK and
NOKK are masked before GX sees them, and the derived columns the suites
compare against are added here. Whatever GX keeps (validation results on
disk, Data Docs pages, unexpected samples) therefore never holds personal
data in clear.
"""
from __future__ import annotations

import hashlib
import os

import duckdb
import pandas as pd

from dtks_pipeline.defs.quality.suites import SUITES
from dtks_pipeline.lib.warehouse import table_exists

ID_COLUMNS = ("nik", "nokk", "recipient_nik", "nik_pemilik")


def previous_period(period: str) -> str:
    y, m = int(period[:4]), int(period[5:7])
    return f"{y - 1:04d}-12" if m == 1 else f"{y:04d}-{m - 1:02d}"


def mask_id_shape(values: pd.Series) -> pd.Series:
    """NIK/NOKK masked the project's way, keeping the shape GX checks.

    First 6 and last 2 characters kept; in between, every digit becomes `*` and
    every other character `?`. A 16-digit value becomes `510801********01`;
    anything else (15 digits, a letter, a space) can never take that form.
    Values of 8 characters or fewer have all their digits starred.
    """
    text = values.astype("string")
    middle = text.str[6:-2].str.replace(r"\D", "?", regex=True).str.replace(r"\d", "*", regex=True)
    long = text.str[:6] + middle + text.str[-2:]
    short = text.str.replace(r"\d", "*", regex=True)
    return long.where(text.str.len() > 8, short)


def pseudonym(values: pd.Series) -> pd.Series:
    """A keyed hash with a fresh random key per call: equal inputs stay equal
    within one frame (so uniqueness can be checked), but the output cannot be
    linked to a NIK/NOKK nor across validations."""
    key = os.urandom(16)
    text = values.astype("string")
    hashed = text.map(
        lambda v: hashlib.blake2b(str(v).encode(), key=key, digest_size=8).hexdigest(), na_action="ignore"
    )
    return hashed.astype("string")


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()]


def read_month(con: duckdb.DuckDBPyConnection, table: str, period: str) -> pd.DataFrame | None:
    """The suite's columns of `table` for `period`, or None when the table does not exist.

    A column the suite wants but the table lacks is left out: the expectations
    on it then fail by name in GX instead of the read failing as a whole.
    """
    if not table_exists(con, table):
        return None
    present = set(table_columns(con, table))
    cols = [c for c in SUITES[table].columns if c in present]
    select = ", ".join(f'"{c}"' for c in cols) or "1 AS _no_columns"
    return con.execute(f"SELECT {select} FROM {table} WHERE period = ?", [period]).df()


def row_count(con: duckdb.DuckDBPyConnection, table: str, period: str) -> int | None:
    """Rows of `table` in `period`; None when the table is absent or the month empty."""
    if not table_exists(con, table):
        return None
    n = con.execute(f"SELECT count(*) FROM {table} WHERE period = ?", [period]).fetchone()[0]
    return int(n) or None


def prepare(table: str, frame: pd.DataFrame, amounts: dict[str, int]) -> pd.DataFrame:
    """Mask the ids and add the suite's derived columns (see suites.TableSuite.derived)."""
    out = frame.copy()
    if table == "registry.families" and "nokk" in out:
        out["nokk_pseudonym"] = pseudonym(out["nokk"])
    for col in ID_COLUMNS:
        if col in out:
            out[col] = mask_id_shape(out[col])
    if table == "registry.exclusions" and {"reason_code", "family_id"} <= set(out):
        who = out["person_id"].fillna(out["family_id"]) if "person_id" in out else out["family_id"]
        out["exclusion_key"] = out["reason_code"].astype("string") + "|" + who.astype("string")
    if table == "payout.payments" and "program" in out:
        out["configured_amount_idr"] = out["program"].map(amounts).astype("Int64")
    if table == "payout.summary" and {"program", "n_kpm"} <= set(out):
        out["configured_amount_idr"] = (out["program"].map(amounts) * out["n_kpm"]).astype("Int64")
    if table == "payout.summary" and "kode_desa" in out:
        out["kecamatan_of_desa"] = out["kode_desa"].astype("string").str[:6]
    for col in ("amount_idr",):
        if col in out:
            out[col] = out[col].astype("Int64")
    return out
