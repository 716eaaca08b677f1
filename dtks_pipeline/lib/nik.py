"""NIK and NOKK: repair of export damage and structural validation.

NIK  = PP RR SS DDMMYY XXXX (region, birth date with +40 on the day for women, serial).
NOKK = PP RR SS DDMMYY XXXX (issuing district, issue date without +40, serial).
All functions are vectorised over pandas Series of strings.
"""
from __future__ import annotations

import pandas as pd

from dtks_pipeline.lib import regions

# Excel's scientific notation has lost digits: never repairable.
_SCIENTIFIC = r"^\d(?:[.,]\d+)?[eE][+-]?\d+$"


def repair(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Repair what is unambiguous; return (16-digit string or NA, damaged mask).

    Repaired: a leading apostrophe or backtick, spaces, dots or dashes inside, a
    trailing `.0` (a number formatted as float). Damaged (NIK_RUSAK): scientific
    notation, letters, or anything that is not 16 digits after repair. Empty
    values are neither (the caller reports KOLOM_WAJIB_KOSONG where required).
    """
    text = raw.astype("string[pyarrow]").fillna("").str.strip()
    text = text.str.lstrip("'`\u2019")
    scientific = text.str.match(_SCIENTIFIC)
    cleaned = text.str.replace(r"\.0$", "", regex=True).str.replace(r"[\s.\-]", "", regex=True)
    ok = cleaned.str.fullmatch(r"\d{16}") & ~scientific
    damaged = ~ok & (text != "")
    return cleaned.where(ok, pd.NA).astype("string[pyarrow]"), damaged.astype(bool)


def _valid_dates(day: pd.Series, month: pd.Series, yy: pd.Series) -> pd.Series:
    """True where DD-MM-YY is a real date in 19YY or 20YY."""
    ok = pd.Series(False, index=day.index)
    for century in ("19", "20"):
        text = century + yy + "-" + month + "-" + day.astype("string[pyarrow]").str.zfill(2)
        ok |= pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").notna()
    return ok


def _region_ok(value: pd.Series) -> pd.Series:
    regency = value.str[:4]
    district = value.str[4:6]
    known_regency = regency.isin(regions.regencies())
    buleleng = regency == regions.BULELENG
    district_ok = (district != "00") & (~buleleng | district.isin(regions.buleleng_districts()))
    return known_regency & district_ok


def valid_nik(nik: pd.Series) -> pd.Series:
    """Structural validity of repaired 16-digit NIKs (NA counts as invalid)."""
    value = nik.astype("string[pyarrow]").fillna("0" * 16)
    day = value.str[6:8].astype(int)
    day = day.where(day <= 40, day - 40)
    dates_ok = _valid_dates(day, value.str[8:10], value.str[10:12])
    return (_region_ok(value) & dates_ok & (value.str[12:16] != "0000")).astype(bool)


def valid_nokk(nokk: pd.Series) -> pd.Series:
    """Structural validity of repaired 16-digit NOKKs (issue date has no +40)."""
    value = nokk.astype("string[pyarrow]").fillna("0" * 16)
    dates_ok = _valid_dates(value.str[6:8].astype(int), value.str[8:10], value.str[10:12])
    return (_region_ok(value) & dates_ok & (value.str[12:16] != "0000")).astype(bool)


def agrees_with_person(nik: pd.Series, birth_date: pd.Series, sex: pd.Series) -> pd.Series:
    """True where the NIK's date and sex part agree with the row's birth date (datetime)
    and sex ('L'/'P'); NA inputs count as agreeing (nothing to compare)."""
    value = nik.astype("string[pyarrow]")
    day = pd.to_numeric(value.str[6:8], errors="coerce")
    nik_female = day > 40
    nik_day = day.where(~nik_female, day - 40)
    born = pd.to_datetime(birth_date, errors="coerce")
    date_ok = (
        (nik_day == born.dt.day)
        & (pd.to_numeric(value.str[8:10], errors="coerce") == born.dt.month)
        & (pd.to_numeric(value.str[10:12], errors="coerce") == born.dt.year % 100)
    )
    date_ok = date_ok | born.isna() | value.isna()
    sex_ok = (sex.isna()) | value.isna() | ((sex == "P") == nik_female)
    return (date_ok & sex_ok).fillna(True).astype(bool)
