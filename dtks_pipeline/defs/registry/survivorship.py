"""Stage 5 of the registry build: survivorship (a person's attributes and stable person_id).

Input: the mentions table and the mention links table (clustering.py).
Output: table `SURVIVORS` (`SURVIVOR_COLUMNS`): one row per person (cid) with
the surviving attributes and the person_id, plus the new rows of
registry.person_keys as table `NEW_PERSON_KEYS` (written by the asset in its transaction).

- attributes = the most credible REG row of the cluster (a staged row before a
  previous-month person, a NIK consistent with its own birth date and sex, the
  NIK most rows agree on, DTKS before village, the latest period), then the
  village PERBAIKI rows linked to the person (latest non-empty field wins),
  then Dukcapil moves inside Buleleng (latest destination village); the NIK is
  the one most of the person's rows carry, from every source linked to the
  person (`_nik_votes_sql`), unless a village PERBAIKI row corrects it;
- person_id: every key the cluster carries (record keys, weight 3; the
  previous-month person's PID key, weight 10; NIKs, weight 1) votes for the
  person_id that key named before (registry.person_keys); the best-voted id
  is kept by at most one cluster, every other cluster gets a new id.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from dtks_pipeline.lib import nik_typos

PERSON_KEYS = "registry.person_keys"
FAMILY_KEYS = "registry.family_keys"
SURVIVORS = "registry_survivors"
NEW_PERSON_KEYS = "registry_new_person_keys"
SURVIVOR_COLUMNS = ["cid", "person_id", "nik", "nama", "jenis_kelamin", "tgl_lahir", "nokk", "hub_kel", "kode_desa"]


@dataclass
class Survivors:
    table: str
    new_person_keys: str  # table (k, person_id, first_period)


def order_key(alias: str = "m") -> str:
    """A row's position in delivery order (period, file, row): 'latest' means the largest."""
    return f"({alias}.source_period || '|' || {alias}.source_file || '|' || lpad(CAST({alias}.source_row AS VARCHAR), 9, '0'))"


def ensure_key_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE TABLE IF NOT EXISTS {PERSON_KEYS} (k VARCHAR, person_id VARCHAR, first_period VARCHAR)")
    con.execute(f"CREATE TABLE IF NOT EXISTS {FAMILY_KEYS} (nokk VARCHAR, family_id VARCHAR, first_period VARCHAR)")


def _nik_votes_sql(mentions: str, links: str) -> str:
    """Table registry_nik_votes (cid, nik): the NIK most of the person's rows carry this month, from every source
    linked to the person (a DTKS row with a mistyped NIK beside the Samsat, sector or Dukcapil row that has it
    right), ties going to the NIK that agrees with the person's birth date and sex (registry_rep), then to a
    founding row's, then to the representative row's. The previous month's person is left out: it would vote for
    last month's choice."""
    birth_part = nik_typos.nik_birth_part("r.tgl_lahir", "r.jk")
    return f"""
    CREATE OR REPLACE TEMP TABLE registry_nik_votes AS
    WITH votes AS (
      SELECT l.cid, m.nik, count(*) AS n, bool_or(m.role = 'REG') AS founding
      FROM {links} l JOIN {mentions} m USING (mid)
      WHERE l.cid IS NOT NULL AND m.nik IS NOT NULL AND m.source <> 'registry'
      GROUP BY l.cid, m.nik
    )
    SELECT v.cid, arg_max(v.nik, (v.n, coalesce(substr(v.nik, 7, 6) = {birth_part}, false), v.founding,
                                   v.nik = r.nik, v.nik)) AS nik
    FROM votes v JOIN registry_rep r USING (cid)
    GROUP BY v.cid"""


def survive(con: duckdb.DuckDBPyConnection, period: str, mentions: str, links: str) -> Survivors:
    ensure_key_tables(con)
    ok = order_key()
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE registry_rep AS
    WITH c AS (SELECT l.cid, m.* FROM {links} l JOIN {mentions} m USING (mid) WHERE m.role = 'REG' AND l.cid IS NOT NULL),
    counted AS (SELECT *, count(*) OVER (PARTITION BY cid, nik) AS nik_n FROM c)
    SELECT * EXCLUDE (rk) FROM (
      SELECT *, row_number() OVER (PARTITION BY cid ORDER BY (source = 'registry'), nik_konsisten DESC, nik_n DESC,
             (source = 'dtks') DESC, source_period DESC, mid) AS rk
      FROM counted
    ) WHERE rk = 1
    """)
    con.execute(_nik_votes_sql(mentions, links))
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE registry_corrections AS
    SELECT l.cid,
      arg_max(m.nik, {ok}) FILTER (WHERE m.nik IS NOT NULL) AS nik,
      arg_max(m.nama, {ok}) FILTER (WHERE m.nama IS NOT NULL) AS nama,
      arg_max(m.jk, {ok}) FILTER (WHERE m.jk IS NOT NULL) AS jk,
      arg_max(m.tgl_lahir, {ok}) FILTER (WHERE m.tgl_lahir IS NOT NULL) AS tgl_lahir,
      arg_max(m.nokk, {ok}) FILTER (WHERE m.nokk IS NOT NULL) AS nokk,
      arg_max(m.hub_kel, {ok}) FILTER (WHERE m.hub_kel IS NOT NULL) AS hub_kel
    FROM {links} l JOIN {mentions} m USING (mid)
    WHERE l.cid IS NOT NULL AND m.source = 'desa' AND m.usulan = 'PERBAIKI'
    GROUP BY l.cid
    """)
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE registry_moves_in AS
    SELECT l.cid, arg_max(m.kode_tujuan, (strftime(m.tgl_event, '%Y%m%d') || {ok})) AS kode_desa
    FROM {links} l JOIN {mentions} m USING (mid)
    WHERE l.cid IS NOT NULL AND m.source = 'dukcapil_pindah' AND NOT coalesce(m.pindah_keluar, false)
      AND length(m.kode_tujuan) = 10 AND m.kode_tujuan LIKE '5108%'
    GROUP BY l.cid
    """)
    con.execute("""
    CREATE OR REPLACE TEMP TABLE registry_attrs AS
    SELECT r.cid,
      coalesce(c.nik, v.nik, r.nik) AS nik, coalesce(c.nama, r.nama) AS nama, coalesce(c.jk, r.jk) AS jenis_kelamin,
      coalesce(c.tgl_lahir, r.tgl_lahir) AS tgl_lahir, coalesce(c.nokk, r.nokk) AS nokk,
      coalesce(c.hub_kel, r.hub_kel) AS hub_kel, coalesce(mv.kode_desa, r.kode_desa) AS kode_desa
    FROM registry_rep r LEFT JOIN registry_corrections c USING (cid) LEFT JOIN registry_moves_in mv USING (cid)
    LEFT JOIN registry_nik_votes v USING (cid)
    """)
    # Stable person ids: vote with the keys every cluster carries.
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE registry_cluster_keys AS
    SELECT DISTINCT cid, k, w FROM (
      SELECT l.cid, m.record_key AS k, CASE WHEN m.source = 'registry' THEN 10 ELSE 3 END AS w
      FROM {links} l JOIN {mentions} m USING (mid) WHERE m.role = 'REG' AND l.cid IS NOT NULL
      UNION ALL
      SELECT l.cid, 'NIK:' || m.nik, 1 FROM {links} l JOIN {mentions} m USING (mid)
      WHERE m.role = 'REG' AND l.cid IS NOT NULL AND m.nik IS NOT NULL
      UNION ALL
      SELECT cid, 'NIK:' || nik, 1 FROM registry_attrs WHERE nik IS NOT NULL
    )
    """)
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE registry_pid AS
    WITH votes AS (
      SELECT ck.cid, pk.person_id, sum(ck.w) AS votes
      FROM registry_cluster_keys ck JOIN {PERSON_KEYS} pk USING (k) GROUP BY ALL
    ),
    best AS (
      SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY cid ORDER BY votes DESC, person_id) AS rk FROM votes)
      WHERE rk = 1
    ),
    kept AS (
      SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY votes DESC, cid) AS rk2 FROM best)
      WHERE rk2 = 1
    ),
    fresh AS (
      SELECT a.cid, row_number() OVER (ORDER BY a.nik, a.cid) AS n
      FROM registry_attrs a ANTI JOIN kept USING (cid)
    ),
    top AS (SELECT coalesce(max(CAST(substr(person_id, 2) AS BIGINT)), 0) AS top FROM {PERSON_KEYS})
    SELECT cid, person_id FROM kept
    UNION ALL
    SELECT cid, 'P' || lpad(CAST(top + n AS VARCHAR), 8, '0') FROM fresh, top
    """)
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {NEW_PERSON_KEYS} AS
    SELECT DISTINCT ON (ck.k) ck.k, p.person_id, ?::VARCHAR AS first_period
    FROM (SELECT cid, k, w FROM registry_cluster_keys UNION ALL SELECT cid, 'PID:' || person_id, 10 FROM registry_pid) ck
    JOIN registry_pid p USING (cid) ANTI JOIN {PERSON_KEYS} pk USING (k)
    ORDER BY ck.k, ck.w DESC, p.person_id
    """, [period])
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {SURVIVORS} AS
    SELECT {', '.join('a.' + c if c != 'person_id' else 'p.person_id' for c in SURVIVOR_COLUMNS)}
    FROM registry_attrs a JOIN registry_pid p USING (cid)
    """)
    return Survivors(table=SURVIVORS, new_person_keys=NEW_PERSON_KEYS)
