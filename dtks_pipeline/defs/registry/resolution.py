"""Entity resolution: which staged rows are the same person.

Every staged row of a person-bearing source becomes a *mention* (temp table
`m`). Mentions that can found a person (`role = 'REG'`: DTKS rows and village
TAMBAH rows) are deduplicated among themselves; every other mention
(`role = 'LINK'`: Dukcapil, Samsat, sector lists, village HAPUS/PERBAIKI) is
linked to the best person or to nobody.

The method is Fellegi-Sunter in spirit (the vocabulary is Splink's):

1. Blocking: candidate pairs share a NIK blocking key (equal, one digit
   substituted, or two adjacent digits swapped; see lib/nik_typos.py). A
   name never creates a candidate pair on its own.
2. Comparisons: NIK (equal / typo), birth date, sex (a disagreement is
   neutral when exactly one of the two rows contradicts its own NIK: that
   row's date or sex was mistyped), name (canonical form with
   abbreviations expanded; agreement weighted by how rare the name is, so
   "I MADE SUDARMA" earns little), NOKK, village, address (Samsat: does it
   name the person's village, and their banjar?).
   A NIK one typo apart is as often a neighbour (same kecamatan, same birth
   date, next serial) as a mistyped NIK, so a typo pair on two different
   family cards is vetoed, and one without independent corroboration (same
   card, Samsat village + banjar, a birth date the NIK does not imply or
   the same village, a rare name) is held below the threshold.
3. A match weight (sum of log2 Bayes factors) per pair; pairs at or above
   `MATCH_THRESHOLD` match. Weights are set by hand for precision: a false
   merge can pay the wrong person, a missed duplicate costs less.
4. Clusters: connected components of matching REG pairs (scipy, vectorised).
5. Links: each LINK mention goes to the cluster with the best weight, if that
   weight passes the threshold and no other cluster comes close.

Everything runs as DuckDB SQL over the whole export; no Python loop per row.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from dtks_pipeline.lib import names, nik_typos

# log2 Bayes factors (hand-set; see module docstring).
W_NIK_SAMA = 10.0
W_NIK_TYPO = 5.0
W_DOB_AGREE = 6.0
W_DOB_DISAGREE = -8.0
W_SEX_AGREE = 0.5
W_SEX_DISAGREE = -6.0
W_NAME_VARIANT = 2.0        # one token misspelt (one edit, the spelling rare next to the other)
W_NAME_INITIALS = 1.0       # same tokens, some reduced to initials
TYPO_FREQ_RATIO = 0.1       # a misspelling is at most this frequent relative to the name it spoils
W_NAME_DISAGREE = -8.0
W_NAME_EQUAL_MIN = 2.0      # agreement on the commonest names
W_NAME_EQUAL_MAX = 12.0     # agreement on a unique name
W_NOKK_AGREE = 2.0
W_DESA_AGREE = 1.0
W_DOB_IMPLIED = 1.0         # REG rows with NIKs one typo apart: the birth date is implied by the NIK
W_NOKK_TYPO_AGREE = 4.0     # ... and the same family card is what makes them one person
W_NOKK_TYPO_DISAGREE = -20.0  # NIKs one typo apart on two different family cards: two people (a veto)
W_TYPO_UNCORROBORATED = -10.0  # a NIK typo and a name are not enough: see `_typo_corroborated_sql`
RARE_NAME_MAX_ROWS = 3      # a comparable name on at most this many registry rows is rare enough to corroborate
W_ALAMAT_AGREE = 5.0        # Samsat address names the person's village
W_BANJAR_AGREE = 1.0        # ... and their banjar (hamlet)
WILAYAH_CSV = Path(__file__).resolve().parents[2] / "reference" / "wilayah_buleleng.csv"
MATCH_THRESHOLD = 12.0
AMBIGUITY_MARGIN = 3.0      # a runner-up this close to the best makes a link ambiguous


def build_mentions(con: duckdb.DuckDBPyConnection, prev_period: str | None = None) -> None:
    """Temp table `m`: one row per staged row of every person-bearing source (views in_*).

    With `prev_period`, every person of that month's registry is one more REG
    mention (source 'registry', no staged row): a person stays in the
    registry when this month's export lost their row (rejected at ingestion),
    and keeps their person_id through it.
    """
    prev_sql = ""
    if prev_period:
        prev_sql = f"""
    UNION ALL BY NAME
    SELECT 'registry' AS source, period AS source_period, CAST(NULL AS VARCHAR) AS source_file,
           CAST(NULL AS BIGINT) AS source_row, 'REG' AS role, nik, nokk, nama, jenis_kelamin AS jk, tgl_lahir,
           hub_kel, kode_desa, person_id AS prev_person_id
    FROM registry.persons WHERE period = '{prev_period}'"""
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE m_raw AS
    SELECT 'dtks' AS source, period AS source_period, source_file, source_row, 'REG' AS role,
           nik, nokk, nama, jenis_kelamin AS jk, tgl_lahir, hub_kel, kode_desa,
           concat_ws(' ', alamat, banjar) AS alamat, banjar, id_art, id_dtks, desil, sta_keberadaan,
           CAST(NULL AS VARCHAR) AS usulan, CAST(NULL AS VARCHAR) AS alasan, CAST(NULL AS INTEGER) AS desil_usulan,
           CAST(NULL AS DATE) AS tgl_event, CAST(NULL AS BOOLEAN) AS pindah_keluar,
           CAST(NULL AS VARCHAR) AS kode_tujuan, CAST(NULL AS BOOLEAN) AS mobil_pribadi,
           CAST(NULL AS VARCHAR) AS prev_person_id
    FROM in_dtks
    UNION ALL BY NAME
    SELECT 'desa' AS source, period AS source_period, source_file, source_row,
           CASE WHEN usulan = 'TAMBAH' THEN 'REG' ELSE 'LINK' END AS role,
           nik, nokk, nama, jenis_kelamin AS jk, tgl_lahir, hub_kel, kode_desa, alamat,
           usulan, alasan, desil_usulan, tgl_musdes AS tgl_event
    FROM in_desa
    UNION ALL BY NAME
    SELECT 'dukcapil_kematian' AS source, period AS source_period, source_file, source_row, 'LINK' AS role,
           nik, nama, jenis_kelamin AS jk, tgl_lahir, kode_desa, tgl_meninggal AS tgl_event
    FROM in_dukcapil_kematian
    UNION ALL BY NAME
    SELECT 'dukcapil_pindah' AS source, period AS source_period, source_file, source_row, 'LINK' AS role,
           nik, nokk, nama, kode_desa_asal AS kode_desa, tgl_pindah AS tgl_event, pindah_keluar,
           kode_wilayah_tujuan AS kode_tujuan
    FROM in_dukcapil_pindah
    UNION ALL BY NAME
    SELECT 'samsat_kendaraan' AS source, period AS source_period, source_file, source_row, 'LINK' AS role,
           nik_pemilik AS nik, nama_pemilik AS nama, alamat_pemilik AS alamat, mobil_pribadi
    FROM in_samsat_kendaraan
    UNION ALL BY NAME
    SELECT 'nelayan' AS source, period AS source_period, source_file, source_row, 'LINK' AS role,
           nik, nama, tgl_lahir, kode_desa FROM in_nelayan
    UNION ALL BY NAME
    SELECT 'angkutan' AS source, period AS source_period, source_file, source_row, 'LINK' AS role,
           nik, nama, tgl_lahir FROM in_angkutan
    UNION ALL BY NAME
    SELECT 'umkm' AS source, period AS source_period, source_file, source_row, 'LINK' AS role,
           nik, nama, tgl_lahir, kode_desa FROM in_umkm
    {prev_sql}
    """)
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE m AS
    SELECT row_number() OVER (ORDER BY CASE source WHEN 'dtks' THEN 0 WHEN 'desa' THEN 1 WHEN 'registry' THEN 2 ELSE 3 END, source, source_period, source_file, source_row, prev_person_id) AS mid, *,
           {names.comparable_sql('nama')} AS nama_c,
           {names.core_sql('nama')} AS nama_core,
           (nik IS NOT NULL AND tgl_lahir IS NOT NULL
            AND (substr(nik, 7, 6) = {nik_typos.nik_birth_part('tgl_lahir', 'jk')}
                 OR (jk IS NULL AND substr(nik, 7, 6) IN ({nik_typos.nik_birth_part('tgl_lahir', "'L'")},
                                                           {nik_typos.nik_birth_part('tgl_lahir', "'P'")})))
           ) AS nik_konsisten
    FROM m_raw
    """)
    villages = pd.read_csv(WILAYAH_CSV, dtype=str)
    villages = villages[villages["tingkat"].isin(["desa", "kelurahan"])]
    villages = pd.DataFrame({"kode_desa": villages["kode"].str.replace(".", "", regex=False),
                             "desa_key": villages["nama"].str.upper().str.replace(r"[^A-Z]", "", regex=True)})
    con.register("_villages", villages)
    con.execute("CREATE OR REPLACE TEMP TABLE desa_names AS SELECT * FROM _villages")
    con.unregister("_villages")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE m AS
    SELECT m.* EXCLUDE (banjar), string_split(m.nama_c, ' ') AS nama_tok,
           regexp_replace(upper(coalesce(m.alamat, '')), '[^A-Z]', '', 'g') AS alamat_key, d.desa_key,
           {_banjar_key_sql('m.banjar', 'm.alamat')} AS banjar_key,
           count(*) FILTER (WHERE role = 'REG' AND source <> 'registry') OVER (PARTITION BY nama_c) AS nama_freq
    FROM m LEFT JOIN desa_names d USING (kode_desa)
    """)


def _banjar_key(text: str) -> str:
    return f"regexp_replace({text}, '[^A-Z]', '', 'g')"


def _banjar_key_sql(banjar_col: str, alamat_col: str) -> str:
    """The banjar (hamlet) of a row, letters only: DTKS has it in its own column ('BANJAR DINAS KAUH'),
    Samsat and village files inside the address ('JL. ..., BANJAR DINAS KAUH, DESA LES, KEC. ...')."""
    own = _banjar_key(f"regexp_replace(upper({banjar_col}), '^\\s*(BANJAR\\s+DINAS|BANJAR|BR\\.?|DUSUN)\\s+', '')")
    in_address = _banjar_key(
        f"regexp_extract(upper(coalesce({alamat_col}, '')), "
        f"'BANJAR\\s+DINAS\\s+([A-Z ]+?)\\s*(,|\\bDESA\\b|\\bKEL\\b|$)', 1)"
    )
    return f"CASE WHEN {banjar_col} IS NOT NULL AND trim({banjar_col}) <> '' THEN {own} ELSE {in_address} END"


def _typo_corroborated_sql() -> str:
    """When two rows' NIKs are one typo apart, what besides the name says they are one person.

    NIK neighbours are real: two people registered in the same kecamatan on the
    same birth date get consecutive serials, so their NIKs differ in one digit
    and carry the same birth date, and Balinese names repeat (I MADE SUDARMA).
    A typo pair therefore needs one more independent agreement:
    - the same family card (when both rows carry one: a different card vetoes, see W_NOKK_TYPO_DISAGREE);
    - Samsat: the owner's address names the person's village and banjar;
    - the same birth date, where the typo sits in the NIK's birth-date digits
      (the NIK did not already imply it) or the row names the same village;
    - the same name, and a rare one.
    """
    return f"""(
        (a.nokk IS NOT NULL AND a.nokk = b.nokk)
        OR (a.source = 'samsat_kendaraan' AND b.desa_key IS NOT NULL AND contains(a.alamat_key, b.desa_key)
            AND a.banjar_key <> '' AND a.banjar_key = b.banjar_key)
        OR (a.tgl_lahir = b.tgl_lahir AND (substr(a.nik, 7, 6) <> substr(b.nik, 7, 6) OR a.kode_desa = b.kode_desa))
        OR (a.nama_c = b.nama_c AND b.nama_freq <= {RARE_NAME_MAX_ROWS})
    )"""


def _name_weight_sql(n_reg: int) -> str:
    """Name comparison levels (a, b: mentions; da/db: their one differing token, fa/fb its frequency).

    Equal comparable names earn log2(N / frequency): little for "MADE SUDARMA",
    much for a rare name. One token apart by one edit is a spelling variant
    only when one of the two spellings is rare next to the other (a typo);
    two common spellings ("SUARTA" / "SUNARTA") are two different names.
    """
    initials = (
        "(len(a.nama_tok) = len(b.nama_tok) AND list_bool_and(list_transform(range(1, len(a.nama_tok) + 1), "
        "lambda i: a.nama_tok[i] = b.nama_tok[i] "
        "OR (len(a.nama_tok[i]) = 1 AND starts_with(b.nama_tok[i], a.nama_tok[i])) "
        "OR (len(b.nama_tok[i]) = 1 AND starts_with(a.nama_tok[i], b.nama_tok[i])))))"
    )
    return f"""CASE
        WHEN a.nama_c IS NULL OR b.nama_c IS NULL OR a.nama_c = '' OR b.nama_c = '' THEN 0
        WHEN a.nama_c = b.nama_c THEN greatest({W_NAME_EQUAL_MIN}, least({W_NAME_EQUAL_MAX},
             log2({max(n_reg, 1)}::DOUBLE / greatest(b.nama_freq, 1))))
        WHEN da IS NOT NULL AND damerau_levenshtein(da, db) <= 1 AND length(da) >= 3 AND length(db) >= 3
             AND least(coalesce(fa, 0), coalesce(fb, 0)) <= {TYPO_FREQ_RATIO} * greatest(coalesce(fa, 0), coalesce(fb, 0))
             THEN {W_NAME_VARIANT}
        WHEN {initials} THEN {W_NAME_INITIALS}
        -- same NIK and birth date, names one or two edits apart: a NIK is one person's, no evidence either way
        WHEN a.nik = b.nik AND a.tgl_lahir = b.tgl_lahir AND damerau_levenshtein(a.nama_c, b.nama_c) <= 2 THEN 0
        -- same NIK, and the name may be the very field a village corrected: no evidence either way
        WHEN a.nik = b.nik AND (a.usulan = 'PERBAIKI' OR a.source = 'registry' OR b.source = 'registry') THEN 0
        ELSE {W_NAME_DISAGREE} END"""


def score_pairs(con: duckdb.DuckDBPyConnection) -> None:
    """Temp table `pairs(a, b, nik_kind, weight)`: REG-REG pairs (a < b) and LINK-REG pairs (a LINK, b REG)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE mkeys AS {nik_typos.blocking_keys_sql('m')}")
    con.execute("""
    CREATE OR REPLACE TEMP TABLE cand AS
    SELECT DISTINCT ka.id AS a, kb.id AS b
    FROM mkeys ka JOIN mkeys kb ON ka.k = kb.k AND ka.id <> kb.id
    JOIN m ma ON ma.mid = ka.id JOIN m mb ON mb.mid = kb.id
    WHERE mb.role = 'REG' AND (ma.role = 'LINK' OR ka.id < kb.id)
    """)
    con.execute("""
    CREATE OR REPLACE TEMP TABLE tokfreq AS
    SELECT tok, count(*) AS n FROM (SELECT unnest(nama_tok) AS tok FROM m WHERE role = 'REG' AND source <> 'registry')
    GROUP BY tok
    """)
    n_reg = con.execute("SELECT count(*) FROM m WHERE role = 'REG' AND source <> 'registry'").fetchone()[0]
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE pairs AS
    WITH d AS (
      SELECT c.a, c.b,
             CASE WHEN len(a.nama_tok) = len(b.nama_tok) THEN
               list_filter(range(1, len(a.nama_tok) + 1), lambda i: a.nama_tok[i] <> b.nama_tok[i]) END AS diff
      FROM cand c JOIN m a ON a.mid = c.a JOIN m b ON b.mid = c.b
    ), dt AS (
      SELECT d.a, d.b,
             CASE WHEN len(d.diff) = 1 THEN ma.nama_tok[d.diff[1]] END AS da,
             CASE WHEN len(d.diff) = 1 THEN mb.nama_tok[d.diff[1]] END AS db
      FROM d JOIN m ma ON ma.mid = d.a JOIN m mb ON mb.mid = d.b
    ), f AS (
      SELECT dt.a AS a_id, dt.b AS b_id, {nik_typos.edit_kind_sql('a.nik', 'b.nik')} AS nik_kind,
             (a.role = 'REG' AND a.nik <> b.nik) AS reg_typo,
             CASE WHEN a.nokk IS NOT NULL AND b.nokk IS NOT NULL AND a.nokk <> b.nokk THEN 1 ELSE 0 END AS nokk_differs,
             {_name_weight_sql(n_reg)} AS w_name,
             CASE WHEN a.tgl_lahir IS NULL OR b.tgl_lahir IS NULL THEN 0
                  WHEN a.tgl_lahir = b.tgl_lahir THEN {W_DOB_AGREE}
                  WHEN a.nik_konsisten <> b.nik_konsisten THEN 0 ELSE {W_DOB_DISAGREE} END AS w_dob,
             CASE WHEN a.jk IS NULL OR b.jk IS NULL THEN 0
                  WHEN a.jk = b.jk THEN {W_SEX_AGREE}
                  WHEN a.nik_konsisten <> b.nik_konsisten THEN 0 ELSE {W_SEX_DISAGREE} END AS w_sex,
             CASE WHEN a.nokk IS NOT NULL AND a.nokk = b.nokk THEN {W_NOKK_AGREE} ELSE 0 END AS w_nokk,
             CASE WHEN a.kode_desa IS NOT NULL AND a.kode_desa = b.kode_desa THEN {W_DESA_AGREE} ELSE 0 END AS w_desa,
             CASE WHEN a.source = 'samsat_kendaraan' AND b.desa_key IS NOT NULL AND a.alamat_key <> ''
                       AND contains(a.alamat_key, b.desa_key)
                  THEN {W_ALAMAT_AGREE} + CASE WHEN a.banjar_key <> '' AND a.banjar_key = b.banjar_key
                                               THEN {W_BANJAR_AGREE} ELSE 0 END
                  ELSE 0 END AS w_alamat,
             {_typo_corroborated_sql()} AS corroborated
      FROM (SELECT dt.*, ta.n AS fa, tb.n AS fb FROM dt LEFT JOIN tokfreq ta ON ta.tok = dt.da
            LEFT JOIN tokfreq tb ON tb.tok = dt.db) dt
      JOIN m a ON a.mid = dt.a JOIN m b ON b.mid = dt.b
    )
    SELECT a_id AS a, b_id AS b, nik_kind,
           CASE nik_kind WHEN 'SAMA' THEN {W_NIK_SAMA} ELSE {W_NIK_TYPO} END
             + w_name + w_sex + w_desa + w_alamat
             -- two registry rows with NIKs one typo apart: the NIK already carries the birth date (serial
             -- neighbours are born the same day), so the date adds little; the family card decides
             + CASE WHEN reg_typo THEN least(w_dob, {W_DOB_IMPLIED}) ELSE w_dob END
             + CASE WHEN nik_kind = 'SAMA' THEN w_nokk
                    -- NIKs one typo apart on two different family cards: two people
                    WHEN nokk_differs = 1 THEN {W_NOKK_TYPO_DISAGREE}
                    WHEN reg_typo AND w_nokk > 0 THEN {W_NOKK_TYPO_AGREE}
                    ELSE w_nokk END
             + CASE WHEN nik_kind <> 'SAMA' AND NOT coalesce(corroborated, false) THEN {W_TYPO_UNCORROBORATED} ELSE 0 END
               AS weight
    FROM f WHERE nik_kind IS NOT NULL
    """)


def cluster_registry_mentions(con: duckdb.DuckDBPyConnection) -> None:
    """Temp table `clusters(mid, cid)`: every REG mention with its cluster (cid = smallest mid)."""
    reg = con.execute("SELECT mid FROM m WHERE role = 'REG' ORDER BY mid").fetchnumpy()["mid"].astype(np.int64)
    edges = con.execute(
        f"SELECT p.a, p.b FROM pairs p JOIN m ON m.mid = p.a WHERE m.role = 'REG' AND p.weight >= {MATCH_THRESHOLD}"
    ).fetchnumpy()
    if len(reg) == 0:
        frame = pd.DataFrame({"mid": pd.Series([], dtype="int64"), "cid": pd.Series([], dtype="int64")})
    else:
        index = pd.Index(reg)
        ia = index.get_indexer(edges["a"].astype(np.int64)) if len(edges["a"]) else np.array([], dtype=np.int64)
        ib = index.get_indexer(edges["b"].astype(np.int64)) if len(edges["b"]) else np.array([], dtype=np.int64)
        graph = coo_matrix((np.ones(len(ia)), (ia, ib)), shape=(len(reg), len(reg)))
        _, labels = connected_components(graph, directed=False)
        frame = pd.DataFrame({"mid": reg, "label": labels})
        frame["cid"] = frame.groupby("label")["mid"].transform("min")
        frame = frame[["mid", "cid"]]
    con.register("_clusters_frame", frame)
    con.execute("CREATE OR REPLACE TEMP TABLE clusters AS SELECT mid::BIGINT AS mid, cid::BIGINT AS cid FROM _clusters_frame")
    con.unregister("_clusters_frame")


def link_mentions(con: duckdb.DuckDBPyConnection) -> None:
    """Temp table `mlinks(mid, cid, match_rule, match_score)` for every mention.

    REG mentions: the cluster's founding row has rule DTKS or TAMBAH_BARU; the
    others carry GANDA_<nik kind> (a duplicate) and their best weight to
    the cluster. LINK mentions: NIK_<kind> with the best weight, or cid NULL
    and TIDAK_DITEMUKAN (nothing passes, or two persons are equally likely).
    """
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE mlinks AS
    WITH reg_best AS (
      -- best matching edge from each REG mention to another member of its cluster
      SELECT x.mid, arg_max(p.nik_kind, p.weight) AS nik_kind, max(p.weight) AS weight
      FROM (SELECT a AS mid, b AS other, nik_kind, weight FROM pairs UNION ALL
            SELECT b AS mid, a AS other, nik_kind, weight FROM pairs) p
      JOIN clusters x ON x.mid = p.mid JOIN clusters y ON y.mid = p.other AND y.cid = x.cid
      WHERE p.weight >= {MATCH_THRESHOLD}
      GROUP BY x.mid
    ),
    reg AS (
      SELECT c.mid, c.cid,
             CASE WHEN c.mid = c.cid THEN CASE WHEN m.source = 'dtks' THEN 'DTKS' ELSE 'TAMBAH_BARU' END
                  WHEN m.source = 'desa' THEN 'TAMBAH_TERDAFTAR_NIK_' || rb.nik_kind
                  ELSE 'GANDA_NIK_' || rb.nik_kind END AS match_rule,
             rb.weight AS match_score
      FROM clusters c JOIN m USING (mid) LEFT JOIN reg_best rb USING (mid)
    ),
    per_cluster AS (
      SELECT p.a AS mid, c.cid, max(p.weight) AS weight, arg_max(p.nik_kind, p.weight) AS nik_kind
      FROM pairs p JOIN m ON m.mid = p.a AND m.role = 'LINK' JOIN clusters c ON c.mid = p.b
      GROUP BY p.a, c.cid
    ),
    ranked AS (
      SELECT *, row_number() OVER (PARTITION BY mid ORDER BY weight DESC, cid) AS rk,
             lead(weight) OVER (PARTITION BY mid ORDER BY weight DESC, cid) AS runner_up
      FROM per_cluster
    ),
    lnk AS (
      SELECT m.mid,
             CASE WHEN r.weight >= {MATCH_THRESHOLD}
                       AND (r.runner_up IS NULL OR r.runner_up < r.weight - {AMBIGUITY_MARGIN}
                            OR r.runner_up < {MATCH_THRESHOLD})
                  THEN r.cid END AS cid,
             r.nik_kind, r.weight
      FROM m LEFT JOIN ranked r ON r.mid = m.mid AND r.rk = 1
      WHERE m.role = 'LINK'
    )
    SELECT mid, cid, match_rule, match_score FROM reg
    UNION ALL
    SELECT mid, cid,
           CASE WHEN cid IS NULL THEN 'TIDAK_DITEMUKAN' ELSE 'NIK_' || nik_kind END AS match_rule,
           weight AS match_score
    FROM lnk
    """)


def resolve(con: duckdb.DuckDBPyConnection, prev_period: str | None = None) -> None:
    """Run mentions -> pairs -> clusters -> links on the views in_* of the connection."""
    build_mentions(con, prev_period)
    score_pairs(con)
    cluster_registry_mentions(con)
    link_mentions(con)
