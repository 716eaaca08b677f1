"""Two persons of one family card whose NIKs are equal or one edit apart: a father's NIK typed on his son's row,
and twins whose NIKs are a serial apart. Weighed as independent of the NIK, the shared card added its 14 bits to
the NIK's and merged them; weighed given the NIK (linkage_model.CONDITIONAL_LEVELS), the card is worth what the
month's pairs of equal or near NIKs say it is, and the names, birth dates and relations keep the two apart. A real
trained model (more mentions than MIN_TRAINING_MENTIONS) on a handmade export in a real DuckDB, with NIK
neighbours (children born the same day) and a person listed in a second household (its relation to the head
differs, so a differing relation is no veto): the true duplicates, with the NIK kept or mistyped, on their own
card or on a second one, still merge."""
from __future__ import annotations

import datetime as dt
import string

import pytest

from dtks_pipeline.defs.registry import build as build_mod, linkage_model
from dtks_pipeline.lib import warehouse
from dtks_pipeline_tests.registry.staging_fixture import DESA_A, dtks_row, nik, nokk, write_staging

FAMILIES, COPIES, TWINS, DUPLICATES, TYPO_DUPLICATES, SECOND_HOUSEHOLD = 1000, 20, 12, 150, 50, 60


def _core(i: int) -> str:
    out = ""
    for _ in range(3):
        i, r = divmod(i, 26)
        out += string.ascii_uppercase[r]
    return out + "ANA"


def _rows() -> tuple[list[dict], dict[str, list[tuple[str, str]]]]:
    rows, apart, together = [], {"copied": [], "twins": []}, {"same_nik": [], "typo_nik": [], "second_household": []}
    for f in range(FAMILIES):
        card, hh = nokk(f + 1), f"H{f}"
        head_dob = (dt.date(1950, 1, 1) + dt.timedelta(days=29 * f)).isoformat()
        wife_dob = (dt.date(1955, 3, 1) + dt.timedelta(days=31 * f)).isoformat()
        # children are born on 60 dates: as in a real kecamatan, those born the same day have NIKs a serial apart
        # (NIK neighbours), so that one edit with the same birth date is common among two persons
        child_dob = (dt.date(1985, 2, 1) + dt.timedelta(days=f % 60)).isoformat()
        head = dtks_row(f"A{f}", hh, card, nik("01", head_dob, "L", 100 + f % 700), f"I WAYAN {_core(f * 7919)}",
                        "L", head_dob, 1, kode_desa=DESA_A)
        wife = dtks_row(f"W{f}", hh, card, nik("01", wife_dob, "P", 100 + f % 700), f"NI MADE {_core(f * 104729 + 3)}",
                        "P", wife_dob, 2, kode_desa=DESA_A)
        child_nik = nik("01", child_dob, "L", 200 + 2 * (f // 60))
        if f < COPIES:   # the father's NIK typed on his son's row
            child_nik = head["nik"]
            apart["copied"].append((f"A{f}", f"C{f}"))
        child = dtks_row(f"C{f}", hh, card, child_nik, f"I PUTU {_core(f * 7919 + 11)}", "L", child_dob, 3,
                         kode_desa=DESA_A)
        rows += [head, wife, child]
        if COPIES <= f < COPIES + TWINS:    # a twin brother: the same birth date, the next serial, another name
            twin_nik = child_nik[:12] + f"{int(child_nik[12:]) + 1:04d}"
            rows.append(dtks_row(f"T{f}", hh, card, twin_nik, f"I MADE {_core(f * 15485863 + 7)}", "L", child_dob, 3,
                                 kode_desa=DESA_A))
            apart["twins"].append((f"C{f}", f"T{f}"))
    for j in range(DUPLICATES):      # a head listed twice on his own card (two ID_ART), his title abbreviated
        f = COPIES + j
        head = rows[_head_index(f)]
        rows.append(dict(head, id_art=f"B{f}", nama=head["nama"].replace("I WAYAN", "I WYN")))
        together["same_nik"].append((f"A{f}", f"B{f}"))
    for j in range(TYPO_DUPLICATES):  # a child listed twice on its own card, the NIK's serial mistyped
        f = COPIES + DUPLICATES + j
        child = rows[_head_index(f) + 2]
        typo = child["nik"][:13] + ("9" if child["nik"][13] != "9" else "8") + child["nik"][14:]
        rows.append(dict(child, id_art=f"D{f}", nik=typo))
        together["typo_nik"].append((f"C{f}", f"D{f}"))
    for j in range(SECOND_HOUSEHOLD):  # a child also listed as the head of a household of its own (data ganda):
        f = COPIES + DUPLICATES + TYPO_DUPLICATES + j   # the relation to the head differs between the two rows
        child = rows[_head_index(f) + 2]
        rows.append(dict(child, id_art=f"S{f}", id_dtks=f"HS{f}", nokk=nokk(5000 + j), hub_kel=1))
        together["second_household"].append((f"C{f}", f"S{f}"))
    return rows, {**apart, **together}


def _head_index(f: int) -> int:
    """Position of family f's head in the rows: three rows a family, one more for the TWINS families after the
    COPIES."""
    return 3 * f + min(max(f - COPIES, 0), TWINS)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    rows, pairs = _rows()
    con = warehouse.connect(tmp_path_factory.mktemp("card_given_nik") / "w.duckdb")
    write_staging(con, "dtks", "2022-10", rows)
    result = build_mod.build_registry(con, "2022-10")
    assert result.scored.trained
    links = result.frames(con).person_links
    tempat = next(c for c in result.scored.linker._settings_obj.comparisons if c.output_column_name == "tempat")
    weights = {level.label_for_charts: float(level._log2_bayes_factor) for level in tempat.comparison_levels
               if not level.is_null_level}
    con.close()
    id_art = {i + 1: r["id_art"] for i, r in enumerate(rows)}
    person = {id_art[int(row)]: pid for row, pid in links.loc[links.source == "dtks", ["source_row", "person_id"]]
              .itertuples(index=False)}
    return person, pairs, weights


@pytest.mark.parametrize("kind", ["copied", "twins"])
def test_two_members_of_one_card_with_equal_or_near_niks_stay_two_persons(built, kind):
    person, pairs, _ = built
    merged = [pair for pair in pairs[kind] if person[pair[0]] == person[pair[1]]]
    assert not merged, f"{len(merged)} of {len(pairs[kind])} merged"


@pytest.mark.parametrize("kind", ["same_nik", "typo_nik", "second_household"])
def test_a_member_listed_twice_on_the_card_is_still_one_person(built, kind):
    person, pairs, _ = built
    split = [pair for pair in pairs[kind] if person[pair[0]] != person[pair[1]]]
    assert not split, f"{len(split)} of {len(pairs[kind])} split"


def test_a_shared_card_is_weighed_by_the_pairs_that_share_the_nik(built):
    _, _, weights = built
    # among the pairs of one NIK, two persons (the copies) share a card as often as one person's two rows do:
    # the card says little there, while for two random rows it is near proof
    assert abs(weights[linkage_model.NIK_EQUAL_SAME_CARD]) < 3.0, weights
    assert weights[linkage_model.NOKK_EQUAL] > 6.0, weights
