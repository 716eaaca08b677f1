import pandas as pd

from dtks_pipeline.lib import dates, masking, regions


def test_mixed_formats_in_one_column():
    parsed = dates.parse(pd.Series(["05-04-1980", "5/4/1980", "1980-04-05", "1980-04-05 00:00:00"]))
    assert (parsed == pd.Timestamp("1980-04-05")).all()


def test_impossible_and_unreadable_dates_are_nat():
    parsed = dates.parse(pd.Series(["31-02-1980", "tidak tahu", "", "1980/04/05"]))
    assert parsed.isna().all()


def test_dates_after_the_period_are_invalid():
    parsed = dates.parse(pd.Series(["31-10-2022", "01-11-2022", "01-01-1890"]))
    assert dates.valid_for_period(parsed, "2022-10").tolist() == [True, False, False]


def test_reference_tables():
    assert len(regions.village_codes()) == 148
    assert "5108061006" in regions.village_codes()  # Kelurahan Banyuasri
    assert {"5108", "5171", "1101"} <= regions.regencies()
    assert regions.buleleng_districts() == frozenset(f"{i:02d}" for i in range(1, 10))


def test_region_names_resolve_through_spelling_variants():
    kec = pd.Series(["GEROKGAK", "gerokgak", "KEC. GEROKGAK", "Gerokgak", "BANJAR", "SUKASADA", "GEROKGAK", "GEROKGAK"])
    desa = pd.Series(["TINGA TINGA", "Tinga-tinga", "DESA TINGATINGA", "CELUKAN BAWANG", "KAYUPUTIH", "Kayu Putih", "ATLANTIS", ""])
    codes = regions.resolve_village_names(kec, desa).tolist()
    assert codes[:4] == ["5108012012", "5108012012", "5108012012", "5108012013"]
    # Kayuputih exists in two kecamatan: the kecamatan decides.
    assert codes[4] != codes[5] and codes[4].startswith("510804") and codes[5].startswith("510805")
    assert pd.isna(codes[6]) and pd.isna(codes[7])


def test_masked_preview_hides_personal_data():
    frame = pd.DataFrame({"nik": ["5108014504800001"], "nama": ["NI MADE SARI"], "tgl_lahir": ["1980-04-05"], "desil": [2]})
    out = masking.masked(frame)
    assert out.loc[0, "nik"] == "510801********01"
    assert out.loc[0, "nama"] == "N. M. S."
    assert "tgl_lahir" not in out.columns
    assert "SARI" not in masking.preview_markdown(frame)


def test_previous_period_crosses_the_year():
    from dtks_pipeline.lib.periods import previous_period

    assert previous_period("2022-11") == "2022-10"
    assert previous_period("2023-01") == "2022-12"
