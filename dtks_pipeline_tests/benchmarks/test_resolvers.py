"""The registry benchmark's scoring pieces on tiny handmade sets: exact-NIK grouping scored
pairwise, the rows a month's registry resolves, and per-source link accuracy. Expected pair
counts are computed here from the data (itertools), not written down."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from dtks_pipeline.benchmarks import resolvers
from dtks_pipeline.benchmarks.registry import pairwise_scores


def _pairs(labels) -> set[frozenset]:
    groups: dict = {}
    for i, label in enumerate(labels):
        if isinstance(label, str):
            groups.setdefault(label, []).append(i)
    return {frozenset(p) for rows in groups.values() for p in itertools.combinations(rows, 2)}


def _handmade() -> pd.DataFrame:
    # persons A..E; A twice with one NIK, B twice with a mistyped NIK, C and D share a NIK (a clash),
    # E three times, once without a NIK; a Samsat owner outside DTKS (no true person)
    rows = [
        ("dtks", "A", "5108011201800001"), ("dtks", "A", "5108011201800001"),
        ("dtks", "B", "5108015203850002"), ("dtks", "B", "5108015203850012"),
        ("dtks", "C", "5108020101900003"), ("dtks", "D", "5108020101900003"),
        ("dtks", "E", "5108034404700004"), ("dtks", "E", "5108034404700004"), ("dukcapil_kematian", "E", None),
        ("samsat_kendaraan", None, "5108060505750005"), ("samsat_kendaraan", "A", "5108011201800001"),
        ("samsat_kendaraan", None, "5108060505750005"),  # the outsider's second vehicle
    ]
    return pd.DataFrame(rows, columns=["source", "true_person_id", "nik"])


def test_exact_nik_grouping_scored_pairwise():
    frame = _handmade()
    grouping = resolvers.exact_nik(frame)
    nobody = set(np.flatnonzero(frame["true_person_id"].isna()))
    implied = _pairs(grouping["cluster"])
    predicted = {p for p in implied if not p <= nobody}  # two outsiders' rows together: not judged
    true = _pairs(frame["true_person_id"])
    scores = pairwise_scores(grouping["cluster"], frame["true_person_id"])
    assert len(implied) == grouping["candidate_pairs"] and len(predicted) == len(implied) - 1
    assert scores["pairs_predicted"] == len(predicted)
    assert scores["pairs_true"] == len(true)
    assert scores["pairs_correct"] == len(predicted & true)
    assert scores["precision"] == round(len(predicted & true) / len(predicted), 5)
    assert scores["recall"] == round(len(predicted & true) / len(true), 5)
    assert 0 < scores["precision"] < 1 and 0 < scores["recall"] < 1  # the clash and the typo both count


def test_month_rows_take_the_latest_snapshot_and_every_event():
    rows = []
    for period in ("2022-10", "2022-11", "2022-12"):
        for r in range(1, 4):
            rows.append((period, "dtks", "dtks.csv", r, f"P{r}", "STAGED"))
        rows.append((period, "dukcapil_kematian", "dukcapil_kematian.csv", 1, "P1", "STAGED"))
    rows.append(("2022-11", "samsat_kendaraan", "samsat_kendaraan.csv", 1, "P2", "STAGED"))  # not re-delivered later
    rows.append(("2022-12", "dtks", "dtks.csv", 4, "", "REJECTED"))
    truth = pd.DataFrame(rows, columns=["period", "source", "source_file", "source_row", "true_person_id", "expected"])
    truth["damage"] = ""
    out = resolvers.month_rows(truth, "2022-11")
    assert set(out.loc[out["source"] == "dtks", "period"]) == {"2022-11"}
    assert sorted(out.loc[out["source"] == "dukcapil_kematian", "period"]) == ["2022-10", "2022-11"]
    last = resolvers.month_rows(truth, "2022-12")
    assert len(last[last["source"] == "dtks"]) == 3  # the rejected row is not usable
    assert list(last.loc[last["source"] == "samsat_kendaraan", "period"]) == ["2022-11"]
    assert len(last[last["source"] == "dukcapil_kematian"]) == 3


def test_link_accuracy_counts_right_wrong_and_missed_links():
    frame = _handmade()
    # a resolver that links by NIK (rows 0-11): the death without a NIK is missed, the Samsat owner of A is right
    cluster = resolvers.exact_nik(frame)["cluster"]
    acc = resolvers.link_accuracy(frame, cluster)
    assert acc["dukcapil"] == {"rows": 1, "rows_naming_a_person": 1, "linked": 0, "linked_right": 0,
                               "share_right": None, "missed": 1, "linked_but_nobody": 0}
    assert acc["samsat"]["linked"] == 1 and acc["samsat"]["linked_right"] == 1 and acc["samsat"]["share_right"] == 1.0
    assert acc["samsat"]["rows"] == 3 and acc["samsat"]["rows_naming_a_person"] == 1
    # linking the owner outside DTKS to C/D's person counts as a link to somebody who is not the owner
    wrong = cluster.copy()
    wrong.iloc[9] = wrong.iloc[4]
    acc = resolvers.link_accuracy(frame, wrong)
    assert acc["samsat"]["linked"] == 2 and acc["samsat"]["linked_right"] == 1 and acc["samsat"]["linked_but_nobody"] == 1
    assert np.isclose(acc["samsat"]["share_right"], 0.5)
