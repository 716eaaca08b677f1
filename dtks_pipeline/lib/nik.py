"""NIK and NOKK: repair of export damage and structural validation.

NIK  = PP RR SS DDMMYY XXXX (region, birth date with +40 on the day for women, serial).
NOKK = PP RR SS DDMMYY XXXX (issuing district, issue date without +40, serial).
All functions are vectorised over pandas Series of strings.
"""
from __future__ import annotations

import numpy as np
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


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _valid_dates(day: pd.Series, month: pd.Series, yy: pd.Series) -> pd.Series:
    """True where DD-MM-YY is a real date in 19YY or 20YY (day: integers; month, yy: digit
    strings). Calendar arithmetic on integer arrays: no date string built per row."""
    d = day.to_numpy("int64")
    m = month.astype(int).to_numpy("int64")
    y = yy.astype(int).to_numpy("int64")
    known_month = (m >= 1) & (m <= 12)
    days = _DAYS_IN_MONTH[np.where(known_month, m, 0)]
    ok = np.zeros(len(d), dtype=bool)
    for century in (1900, 2000):
        year = century + y
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        ok |= known_month & (d >= 1) & (d <= days + ((m == 2) & leap))
    return pd.Series(ok, index=day.index)


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


def _number(digits: pd.Series) -> pd.Series:
    """The number of a string of ASCII digits, NaN for anything else (Arrow's cast:
    pd.to_numeric goes through Python objects)."""
    return digits.where(digits.str.fullmatch(r"[0-9]+").fillna(False).astype(bool)).astype("float64")


def agrees_with_person(nik: pd.Series, birth_date: pd.Series, sex: pd.Series) -> pd.Series:
    """True where the NIK's date and sex part agree with the row's birth date (datetime)
    and sex ('L'/'P'); NA inputs count as agreeing (nothing to compare)."""
    value = nik.astype("string[pyarrow]")
    day = _number(value.str[6:8])
    nik_female = day > 40
    nik_day = day.where(~nik_female, day - 40)
    born = pd.to_datetime(birth_date, errors="coerce")
    date_ok = (
        (nik_day == born.dt.day)
        & (_number(value.str[8:10]) == born.dt.month)
        & (_number(value.str[10:12]) == born.dt.year % 100)
    )
    date_ok = date_ok | born.isna() | value.isna()
    sex_ok = (sex.isna()) | value.isna() | ((sex == "P") == nik_female)
    return (date_ok & sex_ok).fillna(True).astype(bool)
