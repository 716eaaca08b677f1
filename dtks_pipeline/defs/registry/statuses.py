"""Stage 6 of the registry build: statuses (PROGRAMS.md "The registry of a month").

Input: mentions, mention links, survivors (person_id per cluster) and the
previous month. Output: table `STATUS_EVENTS` (`STATUS_COLUMNS`): per person
the status event that decides their status, the earliest of: a Dukcapil death
or move out of Buleleng, a village HAPUS MENINGGAL / PINDAH, DTKS
STA_KEBERADAAN 2 / 3, and the previous month's MENINGGAL / PINDAH (a status
never reverts). A person without an event is AKTIF.
"""
from __future__ import annotations

import duckdb

from dtks_pipeline.lib.warehouse import table_exists

STATUS_EVENTS = "registry_status_events"
STATUS_COLUMNS = ["person_id", "status", "dt", "source", "source_period", "source_file", "source_row", "prio"]
PERSON_REASONS = ("MENINGGAL", "PINDAH")


def status_events(con: duckdb.DuckDBPyConnection, mentions: str, links: str, survivors: str,
                  prev_period: str | None) -> str:
    prev = ("SELECT NULL::VARCHAR AS person_id, NULL::VARCHAR AS reason_code, NULL::DATE AS effective_date, "
            "NULL::VARCHAR AS evidence_source, NULL::VARCHAR AS evidence_period, NULL::VARCHAR AS evidence_file, "
            "NULL::BIGINT AS evidence_row LIMIT 0")
    params: list = []
    if prev_period and table_exists(con, "registry.exclusions"):
        prev = ("SELECT person_id, reason_code, effective_date, evidence_source, evidence_period, evidence_file, "
                "evidence_row FROM registry.exclusions WHERE period = ? AND reason_code IN ('MENINGGAL', 'PINDAH')")
        params = [prev_period]
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {STATUS_EVENTS} AS
    WITH linked AS (
      SELECT s.person_id, m.* FROM {links} l JOIN {mentions} m USING (mid) JOIN {survivors} s ON s.cid = l.cid
    ), ev AS (
      SELECT person_id, 'MENINGGAL' AS status, tgl_event AS dt, source, source_period, source_file, source_row, 1 AS prio
      FROM linked WHERE source = 'dukcapil_kematian'
      UNION ALL
      SELECT person_id, 'PINDAH', tgl_event, source, source_period, source_file, source_row, 1
      FROM linked WHERE source = 'dukcapil_pindah' AND coalesce(pindah_keluar, false)
      UNION ALL
      SELECT person_id, CASE alasan WHEN 'MENINGGAL' THEN 'MENINGGAL' ELSE 'PINDAH' END, tgl_event,
             source, source_period, source_file, source_row, 2
      FROM linked WHERE source = 'desa' AND usulan = 'HAPUS' AND alasan IN ('MENINGGAL', 'PINDAH')
      UNION ALL
      SELECT person_id, CASE sta_keberadaan WHEN 2 THEN 'MENINGGAL' ELSE 'PINDAH' END,
             last_day(strptime(source_period || '-01', '%Y-%m-%d')::DATE), source, source_period, source_file, source_row, 3
      FROM linked WHERE source = 'dtks' AND sta_keberadaan IN (2, 3)
      UNION ALL
      SELECT person_id, reason_code, effective_date, evidence_source, evidence_period, evidence_file, evidence_row, 0
      FROM ({prev})
    )
    SELECT {', '.join(STATUS_COLUMNS)} FROM (
      SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY dt NULLS LAST, (status = 'MENINGGAL') DESC, prio,
                                   source_period, source_file, source_row) AS rk
      FROM ev WHERE person_id IS NOT NULL
    ) WHERE rk = 1
    """, params)
    return STATUS_EVENTS
