"""Stage 2 of the registry build: candidate pairs.

Which pairs of mentions the model scores at all: the union of the named
blocking rules of linkage_model.blocking_rules() (NIK; NIK one substitution
or adjacent swap apart; NOKK + birth date; village + birth date; rarest name
token + birth date; name + village; rarest token + street + village; rarest
token + banjar + village; NOKK; the NIK without its birth part, where few rows
share it; the name-and-place keys purged of groups over
mentions.MAX_BLOCK_MENTIONS). No rule rests on the NIK
alone, so a person whose NIK is mistyped in several digits, or whose death
record carries another NIK, is still compared with their DTKS row.

The pairs are generated once, by Splink, when they are scored (scoring.py
materialises them with `compute_blocked_pairs_for_predict` and predicts from
that table): `count_pairs` counts the pairs each rule adds from it (the first
rule that finds a pair owns it, as in Splink's blocking analysis) for the
asset metadata and the log. `candidate_pairs(count=True)` still runs Splink's
blocking analysis on its own, for a caller that wants the counts without
scoring (at 250k families it costs as much as generating the pairs).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import duckdb

from dtks_pipeline.defs.registry import linkage_model

SCORING_INPUT = "registry_scoring_input"


@dataclass
class CandidatePairs:
    input_table: str                          # the mentions the model sees (one row per mention, mid = unique id)
    rules: dict[str, object]                  # name -> Splink blocking rule, in order
    counts: dict[str, int] = field(default_factory=dict)  # name -> pairs added by that rule (after earlier ones)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def scoring_input(con: duckdb.DuckDBPyConnection, mentions: str) -> str:
    """The mentions the model scores: all but the previous-month persons carried by a mention (mentions.py),
    unless the carrier's NIK or card differs from the person's. Such a person (carried by a duplicate's second
    row, the NIK mistyped, whose record key is the one still known) is scored: the person's other row may have
    come back under a new record key (ID_ART is not stable from month to month), and only the person's own NIK
    and card find it again; scored against the carrier alone it became a new person whenever that pair was
    uncertain."""
    cols = ", ".join(f"m.{c}" for c in ["mid", *linkage_model.RETAINED_COLUMNS, *linkage_model.SPLINK_COLUMNS])
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {SCORING_INPUT} AS SELECT {cols} FROM {mentions} m
    LEFT JOIN {mentions} c ON c.mid = m.carried_mid
    WHERE m.carried_mid IS NULL OR c.nik IS DISTINCT FROM m.nik OR c.nokk IS DISTINCT FROM m.nokk""")
    return SCORING_INPUT


def candidate_pairs(con: duckdb.DuckDBPyConnection, mentions: str, *, count: bool = False) -> CandidatePairs:
    """The blocking rules over `mentions` and, with `count`, the exact number of pairs each adds (Splink's
    blocking analysis; without it scoring fills `counts` from the pairs it generates, `count_pairs`)."""
    started = time.perf_counter()
    table = scoring_input(con, mentions)
    rules = linkage_model.blocking_rules()
    out = CandidatePairs(input_table=table, rules=rules)
    if count:
        from splink import DuckDBAPI
        from splink.blocking_analysis import count_comparisons_from_blocking_rules

        db_api = DuckDBAPI(con)
        sdf = db_api.register(table, table_name="registry_blocking_input")
        records = count_comparisons_from_blocking_rules(
            sdf, blocking_rules=list(rules.values()), link_type="dedupe_only",
            unique_id_column_name="mid", record_sample_proportion=1.0)
        out.counts = {name: int(_marginal(r)) for name, r in zip(rules, records)}
    out.seconds = round(time.perf_counter() - started, 2)
    return out


def _marginal(record) -> int:
    return record["marginal_comparison_count"] if isinstance(record, dict) else record.marginal_comparison_count


def count_pairs(con: duckdb.DuckDBPyConnection, blocked_pairs: str, candidates: CandidatePairs) -> None:
    """Fill `candidates.counts` from Splink's blocked-pairs table (`match_key`: the index of the first rule
    that found the pair); a rule that added no pair counts 0."""
    found = dict(con.execute(f"SELECT CAST(match_key AS VARCHAR), count(*) FROM {blocked_pairs} GROUP BY 1").fetchall())
    candidates.counts = {name: int(found.get(str(i), 0)) for i, name in enumerate(candidates.rules)}
