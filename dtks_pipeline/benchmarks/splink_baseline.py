"""Splink 5 (DuckDB backend) deduplication of one month's DTKS rows: the baseline
the project's own person resolution is compared with.

Input: the staged DTKS rows of one period (`staging.dtks`), one record per row,
`unique_id = source_row`. Prepared columns (no other knowledge of the project's
resolution is used):

- `nik`, `nokk`: the staged 16-digit strings; empty -> NULL.
- `nama_clean`: the name upper-cased, non-letters removed, whitespace collapsed,
  and the common abbreviations of Balinese exports expanded ("MD" -> "MADE",
  `lib/names.canonical_sql`): the cleaning a careful user does after looking at
  the data once.
- `tgl_lahir` (DATE), `jenis_kelamin`, `kode_desa`: as staged, empty -> NULL.

Settings (`link_type = "dedupe_only"`):

- NIK: `DamerauLevenshteinAtThresholds("nik", [1])`: NULL / exact /
  one edit (a substituted digit or two adjacent digits swapped) / else.
- name: `NameComparison("nama_clean")`: NULL / exact, term-frequency adjusted
  (Balinese names repeat massively: "I MADE SUDARMA" is worth little) /
  Jaro-Winkler >= 0.92 / >= 0.88 / >= 0.7 / else.
- birth date: `DateOfBirthComparison("tgl_lahir")`: exact / within a month /
  a year / ten years / else. The issue lists NIK, name, village and sex; a
  sensible Splink user adds the birth date, which every DTKS row carries and
  which is the strongest field after the NIK, so it is included.
- sex, village (`kode_desa`), family card (`nokk`): exact match.

Blocking rules for prediction (pairs scored at all): NIK first 10 digits
(region + birth day and month), NIK last 10 digits (birth date + serial; the two
together catch any one-digit typo), NOKK, name + birth date, and birth date +
village.

Training (unsupervised, the order Splink's tutorial uses):

1. `estimate_probability_two_random_records_match` from two deterministic
   rules (same NIK and name; same NOKK, name and birth date) with an assumed
   recall of 0.8 (a guess stated up front, not fitted to the truth).
2. `estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=1)`.
3. `estimate_parameters_using_expectation_maximisation` over three blocking
   rules: NOKK (trains NIK, name, birth date, sex, village), name + birth date
   (trains NIK, sex, village, NOKK) and NIK first 10 digits (trains name,
   birth date, sex, village, NOKK). Every comparison gets m values from at
   least one session.

Prediction keeps pairs with match probability >= 0.5; clusters are the
connected components of pairs at or above a threshold. Two thresholds are
reported, both fixed in advance and never tuned on the truth: 0.95 (the value
in Splink's own clustering example) and 0.9.

Wall time covers training + prediction + clustering at every threshold; peak
memory is the resident set size of this process during that time (DuckDB runs
in process), sampled every 50 ms, with the RSS before the run reported next to
it.
"""
from __future__ import annotations

import logging
import time

import duckdb
import pandas as pd

from dtks_pipeline.lib import names

U_MAX_PAIRS = 2e7
PREDICT_THRESHOLD = 0.5
CLUSTER_THRESHOLDS = (0.95, 0.9)
DETERMINISTIC_RECALL = 0.8


def load_dtks_rows(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """The staged DTKS rows of `period`, one Splink record per row (unique_id = source_row)."""
    return con.execute(f"""
        SELECT source_row AS unique_id, period, source_file, source_row,
               nullif(trim(nik), '') AS nik,
               nullif(trim(nokk), '') AS nokk,
               nullif({names.canonical_sql('nama')}, '') AS nama_clean,
               tgl_lahir,
               nullif(trim(upper(jenis_kelamin)), '') AS jenis_kelamin,
               nullif(trim(kode_desa), '') AS kode_desa
        FROM staging.dtks WHERE period = ? ORDER BY source_row""", [period]).df()


def settings():
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.DamerauLevenshteinAtThresholds("nik", [1]),
            cl.NameComparison("nama_clean", jaro_winkler_thresholds=[0.92, 0.88, 0.7]),
            cl.DateOfBirthComparison("tgl_lahir", input_is_string=False),
            cl.ExactMatch("jenis_kelamin"),
            cl.ExactMatch("kode_desa"),
            cl.ExactMatch("nokk"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("substr(nik, 1, 10)"),
            block_on("substr(nik, 7, 10)"),
            block_on("nokk"),
            block_on("nama_clean", "tgl_lahir"),
            block_on("tgl_lahir", "kode_desa"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def train(linker, *, u_max_pairs: float = U_MAX_PAIRS, seed: int = 1) -> None:
    from splink import block_on

    linker.training.estimate_probability_two_random_records_match(
        [block_on("nik", "nama_clean"), block_on("nokk", "nama_clean", "tgl_lahir")],
        recall=DETERMINISTIC_RECALL,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    for rule in (block_on("nokk"), block_on("nama_clean", "tgl_lahir"), block_on("substr(nik, 1, 10)")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)


def untrained(linker) -> list[str]:
    """Comparisons with a level whose m or u value no training step estimated."""
    out = []
    for c in linker._settings_obj.comparisons:
        msg = c._is_trained_message
        if msg:
            out.append(" ".join(msg.split()))
    return out


def dedupe(rows: pd.DataFrame, *, thresholds=CLUSTER_THRESHOLDS, u_max_pairs: float = U_MAX_PAIRS,
           threads: int | None = None, log_level: int | str = logging.WARNING) -> dict:
    """Train, predict and cluster `rows` (load_dtks_rows' shape).

    Returns {"clusters": {threshold: DataFrame[unique_id, cluster_id]}, "pairs_predicted": int,
    "seconds": float, "peak_mb": float, "rss_before_mb": float, "untrained": [...],
    "probability_two_random_records_match": float}.
    """
    from splink import DuckDBAPI, Linker

    from dtks_pipeline.benchmarks.registry import PeakMemory

    records = rows[["unique_id", "nik", "nokk", "nama_clean", "tgl_lahir", "jenis_kelamin", "kode_desa"]].copy()
    records["tgl_lahir"] = pd.to_datetime(records["tgl_lahir"])
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    started = time.perf_counter()
    with PeakMemory() as mem:
        rss_before = mem.peak
        db_api = DuckDBAPI(con)
        sdf = db_api.register(records, dataset_display_name="dtks")
        linker = Linker(sdf, settings(), log_level=log_level)
        train(linker, u_max_pairs=u_max_pairs)
        predictions = linker.inference.predict(threshold_match_probability=PREDICT_THRESHOLD)
        n_pairs = con.execute(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()[0][0]
        clusters = {
            t: linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, t)
            .as_pandas_dataframe()[["unique_id", "cluster_id"]]
            for t in thresholds
        }
    seconds = round(time.perf_counter() - started, 2)
    out = {
        "clusters": clusters,
        "pairs_predicted_at_0_5": int(n_pairs),
        "seconds": seconds,
        "peak_mb": mem.mb,
        "rss_before_mb": round(rss_before / 2**20, 1),
        "untrained": untrained(linker),
        "probability_two_random_records_match": linker._settings_obj._probability_two_random_records_match,
    }
    con.close()
    return out


def run(con: duckdb.DuckDBPyConnection, period: str, truth: pd.DataFrame, **kwargs) -> dict:
    """Splink on the DTKS rows of `period`, scored pairwise against the truth (like the project's DTKS-only figure)."""
    from dtks_pipeline.benchmarks.registry import KEYS, pairwise_scores

    rows = load_dtks_rows(con, period)
    result = dedupe(rows, **kwargs)
    scores = {}
    for t, clusters in result["clusters"].items():
        merged = (clusters.merge(rows[["unique_id", *KEYS]], on="unique_id")
                  .merge(truth.drop(columns=[c for c in ("source", "damage") if c in truth.columns]), on=KEYS, how="left"))
        scores[str(t)] = pairwise_scores(merged["cluster_id"], merged["true_person_id"])
    return {"period": period, "rows": int(len(rows)), "thresholds": scores,
            **{k: v for k, v in result.items() if k != "clusters"}}
