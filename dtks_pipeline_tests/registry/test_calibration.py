"""Calibration of the trained model (calibration.py): prior at its EM fixed point, u corrected for the
matches inside the random sample. Checked on simulated scores whose true prior is known."""
from __future__ import annotations

import numpy as np

from dtks_pipeline.defs.registry import calibration


M = np.array([0.95, 0.9, 0.85])   # agreement probabilities among matches
U = np.array([0.01, 0.02, 0.05])   # ... and among non-matches


def _simulated_bayes(all_pairs: int, matches: int, seed: int = 7) -> np.ndarray:
    """log2 Bayes factors of every pair of a simulated export: three agree/disagree comparisons drawn
    from the Fellegi-Sunter mixture with the m and u above."""
    rng = np.random.default_rng(seed)
    agree = np.concatenate([rng.random((matches, 3)) < M, rng.random((all_pairs - matches, 3)) < U])
    factor = np.where(agree, np.log2(M / U), np.log2((1 - M) / (1 - U)))
    return factor.sum(axis=1)


def test_fixed_point_recovers_the_share_of_matching_pairs_from_a_wrong_start():
    all_pairs, matches = 1_000_000, 2_000
    bayes = _simulated_bayes(all_pairs, matches)
    truth = matches / all_pairs
    for start in (truth / 20, truth * 20):
        lam = calibration.fixed_point_prior(bayes, all_pairs, start)
        assert abs(lam - truth) / truth < 0.1, (start, lam)


def test_u_is_corrected_for_matches_and_never_raised():
    # 40 random-sample pairs in a million agree on NIK; the matches (prior 3e-5, m 0.9) explain 27 of them
    u = calibration.corrected_u(4e-5, 0.9, 3e-5, 1e6)
    assert abs(u - (4e-5 - 3e-5 * 0.9) / (1 - 3e-5)) < 1e-12
    # all explained by matches: half a sampled pair, not zero (the weight stays finite)
    assert calibration.corrected_u(2e-5, 0.9, 3e-5, 1e6) == calibration.FLOOR_PAIRS / 1e6
    # a level already below the floor keeps its own value
    assert calibration.corrected_u(1e-7, 0.9, 3e-5, 1e6) == 1e-7
    assert calibration.corrected_u(0.3, 0.01, 3e-5, 1e6) <= 0.3
