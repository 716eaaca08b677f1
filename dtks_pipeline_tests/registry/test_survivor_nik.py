"""A person's NIK is the one most of the person's rows carry, from every source linked to the person
(survivorship._nik_votes_sql): a DTKS row with a mistyped NIK beside the sector rows that have it right. Built
with `build_registry` on a handmade month in a real DuckDB; the payout pays the person's NIK."""
from __future__ import annotations

import pytest

from dtks_pipeline.defs.registry import build as build_mod
from dtks_pipeline.lib import warehouse
from dtks_pipeline_tests.registry.staging_fixture import DESA_A, dtks_row, nik, nokk, write_staging

PERIOD = "2022-10"
TRUE_A = nik("01", "1971-04-09", "L", 12)
TYPO_A = TRUE_A[:6] + "19" + TRUE_A[8:]   # the birth part mistyped (day 19): the row contradicts its own NIK
TRUE_B = nik("01", "1968-11-23", "L", 31)
TYPO_B = TRUE_B[:-1] + "7"                # the serial mistyped: the row is consistent either way
TRUE_C = nik("01", "1980-02-14", "P", 44)
TYPO_C = TRUE_C[:-1] + "9"


def _fish(nik_: str, nama: str, dob: str) -> dict:
    return dict(no_kusuka=f"K{nik_[-4:]}", nik=nik_, nama=nama, tgl_lahir=dob, kode_desa=DESA_A, jenis_nelayan="TANGKAP")


def _umkm(nik_: str, nama: str, dob: str) -> dict:
    return dict(nik=nik_, nama=nama, tgl_lahir=dob, nama_usaha="WARUNG", nib=f"N{nik_[-4:]}", jenis_usaha="DAGANG",
                kode_desa=DESA_A)


@pytest.fixture(scope="module")
def persons(tmp_path_factory):
    con = warehouse.connect(tmp_path_factory.mktemp("survivor_nik") / "w.duckdb")
    write_staging(con, "dtks", PERIOD, [
        dtks_row("A1", "H1", nokk(1), TYPO_A, "I KETUT SUWENTRA", "L", "1971-04-09", 1),
        dtks_row("B1", "H2", nokk(2), TYPO_B, "I NYOMAN GELGEL", "L", "1968-11-23", 1),
        dtks_row("C1", "H3", nokk(3), TYPO_C, "NI LUH SEKAR", "P", "1980-02-14", 1),
    ])
    write_staging(con, "nelayan", PERIOD, [_fish(TRUE_A, "I KETUT SUWENTRA", "1971-04-09"),
                                           _fish(TRUE_B, "I NYOMAN GELGEL", "1968-11-23")])
    write_staging(con, "umkm", PERIOD, [_umkm(TRUE_B, "I NYOMAN GELGEL", "1968-11-23")])
    built = build_mod.build_registry(con, PERIOD).frames(con)
    con.close()
    return built.persons.set_index("nama")


def test_a_nik_that_agrees_with_the_birth_date_wins_a_tie(persons):
    # one DTKS row with a mistyped birth part, one fishers' row with the NIK right: the NIK that agrees with the
    # person's own birth date and sex
    assert persons.loc["I KETUT SUWENTRA", "nik"] == TRUE_A


def test_the_nik_most_rows_carry_wins(persons):
    # the serial mistyped on the DTKS row (consistent either way), right on the fishers' and the UMKM rows
    assert persons.loc["I NYOMAN GELGEL", "nik"] == TRUE_B


def test_a_person_with_one_row_keeps_its_nik(persons):
    assert persons.loc["NI LUH SEKAR", "nik"] == TYPO_C
