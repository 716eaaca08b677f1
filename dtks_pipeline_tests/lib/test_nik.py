import pandas as pd
import pytest

from dtks_pipeline.lib import nik


@pytest.mark.parametrize(
    "raw, repaired",
    [
        ("5108014504800001", "5108014504800001"),
        ("'5108014504800001", "5108014504800001"),  # leading apostrophe (Excel text marker)
        (" 5108 0145 0480 0001 ", "5108014504800001"),  # spaces inside
        ("5108.0145.0480.0001", "5108014504800001"),  # dots inside
        ("5108014504800001.0", "5108014504800001"),  # float formatting
    ],
)
def test_repairable_damage_is_repaired(raw, repaired):
    value, damaged = nik.repair(pd.Series([raw]))
    assert value.iloc[0] == repaired
    assert not damaged.iloc[0]


@pytest.mark.parametrize("raw", ["5.10801E+15", "5,10801E+15", "5.108014504800001e+15", "510801450480001", "51080145048000011", "5108O14504800001"])
def test_unrepairable_damage_is_flagged(raw):
    value, damaged = nik.repair(pd.Series([raw]))
    assert pd.isna(value.iloc[0])
    assert damaged.iloc[0]


def test_empty_is_neither_repaired_nor_damaged():
    value, damaged = nik.repair(pd.Series(["", None, "  "]))
    assert value.isna().all()
    assert not damaged.any()


@pytest.mark.parametrize(
    "value, valid",
    [
        ("5108014504800001", True),  # Buleleng, Gerokgak, woman born 05-04-1980
        ("5171015002950003", True),  # born in Denpasar, kept their NIK
        ("5108104504800001", False),  # Buleleng has no kecamatan 10
        ("9908014504800001", False),  # no regency 99.08
        ("5108003004800001", False),  # district 00
        ("5108013002800001", False),  # 30 February
        ("5108017204800001", False),  # day 72 - 40 = 32
        ("5108014504800000", False),  # serial 0000
        ("5108012902000001", True),  # 29-02-2000 (leap year)
    ],
)
def test_nik_structure(value, valid):
    assert nik.valid_nik(pd.Series([value])).iloc[0] == valid


def test_nokk_has_no_plus_forty():
    assert nik.valid_nokk(pd.Series(["5108010101200001"])).iloc[0]
    assert not nik.valid_nokk(pd.Series(["5108014501200001"])).iloc[0]


def test_agreement_with_row_birth_date_and_sex():
    values = pd.Series(["5108014504800001"] * 3)
    born = pd.Series(pd.to_datetime(["1980-04-05", "1980-04-06", "1980-04-05"]))
    sex = pd.Series(["P", "P", "L"])
    assert nik.agrees_with_person(values, born, sex).tolist() == [True, False, False]


def test_mask_keeps_six_and_two_in_python_and_sql():
    import duckdb

    from dtks_pipeline.lib import masking

    values = pd.Series(["5108014504800001", "510801450480001", None])
    assert masking.mask_ids(values).tolist()[:2] == ["510801********01", "*" * 15]
    assert [masking.mask_id_value(v) for v in values] == ["510801********01", "*" * 15, None]
    con = duckdb.connect()
    got = [r[0] for r in con.execute(f"SELECT {masking.mask_id_sql('v')} FROM (VALUES ('5108014504800001'), ('510801450480001'), (NULL)) t(v)").fetchall()]
    assert got == ["510801********01", "*" * 15, None]
