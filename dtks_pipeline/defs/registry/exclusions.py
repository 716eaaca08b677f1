"""Stage 8 of the registry build: exclusions, each with the staged row as evidence.

- `family_exclusions`: MAMPU_MOBIL (a private passenger car of an AKTIF member,
  linked by the model), MAMPU_DESA and TIDAK_DITEMUKAN (village HAPUS for the
  linked person's family, or else the family of the row's NOKK); the earliest
  evidence per family and reason. Table `FAMILY_EXCLUSIONS`.
- `exclusions`: the month's rows of registry.exclusions as table `EXCLUSIONS_TABLE`:
  the person-level MENINGGAL / PINDAH (statuses.py) and the family-level rows
  of families still in the month.
"""
from __future__ import annotations

import duckdb

FAMILY_EXCLUSIONS = "registry_family_exclusions"
EXCLUSIONS_TABLE = "registry_exclusions_month"


def family_exclusions(con: duckdb.DuckDBPyConnection, mentions: str, links: str, persons_table: str, fids: str) -> str:
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {FAMILY_EXCLUSIONS} AS
    WITH linked AS (
      SELECT p.person_id, p.family_id, p.status, m.* FROM {links} l JOIN {mentions} m USING (mid)
      JOIN {persons_table} p ON p.cid = l.cid
    ), desa_rows AS (
      SELECT coalesce(p.family_id, f.family_id) AS family_id, m.*
      FROM {mentions} m JOIN {links} l USING (mid) LEFT JOIN {persons_table} p ON p.cid = l.cid
      LEFT JOIN {fids} f ON f.nokk = m.nokk
      WHERE m.source = 'desa' AND m.usulan = 'HAPUS' AND m.alasan IN ('MAMPU', 'TIDAK_DITEMUKAN')
    ), ex AS (
      SELECT family_id, 'MAMPU_MOBIL' AS reason_code, source, source_period, source_file, source_row,
             last_day(strptime(source_period || '-01', '%Y-%m-%d')::DATE) AS dt
      FROM linked WHERE source = 'samsat_kendaraan' AND coalesce(mobil_pribadi, false) AND status = 'AKTIF'
      UNION ALL
      SELECT family_id, CASE alasan WHEN 'MAMPU' THEN 'MAMPU_DESA' ELSE 'TIDAK_DITEMUKAN' END,
             source, source_period, source_file, source_row, tgl_event
      FROM desa_rows WHERE family_id IS NOT NULL
    )
    SELECT * EXCLUDE (rk) FROM (
      SELECT *, row_number() OVER (PARTITION BY family_id, reason_code
                                   ORDER BY dt NULLS LAST, source_period, source_file, source_row) AS rk FROM ex
    ) WHERE rk = 1
    """)
    return FAMILY_EXCLUSIONS


def exclusions(con: duckdb.DuckDBPyConnection, period: str, events: str, persons_table: str, family_excl: str,
               families_table: str, columns: list[str]) -> str:
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {EXCLUSIONS_TABLE} AS
    SELECT {', '.join(columns)} FROM (
    SELECT ?::VARCHAR AS period, p.family_id, p.person_id, e.status AS reason_code,
           e.source AS evidence_source, e.source_file AS evidence_file, e.source_row AS evidence_row,
           e.dt AS effective_date, e.source_period AS evidence_period
    FROM {events} e JOIN {persons_table} p USING (person_id)
    UNION ALL
    SELECT ?::VARCHAR, family_id, NULL, reason_code, source, source_file, source_row, dt, source_period
    FROM {family_excl} WHERE family_id IN (SELECT family_id FROM {families_table})
    ) ORDER BY family_id, reason_code, person_id
    """, [period, period])
    return EXCLUSIONS_TABLE
