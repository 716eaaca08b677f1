"""The true population: villages, families, persons, NIK and NOKK (vectorised)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dtks_pipeline.sample.names import build_names

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
EPOCH = np.datetime64("1970-01-01", "D")
REF_DATE = int((np.datetime64("2022-09-30") - EPOCH).astype(int))

BANJAR_WORDS = ["KAJA", "KELOD", "KANGIN", "KAUH", "TENGAH", "ANYAR", "DELOD PASAR",
                "DAUH PURA", "DANGIN PURA", "BABAKAN", "DESA", "KAUH KANGIN", "PASEK", "KAWAN"]
STREETS = ["JL. RAYA", "JL. SUDIRMAN", "JL. AHMAD YANI", "JL. PATTIMURA", "JL. GAJAH MADA",
           "JL. SURAPATI", "JL. NGURAH RAI", "JL. PULAU MENJANGAN", "JL. SETIA BUDI",
           "JL. UDAYANA", "JL. DEWI SARTIKA", "JL. SERMA KAREG", "GG. MAWAR", "GG. MELATI",
           "GG. KAMBOJA", "JL. PANTAI", "JL. SUBAK", "JL. PURA DESA"]
JOBS_HEAD = np.array(["PETANI", "BURUH HARIAN LEPAS", "BURUH TANI", "PEDAGANG", "WIRASWASTA",
                      "NELAYAN", "SOPIR", "TUKANG BANGUNAN", "PETERNAK", "KARYAWAN SWASTA",
                      "BELUM/TIDAK BEKERJA", "PENGRAJIN", "BURUH HARIAN LEPAS"], dtype=object)
JOBS_HEAD_P = np.array([22, 18, 10, 8, 8, 4, 3, 6, 4, 7, 4, 2, 4], float)
JOBS_SPOUSE = np.array(["MENGURUS RUMAH TANGGA", "PEDAGANG", "PETANI", "BURUH HARIAN LEPAS",
                        "PENGRAJIN", "KARYAWAN SWASTA"], dtype=object)
JOBS_SPOUSE_P = np.array([45, 12, 15, 15, 6, 7], float)


@dataclass
class Reference:
    villages: pd.DataFrame   # kode (10 digit), dotted, nama, kec (int), kec_nama, kelurahan(bool)
    regencies: pd.DataFrame  # kode4 (int), dotted, nama, city
    valid_prefix4: set


def load_reference() -> Reference:
    w = pd.read_csv(REFERENCE / "wilayah_buleleng.csv", dtype=str)
    kec = w[w.tingkat == "kecamatan"].set_index("kode")["nama"]
    v = w[w.tingkat.isin(["desa", "kelurahan"])].copy()
    v["dotted"] = v["kode"]
    v["kode"] = v["kode"].str.replace(".", "", regex=False)
    v["kec"] = v["dotted"].str[6:8].astype(int)
    v["kec_nama"] = v["dotted"].str[:8].map(kec)
    v["kelurahan"] = v["tingkat"] == "kelurahan"
    v = v.sort_values("kode").reset_index(drop=True)
    k = pd.read_csv(REFERENCE / "kabupaten_indonesia.csv", dtype=str)
    k = k[k.tingkat == "kabupaten"].copy()
    k["kode4"] = k["kode"].str.replace(".", "", regex=False).astype(int)
    k["dotted"] = k["kode"]
    k["city"] = (k["nama"].str.replace("Kabupaten ", "", regex=False)
                 .str.replace("Kota ", "", regex=False).str.upper())
    k = k.reset_index(drop=True)
    return Reference(v[["kode", "dotted", "nama", "kec", "kec_nama", "kelurahan"]],
                     k[["kode4", "dotted", "nama", "city"]], set(k["kode4"].tolist()))


def village_weights(ref: Reference, rng: np.random.Generator) -> np.ndarray:
    v = ref.villages
    w = rng.lognormal(0.0, 0.35, len(v))
    w = np.where(v.kelurahan & (v.kec == 6), w * 2.2, np.where(v.kelurahan, w * 1.6, w))
    return w / w.sum()


def days_to_dmy(days: np.ndarray):
    d = EPOCH + days.astype("timedelta64[D]")
    y = d.astype("datetime64[Y]").astype(int) + 1970
    m = d.astype("datetime64[M]").astype(int) % 12 + 1
    dd = (d - d.astype("datetime64[M]")).astype(int) + 1
    return dd, m, y


def make_families(rng: np.random.Generator, ref: Reference, n: int, vprob: np.ndarray | None,
                  village_idx: np.ndarray | None = None, poor: bool = True):
    """n families with their members. Returns (families DataFrame, persons DataFrame)."""
    vil = village_idx if village_idx is not None else rng.choice(len(ref.villages), n, p=vprob)
    kec = ref.villages.kec.to_numpy()[vil]
    vnames = ref.villages.nama.to_numpy()[vil]
    # title / naming tradition
    kampung = np.char.startswith(vnames.astype(str), "Kampung") | (vnames == "Pegayaman")
    r = rng.random(n)
    title = np.select([r < 0.04, r < 0.06, r < 0.08, r < 0.11], [1, 2, 3, 4], 0)
    title = np.where(kampung & (rng.random(n) < 0.7), 4, title)
    # decile skewed poor, ~8% empty (0)
    if poor:
        p = np.array([16, 15, 13, 11, 10, 9, 8, 7, 6, 5], float)
    else:
        p = np.array([1, 1, 2, 3, 5, 8, 12, 18, 22, 28], float)
    desil = rng.choice(np.arange(1, 11), n, p=p / p.sum())
    desil = np.where(rng.random(n) < 0.08, 0, desil)
    # composition: spouse, children, menantu, cucu, orang tua
    has_sp = rng.random(n) < 0.80
    n_ch = rng.choice(np.arange(6), n, p=[0.27, 0.28, 0.26, 0.12, 0.05, 0.02])
    n_mn = (rng.random(n) < 0.05).astype(int)
    n_cu = np.where(n_mn > 0, rng.integers(0, 3, n), 0)
    n_ot = (rng.random(n) < 0.10).astype(int)
    counts = np.stack([np.ones(n, int), has_sp.astype(int), n_ch, n_mn, n_cu, n_ot], 1)
    roles = np.array([1, 2, 3, 4, 5, 6])
    tot = counts.sum(1)
    fam = np.repeat(np.arange(n), tot)
    hub = np.repeat(np.tile(roles, n), counts.ravel())
    m = len(fam)
    head_age = 22 + rng.beta(2.0, 2.6, n) * 60
    head_male = rng.random(n) < 0.88
    age = np.zeros(m)
    male = np.zeros(m, bool)
    ha = head_age[fam]
    u = rng.random(m)
    is_ = {k: hub == k for k in roles}
    age[is_[1]] = ha[is_[1]]
    male[is_[1]] = head_male[fam[is_[1]]]
    age[is_[2]] = np.clip(ha[is_[2]] + rng.normal(-3, 4, is_[2].sum()), 17, 90)
    male[is_[2]] = ~head_male[fam[is_[2]]]
    span = np.clip(ha - 19, 0.1, 32)
    age[is_[3]] = u[is_[3]] * span[is_[3]]
    male[is_[3]] = rng.random(is_[3].sum()) < 0.51
    age[is_[4]] = np.clip(ha[is_[4]] - 24 + rng.normal(0, 3, is_[4].sum()), 18, 60)
    male[is_[4]] = rng.random(is_[4].sum()) < 0.3
    age[is_[5]] = u[is_[5]] * np.clip(ha[is_[5]] - 42, 0.1, 12)
    male[is_[5]] = rng.random(is_[5].sum()) < 0.5
    age[is_[6]] = np.clip(ha[is_[6]] + 24 + rng.normal(0, 3, is_[6].sum()), 40, 97)
    male[is_[6]] = rng.random(is_[6].sum()) < 0.3
    bdate = (REF_DATE - age * 365.25 - rng.integers(0, 365, m)).astype(np.int64)
    bdate = np.minimum(bdate, REF_DATE - 30)
    # birth order: children by age rank inside the family, others random
    order = rng.choice(4, m, p=[0.35, 0.3, 0.2, 0.15])
    ch = np.flatnonzero(is_[3])
    if len(ch):
        srt = ch[np.lexsort((-age[ch], fam[ch]))]
        f = fam[srt]
        start = np.r_[0, np.flatnonzero(f[1:] != f[:-1]) + 1]
        grp = np.repeat(start, np.diff(np.r_[start, len(srt)]))
        order[srt] = np.arange(len(srt)) - grp
    ptitle = title[fam].copy()
    # spouses and in-laws often come from another family/tradition
    other = (hub == 2) | (hub == 4)
    r2 = rng.random(m)
    ptitle[other & (ptitle != 4) & (r2 < 0.6)] = 0
    names = build_names(rng, male, order, ptitle)
    # born elsewhere (~5%, mostly spouses)
    pe = np.select([hub == 2, hub == 1, hub == 4, hub == 6], [0.13, 0.035, 0.10, 0.04], 0.012)
    elsewhere = rng.random(m) < pe
    # job
    job = np.full(m, "", dtype=object)
    job[is_[1]] = rng.choice(JOBS_HEAD, is_[1].sum(), p=JOBS_HEAD_P / JOBS_HEAD_P.sum())
    job[is_[2]] = rng.choice(JOBS_SPOUSE, is_[2].sum(), p=JOBS_SPOUSE_P / JOBS_SPOUSE_P.sum())
    job[~(is_[1] | is_[2])] = np.where(age[~(is_[1] | is_[2])] < 6, "BELUM/TIDAK BEKERJA",
                                       np.where(age[~(is_[1] | is_[2])] < 19, "PELAJAR/MAHASISWA",
                                                rng.choice(JOBS_HEAD, (~(is_[1] | is_[2])).sum())))
    # family address
    banjar = "BANJAR DINAS " + np.array(BANJAR_WORDS, dtype=object)[rng.integers(0, len(BANJAR_WORDS), n)]
    alamat = (np.array(STREETS, dtype=object)[rng.integers(0, len(STREETS), n)] + " NO. "
              + rng.integers(1, 120, n).astype(str).astype(object))
    issue = rng.integers(REF_DATE - 17 * 365, REF_DATE - 20, n)
    fams = pd.DataFrame({"village": vil, "kec": kec, "title": title, "desil": desil,
                         "banjar": banjar, "alamat": alamat, "issue": issue})
    pers = pd.DataFrame({"fam": fam, "hub": hub, "male": male, "bdate": bdate, "order": order,
                         "name": names, "elsewhere": elsewhere, "job": job})
    return fams, pers


def assign_serials(rng: np.random.Generator, keys: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """A serial per element, unique within equal keys, starting at a random offset in [lo, hi)."""
    n = len(keys)
    order = np.lexsort((rng.random(n), keys))
    k = keys[order]
    start = np.r_[0, np.flatnonzero(k[1:] != k[:-1]) + 1]
    sizes = np.diff(np.r_[start, n])
    off = rng.integers(lo, hi, len(start))
    serial = np.empty(n, np.int64)
    serial[order] = np.repeat(off, sizes) + (np.arange(n) - np.repeat(start, sizes))
    return serial


def assign_ids(rng: np.random.Generator, ref: Reference, fams: pd.DataFrame, pers: pd.DataFrame):
    """NIK for every person (unique), NOKK for every family (unique), TMPT_LHR."""
    m = len(pers)
    fam_kec = fams.kec.to_numpy()[pers.fam.to_numpy()]
    els = pers.elsewhere.to_numpy()
    reg = ref.regencies
    others = reg[reg.kode4 != 5108].reset_index(drop=True)
    # weight Bali and Java neighbours heavily
    wt = np.where(others.kode4 // 100 == 51, 30.0, np.where(others.kode4 // 100 == 35, 6.0,
                  np.where(others.kode4 // 100 == 52, 4.0,
                  np.where(np.isin(others.kode4 // 100, [31, 32, 33, 34, 36, 53]), 0.5, 0.04))))
    pick = rng.choice(len(others), m, p=wt / wt.sum())
    prefix = np.where(els, others.kode4.to_numpy()[pick] * 100 + rng.integers(1, 21, m),
                      510800 + fam_kec).astype(np.int64)
    dd, mm, yy = days_to_dmy(pers.bdate.to_numpy())
    ddx = dd + np.where(pers.male.to_numpy(), 0, 40)
    dmy = (ddx * 10000 + mm * 100 + yy % 100).astype(np.int64)
    key = prefix * 1_000_000 + dmy
    serial = assign_serials(rng, key, 1, 300)
    nik = key * 10_000 + serial
    pers["nik"] = nik.astype(str)
    vnames = ref.villages.nama.str.upper().to_numpy()[fams.village.to_numpy()[pers.fam.to_numpy()]]
    city = others.city.to_numpy()[pick]
    tmpt = np.where(rng.random(m) < 0.35, "SINGARAJA", vnames)
    pers["tmpt"] = np.where(els, city, tmpt)
    fdd, fmm, fyy = days_to_dmy(fams.issue.to_numpy())
    fkey = (510800 + fams.kec.to_numpy()).astype(np.int64) * 1_000_000 + fdd * 10000 + fmm * 100 + fyy % 100
    fser = assign_serials(rng, fkey, 1000, 3000)
    fams["nokk"] = (fkey * 10_000 + fser).astype(str)
