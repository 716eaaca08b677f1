"""The review queue: pairs of records a person should look at before the model's word is final.

`registry.review_pairs` holds, per month,
- every scored pair whose match probability falls in the uncertain band around
  the resolver's threshold (reason RAGU): a factor of 2**UNCERTAIN_MARGIN_WEIGHT
  either side of the threshold, in match-weight terms, so the band follows
  whatever threshold the model uses;
- the pair behind every NIK still held by two AKTIF persons after resolution
  (reason NIK_GANDA; their families are in payout.held, see held.py): the
  best-scored pair between the two persons' records, or their records with the
  NIK when no pair was scored.

Each row shows both records side by side, the probability, the match weight,
the comparison levels that decided it (`levels`, JSON of the gamma_* columns)
and the staff decision already taken on it, if any. Staff decide pairs with
`dtks review decide` (decisions.py); the analyst file shows the queue masked.

`build_review_pairs` takes plain frames (scored pairs, records, persons), so it
does not depend on how the resolver stores its intermediate results.
"""
from __future__ import annotations

import math

import duckdb
import pandas as pd

from dtks_pipeline.defs.registry import decisions as decisions_mod
from dtks_pipeline.lib.warehouse import replace_period, table_exists, transaction

REVIEW_TABLE = "registry.review_pairs"
RAGU = "RAGU"            # uncertain match probability
NIK_GANDA = "NIK_GANDA"  # behind a NIK held by two active persons
REVIEW_REASONS = {RAGU: "match probability in the uncertain band", NIK_GANDA: "two active persons share this NIK"}
UNCERTAIN_MARGIN_WEIGHT = 4.0  # log2 Bayes factor either side of the threshold

# The fields shown side by side (`<field>_a`, `<field>_b`), from the records frame.
RECORD_FIELDS = {
    "source": "VARCHAR", "nik": "VARCHAR", "nama": "VARCHAR", "jenis_kelamin": "VARCHAR", "tgl_lahir": "DATE",
    "nokk": "VARCHAR", "kode_desa": "VARCHAR",
}
RECORD_COLUMNS = ["key", "person_id", *RECORD_FIELDS]
SCORED_COLUMNS = ["key_a", "key_b", "match_probability", "match_weight"]  # plus gamma_* columns
REVIEW_COLUMNS = [
    "period", "pair_id", "key_a", "key_b", "person_id_a", "person_id_b", "match_probability", "match_weight",
    "levels", "reason", "decision",
    *[f"{f}_{side}" for f in RECORD_FIELDS for side in ("a", "b")],
]
REVIEW_DDL = "(" + ", ".join(
    [f"{c} VARCHAR" for c in REVIEW_COLUMNS[:6]] + ["match_probability DOUBLE", "match_weight DOUBLE",
                                                    "levels VARCHAR", "reason VARCHAR", "decision VARCHAR"]
    + [f"{f}_{side} {t}" for f, t in RECORD_FIELDS.items() for side in ("a", "b")]
) + ")"


def probability(weight: float) -> float:
    """Match probability of a match weight (log2 Bayes factor) with a prior of 1."""
    return 1.0 / (1.0 + 2.0 ** (-weight))


def weight(p: float) -> float:
    return math.log2(p / (1.0 - p))


def uncertain_band(threshold_probability: float, margin: float = UNCERTAIN_MARGIN_WEIGHT) -> tuple[float, float]:
    """[low, high): probabilities within `margin` match weight of the threshold."""
    w = weight(threshold_probability)
    return probability(w - margin), probability(w + margin)


def pair_id(key_a: str, key_b: str) -> str:
    """A stable id for a pair of records (the same two rows give the same id every month)."""
    import hashlib

    a, b = sorted((key_a, key_b))
    return "RP" + hashlib.sha1(f"{a}|{b}".encode()).hexdigest()[:10].upper()


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in REVIEW_COLUMNS})


def build_review_pairs(
    con: duckdb.DuckDBPyConnection, period: str, scored: pd.DataFrame, records: pd.DataFrame,
    persons: pd.DataFrame, threshold_probability: float,
) -> pd.DataFrame:
    """The month's review pairs (REVIEW_COLUMNS) from the resolver's frames.

    scored:  key_a, key_b, match_probability, match_weight, gamma_<comparison>... (role_l, role_r:
             REG/LINK, optional; LINK-LINK pairs are left out)
    records: key, person_id, and RECORD_FIELDS (one row per record key)
    persons: the month's registry.persons (person_id, nik, status)
    `con` only runs the SQL; nothing is read from it but the decisions table.
    """
    low, high = uncertain_band(threshold_probability)
    gammas = [c for c in scored.columns if c.startswith("gamma_")]
    if {"role_l", "role_r"} <= set(scored.columns):
        # Two LINK rows (two cars of one owner) decide nothing: a LINK row is only ever linked to a person.
        scored = scored[(scored["role_l"] != "LINK") | (scored["role_r"] != "LINK")]
    scored = scored[[*SCORED_COLUMNS, *gammas]]
    # levels as JSON, built in SQL (vectorised; scored pairs can number millions), not row by row in Python
    levels_sql = ("json_object(" + ", ".join(f"'{c[6:]}', s.{c}" for c in gammas) + ")::VARCHAR") if gammas else "'{}'"
    records = records[RECORD_COLUMNS].drop_duplicates("key")
    persons = persons[["person_id", "nik", "status"]]
    constraints = decisions_mod.active_constraints(con)
    frames = {"_rv_scored": scored, "_rv_records": records, "_rv_persons": persons, "_rv_decided": constraints}
    for name, frame in frames.items():
        con.complete()  # DuckDB 2 refuses register() while a fetchone() result is pending
        con.register(name, frame)
    try:
        side = ", ".join(f"ra.{f} AS {f}_a, rb.{f} AS {f}_b" for f in RECORD_FIELDS)
        out = con.execute(f"""
            WITH s AS (
              SELECT least(key_a, key_b) AS key_a, greatest(key_a, key_b) AS key_b, match_probability, match_weight,
                     {levels_sql} AS levels
              FROM _rv_scored s
            ), sp AS (
              SELECT s.key_a, s.key_b, s.match_probability,
                     least(ra.person_id, rb.person_id) AS p_lo, greatest(ra.person_id, rb.person_id) AS p_hi
              FROM s JOIN _rv_records ra ON ra.key = s.key_a JOIN _rv_records rb ON rb.key = s.key_b
              WHERE ra.person_id <> rb.person_id
            ), conflict AS (
              SELECT a.nik, a.person_id AS pa, b.person_id AS pb
              FROM _rv_persons a JOIN _rv_persons b ON a.nik = b.nik AND a.person_id < b.person_id
              WHERE a.status = 'AKTIF' AND b.status = 'AKTIF' AND a.nik IS NOT NULL
            ), conflict_scored AS (
              -- the best-scored pair between the two persons' records
              SELECT nik, pa, pb, best[1] AS key_a, best[2] AS key_b FROM (
                SELECT c.nik, c.pa, c.pb, arg_max([sp.key_a, sp.key_b], coalesce(sp.match_probability, -1)) AS best
                FROM conflict c JOIN sp ON sp.p_lo = c.pa AND sp.p_hi = c.pb
                GROUP BY ALL)
            ), conflict_records AS (
              -- no scored pair: each person's first record carrying the NIK
              SELECT c.nik, c.pa, c.pb,
                     (SELECT min(r.key) FROM _rv_records r WHERE r.person_id = c.pa AND r.nik = c.nik) AS ka,
                     (SELECT min(r.key) FROM _rv_records r WHERE r.person_id = c.pb AND r.nik = c.nik) AS kb
              FROM conflict c ANTI JOIN conflict_scored USING (nik, pa, pb)
            ), queue AS (
              SELECT key_a, key_b, '{NIK_GANDA}' AS reason, 0 AS prio FROM conflict_scored
              UNION ALL
              SELECT least(ka, kb), greatest(ka, kb), '{NIK_GANDA}', 0 FROM conflict_records
              WHERE ka IS NOT NULL AND kb IS NOT NULL
              UNION ALL
              SELECT key_a, key_b, '{RAGU}', 1 FROM s WHERE match_probability >= ? AND match_probability < ?
            ), one AS (
              SELECT key_a, key_b, arg_min(reason, prio) AS reason FROM queue GROUP BY key_a, key_b
            )
            SELECT ?::VARCHAR AS period, one.key_a, one.key_b, ra.person_id AS person_id_a, rb.person_id AS person_id_b,
                   s.match_probability, s.match_weight, coalesce(s.levels, '{{}}') AS levels, one.reason,
                   coalesce(d.decision, dp.decision) AS decision, {side}
            FROM one
            LEFT JOIN s USING (key_a, key_b)
            LEFT JOIN _rv_records ra ON ra.key = one.key_a LEFT JOIN _rv_records rb ON rb.key = one.key_b
            LEFT JOIN _rv_decided d ON d.key_a = one.key_a AND d.key_b = one.key_b
            LEFT JOIN _rv_decided dp ON dp.key_a = least('PID:' || ra.person_id, 'PID:' || rb.person_id)
                                    AND dp.key_b = greatest('PID:' || ra.person_id, 'PID:' || rb.person_id)
            ORDER BY one.reason DESC, s.match_probability DESC NULLS FIRST, one.key_a, one.key_b
        """, [low, high, period]).df()
    finally:
        for name in frames:
            con.unregister(name)
    if out.empty:
        return _empty()
    out["pair_id"] = [pair_id(a, b) for a, b in zip(out["key_a"], out["key_b"])]
    return out[REVIEW_COLUMNS]


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS registry")
    con.execute(f"CREATE TABLE IF NOT EXISTS {REVIEW_TABLE} {REVIEW_DDL}")


def write_review_pairs(con: duckdb.DuckDBPyConnection, period: str, frame: pd.DataFrame) -> None:
    """Replace the month of registry.review_pairs."""
    ensure_table(con)
    with transaction(con):
        replace_period(con, REVIEW_TABLE, frame[REVIEW_COLUMNS], period)


def review_pairs_of(con: duckdb.DuckDBPyConnection, period: str | None = None) -> pd.DataFrame:
    """registry.review_pairs of a month (every month when None)."""
    if not table_exists(con, REVIEW_TABLE):
        return _empty()
    where, params = ("WHERE period = ?", [period]) if period else ("", [])
    return con.execute(f"SELECT {', '.join(REVIEW_COLUMNS)} FROM {REVIEW_TABLE} {where} ORDER BY period, reason DESC, pair_id",
                       params).df()


def review_counts(frame: pd.DataFrame) -> dict:
    """`{"pairs": n, "open": n, "by reason": {...}}` for metadata."""
    if frame.empty:
        return {"pairs": 0, "open": 0, "by reason": {}}
    return {
        "pairs": int(len(frame)), "open": int(frame["decision"].isna().sum()),
        "by reason": {str(k): int(v) for k, v in frame["reason"].value_counts().items()},
    }
