"""ADAPTER (temporary): the review stage's input frames from the hand-weighted resolver.

The review stage (review.py) takes plain frames: scored pairs with record keys,
match probability, match weight and gamma_* levels, and the records with their
person. The Splink resolver replacing resolution.py exposes these from its
scored-pairs stage; until it lands, this adapter reads them from the temp
tables the current resolver leaves on the registry's connection (`m`, `pairs`,
`clusters`, `mlinks`) and the build's `pid` table. It is the only module that
reads them, and it goes once the new resolver's frames are wired in
(registry/assets.py `_review_inputs`).

The current weights are log2 Bayes factors, so probability = 1 / (1 + 2**-w)
and the threshold is `resolution.MATCH_THRESHOLD` in weight terms.
"""
from __future__ import annotations

import duckdb
import pandas as pd

from dtks_pipeline.defs.registry import resolution
from dtks_pipeline.defs.registry.decisions import record_key_sql
from dtks_pipeline.defs.registry.review import RECORD_COLUMNS, probability

THRESHOLD_PROBABILITY = probability(resolution.MATCH_THRESHOLD)


def records_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """key, person_id and the side-by-side fields of every mention (LINK mentions: the person linked)."""
    return con.execute(f"""
        SELECT DISTINCT ON (key) {record_key_sql('m')} AS key, p.person_id, m.source, m.nik, m.nama,
               m.jk AS jenis_kelamin, m.tgl_lahir, m.nokk, m.kode_desa
        FROM m LEFT JOIN mlinks l USING (mid) LEFT JOIN pid p ON p.cid = l.cid
    """).df()[RECORD_COLUMNS]


def scored_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every scored pair with both record keys, weight, probability and its comparison levels."""
    return con.execute(f"""
        SELECT {record_key_sql('a')} AS key_a, {record_key_sql('b')} AS key_b,
               1.0 / (1.0 + pow(2.0, -p.weight)) AS match_probability, p.weight AS match_weight,
               CASE p.nik_kind WHEN 'SAMA' THEN 2 ELSE 1 END AS gamma_nik,
               CASE WHEN a.nama_c IS NULL OR b.nama_c IS NULL THEN -1 WHEN a.nama_c = b.nama_c THEN 2
                    WHEN a.nama_core = b.nama_core THEN 1 ELSE 0 END AS gamma_nama,
               CASE WHEN a.tgl_lahir IS NULL OR b.tgl_lahir IS NULL THEN -1
                    WHEN a.tgl_lahir = b.tgl_lahir THEN 1 ELSE 0 END AS gamma_tgl_lahir,
               CASE WHEN a.jk IS NULL OR b.jk IS NULL THEN -1 WHEN a.jk = b.jk THEN 1 ELSE 0 END AS gamma_jenis_kelamin,
               CASE WHEN a.nokk IS NULL OR b.nokk IS NULL THEN -1 WHEN a.nokk = b.nokk THEN 1 ELSE 0 END AS gamma_nokk,
               CASE WHEN a.kode_desa IS NULL OR b.kode_desa IS NULL THEN -1
                    WHEN a.kode_desa = b.kode_desa THEN 1 ELSE 0 END AS gamma_kode_desa
        FROM pairs p JOIN m a ON a.mid = p.a JOIN m b ON b.mid = p.b
    """).df()
