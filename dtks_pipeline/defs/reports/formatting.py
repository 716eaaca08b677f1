"""Indonesian number formatting and the domain labels the staff use.

Numbers are written the Indonesian way: `.` between thousands, `,` for decimals,
`Rp` straight before the amount (Rp1.302.750.000). The same convention is
handed to Vega (d3-format locale) so chart axes read the same as the tables.
"""
from __future__ import annotations

import math

# d3-format locale for Vega/vl-convert (d3 ships no id-ID locale).
D3_LOCALE_ID = {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["Rp", ""]}

# Column and value labels as Dinas Sosial staff say them.
LABELS = {
    "period": "Bulan",
    "program": "Program",
    "name": "Nama program",
    "kode_kecamatan": "Kode kecamatan",
    "kecamatan": "Kecamatan",
    "kode_desa": "Kode desa",
    "desa": "Desa/Kelurahan",
    "desil": "Desil",
    "kpm": "KPM",
    "rp": "Rp",
    "quota": "Kuota",
    "eligible": "Layak",
    "paid": "Dibayar",
    "unpaid": "Layak belum dibayar",
    "change": "Perubahan",
    "reason_code": "Alasan",
    "n": "Jumlah",
    "MASUK": "Masuk",
    "KELUAR": "Keluar",
    "AKTIF": "Aktif",
    "MENINGGAL": "Meninggal",
    "PINDAH": "Pindah",
    "source": "Sumber data",
    "status": "Status",
}

NO_DESIL = "Tanpa desil"


def number(value, decimals: int = 0) -> str:
    """12345678 -> '12.345.678'; 0.5 with decimals=1 -> '0,5'; missing -> '–'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    try:
        if value != value:  # pandas NA-likes
            return "–"
    except TypeError:
        return "–"
    text = f"{float(value):,.{decimals}f}" if decimals else f"{int(round(float(value))):,}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def rupiah(value) -> str:
    """1302750000 -> 'Rp1.302.750.000'; negative -> '-Rp150.000'."""
    text = number(value)
    if text == "–":
        return text
    return f"-Rp{text[1:]}" if text.startswith("-") else f"Rp{text}"


def signed(value, money: bool = False) -> str:
    """A difference with its sign: +1.000, -Rp150.000, 0."""
    text = rupiah(value) if money else number(value)
    if text == "–":
        return text
    return text if text.startswith("-") or text in ("0", "Rp0") else f"+{text}"


def label(key: str) -> str:
    return LABELS.get(key, key)
