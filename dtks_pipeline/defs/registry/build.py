"""The registry of a month, in named stages, from staged rows to the four tables.

`build_registry(con, period)` reads staging (and the previous month's
registry, the persisted surrogate keys and the staff decisions) and returns
the names of the tables (temp tables of `con`) holding the month's rows of
registry.persons, person_links, families, exclusions and the new rows of the
key tables (`RegistryBuild`; `frames()` reads them as frames). It writes
nothing: the asset writes everything in one transaction, table to table.
Each stage is a function in its own module with explicit inputs and outputs
(a table name it returns, or a frame):

  mentions (mentions.py) -> candidate pairs (candidates.py) -> scored pairs
  (scoring.py, the Splink model of linkage_model.py) -> clusters and links
  (clustering.py, honouring decisions) -> survivorship (survivorship.py) ->
  statuses (statuses.py) -> families (families.py) -> exclusions (exclusions.py)
  -> person links (`person_links` here)

Rules: docs/PROGRAMS.md "The registry of a month" (statuses never revert, moves
inside Buleleng change the village, PERBAIKI corrects fields, TAMBAH founds a
person, MAMPU_MOBIL from a private car, a person whose row was rejected this
month is carried from the previous month).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import logging

import duckdb
import pandas as pd

from dtks_pipeline.defs.registry import (
    candidates, clustering, exclusions as exclusions_mod, families as families_mod, inputs, mentions as mentions_mod,
    scoring, statuses, survivorship,
)
from dtks_pipeline.defs.registry.survivorship import FAMILY_KEYS, PERSON_KEYS
from dtks_pipeline.lib.warehouse import table_exists
from dtks_pipeline.lib.laps import Laps
from dtks_pipeline.lib.periods import previous_period

log = logging.getLogger(__name__)

PERSONS_COLUMNS = [
    "period", "person_id", "nik", "nama", "jenis_kelamin", "tgl_lahir", "nokk", "family_id", "hub_kel",
    "kode_desa", "status", "status_date", "status_source",
]
LINKS_COLUMNS = ["period", "source", "source_file", "source_row", "person_id", "match_rule", "match_score", "source_period"]
FAMILIES_COLUMNS = ["period", "family_id", "nokk", "kepala_person_id", "kode_desa", "desil", "n_anggota_aktif", "status"]
EXCLUSIONS_COLUMNS = [
    "period", "family_id", "person_id", "reason_code", "evidence_source", "evidence_file", "evidence_row",
    "effective_date", "evidence_period",
]


class RegistryOrderError(RuntimeError):
    """The previous month's registry is missing (months built out of order)."""


LINKS_TABLE = "registry_person_links_month"


@dataclass
class RegistryFrames:
    """The month's four tables as frames (tests and small months; the asset writes from the tables)."""
    persons: pd.DataFrame
    person_links: pd.DataFrame
    families: pd.DataFrame
    exclusions: pd.DataFrame


@dataclass
class RegistryBuild:
    """The month's registry as tables of the build's connection (temp tables: gone when it closes).

    The four tables hold registry.persons / person_links / families / exclusions' rows of the month
    (persons_table also carries the cluster id `cid`); the two key tables the new rows of
    registry.person_keys and family_keys. Frames are read on demand (`frames`), so a month of a
    million persons never has to sit in Python beside DuckDB."""
    period: str
    persons_table: str
    person_links_table: str
    families_table: str
    exclusions_table: str
    new_person_keys_table: str
    new_family_keys_table: str
    used_periods: dict[str, list[str]] = field(default_factory=dict)
    candidates: candidates.CandidatePairs | None = None
    scored: scoring.ScoredPairs | None = None
    mentions_table: str | None = None
    links_table: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def queries(self) -> dict[str, str]:
        """registry table -> the SELECT of its month's rows, in the order they are written."""
        return {
            "registry.persons": f"SELECT {', '.join(PERSONS_COLUMNS)} FROM {self.persons_table} ORDER BY person_id",
            "registry.person_links": f"SELECT {', '.join(LINKS_COLUMNS)} FROM {self.person_links_table} "
                                     "ORDER BY source, source_period, source_file, source_row",
            "registry.families": f"SELECT {', '.join(FAMILIES_COLUMNS)} FROM {self.families_table} ORDER BY family_id",
            "registry.exclusions": f"SELECT {', '.join(EXCLUSIONS_COLUMNS)} FROM {self.exclusions_table} "
                                   "ORDER BY family_id, reason_code, person_id",
        }

    def frames(self, con: duckdb.DuckDBPyConnection) -> RegistryFrames:
        q = self.queries()
        return RegistryFrames(*(con.execute(q[t]).df() for t in (
            "registry.persons", "registry.person_links", "registry.families", "registry.exclusions")))

    def counts(self, con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
        """Row counts for the asset metadata, by SQL: {"persons": {"rows": n, "by status": {...}}, ...}."""
        def by(table: str, column: str) -> dict:
            rows = con.execute(f"SELECT {column}, count(*) FROM {table} GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
            return {"rows": sum(n for _, n in rows), f"by {column}": {str(k): int(n) for k, n in rows}}

        new_ids = con.execute(f"SELECT count(DISTINCT person_id) FROM {self.new_person_keys_table}").fetchone()[0]
        return {"persons": {**by(self.persons_table, "status"), "new person ids": int(new_ids)},
                "person_links": by(self.person_links_table, "match_rule"),
                "families": by(self.families_table, "status"),
                "exclusions": by(self.exclusions_table, "reason_code")}

    def review_frames(self, con: duckdb.DuckDBPyConnection, low: float, high: float
                      ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(scored, records, persons) for review.build_review_pairs, cut in SQL to what the review uses.

        persons: the AKTIF persons whose NIK another AKTIF person holds (the NIK_GANDA conflicts);
        scored: the pairs with probability in [low, high) (RAGU) or between two records of those persons;
        records (`records_sql`): every record of those pairs and of their persons (the dashboards show
        each person of a review pair with all its records). Every review pair follows from these
        alone, as from every scored pair, mention and person."""
        cols = [c for c in scoring.SCORED_COLUMNS if c not in ("record_key_l", "record_key_r")]
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE registry_review_persons AS
            WITH act AS (SELECT person_id, nik, status FROM {self.persons_table}
                         WHERE status = 'AKTIF' AND nik IS NOT NULL)
            SELECT * FROM act WHERE nik IN (SELECT nik FROM act GROUP BY nik HAVING count(*) > 1)""")
        con.execute(f"CREATE OR REPLACE TEMP TABLE registry_review_records_all AS {self.records_sql()}")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE registry_review_scored AS
            SELECT s.record_key_l AS key_a, s.record_key_r AS key_b, {', '.join('s.' + c for c in cols)}
            FROM {self.scored.table} s
            WHERE (s.match_probability >= ? AND s.match_probability < ?)
               OR (s.record_key_l IN (SELECT r.key FROM registry_review_records_all r
                                      JOIN registry_review_persons p USING (person_id))
                   AND s.record_key_r IN (SELECT r.key FROM registry_review_records_all r
                                          JOIN registry_review_persons p USING (person_id)))""", [low, high])
        try:
            scored = con.execute("SELECT * FROM registry_review_scored").df()
            records = con.execute("""
                WITH keys AS (SELECT key_a AS key FROM registry_review_scored
                              UNION SELECT key_b FROM registry_review_scored),
                people AS (SELECT person_id FROM registry_review_persons
                           UNION SELECT r.person_id FROM registry_review_records_all r JOIN keys USING (key))
                SELECT * FROM registry_review_records_all
                WHERE key IN (SELECT key FROM keys) OR person_id IN (SELECT person_id FROM people)
                ORDER BY key""").df()
            persons = con.execute("SELECT * FROM registry_review_persons ORDER BY person_id").df()
        finally:
            for t in ("registry_review_scored", "registry_review_records_all", "registry_review_persons"):
                con.execute(f"DROP TABLE IF EXISTS {t}")
        return scored, records, persons

    def scored_frame(self, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        """Every scored pair: key_a, key_b (record keys), match_probability, match_weight, gamma_*, mids, roles."""
        cols = [c for c in scoring.SCORED_COLUMNS if c not in ("record_key_l", "record_key_r")]
        return con.execute(f"SELECT record_key_l AS key_a, record_key_r AS key_b, {', '.join(cols)} "
                           f"FROM {self.scored.table}").df()

    def records_sql(self) -> str:
        """key, person_id and the side-by-side fields of every mention (LINK mentions: the person linked)."""
        return f"""
            SELECT DISTINCT ON (m.record_key) m.record_key AS key, p.person_id, m.mid, m.source, m.nik, m.nama,
                   m.jk AS jenis_kelamin, m.tgl_lahir, m.nokk, m.kode_desa
            FROM {self.mentions_table} m LEFT JOIN {self.links_table} l USING (mid)
            LEFT JOIN {self.persons_table} p ON p.cid = l.cid
            ORDER BY m.record_key, m.mid"""

    def records_frame(self, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        return con.execute(self.records_sql()).df()


def person_links(con: duckdb.DuckDBPyConnection, period: str, mentions: str, links: str, persons_table: str) -> str:
    """Table `LINKS_TABLE`: the month's rows of registry.person_links: every snapshot row the month reads and every
    event row delivered this month, with its person. An earlier month's event rows still count (the registry applies
    them all) but are listed in their own month's links: a row is identified by (period, file, row number)
    (SOURCES.md), and one file name's row 5 of October and of November under one period would be one identity."""
    events = ", ".join(f"'{s}'" for s in inputs.EVENT_SOURCES)
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {LINKS_TABLE} AS
    SELECT ?::VARCHAR AS period, m.source, m.source_file, m.source_row, p.person_id,
           l.match_rule, round(l.match_score, 6) AS match_score, m.source_period
    FROM {mentions} m JOIN {links} l USING (mid) LEFT JOIN {persons_table} p ON p.cid = l.cid
    WHERE m.source <> 'registry' AND (m.source NOT IN ({events}) OR m.source_period = ?)
    """, [period, period])
    return LINKS_TABLE


def check_previous_month(con: duckdb.DuckDBPyConnection, period: str) -> str | None:
    """Return the previous month to carry statuses from (None for the first month of data).

    Raises RegistryOrderError when the previous month should exist but was not built.
    """
    first = inputs.first_data_period(con)
    prev = previous_period(period)
    if first is None or period <= first:
        return None
    built = table_exists(con, "registry.persons") and con.execute(
        "SELECT count(*) FROM registry.persons WHERE period = ?", [prev]
    ).fetchone()[0] > 0
    if not built:
        raise RegistryOrderError(
            f"registry of {period} needs the registry of {prev}, which has not been built: "
            f"staged data starts in {first}; build the months in order ({first} first), "
            f"e.g. materialize partition {prev} of the registry assets before {period}."
        )
    return prev


def _decisions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Staff decisions to honour (decisions.py: key_a, key_b, decision)."""
    from dtks_pipeline.defs.registry import decisions

    return decisions.active_constraints(con)


def build_registry(con: duckdb.DuckDBPyConnection, period: str, *, decisions: pd.DataFrame | None = None) -> RegistryBuild:
    prev = check_previous_month(con, period)
    used = inputs.register_inputs(con, period)
    if not used.get("dtks"):
        raise RegistryOrderError(f"no DTKS snapshot has been staged for {period} or any earlier month")
    survivorship.ensure_key_tables(con)
    seconds: dict[str, float] = {}
    lap = Laps(seconds).lap

    mentions = mentions_mod.build_mentions(con, prev)
    lap("mentions")
    cands = candidates.candidate_pairs(con, mentions)  # counted per rule when scored
    lap("candidate_pairs")
    scored = scoring.score_pairs(con, cands)
    lap("scored_pairs")
    seconds.update({f"scored_pairs.{k}": v for k, v in scored.seconds.items() if k != "total"})
    links = clustering.cluster_mentions(con, mentions, scored.table,
                                        _decisions(con) if decisions is None else decisions)
    lap("clusters")
    survivors = survivorship.survive(con, period, mentions, links)
    lap("survivorship")
    events = statuses.status_events(con, mentions, links, survivors.table, prev)
    lap("statuses")
    fids = families_mod.family_ids(con, period, survivors.table)
    persons_t = families_mod.persons(con, period, survivors.table, fids.table, events)
    fam_excl = exclusions_mod.family_exclusions(con, mentions, links, persons_t, fids.table)
    families_t = families_mod.families(con, period, mentions, persons_t, fam_excl)
    lap("families")
    exclusions_t = exclusions_mod.exclusions(con, period, events, persons_t, fam_excl, families_t, EXCLUSIONS_COLUMNS)
    lap("exclusions")

    links_t = person_links(con, period, mentions, links, persons_t)
    lap("person_links")
    log.info("registry %s: candidate pairs per rule %s; stage seconds %s", period, cands.counts, seconds)
    return RegistryBuild(
        period=period, persons_table=persons_t, person_links_table=links_t, families_table=families_t,
        exclusions_table=exclusions_t, new_person_keys_table=survivors.new_person_keys,
        new_family_keys_table=fids.new_family_keys, used_periods=used, candidates=cands, scored=scored,
        mentions_table=mentions, links_table=links, seconds=seconds,
    )
