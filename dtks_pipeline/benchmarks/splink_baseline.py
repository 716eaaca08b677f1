"""Splink 5 (DuckDB backend) deduplication: the baseline the project's own person
resolution is compared with (`dtks benchmark registry`).

Two settings, one module:

- `model="plain"` (the default, what the registry benchmark reports): a plain,
  untuned model as a new user would write it from Splink's tutorial, with no
  knowledge of Balinese names or of the NIK's structure. Names are only
  upper-cased with non-letters removed (`plain_name_sql`). Comparisons:
  `NameComparison("nama_clean")` with term-frequency adjustment,
  `DateOfBirthComparison("tgl_lahir")`, exact on sex, village and NOKK,
  `LevenshteinAtThresholds("nik", [1, 2])`. Blocking rules (PLAIN_BLOCKING):
  NIK; NIK's last ten digits (birth date + serial); name + birth year; birth date;
  address (when the rows have one). Training: u by random sampling, EM on
  name + birth year and on birth date, the prior from two deterministic rules.
- `model="nik_dob"`: the earlier, hand-shaped baseline described below (NIK and
  birth date in one comparison, abbreviations of Balinese exports expanded).

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

- NIK and birth date, one comparison (`nik_tgl_lahir`): NIK exact / NIK one
  edit (Damerau-Levenshtein <= 1: a substituted digit or two adjacent digits
  swapped) / NIKs differ (or one is missing) and birth date exact / within a
  month / within a year / else. The birth date is included because a sensible
  user would (every DTKS row carries it, and it is the strongest field after
  the NIK), but not as a comparison of its own: a NIK *is* region + birth date
  (+40 for women) + a serial numbered per birth date and district, so two
  different people born the same day in the same district routinely have NIKs
  one digit apart. Counting "NIK one edit" and "same birth date" as
  independent evidence (Splink's model assumes independence; its README: "Splink
  performs best with input data containing multiple columns that are not
  highly correlated") merges those neighbours by the thousand. The literal
  variant (`model="separate"`: `DamerauLevenshteinAtThresholds("nik", [1])` and
  `DateOfBirthComparison("tgl_lahir")` side by side) is kept for the record.
- name: `NameComparison("nama_clean")`: NULL / exact, term-frequency adjusted
  (Balinese names repeat massively: "I MADE SUDARMA" is worth little) /
  Jaro-Winkler >= 0.92 / >= 0.88 / >= 0.7 / else.
- sex, village (`kode_desa`), family card (`nokk`): exact match.

Blocking rules for prediction (pairs scored at all): NIK first 10 digits
(region + birth day and month), NIK last 10 digits (birth date + serial; the two
together catch any one-digit typo), NOKK, name + birth date, and birth date +
village.

Training (unsupervised, the order of Splink's tutorial):

1. `estimate_probability_two_random_records_match` from two deterministic
   rules (same NIK and name; same NOKK, name and birth date) with an assumed
   recall of 0.8 (a guess stated up front, not fitted to the truth).
2. `estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=1)`
   (2e7 pairs: every level gets u observations on the 60k-family sample).
3. `estimate_parameters_using_expectation_maximisation` over two blocking
   rules whose pairs are mostly the same person (`em_rules`): same name in
   the same village (trains NIK+birth date, sex, NOKK) and same NIK (trains
   name, sex, village, NOKK). A NOKK block and a NIK-prefix block were tried
   first: there EM's latent class is "same family" / "born the same day",
   and the m values it returned were plainly wrong (an exact name in 0.6 % of
   matches, a name disagreement costing 0.1 bit).

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
PLAIN_U_MAX_PAIRS = 2e6  # enough for every level here (DESIGN.md: 1e6-1e7)
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


def plain_name_sql(column: str, keep: str = "A-Z") -> str:
    """Upper case, anything but `keep` a space, spaces collapsed: all the cleaning the plain model gets
    (names keep letters, addresses letters and digits)."""
    return f"trim(regexp_replace(regexp_replace(upper(coalesce({column}, '')), '[^{keep}]', ' ', 'g'), ' +', ' ', 'g'))"


def plain_blocking(has_address: bool = True) -> dict:
    """The plain model's blocking rules by name (every pair any of them blocks is scored)."""
    from splink import block_on

    rules = {
        "nik": block_on("nik"),
        "nik_last10": block_on("substr(nik, 7, 10)"),
        "name_birth_year": block_on("nama_clean", "year(tgl_lahir)"),
        "birth_date": block_on("tgl_lahir"),
    }
    if has_address:
        rules["address"] = block_on("alamat")
    return rules


def _plain_settings(has_address: bool):
    import splink.comparison_library as cl
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.NameComparison("nama_clean").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("tgl_lahir", input_is_string=False),
            cl.ExactMatch("jenis_kelamin"),
            cl.ExactMatch("kode_desa"),
            cl.ExactMatch("nokk"),
            cl.LevenshteinAtThresholds("nik", [1, 2]),
        ],
        blocking_rules_to_generate_predictions=list(plain_blocking(has_address).values()),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def _nik_then_birth_date():
    """NIK exact / one edit; only where the NIKs differ (or one is missing) does the birth date speak."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    nik_differs = "NOT (nik_l IS NOT NULL AND nik_r IS NOT NULL AND damerau_levenshtein(nik_l, nik_r) <= 1)"
    return cl.CustomComparison(
        output_column_name="nik_tgl_lahir",
        comparison_description="NIK exact / one edit, else birth date",
        comparison_levels=[
            cll.CustomLevel("(nik_l IS NULL OR nik_r IS NULL) AND (tgl_lahir_l IS NULL OR tgl_lahir_r IS NULL)",
                            "NIK and birth date missing").configure(is_null_level=True),
            cll.ExactMatchLevel("nik"),
            cll.DamerauLevenshteinLevel("nik", 1),
            cll.CustomLevel(f"{nik_differs} AND tgl_lahir_l = tgl_lahir_r", "NIK differs, birth date exact"),
            cll.And(cll.CustomLevel(nik_differs),
                    cll.AbsoluteDateDifferenceLevel("tgl_lahir", input_is_string=False, threshold=1, metric="month")
                    ).configure(label_for_charts="NIK differs, birth date within a month"),
            cll.And(cll.CustomLevel(nik_differs),
                    cll.AbsoluteDateDifferenceLevel("tgl_lahir", input_is_string=False, threshold=1, metric="year")
                    ).configure(label_for_charts="NIK differs, birth date within a year"),
            cll.ElseLevel(),
        ],
    )


def settings(model: str = "plain", has_address: bool = False):
    """`model="plain"`: the untuned default-style model. `model="nik_dob"`: NIK and birth date in one
    comparison. `model="separate"`: nik_dob's list with birth date a comparison of its own."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    if model == "plain":
        return _plain_settings(has_address)
    if model == "nik_dob":
        nik_and_dob = [_nik_then_birth_date()]
    elif model == "separate":
        nik_and_dob = [cl.DamerauLevenshteinAtThresholds("nik", [1]),
                       cl.DateOfBirthComparison("tgl_lahir", input_is_string=False)]
    else:
        raise ValueError(model)
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            *nik_and_dob,
            cl.NameComparison("nama_clean", jaro_winkler_thresholds=[0.92, 0.88, 0.7]),
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


def em_rules(model: str = "plain") -> list:
    """EM blocking rules whose blocked pairs are mostly (or at least often) the same person, so the latent
    class EM finds is "same person" and not "same family" (a NOKK block) or "born the same day" (a NIK-prefix
    block): both were tried first and gave m values that are plainly wrong (an exact name match in 0.6 % of
    matches). Together the rules train every comparison."""
    from splink import block_on

    if model == "plain":  # Splink's tutorial: one rule on the name, one on the birth date
        return [block_on("nama_clean", "year(tgl_lahir)"), block_on("tgl_lahir")]
    if model == "nik_dob":
        # same name in the same village: trains NIK+birth date, sex, NOKK; same NIK: name, sex, village, NOKK
        return [block_on("nama_clean", "kode_desa"), block_on("nik")]
    # same name and birth date: trains NIK, sex, village, NOKK; same NIK: name, birth date, sex, village, NOKK
    return [block_on("nama_clean", "tgl_lahir"), block_on("nik")]


def train(linker, *, model: str = "plain", u_max_pairs: float = U_MAX_PAIRS, seed: int = 1) -> None:
    from splink import block_on

    linker.training.estimate_probability_two_random_records_match(
        [block_on("nik", "nama_clean"), block_on("nokk", "nama_clean", "tgl_lahir")],
        recall=DETERMINISTIC_RECALL,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    for rule in em_rules(model):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)


def untrained(linker) -> list[str]:
    """Comparisons with a level whose m or u value no training step estimated."""
    out = []
    for c in linker._settings_obj.comparisons:
        msg = c._is_trained_message
        if msg:
            out.append(" ".join(msg.split()))
    return out


def candidate_pair_counts(con: duckdb.DuckDBPyConnection, table: str, rules: dict) -> dict[str, int]:
    """Exact pairs each blocking rule adds after the earlier ones (Splink's blocking analysis)."""
    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    sdf = DuckDBAPI(con).register(table, dataset_display_name=f"{table}_blocking")
    records = count_comparisons_from_blocking_rules(sdf, blocking_rules=list(rules.values()), link_type="dedupe_only",
                                                    unique_id_column_name="unique_id", record_sample_proportion=1.0)
    return {name: int(r["marginal_comparison_count"] if isinstance(r, dict) else r.marginal_comparison_count)
            for name, r in zip(rules, records)}


def dedupe(rows: pd.DataFrame, *, model: str = "plain", thresholds=CLUSTER_THRESHOLDS, u_max_pairs: float | None = None,
           threads: int | None = None, log_level: int | str = logging.WARNING) -> dict:
    """Train, predict and cluster `rows` (load_dtks_rows' shape; `alamat` optional, used by the plain model).

    Returns {"clusters": {threshold: DataFrame[unique_id, cluster_id]}, "pairs_predicted_at_0_5": int,
    "candidate_pairs": int | None, "candidate_pairs_by_rule": {...}, "seconds": float, "peak_mb": float,
    "rss_before_mb": float, "untrained": [...], "probability_two_random_records_match": float}.
    """
    from splink import DuckDBAPI, Linker

    from dtks_pipeline.benchmarks.registry import PeakMemory

    if u_max_pairs is None:
        u_max_pairs = PLAIN_U_MAX_PAIRS if model == "plain" else U_MAX_PAIRS
    has_address = model == "plain" and "alamat" in rows.columns
    columns = ["unique_id", "nik", "nokk", "nama_clean", "tgl_lahir", "jenis_kelamin", "kode_desa"]
    records = rows[columns + (["alamat"] if has_address else [])].copy()
    records["tgl_lahir"] = pd.to_datetime(records["tgl_lahir"])
    con = duckdb.connect()
    con.register("_records", records)
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    started = time.perf_counter()
    with PeakMemory() as mem:
        rss_before = mem.peak
        db_api = DuckDBAPI(con)
        sdf = db_api.register(records, dataset_display_name="dtks")
        linker = Linker(sdf, settings(model, has_address), log_level=log_level)
        counting = time.perf_counter()  # the blocking analysis is reporting, not linkage: kept out of the wall time
        by_rule = candidate_pair_counts(con, "_records", plain_blocking(has_address)) if model == "plain" else {}
        counting = time.perf_counter() - counting
        train(linker, model=model, u_max_pairs=u_max_pairs)
        predictions = linker.inference.predict(threshold_match_probability=PREDICT_THRESHOLD)
        n_pairs = con.execute(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()[0][0]
        clusters = {
            t: linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, t)
            .as_pandas_dataframe()[["unique_id", "cluster_id"]]
            for t in thresholds
        }
    seconds = round(time.perf_counter() - started - counting, 2)
    out = {
        "model": model,
        "clusters": clusters,
        "pairs_predicted_at_0_5": int(n_pairs),
        "candidate_pairs": sum(by_rule.values()) if by_rule else None,
        "candidate_pairs_by_rule": by_rule,
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
