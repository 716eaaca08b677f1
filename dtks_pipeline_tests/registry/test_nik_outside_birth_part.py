"""The NIK outside its birth part (region and serial) as a blocking key, and its serial as evidence, on a handmade
export in a real DuckDB: a row whose birth date and NIK were damaged together (the NIK typed from the
wrong date) is still compared with its other row, through that key alone; a key that many rows share
(serials repeat wherever few people are born on one date in a kecamatan) blocks nothing."""
from __future__ import annotations

import pytest

from dtks_pipeline.defs.registry import candidates, mentions, scoring
from dtks_pipeline.defs.registry.inputs import register_inputs
from dtks_pipeline.lib import warehouse
from dtks_pipeline_tests.registry.staging_fixture import DESA_A, DESA_C, dtks_row, nik, nokk, write_staging

PERIOD = "2022-10"
RIGHT = nik("01", "1961-03-14", "P", 7351)
DAMAGED = nik("01", "1916-08-23", "P", 7351)   # another birth date in the NIK and in the row; region, serial kept
CROWDED_SERIAL = 1                               # one serial, one kecamatan: a key shared by every crowded row


def _rows() -> list[dict]:
    rows = [
        dtks_row("A1", "H1", nokk(1), RIGHT, "NI LUH SEKAR ARIANI", "P", "1961-03-14", 1, kode_desa=DESA_A),
        # the same woman in another village, her card number one digit off and her birth date written otherwise
        dtks_row("B1", "H2", nokk(2), DAMAGED, "NI LUH SEKAR ARIANI", "P", "1916-08-23", 1, kode_desa=DESA_C,
                 alamat="JL. GUNUNG AGUNG 3"),
    ]
    # strangers of kecamatan 01 registered with the same serial: more than MAX_PERSON_MENTIONS share that key
    for i in range(mentions.MAX_PERSON_MENTIONS + 1):
        dob = f"19{40 + 3 * i}-{1 + i % 12:02d}-{10 + i:02d}"
        rows.append(dtks_row(f"C{i}", f"H{10 + i}", nokk(10 + i), nik("02", dob, "L", CROWDED_SERIAL),
                             f"I PUTU TOKEN{chr(65 + i)}", "L", dob, 1, kode_desa=DESA_C, alamat=f"JL. {i}"))
    return rows


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    con = warehouse.connect(tmp_path_factory.mktemp("nik_luar") / "w.duckdb")
    write_staging(con, "dtks", PERIOD, _rows())
    register_inputs(con, PERIOD)
    table = mentions.build_mentions(con)
    yield con, table
    con.close()


def test_the_key_is_the_nik_without_its_birth_part_and_only_where_it_is_selective(staged):
    con, table = staged
    keys = dict(con.execute(f"SELECT id_art, nik_luar_lahir FROM {table}").fetchall())
    blocks = dict(con.execute(f"SELECT id_art, nik_luar_lahir_blok FROM {table}").fetchall())
    assert keys["A1"] == keys["B1"] == RIGHT[:6] + RIGHT[12:]
    assert blocks["A1"] == blocks["B1"] == keys["A1"]
    crowded = [a for a in keys if a.startswith("C")]
    assert len({keys[a] for a in crowded}) == 1
    assert all(blocks[a] is None for a in crowded)


def test_the_rule_adds_that_pair_and_none_of_the_crowded_key(staged):
    con, table = staged
    assert candidates.candidate_pairs(con, table, count=True).counts["nik_luar_lahir"] == 1


def test_the_pair_is_found_by_that_rule_alone_and_scored_at_its_level(staged):
    con, table = staged
    scored = scoring.score_pairs(con, candidates.candidate_pairs(con, table))
    mids = dict(con.execute(f"SELECT id_art, mid FROM {table}").fetchall())
    found = con.execute(f"SELECT gamma_nik_tgl_lahir, match_rule FROM {scored.table} WHERE least(mid_l, mid_r) = ? "
                        "AND greatest(mid_l, mid_r) = ?", sorted([mids["A1"], mids["B1"]])).fetchall()
    comparison = next(c for c in scored.linker._settings_obj.comparisons if c.output_column_name == "nik_tgl_lahir")
    labels = {level.comparison_vector_value: level.label_for_charts for level in comparison.comparison_levels}
    # the rules apply in order and this one is last: no other rule (card, village, birth date, name, NIK) found it
    assert [(labels[g], rule) for g, rule in found] == [
        ("NIK serial equal, birth dates differ", "nik_luar_lahir")]
