"""Tables of one delivered file, and the damage injected into their rows.

At most ONE damage per row, so the ground truth is unambiguous. Every damage kind
maps to the expected outcome of the row (STAGED or REJECTED + reason_code); kinds
starting with ``FLAG_`` are staged and flagged with the rest of the name
(``FLAG_NIK_TIDAK_SESUAI`` -> flag NIK_TIDAK_SESUAI).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dtks_pipeline.sample.population import EPOCH

DATE_FORMATS = ("DMY-", "DMY/", "YMD")
MISSING = -999_999  # int days of an empty date


def fmt_dates(days: np.ndarray, fmt: str) -> np.ndarray:
    """Format int days (MISSING -> '') in one of DATE_FORMATS, vectorised."""
    days = np.asarray(days, dtype=np.int64)
    out = np.full(len(days), "", dtype=object)
    ok = days != MISSING
    if ok.any():
        s = pd.Series(np.datetime_as_string(EPOCH + days[ok].astype("timedelta64[D]"), unit="D"))
        if fmt == "YMD":
            out[ok] = s.to_numpy(object)
        else:
            sep = "-" if fmt == "DMY-" else "/"
            out[ok] = (s.str[8:10] + sep + s.str[5:7] + sep + s.str[0:4]).to_numpy(object)
    return out


def fmt_one(days: int, fmt: str) -> str:
    if days == MISSING:
        return ""
    d = str(EPOCH + np.timedelta64(int(days), "D"))
    if fmt == "YMD":
        return d
    sep = "-" if fmt == "DMY-" else "/"
    return f"{d[8:10]}{sep}{d[5:7]}{sep}{d[:4]}"


@dataclass
class Spec:
    nik: str
    name: str
    required: tuple
    nokk: str | None = None
    bdate: str | None = None
    dates: tuple = ()
    sex: tuple | None = None      # (column, male value, female value)
    hub: str | None = None
    region: str | None = None     # DTKS DESA name, or a region code column


SPECS = {
    "dtks": Spec("NIK", "NAMA", ("ID_DTKS", "ID_ART", "NOKK", "NIK", "NAMA", "JNS_KEL", "TGL_LHR",
                                 "HUB_KEL", "DESA", "STA_KEBERADAAN"),
                 nokk="NOKK", bdate="TGL_LHR", dates=("TGL_LHR",), sex=("JNS_KEL", "1", "2"),
                 hub="HUB_KEL", region="DESA"),
    "dukcapil_kematian": Spec("NIK", "NAMA", ("NIK", "NAMA", "TGL_MENINGGAL"), bdate="TGL_LHR",
                              dates=("TGL_LHR", "TGL_MENINGGAL"), sex=("JNS_KEL", "LAKI-LAKI", "PEREMPUAN")),
    "dukcapil_pindah": Spec("NIK", "NAMA", ("NIK", "TGL_PINDAH", "KODE_WILAYAH_TUJUAN"), nokk="NOKK",
                            dates=("TGL_PINDAH",), region="KODE_WILAYAH_TUJUAN"),
    "samsat_kendaraan": Spec("NIK_PEMILIK", "NAMA_PEMILIK", ("NO_POLISI", "NIK_PEMILIK", "NAMA_PEMILIK",
                                                             "JENIS_KENDARAAN", "WARNA_TNKB", "STATUS")),
    "nelayan": Spec("NIK", "NAMA", ("NIK", "NAMA"), bdate="TGL_LHR", dates=("TGL_LHR",)),
    "angkutan": Spec("NIK", "NAMA", ("NIK", "NAMA"), bdate="TGL_LHR", dates=("TGL_LHR",)),
    "umkm": Spec("NIK", "NAMA", ("NIK", "NAMA"), bdate="TGL_LHR", dates=("TGL_LHR",)),
    "desa": Spec("NIK", "NAMA", ("KODE_DESA", "NIK", "NAMA", "USULAN"), nokk="NOKK", bdate="TGL_LHR",
                 dates=("TGL_LHR", "TGL_MUSDES"), sex=("JNS_KEL", "L", "P"), hub="HUB_KEL"),
}

# kind -> (rate per row, reason_code or '' for staged). Order matters only for determinism.
REPAIRABLE = {
    "NIK_APOSTROF": 0.0030, "NIK_SPASI": 0.0015, "NIK_TITIK": 0.0010, "NIK_DESIMAL": 0.0015,
    "NOKK_FORMAT": 0.0015, "SPASI_NILAI": 0.0020, "HURUF_CAMPUR": 0.0020, "FORMAT_TANGGAL": 0.0020,
    "WILAYAH_VARIAN": 0.0030, "FLAG_NIK_TIDAK_SESUAI": 0.0010,
}
UNREPAIRABLE = {
    "NIK_SAINTIFIK": (0.0008, "NIK_RUSAK"), "NIK_15_DIGIT": (0.0004, "NIK_RUSAK"),
    "NIK_WILAYAH_TIDAK_ADA": (0.0003, "NIK_TIDAK_VALID"), "NIK_SERIAL_0000": (0.0002, "NIK_TIDAK_VALID"),
    "NIK_TANGGAL_MUSTAHIL": (0.0002, "NIK_TIDAK_VALID"), "TANGGAL_RUSAK": (0.0004, "TANGGAL_TIDAK_VALID"),
    "TANGGAL_MASA_DEPAN": (0.0002, "TANGGAL_TIDAK_VALID"), "JNS_KEL_3": (0.0002, "KODE_TIDAK_VALID"),
    "HUB_KEL_9": (0.0002, "KODE_TIDAK_VALID"), "WILAYAH_TIDAK_ADA": (0.0003, "WILAYAH_TIDAK_DIKENAL"),
    "KOLOM_KOSONG": (0.0004, "KOLOM_WAJIB_KOSONG"),
    # village files only
    "DESA_LAIN": (0.0, "DESA_TIDAK_SESUAI"), "TANPA_BA": (0.0, "TANPA_BERITA_ACARA"),
    "USULAN_GANTI": (0.0, "KODE_TIDAK_VALID"), "SEL_FORMULA": (0.0, "SEL_FORMULA"),
}
# kinds whose damage is structural (set while building the table, not by apply_damage)
STRUCTURAL_STAGED = {"GANDA_IDENTIK", "GANDA_NAMA_VARIAN", "GANDA_NIK_SALAH_KETIK", "GANDA_NIK_TUKAR",
                     "LINK_NIK_SALAH_KETIK", "LINK_NAMA_VARIAN", "NAMA_SALAH_EJA", "FLAG_DATA_GANDA"}

UNKNOWN_VILLAGES = ["SUKAMAJU", "MENGWI", "KEDONGANAN", "SANUR KAJA", "PENEBEL", "UBUD", "UNGASAN",
                    "TEGALALANG", "KEROBOKAN KELOD", "SUKAWATI", "BATUBULAN", "DALUNG"]

SPLITS = {"CELUKANBAWANG": "CELUKAN BAWANG", "TUKADSUMAGA": "TUKAD SUMAGA", "SUMBERKLAMPOK": "SUMBER KLAMPOK",
          "SUMBERKIMA": "SUMBER KIMA", "PANGKUNGPARUK": "PANGKUNG PARUK", "BANJARASEM": "BANJAR ASEM",
          "TUKADMUNGGA": "TUKAD MUNGGA", "PADANGBULIA": "PADANG BULIA", "TEGALLINGGAH": "TEGAL LINGGAH",
          "NAGASEPAHA": "NAGA SEPAHA", "ALASANGKER": "ALAS ANGKER", "JINENGDALEM": "JINENG DALEM",
          "BAKTISERAGA": "BAKTI SERAGA", "SARIMEKAR": "SARI MEKAR", "TANGGUWISIA": "TANGGU WISIA",
          "UMEANYAR": "UME ANYAR", "KALIBUKBUK": "KALI BUKBUK", "GUNUNGSARI": "GUNUNG SARI",
          "PUCAKSARI": "PUCAK SARI", "TINGGARSARI": "TINGGAR SARI", "TIRTASARI": "TIRTA SARI",
          "BANYUASRI": "BANYU ASRI", "PENGASTULAN": "PENGASTULAN", "LOKAPAKSA": "LOKA PAKSA"}


def region_key(s: str) -> str:
    s = s.upper().strip()
    s = re.sub(r"^(DESA|KEL\.|KELURAHAN|KEL)\s+", "", s)
    return re.sub(r"[^A-Z]", "", s)


def region_variants(nama: str, kelurahan: bool) -> list[str]:
    """Spelling variants of a village name that still resolve to it unambiguously."""
    up = nama.upper()
    out = {up.replace("-", " "), nama, nama.lower(), ("KEL. " if kelurahan else "DESA ") + up,
           up.title(), ("KELURAHAN " if kelurahan else "Desa ") + nama}
    key = region_key(up)
    if key in SPLITS and SPLITS[key] != up:
        out.add(SPLITS[key])
    if " " in up:
        out.add(up.replace(" ", ""))
    out.discard(up)
    return sorted(out)


def nik_form(nik: str, kind: str, r: float) -> str:
    if kind.endswith("APOSTROF"):
        return "'" + nik
    if kind.endswith("SPASI"):
        if r < 0.5:
            return " ".join(nik[i:i + 4] for i in range(0, 16, 4))
        return f"{nik[:2]} {nik[2:4]} {nik[4:6]} {nik[6:12]} {nik[12:]}" if r < 0.8 else f" {nik} "
    if kind.endswith("TITIK"):
        return f"{nik[:2]}.{nik[2:4]}.{nik[4:6]}.{nik[6:12]}.{nik[12:]}"
    if kind.endswith("DESIMAL"):
        return nik + ".0"
    raise ValueError(kind)


def mistype_serial(nik: str, r: float, r2: float) -> str:
    """One serial digit changed; serial never 0000 and never equal to the original."""
    i = 12 + int(r * 4)
    d = (int(nik[i]) + 1 + int(r2 * 9)) % 10
    s = nik[:i] + str(d) + nik[i + 1:]
    if s[12:] == "0000":
        s = s[:15] + "1"
    return s


def swap_adjacent(nik: str, r: float) -> str | None:
    """Two different adjacent serial digits swapped (stays a valid NIK), None if impossible."""
    pairs = [i for i in range(12, 15) if nik[i] != nik[i + 1]]
    if not pairs:
        return None
    i = pairs[int(r * len(pairs))]
    return nik[:i] + nik[i + 1] + nik[i] + nik[i + 2:]


@dataclass
class Table:
    source: str
    path: str
    cols: list
    data: dict                      # col -> np.ndarray(object) of strings
    pid: np.ndarray                 # true_person_id ('' if none)
    protect: np.ndarray             # True: no unrepairable damage (its loss would change the truth)
    damage: np.ndarray = None       # '' or kind
    noflag: np.ndarray = None       # True: FLAG_NIK_TIDAK_SESUAI not allowed
    dates: dict = field(default_factory=dict)   # col -> int days (MISSING if empty)
    date_fmt: str = "DMY-"
    excel_dates: bool = False
    text_date: dict = field(default_factory=dict)  # col -> bool mask: cell holds text, not an Excel date
    formula: np.ndarray = None
    extra: dict = field(default_factory=dict)   # per-row helper arrays (usulan, ...)

    def __post_init__(self):
        n = len(self.pid)
        if self.damage is None:
            self.damage = np.full(n, "", dtype=object)
        if self.noflag is None:
            self.noflag = np.zeros(n, bool)
        if self.formula is None:
            self.formula = np.zeros(n, bool)
        for c in self.dates:
            self.text_date.setdefault(c, np.zeros(n, bool))

    def __len__(self):
        return len(self.pid)


def _pick(rng, mask, n):
    idx = np.flatnonzero(mask)
    if n <= 0 or len(idx) == 0:
        return idx[:0]
    return np.sort(rng.choice(idx, min(n, len(idx)), replace=False))


def applicable(kind: str, spec: Spec, t: Table) -> bool:
    if kind == "NOKK_FORMAT":
        return spec.nokk is not None
    if kind in ("FORMAT_TANGGAL", "TANGGAL_RUSAK", "TANGGAL_MASA_DEPAN"):
        return bool(spec.dates)
    if kind == "WILAYAH_VARIAN":
        return t.source == "dtks"
    if kind == "FLAG_NIK_TIDAK_SESUAI":
        return spec.bdate is not None or spec.sex is not None
    if kind == "JNS_KEL_3":
        return spec.sex is not None and t.source != "dukcapil_kematian"
    if kind == "HUB_KEL_9":
        return spec.hub is not None
    if kind == "WILAYAH_TIDAK_ADA":
        return spec.region is not None
    if kind in ("DESA_LAIN", "TANPA_BA", "USULAN_GANTI"):
        return t.source == "desa"
    if kind == "SEL_FORMULA":
        return t.source == "desa" and t.path.endswith(".xlsx")
    return True


def apply_damage(rng: np.random.Generator, t: Table, ctx: dict, forced: dict | None = None,
                 unrep_rows: np.ndarray | None = None, unrep_kinds: list | None = None,
                 rate_scale: float = 1.0) -> None:
    """Inject damage into free rows of t (in place).

    unrep_rows/unrep_kinds: explicit assignment of unrepairable kinds (village void rows);
    otherwise unrepairable kinds are drawn by rate among unprotected rows.
    ctx: period_end (int days), village_names (list of upper names), other_codes (list of codes).
    """
    spec = SPECS[t.source]
    forced = forced or {}
    n = len(t)
    free = t.damage == ""
    # --- unrepairable
    if unrep_rows is not None:
        for row, kind in zip(unrep_rows, unrep_kinds):
            _unrepairable(rng, t, spec, np.array([row]), kind, ctx)
            free[row] = False
    else:
        for kind, (rate, _) in UNREPAIRABLE.items():
            if not applicable(kind, spec, t):
                continue
            k = max(rng.binomial(n, rate * rate_scale) if n else 0, forced.get(kind, 0))
            rows = _pick(rng, free & ~t.protect, k)
            if len(rows):
                _unrepairable(rng, t, spec, rows, kind, ctx)
                free[rows] = False
    # --- repairable
    for kind, rate in REPAIRABLE.items():
        if not applicable(kind, spec, t):
            continue
        k = max(rng.binomial(n, rate * rate_scale) if n else 0, forced.get(kind, 0))
        mask = free.copy()
        if kind == "FLAG_NIK_TIDAK_SESUAI":
            mask &= ~t.noflag
        if kind == "NOKK_FORMAT":
            mask &= np.char.str_len(t.data[spec.nokk].astype(str)) == 16
        rows = _pick(rng, mask, k)
        if len(rows):
            _repairable(rng, t, spec, rows, kind, ctx)
            free[rows] = False


def _repairable(rng, t: Table, spec: Spec, rows, kind, ctx):
    d = t.data
    r = rng.random(len(rows))
    if kind.startswith("NIK_"):
        for i, x in zip(rows, r):
            d[spec.nik][i] = nik_form(d[spec.nik][i], kind, x)
        t.damage[rows] = kind
    elif kind == "NOKK_FORMAT":
        forms = ["NOKK_APOSTROF", "NOKK_SPASI", "NOKK_TITIK", "NOKK_DESIMAL"]
        for i, x in zip(rows, r):
            f = forms[int(x * 4)]
            d[spec.nokk][i] = nik_form(d[spec.nokk][i], f, (x * 4) % 1)
            t.damage[i] = f
    elif kind == "SPASI_NILAI":
        for i, x in zip(rows, r):
            v = d[spec.name][i]
            d[spec.name][i] = ("  " + v if x < 0.3 else v + "  " if x < 0.6 else v.replace(" ", "  ", 1) + " ")
        t.damage[rows] = kind
    elif kind == "HURUF_CAMPUR":
        for i, x in zip(rows, r):
            v = d[spec.name][i]
            d[spec.name][i] = v.title() if x < 0.6 else v.lower()
        t.damage[rows] = kind
    elif kind == "FORMAT_TANGGAL":
        for i, x in zip(rows, r):
            c = spec.dates[int(x * len(spec.dates))]
            days = t.dates[c][i]
            if days == MISSING:
                c = spec.dates[0]
                days = t.dates[c][i]
            others = [f for f in DATE_FORMATS if f != t.date_fmt]
            f = others[int((x * 7) % 1 * len(others))]
            d[c][i] = fmt_one(days, f)
            t.text_date[c][i] = True
        t.damage[rows] = kind
    elif kind == "WILAYAH_VARIAN":
        variants = ctx["region_variants"]  # village upper name -> list of variants
        for i, x in zip(rows, r):
            vs = variants.get(d[spec.region][i])
            if vs:
                d[spec.region][i] = vs[int(x * len(vs))]
                t.damage[i] = kind
    elif kind == "FLAG_NIK_TIDAK_SESUAI":
        for i, x in zip(rows, r):
            if spec.bdate and (x < 0.7 or spec.sex is None) and t.dates[spec.bdate][i] != MISSING:
                days = int(t.dates[spec.bdate][i])
                delta = int(rng.integers(1, 28)) if x < 0.35 else 365 * int(rng.integers(1, 6))
                nd = days - delta  # earlier date: never after the end of the period
                t.dates[spec.bdate][i] = nd
                d[spec.bdate][i] = fmt_one(nd, t.date_fmt)
            elif spec.sex:
                c, mv, fv = spec.sex
                d[c][i] = fv if d[c][i] == mv else mv
            else:
                continue
            t.damage[i] = kind


def _unrepairable(rng, t: Table, spec: Spec, rows, kind, ctx):
    d = t.data
    r = rng.random(len(rows))
    for i, x in zip(rows, r):
        nik = d[spec.nik][i]
        if kind == "NIK_SAINTIFIK":
            d[spec.nik][i] = "%.5E" % float(nik)
        elif kind == "NIK_15_DIGIT":
            j = 6 + int(x * 10)
            d[spec.nik][i] = nik[:j] + nik[j + 1:]
        elif kind == "NIK_WILAYAH_TIDAK_ADA":
            d[spec.nik][i] = ("99" + nik[2:]) if x < 0.5 else ("5199" + nik[4:])
        elif kind == "NIK_SERIAL_0000":
            d[spec.nik][i] = nik[:12] + "0000"
        elif kind == "NIK_TANGGAL_MUSTAHIL":
            d[spec.nik][i] = (nik[:8] + str(13 + int(x * 6)) + nik[10:]) if x < 0.5 else (nik[:6] + "00" + nik[8:])
        elif kind in ("TANGGAL_RUSAK", "TANGGAL_MASA_DEPAN"):
            cands = [c for c in spec.dates if t.dates[c][i] != MISSING]
            c = cands[int(x * len(cands))]
            if kind == "TANGGAL_RUSAK":
                y = 1950 + int(x * 50)
                opts = {"DMY-": f"31-02-{y}", "DMY/": f"30/02/{y}", "YMD": f"{y}-02-30"}
                v = [opts[t.date_fmt], "tidak tahu", "00-00-0000", f"{y}-13-45"][int((x * 13) % 1 * 4)]
            else:
                v = fmt_one(ctx["period_end"] + int(rng.integers(3, 400)), t.date_fmt)
            d[c][i] = v
            t.text_date[c][i] = True
        elif kind == "JNS_KEL_3":
            d[spec.sex[0]][i] = "3"
        elif kind == "HUB_KEL_9":
            d[spec.hub][i] = "9"
        elif kind == "WILAYAH_TIDAK_ADA":
            if t.source == "dtks":
                d[spec.region][i] = UNKNOWN_VILLAGES[int(x * len(UNKNOWN_VILLAGES))]
            else:
                d[spec.region][i] = ["99.99", "51.08.10.2001", "51.08.04.3999", "52.99"][int(x * 4)]
        elif kind == "KOLOM_KOSONG":
            req = list(spec.required)
            if t.source == "desa":
                us = t.extra["usulan"][i]
                if us == "TAMBAH":
                    req += ["NOKK", "ALASAN"]
                elif us == "HAPUS":
                    req += ["ALASAN"]
            c = req[int(x * len(req))]
            d[c][i] = ""
            if c in t.text_date:
                t.text_date[c][i] = True
        elif kind == "DESA_LAIN":
            d["KODE_DESA"][i] = ctx["other_village_code"]
        elif kind == "TANPA_BA":
            d["NO_BA"][i] = ""
        elif kind == "USULAN_GANTI":
            d["USULAN"][i] = "GANTI"
        elif kind == "SEL_FORMULA":
            d[spec.name][i] = '=HYPERLINK("http://bit.ly/dtks","%s")' % d[spec.name][i]
            t.formula[i] = True
        else:
            raise ValueError(kind)
        t.damage[i] = kind


def expected_of(kind: str) -> tuple[str, str]:
    if kind in UNREPAIRABLE:
        return "REJECTED", UNREPAIRABLE[kind][1]
    return "STAGED", ""
