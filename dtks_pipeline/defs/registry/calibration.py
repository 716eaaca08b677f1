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


def _corrected_levels(raw_u: dict, levels: dict, prior: float, u_pairs: float) -> dict:
    """corrected_u of every (comparison, gamma) level."""
    return {(c, g): corrected_u(u, levels[c][g].m_probability, prior, u_pairs) for (c, g), u in raw_u.items()}


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
              *, u_pairs: float) -> dict:
    """Calibrate prior and u on `predictions` (a Splink predictions table), rewrite its match_weight and
    match_probability, and set the linker's settings to the calibrated model. Returns what changed."""
    settings = linker._settings_obj
    prior0 = float(settings._probability_two_random_records_match)
    all_pairs = max(n_mentions * (n_mentions - 1) / 2, 1.0)
    cols = ", ".join(f"gamma_{n}" for n in names)
    frame = con.execute(f"SELECT match_weight, {cols} FROM {predictions}").fetchnumpy()
    bayes0 = frame["match_weight"].astype("float64") - _logit2(prior0)
    levels = _levels(linker, names)
    raw_u = {(c, g): lvl.u_probability for c, by in levels.items() for g, lvl in by.items()}

    prior, shift = prior0, np.zeros(len(bayes0))
    new_u = dict(raw_u)
    for _ in range(ITERATIONS):
        new_prior = fixed_point_prior(bayes0 + shift, all_pairs, prior)
        new_u = _corrected_levels(raw_u, levels, new_prior, u_pairs)
        shift = np.zeros(len(bayes0))
        for c in levels:
            gamma = frame[f"gamma_{c}"]
            for g in levels[c]:
                delta = np.log2(raw_u[(c, g)]) - np.log2(new_u[(c, g)])
                if delta:
                    shift[gamma == g] += delta
        done = abs(new_prior - prior) <= TOLERANCE * prior
        prior = new_prior
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
