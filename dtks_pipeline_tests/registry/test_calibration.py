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


def test_counted_u_is_the_share_of_non_matching_pairs_with_a_floor():
    # 12 pairs share a NIK, the model expects 9.5 of them to match; 2e6 pairs, 400 expected matches
    assert abs(calibration.counted_u(12, 9.5, 2e6, 400) - 2.5 / (2e6 - 400)) < 1e-15
    # every counted pair a match: half a pair of all pairs, not zero
    assert calibration.counted_u(12, 12, 2e6, 400) == calibration.FLOOR_PAIRS / (2e6 - 400)


def _nik_rows():
    from dtks_pipeline_tests.registry.staging_fixture import dtks_row, nik, nokk

    base = nik("01", "1970-05-12", "L", 11)
    typo = base[:13] + ("9" if base[13] != "9" else "8") + base[14:]          # one substitution
    swap = base[:14] + base[15] + base[14] if base[14] != base[15] else base[:14] + "12"  # adjacent swap
    two = base[:12] + ("77" if base[12:14] != "77" else "66") + base[14:]   # two digits apart
    other = nik("02", "1980-01-01", "P", 40)
    return [
        dtks_row("A1", "H1", nokk(1), base, "I MADE OKA", "L", "1970-05-12", 1),
        dtks_row("A2", "H1", nokk(1), base, "I MD OKA", "L", "1970-05-12", 1),          # NIK equal
        dtks_row("A3", "H2", nokk(2), base, "I MADE OKA", "L", "1971-08-30", 1),        # NIK equal, another date
        dtks_row("A4", "H3", nokk(3), typo, "I MADE OKA", "L", "1970-05-12", 1),        # one edit
        dtks_row("A5", "H4", nokk(4), swap, "KETUT OKA", "L", "1970-05-12", 1),         # adjacent swap
        dtks_row("A6", "H5", nokk(5), two, "I MADE OKA", "L", "1970-05-12", 1),         # two edits: not counted
        dtks_row("B1", "H6", nokk(6), other, "NI LUH SARI", "P", "1980-01-01", 1),
    ]


def test_counted_levels_hold_every_pair_of_those_levels(tmp_path):
    """The join that counts the NIK levels finds every pair at them: the same counts as over all pairs."""
    from splink import DuckDBAPI, Linker

    from dtks_pipeline.defs.registry import candidates, inputs, linkage_model, mentions
    from dtks_pipeline.lib import warehouse
    from dtks_pipeline_tests.registry.staging_fixture import write_staging

    con = warehouse.connect(tmp_path / "w.duckdb")
    write_staging(con, "dtks", "2022-10", _nik_rows())
    inputs.register_inputs(con, "2022-10")
    table = candidates.candidate_pairs(con, mentions.build_mentions(con, None)).input_table
    linker = Linker(DuckDBAPI(con).register(table, table_name="counted_input"), linkage_model.settings())
    counted = calibration.counted_level_pairs(con, linker, table)

    comparison = next(c for c in linker._settings_obj.comparisons if c.output_column_name == "nik_tgl_lahir")
    gamma = comparison._case_statement.rsplit(" as ", 1)[0]
    columns = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in linkage_model.SPLINK_COLUMNS)
    every_pair = dict(con.execute(f"""SELECT {gamma} AS g, count(*) FROM (SELECT {columns} FROM {table} l
                                      JOIN {table} r ON l.mid < r.mid) GROUP BY g""").fetchall())
    labels = linkage_model.COUNTED_LEVELS["nik_tgl_lahir"]
    covered = {lvl.comparison_vector_value: lvl.label_for_charts for lvl in comparison.comparison_levels
               if lvl.label_for_charts in labels}
    assert set(covered.values()) == set(labels)
    assert {g: counted[("nik_tgl_lahir", g)] for g in covered} == {g: every_pair.get(g, 0) for g in covered}
    by_label = {covered[g]: counted[("nik_tgl_lahir", g)] for g in covered}
    assert by_label[linkage_model.NIK_EQUAL] == 1 and by_label[linkage_model.NIK_EQUAL_DOB_DIFFERS] == 2
    # A4 and A5 are one edit from A1, A2, A3 (and two apart from each other); A6 is two edits from all
    assert sum(by_label[k] for k in labels[2:]) == 6
    con.close()


def test_m_step_recovers_each_levels_share_of_the_matches_from_the_candidate_pairs():
    """The M-step over candidate pairs whose posteriors come from the true model gives back the true m, whatever
    m the model started from (a level no EM pass saw keeps a guessed m until then); null comparisons don't count."""
    from types import SimpleNamespace

    rng = np.random.default_rng(11)
    m, u = np.array([0.05, 0.25, 0.7]), np.array([0.949, 0.05, 0.001])   # gamma 0 (else), 1, 2 (best)
    matches, others = 3_000, 60_000
    gamma = np.concatenate([rng.choice(3, matches, p=m), rng.choice(3, others, p=u)])
    bayes = np.log2(m / u)[gamma]
    p = 1.0 / (1.0 + np.exp2(-(bayes + calibration._logit2(matches / (matches + others)))))
    gamma = np.where(rng.random(len(gamma)) < 0.1, -1, gamma)            # a tenth without the comparison's values
    guessed = {g: SimpleNamespace(m_probability=0.01) for g in range(3)}
    estimate = calibration.m_step(p, {"c": gamma}, {"c": guessed})
    assert set(estimate) == {("c", 0), ("c", 1), ("c", 2)}
    for g in range(3):
        assert abs(estimate[("c", g)] - m[g]) < 0.02, (g, estimate)
    assert abs(sum(estimate.values()) - 1.0) < 1e-9
    # a level no candidate pair reaches gets the floor, not zero (its log weight stays finite)
    assert calibration.m_step(p, {"c": np.where(gamma == 0, 1, gamma)}, {"c": guessed})[("c", 0)] == calibration.M_FLOOR


def test_only_levels_the_candidate_pairs_know_better_than_em_are_re_estimated():
    """A level EM's passes never saw but hundreds of candidate pairs hold (a Samsat row, without card or birth
    date, one NIK edit from its owner) gets the M-step's m; one that neither saw enough of keeps EM's (or its
    starting) value, so that a handful of pairs can't turn it into a veto; a well-trained level keeps EM's."""
    em = {("nik", 3): 0.0, ("nik", 2): 0.0, ("nama", 5): 5389.4}
    candidates = {("nik", 3): 342.4, ("nik", 2): 10.4, ("nama", 5): 5821.2}
    free = calibration.re_estimated(em, candidates)
    assert free == {("nik", 3)}
    kept = calibration.keep_supported({("nik", 3): 0.01, ("nik", 2): 0.05, ("nama", 5): 0.70},
                                      {("nik", 3): 0.046, ("nik", 2): 0.001, ("nama", 5): 0.71}, free)
    assert kept == {("nik", 3): 0.046, ("nik", 2): 0.05, ("nama", 5): 0.70}


def test_a_counted_level_is_re_estimated_over_all_candidate_pairs_however_many_matches_em_saw():
    """EM's passes each see one rule's pairs: a level whose every pair is counted (a NIK one edit off) is
    re-estimated over all candidate pairs even where a pass saw plenty of it, when they hold enough of it; a
    counted level they hold too little of keeps EM's value, and so does a level that is not counted."""
    em = {("nik", 7): 412.0, ("nik", 6): 55.0, ("nama", 5): 5389.4}
    candidates = {("nik", 7): 96.3, ("nik", 6): 4.1, ("nama", 5): 5821.2}
    counted = {("nik", 7): 1613, ("nik", 6): 220}
    assert calibration.re_estimated(em, candidates, counted=counted) == {("nik", 7)}
    assert calibration.re_estimated(em, candidates) == set()


def test_a_levels_support_leaves_out_its_own_weight():
    """A guessed m must not vouch for itself: a pair whose weight is all its level's own counts as a coin flip."""
    from types import SimpleNamespace

    def level(m, u, tf=False):
        return SimpleNamespace(m_probability=m, u_probability=u, _u_probability=u, _has_tf_adjustments=tf)

    own = float(np.log2(0.5 / 0.005))
    weights = np.array([own, own, own + 20.0, 30.0])
    gammas = {"c": np.array([2, 2, 2, 1])}
    support = calibration.support_without_level(weights, gammas, {"c": {2: level(0.5, 0.005), 1: level(0.9, 0.01, tf=True),
                                                                        0: level(0.1, 0.9)}})
    assert abs(support[("c", 2)] - (0.5 + 0.5 + 1.0 / (1.0 + 2.0 ** -20))) < 1e-9
    assert support[("c", 1)] == 0.0 and support[("c", 0)] == 0.0   # term-frequency level; a level without pairs


def test_pair_groups_give_the_sums_of_the_pairs_they_stand_for():
    """Grouping the pairs that share comparison vector, EM passes and Bayes factor changes no sum calibration takes."""
    rng = np.random.default_rng(5)
    n = 20_000
    gammas = {"a": rng.integers(-1, 4, n), "b": rng.integers(0, 6, n)}
    in_em = {"a": rng.random(n) < 0.3, "b": rng.random(n) < 0.5}
    bayes = rng.choice([-12.0, -3.5, 2.25, 9.0, 15.5], n) + (gammas["b"] == 5) * rng.choice([0.0, 1.5, 3.0], n)
    groups = calibration.PairGroups(bayes, gammas, in_em)
    assert len(groups.count) < n / 10 and groups.count.sum() == n
    for c in gammas:
        for g in range(-1, 6):
            for flag in (False, True):
                raw = int(((gammas[c] == g) & (in_em[c] == flag)).sum())
                assert groups.count[(groups.gammas[c] == g) & (groups.in_em[c] == flag)].sum() == raw
    assert abs(calibration.fixed_point_prior(bayes, 1e8, 1e-6)
               - calibration.fixed_point_prior(groups.bayes, 1e8, 1e-6, groups.count)) < 1e-15
    p = 1.0 / (1.0 + np.exp2(-(bayes - 10.0)))
    expected = groups.count / (1.0 + np.exp2(-(groups.bayes - 10.0)))
    levels = {"a": {g: None for g in range(4)}, "b": {g: None for g in range(6)}}
    by_pair, by_group = calibration.m_step(p, gammas, levels), calibration.m_step(expected, groups.gammas, levels)
    assert all(abs(by_pair[k] - by_group[k]) < 1e-12 for k in by_pair)
