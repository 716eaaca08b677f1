"""Which comparison level a pair of handmade rows reaches, scored by the real model in a real DuckDB:
a name with its tokens fused and vowels dropped, a name in the old spelling, two names sharing only a
common token, and a car
whose address gives the owner's street and house number against one that gives only the banjar,
and a father and his namesake son on one card against a duplicate row. (Every pair but the father and
son has the same NIK, so it is kept whatever its name and place say; they are kept by their card.)"""
from __future__ import annotations

import pytest

from dtks_pipeline.defs.registry import candidates, mentions, scoring
from dtks_pipeline.defs.registry.inputs import register_inputs
from dtks_pipeline.lib import warehouse
from dtks_pipeline_tests.registry.staging_fixture import DESA_A, dtks_row, nik, nokk, write_staging

PERIOD = "2022-10"
FUSED = nik("01", "1966-02-01", "L", 226)
SHARED = nik("01", "1972-05-09", "L", 31)
OWNER = nik("01", "1980-11-03", "L", 44)
OLD_SPELLING = nik("01", "1958-08-17", "L", 73)


def _car(nik_: str, alamat: str, no_polisi: str) -> dict:
    return dict(no_polisi=no_polisi, nik_pemilik=nik_, nama_pemilik="I KETUT WIRATMA", alamat_pemilik=alamat,
                jenis_kendaraan="SUV", warna_tnkb="HITAM", status="AKTIF", mobil_pribadi=True)


@pytest.fixture(scope="module")
def levels(tmp_path_factory):
    con = warehouse.connect(tmp_path_factory.mktemp("levels") / "w.duckdb")
    owner = dtks_row("C1", "H3", nokk(3), OWNER, "I KETUT WIRATMA", "L", "1980-11-03", 1, kode_desa=DESA_A,
                     alamat="JL. DEWI SARTIKA NO. 99")
    owner["banjar"] = "BANJAR DINAS ANYAR"
    write_staging(con, "dtks", PERIOD, [
        dtks_row("A1", "H1", nokk(1), FUSED, "IWAYANARIMBAWA", "L", "1966-02-01", 1),
        dtks_row("A2", "H1", nokk(1), FUSED, "I WAYAN ARMBW", "L", "1966-02-01", 1),
        dtks_row("B1", "H2", nokk(2), SHARED, "I MADE SUKA", "L", "1972-05-09", 1),
        dtks_row("B2", "H2", nokk(2), SHARED, "I WAYAN ARTA", "L", "1972-05-09", 1),
        owner,
        dtks_row("D1", "H4", nokk(4), nik("01", "1961-03-14", "L", 12), "I NYOMAN SUKERTA", "L", "1961-03-14", 1),
        dtks_row("D2", "H4", nokk(4), nik("01", "1990-07-02", "L", 57), "I NYOMAN SUKERTA", "L", "1990-07-02", 3),
        dtks_row("E1", "H5", nokk(5), OLD_SPELLING, "I GEDE SUTAMA", "L", "1958-08-17", 1),
        dtks_row("E2", "H5", nokk(5), OLD_SPELLING, "GEDE SOETAMA", "L", "1958-08-17", 1),
    ])
    write_staging(con, "samsat_kendaraan", PERIOD, [
        _car(OWNER, "JL. DEWI SARTIKA NO. 99, BANJAR DINAS ANYAR, DESA SUMBERKLAMPOK, KEC. GEROKGAK", "DK 1 AA"),
        _car(OWNER, "BANJAR DINAS ANYAR, DESA SUMBERKLAMPOK, KEC. GEROKGAK", "DK 2 AA"),
    ])
    register_inputs(con, PERIOD)
    table = mentions.build_mentions(con)
    scored = scoring.score_pairs(con, candidates.candidate_pairs(con, table))
    keys = dict(con.execute(f"SELECT coalesce(id_art, 'CAR' || source_row), mid FROM {table}").fetchall())
    labels = {c.output_column_name: {lvl.comparison_vector_value: lvl.label_for_charts for lvl in c.comparison_levels}
              for c in scored.linker._settings_obj.comparisons}

    def level(a: str, b: str, comparison: str) -> str:
        rows = con.execute(f"SELECT gamma_{comparison} FROM {scored.table} WHERE least(mid_l, mid_r) = ? "
                           "AND greatest(mid_l, mid_r) = ?", sorted([keys[a], keys[b]])).fetchall()
        assert len(rows) == 1, (a, b)
        return labels[comparison][rows[0][0]]

    yield level
    con.close()


def test_tokens_fused_and_vowels_dropped_reach_the_letters_in_order_level(levels):
    assert levels("A1", "A2", "nama") == "the letters of one whole name in order inside the other's"


def test_names_sharing_only_a_common_token_reach_the_shared_token_level(levels):
    assert levels("B1", "B2", "nama") == "the names share a token"


def test_a_car_at_the_owners_house_number_is_a_stronger_place_than_one_in_the_banjar(levels):
    assert levels("C1", "CAR1", "tempat") == "no NOKK to compare, same village and street"
    assert levels("C1", "CAR2", "tempat") == "no NOKK to compare, same village and banjar"


def test_a_father_and_his_namesake_son_differ_in_their_relation_to_the_head(levels):
    assert levels("D1", "D2", "hub_kel") == "All other comparisons"
    assert levels("A1", "A2", "hub_kel") == "relation to the head equal"
    # a car has no relation to a family head: the comparison is null, neither for nor against
    assert levels("C1", "CAR1", "hub_kel") == "relation missing"


def test_a_name_in_the_old_spelling_reaches_the_skeleton_level(levels):
    # SOETAMA / SUTAMA: Jaro-Winkler 0.86, three edits on the whole name; the same consonant skeleton, STM
    assert levels("E1", "E2", "nama") == "every token of the shorter name with a token of the other of the same consonant skeleton"
