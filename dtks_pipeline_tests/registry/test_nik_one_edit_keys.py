"""The NIK keys (mentions.nik_keys) on a handmade export in a real DuckDB: a NIK with any one digit
substituted, or any two adjacent digits swapped, shares a key with the right NIK; a NIK two digits off at
places far apart shares none, so each key stays selective as the regency grows."""
from __future__ import annotations

import pytest

from dtks_pipeline.defs.registry import mentions
from dtks_pipeline.defs.registry.inputs import register_inputs
from dtks_pipeline.lib import warehouse
from dtks_pipeline_tests.registry.staging_fixture import dtks_row, nik, nokk, write_staging

PERIOD = "2022-10"
RIGHT = nik("01", "1961-03-14", "P", 7351)


def _substituted(position: int) -> str:
    digit = "0" if RIGHT[position] != "0" else "1"
    return RIGHT[:position] + digit + RIGHT[position + 1:]


def _swapped(position: int) -> str:
    return RIGHT[:position] + RIGHT[position + 1] + RIGHT[position] + RIGHT[position + 2:]


VARIANTS = {f"S{p}": _substituted(p) for p in range(16)}
VARIANTS |= {f"T{p}": _swapped(p) for p in range(15) if RIGHT[p] != RIGHT[p + 1]}
FAR_APART = RIGHT[:2] + ("0" if RIGHT[2] != "0" else "1") + RIGHT[3:13] + ("0" if RIGHT[13] != "0" else "1") + RIGHT[14:]


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    con = warehouse.connect(tmp_path_factory.mktemp("nik_keys") / "w.duckdb")
    numbers = {"RIGHT": RIGHT, "FAR": FAR_APART, **VARIANTS}
    rows = [dtks_row(name, f"H{i}", nokk(i), number, "NI LUH SEKAR", "P", "1961-03-14", 1)
            for i, (name, number) in enumerate(numbers.items())]
    write_staging(con, "dtks", PERIOD, rows)
    register_inputs(con, PERIOD)
    table = mentions.build_mentions(con)
    found = {name: set(k) for name, k in con.execute(f"SELECT id_art, nik_keys FROM {table}").fetchall()}
    con.close()
    return found


def test_every_substitution_and_every_adjacent_swap_shares_a_key(keys):
    assert len(VARIANTS) >= 16 + 10                    # the test NIK has enough unequal neighbours to swap
    missed = [name for name in VARIANTS if not keys[name] & keys["RIGHT"]]
    assert missed == []


def test_two_digits_far_apart_share_no_key(keys):
    assert keys["FAR"] & keys["RIGHT"] == set()


def test_each_key_leaves_out_only_two_digits(keys):
    assert len(keys["RIGHT"]) == 15
    assert all(len(key.split(":", 1)[1]) == 14 for key in keys["RIGHT"])
