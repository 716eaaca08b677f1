"""Balinese personal names: canonical spelling and the informative part.

Why: Balinese names repeat massively. A name is a sex prefix (I / NI), a
birth-order name (Wayan, Made, Nyoman, Ketut and their variants), sometimes a
caste title (Ida Bagus, Anak Agung, Gusti, ...) and then one or two given
names. Exports abbreviate the fixed parts ("I MD SUDARMA", "NI KT ...", "IB").
So the registry compares names in two forms:

- `canonical`: upper case, letters only, abbreviations expanded; two spellings
  of the same name written by two operators become equal or very close.
- `comparable`: the canonical name without the sex prefix (exports drop it)
  and with each birth-order name replaced by its position (Wayan = Putu =
  Gede = Luh, Made = Kadek = Nengah, Nyoman = Komang): operators swap these
  synonyms freely. This is the form two records are compared in.
- `core`: the canonical name without the prefix, birth-order names and
  titles; what is left is what actually distinguishes people, and its
  frequency tells how much an agreement is worth.

Each function has a Python form (tests, small inputs) and a SQL form (DuckDB,
vectorised over a whole export) built from the same tables, so the two agree.
"""
from __future__ import annotations

import re

# Abbreviations seen in exports -> full token.
ABBREVIATIONS: dict[str, str] = {
    "WY": "WAYAN", "WYN": "WAYAN", "PT": "PUTU", "GD": "GEDE",
    "MD": "MADE", "MDE": "MADE", "KD": "KADEK", "KDK": "KADEK", "NGH": "NENGAH",
    "NY": "NYOMAN", "NYM": "NYOMAN", "KMG": "KOMANG", "KM": "KOMANG",
    "KT": "KETUT", "KTT": "KETUT", "LH": "LUH",
    "GST": "GUSTI", "GUST": "GUSTI", "BGS": "BAGUS", "AGG": "AGUNG", "AG": "AGUNG",
    "DW": "DEWA", "DSK": "DESAK", "NGR": "NGURAH", "AY": "AYU",
}

# Tokens that carry sex, birth order or title, not identity.
PREFIXES = ("I", "NI")
BIRTH_ORDER = ("WAYAN", "PUTU", "GEDE", "LUH", "ILUH", "MADE", "KADEK", "NENGAH", "NYOMAN", "KOMANG", "KETUT")
TITLES = ("IDA", "BAGUS", "AYU", "ANAK", "AGUNG", "GUSTI", "DEWA", "DESAK", "COKORDA", "NGURAH", "SAYU", "JERO")
NON_CORE = frozenset(PREFIXES + BIRTH_ORDER + TITLES)
# Birth-order synonyms -> one representative per position.
BIRTH_POSITION: dict[str, str] = {
    "WAYAN": "WAYAN", "PUTU": "WAYAN", "GEDE": "WAYAN", "LUH": "WAYAN", "ILUH": "WAYAN",
    "MADE": "MADE", "KADEK": "MADE", "NENGAH": "MADE",
    "NYOMAN": "NYOMAN", "KOMANG": "NYOMAN", "KETUT": "KETUT",
}

_NON_LETTERS = re.compile(r"[^A-Z ]+")


def _tokens(name: str | None) -> list[str]:
    if name is None:
        return []
    cleaned = _NON_LETTERS.sub(" ", str(name).upper())
    return [ABBREVIATIONS.get(tok, tok) for tok in cleaned.split()]


def canonical(name: str | None) -> str:
    """'i md. Sudarma' -> 'I MADE SUDARMA'."""
    return " ".join(_tokens(name))


def comparable(name: str | None) -> str:
    """'I PUTU SUDARMA' -> 'WAYAN SUDARMA'; 'Md. Sudarma' -> 'MADE SUDARMA'."""
    toks = [BIRTH_POSITION.get(t, t) for t in _tokens(name) if t not in PREFIXES]
    return " ".join(toks)


def core(name: str | None) -> str:
    """'I MADE SUDARMA' -> 'SUDARMA'; 'IDA BAGUS PUTU OKA' -> 'OKA'.

    A name made only of fixed parts keeps its canonical form, so it never
    becomes the empty string.
    """
    toks = _tokens(name)
    kept = [t for t in toks if t not in NON_CORE]
    return " ".join(kept) if kept else " ".join(toks)


def _sql_case(token_var: str) -> str:
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in ABBREVIATIONS.items())
    return f"CASE {token_var} {whens} ELSE {token_var} END"


def _sql_token_list(column: str) -> str:
    split = f"string_split(trim(regexp_replace(upper(coalesce({column}, '')), '[^A-Z ]+', ' ', 'g')), ' ')"
    return f"list_transform(list_filter({split}, lambda t: t <> ''), lambda t: {_sql_case('t')})"


def canonical_sql(column: str) -> str:
    """DuckDB expression computing `canonical` of a column."""
    return f"array_to_string({_sql_token_list(column)}, ' ')"


def comparable_sql(column: str) -> str:
    """DuckDB expression computing `comparable` of a column."""
    prefixes = ", ".join(f"'{t}'" for t in PREFIXES)
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in BIRTH_POSITION.items())
    toks = f"list_filter({_sql_token_list(column)}, lambda t: NOT list_contains([{prefixes}], t))"
    return f"array_to_string(list_transform({toks}, lambda t: CASE t {whens} ELSE t END), ' ')"


def core_sql(column: str) -> str:
    """DuckDB expression computing `core` of a column."""
    non_core = ", ".join(f"'{t}'" for t in sorted(NON_CORE))
    toks = _sql_token_list(column)
    kept = f"list_filter({toks}, lambda t: NOT list_contains([{non_core}], t))"
    return f"CASE WHEN len({kept}) > 0 THEN array_to_string({kept}, ' ') ELSE array_to_string({toks}, ' ') END"
