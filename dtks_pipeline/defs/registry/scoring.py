"""Stage 3 of the registry build: scored pairs.

Trains the linkage model (linkage_model.py) on the month's mentions and
scores every candidate pair (candidates.py) with Splink 5 on the warehouse's
own DuckDB connection:

1. a starting prior probability that two random mentions match, from
   deterministic rules with an assumed recall (`DETERMINISTIC_RECALL`);
2. u by random sampling of `U_MAX_PAIRS` pairs (seeded: the same month gives
   the same model);
3. m by EM over `em_blocking_rules()`;
4. prediction of every candidate pair (Splink generates the pairs once,
   `compute_blocked_pairs_for_predict`; they are counted per blocking rule
   for the candidates' metadata and then scored from Splink's cache, in slices
   of at most `PREDICT_SLICE_PAIRS` pairs: `predict_blocked_pairs`);
5. calibration (calibration.py): the match proportion re-estimated from the
   month's own scores, u corrected for the matches inside the random
   sample, and m re-estimated over all candidate pairs for the levels EM's
   passes barely saw and the candidate pairs hold (EM's maximisation step
   over every blocked pair, not only one training rule's). Pairs with match probability below `KEEP_PROBABILITY` are then
   dropped.

With fewer than `MIN_TRAINING_MENTIONS` mentions (a tiny export, a test) the
prior m/u values of linkage_model.py are used as they are: training on a
handful of pairs is unstable, and a fixed model is deterministic. An EM pass
over fewer than `MIN_EM_PAIRS` blocked pairs is skipped for the same reason.

The result table (`SCORED_PAIRS`, columns `SCORED_COLUMNS`) has one row per
pair with both mention ids and record keys, the match probability and weight
(log2 Bayes factor, prior included), the comparison levels (`gamma_*`) and
the blocking rule that produced it; `ScoredPairs.linker` keeps the trained
Splink linker for dashboards and charts.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import duckdb
from dtks_pipeline.defs.registry import calibration, linkage_model
from dtks_pipeline.defs.registry.candidates import CandidatePairs, count_pairs
from dtks_pipeline.defs.registry.em_floor import em_m_floor
from dtks_pipeline.lib.laps import Laps

SCORED_PAIRS = "registry_scored_pairs"
KEEP_PROBABILITY = 0.01   # pairs below this are dropped: far below any decision or review band
PREDICT_PROBABILITY = 1e-4  # pairs predicted before the prior is re-estimated (it may rise a hundredfold)
# Pairs scored by one predict query. DuckDB spills the comparison vectors of a query's pairs, both rows' columns
# each, to disk: the 91 million pairs of a 1.2M-family month filled 48 GB of spill in ten minutes. In slices the
# disk holds one slice's vectors at a time; the 60k sample's month (about a million pairs) is one slice.
PREDICT_SLICE_PAIRS = 25_000_000
PRIOR_ITERATIONS = 200      # fixed-point iterations of the prior (converges in tens)
# Splink's own messages below this level stay off the console: its training chatter (u sampling, EM iterations,
# blocking and predict times: hundreds of lines a month) and its warnings, which here are all by design (an EM pass
# blocked on the NIK cannot see the NIK levels; u from 1e6 sampled pairs, the levels that need more are counted),
# would bury `dtks run`'s progress and summary. The trained model is in the asset's metadata and the log line of
# calibration.py.
SPLINK_LOG_LEVEL = logging.ERROR
COMPARISON_NAMES = ["nik_tgl_lahir", "nama", "jenis_kelamin", "hub_kel", "tempat"]
SCORED_COLUMNS = [
    "mid_l", "mid_r", "record_key_l", "record_key_r", "role_l", "role_r", "source_l", "source_r",
    "match_probability", "match_weight", *[f"gamma_{c}" for c in COMPARISON_NAMES], "match_rule",
]
log = logging.getLogger(__name__)


@dataclass
class ScoredPairs:
    table: str
    linker: object                          # splink.Linker, trained
    predictions: object                     # its SplinkDataFrame of predictions (all Splink columns)
    trained: bool
    parameters: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


def _em_pairs(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...]) -> int:
    """How many pairs an EM pass blocking on `columns` would see."""
    not_null = " AND ".join(f"{c} IS NOT NULL" for c in columns)
    return con.execute(f"SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n FROM {table} "
                       f"WHERE {not_null} GROUP BY {', '.join(columns)})").fetchall()[0][0]


def _not_trained(linker, columns: tuple[str, ...], passes: list[tuple[str, ...]]) -> list[str]:
    """The comparisons of linkage_model.EM_NOT_TRAINED[columns] that another of the `passes` run this month
    trains (one that no pass would train keeps what this pass learns rather than its starting values)."""
    comparisons = {c.output_column_name: c for c in linker._settings_obj.comparisons}
    return [name for name in linkage_model.EM_NOT_TRAINED.get(columns, ())
            if any(other != columns and linkage_model.em_pass_trains(comparisons[name], other) for other in passes)]


def _m_state(linker, names) -> dict:
    """(comparison, level label) -> its m value and trained-m records, for the comparisons `names`, before an EM
    pass (Splink replaces the level objects when a pass ends: they are found again by name)."""
    return {(comparison.output_column_name, level.label_for_charts): (level.m_probability,
                                                                      list(level._trained_m_probabilities))
            for comparison in linker._settings_obj.comparisons if comparison.output_column_name in names
            for level in comparison._comparison_levels_excluding_null}


def _restore_m(linker, kept: dict) -> None:
    """Undo what an EM pass learned for the levels of `kept` (linkage_model.EM_NOT_TRAINED): Splink trains
    every comparison whose columns the pass's blocking rule leaves free, and sets m to the median over passes;
    those comparisons still weigh in the pass's expectation step."""
    for comparison in linker._settings_obj.comparisons:
        for level in comparison._comparison_levels_excluding_null:
            if (comparison.output_column_name, level.label_for_charts) in kept:
                m, trained = kept[(comparison.output_column_name, level.label_for_charts)]
                level._trained_m_probabilities = trained
                level.m_probability = m


def predict_blocked_pairs(con: duckdb.DuckDBPyConnection, linker, blocked, threshold: float, total: int, *,
                          slice_pairs: int = PREDICT_SLICE_PAIRS):
    """Splink's predictions of the `total` blocked pairs (`blocked`, in the linker's cache) at `threshold`: in one
    query up to `slice_pairs` pairs, else slice by slice (a hash of the pair), each slice registered as the pairs
    to predict and its predictions appended to the first slice's table. Returns the SplinkDataFrame."""
    slices = -(-total // max(slice_pairs, 1))
    if slices <= 1:
        return linker.inference.predict(threshold_match_probability=threshold)
    db_api = linker._db_api
    predictions = None
    for k in range(slices):
        part = f"__dtks_blocked_slice_{k}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {part} AS SELECT * FROM {blocked.physical_name} "
                    f"WHERE hash(join_key_l, join_key_r) % {slices} = {k}")
        registered = linker.table_management.register_blocked_pairs_for_predict(
            db_api.table_to_splink_dataframe(part, part))
        scored = linker.inference.predict(threshold_match_probability=threshold)
        registered.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        if predictions is None:
            predictions = scored
        else:
            con.execute(f"INSERT INTO {predictions.physical_name} SELECT * FROM {scored.physical_name}")
            scored.drop_table_from_database_and_remove_from_cache()
        log.info("registry predict: slice %d of %d (%d blocked pairs)", k + 1, slices, total)
    return predictions


def score_pairs(con: duckdb.DuckDBPyConnection, candidates: CandidatePairs, *, u_max_pairs: float | None = None,
                seed: int = 1, predict_slice_pairs: int | None = None) -> ScoredPairs:
    """Train on `candidates.input_table` and score its candidate pairs into table SCORED_PAIRS
    (`predict_slice_pairs`: PREDICT_SLICE_PAIRS unless given)."""
    from splink import DuckDBAPI, Linker, block_on

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    lap = Laps(timings).lap
    db_api = DuckDBAPI(con)
    sdf = db_api.register(candidates.input_table, table_name="registry_linkage_input")
    n = con.execute(f"SELECT count(*) FROM {candidates.input_table}").fetchall()[0][0]
    trained = n >= linkage_model.MIN_TRAINING_MENTIONS
    linker = Linker(sdf, linkage_model.settings(candidates.rules, term_frequencies=trained), log_level=SPLINK_LOG_LEVEL)
    if trained:
        linker.training.estimate_probability_two_random_records_match(
            linkage_model.deterministic_rules(), recall=linkage_model.DETERMINISTIC_RECALL)
        # no deterministic match at all (an export without duplicates): expect one pair, not none
        floor = 1.0 / max(n * (n - 1) / 2, 1)
        if not linker._settings_obj._probability_two_random_records_match >= floor:
            linker._settings_obj._probability_two_random_records_match = floor
        lap("prior")
        linker.training.estimate_u_using_random_sampling(
            max_pairs=u_max_pairs or linkage_model.U_MAX_PAIRS, seed=seed, num_chunks=1,
            min_count_per_level=None)
        lap("u")
        passes = [c for c in linkage_model.EM_BLOCKS
                  if _em_pairs(con, candidates.input_table, c) >= linkage_model.MIN_EM_PAIRS]
        for columns in passes:
            kept = _m_state(linker, _not_trained(linker, columns, passes))
            with em_m_floor():  # a level EM finds in no match would underflow and fail the month
                linker.training.estimate_parameters_using_expectation_maximisation(block_on(*columns))
            _restore_m(linker, kept)
        calibration.fold_given_into_alone(linker)
        calibration.assume_independent(linker)
        lap("em")
    # the candidate pairs, generated once: counted per rule here, then scored by predict (which finds them
    # in the linker's cache instead of blocking again)
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    if not candidates.counts:
        count_pairs(con, blocked.physical_name, candidates)
    lap("blocking")
    predictions = predict_blocked_pairs(con, linker, blocked, PREDICT_PROBABILITY if trained else KEEP_PROBABILITY,
                                        sum(candidates.counts.values()),
                                        slice_pairs=predict_slice_pairs or PREDICT_SLICE_PAIRS)
    blocked.drop_table_from_database_and_remove_from_cache()
    lap("predict")
    calibrated = {}
    if trained:
        counted = calibration.counted_level_pairs(con, linker, candidates.input_table)
        lap("counted_levels")
        calibrated = calibration.calibrate(con, linker, predictions.physical_name, n, COMPARISON_NAMES,
                              u_pairs=min(u_max_pairs or linkage_model.U_MAX_PAIRS, n * (n - 1) / 2),
                              counted=counted)
        lap("calibration")
    rule_names = list(candidates.rules)
    rule_case = " ".join(f"WHEN '{i}' THEN '{name}'" for i, name in enumerate(rule_names))
    gammas = ", ".join(f"gamma_{c}" for c in COMPARISON_NAMES)
    con.execute(f"""
    CREATE OR REPLACE TABLE {SCORED_PAIRS} AS
    SELECT mid_l, mid_r, record_key_l, record_key_r, role_l, role_r, source_l, source_r,
           match_probability, match_weight, {gammas},
           CASE CAST(match_key AS VARCHAR) {rule_case} END AS match_rule
    FROM {predictions.physical_name}
    WHERE match_probability >= {KEEP_PROBABILITY}
    """)
    lap("keep")
    timings["total"] = round(time.perf_counter() - t0, 2)
    params = {
        "trained": trained,
        "probability_two_random_records_match": float(linker._settings_obj._probability_two_random_records_match),
        "mentions_scored": int(n),
        "pairs_kept": int(con.execute(f"SELECT count(*) FROM {SCORED_PAIRS}").fetchall()[0][0]),
        "prior_before_calibration": calibrated.get("prior_before"),
        "u_corrected": {k: [round(a, 9), round(b, 9)] for k, (a, b) in calibrated.get("u_corrected", {}).items()},
        "m_estimated": {k: [round(a, 9), round(b, 9)] for k, (a, b) in calibrated.get("m_estimated", {}).items()},
    }
    return ScoredPairs(table=SCORED_PAIRS, linker=linker, predictions=predictions, trained=trained,
                       parameters=params, seconds=timings)


def match_weights(scored: ScoredPairs) -> dict[str, dict[str, float]]:
    """The learned log2 Bayes factor of every comparison level (for metadata and the log)."""
    out: dict[str, dict[str, float]] = {}
    for comparison in scored.linker._settings_obj.comparisons:
        levels = {}
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            mw = level._log2_bayes_factor if hasattr(level, "_log2_bayes_factor") else None
            levels[level.label_for_charts] = round(float(mw), 2) if mw is not None else None
        out[comparison.output_column_name] = levels
    return out
