"""Kemendagri region codes: the reference tables shipped with the package, and
resolution of the region NAMES typed by DTKS operators to village codes.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

import pandas as pd
from rapidfuzz import process, fuzz

BULELENG = "5108"
# Prefixes operators type before a name ("DESA TINGA TINGA", "KEL. BANYUASRI").
_PREFIX = re.compile(r"^(DESA|DS|KELURAHAN|KEL|KECAMATAN|KEC|KABUPATEN|KAB|PROVINSI|PROV)\b\.?\s*")


def _read_reference(name: str) -> pd.DataFrame:
    with resources.files("dtks_pipeline.reference").joinpath(name).open(encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str)


@functools.cache
def wilayah() -> pd.DataFrame:
    """Buleleng's regions: kode (dotted), kode_digits, tingkat, nama."""
    frame = _read_reference("wilayah_buleleng.csv")
    frame["kode_digits"] = frame["kode"].str.replace(".", "", regex=False)
    return frame


@functools.cache
def regencies() -> frozenset[str]:
    """Every province+regency code of Indonesia as 4 digits ('5108', '5171')."""
    frame = _read_reference("kabupaten_indonesia.csv")
    codes = frame.loc[frame["tingkat"] == "kabupaten", "kode"].str.replace(".", "", regex=False)
    return frozenset(codes)


@functools.cache
def village_codes() -> frozenset[str]:
    """The 148 village codes of Buleleng as 10 digits ('5108012001')."""
    frame = wilayah()
    return frozenset(frame.loc[frame["tingkat"].isin(["desa", "kelurahan"]), "kode_digits"])


@functools.cache
def buleleng_districts() -> frozenset[str]:
    """Kecamatan parts ('01'..'09') of Buleleng."""
    frame = wilayah()
    return frozenset(frame.loc[frame["tingkat"] == "kecamatan", "kode_digits"].str[4:6])


def normalize_name(value: str) -> str:
    """Upper case, no administrative prefix, letters and digits only:
    'Tinga-tinga', 'TINGA TINGA' and 'DESA TINGA TINGA' all become 'TINGATINGA'."""
    text = str(value or "").upper().strip()
    text = _PREFIX.sub("", text)
    return re.sub(r"[^A-Z0-9]", "", text)


def digits_only(value: pd.Series) -> pd.Series:
    """'51.08.01.2001' and ' 5108012001 ' -> '5108012001' (NaN stays NaN)."""
    return value.astype("string[pyarrow]").str.replace(r"[^0-9]", "", regex=True)


@dataclass(frozen=True)
class _Village:
    code: str
    kecamatan: str  # normalized kecamatan name
    desa: str  # normalized village name


@functools.cache
def _villages() -> tuple[_Village, ...]:
    frame = wilayah()
    kec_names = {
        row.kode_digits: normalize_name(row.nama) for row in frame[frame["tingkat"] == "kecamatan"].itertuples()
    }
    villages = frame[frame["tingkat"].isin(["desa", "kelurahan"])]
    return tuple(_Village(r.kode_digits, kec_names[r.kode_digits[:6]], normalize_name(r.nama)) for r in villages.itertuples())


def resolve_village_names(kecamatan: pd.Series, desa: pd.Series, fuzzy_cutoff: float = 90.0) -> pd.Series:
    """Resolve (kecamatan, desa) names to 10-digit village codes; NA where unknown.

    Exact match on normalized (kecamatan, desa) first, then on the desa name alone
    when it is unique in Buleleng, then a close spelling (rapidfuzz ratio >= cutoff)
    inside the named kecamatan when exactly one village is that close. The work is
    done once per distinct pair, so a 200k-row export costs a few hundred lookups.
    """
    villages = _villages()
    by_pair = {(v.kecamatan, v.desa): v.code for v in villages}
    by_desa: dict[str, list[str]] = {}
    for v in villages:
        by_desa.setdefault(v.desa, []).append(v.code)
    by_kec: dict[str, dict[str, str]] = {}
    for v in villages:
        by_kec.setdefault(v.kecamatan, {})[v.desa] = v.code

    def resolve(kec_raw: str, desa_raw: str) -> str | None:
        kec, des = normalize_name(kec_raw), normalize_name(desa_raw)
        if not des:
            return None
        if (kec, des) in by_pair:
            return by_pair[(kec, des)]
        if len(by_desa.get(des, [])) == 1:
            return by_desa[des][0]
        candidates = by_kec.get(kec)
        if candidates:
            best = process.extract(des, list(candidates), scorer=fuzz.ratio, limit=2)
            if best and best[0][1] >= fuzzy_cutoff and (len(best) == 1 or best[1][1] < fuzzy_cutoff):
                return candidates[best[0][0]]
        return None

    pairs = pd.DataFrame({"kec": kecamatan.fillna("").astype(str), "desa": desa.fillna("").astype(str)})
    distinct = pairs.drop_duplicates().copy()
    distinct["kode"] = [resolve(k, d) for k, d in zip(distinct["kec"], distinct["desa"])]
    merged = pairs.merge(distinct, on=["kec", "desa"], how="left")
    return pd.Series(merged["kode"].to_numpy(), index=kecamatan.index, dtype="string[pyarrow]")
