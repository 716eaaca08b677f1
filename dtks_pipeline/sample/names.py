"""Balinese (and a few non-Balinese) names, built vectorised, and their variants.

All names are synthetic combinations of common given names; they repeat massively
on purpose (thousands of "I MADE SUDARMA"-like collisions), as in the real registry.
"""
from __future__ import annotations

import numpy as np

MALE = """SUDARMA SUARDANA SUARTA SUKADANA SUDIARTA WIRAWAN ARTAWAN ARSANA ASTAWA BUDIARTA
DARMAWAN DHARMA GUNAWAN JULIARTA KARTIKA MAHARDIKA MERTAYASA MURDANA NEGARA PARWATA PURNAMA
PUTRAWAN RAKA REDANA SANJAYA SANTIKA SARJANA SETIAWAN SUDANA SUDIRA SUKARTA SUMERTA SUPARTA
SURYA SUTAMA SUWECA SWASTIKA TIRTA WIDANA WIJAYA WINATA YASA ADNYANA AGUS ANTARA ARDANA ARIAWAN
ARIMBAWA BUDI DARMA DWIPAYANA EKA WIDIARTA SUKRAWAN SUYASA PASEK MUDITA MUSTIKA RAI SASTRAWAN
SEDANA SUBAGIA SUGIARTA SUJANA SUKERTA SUMADI SUNARTA SUWITRA TANTRA UDIYANA WARSA WIRATMA
YUDIANA ARIASA KARYAWAN KUSUMA MERTHA NUARTA ARTANA""".split()

FEMALE = """ARTINI SUKERTI SUARNI SUMIATI SRIANI ASTITI ARIANI KARTINI WARTINI SUARTINI SUDIANI
KARIASIH MURNIASIH SUASTINI SUKARMI SULASTRI SUMARNI SURIANI WIDIASTUTI YULIANI WAHYUNI PUSPAWATI
DEWI SARI UTAMI LESTARI MARIANI MERTASARI RATNAWATI RUSMINI SADRI SARMI SINAR SUDARMI SUARSINI
SUGIANI SUKARINI SUPARMI SURATNI SUSILAWATI SUWITRI TIRTAWATI WARDANI WINDARI YASMINI ARDANI
ARIYANTI BUDIASIH DARMINI ERAWATI KARMINI KASIH KOMALASARI KUSUMAWATI MARTINI MERTASARI SUCIATI
SUDARSINI SUKASIH SUMERTI SUNARI SUPARTINI SURYANI SUSANTI SUWARNI TRISNAWATI WIDIANI WIRATNI
YUNIARTI ASTUTI PURNAMI SRIASIH DIANTARI""".split()

ISLAM_M = """MUHAMMAD AHMAD ABDUL SYAMSUL RIDWAN ZAINAL ARIFIN HASAN SUPRIADI BAHRUDIN SAIFUL
MUSTOFA ANWAR JUNAIDI HAMZAH YUSUF SLAMET SUGENG HERMANTO JOKO""".split()
ISLAM_F = """SITI NURHAYATI AMINAH FATIMAH KHADIJAH ROHANI SUMIYATI MULYANI ASIAH HALIMAH
ZAINAB NURUL SITI_AISYAH MASITAH SRIWAHYUNI RUKMINI JUMAIYAH SALMAH RAHMAWATI SUPIATI""".split()
ISLAM_F = [n.replace("_", " ") for n in ISLAM_F]

# birth-order names by position (1..4, then it cycles)
ORDER_M = [["WAYAN", "PUTU", "GEDE"], ["MADE", "KADEK", "NENGAH"], ["NYOMAN", "KOMANG"], ["KETUT"]]
ORDER_F = [["WAYAN", "PUTU", "LUH"], ["MADE", "KADEK", "NENGAH"], ["NYOMAN", "KOMANG"], ["KETUT"]]

ABBREV = {"MADE": "MD", "NYOMAN": "NYM", "KETUT": "KT", "WAYAN": "WYN", "PUTU": "PT",
          "KOMANG": "KMG", "KADEK": "KDK", "NENGAH": "NGH", "GEDE": "GD", "GUSTI": "GST",
          "BAGUS": "BGS", "NGURAH": "NGR"}
SWAP = {"WAYAN": "PUTU", "PUTU": "WAYAN", "GEDE": "PUTU", "MADE": "KADEK", "KADEK": "MADE",
        "NENGAH": "MADE", "NYOMAN": "KOMANG", "KOMANG": "NYOMAN", "LUH": "PUTU"}

# caste/title of a family: 0 none, 1 Gusti, 2 Ida Bagus, 3 Dewa, 4 non-Balinese (Muslim/Javanese)


def build_names(rng: np.random.Generator, male: np.ndarray, order: np.ndarray,
                title: np.ndarray) -> np.ndarray:
    """Vectorised full names. male: bool; order: birth position 0..; title: 0..4."""
    n = len(male)
    pos = np.minimum(order, 3)
    out = np.empty(n, dtype=object)
    # birth-order word
    choice = rng.random(n)
    bo = np.empty(n, dtype=object)
    for p in range(4):
        for sex, table in ((True, ORDER_M), (False, ORDER_F)):
            m = (pos == p) & (male == sex)
            opts = table[p]
            w = np.array([0.55, 0.30, 0.15][: len(opts)])
            w = w / w.sum()
            idx = np.searchsorted(np.cumsum(w), choice[m], side="right")
            bo[m] = np.array(opts, dtype=object)[np.minimum(idx, len(opts) - 1)]
    given = np.where(male, np.array(MALE, dtype=object)[rng.integers(0, len(MALE), n)],
                     np.array(FEMALE, dtype=object)[rng.integers(0, len(FEMALE), n)])
    # ordinary Balinese
    pre = np.where(male, "I ", "NI ")
    out[:] = pre + bo + " " + given
    t = title == 1
    out[t & male] = "I GUSTI " + np.where(rng.random((t & male).sum()) < 0.4, "NGURAH", bo[t & male]) + " " + given[t & male]
    out[t & ~male] = "I GUSTI AYU " + given[t & ~male]
    t = title == 2
    out[t & male] = "IDA BAGUS " + given[t & male]
    out[t & ~male] = "IDA AYU " + given[t & ~male]
    t = title == 3
    out[t & male] = "I DEWA " + bo[t & male] + " " + given[t & male]
    out[t & ~male] = "DEWA AYU " + given[t & ~male]
    t = title == 4
    k = int(t.sum())
    if k:
        f1 = np.where(male[t], np.array(ISLAM_M, dtype=object)[rng.integers(0, len(ISLAM_M), k)],
                      np.array(ISLAM_F, dtype=object)[rng.integers(0, len(ISLAM_F), k)])
        f2 = np.where(male[t], np.array(ISLAM_M, dtype=object)[rng.integers(0, len(ISLAM_M), k)],
                      np.array(ISLAM_F, dtype=object)[rng.integers(0, len(ISLAM_F), k)])
        single = rng.random(k) < 0.3
        out[t] = np.where(single, f1, f1 + " " + f2)
    return out


def _typo(word: str, r: float) -> str:
    """A plausible spelling variant of one word (never identical)."""
    for a, b in (("DH", "D"), ("TH", "T")):
        if a in word:
            return word.replace(a, b, 1)
    if r < 0.4:
        for a, b in (("D", "DH"), ("T", "TH")):
            i = word.find(a, 1)
            if i > 0:
                return word[:i] + b + word[i + 1:]
    if len(word) > 4:
        i = 1 + int(r * (len(word) - 3))
        return word[:i] + word[i + 1] + word[i] + word[i + 2:] if word[i] != word[i + 1] else word[:i] + word[i + 1:]
    return word + word[-1]


def name_variant(name: str, r: float, r2: float) -> tuple[str, str]:
    """(variant, kind) for a name; kind in ABBREV, DOT, DROP_PREFIX, SWAP, TYPO."""
    words = name.split()
    abbr_idx = [i for i, w in enumerate(words) if w in ABBREV]
    swap_idx = [i for i, w in enumerate(words) if w in SWAP]
    if r < 0.3 and abbr_idx:
        i = abbr_idx[0]
        words[i] = ABBREV[words[i]] + ("." if r2 < 0.3 else "")
        v = " ".join(words)
        return (v.title() if r2 < 0.15 else v), "SINGKATAN"
    if r < 0.5 and words[0] in ("I", "NI") and len(words) > 2:
        return " ".join(words[1:]), "TANPA_AWALAN"
    if r < 0.65 and swap_idx:
        i = swap_idx[0]
        words[i] = SWAP[words[i]]
        return " ".join(words), "TUKAR_URUTAN"
    i = len(words) - 1
    words[i] = _typo(words[i], r2)
    return " ".join(words), "SALAH_EJA"
