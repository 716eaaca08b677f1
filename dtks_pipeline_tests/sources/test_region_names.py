"""DTKS region names spelled as operators type them, in ways the sample generator never does
(it only changes case, hyphens, spaces and the DESA/KEL. prefix: see sample/damage.py)."""
from __future__ import annotations

import pandas as pd
import pytest

from dtks_pipeline.defs.sources.reading import read_delivery
from dtks_pipeline.defs.sources.specs import SOURCES
from dtks_pipeline.defs.sources.validation import validate_file
from dtks_pipeline.lib import regions

from .conftest import dtks_row, write_csv

# (kecamatan, desa as typed, expected code or None)
TYPED = [
    ("BULELENG", "KP. ANYAR", "5108061025"),         # Kampung abbreviated
    ("Buleleng", "Kp Bugis", "5108061026"),
    ("KEC. BULELENG", "KEL. KPG. BARU", "5108061029"),
    ("BULELENG", "KAMP. KAJANAN", "5108061021"),
    ("BULELENG", "Kp.Singaraja", "5108061010"),
    ("BULELENG", "BJR. TEGAL", "5108061007"),        # Banjar abbreviated
    ("BULELENG", "PENARUKAN", "5108061020"),         # exact
    ("BULELNG", "PENARUKN", "5108061020"),           # both misspelled
    ("BULELENG", "PENAROEKAN", "5108061020"),        # the spelling before 1972 (oe for u)
    ("GEROKGAK", "TINGA2", "5108012012"),            # Indonesian reduplication
    ("GEROKGAK", "Ds. Pejarakan", "5108012002"),
    ("GEROKGAK", "SMBR KLAMPOK", "5108012001"),
    ("BULELENG", "KP. B", None),                     # Kampung Baru or Kampung Bugis: not clearly one
    ("BULELENG", "SUKAMAJU", None),                  # no such village
    ("GEROKGAK", "MENGWI", None),                    # a village of Badung
]
EXACT = {"PENARUKAN", "TINGA2", "Ds. Pejarakan"}


def test_typed_names_resolve_only_when_one_village_is_clearly_best():
    found = [regions.resolve_village_name(k, d) for k, d, _ in TYPED]
    assert [r.kode for r in found] == [code for _, _, code in TYPED]
    assert [r.estimated for r in found] == [code is not None and d not in EXACT for _, d, code in TYPED]
    ambiguous = found[-3].message
    assert "Kampung Baru 5108061029" in ambiguous and "Kampung Bugis 5108061026" in ambiguous


def test_no_unknown_name_of_the_generator_resolves_anywhere():
    from dtks_pipeline.sample.damage import UNKNOWN_VILLAGES

    kecamatan = regions.wilayah().query("tingkat == 'kecamatan'")["nama"]
    assert not [(k, u) for k in kecamatan for u in UNKNOWN_VILLAGES if regions.resolve_village_name(k, u).kode]


@pytest.mark.parametrize("short,word,expected", [
    ("KP", "KAMPUNG", True), ("KPG", "KAMPUNG", True), ("KAMP", "KAMPUNG", True), ("DS", "DESA", True),
    ("BJR", "BANJAR", True), ("KAMPUNG", "KAMPUNG", False), ("PK", "KAMPUNG", False), ("SUKAWATI", "SUKASADA", False),
])
def test_abbreviation(short, word, expected):
    assert regions._is_abbreviation(short, word) is expected


def test_dtks_file_flags_every_estimated_region_and_names_candidates_of_a_rejected_one(tmp_path):
    rows = [dtks_row(ID_ART=f"A{i}", NIK=f"510801450480{i:04d}", KECAMATAN=k, DESA=d) for i, (k, d, _) in enumerate(TYPED, 1)]
    path = write_csv(tmp_path / "dtks.csv", SOURCES["dtks"].columns, rows)
    spec = SOURCES["dtks"]
    result = validate_file("dtks", read_delivery(path, "dtks.csv", spec.columns, spec.separators), "2022-10")
    expected = pd.Series([c for _, _, c in TYPED], index=range(1, len(TYPED) + 1))
    assert result.staged["kode_desa"].to_dict() == expected.dropna().to_dict()
    rejected = result.rejected.set_index("source_row")
    assert set(rejected.index) == set(expected.index[expected.isna()])
    assert set(rejected["reason_code"]) == {"WILAYAH_TIDAK_DIKENAL"}
    assert "not clearly one village: Kampung" in rejected.loc[13, "message"]
    assert rejected.loc[14, "message"] == "DESA: DESA 'SUKAMAJU' is no village of kecamatan BULELENG"
    flagged = result.flags[result.flags["flag_code"] == "WILAYAH_DIPERKIRAKAN"].set_index("source_row")
    assert set(flagged.index) == {i for i, (_, d, c) in enumerate(TYPED, 1) if c and d not in EXACT}
    assert flagged.loc[1, "message"] == "DESA 'KP. ANYAR' read as Kampung Anyar 5108061025 (similarity 100)"
