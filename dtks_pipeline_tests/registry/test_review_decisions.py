"""Staff decisions are honoured by the registry build of every later month (real DuckDB, in-process Dagster).

October: two DTKS rows with one NIK, one name and one birth date on two family
cards are one person by every measure the model has. Staff know better (two
men; one NIK was copied from the other) and decide BEDA. In November the same
two rows must be two persons. SAMA is the mirror: two rows with nothing in
common (a woman registered twice under two NIKs) are joined.
"""
from __future__ import annotations

import pytest

from dtks_pipeline.defs.registry import decisions
from dtks_pipeline_tests.registry.staging_fixture import (
    build_month, dtks_row, nik, nokk, person_of_member, staged_months,
)

NIK_A = nik("01", "1970-05-12", "L", 1)
NIK_C = nik("01", "1980-02-02", "P", 3)
NIK_C2 = nik("01", "1970-01-01", "P", 9)        # the same woman under another NIK, birth date and name


def _rows(period: str) -> list[dict]:
    return [
        dtks_row("A1", "D1", nokk(1), NIK_A, "I MADE SUDARMA", "L", "1970-05-12", 1),
        dtks_row("B1", "D2", nokk(2), NIK_A, "I MADE SUDARMA", "L", "1970-05-12", 1),
        dtks_row("C1", "D3", nokk(3), NIK_C, "NI WAYAN SARI", "P", "1980-02-02", 1),
        dtks_row("C2", "D4", nokk(4), NIK_C2, "NI KETUT RAI", "P", "1970-01-01", 1),
    ]


@pytest.fixture(scope="module")
def months(tmp_path_factory):
    resource, con = staged_months(tmp_path_factory.mktemp("decisions"), _rows)
    con.close()
    october = build_month(resource, "2022-10")
    con = resource.connect()
    oct_pid = {a: person_of_member(con, "2022-10", a) for a in ("A1", "B1", "C1", "C2")}
    decisions.record_decision(con, key_a="ART:D1/A1", key_b="ART:D2/B1", person_id_a=oct_pid["A1"],
                              person_id_b=oct_pid["B1"], decision="BEDA", decided_by="Komang", period="2022-10",
                              note="two men; the NIK was copied from the other")
    decisions.record_decision(con, key_a="ART:D3/C1", key_b="ART:D4/C2", person_id_a=oct_pid["C1"],
                              person_id_b=oct_pid["C2"], decision="SAMA", decided_by="Komang", period="2022-10",
                              note="one woman, registered twice")
    con.close()
    november = build_month(resource, "2022-11")
    return resource, october, november, oct_pid


def test_the_model_alone_merges_the_two_men(months):
    _, october, _, oct_pid = months
    assert october.success
    assert oct_pid["A1"] == oct_pid["B1"]
    assert oct_pid["C1"] != oct_pid["C2"]   # nothing in common: two persons


def test_active_constraints_carry_both_record_and_person_keys(months):
    resource, *_ = months
    con = resource.connect(read_only=True)
    try:
        constraints = decisions.active_constraints(con)
    finally:
        con.close()
    rows = set(map(tuple, constraints.itertuples(index=False)))
    assert ("ART:D1/A1", "ART:D2/B1", "BEDA") in rows and ("ART:D3/C1", "ART:D4/C2", "SAMA") in rows


def test_a_beda_decision_keeps_two_records_apart_in_the_following_month(months):
    resource, _, november, _ = months
    assert november.success
    con = resource.connect(read_only=True)
    try:
        assert person_of_member(con, "2022-11", "A1") != person_of_member(con, "2022-11", "B1")
        n = con.execute("SELECT count(*) FROM registry.persons WHERE period = '2022-11' AND nik = ? AND status = 'AKTIF'",
                        [NIK_A]).fetchone()[0]
        assert n == 2
        # two persons on one NIK, decided BEDA: reviewed, so nobody is held for it
        assert con.execute("SELECT count(*) FROM payout.held WHERE period = '2022-11'").fetchone()[0] == 0
    finally:
        con.close()


def test_a_sama_decision_joins_two_records_in_the_following_month(months):
    resource, _, november, _ = months
    con = resource.connect(read_only=True)
    try:
        assert person_of_member(con, "2022-11", "C1") == person_of_member(con, "2022-11", "C2")
    finally:
        con.close()
