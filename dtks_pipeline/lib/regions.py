"""Kemendagri region codes: the reference tables shipped with the package, and
resolution of the region NAMES typed by DTKS operators to village codes.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

import pandas as pd
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

BULELENG = "5108"
# Resolution of a typed name: best score at least CUTOFF, and at least MARGIN above the next
# candidate ("clearly best"); otherwise the row is rejected naming the candidates.
CUTOFF = 85.0
MARGIN = 10.0
SUBSET_SCORE = 90.0  # every typed word is a word of the name, some are left out ("KAJANAN")
TYPO_SCORE = 88.0  # one letter mistyped, added, dropped or two swapped, in a name of TYPO_MIN_LENGTH+ letters
TYPO_MIN_LENGTH = 5


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


_VOWELS = re.compile(r"[AEIOU]")


def _is_abbreviation(short: str, word: str) -> bool:
    """'KP' or 'KPG' for KAMPUNG, 'KAMP' for KAMPUNG, 'DS' for DESA, 'BNYSR' for BANYUASRI:
    same first letter, the letters in order, and a prefix, at most half as long, or the
    word's consonants only (a long subsequence with vowels is a misspelling, which the
    similarity score judges)."""
    if not short or len(short) >= len(word) or short[0] != word[0]:
        return False
    if word.startswith(short):
        return True
    if len(short) > max(3, len(word) // 2) and _VOWELS.search(short[1:]):
        return False  # a long abbreviation keeps only consonants ('SMBRKLMPK', 'BNYSR')
    rest = iter(word)
    return all(ch in rest for ch in short)


@functools.cache
def _level_words() -> tuple[str, ...]:
    """DESA, KELURAHAN, KECAMATAN, KABUPATEN, PROVINSI: the reference's own level names."""
    return tuple(sorted({t.upper() for t in wilayah()["tingkat"]}))


def name_tokens(value: str) -> tuple[str, ...]:
    """Words of a typed region name: upper case, letters and digits; 'TINGA2' (Indonesian
    reduplication) is 'TINGA TINGA'; a leading level word or its abbreviation ('DESA', 'DS.',
    'KEL.', 'KEC.') is not part of the name when more words follow."""
    words = re.findall(r"[A-Z0-9]+", str(value or "").upper())
    out: list[str] = []
    for word in words:
        twice = re.fullmatch(r"([A-Z]{2,})2", word)
        out += [twice.group(1)] * 2 if twice else [word]
    while len(out) > 1 and _is_level_word(out[0]):
        out = out[1:]
    return tuple(out)


@functools.cache
def _name_words() -> frozenset[str]:
    """Every word of a Buleleng village or kecamatan name as the reference spells it."""
    words = set()
    for name in wilayah().loc[lambda f: f["tingkat"].isin(["kecamatan", "desa", "kelurahan"]), "nama"]:
        words.update(re.findall(r"[A-Z0-9]+", name.upper()))
    return frozenset(words)


@functools.cache
def _is_level_word(word: str) -> bool:
    """A level word, a prefix of one ('KEL', 'KEC'), or an abbreviation of one ('DS') that
    abbreviates no word of a village name ('KP' is Kampung, not Kabupaten)."""
    if any(w.startswith(word) for w in _level_words()):
        return True
    if not any(_is_abbreviation(word, w) for w in _level_words()):
        return False
    return word not in _name_words() and not any(_is_abbreviation(word, w) for w in _name_words())


def normalize_name(value: str) -> str:
    """'Tinga-tinga', 'TINGA TINGA', 'TINGA2' and 'DESA TINGA TINGA' all become 'TINGATINGA'."""
    return "".join(name_tokens(value))


def digits_only(value: pd.Series) -> pd.Series:
    """'51.08.01.2001' and ' 5108012001 ' -> '5108012001' (NaN stays NaN)."""
    return value.astype("string[pyarrow]").str.replace(r"[^0-9]", "", regex=True)


@dataclass(frozen=True)
class _Village:
    code: str
    kecamatan: str  # normalized kecamatan name
    desa: str  # normalized village name
    words: tuple[str, ...]  # the village name's words
    nama: str  # as the reference spells it


@functools.cache
def _villages() -> tuple[_Village, ...]:
    frame = wilayah()
    kec_names = {
        row.kode_digits: normalize_name(row.nama) for row in frame[frame["tingkat"] == "kecamatan"].itertuples()
    }
    villages = frame[frame["tingkat"].isin(["desa", "kelurahan"])]
    return tuple(_Village(r.kode_digits, kec_names[r.kode_digits[:6]], normalize_name(r.nama), name_tokens(r.nama), r.nama)
                 for r in villages.itertuples())


@functools.cache
def _kecamatan() -> dict[str, tuple[str, ...]]:
    """Normalized kecamatan name -> its words."""
    frame = wilayah()
    return {normalize_name(n): name_tokens(n) for n in frame.loc[frame["tingkat"] == "kecamatan", "nama"]}


# The spelling reform of 1972 (EYD): old records and older operators still write OE for U,
# DJ for J and TJ for C (PENAROEKAN for Penarukan).
_OLD_SPELLING = (("OE", "U"), ("DJ", "J"), ("TJ", "C"))


def modern_spelling(text: str) -> str:
    for old, new in _OLD_SPELLING:
        text = text.replace(old, new)
    return text


def name_similarity(typed: tuple[str, ...], name: tuple[str, ...]) -> float:
    """0..100: how well the typed words spell a reference name.

    The best of: the similarity of the whole strings (typos, split or joined words, the
    pre-1972 spelling); TYPO_SCORE for one edit;
    the same with every typed word that abbreviates the name's word at its place
    replaced by that word ('KP. ANYAR' for KAMPUNG ANYAR); SUBSET_SCORE when the typed
    words are some of the name's words, in order."""
    joined, target = "".join(typed), "".join(name)
    if not joined:
        return 0.0
    best = max(fuzz.ratio(joined, target), fuzz.ratio(modern_spelling(joined), target))
    if len(target) >= TYPO_MIN_LENGTH and OSA.distance(joined, target, score_cutoff=1) <= 1:
        best = max(best, TYPO_SCORE)  # a 6-letter name with one typo has a ratio of only 83
    if len(typed) == len(name):
        expanded = [w if t != w and _is_abbreviation(t, w) else t for t, w in zip(typed, name)]
        if expanded != list(typed):
            best = max(best, fuzz.ratio("".join(expanded), target))
    if 0 < len(typed) < len(name):
        rest = iter(name)
        if all(t in rest for t in typed):
            best = max(best, SUBSET_SCORE)
    return float(best)


@dataclass(frozen=True)
class Resolution:
    kode: str | None
    estimated: bool  # True when the name was resolved by similarity, not spelled as the reference has it
    message: str  # estimated: what was read as what; unresolved: why, with the candidates


def _clearly_best(typed: tuple[str, ...], names: dict[str, tuple[str, ...]]) -> tuple[str | None, list[tuple[str, float]]]:
    """The one key whose name the typed words spell clearly best, and the ranked candidates."""
    ranked = sorted(((key, name_similarity(typed, words)) for key, words in names.items()), key=lambda kv: -kv[1])
    if ranked and ranked[0][1] >= CUTOFF and (len(ranked) == 1 or ranked[0][1] - ranked[1][1] >= MARGIN):
        return ranked[0][0], ranked
    return None, ranked


def resolve_village_name(kecamatan: str, desa: str) -> Resolution:
    """Resolve one (kecamatan, desa) pair as typed to a 10-digit village code.

    Exact (normalized) names first; a desa name unique in Buleleng despite another
    kecamatan; then similarity within the kecamatan (itself resolved by similarity if
    misspelled). Only a clearly best candidate is taken; otherwise NA with the candidates."""
    villages = _villages()
    kec, des = normalize_name(kecamatan), normalize_name(desa)
    typed = name_tokens(desa)
    if not des:
        return Resolution(None, False, "DESA is empty")
    exact = [v for v in villages if v.kecamatan == kec and v.desa == des]
    if exact:
        return Resolution(exact[0].code, False, "")
    kec_key = kec if kec in _kecamatan() else _clearly_best(name_tokens(kecamatan), _kecamatan())[0]
    same_name = [v for v in villages if v.desa == des]
    if kec_key and any(v.kecamatan == kec_key for v in same_name):
        v = next(v for v in same_name if v.kecamatan == kec_key)
        return Resolution(v.code, True, f"KECAMATAN {kecamatan!r} read as {kec_key}: {v.nama} {v.code}")
    if len(same_name) == 1:
        v = same_name[0]
        return Resolution(v.code, True, f"DESA {desa!r} is {v.nama} {v.code} in kecamatan {v.kecamatan}, not {kecamatan!r}")
    if kec_key is None:
        return Resolution(None, False, f"KECAMATAN {kecamatan!r} is no kecamatan of Buleleng, and DESA {desa!r} no village name of Buleleng")
    inside = {v.code: v.words for v in villages if v.kecamatan == kec_key}
    code, ranked = _clearly_best(typed, inside)
    by_code = {v.code: v for v in villages}
    if code:
        return Resolution(code, True, f"DESA {desa!r} read as {by_code[code].nama} {code} (similarity {ranked[0][1]:.0f})")
    near = [f"{by_code[c].nama} {c} ({score:.0f})" for c, score in ranked[:3] if score >= CUTOFF - 20]
    if near:
        return Resolution(None, False, f"DESA {desa!r} in kecamatan {kec_key} is not clearly one village: " + ", ".join(near))
    return Resolution(None, False, f"DESA {desa!r} is no village of kecamatan {kec_key}")


def resolve_village_names_detailed(kecamatan: pd.Series, desa: pd.Series) -> pd.DataFrame:
    """kode, estimated, message per row (index of the input); the work is done once per
    distinct pair, so a 200k-row export costs a few hundred lookups."""
    pairs = pd.DataFrame({"kec": kecamatan.fillna("").astype(str), "desa": desa.fillna("").astype(str)})
    distinct = pairs.drop_duplicates().copy()
    found = [resolve_village_name(k, d) for k, d in zip(distinct["kec"], distinct["desa"])]
    distinct["kode"] = [r.kode for r in found]
    distinct["estimated"] = [r.estimated for r in found]
    distinct["message"] = [r.message for r in found]
    merged = pairs.merge(distinct, on=["kec", "desa"], how="left")
    return pd.DataFrame({
        "kode": pd.Series(merged["kode"].to_numpy(), dtype="string[pyarrow]"),
        "estimated": merged["estimated"].astype(bool).to_numpy(),
        "message": merged["message"].to_numpy(),
    }).set_axis(kecamatan.index)


def resolve_village_names(kecamatan: pd.Series, desa: pd.Series) -> pd.Series:
    """Resolve (kecamatan, desa) names to 10-digit village codes; NA where unknown."""
    return resolve_village_names_detailed(kecamatan, desa)["kode"]
