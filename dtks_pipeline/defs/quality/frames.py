"""A month of a table as the pandas frame Great Expectations validates.

Only the columns a suite needs are read (never names or birth dates), NIK and
NOKK are masked before GX sees them, and the derived columns the suites
compare against are added here. Whatever GX keeps (validation results on
disk, Data Docs pages, unexpected samples) therefore never holds personal
data in clear.

The masking, the pseudonyms and the derived columns are computed by DuckDB in
the one SELECT that reads the month (`read_prepared`): at 250k families the
same work in pandas (regex replacements, a hash per NOKK in Python) cost more
than GX's own validation. `mask_id_shape` and `pseudonym` are the pandas
forms, kept as the reference the SQL is tested against.
"""
from __future__ import annotations

import hashlib
import os
import re

import duckdb
import pandas as pd

from dtks_pipeline.defs.quality.suites import SUITES
from dtks_pipeline.lib.warehouse import table_exists
from dtks_pipeline.lib.periods import previous_period

ID_COLUMNS = ("nik", "nokk", "recipient_nik", "nik_pemilik")


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


def mask_id_shape_sql(column: str) -> str:
    """SQL form of `mask_id_shape` (same output for every input)."""
    c = f'CAST("{column}" AS VARCHAR)'
    inner = f"substr({c}, 7, length({c}) - 8)"
    # Nearly every middle is all digits: stars of its length, without the two regular expressions
    # (half a second of registry.persons at 60k families). `translate` with no target deletes the digits.
    middle = (f"CASE WHEN translate({inner}, '0123456789', '') = '' THEN repeat('*', length({inner})) "
              f"ELSE regexp_replace(regexp_replace({inner}, '[^0-9]', '?', 'g'), '[0-9]', '*', 'g') END")
    return (f"CASE WHEN {c} IS NULL THEN NULL WHEN length({c}) > 8 "
            f"THEN substr({c}, 1, 6) || {middle} || substr({c}, length({c}) - 1, 2) "
            f"ELSE regexp_replace({c}, '[0-9]', '*', 'g') END")


def pseudonym_sql(column: str, key: str) -> str:
    """SQL form of `pseudonym`: a hash of the value under a fresh random key (hex, from `os.urandom`)."""
    assert re.fullmatch(r"[0-9a-f]+", key)
    return f"""md5('{key}' || CAST("{column}" AS VARCHAR))"""


def _amount_sql(amounts: dict[str, int]) -> tuple[str, list]:
    if not amounts:
        return "CAST(NULL AS BIGINT)", []
    whens = " ".join("WHEN ? THEN ?" for _ in amounts)
    return f'CASE CAST("program" AS VARCHAR) {whens} END', [v for kv in amounts.items() for v in kv]


def prepared_select(table: str, present: set[str], amounts: dict[str, int]) -> tuple[list[str], list]:
    """The SELECT list (masked ids, derived columns) of `table`'s suite, and its parameters."""
    exprs: list[str] = []
    params: list = []
    for col in SUITES[table].columns:
        if col not in present:
            continue  # the expectations on it then fail by name in GX
        exprs.append(f'{mask_id_shape_sql(col)} AS "{col}"' if col in ID_COLUMNS else f'"{col}"')
    if table == "registry.families" and "nokk" in present:
        exprs.append(f'{pseudonym_sql("nokk", os.urandom(16).hex())} AS nokk_pseudonym')
    if table == "registry.exclusions" and {"reason_code", "family_id"} <= present:
        who = 'coalesce(CAST("person_id" AS VARCHAR), CAST("family_id" AS VARCHAR))' if "person_id" in present \
            else 'CAST("family_id" AS VARCHAR)'
        exprs.append(f'CAST("reason_code" AS VARCHAR) || \'|\' || {who} AS exclusion_key')
    if table == "payout.payments" and "program" in present:
        sql, p = _amount_sql(amounts)
        exprs.append(f"{sql} AS configured_amount_idr")
        params += p
    if table == "payout.summary" and {"program", "n_kpm"} <= present:
        sql, p = _amount_sql(amounts)
        exprs.append(f'{sql} * "n_kpm" AS configured_amount_idr')
        params += p
    if table == "payout.summary" and "kode_desa" in present:
        exprs.append('substr(CAST("kode_desa" AS VARCHAR), 1, 6) AS kecamatan_of_desa')
    return exprs, params


def read_prepared(con: duckdb.DuckDBPyConnection, table: str, period: str, amounts: dict[str, int]) -> pd.DataFrame | None:
    """The month of `table` as GX validates it (`read_month` + `prepare`, in one DuckDB query);
    None when the table does not exist."""
    if not table_exists(con, table):
        return None
    exprs, params = prepared_select(table, set(table_columns(con, table)), amounts)
    select = ", ".join(exprs) or "1 AS _no_columns"
    out = con.execute(f"SELECT {select} FROM {table} WHERE period = ?", [*params, period]).df()
    for col in ("amount_idr", "configured_amount_idr"):
        if col in out:
            out[col] = out[col].astype("Int64")
    return out


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
