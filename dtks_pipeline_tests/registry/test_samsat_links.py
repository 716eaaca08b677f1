"""A car registered on a NIK mistyped in several digits, its address naming only the banjar and the
village, links to its owner; a namesake's car elsewhere does not. Small handmade export, real DuckDB
(the model keeps its prior m/u values below linkage_model.MIN_TRAINING_MENTIONS: deterministic)."""
from __future__ import annotations

import pandas as pd
import pytest

from dtks_pipeline.defs.registry import build as build_mod
from dtks_pipeline.lib import warehouse
from dtks_pipeline_tests.registry.staging_fixture import DESA_A, DESA_B, dtks_row, nik, nokk, write_staging

PERIOD = "2022-10"
NAME = "I WAYAN SUWECA"
NIK_OWNER = nik("01", "1970-12-22", "L", 217)
DESA_GEROKGAK = "5108012009"
NIK_GEROKGAK = nik("01", "1966-07-22", "L", 418)
NIK_THREE_OFF = NIK_OWNER[:6] + "13" + NIK_OWNER[8:10] + "9" + NIK_OWNER[11:]   # day 22 -> 13, year 70 -> 90
# a second owner whose car names him with his vowels dropped, on a NIK two digits off (day 05 -> 08, serial 3 -> 6)
NIK_PASEK = nik("01", "1975-03-05", "L", 143)
NIK_PASEK_TWO_OFF = NIK_PASEK[:7] + "8" + NIK_PASEK[8:15] + "6"
# a third owner whose car carries his NIK with its serial mistyped in two digits (0052 -> 8055), the address one
# run of words without commas: only the NIK's region and birth part (digits 1-12) bring the two rows together
NIK_SUKERTA = nik("01", "1943-07-17", "L", 52)
NIK_SUKERTA_SERIAL = NIK_SUKERTA[:12] + "8" + NIK_SUKERTA[13:15] + "5"


def _owner(id_art: str, id_dtks: str, family: int, nik_: str, kode_desa: str, banjar: str) -> dict:
    row = dtks_row(id_art, id_dtks, nokk(family), nik_, NAME, "L", "1970-12-22", 1, kode_desa=kode_desa,
                   alamat="JL. SETIA BUDI NO. 65")
    row["banjar"] = banjar
    return row


def _car(nik_: str, alamat: str, no_polisi: str) -> dict:
    return dict(no_polisi=no_polisi, nik_pemilik=nik_, nama_pemilik=NAME, alamat_pemilik=alamat,
                jenis_kendaraan="SUV", warna_tnkb="HITAM", status="AKTIF", mobil_pribadi=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The month's tables as frames, and the candidate pairs per blocking rule."""
    con = warehouse.connect(tmp_path_factory.mktemp("samsat") / "w.duckdb")
    write_staging(con, "dtks", PERIOD, [
        _owner("A1", "H1", 1, NIK_OWNER, DESA_A, "BANJAR DINAS KAJA"),
        # a namesake born another year in another village
        _owner("B1", "H2", 2, nik("01", "1981-04-09", "L", 330), DESA_B, "BANJAR DINAS KELOD"),
        # a namesake in the village that gives its kecamatan its name (Desa Gerokgak, Kec. Gerokgak)
        _owner("C1", "H3", 3, NIK_GEROKGAK, DESA_GEROKGAK, "BANJAR DINAS KAJA"),
        {**dtks_row("D1", "H4", nokk(4), NIK_PASEK, "I PUTU PASEK", "L", "1975-03-05", 1, kode_desa=DESA_A,
                    alamat="JL. MAWAR NO. 3"), "banjar": "BANJAR DINAS KANGIN"},
        {**dtks_row("E1", "H5", nokk(5), NIK_SUKERTA, "I KETUT SUKERTA", "L", "1943-07-17", 1, kode_desa=DESA_A,
                    alamat="BR. KAUH"), "banjar": "KAUH"},
    ])
    write_staging(con, "samsat_kendaraan", PERIOD, [
        _car(NIK_THREE_OFF, "BANJAR DINAS KAJA, DESA SUMBERKLAMPOK, KEC. GEROKGAK", "DK 1 AA"),
        # a third man of that name, not in the DTKS: another banjar and village, NIK far from both
        _car(nik("01", "1955-01-30", "L", 901), "BANJAR DINAS KANGIN, DESA SUMBERKIMA, KEC. GEROKGAK", "DK 2 AA"),
        # a fourth, not in the DTKS, NIK three digits from C1's, same banjar name in another village of that kecamatan
        _car(NIK_GEROKGAK[:6] + "13" + NIK_GEROKGAK[8:10] + "9" + NIK_GEROKGAK[11:],
             "BANJAR DINAS KAJA, DESA PEJARAKAN, KEC. GEROKGAK", "DK 3 AA"),
        {**_car(NIK_PASEK_TWO_OFF, "BANJAR DINAS KANGIN, DESA SUMBERKLAMPOK, KEC. GEROKGAK", "DK 4 AA"),
         "nama_pemilik": "I PUTU PSK"},
        {**_car(NIK_SUKERTA_SERIAL, "BR. KAUH SUMBERKLAMPOK BULELENG", "DK 5 AA"), "nama_pemilik": "I KETUT SUKERTA"},
    ])
    built = build_mod.build_registry(con, PERIOD)
    frames = built.frames(con)
    con.close()
    return frames, built.candidates.counts


@pytest.fixture(scope="module")
def result(built):
    return built[0]


def _link(result, source: str, row: int) -> pd.Series:
    links = result.person_links
    return links[(links["source"] == source) & (links["source_row"] == row)].iloc[0]


def test_three_digits_off_with_banjar_and_village_links_to_the_owner(result):
    assert sum(a != b for a, b in zip(NIK_OWNER, NIK_THREE_OFF)) == 3
    car = _link(result, "samsat_kendaraan", 1)
    assert car["person_id"] == _link(result, "dtks", 1)["person_id"]
    assert car["match_rule"] == "NIK_BEDA" and car["match_score"] >= 0.99
    excluded = result.exclusions[result.exclusions["reason_code"] == "MAMPU_MOBIL"]
    cards = result.families.set_index("family_id")["nokk"]
    excluded_cards = {cards[f] for f in excluded["family_id"]}
    assert nokk(1) in excluded_cards and not excluded_cards & {nokk(2), nokk(3)}


def test_a_namesake_outside_dtks_elsewhere_is_not_found(result):
    car = _link(result, "samsat_kendaraan", 2)
    assert pd.isna(car["person_id"]) and car["match_rule"] == "TIDAK_DITEMUKAN"


def test_the_kecamatan_named_in_an_address_is_not_its_village(result):
    car = _link(result, "samsat_kendaraan", 3)
    assert pd.isna(car["person_id"]) and car["match_rule"] == "TIDAK_DITEMUKAN"


def test_a_car_whose_name_and_nik_are_both_damaged_is_found_by_the_name_skeleton_and_banjar(result, built):
    """No rule that needs an equal NIK, rarest token or street finds "I PUTU PSK" on a NIK two digits off; the
    skeleton of the name's last token (PSK for PASEK and PSK) with the banjar in one village does."""
    assert sum(a != b for a, b in zip(NIK_PASEK, NIK_PASEK_TWO_OFF)) == 2
    car, owner = _link(result, "samsat_kendaraan", 4), _link(result, "dtks", 4)
    assert car["person_id"] == owner["person_id"] and car["match_score"] >= 0.99
    assert built[1]["nama_kerangka_banjar"] >= 1


def test_a_car_whose_nik_serial_is_mistyped_links_by_the_birth_date_its_nik_carries(result, built):
    """The car has no birth date and its NIK is two digits off in the serial; its first twelve digits (region and
    birth date) equal the owner's: found by that key with the name's skeleton, and at the level that says so."""
    assert NIK_SUKERTA[:12] == NIK_SUKERTA_SERIAL[:12]
    assert sum(a != b for a, b in zip(NIK_SUKERTA, NIK_SUKERTA_SERIAL)) == 2
    car, owner = _link(result, "samsat_kendaraan", 5), _link(result, "dtks", 5)
    assert car["person_id"] == owner["person_id"] and car["match_score"] >= 0.99
    assert built[1]["nik_lahir_kerangka"] >= 1
