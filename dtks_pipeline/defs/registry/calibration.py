"""Stage 3b of the registry build: calibrating the trained model on the month itself.

Splink's training leaves three estimates biased where duplicates are dense
(a small export, a village list, FEBRL's 1 in 2000 pairs matching):

- the prior (the probability that two random mentions match) comes from
  deterministic rules with an assumed recall: on an export whose duplicates
  rarely agree exactly it sees a third of the matches, on a clean one most;
- u comes from random pairs, which include the matches: when one pair in a
  few thousand is a match, "NIK equal" among random pairs is mostly matches,
  and its u (how often two *different* people agree) is overstated tenfold;
- m comes from EM passes blocked on one rule each (same NIK, same card and
  sex), which see only the pairs of that rule: a level no such pair reaches
  (a Samsat row, without card or birth date, whose NIK is two digits off)
  keeps its starting value, and a level few pairs reach gets a noisy one
  (0.0009 in one month, 0.005 in the next on the perturbation suite).

`calibrate` fixes them with the EM updates over the month's candidate
pairs, alternated until they agree:

- m of a level that EM's passes saw in fewer than `MIN_SUPPORT` expected
  matches, or whose every pair is counted (`linkage_model.COUNTED_LEVELS`),
  while the candidate pairs hold at least that many by the other
  comparisons' evidence alone (`support_without_level`), = the expected
  matches at that level / the expected matches whose comparison is not null,
  summed over every candidate pair (`m_step`: EM's maximisation step over all
  blocked pairs, not one rule's; `re_estimated`). The candidate pairs hold
  nearly every match, so the share is unbiased where one rule's pairs are
  not. Every other level keeps EM's m: re-estimating levels with a handful
  of pairs made them weaker evidence (a death row with a NIK two digits off,
  same birth date, went from linked at p >= 0.99 to the review band, 0.84-0.99,
  on an independent delivery) or a veto (EM's fixed point at m = 0), and a level whose
  expected matches fall below `MIN_SUPPORT` as its own m falls goes back to
  EM's value. Pairs below the prediction threshold count as non-matches; a
  month below `MIN_EXPECTED_MATCHES` keeps EM's m;
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

The conditional levels (`linkage_model.CONDITIONAL_LEVELS`: the card and village
given a NIK equal or one edit apart) are counted the same way, as shares within
their group: m = the level's share of the group's expected matches, u = its
share of the group's non-matching pairs, each with one pair's worth of the
shares the card alone gives them (`conditional_shares`). They start as no
evidence (`alternate`), so that a card shared by twins or by a copied NIK
cannot vouch for itself.

Term-frequency levels (exact name) keep their u: their weight is m / the
name's own frequency, not m / u (their m is estimated like any other). Where duplicates are rare (a regency's
DTKS, one pair in a million matching) both corrections are negligible.

The predictions table is rewritten for the calibrated model and the linker's
settings carry it, so that dashboards and charts agree with the scores.
"""
from __future__ import annotations

import logging

import duckdb
import numpy as np

from dtks_pipeline.defs.registry import linkage_model
from dtks_pipeline.defs.registry.em_floor import M_FLOOR

log = logging.getLogger(__name__)

ITERATIONS = 100       # alternations of prior and u (converges in tens)
TOLERANCE = 1e-4       # relative change of the prior that ends them
MIN_EXPECTED_MATCHES = 100  # below this many expected matching pairs the fixed point is too noisy to use
MIN_SUPPORT = 30      # expected matches an m estimate must rest on (about 20% noise); see re_estimated
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


def _m_levels(linker, names: list[str]) -> dict[str, dict[int, object]]:
    """comparison name -> gamma value -> every non-null Splink level (the levels whose m the M-step updates)."""
    return {c.output_column_name: {level.comparison_vector_value: level for level in c.comparison_levels
                                   if not level.is_null_level and isinstance(level._m_probability, float)}
            for c in linker._settings_obj.comparisons if c.output_column_name in names}


def m_step(p: np.ndarray, gammas: dict[str, np.ndarray], m_levels: dict[str, dict[int, object]]) -> dict:
    """m of every level: the expected matches at that level over the expected matches whose comparison is not
    null, over the candidate pairs (the EM maximisation step; a level without them keeps M_FLOOR)."""
    out = {}
    for c, by in m_levels.items():
        gamma = gammas[c]
        total = float(p[gamma >= 0].sum())
        for g in by:
            out[(c, g)] = max(float(p[gamma == g].sum()) / total, M_FLOOR) if total > 0 else by[g].m_probability
    return out


def _em_passes(linker, names: list[str]) -> dict[str, str]:
    """comparison -> SQL (over a predictions table) of "this pair is in an EM pass that trains the comparison":
    which pass trains which comparison is `linkage_model.em_pass_trains`."""
    out = {}
    for comparison in linker._settings_obj.comparisons:
        if comparison.output_column_name not in names:
            continue
        blocks = [b for b in linkage_model.EM_BLOCKS if linkage_model.em_pass_trains(comparison, b)]
        out[comparison.output_column_name] = " OR ".join(
            "(" + " AND ".join(f"coalesce({c}_l = {c}_r, false)" for c in b) + ")" for b in blocks) or "false"
    return out


def em_support(p: np.ndarray, in_em: dict[str, np.ndarray] | None, gammas: dict[str, np.ndarray],
               m_levels: dict) -> dict:
    """(comparison, gamma) -> the expected matches at that level among the pairs of the EM passes that trained
    the comparison (`in_em`; None: among every pair): how much evidence an m of the level rests on."""
    return {(c, g): float(p[(gammas[c] == g) if in_em is None else (in_em[c] & (gammas[c] == g))].sum())
            for c, by in m_levels.items() for g in by}


def support_without_level(weights: np.ndarray, gammas: dict[str, np.ndarray], m_levels: dict,
                          count: np.ndarray | None = None) -> dict:
    """(comparison, gamma) -> the expected matches at that level among all candidate pairs, each pair's match
    probability taken without that level's own weight: how many matches the other comparisons alone place
    there. (With its own weight counted, a starting m would vouch for itself: a generous guess makes its
    pairs likely, and they then confirm it.) Term-frequency levels are left out (0): EM trains them."""
    out = {}
    for c, by in m_levels.items():
        for g, level in by.items():
            at = gammas[c] == g
            if level._has_tf_adjustments or not isinstance(level._u_probability, float) or not at.any():
                out[(c, g)] = 0.0
                continue
            own = np.log2(level.m_probability) - np.log2(level.u_probability)
            p = 1.0 / (1.0 + np.exp2(-(weights[at] - own)))
            out[(c, g)] = float(p.sum()) if count is None else float(p @ count[at])
    return out


def re_estimated(em: dict, candidates: dict, least: float = MIN_SUPPORT, counted=()) -> set:
    """The levels whose m the candidate pairs estimate better than EM did: EM's passes saw fewer than `least`
    expected matches there, all candidate pairs at least `least` by the other comparisons alone
    (`support_without_level`); and the levels all of whose pairs are counted (`counted`,
    linkage_model.COUNTED_LEVELS) that the candidate pairs hold `least` of, however many EM saw: each pass sees
    the pairs of one rule, and a level's share of that rule's matches is not its share of all (among the pairs
    of one card and one name, nearly all duplicates, "NIK one edit, same birth date" took m = 0.36 on the own
    sample, where it holds 0.03 of the matches, and merged namesakes born the same day in two villages). Where
    neither has that many, the level keeps EM's (or its starting) value: an m estimated from a handful of
    matches is noise, and one estimated from none would make the level a veto."""
    return ({k for k, v in em.items() if v < least <= candidates.get(k, 0.0)}
            | {k for k in counted if candidates.get(k, 0.0) >= least})


def keep_supported(raw_m: dict, new_m: dict, free: set) -> dict:
    """The M-step's m for the levels in `free`, EM's everywhere else (not rescaled: a level EM never saw keeps its
    starting value beside the trained ones, as Splink leaves it)."""
    return {k: (new_m[k] if k in free else m) for k, m in raw_m.items()}


def _corrected_levels(raw_u: dict, levels: dict, prior: float, u_pairs: float, m: dict) -> dict:
    """corrected_u of every (comparison, gamma) level, at m (the level's own m where `m` has none)."""
    return {(c, g): corrected_u(u, m.get((c, g), levels[c][g].m_probability), prior, u_pairs)
            for (c, g), u in raw_u.items()}


def counted_level_pairs(con: duckdb.DuckDBPyConnection, linker, input_table: str) -> dict[tuple[str, int], int]:
    """(comparison, gamma) -> how many pairs of the input sit at that level, for the levels whose pairs are all
    found by a join (`linkage_model.COUNTED_LEVELS`, `COUNTED_PAIRS_SQL`); a covered level without pairs counts 0."""
    comparisons = {c.output_column_name: c for c in linker._settings_obj.comparisons}
    columns = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in linkage_model.SPLINK_COLUMNS)
    names = list(linkage_model.COUNTED_LEVELS)
    gammas = ", ".join(comparisons[n]._case_statement.rsplit(" as ", 1)[0] + f" AS g_{n}" for n in names)
    rows = con.execute(f"""
    WITH pairs AS ({linkage_model.COUNTED_PAIRS_SQL.format(t=input_table)}),
    sides AS (SELECT {columns} FROM pairs JOIN {input_table} l ON l.mid = pairs.mid_l
              JOIN {input_table} r ON r.mid = pairs.mid_r)
    SELECT {gammas}, count(*) FROM sides GROUP BY ALL""").fetchall()
    out: dict[tuple[str, int], int] = {}
    for i, name in enumerate(names):
        per_gamma: dict[int, int] = {}
        for row in rows:
            per_gamma[row[i]] = per_gamma.get(row[i], 0) + int(row[-1])
        for level in comparisons[name].comparison_levels:
            if level.label_for_charts in linkage_model.COUNTED_LEVELS[name]:
                out[(name, level.comparison_vector_value)] = per_gamma.get(level.comparison_vector_value, 0)
    return out


def conditional_groups(linker, names: list[str]) -> list[list[tuple[str, int]]]:
    """linkage_model.CONDITIONAL_LEVELS as groups of (comparison, gamma)."""
    out = []
    for comparison in linker._settings_obj.comparisons:
        c = comparison.output_column_name
        if c not in names:
            continue
        gamma = {level.label_for_charts: level.comparison_vector_value for level in comparison.comparison_levels}
        out += [[(c, gamma[label]) for label in group] for group in linkage_model.CONDITIONAL_LEVELS.get(c, [])]
    return out


def _levels_by_label(linker, per_comparison: dict):
    """(label -> Splink level, per_comparison[name]) for each comparison named in `per_comparison`."""
    for comparison in linker._settings_obj.comparisons:
        if comparison.output_column_name in per_comparison:
            yield ({level.label_for_charts: level for level in comparison._comparison_levels_excluding_null},
                   per_comparison[comparison.output_column_name])


def fold_given_into_alone(linker) -> None:
    """Give the card's own levels back the matches and pairs Splink's training put in the conditional levels
    (linkage_model.FOLDED_INTO): trained as one comparison, the conditional levels held most duplicates (their NIK
    equal or one edit off), and "two cards that differ" kept a fifth of its weight for a pair whose NIK is far off
    (FEBRL4: -5.2 bits instead of -0.6). The card's levels are then what they were without the conditional ones,
    P(card | match) over all pairs, which is what a pair whose NIK is far off uses."""
    for by_label, folded in _levels_by_label(linker, linkage_model.FOLDED_INTO):
        for given, alone in folded.items():
            for attr in ("m_probability", "u_probability"):
                value = getattr(by_label[given], attr)
                if isinstance(value, float):
                    setattr(by_label[alone], attr, getattr(by_label[alone], attr) + value)


def assume_independent(linker) -> None:
    """Set the conditional levels' m and u to what the card weighs alone (linkage_model.GIVEN_AS_IF_INDEPENDENT),
    from the trained model: what they weigh until calibration has counted their pairs."""
    for by_label, given in _levels_by_label(linker, linkage_model.GIVEN_AS_IF_INDEPENDENT):
        for label, alone in given.items():
            by_label[label].m_probability = sum(by_label[a].m_probability for a in alone)
            by_label[label].u_probability = sum(by_label[a].u_probability for a in alone)


def conditional_shares(matches_at: dict, pairs_at: dict, groups: list[list[tuple[str, int]]], m0: dict,
                       u0: dict) -> tuple[dict, dict]:
    """m and u of the levels that weigh a comparison given another's outcome (linkage_model.CONDITIONAL_LEVELS):
    each level's share of its group's expected matches (`matches_at`), and of its group's non-matching pairs (the
    group's counted pairs `pairs_at` less its matches), each with one pair's worth of the shares the levels have
    as if independent (`m0`, `u0`): a group with no non-matching pair (a clean export, a test) keeps them."""
    m, u = {}, {}
    for group in groups:
        matches = {k: matches_at.get(k, 0.0) for k in group}
        others = {k: max(pairs_at.get(k, 0) - matches[k], 0.0) for k in group}
        m_total, u_total = sum(m0[k] for k in group), sum(u0[k] for k in group)
        for k in group:
            m[k] = (matches[k] + m0[k] / m_total) / (sum(matches.values()) + 1.0)
            u[k] = (others[k] + u0[k] / u_total) / (sum(others.values()) + 1.0)
    return m, u


def fixed_point_prior(bayes: np.ndarray, all_pairs: float, prior: float, count: np.ndarray | None = None) -> float:
    """The match proportion at which the pairs' expected matches, summed, give that proportion back
    (`count`: how many pairs each entry of `bayes` stands for, 1 each by default)."""
    lam = prior
    for _ in range(ITERATIONS):
        p = 1.0 / (1.0 + np.exp2(-(bayes + _logit2(lam))))
        expected = float(p.sum()) if count is None else float(p @ count)
        new = min(max(expected / all_pairs, 1.0 / all_pairs), 0.5)
        if abs(new - lam) <= TOLERANCE * lam:
            return new
        lam = new
    return lam


class PairGroups:
    """The candidate pairs grouped where calibration cannot tell them apart: the same comparison vector, the same
    EM passes and the same Bayes factor. Every update is a sum over pairs of a function of those three, so the
    groups, each weighted by its `count`, give the same sums as the pairs, with one entry per group instead of
    one per pair in every pass of the iterations."""

    def __init__(self, bayes: np.ndarray, gammas: dict[str, np.ndarray], in_em: dict[str, np.ndarray]):
        names = list(gammas)
        code = np.zeros(len(bayes), dtype=np.int64)
        for c in names:   # gamma + 1 in 6 bits and the EM flag in 1, per comparison
            code = (code << 7) | ((gammas[c].astype(np.int64) + 1) << 1) | in_em[c].astype(np.int64)
        order = np.lexsort((bayes, code))
        code, bayes = code[order], bayes[order]
        starts = np.flatnonzero(np.concatenate(([True], (code[1:] != code[:-1]) | (bayes[1:] != bayes[:-1]))))
        self.count = np.diff(np.append(starts, len(order))).astype("float64")
        self.bayes = bayes[starts]
        code = code[starts]
        self.gammas, self.in_em = {}, {}
        for c in reversed(names):
            self.in_em[c] = (code & 1).astype(bool)
            self.gammas[c] = ((code >> 1) & 63) - 1
            code = code >> 7


def calibrate(con: duckdb.DuckDBPyConnection, linker, predictions: str, n_mentions: int, names: list[str],
              *, u_pairs: float, counted: dict[tuple[str, int], int] | None = None) -> dict:
    """Calibrate prior, u and m on `predictions` (a Splink predictions table), rewrite its match_weight and
    match_probability, and set the linker's settings to the calibrated model. `counted`: the exact pair count
    of the levels all of whose pairs are blocked (counted_level_pairs). Returns what changed."""
    settings = linker._settings_obj
    prior0 = float(settings._probability_two_random_records_match)
    all_pairs = max(n_mentions * (n_mentions - 1) / 2, 1.0)
    cols = ", ".join(f"gamma_{n}" for n in names)
    passes = _em_passes(linker, names)
    in_em = ", ".join(f"{sql} AS em_{c}" for c, sql in passes.items())
    frame = con.execute(f"SELECT match_weight, {cols}, {in_em} FROM {predictions}").fetchnumpy()
    groups = PairGroups(frame["match_weight"].astype("float64") - _logit2(prior0),
                        {c: frame[f"gamma_{c}"] for c in names}, {c: frame[f"em_{c}"].astype(bool) for c in passes})
    del frame
    bayes0, gammas, count = groups.bayes, groups.gammas, groups.count
    weights = bayes0 + _logit2(prior0)
    levels = _levels(linker, names)
    raw_u = {(c, g): lvl.u_probability for c, by in levels.items() for g, lvl in by.items()}
    m_levels = _m_levels(linker, names)
    raw_m = {(c, g): lvl.m_probability for c, by in m_levels.items() for g, lvl in by.items()}
    p0 = count / (1.0 + np.exp2(-weights))
    support = em_support(p0, groups.in_em, gammas, m_levels)
    in_candidates = support_without_level(weights, gammas, m_levels, count)
    given = conditional_groups(linker, names)
    conditional = {k for group in given for k in group}
    free = re_estimated(support, in_candidates, counted=counted or ()) - conditional

    # (a level whose m EM never estimated keeps its sampled u: an exact u beside a guessed m is no better)
    pairs_at = dict(counted or {})
    counted = {k: v for k, v in pairs_at.items() if k not in conditional
               and k[0] in levels and k[1] in levels[k[0]] and levels[k[0]][k[1]]._has_estimated_m_values}

    def expected_matches(prior: float, shift: np.ndarray) -> np.ndarray:
        """The expected matches of each group: its pairs' match probability times their count."""
        return count / (1.0 + np.exp2(-(bayes0 + shift + _logit2(prior))))

    def u_at(prior: float, shift: np.ndarray, m: dict) -> dict:
        """Every level's u at this prior: sampled and corrected, or counted over all pairs."""
        out = _corrected_levels(raw_u, levels, prior, u_pairs, m)
        if counted:
            p = expected_matches(prior, shift)
            for (c, g), pairs in counted.items():
                out[(c, g)] = counted_u(pairs, float(p[gammas[c] == g].sum()), all_pairs, float(p.sum()))
        return out

    def given_at(prior: float, shift: np.ndarray, new_m: dict, new_u: dict) -> None:
        """The conditional levels' m and u at this prior, in place (counted: they need no sample)."""
        if not given:
            return
        p = expected_matches(prior, shift)
        m, u = conditional_shares({(c, g): float(p[gammas[c] == g].sum()) for (c, g) in conditional}, pairs_at,
                                  given, raw_m, raw_u)
        new_m.update(m)
        new_u.update(u)

    def deltas(new_u: dict, new_m: dict) -> dict:
        """(comparison, gamma) -> the change of that level's log2 Bayes factor."""
        out: dict = {}
        for key, u in new_u.items():
            out[key] = out.get(key, 0.0) + float(np.log2(raw_u[key]) - np.log2(u))
        for key, m in new_m.items():
            out[key] = out.get(key, 0.0) + float(np.log2(m) - np.log2(raw_m[key]))
        return {k: d for k, d in out.items() if d}

    def shift_for(change: dict) -> np.ndarray:
        shift = np.zeros(len(bayes0))
        for (c, g), delta in change.items():
            shift[gammas[c] == g] += delta
        return shift

    def alternate(free: set) -> tuple:
        """Prior, u and the m of the `free` levels updated in turn until they agree. The conditional levels start
        as no evidence (m = u): started as if independent, a card shared by twins would vouch for itself (their
        pairs scored as matches, and then counted among the matches that share a card)."""
        prior = prior0
        shift = shift_for({k: float(np.log2(raw_u[k]) - np.log2(raw_m[k])) for k in conditional})
        new_u, new_m = dict(raw_u), dict(raw_m)
        for _ in range(ITERATIONS):
            new_prior = fixed_point_prior(bayes0 + shift, all_pairs, prior, count)
            if free:
                new_m = keep_supported(raw_m, m_step(expected_matches(new_prior, shift), gammas, m_levels), free)
            new_u = u_at(new_prior, shift, new_m)
            given_at(new_prior, shift, new_m, new_u)
            new_shift = shift_for(deltas(new_u, new_m))
            done = (abs(new_prior - prior) <= TOLERANCE * prior
                    and float(np.max(np.abs(new_shift - shift), initial=0.0)) <= TOLERANCE)
            prior, shift = new_prior, new_shift
            if done:
                break
        return fixed_point_prior(bayes0 + shift, all_pairs, prior, count), shift, new_u, new_m

    # a freed level whose expected matches fall below MIN_SUPPORT as its own m falls (EM's collapse towards a
    # veto) goes back to EM's value, and the rest are estimated again
    while True:
        prior, shift, new_u, new_m = alternate(free)
        final = em_support(expected_matches(prior, shift), None, gammas, m_levels)
        collapsed = {k for k in free if final[k] < MIN_SUPPORT}
        if not collapsed:
            break
        free = free - collapsed
    if prior * all_pairs < MIN_EXPECTED_MATCHES:
        prior, new_m = prior0, dict(raw_m)
        new_u = _corrected_levels(raw_u, levels, prior, u_pairs, new_m)

    offset = _logit2(prior) - _logit2(prior0)
    terms = [repr(float(offset))]
    change = deltas(new_u, new_m)
    for c in names:
        cases = " ".join(f"WHEN {g} THEN {d!r}" for (cc, g), d in change.items() if cc == c)
        if cases:
            terms.append(f"(CASE gamma_{c} {cases} ELSE 0 END)")
    update = " + ".join(terms)
    con.execute(f"UPDATE {predictions} SET match_weight = match_weight + {update}, "
                f"match_probability = 1.0 / (1.0 + pow(2.0, -(match_weight + {update})))")
    settings._probability_two_random_records_match = prior
    for (c, g), u in new_u.items():
        levels[c][g].u_probability = u
    for (c, g), m in new_m.items():
        m_levels[c][g].m_probability = m
    changed = {f"{c}[{levels[c][g].label_for_charts}]": (raw_u[(c, g)], u)
               for (c, g), u in new_u.items() if u != raw_u[(c, g)]}
    m_changed = {f"{c}[{m_levels[c][g].label_for_charts}]": (raw_m[(c, g)], m)
                 for (c, g), m in new_m.items() if m != raw_m[(c, g)]}
    log.info("registry calibration: prior %.3g -> %.3g; u corrected on %d levels, m on %d", prior0, prior,
             len(changed), len(m_changed))
    return {"prior_before": prior0, "prior": prior, "u_corrected": changed, "m_estimated": m_changed,
            "em_support": {f"{c}[{m_levels[c][g].label_for_charts}]": (round(support[(c, g)], 1),
                                                                       round(in_candidates[(c, g)], 1))
                           for (c, g) in support}}
