"""Staff decisions on review pairs: SAMA (one person) or BEDA (two people).

A decision is appended to `registry.review_decisions` in the *working*
warehouse (the one the assets write; the published file is a copy of it) and
never updated or deleted: the latest decision on a pair of records wins, and
every earlier one stays as the audit trail (who, when, why).

A decision names its two records twice: by record key (stable for the same
delivered row: `ART:<id_dtks>/<id_art>`, `ROW:<source>:<period>:<file>:<row>`)
and by person id. From the next month on the previous registry's persons are
mentions keyed `PID:<person_id>`, so `active_constraints` emits a constraint
for both forms and the clustering honours the decision in every later month.
"""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from dtks_pipeline.lib.warehouse import table_exists, transaction

DECISIONS_TABLE = "registry.review_decisions"
DECISIONS_COLUMNS = [
    "decision_id", "key_a", "key_b", "person_id_a", "person_id_b", "decision", "decided_by", "decided_at",
    "note", "period", "pair_id",
]
DECISIONS_DDL = """(decision_id VARCHAR, key_a VARCHAR, key_b VARCHAR, person_id_a VARCHAR, person_id_b VARCHAR,
    decision VARCHAR, decided_by VARCHAR, decided_at TIMESTAMP, note VARCHAR, period VARCHAR, pair_id VARCHAR)"""
SAMA, BEDA = "SAMA", "BEDA"
DECISIONS = (SAMA, BEDA)
CONSTRAINT_COLUMNS = ["key_a", "key_b", "decision"]


def record_key_sql(alias: str = "m") -> str:
    """The record key of a mention (columns source, id_dtks, id_art, prev_person_id, source_period,
    source_file, source_row): the identity a decision is stored under."""
    a = alias
    return (
        f"CASE WHEN {a}.source = 'dtks' THEN 'ART:' || coalesce({a}.id_dtks, '') || '/' || {a}.id_art "
        f"WHEN {a}.source = 'registry' THEN 'PID:' || {a}.prev_person_id "
        f"ELSE 'ROW:' || {a}.source || ':' || {a}.source_period || ':' || {a}.source_file || ':' "
        f"|| CAST({a}.source_row AS VARCHAR) END"
    )


def person_key(person_id: str) -> str:
    """The record key of a previous-month registry person."""
    return f"PID:{person_id}"


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS registry")
    con.execute(f"CREATE TABLE IF NOT EXISTS {DECISIONS_TABLE} {DECISIONS_DDL}")


class DecisionError(ValueError):
    """A decision that cannot be recorded (unknown value, no author, same record twice)."""


def record_decision(
    con: duckdb.DuckDBPyConnection, *, key_a: str, key_b: str, person_id_a: str | None, person_id_b: str | None,
    decision: str, decided_by: str, note: str = "", period: str | None = None, pair_id: str | None = None,
    decided_at: dt.datetime | None = None,
) -> str:
    """Append one decision; returns its decision_id (D + 8 digits, in order of recording)."""
    decision = (decision or "").strip().upper()
    if decision not in DECISIONS:
        raise DecisionError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if not (decided_by or "").strip():
        raise DecisionError("a decision needs the name of who decided it (--by)")
    if not key_a or not key_b or key_a == key_b:
        raise DecisionError("a decision needs two different records")
    # Stored with the keys in order, so one pair has one spelling.
    if key_b < key_a:
        key_a, key_b, person_id_a, person_id_b = key_b, key_a, person_id_b, person_id_a
    ensure_table(con)
    with transaction(con):
        n = con.execute(f"SELECT count(*) FROM {DECISIONS_TABLE}").fetchone()[0]
        decision_id = f"D{n + 1:08d}"
        con.execute(
            f"INSERT INTO {DECISIONS_TABLE} ({', '.join(DECISIONS_COLUMNS)}) VALUES ({', '.join('?' * len(DECISIONS_COLUMNS))})",
            [decision_id, key_a, key_b, person_id_a, person_id_b, decision, decided_by.strip(),
             decided_at or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), note or "", period, pair_id],
        )
    return decision_id


def decisions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every recorded decision, oldest first (the audit trail)."""
    if not table_exists(con, DECISIONS_TABLE):
        return pd.DataFrame({c: pd.Series(dtype="object") for c in DECISIONS_COLUMNS})
    return con.execute(f"SELECT {', '.join(DECISIONS_COLUMNS)} FROM {DECISIONS_TABLE} ORDER BY decided_at, decision_id").df()


def active_constraints(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """`key_a, key_b, decision` (key_a < key_b): the latest decision on each pair of records, by record
    key and by `PID:` key, for the clustering to honour (SAMA joins, BEDA keeps apart)."""
    if not table_exists(con, DECISIONS_TABLE):
        return pd.DataFrame({c: pd.Series(dtype="object") for c in CONSTRAINT_COLUMNS})
    return con.execute(f"""
        WITH both_forms AS (
          SELECT key_a AS x, key_b AS y, decision, decided_at, decision_id FROM {DECISIONS_TABLE}
          UNION ALL
          SELECT 'PID:' || person_id_a, 'PID:' || person_id_b, decision, decided_at, decision_id FROM {DECISIONS_TABLE}
          WHERE person_id_a IS NOT NULL AND person_id_b IS NOT NULL AND person_id_a <> person_id_b
        ), ordered AS (
          SELECT least(x, y) AS key_a, greatest(x, y) AS key_b, decision, decided_at, decision_id FROM both_forms
        )
        SELECT key_a, key_b, arg_max(decision, (decided_at, decision_id)) AS decision
        FROM ordered GROUP BY key_a, key_b ORDER BY key_a, key_b
    """).df()[CONSTRAINT_COLUMNS]


def person_pair_decisions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """`person_id_a, person_id_b, decision` (a < b): the latest decision on each pair of persons."""
    constraints = active_constraints(con)
    pid = constraints[constraints["key_a"].str.startswith("PID:") & constraints["key_b"].str.startswith("PID:")]
    return pd.DataFrame({
        "person_id_a": pid["key_a"].str[4:], "person_id_b": pid["key_b"].str[4:], "decision": pid["decision"],
    }).reset_index(drop=True)
