"""Stage 3b of the registry build: calibrating the trained model on the month itself.

Splink's training leaves two estimates biased where duplicates are dense
(a small export, a village list, FEBRL's 1 in 2000 pairs matching):

- the prior (the probability that two random mentions match) comes from
  deterministic rules with an assumed recall: on an export whose duplicates
  rarely agree exactly it sees a third of the matches, on a clean one most;
- u comes from random pairs, which include the matches: when one pair in a
  few thousand is a match, "NIK equal" among random pairs is mostly matches,
  and its u (how often two *different* people agree) is overstated tenfold.

`calibrate` fixes both with the EM updates that hold m fixed, alternated
until they agree:

- prior = the sum of the candidate pairs' match probabilities / all pairs
  (pairs never blocked count as non-matches). A month whose pairs sum to
  fewer than `MIN_EXPECTED_MATCHES` expected matches (a test export, a tiny
  village list) keeps the deterministic estimate: a handful of ambiguous
  pairs would otherwise raise the prior that raises them;
- u of a level = (share of random pairs at that level - prior x m) /
  (1 - prior): the mixture P(level) = prior x m + (1 - prior) x u solved for
  u. A level whose random-sample share is explained by the matches alone
  keeps half a pair of the sample (the Jeffreys estimate of a share never
  observed). u is never raised.

Levels whose every pair is inside a blocking rule (NIK equal, NIK one edit:
`linkage_model.COUNTED_LEVELS`) need no sample at all: all their pairs are
in hand, so u is the EM update over them, (pairs at the level - the sum of
their match probabilities) / (all pairs - expected matches), with half a
pair of *all* pairs as the floor. A sample of a million pairs holds about
ten NIK-equal pairs of a regency's month, so its estimate of how often two
different people share a NIK is mostly noise; the count is exact.

Term-frequency levels (exact name) are left alone: their weight is m / the
name's own frequency, not m / u. Where duplicates are rare (a regency's
DTKS, one pair in a million matching) both corrections are negligible.

The predictions table is rewritten for the calibrated model and the linker's
settings carry it, so that dashboards and charts agree with the scores.
"""
from __future__ import annotations

import logging

import duckdb
import numpy as np

from dtks_pipeline.defs.registry import linkage_model

log = logging.getLogger(__name__)

ITERATIONS = 100       # alternations of prior and u (converges in tens)
TOLERANCE = 1e-4       # relative change of the prior that ends them
MIN_EXPECTED_MATCHES = 100  # below this many expected matching pairs the fixed point is too noisy to use
FLOOR_PAIRS = 0.5      # a level's u stays at least this many pairs of the random sample (Jeffreys: 0 seen)


def _logit2(p: float) -> float:
    return float(np.log2(p) - np.log2(1.0 - p))


def _levels(linker, names: list[str]) -> dict[str, dict[int, object]]:
    """comparison name -> gamma value -> the Splink level that u correction may change."""
    out: dict[str, dict[int, object]] = {}
    for comparison in linker._settings_obj.comparisons:
        if comparison.output_column_name not in names:
            continue
        out[comparison.output_column_name] = {
            level.comparison_vector_value: level for level in comparison.comparison_levels
            if not level.is_null_level and not level._has_tf_adjustments
            and isinstance(level._u_probability, float) and isinstance(level._m_probability, float)}
    return out


def corrected_u(u: float, m: float, prior: float, u_pairs: float) -> float:
    """u of a level from its random-sample share `u`, the matches' share `m` and the prior."""
    floor = FLOOR_PAIRS / max(u_pairs, 1.0)
    return min(u, max((u - prior * m) / (1.0 - prior), floor))


def counted_u(pairs_at_level: float, matches_at_level: float, all_pairs: float, matches: float) -> float:
    """u of a level all of whose pairs were counted: its non-matching pairs over all non-matching pairs
    (the EM update), at least half a pair of all pairs."""
    return max(pairs_at_level - matches_at_level, FLOOR_PAIRS) / max(all_pairs - matches, 1.0)


def _corrected_levels(raw_u: dict, levels: dict, prior: float, u_pairs: float) -> dict:
    """corrected_u of every (comparison, gamma) level."""
    return {(c, g): corrected_u(u, levels[c][g].m_probability, prior, u_pairs) for (c, g), u in raw_u.items()}


def counted_level_pairs(con: duckdb.DuckDBPyConnection, linker, input_table: str) -> dict[tuple[str, int], int]:
    """(comparison, gamma) -> how many pairs of the input sit at that level, for the levels whose pairs are all
    found by a join (`linkage_model.COUNTED_LEVELS`); a covered level without pairs counts 0."""
    comparisons = {c.output_column_name: c for c in linker._settings_obj.comparisons}
    columns = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in linkage_model.SPLINK_COLUMNS)
    out: dict[tuple[str, int], int] = {}
    for name, (labels, pairs_sql) in linkage_model.COUNTED_LEVELS.items():
        comparison = comparisons[name]
        gamma = comparison._case_statement.rsplit(" as ", 1)[0]
        rows = dict(con.execute(f"""
        WITH pairs AS ({pairs_sql.format(t=input_table)}),
        sides AS (SELECT {columns} FROM pairs JOIN {input_table} l ON l.mid = pairs.mid_l
                  JOIN {input_table} r ON r.mid = pairs.mid_r)
        SELECT {gamma} AS g, count(*) FROM sides GROUP BY g""").fetchall())
        for level in comparison.comparison_levels:
            if level.label_for_charts in labels:
                out[(name, level.comparison_vector_value)] = int(rows.get(level.comparison_vector_value, 0))
    return out


def fixed_point_prior(bayes: np.ndarray, all_pairs: float, prior: float) -> float:
    """The match proportion at which the pairs' expected matches, summed, give that proportion back."""
    lam = prior
    for _ in range(ITERATIONS):
        p = 1.0 / (1.0 + np.exp2(-(bayes + _logit2(lam))))
        new = min(max(float(p.sum()) / all_pairs, 1.0 / all_pairs), 0.5)
        if abs(new - lam) <= TOLERANCE * lam:
            return new
        lam = new
    return lam


def calibrate(con: duckdb.DuckDBPyConnection, linker, predictions: str, n_mentions: int, names: list[str],
              *, u_pairs: float, counted: dict[tuple[str, int], int] | None = None) -> dict:
    """Calibrate prior and u on `predictions` (a Splink predictions table), rewrite its match_weight and
    match_probability, and set the linker's settings to the calibrated model. `counted`: the exact pair count
    of the levels all of whose pairs are blocked (counted_level_pairs). Returns what changed."""
    settings = linker._settings_obj
    prior0 = float(settings._probability_two_random_records_match)
    all_pairs = max(n_mentions * (n_mentions - 1) / 2, 1.0)
    cols = ", ".join(f"gamma_{n}" for n in names)
    frame = con.execute(f"SELECT match_weight, {cols} FROM {predictions}").fetchnumpy()
    bayes0 = frame["match_weight"].astype("float64") - _logit2(prior0)
    levels = _levels(linker, names)
    raw_u = {(c, g): lvl.u_probability for c, by in levels.items() for g, lvl in by.items()}

    # (a level whose m EM never estimated keeps its sampled u: an exact u beside a guessed m is no better)
    counted = {k: v for k, v in (counted or {}).items()
               if k[0] in levels and k[1] in levels[k[0]] and levels[k[0]][k[1]]._has_estimated_m_values}

    def u_at(prior: float, shift: np.ndarray) -> dict:
        """Every level's u at this prior: sampled and corrected, or counted over all pairs."""
        out = _corrected_levels(raw_u, levels, prior, u_pairs)
        if counted:
            p = 1.0 / (1.0 + np.exp2(-(bayes0 + shift + _logit2(prior))))
            for (c, g), pairs in counted.items():
                out[(c, g)] = counted_u(pairs, float(p[frame[f"gamma_{c}"] == g].sum()), all_pairs, float(p.sum()))
        return out

    def shift_for(new_u: dict) -> np.ndarray:
        shift = np.zeros(len(bayes0))
        for c in levels:
            gamma = frame[f"gamma_{c}"]
            for g in levels[c]:
                delta = np.log2(raw_u[(c, g)]) - np.log2(new_u[(c, g)])
                if delta:
                    shift[gamma == g] += delta
        return shift

    prior, shift = prior0, np.zeros(len(bayes0))
    new_u = dict(raw_u)
    for _ in range(ITERATIONS):
        new_prior = fixed_point_prior(bayes0 + shift, all_pairs, prior)
        new_u = u_at(new_prior, shift)
        new_shift = shift_for(new_u)
        done = (abs(new_prior - prior) <= TOLERANCE * prior
                and float(np.max(np.abs(new_shift - shift), initial=0.0)) <= TOLERANCE)
        prior, shift = new_prior, new_shift
        if done:
            break
    prior = fixed_point_prior(bayes0 + shift, all_pairs, prior)
    if prior * all_pairs < MIN_EXPECTED_MATCHES:
        prior = prior0
        new_u = _corrected_levels(raw_u, levels, prior, u_pairs)

    offset = _logit2(prior) - _logit2(prior0)
    terms = [repr(float(offset))]
    for c in levels:
        cases = " ".join(f"WHEN {g} THEN {float(np.log2(raw_u[(c, g)]) - np.log2(new_u[(c, g)]))!r}"
                         for g in levels[c] if new_u[(c, g)] != raw_u[(c, g)])
        if cases:
            terms.append(f"(CASE gamma_{c} {cases} ELSE 0 END)")
    change = " + ".join(terms)
    con.execute(f"UPDATE {predictions} SET match_weight = match_weight + {change}, "
                f"match_probability = 1.0 / (1.0 + pow(2.0, -(match_weight + {change})))")
    settings._probability_two_random_records_match = prior
    for (c, g), u in new_u.items():
        levels[c][g].u_probability = u
    changed = {f"{c}[{levels[c][g].label_for_charts}]": (raw_u[(c, g)], u)
               for (c, g), u in new_u.items() if u != raw_u[(c, g)]}
    log.info("registry calibration: prior %.3g -> %.3g; u corrected on %d levels", prior0, prior, len(changed))
    return {"prior_before": prior0, "prior": prior, "u_corrected": changed}
