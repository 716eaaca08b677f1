"""The rows a month's registry resolves, and the two reference resolvers run on them.

The registry benchmark compares three resolvers on the same rows: the project
(its own assets; its answer is `registry.person_links`), Splink's plain model
(benchmarks/splink_baseline.py) and exact-NIK grouping. This module provides:

- `month_rows`: the usable rows (truth STAGED) of the sources the registry of month
  P resolves, as SOURCES.md defines them: the latest delivered snapshot of each
  snapshot source, and every event up to P. A usable row the ingestion rejected is
  still one of them (every resolver then sees it as a person of its own).
- `staged_features`: for each of those rows, the fields a resolver may use, read from
  the staging tables whatever their column names (nik / nik_pemilik, ...).
- `exact_nik`, `splink_plain`: cluster ids per row (NaN = a person of its own).
- `link_accuracy`: for Dukcapil, Samsat and sector rows, the share of those linked to a
  registry person that are linked to the right one.
"""
from __future__ import annotations

import time

import duckdb
import numpy as np
import pandas as pd

KEYS = ["period", "source_file", "source_row"]
FEATURES = ("nik", "nokk", "nama", "tgl_lahir", "jenis_kelamin", "kode_desa", "alamat")
# staging column(s) a feature may be called in a source, first match wins
FEATURE_COLUMNS = {"nik": ("nik", "nik_pemilik"), "nama": ("nama", "nama_pemilik"), "nokk": ("nokk",),
                   "tgl_lahir": ("tgl_lahir",), "jenis_kelamin": ("jenis_kelamin",),
                   "kode_desa": ("kode_desa", "kode_desa_asal"), "alamat": ("alamat", "alamat_pemilik")}
REGISTRY_SOURCES = ("dtks", "desa")  # rows that are registry persons themselves
LINK_GROUPS = {"dukcapil": ("dukcapil_kematian", "dukcapil_pindah"), "samsat": ("samsat_kendaraan",),
               "sector": ("nelayan", "angkutan", "umkm")}


def read_truth(sources) -> pd.DataFrame:
    rows = pd.read_csv(f"{sources}/_truth/rows.csv", dtype=str, keep_default_na=False)
    rows["source_row"] = rows["source_row"].astype(int)
    rows["true_person_id"] = rows["true_person_id"].replace("", np.nan)
    return rows


def month_rows(truth: pd.DataFrame, period: str) -> pd.DataFrame:
    """Usable rows the registry of `period` resolves: latest snapshot per source, events up to `period`."""
    from dtks_pipeline.defs.sources.specs import SOURCES

    upto = truth[truth["period"] <= period]
    parts = []
    for source, rows in upto.groupby("source"):
        spec = SOURCES.get(source)
        if spec is not None and spec.is_snapshot:
            rows = rows[rows["period"] == rows["period"].max()]
        parts.append(rows)
    out = pd.concat(parts) if parts else upto.iloc[:0]
    out = out[out["expected"] == "STAGED"]
    return out[KEYS + ["source", "true_person_id", "damage"]].reset_index(drop=True)


def staged_features(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` with FEATURES from the staging tables (NULL where not staged or not delivered)."""
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'staging'").fetchall()}
    selects = []
    for source in sorted(set(rows["source"]) & tables):
        cols = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = ?",
            [source]).fetchall()}
        exprs = []
        for feature in FEATURES:
            col = next((c for c in FEATURE_COLUMNS[feature] if c in cols), None)
            cast = "DATE" if feature == "tgl_lahir" else "VARCHAR"
            exprs.append(f"CAST({col} AS {cast}) AS {feature}" if col else f"CAST(NULL AS {cast}) AS {feature}")
        selects.append(f"SELECT period, source_file, source_row, {', '.join(exprs)} FROM staging.{source}")
    con.register("_bench_rows", rows[KEYS])
    try:
        if not selects:
            return rows.assign(**{f: None for f in FEATURES})
        staged = con.execute(f"""SELECT r.period, r.source_file, r.source_row, {', '.join('s.' + f for f in FEATURES)}
                                 FROM _bench_rows r LEFT JOIN ({' UNION ALL '.join(selects)}) s
                                 USING (period, source_file, source_row)""").df()
    finally:
        con.unregister("_bench_rows")
    staged["source_row"] = staged["source_row"].astype(int)
    out = rows.merge(staged, on=KEYS, how="left")
    for feature in FEATURES:
        if feature != "tgl_lahir":
            out[feature] = out[feature].where(out[feature].notna() & (out[feature].astype(str).str.strip() != ""), None)
    out["staged"] = out["nama"].notna() | out["nik"].notna()
    return out


def exact_nik(frame: pd.DataFrame) -> dict:
    """Rows with the same staged NIK are one person; rows without a NIK are persons of their own."""
    started = time.perf_counter()
    cluster = frame["nik"].where(frame["nik"].notna(), None)
    sizes = cluster.dropna().value_counts().to_numpy(dtype=np.int64)
    return {"cluster": cluster, "seconds": round(time.perf_counter() - started, 3),
            "candidate_pairs": int((sizes * (sizes - 1) // 2).sum())}


def splink_plain(frame: pd.DataFrame, threshold: float = 0.95, other_thresholds=(0.9,)) -> dict:
    """Splink's plain model (splink_baseline, model="plain") on the staged rows of `frame`."""
    from dtks_pipeline.benchmarks import splink_baseline

    staged = frame[frame["staged"]]
    con = duckdb.connect()
    try:
        con.register("_f", staged.assign(unique_id=staged.index.astype(np.int64)))
        records = con.execute(f"""SELECT unique_id, nullif(trim(nik), '') AS nik, nullif(trim(nokk), '') AS nokk,
                                         nullif({splink_baseline.plain_name_sql('nama')}, '') AS nama_clean,
                                         tgl_lahir, nullif(trim(upper(jenis_kelamin)), '') AS jenis_kelamin,
                                         nullif(trim(kode_desa), '') AS kode_desa,
                                         nullif({splink_baseline.plain_name_sql('alamat', 'A-Z0-9')}, '') AS alamat
                                  FROM _f ORDER BY unique_id""").df()
    finally:
        con.close()
    result = splink_baseline.dedupe(records, model="plain", thresholds=(threshold, *other_thresholds))
    by_threshold = {t: c.set_index("unique_id")["cluster_id"].reindex(frame.index).astype(object)
                    for t, c in result["clusters"].items()}  # rows not staged: NaN, persons of their own
    return {"cluster": by_threshold.pop(threshold), "seconds": result["seconds"],
            "candidate_pairs": result["candidate_pairs"], "candidate_pairs_by_rule": result["candidate_pairs_by_rule"],
            "peak_mb": result["peak_mb"], "untrained": result["untrained"], "threshold": threshold,
            "other_thresholds": {str(t): c for t, c in by_threshold.items()}}


def link_accuracy(frame: pd.DataFrame, cluster: pd.Series) -> dict:
    """Per group of linked sources: rows linked to a registry person, and the share linked to the right one.

    A cluster's registry person is the commonest true person among its DTKS / village rows; a row is
    linked when its cluster holds such a row.
    """
    from dtks_pipeline.benchmarks.registry import commonest

    f = frame.assign(cluster=cluster.to_numpy())
    reg = f[f["source"].isin(REGISTRY_SOURCES) & f["cluster"].notna() & f["true_person_id"].notna()]
    person_of = commonest(reg, "cluster", "true_person_id")
    out = {}
    for group, sources in LINK_GROUPS.items():
        g = f[f["source"].isin(sources)]
        if not len(g):
            continue
        linked_to = g["cluster"].map(person_of)
        linked = linked_to.notna()
        right = linked & (linked_to == g["true_person_id"])
        named = g["true_person_id"].notna()
        out[group] = {"rows": int(len(g)), "rows_naming_a_person": int(named.sum()), "linked": int(linked.sum()),
                      "linked_right": int(right.sum()),
                      "share_right": round(float(right.sum() / linked.sum()), 5) if linked.any() else None,
                      "missed": int((named & ~linked).sum()), "linked_but_nobody": int((linked & ~named).sum())}
    return out
