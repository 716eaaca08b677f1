"""Families held back from payment because the registry cannot vouch for them this month.

A conflict the resolution could not settle holds back only the families it
concerns; everyone else is paid and the month completes. `payout.held` lists
them (not paid, on neither the payment nor the waiting list, reported in the
run summary and the UI) until the conflict is gone or staff decide it
(`dtks review decide`).

Reason codes (`payout.held.reason_code`):
- NIK_GANDA       one NIK held by two or more AKTIF persons after resolution,
                  and staff have not decided them BEDA: every family of those
                  persons is held (the pair goes to registry.review_pairs);
- KELUARGA_GANDA  one family_id on more than one registry.families row of the
                  month: which row is right is unknown, so the family is held.

`detail` names the masked NIK and the person/family ids (no name, no birth date).
"""
from __future__ import annotations

import duckdb
import pandas as pd

from dtks_pipeline.defs.registry import decisions as decisions_mod
from dtks_pipeline.lib.masking import mask_id_sql
from dtks_pipeline.lib.warehouse import replace_period, table_exists, transaction

HELD_TABLE = "payout.held"
HELD_COLUMNS = ["period", "family_id", "nokk", "reason_code", "detail"]
HELD_DDL = "(period VARCHAR, family_id VARCHAR, nokk VARCHAR, reason_code VARCHAR, detail VARCHAR)"
NIK_GANDA = "NIK_GANDA"
KELUARGA_GANDA = "KELUARGA_GANDA"
HELD_REASONS = {
    NIK_GANDA: "one NIK held by two or more active persons after resolution, not decided BEDA",
    KELUARGA_GANDA: "one family_id on several registry.families rows of the month",
}


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def nik_conflict_pairs(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """`nik, person_id_a, person_id_b, family_id_a, family_id_b, decision` for every two AKTIF persons
    of the month sharing a NIK (a < b); `decision` is the staff decision on them (NULL: none): on the
    two persons, or on the records of their review pair this month (review.py matched it by record key)."""
    decided = decisions_mod.person_pair_decisions(con)
    if table_exists(con, "registry.review_pairs"):
        by_record = con.execute("""
            SELECT least(person_id_a, person_id_b) AS person_id_a, greatest(person_id_a, person_id_b) AS person_id_b,
                   any_value(decision) AS decision
            FROM registry.review_pairs WHERE period = ? AND decision IS NOT NULL AND person_id_a <> person_id_b
            GROUP BY ALL""", [period]).df()
        decided = pd.concat([decided, by_record], ignore_index=True).drop_duplicates(["person_id_a", "person_id_b"])
    con.complete()  # DuckDB 2 refuses register() while a fetchone() result is pending
    con.register("_decided_persons", decided)
    try:
        return con.execute("""
            WITH act AS (SELECT person_id, nik, family_id FROM registry.persons
                         WHERE period = ? AND status = 'AKTIF' AND nik IS NOT NULL)
            SELECT a.nik, a.person_id AS person_id_a, b.person_id AS person_id_b,
                   a.family_id AS family_id_a, b.family_id AS family_id_b, d.decision
            FROM act a JOIN act b ON a.nik = b.nik AND a.person_id < b.person_id
            LEFT JOIN _decided_persons d ON d.person_id_a = a.person_id AND d.person_id_b = b.person_id
            ORDER BY a.nik, a.person_id, b.person_id
        """, [period]).df()
    finally:
        con.unregister("_decided_persons")


def nik_ganda(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """Families held because a NIK is shared by AKTIF persons that staff have not decided BEDA."""
    pairs = nik_conflict_pairs(con, period)
    open_pairs = pairs[pairs["decision"].fillna("") != decisions_mod.BEDA]
    if open_pairs.empty:
        return _empty(HELD_COLUMNS)
    con.complete()  # DuckDB 2 refuses register() while a fetchone() result is pending
    con.register("_open_pairs", open_pairs)
    try:
        return con.execute(f"""
            WITH sides AS (
              SELECT nik, person_id_a AS person_id, family_id_a AS family_id, person_id_b AS other_person,
                     family_id_b AS other_family FROM _open_pairs
              UNION ALL
              SELECT nik, person_id_b, family_id_b, person_id_a, family_id_a FROM _open_pairs
            ), described AS (
              SELECT family_id, 'NIK ' || {mask_id_sql('nik')} || ': ' || person_id || ' and ' || other_person
                     || ' (' || coalesce(other_family, 'no family') || ')' AS part
              FROM sides WHERE family_id IS NOT NULL
            ), per_family AS (
              SELECT family_id, string_agg(DISTINCT part, '; ' ORDER BY part) AS detail FROM described GROUP BY family_id
            )
            SELECT ?::VARCHAR AS period, p.family_id, f.nokk, '{NIK_GANDA}' AS reason_code,
                   'NIK shared by AKTIF persons ' || p.detail AS detail
            FROM per_family p
            LEFT JOIN (SELECT family_id, any_value(nokk) AS nokk FROM registry.families WHERE period = ? GROUP BY 1) f
              USING (family_id)
            ORDER BY p.family_id
        """, [period, period]).df()[HELD_COLUMNS]
    finally:
        con.unregister("_open_pairs")


def keluarga_ganda(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """Families whose family_id is on more than one registry.families row of the month."""
    return con.execute(f"""
        SELECT ?::VARCHAR AS period, family_id, min(nokk) AS nokk, '{KELUARGA_GANDA}' AS reason_code,
               'family_id on ' || count(*) || ' registry.families rows' AS detail
        FROM registry.families WHERE period = ? AND family_id IS NOT NULL
        GROUP BY family_id HAVING count(*) > 1 ORDER BY family_id
    """, [period, period]).df()[HELD_COLUMNS]


def held_families(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """Every family held in `period`, one row per (family, reason)."""
    if not table_exists(con, "registry.persons") or not table_exists(con, "registry.families"):
        return _empty(HELD_COLUMNS)
    frames = [f for f in (nik_ganda(con, period), keluarga_ganda(con, period)) if len(f)]
    if not frames:
        return _empty(HELD_COLUMNS)
    return pd.concat(frames, ignore_index=True)[HELD_COLUMNS].astype(object)


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS payout")
    con.execute(f"CREATE TABLE IF NOT EXISTS {HELD_TABLE} {HELD_DDL}")


def write_held(con: duckdb.DuckDBPyConnection, period: str, frame: pd.DataFrame) -> None:
    """Replace the month of payout.held."""
    ensure_table(con)
    with transaction(con):
        replace_period(con, HELD_TABLE, frame[HELD_COLUMNS], period)


def held_of(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """payout.held of the month as written (empty when the table does not exist yet)."""
    if not table_exists(con, HELD_TABLE):
        return _empty(HELD_COLUMNS)
    return con.execute(f"SELECT {', '.join(HELD_COLUMNS)} FROM {HELD_TABLE} WHERE period = ? ORDER BY family_id, reason_code",
                       [period]).df()


def held_counts(frame: pd.DataFrame) -> dict:
    """`{"families": n, "by reason": {reason: families}}` for metadata and summaries."""
    return {
        "families": int(frame["family_id"].nunique()) if len(frame) else 0,
        "by reason": {str(k): int(v) for k, v in frame.groupby("reason_code")["family_id"].nunique().items()} if len(frame) else {},
    }
