"""Stage 1 of the registry build: mentions.

Every staged row of a person-bearing source of month P becomes one *mention*,
and so does every person of the previous month's registry. A mention that can
found a person has `role = 'REG'` (DTKS rows, village TAMBAH rows, previous
registry persons); every other mention (Dukcapil, Samsat, sector lists, village
HAPUS / PERBAIKI) has `role = 'LINK'` and is only ever linked to a person.

Each mention carries a stable `record_key` (the key staff decisions and
review pairs refer to, see `RECORD_KEY_SQL`) and the features the linkage
model compares, all computed from the data itself:

- `nama_norm`: the name upper-cased, letters only, spaces collapsed (no list
  of abbreviations: how much a token is worth is learned from its frequency);
  `nama_tok` its tokens, `nama_ini` their first letters (a bit set),
  `nama_huruf` every letter of the name (a bit set: a cheap test before the
  letters-in-order comparison),
  `nama_canon` the tokens with abbreviations expanded: a 2-4 letter token
  without a vowel after its first letter whose letters all appear in order
  in an at least as frequent token with the same
  first letter (MD -> MADE, KMG -> KOMANG, NGH -> NENGAH, GST -> GUSTI) stands
  for the most frequent such token of the month's names: learned, not listed;
  `nama_sig` / `nama_canon_sig` 64-bit signatures of both (cheap subset tests);
- `nama_inti`: the name's rarest token this month (for "I MADE SUDARMA" it is
  SUDARMA, for "IDA BAGUS PUTU OKA" OKA): birth-order names, sex prefixes and
  caste titles are common, so they are never the rarest. Used for blocking
  and for the term-frequency adjustment of partial name agreements;
- `nik_keys`: the NIK with one pair of adjacent digits left out (15 keys): two NIKs one
  substitution or one adjacent transposition apart always share a key (an
  exploding blocking rule);
- `nama_lahir`: the name and the birth date, the block of an EM pass (linkage_model.EM_BLOCKS);
- `nik_konsisten`: the NIK's birth part (DDMMYY, +40 for women) agrees with
  the row's own birth date and sex;
- `kecamatan`, `desa_key` (the village's name, letters only), `alamat_key` (the address up to its kecamatan),
  `street_key`, `banjar_key`: the place, for rows that have a village code
  and for Samsat rows whose address names the village and banjar in words;
- `nokk_blok`: the NOKK as a blocking key, empty for a card carried by more
  than `MAX_FAMILY_MENTIONS` mentions (a placeholder, not a family);
- `nik_luar_lahir`: the NIK without its birth part (region and serial, digits
  1-6 and 13-16), and `nik_luar_lahir_blok` the same as a blocking key, empty
  when more than `MAX_PERSON_MENTIONS` mentions share it. Where serials are
  few (the first person registered on a date in a kecamatan is 0001) nearly
  every key is shared by hundreds and blocks nothing; where they spread, two
  rows whose birth date and NIK were damaged together still meet;
- `nik_lahir`: the NIK's region and birth part (digits 1-12): for a row
  without a birth date (Samsat) the birth date its NIK carries; with
  `nama_kerangka` a blocking key for a car whose NIK is mistyped in its serial;
- `nama_kerangka`: the consonant skeleton of the name's last token (its first
  letter, then its consonants but H, W, Y, a doubled letter once: PASEK and
  PSK give PSK), a blocking key for rows without a card whose name and NIK
  are both damaged; `nama_kerangka_tok` the skeleton of every token, which
  the model compares (old spellings: SOETAMA and SUTAMA, WAHIOENI and WAHYUNI);
- `desa_blok`: the mention's village, by its code, else the village its address names (the one named
  last: a banjar comes before its village); with it the keys of the name-and-place rules,
  `nama_desa_blok` (name + village code), `nama_alamat_blok` (rarest token + street + village),
  `nama_banjar_blok` (rarest token + banjar + village) and `kerangka_banjar_blok` (skeleton of the last
  token + banjar + village), each empty where more than `MAX_BLOCK_MENTIONS` mentions share it (block
  purging): plain equi-join keys, so that their pairs grow with the mentions and not with the square of
  a village's population.

A previous-month person is *carried* (`carried_mid`) when one of this month's
mentions has a record key that named that person last month (its DTKS row, its
village TAMBAH row): it then joins that mention's person. Only the others
(their row was rejected this month), and those whose carrier's NIK or card
differs from theirs (candidates.scoring_input), are scored. `key_known`: the
mention's record key named a person in an earlier month (registry.person_keys).
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from dtks_pipeline.defs.registry.decisions import record_key_sql
from dtks_pipeline.lib import nik_typos
from dtks_pipeline.lib.warehouse import table_exists

MENTIONS = "registry_mentions"
WILAYAH_CSV = Path(__file__).resolve().parents[2] / "reference" / "wilayah_buleleng.csv"

# Record keys (the contract with review decisions) are declared in decisions.record_key_sql:
# 'ART:' || id_dtks || '/' || id_art, 'PID:' || person_id, 'ROW:' || source:period:file:row.

# The columns of the mentions table, declared once (name -> SQL type).
MENTION_COLUMNS: dict[str, str] = {
    "mid": "BIGINT", "record_key": "VARCHAR", "source": "VARCHAR", "source_period": "VARCHAR",
    "source_file": "VARCHAR", "source_row": "BIGINT", "role": "VARCHAR",
    "nik": "VARCHAR", "nokk": "VARCHAR", "nama": "VARCHAR", "jk": "VARCHAR", "tgl_lahir": "DATE",
    "hub_kel": "INTEGER", "kode_desa": "VARCHAR", "alamat": "VARCHAR", "id_art": "VARCHAR", "id_dtks": "VARCHAR",
    "desil": "INTEGER", "sta_keberadaan": "INTEGER", "usulan": "VARCHAR", "alasan": "VARCHAR",
    "desil_usulan": "INTEGER", "tgl_event": "DATE", "pindah_keluar": "BOOLEAN", "kode_tujuan": "VARCHAR",
    "mobil_pribadi": "BOOLEAN", "prev_person_id": "VARCHAR", "carried_mid": "BIGINT", "key_known": "BOOLEAN",
    # features of the linkage model
    "nama_norm": "VARCHAR", "nama_tok": "VARCHAR[]", "nama_canon": "VARCHAR[]", "nama_ini": "INTEGER", "nama_huruf": "INTEGER", "nama_sig": "UBIGINT", "nama_canon_sig": "UBIGINT", "nama_inti": "VARCHAR",
    "nik_keys": "VARCHAR[]", "nik_konsisten": "BOOLEAN", "dob_s": "VARCHAR", "nama_lahir": "VARCHAR", "kecamatan": "VARCHAR",
    "desa_key": "VARCHAR", "alamat_key": "VARCHAR", "street_key": "VARCHAR", "banjar_key": "VARCHAR",
    "nokk_blok": "VARCHAR", "nik_luar_lahir": "VARCHAR", "nik_luar_lahir_blok": "VARCHAR", "nik_lahir": "VARCHAR",
    "nama_kerangka": "VARCHAR", "nama_kerangka_tok": "VARCHAR[]",
    "desa_blok": "VARCHAR", "nama_desa_blok": "VARCHAR", "nama_alamat_blok": "VARCHAR", "nama_banjar_blok": "VARCHAR",
    "kerangka_banjar_blok": "VARCHAR",
}
# A family card shared by more mentions than this is a placeholder, not a family (a dummy NOKK repeated over an
# export): it is no blocking key, or one card would make millions of candidate pairs.
MAX_FAMILY_MENTIONS = 60
# One person's mentions in a month (DTKS, village, Dukcapil, Samsat, sector rows) are a handful: a person-level
# key (the NIK outside its birth part) shared by more than this is common, not evidence, and no blocking key.
MAX_PERSON_MENTIONS = 12
# A name-and-place blocking key (a name in a village, a street, a banjar) shared by more mentions than this is a
# common name, not evidence: its group is purged from that rule (block purging), the other rules still compare
# its members. Without it, pairs grow with the square of a village's population (4.4 M persons in 148 villages).
MAX_BLOCK_MENTIONS = 30

_SOURCES_SQL = """
    SELECT 'dtks' AS source, period AS source_period, source_file, source_row, 'REG' AS role,
           nik, nokk, nama, jenis_kelamin AS jk, tgl_lahir, hub_kel, kode_desa,
           alamat, banjar, id_art, id_dtks, desil, sta_keberadaan, CAST(NULL AS VARCHAR) AS prev_person_id
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
"""


def _prev_registry_sql(prev_period: str | None) -> str:
    if not prev_period:
        return ""
    return f"""
    UNION ALL BY NAME
    SELECT 'registry' AS source, period AS source_period, CAST(NULL AS VARCHAR) AS source_file,
           CAST(NULL AS BIGINT) AS source_row, 'REG' AS role, nik, nokk, nama, jenis_kelamin AS jk, tgl_lahir,
           hub_kel, kode_desa, person_id AS prev_person_id
    FROM registry.persons WHERE period = '{prev_period}'"""


# The address up to its kecamatan ("..., DESA BUBUNAN, KEC. SERIRIT"): a village is looked for in the address by
# name, and a kecamatan named like one of its villages (Seririt, Banjar, Sawan) would otherwise count as it.
_ADDRESS_BEFORE_KECAMATAN = "regexp_replace(upper(m.alamat), '\\bKEC(AMATAN)?\\b.*$', '')"


def _letters(expr: str) -> str:
    return f"regexp_replace(upper(coalesce({expr}, '')), '[^A-Z]', '', 'g')"


def _banjar_key_sql() -> str:
    """The banjar (hamlet), letters only: DTKS has a column ('BANJAR DINAS KAUH'), Samsat and village rows
    write it inside the address ('JL. ..., BANJAR DINAS KAUH, DESA LES, KEC. ...')."""
    own = _letters("regexp_replace(upper(banjar), '^\\s*(BANJAR\\s+DINAS|BANJAR|BR\\.?|DUSUN)\\s+', '')")
    in_address = _letters(
        "regexp_extract(upper(coalesce(alamat, '')), "
        "'(BANJAR\\s+DINAS|BANJAR|BR\\.|DUSUN)\\s+([A-Z ]+?)\\s*(,|\\bDESA\\b|\\bKEL\\b|$)', 2)"
    )
    return f"CASE WHEN banjar IS NOT NULL AND trim(banjar) <> '' THEN {own} ELSE {in_address} END"


def _village_names(con: duckdb.DuckDBPyConnection) -> None:
    villages = pd.read_csv(WILAYAH_CSV, dtype=str)
    villages = villages[villages["tingkat"].isin(["desa", "kelurahan"])]
    frame = pd.DataFrame({"kode_desa": villages["kode"].str.replace(".", "", regex=False),
                          "desa_key": villages["nama"].str.upper().str.replace(r"[^A-Z]", "", regex=True)})
    con.register("_village_frame", frame)
    con.execute("CREATE OR REPLACE TEMP TABLE registry_village_names AS SELECT * FROM _village_frame")
    con.unregister("_village_frame")


def _carried_sql(raw: str) -> str:
    """For each previous-month person, this month's mention whose record key named them (lowest mid) and that
    still agrees with them on the NIK (at most two digits apart: a typo, a swap) or the name. An export may give a
    member id to another person (SOURCES.md promises no stable ID_ART): such a row does not carry the person, it
    is scored like any other."""
    return f"""
    SELECT r.mid AS prev_mid, min(c.mid) AS carried_mid
    FROM {raw} r JOIN registry.person_keys pk ON pk.person_id = r.prev_person_id
    JOIN {raw} c ON c.record_key = pk.k AND c.source <> 'registry'
    WHERE r.source = 'registry'
      AND (c.nama_norm = r.nama_norm OR (length(c.nik) = length(r.nik) AND hamming(c.nik, r.nik) <= 2))
    GROUP BY r.mid"""


def _skeleton_sql(token: str) -> str:
    """A token's consonant skeleton: its first letter, then its consonants without H, W and Y, a doubled letter
    once (PASEK and PSK -> PSK, DARMAWWAN and DARMAWAN -> DRMN, BUDHI and BUDI -> BD): what survives vowels
    dropped, a letter doubled or an aspirate added or dropped, as in Soundex (without its digit classes)."""
    letters = f"string_split(left({token}, 1) || regexp_replace(substr({token}, 2), '[AEIOUHWY]', '', 'g'), '')"
    return (f"nullif(array_to_string(list_filter({letters}, lambda c, i: i = 1 OR c <> {letters}[i - 1]), ''), '')")


def _purged_keys(con: duckdb.DuckDBPyConnection, keyed: str, keys: dict[str, int], out: str) -> None:
    """Create `out` (mid, one column per key of `keys`) from `keyed` (mid and those key columns): each key NULL
    where more than its `keys[name]` mentions share it (block purging). Counted on these narrow rows with one
    GROUP BY per key: a window count over the wide mention rows sorted every column of every row, four times."""
    joins = " ".join(f"LEFT JOIN (SELECT {k}, count(*) AS n FROM {keyed} WHERE {k} IS NOT NULL GROUP BY {k}) c_{k} "
                     f"ON c_{k}.{k} = r.{k}" for k in keys)
    purged = ", ".join(f"CASE WHEN c_{k}.n <= {most} THEN r.{k} END AS {k}" for k, most in keys.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT r.mid, {purged} FROM {keyed} r {joins}")


def build_mentions(con: duckdb.DuckDBPyConnection, prev_period: str | None = None) -> str:
    """Create table `MENTIONS` (MENTION_COLUMNS) from the views in_<source> (inputs.register_inputs)
    and the previous month's registry; return its name."""
    _village_names(con)
    # every pair of adjacent digits is left out once: a substitution or an adjacent swap lies inside one such
    # pair, so the two NIKs share that key. Leaving out two digits, not four, keeps each key selective (the
    # keys of four left-out digits grew with the square of the families: 406M pairs at 1.2M families)
    parts = [(a, a + 1) for a in range(1, 16)]
    keys = [f"'{i}:' || substr(nik, 1, {a - 1}) || substr(nik, {b + 1})" for i, (a, b) in enumerate(parts)]
    nik_keys = f"CASE WHEN length(nik) = 16 THEN list_value({', '.join(keys)}) END"
    konsisten = (
        f"(nik IS NOT NULL AND tgl_lahir IS NOT NULL AND (substr(nik, 7, 6) = {nik_typos.nik_birth_part('tgl_lahir', 'jk')}"
        f" OR (jk IS NULL AND substr(nik, 7, 6) IN ({nik_typos.nik_birth_part('tgl_lahir', chr(39) + 'L' + chr(39))},"
        f" {nik_typos.nik_birth_part('tgl_lahir', chr(39) + 'P' + chr(39))}))))"
    )
    nik_luar_lahir = "CASE WHEN length(trim(m.nik)) = 16 THEN substr(trim(m.nik), 1, 6) || substr(trim(m.nik), 13) END"
    has_keys = table_exists(con, "registry.person_keys")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE registry_mentions_raw AS
    WITH src AS ({_SOURCES_SQL} {_prev_registry_sql(prev_period)}),
    numbered AS (
      SELECT row_number() OVER (ORDER BY CASE source WHEN 'dtks' THEN 0 WHEN 'desa' THEN 1 WHEN 'registry' THEN 2
             ELSE 3 END, source, source_period, source_file, source_row, prev_person_id) AS mid, *
      FROM src
    )
    SELECT n.mid, {record_key_sql('n')} AS record_key, n.* EXCLUDE (mid),
           nullif(trim(regexp_replace(regexp_replace(upper(coalesce(n.nama, '')), '[^A-Z]+', ' ', 'g'), ' +', ' ', 'g')), '')
             AS nama_norm
    FROM numbered n
    """)
    carried = (_carried_sql("registry_mentions_raw") if has_keys
               else "SELECT NULL::BIGINT AS prev_mid, NULL::BIGINT AS carried_mid LIMIT 0")
    known = ("SELECT DISTINCT k FROM registry.person_keys" if has_keys else "SELECT NULL::VARCHAR AS k LIMIT 0")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE registry_mentions_tok AS
    WITH carried AS ({carried}),
    known AS ({known}),
    base AS (
      SELECT m.*, c.carried_mid, kn.k IS NOT NULL AS key_known, string_split(m.nama_norm, ' ') AS nama_tok
      FROM registry_mentions_raw m LEFT JOIN carried c ON c.prev_mid = m.mid LEFT JOIN known kn ON kn.k = m.record_key
    ),
    -- how many founding mentions (REG, not carried) carry each token: the learned value of a token
    tokfreq AS (
      SELECT tok, count(*) AS n FROM (SELECT DISTINCT mid, unnest(nama_tok) AS tok FROM base
                                     WHERE role = 'REG' AND carried_mid IS NULL) GROUP BY tok
    ),
    -- every distinct token once; an abbreviation (2-4 letters, no vowel after the first: abbreviations drop
    -- vowels; all in order inside a longer token with the same first letter: MD, KMG, NGH, GST) stands for the
    -- most frequent token it fits, learned from this month's names
    tokens AS (
      SELECT DISTINCT u.tok, coalesce(f.n, 0) AS n
      FROM (SELECT unnest(nama_tok) AS tok FROM base) u LEFT JOIN tokfreq f USING (tok)
    ),
    expansions AS (
      SELECT s.tok, arg_max(l.tok, (l.n, l.tok)) AS canon
      FROM tokens s JOIN tokens l ON left(l.tok, 1) = left(s.tok, 1) AND length(l.tok) > length(s.tok) AND l.n >= s.n
      WHERE length(s.tok) BETWEEN 2 AND 4 AND NOT regexp_matches(substr(s.tok, 2), '[AEIOU]')
        AND regexp_full_match(l.tok, regexp_replace(s.tok, '(.)', '\\1.*', 'g'))
      GROUP BY s.tok
    ),
    per_mention AS (
      SELECT b.mid, arg_min(t.tok, (t.n, t.tok)) AS nama_inti,
             list(coalesce(e.canon, t.tok) ORDER BY u.pos) AS nama_canon,
             bit_or(1::INTEGER << (ascii(t.tok) - 65)) AS nama_ini,
             bit_or(1::UBIGINT << (hash(t.tok) % 64)::INTEGER) AS nama_sig,
             bit_or(1::UBIGINT << (hash(coalesce(e.canon, t.tok)) % 64)::INTEGER) AS nama_canon_sig
      FROM (SELECT mid, unnest(nama_tok) AS tok, unnest(range(len(nama_tok))) AS pos FROM base) u
      JOIN base b USING (mid) JOIN tokens t ON t.tok = u.tok
      LEFT JOIN expansions e ON e.tok = u.tok
      GROUP BY b.mid
    )
    SELECT b.*, i.nama_inti, i.nama_canon, i.nama_ini, i.nama_sig, i.nama_canon_sig FROM base b LEFT JOIN per_mention i USING (mid)
    """)
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE registry_mentions_feat AS
    SELECT m.mid, m.record_key, m.source, m.source_period, m.source_file, m.source_row, m.role,
           nullif(trim(m.nik), '') AS nik, nullif(trim(m.nokk), '') AS nokk, m.nama, m.jk, CAST(m.tgl_lahir AS DATE) AS tgl_lahir,
           m.hub_kel, m.kode_desa, m.alamat, m.id_art, m.id_dtks, m.desil, m.sta_keberadaan, m.usulan, m.alasan,
           m.desil_usulan, CAST(m.tgl_event AS DATE) AS tgl_event, m.pindah_keluar, m.kode_tujuan, m.mobil_pribadi,
           m.prev_person_id, m.carried_mid, m.key_known,
           m.nama_norm, m.nama_tok,
           m.nama_canon, m.nama_ini, m.nama_sig, m.nama_canon_sig,
           list_reduce(list_transform(string_split(replace(m.nama_norm, ' ', ''), ''),
                                      lambda c: 1::INTEGER << (ascii(c) - 65)), lambda a, b: a | b) AS nama_huruf,
           m.nama_inti,
           {nik_keys} AS nik_keys,
           {konsisten} AS nik_konsisten,
           strftime(m.tgl_lahir, '%Y%m%d') AS dob_s,
           m.nama_norm || '|' || strftime(m.tgl_lahir, '%Y%m%d') AS nama_lahir,
           substr(m.kode_desa, 1, 6) AS kecamatan,
           nullif(v.desa_key, '') AS desa_key,
           {_letters(_ADDRESS_BEFORE_KECAMATAN)} AS alamat_key,
           regexp_replace(upper(CASE WHEN regexp_matches(upper(split_part(coalesce(m.alamat, ''), ',', 1)),
                                                          '^\\s*(BANJAR|BR\\.|DUSUN)')
                                     THEN '' ELSE split_part(coalesce(m.alamat, ''), ',', 1) END),
                          '[^A-Z0-9]', '', 'g') AS street_key,
           {_banjar_key_sql()} AS banjar_key,
           {nik_luar_lahir} AS nik_luar_lahir,
           CASE WHEN length(trim(m.nik)) = 16 THEN left(trim(m.nik), 12) END AS nik_lahir,
           {_skeleton_sql("list_extract(m.nama_tok, -1)")} AS nama_kerangka,
           list_transform(m.nama_tok, lambda t: {_skeleton_sql("t")}) AS nama_kerangka_tok
    FROM registry_mentions_tok m LEFT JOIN registry_village_names v USING (kode_desa)
    """)
    _add_place_blocking_keys(con, "registry_mentions_feat", MENTIONS)
    con.execute("DROP TABLE registry_mentions_feat")  # a copy of every mention: not kept beside MENTIONS
    return MENTIONS


def _add_place_blocking_keys(con: duckdb.DuckDBPyConnection, features: str, out: str) -> None:
    """Create `out` = `features` with `desa_blok` and the blocking keys that are purged of groups too common to be
    evidence (`_purged_keys`): the card (`nokk_blok`, MAX_FAMILY_MENTIONS), the NIK outside its birth part
    (`nik_luar_lahir_blok`, MAX_PERSON_MENTIONS) and the keys of the name-and-place rules (MAX_BLOCK_MENTIONS):
    equi-join keys, so that a rule's pairs grow with the mentions, not with the square of a village's population."""
    named = (f"SELECT a.alamat_key, arg_max(v.desa_key, (strpos(a.alamat_key, v.desa_key) + length(v.desa_key), "
             f"length(v.desa_key))) AS desa_named "
             f"FROM (SELECT DISTINCT alamat_key FROM {features} WHERE desa_key IS NULL AND alamat_key <> '') a "
             f"JOIN registry_village_names v ON v.desa_key <> '' AND contains(a.alamat_key, v.desa_key) GROUP BY 1")
    banjar = "CASE WHEN m.banjar_key <> '' THEN m.banjar_key END"
    street = "CASE WHEN m.street_key <> '' THEN m.street_key END"
    keys = {
        "nokk_blok": ("m.nokk", MAX_FAMILY_MENTIONS),
        "nik_luar_lahir_blok": ("m.nik_luar_lahir", MAX_PERSON_MENTIONS),
        "nama_desa_blok": ("m.nama_norm || '|' || m.kode_desa", MAX_BLOCK_MENTIONS),
        "nama_alamat_blok": (f"m.nama_inti || '|' || {street} || '|' || m.desa_blok", MAX_BLOCK_MENTIONS),
        "nama_banjar_blok": (f"m.nama_inti || '|' || {banjar} || '|' || m.desa_blok", MAX_BLOCK_MENTIONS),
        "kerangka_banjar_blok": (f"m.nama_kerangka || '|' || {banjar} || '|' || m.desa_blok", MAX_BLOCK_MENTIONS),
    }
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE registry_mention_keys_raw AS
    WITH named AS ({named}),
    placed AS (SELECT f.mid, f.nokk, f.nik_luar_lahir, f.nama_norm, f.kode_desa, f.nama_inti, f.nama_kerangka,
                      f.banjar_key, f.street_key, coalesce(f.desa_key, n.desa_named) AS desa_blok
               FROM {features} f LEFT JOIN named n USING (alamat_key))
    SELECT m.mid, m.desa_blok, {', '.join(f"{sql} AS {k}" for k, (sql, _) in keys.items())} FROM placed m
    """)
    _purged_keys(con, "registry_mention_keys_raw", {k: most for k, (_, most) in keys.items()},
                 "registry_mention_keys")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {out} AS
    SELECT f.*, r.desa_blok, k.* EXCLUDE (mid)
    FROM {features} f JOIN registry_mention_keys_raw r USING (mid) JOIN registry_mention_keys k USING (mid)
    """)
    con.execute("DROP TABLE registry_mention_keys_raw")
    con.execute("DROP TABLE registry_mention_keys")
