"""The name-and-place blocking keys on a handmade export in a real DuckDB: a Samsat address gives its
village by name (the village named last, not a banjar named like another village), and a key shared by
more than MAX_BLOCK_MENTIONS mentions (a common name in one village) is purged, so that a rule's pairs
grow with the mentions and not with the square of a village's population."""
from __future__ import annotations

import pytest

from dtks_pipeline.defs.registry import candidates, mentions
from dtks_pipeline.defs.registry.inputs import register_inputs
from dtks_pipeline.lib import warehouse
from dtks_pipeline_tests.registry.staging_fixture import DESA_A, DESA_B, dtks_row, nik, nokk, write_staging

PERIOD = "2022-10"
CROWD = mentions.MAX_BLOCK_MENTIONS + 1


def _dtks_rows() -> list[dict]:
    owner = {**dtks_row("A1", "H1", nokk(1), nik("01", "1970-12-22", "L", 7), "I WAYAN LINGGIH", "L", "1970-12-22", 1,
                        kode_desa=DESA_A, alamat="BR. PEJARAKAN"), "banjar": "BANJAR DINAS PEJARAKAN"}
    # one common name, many men of one banjar of Pejarakan: different birth dates, cards and NIKs
    crowd = [{**dtks_row(f"C{i}", f"H{10 + i}", nokk(10 + i), nik("01", f"19{30 + i}-0{1 + i % 9}-1{i % 10}", "L", 1),
                         "I MADE SUPRAPTA", "L", f"19{30 + i}-0{1 + i % 9}-1{i % 10}", 1, kode_desa=DESA_B,
                         alamat=f"JL. SETIA BUDI {i}"), "banjar": "BANJAR DINAS KAJA"} for i in range(CROWD)]
    alone = {**dtks_row("D1", "H90", nokk(90), nik("01", "1988-05-05", "L", 3), "I MADE SUPRAPTA", "L", "1988-05-05", 1,
                        kode_desa=DESA_A, alamat="JL. MAWAR 1"), "banjar": "BANJAR DINAS KAJA"}
    return [owner, *crowd, alone]


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    con = warehouse.connect(tmp_path_factory.mktemp("place_keys") / "w.duckdb")
    write_staging(con, "dtks", PERIOD, _dtks_rows())
    # his car: NIK far from his (another birth part), the address naming a banjar called like another village
    write_staging(con, "samsat_kendaraan", PERIOD, [dict(
        no_polisi="DK 1 AA", nik_pemilik=nik("05", "1962-02-11", "L", 408), nama_pemilik="I WAYAN LINGGIH",
        alamat_pemilik="BANJAR DINAS PEJARAKAN, DESA SUMBERKLAMPOK, KEC. GEROKGAK", jenis_kendaraan="SUV",
        warna_tnkb="HITAM", status="AKTIF", mobil_pribadi=True)])
    register_inputs(con, PERIOD)
    table = mentions.build_mentions(con)
    yield con, table
    con.close()


def _keys(con, table, column: str) -> dict:
    return dict(con.execute(f"SELECT coalesce(id_art, source), {column} FROM {table}").fetchall())


def test_the_village_of_an_address_is_the_one_named_last(staged):
    con, table = staged
    villages = _keys(con, table, "desa_blok")
    assert villages["samsat_kendaraan"] == villages["A1"] == "SUMBERKLAMPOK"
    assert villages["C0"] == "PEJARAKAN"
    banjar = _keys(con, table, "nama_banjar_blok")
    assert banjar["samsat_kendaraan"] == banjar["A1"] == "LINGGIH|PEJARAKAN|SUMBERKLAMPOK"


def test_a_key_shared_by_more_than_the_cap_is_purged(staged):
    con, table = staged
    by_name = _keys(con, table, "nama_desa_blok")
    assert all(by_name[f"C{i}"] is None for i in range(CROWD))
    assert by_name["D1"] == "I MADE SUPRAPTA|" + DESA_A
    assert all(_keys(con, table, "nama_banjar_blok")[f"C{i}"] is None for i in range(CROWD))


def test_the_rules_add_the_car_and_none_of_the_crowd(staged):
    con, table = staged
    counts = candidates.candidate_pairs(con, table, count=True).counts
    assert counts["nama_inti_banjar"] == 1      # the car and its owner, through the banjar and the village named
    assert counts["nama_desa"] == 0             # without the cap: every pair of the crowd
    assert counts["nama_kerangka_banjar"] == 0
