"""The registry of a month, in named stages, from staged rows to the four tables.

`build_registry(con, period)` reads staging (and the previous month's
registry, the persisted surrogate keys and the staff decisions) and returns
the frames of registry.persons, person_links, families, exclusions plus the
new rows of the key tables. It writes nothing: the asset writes everything in
one transaction. Each stage is a function in its own module with explicit
inputs and outputs (a table name it returns, or a frame):

  mentions (mentions.py) -> candidate pairs (candidates.py) -> scored pairs
  (scoring.py, the Splink model of linkage_model.py) -> clusters and links
  (clustering.py, honouring decisions) -> survivorship (survivorship.py) ->
  statuses (statuses.py) -> families (families.py) -> exclusions (exclusions.py)

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


@dataclass
class RegistryBuild:
    period: str
    persons: pd.DataFrame
    person_links: pd.DataFrame
    families: pd.DataFrame
    exclusions: pd.DataFrame
    new_person_keys: pd.DataFrame
    new_family_keys: pd.DataFrame
    used_periods: dict[str, list[str]] = field(default_factory=dict)
    candidates: candidates.CandidatePairs | None = None
    scored: scoring.ScoredPairs | None = None
    mentions_table: str | None = None
    links_table: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def scored_frame(self, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        """Every scored pair: key_a, key_b (record keys), match_probability, match_weight, gamma_*, mids, roles."""
        cols = [c for c in scoring.SCORED_COLUMNS if c not in ("record_key_l", "record_key_r")]
        return con.execute(f"SELECT record_key_l AS key_a, record_key_r AS key_b, {', '.join(cols)} "
                           f"FROM {self.scored.table}").df()

    def records_frame(self, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        """key, person_id and the side-by-side fields of every mention (LINK mentions: the person linked)."""
        return con.execute(f"""
            SELECT DISTINCT ON (m.record_key) m.record_key AS key, p.person_id, m.mid, m.source, m.nik, m.nama,
                   m.jk AS jenis_kelamin, m.tgl_lahir, m.nokk, m.kode_desa
            FROM {self.mentions_table} m LEFT JOIN {self.links_table} l USING (mid)
            LEFT JOIN {families_mod.PERSONS_TABLE} p ON p.cid = l.cid
            ORDER BY m.record_key, m.mid""").df()


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
    exclusions = exclusions_mod.exclusions(con, period, events, persons_t, fam_excl, families_t, EXCLUSIONS_COLUMNS)
    lap("exclusions")

    persons = con.execute(f"SELECT {', '.join(PERSONS_COLUMNS)} FROM {persons_t} ORDER BY person_id").df()
    families = con.execute(f"SELECT {', '.join(FAMILIES_COLUMNS)} FROM {families_t} ORDER BY family_id").df()
    person_links = con.execute(f"""
    SELECT ?::VARCHAR AS period, m.source, m.source_file, m.source_row, p.person_id,
           l.match_rule, round(l.match_score, 6) AS match_score, m.source_period
    FROM {mentions} m JOIN {links} l USING (mid) LEFT JOIN {persons_t} p ON p.cid = l.cid
    WHERE m.source <> 'registry'
    ORDER BY m.source, m.source_period, m.source_file, m.source_row
    """, [period]).df()
    lap("frames")
    log.info("registry %s: candidate pairs per rule %s; stage seconds %s", period, cands.counts, seconds)
    return RegistryBuild(
        period=period, persons=persons, person_links=person_links[LINKS_COLUMNS], families=families,
        exclusions=exclusions, new_person_keys=survivors.new_person_keys,
        new_family_keys=fids.new_family_keys, used_periods=used, candidates=cands, scored=scored,
        mentions_table=mentions, links_table=links, seconds=seconds,
    )
