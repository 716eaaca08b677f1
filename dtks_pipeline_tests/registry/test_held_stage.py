"""The held stage and the checks that it contains, on small registries written to a real DuckDB file."""
from __future__ import annotations

import pytest

from dtks_pipeline.defs.registry import decisions, held
from dtks_pipeline.defs.registry.checks import CONTAINED, active_person_in_one_family, nik_unique_among_active
from dtks_pipeline.lib import warehouse
from dtks_pipeline_tests.payout.registry_builder import fam, fid, person, pid, write_registry

P = "2022-10"
SHARED = "5108011205700001"


@pytest.fixture
def con(tmp_path):
    connection = warehouse.connect(tmp_path / "w.duckdb")   # the warehouse's schemas, as the assets see them
    yield connection
    connection.close()


def _registry(con, extra_families=()):
    families = [fam("1", 1), fam("2", 1), fam("3", 2), *extra_families]
    persons = [person("1a", "1", 1, nik=SHARED), person("1b", "1", 2), person("2a", "2", 1, nik=SHARED),
               person("3a", "3", 1), person("4a", "4", 1)]
    write_registry(con, P, families, persons)


def test_nik_conflict_holds_both_families_and_the_check_warns_only_once_they_are_held(con):
    _registry(con)
    frame = held.held_families(con, P)
    assert list(zip(frame["family_id"], frame["reason_code"])) == [(fid("1"), "NIK_GANDA"), (fid("2"), "NIK_GANDA")]
    assert SHARED not in " ".join(frame["detail"]) and pid("2a") in frame["detail"].iloc[0]
    passed, meta = nik_unique_among_active(con, P)
    assert not passed and meta[CONTAINED] is False            # not written yet: nothing holds them -> ERROR
    held.write_held(con, P, frame)
    passed, meta = nik_unique_among_active(con, P)
    assert not passed and meta[CONTAINED] is True and meta["shared NIKs"] == 1
    assert meta["examples (masked)"] == ["510801********01"]


def test_a_beda_decision_on_the_two_persons_lifts_the_hold(con):
    _registry(con)
    decisions.record_decision(con, key_a=f"PID:{pid('2a')}", key_b=f"PID:{pid('1a')}", person_id_a=pid("2a"),
                              person_id_b=pid("1a"), decision="BEDA", decided_by="Made", note="twins")
    assert held.held_families(con, P).empty
    passed, meta = nik_unique_among_active(con, P)
    assert not passed and meta[CONTAINED] and meta["NIKs decided BEDA by staff"] == 1


def test_the_latest_decision_wins_and_every_decision_is_kept(con):
    for decision in ("BEDA", "SAMA"):
        decisions.record_decision(con, key_a="ART:D1/A1", key_b="ART:D2/B1", person_id_a=pid("1a"),
                                  person_id_b=pid("2a"), decision=decision, decided_by="Made")
    assert len(decisions.decisions(con)) == 2
    constraints = decisions.active_constraints(con)
    assert set(map(tuple, constraints.itertuples(index=False))) == {
        ("ART:D1/A1", "ART:D2/B1", "SAMA"), (f"PID:{pid('1a')}", f"PID:{pid('2a')}", "SAMA")}
    with pytest.raises(decisions.DecisionError):
        decisions.record_decision(con, key_a="ART:D1/A1", key_b="ART:D2/B1", person_id_a=None, person_id_b=None,
                                  decision="SAMA", decided_by=" ")


def test_a_family_on_two_rows_is_held_and_contained(con):
    _registry(con)
    con.execute("INSERT INTO registry.families SELECT * FROM registry.families WHERE family_id = ?", [fid("3")])
    frame = held.held_families(con, P)
    assert set(zip(frame["family_id"], frame["reason_code"])) >= {(fid("3"), "KELUARGA_GANDA")}
    passed, meta = active_person_in_one_family(con, P)
    assert not passed and not meta[CONTAINED]
    held.write_held(con, P, frame)
    passed, meta = active_person_in_one_family(con, P)
    # person 4a's family has no row at all: not payable, reported, not blocking
    assert not passed and meta[CONTAINED] and meta["in no family (cannot be paid)"] == 1
    assert meta["in a family on several rows"] == 1
