"""Stages 7 of the registry build: persons and families.

- `family_ids`: one family per NOKK, its family_id stable through
  registry.family_keys (new NOKKs get the next K + 8 digits; their new rows
  in table `NEW_FAMILY_KEYS`).
- `persons`: survivors + family_id + status (statuses.py) as the table
  `PERSONS_TABLE` (registry.persons' columns plus cid).
- `families`: one row per family: head (hub_kel 1 and active first), village,
  decile (the DTKS mode, else the village TAMBAH's DESIL_USULAN), active
  members, status TIDAK_AKTIF (nobody active), DIKECUALIKAN (a family
  exclusion, exclusions.py) or AKTIF.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from dtks_pipeline.defs.registry.survivorship import FAMILY_KEYS

FAMILY_IDS = "registry_family_ids"
NEW_FAMILY_KEYS = "registry_new_family_keys"
PERSONS_TABLE = "registry_persons_month"
FAMILIES_TABLE = "registry_families_month"


@dataclass
class FamilyIds:
    table: str
    new_family_keys: str  # table (nokk, family_id, first_period)


def family_ids(con: duckdb.DuckDBPyConnection, period: str, survivors: str) -> FamilyIds:
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {FAMILY_IDS} AS
    WITH nokks AS (SELECT DISTINCT nokk FROM {survivors} WHERE nokk IS NOT NULL),
    fresh AS (SELECT nokk, row_number() OVER (ORDER BY nokk) AS n FROM nokks ANTI JOIN {FAMILY_KEYS} USING (nokk)),
    top AS (SELECT coalesce(max(CAST(substr(family_id, 2) AS BIGINT)), 0) AS top FROM {FAMILY_KEYS})
    SELECT n.nokk, fk.family_id, false AS is_new FROM nokks n JOIN {FAMILY_KEYS} fk USING (nokk)
    UNION ALL
    SELECT nokk, 'K' || lpad(CAST(top + n AS VARCHAR), 8, '0'), true FROM fresh, top
    """)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {NEW_FAMILY_KEYS} AS "
                f"SELECT nokk, family_id, ?::VARCHAR AS first_period FROM {FAMILY_IDS} WHERE is_new", [period])
    return FamilyIds(table=FAMILY_IDS, new_family_keys=NEW_FAMILY_KEYS)


def persons(con: duckdb.DuckDBPyConnection, period: str, survivors: str, fids: str, events: str) -> str:
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {PERSONS_TABLE} AS
    SELECT ?::VARCHAR AS period, s.person_id, s.nik, s.nama, s.jenis_kelamin, s.tgl_lahir, s.nokk,
           f.family_id, s.hub_kel, s.kode_desa,
           coalesce(e.status, 'AKTIF') AS status, e.dt AS status_date, e.source AS status_source, s.cid
    FROM {survivors} s LEFT JOIN {fids} f USING (nokk) LEFT JOIN {events} e USING (person_id)
    """, [period])
    return PERSONS_TABLE


def families(con: duckdb.DuckDBPyConnection, period: str, mentions: str, persons_table: str,
             family_exclusions: str) -> str:
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {FAMILIES_TABLE} AS
    WITH dtks_desil AS (
      SELECT nokk, mode(desil) AS desil FROM {mentions} WHERE source = 'dtks' AND desil IS NOT NULL GROUP BY nokk
    ), desa_desil AS (
      SELECT nokk, arg_max(desil_usulan, source_period || source_file || lpad(CAST(source_row AS VARCHAR), 9, '0')) AS desil
      FROM {mentions} WHERE source = 'desa' AND usulan = 'TAMBAH' AND desil_usulan IS NOT NULL GROUP BY nokk
    ), fam_desil AS (
      SELECT n.nokk, coalesce(d.desil, v.desil) AS desil
      FROM (SELECT DISTINCT nokk FROM {persons_table} WHERE nokk IS NOT NULL) n
      LEFT JOIN dtks_desil d USING (nokk) LEFT JOIN desa_desil v USING (nokk)
    ), members AS (
      SELECT p.*, row_number() OVER (PARTITION BY family_id ORDER BY
               (hub_kel = 1 AND status = 'AKTIF') DESC, (hub_kel = 1) DESC, (status = 'AKTIF') DESC,
               hub_kel NULLS LAST, tgl_lahir NULLS LAST, nik) AS head_rank
      FROM {persons_table} p WHERE family_id IS NOT NULL
    )
    SELECT ?::VARCHAR AS period, m.family_id, m.nokk,
           max(CASE WHEN head_rank = 1 THEN person_id END) AS kepala_person_id,
           coalesce(max(CASE WHEN head_rank = 1 THEN kode_desa END), mode(kode_desa)) AS kode_desa,
           any_value(d.desil) AS desil,
           count(*) FILTER (WHERE status = 'AKTIF') AS n_anggota_aktif,
           CASE WHEN count(*) FILTER (WHERE status = 'AKTIF') = 0 THEN 'TIDAK_AKTIF'
                WHEN m.family_id IN (SELECT family_id FROM {family_exclusions}) THEN 'DIKECUALIKAN'
                ELSE 'AKTIF' END AS status
    FROM members m LEFT JOIN fam_desil d USING (nokk)
    GROUP BY m.family_id, m.nokk
    """, [period])
    return FAMILIES_TABLE
