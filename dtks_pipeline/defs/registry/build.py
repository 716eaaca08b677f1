"""The registry of a month, from resolved mentions to the four tables.

`build_registry(con, period)` reads staging (and the previous month's
registry, and the persisted surrogate keys), and returns the frames of
registry.persons, person_links, families, exclusions plus the new rows of the
key tables. It writes nothing: the asset writes everything in one transaction.

Rules (docs/PROGRAMS.md "The registry of a month"):
- a person = one cluster of DTKS / TAMBAH rows (resolution.py);
- their attributes = the most credible row of the cluster (NIK consistent with
  its own birth date and sex, then the NIK most rows agree on, then DTKS),
  then the village PERBAIKI rows (latest non-empty field wins), then Dukcapil
  moves inside Buleleng (latest destination village);
- status = the earliest of the status events (Dukcapil death / move out,
  village HAPUS MENINGGAL / PINDAH, DTKS STA_KEBERADAAN 2 / 3) and the
  previous month's status, which never reverts;
- families = NOKK; exclusions with the staged row as evidence.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from dtks_pipeline.defs.registry import inputs, resolution
from dtks_pipeline.lib.warehouse import table_exists

PERSON_KEYS = "registry.person_keys"
FAMILY_KEYS = "registry.family_keys"

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


def previous_period(period: str) -> str:
    ts = pd.Period(period, freq="M") - 1
    return ts.strftime("%Y-%m")


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


def _ensure_key_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE TABLE IF NOT EXISTS {PERSON_KEYS} (k VARCHAR, person_id VARCHAR, first_period VARCHAR)")
    con.execute(f"CREATE TABLE IF NOT EXISTS {FAMILY_KEYS} (nokk VARCHAR, family_id VARCHAR, first_period VARCHAR)")


def _order_key(alias: str = "m") -> str:
    return f"({alias}.source_period || '|' || {alias}.source_file || '|' || lpad(CAST({alias}.source_row AS VARCHAR), 9, '0'))"


def build_registry(con: duckdb.DuckDBPyConnection, period: str) -> RegistryBuild:
    prev = check_previous_month(con, period)
    used = inputs.register_inputs(con, period)
    if not used.get("dtks"):
        raise RegistryOrderError(f"no DTKS snapshot has been staged for {period} or any earlier month")
    _ensure_key_tables(con)
    resolution.resolve(con, prev)
    con.execute("CREATE OR REPLACE TEMP TABLE prm AS SELECT ?::VARCHAR AS period, ?::VARCHAR AS prev", [period, prev])

    # 1. The most credible row of every cluster.
    con.execute("""
    CREATE OR REPLACE TEMP TABLE rep AS
    SELECT * EXCLUDE (rk) FROM (
      SELECT c.cid, m.*, row_number() OVER (PARTITION BY c.cid ORDER BY (m.source = 'registry'), m.nik_konsisten DESC, nik_n DESC,
             (m.source = 'dtks') DESC, m.source_period DESC, m.mid) AS rk
      FROM (SELECT c.*, count(*) OVER (PARTITION BY c.cid, m.nik) AS nik_n FROM clusters c JOIN m USING (mid)) c
      JOIN m USING (mid)
    ) WHERE rk = 1
    """)
    # 2. Village corrections and moves inside Buleleng.
    ok = _order_key()
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE corr AS
    SELECT l.cid,
      arg_max(m.nik, {ok}) FILTER (WHERE m.nik IS NOT NULL) AS nik,
      arg_max(m.nama, {ok}) FILTER (WHERE m.nama IS NOT NULL) AS nama,
      arg_max(m.jk, {ok}) FILTER (WHERE m.jk IS NOT NULL) AS jk,
      arg_max(m.tgl_lahir, {ok}) FILTER (WHERE m.tgl_lahir IS NOT NULL) AS tgl_lahir,
      arg_max(m.nokk, {ok}) FILTER (WHERE m.nokk IS NOT NULL) AS nokk,
      arg_max(m.hub_kel, {ok}) FILTER (WHERE m.hub_kel IS NOT NULL) AS hub_kel
    FROM mlinks l JOIN m USING (mid)
    WHERE l.cid IS NOT NULL AND m.source = 'desa' AND m.usulan = 'PERBAIKI'
    GROUP BY l.cid
    """)
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE moves_in AS
    SELECT l.cid, arg_max(m.kode_tujuan, (strftime(m.tgl_event, '%Y%m%d') || {ok})) AS kode_desa
    FROM mlinks l JOIN m USING (mid)
    WHERE l.cid IS NOT NULL AND m.source = 'dukcapil_pindah' AND NOT coalesce(m.pindah_keluar, false)
      AND length(m.kode_tujuan) = 10 AND m.kode_tujuan LIKE '5108%'
    GROUP BY l.cid
    """)
    con.execute("""
    CREATE OR REPLACE TEMP TABLE attrs AS
    SELECT r.cid,
      coalesce(c.nik, r.nik) AS nik, coalesce(c.nama, r.nama) AS nama, coalesce(c.jk, r.jk) AS jenis_kelamin,
      coalesce(c.tgl_lahir, r.tgl_lahir) AS tgl_lahir, coalesce(c.nokk, r.nokk) AS nokk,
      coalesce(c.hub_kel, r.hub_kel) AS hub_kel, coalesce(mv.kode_desa, r.kode_desa) AS kode_desa
    FROM rep r LEFT JOIN corr c USING (cid) LEFT JOIN moves_in mv USING (cid)
    """)

    # 3. Stable person ids: vote with the keys every cluster carries.
    con.execute("""
    CREATE OR REPLACE TEMP TABLE ckeys AS
    SELECT DISTINCT cid, k, w FROM (
      SELECT c.cid, CASE WHEN m.source = 'dtks' THEN 'ART:' || coalesce(m.id_dtks, '') || '/' || m.id_art
                         WHEN m.source = 'registry' THEN 'PID:' || m.prev_person_id
                         ELSE 'ROW:' || m.source || ':' || m.source_period || ':' || m.source_file || ':' || m.source_row END AS k,
             CASE WHEN m.source = 'registry' THEN 10 ELSE 3 END AS w
      FROM clusters c JOIN m USING (mid)
      UNION ALL
      SELECT c.cid, 'NIK:' || m.nik, 1 FROM clusters c JOIN m USING (mid) WHERE m.nik IS NOT NULL
      UNION ALL
      SELECT cid, 'NIK:' || nik, 1 FROM attrs WHERE nik IS NOT NULL
    )
    """)
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE pid AS
    WITH votes AS (
      SELECT ck.cid, pk.person_id, sum(ck.w) AS votes
      FROM ckeys ck JOIN {PERSON_KEYS} pk USING (k) GROUP BY ALL
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
      FROM attrs a ANTI JOIN kept USING (cid)
    ),
    top AS (SELECT coalesce(max(CAST(substr(person_id, 2) AS BIGINT)), 0) AS top FROM {PERSON_KEYS})
    SELECT cid, person_id, false AS is_new FROM kept
    UNION ALL
    SELECT cid, 'P' || lpad(CAST(top + n AS VARCHAR), 8, '0'), true FROM fresh, top
    """)
    new_person_keys = con.execute(f"""
    SELECT DISTINCT ON (ck.k) ck.k, p.person_id, (SELECT period FROM prm) AS first_period
    FROM (SELECT cid, k, w FROM ckeys UNION ALL SELECT cid, 'PID:' || person_id, 10 FROM pid) ck
    JOIN pid p USING (cid) ANTI JOIN {PERSON_KEYS} pk USING (k)
    ORDER BY ck.k, ck.w DESC, p.person_id
    """).df()

    # 4. Status events, earliest first; the previous month's status never reverts.
    prev_exclusions = "SELECT NULL::VARCHAR AS person_id, NULL::VARCHAR AS reason_code, NULL::DATE AS effective_date, " \
        "NULL::VARCHAR AS evidence_source, NULL::VARCHAR AS evidence_period, NULL::VARCHAR AS evidence_file, " \
        "NULL::BIGINT AS evidence_row LIMIT 0"
    if prev and table_exists(con, "registry.exclusions"):
        prev_exclusions = (
            "SELECT person_id, reason_code, effective_date, evidence_source, evidence_period, evidence_file, evidence_row "
            "FROM registry.exclusions WHERE period = (SELECT prev FROM prm) AND reason_code IN ('MENINGGAL', 'PINDAH')"
        )
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE events AS
    WITH linked AS (
      SELECT p.person_id, m.* FROM mlinks l JOIN m USING (mid) JOIN pid p ON p.cid = l.cid
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
      FROM ({prev_exclusions})
    )
    SELECT * EXCLUDE (rk) FROM (
      SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY dt NULLS LAST, (status = 'MENINGGAL') DESC, prio,
                                   source_period, source_file, source_row) AS rk
      FROM ev WHERE person_id IS NOT NULL
    ) WHERE rk = 1
    """)

    # 5. Family ids (NOKK), stable through registry.family_keys.
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE fid AS
    WITH nokks AS (SELECT DISTINCT nokk FROM attrs WHERE nokk IS NOT NULL),
    fresh AS (SELECT nokk, row_number() OVER (ORDER BY nokk) AS n FROM nokks ANTI JOIN {FAMILY_KEYS} USING (nokk)),
    top AS (SELECT coalesce(max(CAST(substr(family_id, 2) AS BIGINT)), 0) AS top FROM {FAMILY_KEYS})
    SELECT n.nokk, fk.family_id, false AS is_new FROM nokks n JOIN {FAMILY_KEYS} fk USING (nokk)
    UNION ALL
    SELECT nokk, 'K' || lpad(CAST(top + n AS VARCHAR), 8, '0'), true FROM fresh, top
    """)
    new_family_keys = con.execute("SELECT nokk, family_id, (SELECT period FROM prm) AS first_period FROM fid WHERE is_new").df()

    # 6. Persons.
    con.execute("""
    CREATE OR REPLACE TEMP TABLE persons AS
    SELECT (SELECT period FROM prm) AS period, p.person_id, a.nik, a.nama, a.jenis_kelamin, a.tgl_lahir, a.nokk,
           f.family_id, a.hub_kel, a.kode_desa,
           coalesce(e.status, 'AKTIF') AS status, e.dt AS status_date, e.source AS status_source, a.cid
    FROM attrs a JOIN pid p USING (cid) LEFT JOIN fid f USING (nokk) LEFT JOIN events e USING (person_id)
    """)

    # 7. Families.
    con.execute("""
    CREATE OR REPLACE TEMP TABLE fam_desil AS
    SELECT nokk, coalesce(
        (SELECT mode(desil) FROM m WHERE m.source = 'dtks' AND m.nokk = n.nokk AND desil IS NOT NULL),
        (SELECT arg_max(desil_usulan, source_period || source_file || lpad(CAST(source_row AS VARCHAR), 9, '0'))
           FROM m WHERE m.source = 'desa' AND m.usulan = 'TAMBAH' AND m.nokk = n.nokk AND desil_usulan IS NOT NULL)
    ) AS desil
    FROM (SELECT DISTINCT nokk FROM persons WHERE nokk IS NOT NULL) n
    """)
    # 8. Family-level exclusions: cars of active members, village HAPUS MAMPU / TIDAK_DITEMUKAN.
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE fam_excl AS
    WITH linked AS (
      SELECT p.person_id, p.family_id, p.status, m.* FROM mlinks l JOIN m USING (mid) JOIN persons p ON p.cid = l.cid
    ), desa_rows AS (
      -- a village HAPUS for a family: the linked person's family, else the family of the row's NOKK
      SELECT coalesce(p.family_id, f.family_id) AS family_id, m.*
      FROM m JOIN mlinks l USING (mid) LEFT JOIN persons p ON p.cid = l.cid LEFT JOIN fid f ON f.nokk = m.nokk
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
    con.execute("""
    CREATE OR REPLACE TEMP TABLE families AS
    WITH members AS (
      SELECT p.*, row_number() OVER (PARTITION BY family_id ORDER BY
               (hub_kel = 1 AND status = 'AKTIF') DESC, (hub_kel = 1) DESC, (status = 'AKTIF') DESC,
               hub_kel NULLS LAST, tgl_lahir NULLS LAST, nik) AS head_rank
      FROM persons p WHERE family_id IS NOT NULL
    )
    SELECT (SELECT period FROM prm) AS period, m.family_id, m.nokk,
           max(CASE WHEN head_rank = 1 THEN person_id END) AS kepala_person_id,
           coalesce(max(CASE WHEN head_rank = 1 THEN kode_desa END), mode(kode_desa)) AS kode_desa,
           any_value(d.desil) AS desil,
           count(*) FILTER (WHERE status = 'AKTIF') AS n_anggota_aktif,
           CASE WHEN count(*) FILTER (WHERE status = 'AKTIF') = 0 THEN 'TIDAK_AKTIF'
                WHEN m.family_id IN (SELECT family_id FROM fam_excl) THEN 'DIKECUALIKAN'
                ELSE 'AKTIF' END AS status
    FROM members m LEFT JOIN fam_desil d USING (nokk)
    GROUP BY m.family_id, m.nokk
    """)

    persons = con.execute(f"SELECT {', '.join(PERSONS_COLUMNS)} FROM persons ORDER BY person_id").df()
    families = con.execute(f"SELECT {', '.join(FAMILIES_COLUMNS)} FROM families ORDER BY family_id").df()
    links = con.execute("""
    SELECT (SELECT period FROM prm) AS period, m.source, m.source_file, m.source_row, p.person_id,
           l.match_rule, round(l.match_score, 3) AS match_score, m.source_period
    FROM m JOIN mlinks l USING (mid) LEFT JOIN pid p ON p.cid = l.cid
    WHERE m.source <> 'registry'
    ORDER BY m.source, m.source_period, m.source_file, m.source_row
    """).df()
    exclusions = con.execute("""
    SELECT (SELECT period FROM prm) AS period, p.family_id, p.person_id, e.status AS reason_code,
           e.source AS evidence_source, e.source_file AS evidence_file, e.source_row AS evidence_row,
           e.dt AS effective_date, e.source_period AS evidence_period
    FROM events e JOIN persons p USING (person_id)
    UNION ALL
    SELECT (SELECT period FROM prm), family_id, NULL, reason_code, source, source_file, source_row, dt, source_period
    FROM fam_excl WHERE family_id IN (SELECT family_id FROM families)
    ORDER BY 2, 4, 3
    """).df()
    return RegistryBuild(
        period=period, persons=persons, person_links=links[LINKS_COLUMNS], families=families,
        exclusions=exclusions[EXCLUSIONS_COLUMNS], new_person_keys=new_person_keys,
        new_family_keys=new_family_keys, used_periods=used,
    )
