"""The registry build's named stages, each on a small handmade export and a real DuckDB.

The exports are tiny, so the linkage model keeps its prior m/u values
(linkage_model.MIN_TRAINING_MENTIONS): the outcomes are deterministic.
"""
from __future__ import annotations

import pandas as pd
import pytest

from dtks_pipeline.defs.registry import (
    build as build_mod, candidates, clustering, families, inputs, mentions, scoring, statuses, survivorship,
)
from dtks_pipeline.lib import warehouse
from dtks_pipeline_tests.registry.staging_fixture import DESA_A, DESA_B, dtks_row, nik, nokk, write_staging

P = "2022-10"
NIK_OKA = nik("01", "1970-05-12", "L", 11)
NIK_AGUNG = nik("01", "1968-03-01", "L", 12)
NIK_FATHER = nik("01", "1950-01-01", "L", 13)
NIK_SON = nik("01", "1980-02-02", "L", 14)
NIK_DEAD = nik("01", "1945-07-07", "P", 15)
DEAD_TWO_DIGITS = NIK_DEAD[:10] + "99" + NIK_DEAD[12:]   # two digits of the birth part mistyped

DTKS = [
    dtks_row("A1", "H1", nokk(1), NIK_OKA, "I GUSTI MADE OKA", "L", "1970-05-12", 1),
    dtks_row("A2", "H1", nokk(1), NIK_OKA, "I GST MD OKA", "L", "1970-05-12", 1),                # title abbreviated
    dtks_row("B1", "H2", nokk(2), NIK_AGUNG, "IDA BAGUS PUTU AGUNG WIRAWAN", "L", "1968-03-01", 1),
    dtks_row("B2", "H2", nokk(2), NIK_AGUNG, "PUTU AGUNG WIRAWAN", "L", "1968-03-01", 1),       # title dropped
    dtks_row("C1", "H3", nokk(3), NIK_FATHER, "I MADE SUDARMA", "L", "1950-01-01", 1),
    dtks_row("C2", "H3", nokk(3), NIK_SON, "I MADE SUDARMA", "L", "1980-02-02", 3),             # son, same name
    dtks_row("D1", "H4", nokk(4), NIK_DEAD, "NI KETUT RAMINI", "P", "1945-07-07", 1, kode_desa=DESA_B),
]
DEATH = dict(nik=DEAD_TWO_DIGITS, nama="NI KETUT RAMINI", jenis_kelamin="P", tgl_lahir="1945-07-07",
             tgl_meninggal="2022-10-09", no_akta="AKTA-1", kode_desa=DESA_B)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    con = warehouse.connect(tmp_path_factory.mktemp("stages") / "w.duckdb")
    write_staging(con, "dtks", P, DTKS)
    write_staging(con, "dukcapil_kematian", P, [DEATH])
    inputs.register_inputs(con, P)
    survivorship.ensure_key_tables(con)
    yield con
    con.close()


@pytest.fixture(scope="module")
def staged(con):
    m = mentions.build_mentions(con, None)
    c = candidates.candidate_pairs(con, m)
    s = scoring.score_pairs(con, c)
    links = clustering.cluster_mentions(con, m, s.table, clustering.empty_decisions())
    return {"mentions": m, "candidates": c, "scored": s, "links": links}


def _mid(con, staged, source_row: int, source: str = "dtks") -> int:
    return con.execute(f"SELECT mid FROM {staged['mentions']} WHERE source = ? AND source_row = ?",
                       [source, source_row]).fetchall()[0][0]


def _cid(con, staged, source_row: int, source: str = "dtks"):
    return con.execute(f"SELECT l.cid FROM {staged['links']} l JOIN {staged['mentions']} m USING (mid) "
                       "WHERE m.source = ? AND m.source_row = ?", [source, source_row]).fetchall()[0][0]


def test_mentions_carry_record_keys_and_learned_name_features(con, staged):
    rows = con.execute(f"SELECT record_key, role, nama_inti, nama_canon FROM {staged['mentions']} ORDER BY mid").df()
    assert rows["record_key"].iloc[0] == "ART:H1/A1"
    assert rows["record_key"].is_unique
    death = rows[rows["role"] == "LINK"].iloc[0]
    assert death["record_key"] == "ROW:dukcapil_kematian:2022-10:dukcapil_kematian.csv:1"
    # MD and GST stand for the longer tokens of this export they fit (learned from its own names)
    abbreviated = rows[rows["record_key"] == "ART:H1/A2"].iloc[0]
    assert list(abbreviated["nama_canon"]) == ["I", "GUSTI", "MADE", "OKA"]


def test_candidate_pairs_count_every_rule_and_do_not_rest_on_the_nik(staged):
    counts = staged["candidates"].counts
    assert set(counts) == set(staged["candidates"].rules)
    assert counts["nik"] >= 2                          # the two same-NIK duplicates
    assert sum(v for k, v in counts.items() if k not in ("nik", "nik_satu_edit")) >= 1  # the death, by place and date


def test_counts_from_the_scored_pairs_equal_splinks_blocking_analysis(con, staged):
    analysis = candidates.candidate_pairs(con, staged["mentions"], count=True)
    assert analysis.counts == staged["candidates"].counts


def test_scored_pairs_expose_keys_probabilities_and_levels(con, staged):
    frame = con.execute(f"SELECT * FROM {staged['scored'].table}").df()
    for column in scoring.SCORED_COLUMNS:
        assert column in frame.columns
    assert frame["match_probability"].between(0, 1).all()
    assert staged["scored"].trained is False          # tiny export: the prior model, deterministic
    assert staged["scored"].linker is not None


def test_title_abbreviated_and_title_dropped_merge(con, staged):
    assert _cid(con, staged, 1) == _cid(con, staged, 2)
    assert _cid(con, staged, 3) == _cid(con, staged, 4)


def test_parent_and_child_of_one_name_on_one_card_stay_apart(con, staged):
    assert _cid(con, staged, 5) != _cid(con, staged, 6)


def test_death_record_with_two_nik_digits_mistyped_is_found(con, staged):
    assert _cid(con, staged, 1, "dukcapil_kematian") == _cid(con, staged, 7)


def test_a_beda_decision_cuts_the_merge_and_a_sama_decision_joins(con, staged):
    decisions = pd.DataFrame({"key_a": ["ART:H1/A1", "ART:H3/C1"], "key_b": ["ART:H1/A2", "ART:H3/C2"],
                              "decision": ["BEDA", "SAMA"]})
    links = clustering.cluster_mentions(con, staged["mentions"], staged["scored"].table, decisions)
    cid = dict(con.execute(f"SELECT m.record_key, l.cid FROM {links} l JOIN {staged['mentions']} m USING (mid)").fetchall())
    assert cid["ART:H1/A1"] != cid["ART:H1/A2"]
    assert cid["ART:H3/C1"] == cid["ART:H3/C2"]
    clustering.cluster_mentions(con, staged["mentions"], staged["scored"].table, clustering.empty_decisions())


def test_survivorship_statuses_and_families(con, staged):
    surv = survivorship.survive(con, P, staged["mentions"], staged["links"])
    persons = con.execute(f"SELECT * FROM {surv.table}").df()
    assert len(persons) == 5 and persons["person_id"].is_unique
    events = statuses.status_events(con, staged["mentions"], staged["links"], surv.table, None)
    ev = con.execute(f"SELECT s.nik, e.status FROM {events} e JOIN {surv.table} s USING (person_id)").fetchall()
    assert ev == [(NIK_DEAD, "MENINGGAL")]
    fids = families.family_ids(con, P, surv.table)
    assert con.execute(f"SELECT count(*) FROM {fids.new_family_keys}").fetchone()[0] == 4
    pt = families.persons(con, P, surv.table, fids.table, events)
    con.execute("CREATE OR REPLACE TEMP TABLE no_excl AS SELECT NULL::VARCHAR AS family_id LIMIT 0")
    ft = families.families(con, P, staged["mentions"], pt, "no_excl")
    fam = dict(con.execute(f"SELECT nokk, status FROM {ft}").fetchall())
    assert fam[nokk(4)] == "TIDAK_AKTIF" and fam[nokk(1)] == "AKTIF"


def test_build_registry_runs_every_stage(tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    write_staging(con, "dtks", P, DTKS)
    write_staging(con, "dukcapil_kematian", P, [DEATH])
    result = build_mod.build_registry(con, P)
    frames = result.frames(con)
    con.close()
    assert set(result.seconds) >= {"mentions", "candidate_pairs", "scored_pairs", "clusters", "survivorship",
                                   "statuses", "families", "exclusions", "person_links"}
    rules = frames.person_links.set_index(["source", "source_row"])["match_rule"]
    assert rules[("dtks", 2)] == "GANDA_NIK_SAMA"
    assert rules[("dukcapil_kematian", 1)] == "NIK_BEDA"
    assert (frames.exclusions["reason_code"] == "MENINGGAL").sum() == 1


def test_tables_counts_and_review_cut_agree_with_the_full_frames(tmp_path):
    """The asset's metadata counts (SQL) equal the frames', and the review pairs built from the rows
    review_frames cuts in SQL equal those built from every scored pair, mention and person."""
    from dtks_pipeline.defs.registry import review
    from dtks_pipeline.defs.registry.clustering import MATCH_PROBABILITY

    con = warehouse.connect(tmp_path / "w.duckdb")
    # another family's head carries the father's NIK (other name, sex, birth date, card): a NIK conflict
    other = dtks_row("E1", "H5", nokk(5), NIK_FATHER, "NI KADEK SARI", "P", "1985-03-03", 1)
    write_staging(con, "dtks", P, [*DTKS, other])
    write_staging(con, "dukcapil_kematian", P, [DEATH])
    result = build_mod.build_registry(con, P)
    frames, counts = result.frames(con), result.counts(con)
    assert counts["persons"]["rows"] == len(frames.persons)
    assert counts["persons"]["by status"] == frames.persons["status"].value_counts().to_dict()
    assert counts["person_links"]["by match_rule"] == frames.person_links["match_rule"].value_counts().to_dict()
    assert counts["families"]["by status"] == frames.families["status"].value_counts().to_dict()
    assert counts["exclusions"]["by reason_code"] == frames.exclusions["reason_code"].value_counts().to_dict()
    low, high = review.uncertain_band(MATCH_PROBABILITY)
    scored, records, persons = result.review_frames(con, low, high)
    assert len(persons) == 2 and set(persons["nik"]) == {NIK_FATHER}
    assert len(scored) < len(result.scored_frame(con)) and len(records) < len(result.records_frame(con))
    cut = review.build_review_pairs(con, P, scored, records, persons, MATCH_PROBABILITY)
    full = review.build_review_pairs(con, P, result.scored_frame(con), result.records_frame(con),
                                     frames.persons, MATCH_PROBABILITY)
    con.close()
    assert (cut["reason"] == review.NIK_GANDA).sum() == 1  # found through a pair outside the band, too
    pd.testing.assert_frame_equal(cut.reset_index(drop=True), full.reset_index(drop=True))


def test_pairs_predicted_in_slices_equal_the_pairs_predicted_at_once(con, staged):
    """A month too large for one predict query is scored slice by slice: the same pairs, the same scores."""
    columns = "mid_l, mid_r, match_rule, round(match_probability, 12)"
    whole = sorted(con.execute(f"SELECT {columns} FROM {staged['scored'].table}").fetchall())
    total = sum(staged["candidates"].counts.values())
    assert total >= 4
    sliced = scoring.score_pairs(con, candidates.candidate_pairs(con, staged["mentions"]),
                                 predict_slice_pairs=max(total // 3, 1))
    assert sorted(con.execute(f"SELECT {columns} FROM {sliced.table}").fetchall()) == whole
    assert len(whole) > 0
