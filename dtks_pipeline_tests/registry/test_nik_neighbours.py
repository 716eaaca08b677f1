"""NIK neighbours: two different people whose NIKs are one digit apart are not one person.

Real NIKs of people registered in the same kecamatan on the same birth date
differ only in the serial, so a one-digit difference is as often a neighbour
as a typo. With a common Balinese name in the same village, the NIK and the
name are not enough: a typo pair needs the same family card, a birth date the
NIK does not already imply (or the same village besides), a Samsat address
naming the person's village and banjar, or a rare name.

One month, built directly with `build_registry` (no Dagster). 6,000 filler
people with distinct names make the statistics look like the real export's:
"I MADE SUDARMA" (12 rows) then earns about the name weight a common name
earns among 200,000 rows, enough to merge neighbours on the name alone if the
typo rules let it.
"""
from __future__ import annotations

import datetime as dt
import itertools
import string

import pandas as pd
import pytest

from dtks_pipeline.defs.registry import build as build_mod
from dtks_pipeline.lib import warehouse
from dtks_pipeline_tests.registry.staging_fixture import DESA_A, DESA_B, dtks_row, nik, nokk, write_staging

PERIOD = "2022-10"
COMMON = "I MADE SUDARMA"
DOB = "1970-05-12"

# DTKS persons: two neighbours with the common name in the same village, different family cards.
NIK_P1 = nik("01", DOB, "L", 21)
NIK_P2 = nik("01", DOB, "L", 22)          # serial neighbour: one digit apart, same birth date implied
NIK_P3 = nik("01", "1970-05-13", "L", 21)  # one digit apart in the birth-date digits, born a day later
NIK_P4 = nik("01", DOB, "L", 31)          # a true duplicate of P4 follows, with a typo and the same card
NIK_P4_TYPO = nik("01", DOB, "L", 37)
NIK_OWNER = nik("01", "1978-02-02", "L", 41)   # DTKS member, common name
NIK_OWNER_OUTSIDE = nik("01", "1978-02-02", "L", 42)  # not in DTKS: same name, NIK one digit from OWNER's
NIK_OWNER2 = nik("01", "1979-03-03", "L", 51)  # DTKS member whose own car has his NIK mistyped
NIK_DEAD_NEIGHBOUR = nik("01", "1965-06-06", "L", 61)  # DTKS member; a neighbour outside DTKS dies
FAMILY = {"P1": nokk(21), "P2": nokk(22), "P3": nokk(23), "P4": nokk(24), "OWNER": nokk(41), "OWNER2": nokk(51),
          "DEAD": nokk(61)}


def _filler(n: int) -> list[dict]:
    """n people with distinct given names (so COMMON is common by comparison), in another kecamatan."""
    letters = string.ascii_uppercase
    given = ("".join(p) for p in itertools.product(letters, repeat=3))  # 17,576 names
    rows = []
    for i, name in zip(range(n), given):
        dob = (dt.date(1950, 1, 1) + dt.timedelta(days=i * 7)).isoformat()
        rows.append(dtks_row(f"F{i}", f"HF{i}", nokk(1000 + i), nik("03", dob, "L", 100 + i % 900),
                             f"I WAYAN SU{name}", "L", dob, 1, kode_desa=DESA_B))
    return rows


def _dtks() -> list[dict]:
    rows = [
        dtks_row("P1", "H1", FAMILY["P1"], NIK_P1, COMMON, "L", DOB, 1),
        dtks_row("P2", "H2", FAMILY["P2"], NIK_P2, COMMON, "L", DOB, 1),
        dtks_row("P3", "H3", FAMILY["P3"], NIK_P3, COMMON, "L", "1970-05-13", 1),
        dtks_row("P4", "H4", FAMILY["P4"], NIK_P4, COMMON, "L", DOB, 1),
        dtks_row("P4B", "H4", FAMILY["P4"], NIK_P4_TYPO, "I MD SUDARMA", "L", DOB, 1),
        # a different birth date on the row than its NIK says, and another family card
        dtks_row("P5", "H5", nokk(25), nik("01", DOB, "L", 23), COMMON, "L", "1971-02-03", 1),
        dtks_row("O1", "H6", FAMILY["OWNER"], NIK_OWNER, COMMON, "L", "1978-02-02", 1,
                 alamat="JL. RAYA NO. 1 BANJAR DINAS KAJA"),
        dtks_row("O2", "H7", FAMILY["OWNER2"], NIK_OWNER2, COMMON, "L", "1979-03-03", 1,
                 alamat="JL. RAYA NO. 2 BANJAR DINAS KELOD"),
        dtks_row("D1", "H8", FAMILY["DEAD"], NIK_DEAD_NEIGHBOUR, COMMON, "L", "1965-06-06", 1),
    ]
    # a few more men of that name elsewhere: the name is common
    for i in range(3):
        dob = f"19{60 + i}-0{i + 1}-1{i}"
        rows.append(dtks_row(f"X{i}", f"HX{i}", nokk(90 + i), nik("05", dob, "L", 70 + i), COMMON, "L", dob, 1,
                             kode_desa=DESA_B))
    return rows + _filler(6000)


def _car(nik_: str, alamat: str, no_polisi: str) -> dict:
    return dict(no_polisi=no_polisi, nik_pemilik=nik_, nama_pemilik=COMMON, alamat_pemilik=alamat,
                jenis_kendaraan="SUV", warna_tnkb="HITAM", status="AKTIF", mobil_pribadi=True)


SAMSAT = [
    # 1. owner outside DTKS, village named, another banjar
    _car(NIK_OWNER_OUTSIDE, "JL. MAWAR NO. 5, BANJAR DINAS KAUH, DESA SUMBERKLAMPOK, KEC. GEROKGAK", "DK 1 AA"),
    # 2. the same kind of owner, address naming another village
    _car(nik("01", "1978-02-02", "L", 43), "BANJAR DINAS KAJA, DESA PEJARAKAN, KEC. GEROKGAK", "DK 2 AA"),
    # 3. OWNER2's own car, his NIK mistyped, address naming his village and banjar
    _car(NIK_OWNER2[:-1] + "7", "JL. RAYA NO. 2, BANJAR DINAS KELOD, DESA SUMBERKLAMPOK, KEC. GEROKGAK", "DK 3 AA"),
]
DEATH_OUTSIDE = dict(nik=nik("01", "1965-06-06", "L", 62), nama=COMMON, jenis_kelamin="L", tgl_lahir="1965-06-06",
                     tgl_meninggal="2022-10-03", no_akta="AKTA-9", kode_desa=DESA_B)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    con = warehouse.connect(tmp_path_factory.mktemp("neighbours") / "w.duckdb")
    write_staging(con, "dtks", PERIOD, _dtks())
    write_staging(con, "samsat_kendaraan", PERIOD, SAMSAT)
    write_staging(con, "dukcapil_kematian", PERIOD, [DEATH_OUTSIDE])
    built = build_mod.build_registry(con, PERIOD).frames(con)
    con.close()
    return built


def _pid(result, nik_: str) -> str:
    links = result.person_links
    rows = links[(links["source"] == "dtks")]
    # person_links carry no NIK: the DTKS row of that NIK is its position in _dtks()
    index = [r["nik"] for r in _dtks()].index(nik_) + 1
    return rows.loc[rows["source_row"] == index, "person_id"].iloc[0]


def test_common_name_neighbours_on_different_family_cards_stay_apart(result):
    pids = {_pid(result, n) for n in (NIK_P1, NIK_P2, NIK_P3)}
    assert len(pids) == 3
    p5 = result.person_links.loc[(result.person_links["source"] == "dtks") & (result.person_links["source_row"] == 6),
                                 "person_id"].iloc[0]
    assert p5 not in pids and _pid(result, NIK_P2) != p5
    persons = result.persons
    assert (persons["nama"] == COMMON).sum() >= 7


def test_typo_duplicate_on_the_same_family_card_still_collapses(result):
    assert _pid(result, NIK_P4) == _pid(result, NIK_P4_TYPO)
    rule = result.person_links.loc[(result.person_links["source"] == "dtks") & (result.person_links["source_row"] == 5),
                                   "match_rule"].iloc[0]
    assert rule == "GANDA_NIK_SATU_DIGIT"


def _samsat(result, row: int) -> tuple:
    links = result.person_links
    hit = links[(links["source"] == "samsat_kendaraan") & (links["source_row"] == row)].iloc[0]
    return hit["person_id"], hit["match_rule"]


def _mampu_mobil_nokks(result) -> set[str]:
    ex = result.exclusions[result.exclusions["reason_code"] == "MAMPU_MOBIL"]
    fams = result.families.set_index("family_id")["nokk"]
    return {fams[f] for f in ex["family_id"]}


def test_samsat_owner_outside_dtks_with_a_neighbour_nik_is_not_found(result):
    for row in (1, 2):
        person_id, rule = _samsat(result, row)
        assert pd.isna(person_id)
        assert rule == "TIDAK_DITEMUKAN"
    assert FAMILY["OWNER"] not in _mampu_mobil_nokks(result)


@pytest.mark.xfail(strict=True, reason=(
    "known gap: a Samsat row has no birth date, so a one-digit NIK difference is only the level 'NIK one edit, "
    "a birth date missing', whose m EM never trains (Samsat rows carry no NOKK either); with a common name and "
    "the banjar it stays below p 0.99 and the car is TIDAK_DITEMUKAN. It used to link through a level meant for "
    "rows whose NIK contradicts their own birth date, which also linked neighbours' cars (fixed)."))
def test_samsat_typo_with_village_and_banjar_links(result):
    person_id, rule = _samsat(result, 3)
    assert person_id == _pid(result, NIK_OWNER2) and rule == "NIK_SATU_DIGIT"
    assert FAMILY["OWNER2"] in _mampu_mobil_nokks(result)


def test_death_of_a_neighbour_outside_dtks_is_not_linked(result):
    links = result.person_links
    death = links[links["source"] == "dukcapil_kematian"].iloc[0]
    assert death["match_rule"] == "TIDAK_DITEMUKAN"
    dead = result.persons[result.persons["person_id"] == _pid(result, NIK_DEAD_NEIGHBOUR)].iloc[0]
    assert dead["status"] == "AKTIF"
