"""Deterministic sample deliveries (by seed) and their ground truth.

    generate(out_dir, families=60_000, seed=2022, months=(...), progress=None) -> dict

writes ``OUT/<period>/...`` (the files of SOURCES.md) and ``OUT/_truth/*.csv``
(docs/CONTRACTS.md). Everything is synthetic: names are combinations of common
Balinese given names, NIKs are structurally valid but random.

Design (see also README in this folder's docstrings):
- the true population is generated first (population.py), then the events of every
  month, then every delivered file is derived from that truth and damaged row by row
  (damage.py, at most one damage per row), and written (writers.py);
- rows.csv lists every data row of every file (BLANK rows too) with the true person;
  ``damage`` names the injected damage; ``FLAG_<code>`` means staged + flag <code>;
- rows whose loss would change the truth (a registry person's death or move record,
  a private car of a registry person, a village decision) never get unrepairable
  damage; village files instead carry extra "void" rows (a proposal that is rejected
  and therefore changes nothing).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from dtks_pipeline.sample import damage as D
from dtks_pipeline.sample.names import _typo, build_names, name_variant
from dtks_pipeline.sample.population import (EPOCH, JOBS_HEAD, REF_DATE, assign_ids, load_reference,
                                             make_families, village_weights)
from dtks_pipeline.sample.writers import write_csv, write_xlsx

BIG = 10_000
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
CAR_TYPES = np.array(["MINIBUS", "MPV", "SUV", "SEDAN", "JEEP"], dtype=object)
CAR_P = np.array([0.35, 0.28, 0.17, 0.12, 0.08])
OUT_DEST = ["51.71", "51.03", "51.04", "51.02", "51.01", "51.07", "51.05", "51.06", "35.78", "35.10",
            "35.15", "35.09", "52.71", "52.01", "31.74", "32.73", "33.74"]
OUT_DEST_P = np.array([30, 18, 8, 6, 6, 4, 3, 3, 6, 5, 2, 2, 2, 1, 2, 1, 1], float)
TRAYEK = ["SINGARAJA - SERIRIT", "SINGARAJA - GEROKGAK", "SINGARAJA - KUBUTAMBAHAN", "SINGARAJA - TEJAKULA",
          "SINGARAJA - SUKASADA", "SINGARAJA - BUSUNGBIU", "SINGARAJA - SAWAN", "SERIRIT - BUSUNGBIU",
          "TERMINAL SANGKET - PANCASARI", "TERMINAL BANYUASRI - PEMUTERAN", "TERMINAL PENARUKAN - AIR SANIH"]
USAHA = [("WARUNG", "KULINER"), ("DAGANG SAYUR", "PERDAGANGAN"), ("KERAJINAN BAMBU", "KERAJINAN"),
         ("TENUN", "KERAJINAN"), ("JAJAN BALI", "KULINER"), ("CANANG", "PERDAGANGAN"),
         ("BENGKEL", "JASA"), ("SALON", "JASA"), ("KOPI", "KULINER"), ("UKIR KAYU", "KERAJINAN"),
         ("TERNAK BABI", "PETERNAKAN"), ("TOKO KELONTONG", "PERDAGANGAN"), ("JAHIT", "JASA")]
SPECIAL_ALAMAT = [" (DEPAN CAFÉ MELATI)", " GG. D’ANGKASA", " DKT. PURA DALEM", " (BELAKANG SEKOLAH)"]
COASTAL_KEC = {1: 3.0, 2: 2.0, 3: 0.1, 4: 1.2, 5: 0.2, 6: 1.5, 7: 1.5, 8: 2.0, 9: 3.0}


def _month_bounds(mon: str) -> tuple[int, int]:
    ms = np.datetime64(f"{mon}-01")
    me = (ms.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    return int((ms - EPOCH).astype(int)), int((me - EPOCH).astype(int))


def _choice(rng, idx, k, replace=False, p=None):
    idx = np.asarray(idx)
    if len(idx) == 0 or k <= 0:
        return idx[:0]
    if not replace:
        k = min(k, len(idx))
    return rng.choice(idx, k, replace=replace, p=p)


class _Gen:
    def __init__(self, out_dir: Path, families: int, seed: int, months, progress):
        self.out = Path(out_dir)
        self.F = int(families)
        self.scale = self.F / 60_000
        self.rng = np.random.default_rng(seed)
        self.months = list(months)
        self.M = len(self.months)
        self.bounds = [_month_bounds(m) for m in self.months]
        self.say = progress or (lambda s: None)
        self.ref = load_reference()
        self.summary: dict = {}
        self.rows_truth: list[pd.DataFrame] = []

    # ------------------------------------------------------------------ population
    def build_population(self):
        rng, ref = self.rng, self.ref
        V = ref.villages
        self.nv = len(V)
        self.vprob = village_weights(ref, rng)
        # which villages send a file each month (about half), and in which format
        self.send = np.zeros((self.M, self.nv), bool)
        self.xlsx = np.zeros((self.M, self.nv), bool)
        for m in range(self.M):
            s = rng.random(self.nv) < 0.5
            s[rng.integers(0, self.nv)] = True
            self.send[m] = s
            x = s & (rng.random(self.nv) < 0.4)
            if not x.any():
                x[np.flatnonzero(s)[0]] = True
            self.xlsx[m] = x
        F = self.F
        fams0, pers0 = make_families(rng, ref, F, self.vprob)
        nout = max(60, int(round(0.35 * F)))
        fams1, pers1 = make_families(rng, ref, nout, self.vprob, poor=False)
        fam_parts = [fams0.assign(kind=0, added=-1), fams1.assign(kind=1, added=-1)]
        pers_parts = [pers0.assign(kind=0, added=-1), pers1.assign(kind=1, added=-1, fam=pers1.fam + F)]
        nf = F + nout
        # new poor families proposed by villages (TAMBAH MISKIN_BARU)
        for m in range(self.M):
            sv = np.flatnonzero(self.send[m])
            k = max(1, rng.binomial(F, 0.0015))
            vil = rng.choice(sv, k, p=self.vprob[sv] / self.vprob[sv].sum())
            f2, p2 = make_families(rng, ref, k, None, village_idx=vil)
            f2["desil"] = rng.integers(1, 5, k)
            f2["issue"] = self.bounds[m][0] - rng.integers(1, 90, k)
            fam_parts.append(f2.assign(kind=2, added=m))
            pers_parts.append(p2.assign(kind=2, added=m, fam=p2.fam + nf))
            nf += k
        fams = pd.concat(fam_parts, ignore_index=True)
        pers = pd.concat(pers_parts, ignore_index=True)
        # newborns and adults added to existing DTKS families (TAMBAH ANGGOTA_BARU)
        fam_vil = fams.village.to_numpy()
        head_b = pers[pers.hub == 1].groupby("fam").bdate.first().reindex(range(len(fams))).to_numpy()
        nchild = np.bincount(pers.fam[pers.hub == 3], minlength=len(fams))
        add = []
        for m in range(self.M):
            ms, me = self.bounds[m]
            cand = np.flatnonzero((fams.kind.to_numpy() == 0) & self.send[m][fam_vil]
                                  & (head_b > REF_DATE - 55 * 365))
            k = max(1, rng.binomial(len(cand), 0.0035))
            fsel = _choice(rng, cand, k)
            male = rng.random(len(fsel)) < 0.51
            old = head_b[fsel] < REF_DATE - 45 * 365
            add.append(pd.DataFrame({
                "fam": fsel, "hub": np.where(old, 5, 3), "male": male,
                "bdate": rng.integers(ms - 40, me + 1, len(fsel)),
                "order": np.where(old, 0, nchild[fsel]),
                "name": build_names(rng, male, np.where(old, 0, nchild[fsel]), fams.title.to_numpy()[fsel]),
                "elsewhere": False, "job": "BELUM/TIDAK BEKERJA", "kind": 3, "added": m}))
            cand = np.flatnonzero((fams.kind.to_numpy() == 0) & self.send[m][fam_vil])
            k = max(1, rng.binomial(len(cand), 0.0006))
            fsel = _choice(rng, cand, k)
            male = rng.random(len(fsel)) < 0.3
            add.append(pd.DataFrame({
                "fam": fsel, "hub": rng.choice([4, 7, 8], len(fsel), p=[0.5, 0.35, 0.15]), "male": male,
                "bdate": REF_DATE - rng.integers(18 * 365, 60 * 365, len(fsel)),
                "order": rng.integers(0, 4, len(fsel)),
                "name": build_names(rng, male, rng.integers(0, 4, len(fsel)), np.zeros(len(fsel), int)),
                "elsewhere": rng.random(len(fsel)) < 0.25,
                "job": rng.choice(JOBS_HEAD, len(fsel)), "kind": 4, "added": m}))
        pers = pd.concat([pers] + add, ignore_index=True)
        assign_ids(rng, ref, fams, pers)
        self.fams, self.pers = fams, pers
        P = len(pers)
        self.P = P
        self.pk = pers.kind.to_numpy()
        self.padded = pers.added.to_numpy()
        self.pfam = pers.fam.to_numpy()
        self.fk = fams.kind.to_numpy()
        self.fvil = fams.village.to_numpy()
        self.pvil0 = self.fvil[self.pfam]
        self.nik = pers.nik.to_numpy().astype(object)
        self.nokk = fams.nokk.to_numpy().astype(object)[self.pfam]
        self.name = pers.name.to_numpy().astype(object)
        self.bdate = pers.bdate.to_numpy().astype(np.int64)
        self.male = pers.male.to_numpy()
        self.hub = pers.hub.to_numpy()
        self.reg_from = np.where(self.pk == 0, 0, np.where(self.pk >= 2, self.padded, BIG))
        reg = self.pk != 1
        self.tpid = np.full(P, "", dtype=object)
        self.tpid[reg] = np.char.add("T", np.char.zfill(np.arange(1, reg.sum() + 1).astype(str), 7)).astype(object)
        self.all_niks = set(self.nik.tolist())
        self.age0 = (REF_DATE - self.bdate) / 365.25
        self.vcode = V.kode.to_numpy().astype(object)
        self.vdot = V.dotted.to_numpy().astype(object)
        self.vname = V.nama.str.upper().to_numpy().astype(object)
        self.vkec = V.kec_nama.str.upper().to_numpy().astype(object)
        self.vkel = V.kelurahan.to_numpy()
        self.variants = {}
        keys = [D.region_key(n) for n in V.nama]
        for n, kel, key in zip(V.nama, V.kelurahan, keys):
            if keys.count(key) == 1:
                self.variants[n.upper()] = D.region_variants(n, bool(kel))
        # outsider adults, in a fixed random order, consumed without replacement for events
        out_ad = np.flatnonzero((self.pk == 1) & (self.age0 >= 18))
        self.out_pool = list(rng.permutation(out_ad))
        self.out_adults = out_ad
        self.say(f"population: {int((self.pk == 0).sum()):,} DTKS persons in {F:,} families, "
                 f"{int((self.pk == 1).sum()):,} residents outside DTKS")

    def take_outsiders(self, k: int) -> np.ndarray:
        if k > len(self.out_pool):  # tiny samples: recycle
            self.out_pool += list(self.rng.permutation(self.out_adults))
        got, self.out_pool = self.out_pool[:k], self.out_pool[k:]
        return np.array(got, dtype=np.int64)

    def fresh_nik(self, nik: str, swap: bool = False) -> str | None:
        rng = self.rng
        for _ in range(20):
            s = D.swap_adjacent(nik, rng.random()) if swap else D.mistype_serial(nik, rng.random(), rng.random())
            if s is None:
                return None
            if s not in self.all_niks:
                self.all_niks.add(s)
                return s
            swap = False
        return None

    # ------------------------------------------------------------------ DTKS quirks
    def build_dtks_quirks(self):
        rng, P = self.rng, self.P
        base = np.flatnonzero(self.pk == 0)
        # persistent errors in DTKS, corrected by a village PERBAIKI in some month
        self.dtks_name = self.name.copy()
        self.dtks_bdate = self.bdate.copy()
        self.perbaiki = []  # (month, person, field)
        self.pb_person = np.zeros(P, bool)
        self.persist = np.full(P, "", dtype=object)
        for m in range(self.M):
            cand = base[self.send[m][self.pvil0[base]] & ~self.pb_person[base]]
            k = max(1, rng.binomial(len(cand), 0.0004))
            for p in _choice(rng, cand, k):
                self.pb_person[p] = True
                if rng.random() < 0.6:
                    w = self.name[p].split()
                    w[-1] = _typo(w[-1], rng.random())
                    self.dtks_name[p] = " ".join(w)
                    self.persist[p] = "NAMA_SALAH_EJA"
                    self.perbaiki.append((m, p, "NAMA"))
                else:
                    self.dtks_bdate[p] = self.bdate[p] - (int(rng.integers(1, 28)) if rng.random() < 0.5
                                                         else 365 * int(rng.integers(1, 4)))
                    self.persist[p] = "FLAG_NIK_TIDAK_SESUAI"
                    self.perbaiki.append((m, p, "TGL_LHR"))
        # DTKS household/member ids
        fam0 = np.flatnonzero(self.fk == 0)
        order = np.lexsort((rng.random(len(fam0)), self.fvil[fam0]))
        self.id_dtks = np.full(len(self.fk), "", dtype=object)
        self.id_dtks[fam0[order]] = (31_000_000_000 + np.arange(len(fam0)) * 7 + rng.integers(0, 7, len(fam0))).astype(str)
        self.id_art = np.full(P, "", dtype=object)
        memb = np.flatnonzero((self.pk == 0) | (self.pk == 3))
        self.id_art[memb] = (710_000_000_000 + rng.permutation(len(memb)) * 3).astype(str)
        self.extra_hh = 0
        # data ganda: ~2% of DTKS persons appear twice
        cand = base[~self.pb_person[base]]
        dup = np.sort(_choice(rng, cand, int(round(0.02 * len(base)))))
        kinds = rng.choice(["GANDA_IDENTIK", "GANDA_NAMA_VARIAN", "GANDA_NIK_SALAH_KETIK", "GANDA_NIK_TUKAR"],
                           len(dup), p=[0.15, 0.35, 0.3, 0.2])
        rows = []
        for p, kd in zip(dup, kinds):
            nik, nm = self.nik[p], self.name[p]
            if kd == "GANDA_NAMA_VARIAN":
                nm = name_variant(nm, rng.random(), rng.random())[0]
            elif kd == "GANDA_NIK_TUKAR":
                nik = self.fresh_nik(nik, swap=True) or ""
                if not nik:
                    kd, nik = "GANDA_NIK_SALAH_KETIK", self.fresh_nik(self.nik[p]) or ""
            if kd == "GANDA_NIK_SALAH_KETIK":
                nik = self.fresh_nik(self.nik[p]) or ""
            if not nik:
                continue
            if rng.random() < 0.3:
                self.extra_hh += 1
                hh = str(39_000_000_000 + self.extra_hh * 11)
            else:
                hh = self.id_dtks[self.pfam[p]]
            rows.append((p, kd, nik, nm, hh, str(760_000_000_000 + len(rows) * 13)))
        self.dups = pd.DataFrame(rows, columns=["p", "kind", "nik", "name", "id_dtks", "id_art"])
        self.say(f"DTKS quirks: {len(self.dups):,} duplicate rows, {len(self.perbaiki)} persistent errors")

    # ------------------------------------------------------------------ events
    def build_events(self):
        rng, P, M = self.rng, self.P, self.M
        self.status = np.zeros((M, P), np.int8)
        self.vil = np.zeros((M, P), np.int16)
        cur = np.zeros(P, np.int8)
        cvil = self.pvil0.astype(np.int16).copy()
        self.dtks_sta_from = np.full(P, BIG)
        self.status_month = np.full(P, BIG)
        self.death_ev, self.out_ev, self.within_ev = [], [], []
        self.fam_desa = np.full(len(self.fk), BIG)
        self.fam_td = np.full(len(self.fk), BIG)
        self.fam_ev = []
        pool = (self.pk == 0) & ~self.pb_person
        for m in range(M):
            ms, me = self.bounds[m]
            act = pool & (cur == 0)
            ia = np.flatnonzero(act)
            n = len(ia)
            dead = _choice(rng, ia, rng.binomial(n, 0.0025))
            act[dead] = False
            ko = rng.binomial(n, 0.0015)
            ind = _choice(rng, np.flatnonzero(act), int(round(0.7 * ko)))
            act[ind] = False
            fsel = np.unique(self.pfam[_choice(rng, np.flatnonzero(act), int(round(0.3 * ko / 3)))])
            whole = np.flatnonzero(act & np.isin(self.pfam, fsel))
            out = np.concatenate([ind, whole])
            act[out] = False
            win = _choice(rng, np.flatnonzero(act), rng.binomial(n, 0.0015))
            newv = rng.choice(self.nv, len(win), p=self.vprob)
            same = newv == cvil[win]
            newv[same] = (newv[same] + 1) % self.nv
            for arr, code, store in ((dead, 1, self.death_ev), (out, 2, self.out_ev)):
                r = rng.random(len(arr))
                dtks_only = r < 0.04
                duk = ~dtks_only & (rng.random(len(arr)) < 0.85)
                vill = ~dtks_only & self.send[m][cvil[arr]] & (rng.random(len(arr)) < 0.35)
                duk |= ~dtks_only & ~vill
                lag = m + rng.geometric(0.35, len(arr))
                self.dtks_sta_from[arr] = np.where(dtks_only, m, lag)
                self.status_month[arr] = m
                cur[arr] = code
                date = rng.integers(ms, me + 1, len(arr))
                late = rng.random(len(arr)) < 0.2
                date[late] = ms - rng.integers(1, 60, late.sum())
                store.append(pd.DataFrame({"p": arr, "duk": duk, "vill": vill, "date": date,
                                           "vil": cvil[arr].copy()}))
            self.within_ev.append(pd.DataFrame({"p": win, "from": cvil[win].copy(), "to": newv,
                                                "date": rng.integers(ms, me + 1, len(win))}))
            cvil[win] = newv
            # family-level village decisions
            fam_act = np.zeros(len(self.fk), bool)
            fam_act[self.pfam[(cur == 0) & (self.pk == 0)]] = True
            fc = np.flatnonzero(fam_act & (self.fk == 0) & self.send[m][self.fvil] & (self.fam_desa == BIG)
                                & (self.fam_td == BIG))
            mampu = _choice(rng, fc, max(1, rng.binomial(len(fc), 0.003)))
            rest = np.setdiff1d(fc, mampu)
            td = _choice(rng, rest, max(1, rng.binomial(len(fc), 0.0014)))
            self.fam_desa[mampu] = m
            self.fam_td[td] = m
            self.fam_ev.append((mampu, td))
            self.status[m] = cur
            self.vil[m] = cvil
        self.say("events: " + ", ".join(
            f"{mo}: {len(d)} deaths, {len(o)} moves out, {len(w)} moves within"
            for mo, d, o, w in zip(self.months, self.death_ev, self.out_ev, self.within_ev)))

    # ------------------------------------------------------------------ vehicles
    def build_vehicles(self):
        rng, F = self.rng, self.F
        rows = []  # owner, jenis, warna, status, tahun, from
        fam0 = np.flatnonzero(self.fk == 0)
        adult = np.flatnonzero((self.pk == 0) & (self.age0 >= 18))
        adult = adult[np.argsort(self.pfam[adult], kind="stable")]
        af = self.pfam[adult]
        nf = len(self.fk)
        a_start = np.searchsorted(af, np.arange(nf))
        a_cnt = np.bincount(af, minlength=nf)
        head_of = np.full(nf, -1)
        h = np.flatnonzero((self.pk == 0) & (self.hub == 1))
        head_of[self.pfam[h]] = h

        def owner(fsel, head_share):
            fsel = np.asarray(fsel)
            fsel = fsel[a_cnt[fsel] > 0]
            pick = adult[a_start[fsel] + (rng.random(len(fsel)) * a_cnt[fsel]).astype(int)]
            use_head = (rng.random(len(fsel)) < head_share) & (head_of[fsel] >= 0)
            return np.where(use_head, head_of[fsel], pick).astype(np.int64)

        def add(own, jenis, warna, status, tahun, frm):
            k = len(own)
            rows.append(pd.DataFrame({"owner": own, "jenis": jenis, "warna": warna, "status": status,
                                      "tahun": tahun, "from": frm}).iloc[:k])

        k = len(fam0)
        moto = owner(_choice(rng, fam0, int(0.45 * k)), 0.8)
        add(moto, "SEPEDA MOTOR", "HITAM", np.where(rng.random(len(moto)) < 0.04, "BLOKIR", "AKTIF"),
            rng.integers(2005, 2023, len(moto)), 0)
        cars = owner(_choice(rng, fam0, int(0.03 * k)), 0.7)
        add(cars, rng.choice(CAR_TYPES, len(cars), p=CAR_P), np.where(rng.random(len(cars)) < 0.9, "HITAM", "PUTIH"),
            "AKTIF", rng.integers(1998, 2023, len(cars)), 0)
        for m in range(1, self.M):
            nc = owner(_choice(rng, fam0, max(1, int(0.0015 * k))), 0.7)
            add(nc, rng.choice(CAR_TYPES, len(nc), p=CAR_P), "HITAM", "AKTIF", rng.integers(2015, 2023, len(nc)), m)
        bl = owner(_choice(rng, fam0, max(1, int(0.005 * k))), 0.7)
        add(bl, rng.choice(CAR_TYPES, len(bl), p=CAR_P), "HITAM", "BLOKIR", rng.integers(1990, 2012, len(bl)), 0)
        pu = owner(_choice(rng, fam0, max(1, int(0.02 * k))), 0.9)
        add(pu, np.where(rng.random(len(pu)) < 0.75, "PICK UP", "TRUK"), np.where(rng.random(len(pu)) < 0.7, "HITAM", "KUNING"),
            "AKTIF", rng.integers(1995, 2023, len(pu)), 0)
        red = owner(_choice(rng, fam0, max(1, int(0.002 * k))), 0.9)
        add(red, rng.choice(["MINIBUS", "SEDAN", "PICK UP"], len(red)), "MERAH", "AKTIF", rng.integers(2005, 2022, len(red)), 0)
        # vehicles of residents outside DTKS (owners may hold several)
        no = int(0.7 * F) + 5
        own = rng.choice(self.out_adults, no)
        r = rng.random(no)
        jen = np.where(r < 0.55, "SEPEDA MOTOR", np.where(r < 0.90, rng.choice(CAR_TYPES, no, p=CAR_P),
                       np.where(r < 0.95, "PICK UP", np.where(r < 0.98, "TRUK", "BUS"))))
        war = np.where(rng.random(no) < 0.9, "HITAM", "PUTIH")
        war = np.where(rng.random(no) < 0.04, "MERAH", war)
        war = np.where((jen == "BUS") | (rng.random(no) < 0.02), "KUNING", war)
        add(own, jen, war, np.where(rng.random(no) < 0.03, "BLOKIR", "AKTIF"), rng.integers(1995, 2023, no), 0)
        self.veh = pd.concat(rows, ignore_index=True)
        self.veh_angkot_start = len(self.veh)

    def add_angkots(self, owners):
        rng = self.rng
        k = len(owners)
        df = pd.DataFrame({"owner": owners, "jenis": "MINIBUS", "warna": "KUNING",
                           "status": "AKTIF", "tahun": rng.integers(2000, 2020, k), "from": 0})
        start = len(self.veh)
        self.veh = pd.concat([self.veh, df], ignore_index=True)
        return np.arange(start, start + k)

    def finish_vehicles(self):
        rng = self.rng
        v = self.veh
        n = len(v)
        # unique plates DK nnnn XX
        letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), dtype=object)
        code = rng.permutation(9999 * 26 * 26)[:n]
        num = code // 676 + 1
        l1, l2 = (code % 676) // 26, code % 26
        v["plate"] = "DK " + num.astype(str).astype(object) + " " + letters[l1] + letters[l2]
        v["vid"] = np.arange(n)
        own = v.owner.to_numpy()
        reg = self.pk[own] == 0
        v["reg"] = reg
        v["private"] = v.jenis.isin(CAR_TYPES) & v.warna.isin(["HITAM", "PUTIH"]) & (v.status == "AKTIF")
        nik = self.nik[own].copy()
        nm = self.name[own].copy()
        dmg = np.full(n, "", dtype=object)
        r = rng.random(n)
        for i in np.flatnonzero(reg & (r < 0.01)):
            s = self.fresh_nik(nik[i])
            if s:
                nik[i], dmg[i] = s, "LINK_NIK_SALAH_KETIK"
        for i in np.flatnonzero(reg & (r >= 0.01) & (r < 0.04)):
            nm[i] = name_variant(nm[i], rng.random(), rng.random())[0].upper()
            dmg[i] = "LINK_NAMA_VARIAN"
        v["nik"], v["nama"], v["dmg"] = nik, nm, dmg
        fam = self.pfam[own]
        vi = self.pvil0[own]
        kelpre = np.where(self.vkel[vi], "KEL. ", "DESA ")
        street = np.where(rng.random(n) < 0.4, self.fams.alamat.to_numpy()[fam] + ", ", "")
        v["alamat"] = (street + self.fams.banjar.to_numpy()[fam] + ", " + kelpre + self.vname[vi]
                       + ", KEC. " + self.vkec[vi])
        self.veh = v.sort_values("plate", kind="stable").reset_index(drop=True)
        self.plate_by_vid = pd.Series(v.plate.to_numpy(), index=v.vid.to_numpy())

    # ------------------------------------------------------------------ sector lists
    def build_sectors(self):
        rng, s = self.rng, self.scale
        used = np.zeros(len(self.fk), bool)
        adult = (self.pk == 0) & (self.age0 >= 20) & (self.age0 <= 62)
        self.sector = {}
        specs = [("angkutan", 220, 0.96, "SOPIR", None), ("nelayan", 950, 0.93, "NELAYAN", COASTAL_KEC),
                 ("umkm", 2000, 0.5, "PEDAGANG", None)]
        self.dtks_job = self.pers.job.to_numpy().astype(object).copy()
        for src, base_n, male_share, job, kecw in specs:
            n = max(4, int(round(base_n * s)))
            n_reg = int(round(0.75 * n))
            cand = adult & ~used[self.pfam]
            w = np.where(self.male, male_share, 1 - male_share) * np.where(self.hub == 1, 3.0, 1.0)
            if kecw:
                kec = self.ref.villages.kec.to_numpy()[self.pvil0]
                w = w * np.vectorize(kecw.get)(kec)
            idx = np.flatnonzero(cand)
            pw = w[idx] / w[idx].sum()
            reg = rng.choice(idx, min(n_reg, len(idx)), replace=False, p=pw)
            # one family member may already be on an earlier list (a fisher's wife selling canang)
            if src == "umkm":
                prev = np.concatenate([self.sector["nelayan"].p[self.sector["nelayan"].reg].to_numpy(),
                                       self.sector["angkutan"].p[self.sector["angkutan"].reg].to_numpy()])
                fams_prev = np.unique(self.pfam[prev])
                spouse = np.flatnonzero(np.isin(self.pfam, fams_prev) & (self.hub == 2) & (self.pk == 0))
                extra = _choice(rng, spouse, int(0.03 * len(reg)))
                reg = np.concatenate([reg[: len(reg) - len(extra)], extra])
            used[self.pfam[reg]] = True
            self.dtks_job[reg] = job if src != "umkm" else np.where(rng.random(len(reg)) < 0.5, "PEDAGANG", "WIRASWASTA")
            outs = self.take_outsiders(n - len(reg))
            ppl = np.concatenate([reg, outs])
            k = len(ppl)
            frm = np.zeros(k, int)
            to = np.full(k, BIG)
            for m in range(1, self.M):  # churn: ~2% leave, ~2% join each month
                to[_choice(rng, np.flatnonzero(to == BIG), int(round(0.02 * k)))] = m - 1
                frm[_choice(rng, np.flatnonzero((frm == 0) & (to == BIG)), int(round(0.02 * k)))] = m
            nik = self.nik[ppl].copy()
            nm = self.name[ppl].copy()
            dmg = np.full(k, "", dtype=object)
            isreg = self.pk[ppl] == 0
            r = rng.random(k)
            for i in np.flatnonzero(isreg & (r < 0.01)):
                x = self.fresh_nik(nik[i])
                if x:
                    nik[i], dmg[i] = x, "LINK_NIK_SALAH_KETIK"
            for i in np.flatnonzero(isreg & (r >= 0.01) & (r < 0.04)):
                nm[i] = name_variant(nm[i], rng.random(), rng.random())[0].upper()
                dmg[i] = "LINK_NAMA_VARIAN"
            df = pd.DataFrame({"p": ppl, "reg": isreg, "from": frm, "to": to, "nik": nik, "nama": nm, "dmg": dmg})
            vi = self.pvil0[ppl]
            if src == "angkutan":
                df["sim"] = (100_000_000_000 + rng.permutation(10 ** 6)[:k] * 97_331).astype(str)
                df["trayek"] = rng.choice(TRAYEK, k)
                own_self = rng.random(k) < 0.6
                owners = np.where(own_self, ppl, rng.choice(self.out_adults, k))
                df["veh"] = self.add_angkots(owners)
            elif src == "nelayan":
                df["kusuka"] = ("KUS-" + self.vcode[vi].astype(str) + "-"
                                + np.char.zfill((rng.permutation(10 ** 5)[:k]).astype(str), 6)).astype(object)
                df["kode"] = self.vcode[vi]
                df["jenis"] = rng.choice(["NELAYAN TANGKAP", "PEMBUDIDAYA", "PENGOLAH", "PEMASAR"], k,
                                         p=[0.7, 0.12, 0.1, 0.08])
            else:
                u = rng.integers(0, len(USAHA), k)
                given = np.array([x.split()[-1] for x in self.name[ppl]], dtype=object)
                df["usaha"] = np.array([USAHA[i][0] for i in u], dtype=object) + " " + given
                df["jenis"] = np.array([USAHA[i][1] for i in u], dtype=object)
                df["nib"] = (9_120_000_000_000 + rng.permutation(10 ** 7)[:k] * 131).astype(str)
                df["kode"] = self.vcode[vi]
            self.sector[src] = df

    # ------------------------------------------------------------------ file builders
    def _rows_truth(self, period, source, path, t, rm):
        safe = np.maximum(rm, 0)
        blank = rm < 0
        dmg = np.where(blank, "", t.damage[safe]) if len(t) else np.full(len(rm), "", dtype=object)
        pid = np.where(blank, "", t.pid[safe]) if len(t) else np.full(len(rm), "", dtype=object)
        exp = np.full(len(rm), "STAGED", dtype=object)
        reason = np.full(len(rm), "", dtype=object)
        for kind, (_, code) in D.UNREPAIRABLE.items():
            hit = dmg == kind
            exp[hit] = "REJECTED"
            reason[hit] = code
        exp[blank] = "BLANK"
        self.rows_truth.append(pd.DataFrame({
            "period": period, "source": source, "source_file": path, "source_row": np.arange(1, len(rm) + 1),
            "true_person_id": pid, "expected": exp, "reason_code": reason, "damage": dmg}))

    def _agency_blanks(self, n):
        rng = self.rng
        if n < 3 or rng.random() > 0.3:
            return []
        return sorted(rng.choice(np.arange(1, n), min(n - 1, int(rng.integers(1, 3))), replace=False).tolist())

    def _write_agency(self, m, t, sep=";", forced=None, blanks=None):
        period = self.months[m]
        D.apply_damage(self.rng, t, self.ctx, forced=forced)
        enc = "utf-8-sig" if self.rng.random() < 0.3 else "utf-8"
        bl = self._agency_blanks(len(t)) if blanks is None else blanks
        rm = write_csv(t, self.out / period / t.path, sep=sep, encoding=enc, blanks=bl)
        self._rows_truth(period, t.source, t.path, t, rm)
        self.summary.setdefault(period, {})[t.path] = len(rm)
        self.say(f"{period}: {t.path} {len(rm):,} rows")

    def _dates_col(self, t, col, days):
        t.dates[col] = np.asarray(days, dtype=np.int64)
        t.text_date[col] = np.zeros(len(t), bool)
        t.data[col] = D.fmt_dates(t.dates[col], t.date_fmt)

    def write_dtks(self, m):
        P = self.P
        base = np.flatnonzero((self.pk == 0) | ((self.pk == 3) & (self.padded < m) & self.dtks_newborn))
        d = self.dups
        p = np.concatenate([base, d.p.to_numpy()])
        isdup = np.r_[np.zeros(len(base), bool), np.ones(len(d), bool)]
        nik = np.concatenate([self.nik[base], d.nik.to_numpy()])
        nm = np.concatenate([self.dtks_name[base], d.name.to_numpy()])
        hh = np.concatenate([self.id_dtks[self.pfam[base]], d.id_dtks.to_numpy()])
        art = np.concatenate([self.id_art[base], d.id_art.to_numpy()])
        order = np.lexsort((art, hh))
        p, isdup, nik, nm, hh, art = p[order], isdup[order], nik[order], nm[order], hh[order], art[order]
        n = len(p)
        f = self.pfam[p]
        vi = self.pvil0[p]
        sta = np.where(self.dtks_sta_from[p] <= m, np.where(self.status[self.M - 1][p] == 2, "3", "2"), "1")
        sta = np.where(self.pk[p] == 3, "4", sta)
        desil = self.fams.desil.to_numpy()[f]
        # mother's name for some children
        mothers = pd.Series(self.name[(self.pk == 0) & ~self.male & (self.hub <= 2)],
                            index=self.pfam[(self.pk == 0) & ~self.male & (self.hub <= 2)])
        mothers = mothers[~mothers.index.duplicated()]
        ibu = pd.Series(f).map(mothers).fillna("").to_numpy().astype(object)
        ibu = np.where(np.isin(self.hub[p], [3]) & (self.rng.random(n) < 0.45), ibu, "")
        t = D.Table("dtks", "dtks.csv",
                    ["ID_DTKS", "ID_ART", "NOKK", "NIK", "NAMA", "JNS_KEL", "TMPT_LHR", "TGL_LHR", "HUB_KEL",
                     "NAMA_IBU", "PROVINSI", "KABUPATEN", "KECAMATAN", "DESA", "BANJAR", "ALAMAT", "PEKERJAAN",
                     "DESIL", "STA_KEBERADAAN"],
                    {"ID_DTKS": hh, "ID_ART": art, "NOKK": self.nokk[p].copy(), "NIK": nik, "NAMA": nm,
                     "JNS_KEL": np.where(self.male[p], "1", "2").astype(object),
                     "TMPT_LHR": self.pers.tmpt.to_numpy()[p], "HUB_KEL": self.hub[p].astype(str).astype(object),
                     "NAMA_IBU": ibu, "PROVINSI": np.full(n, "BALI", dtype=object),
                     "KABUPATEN": np.full(n, "BULELENG", dtype=object), "KECAMATAN": self.vkec[vi].copy(),
                     "DESA": self.vname[vi].copy(), "BANJAR": self.fams.banjar.to_numpy()[f],
                     "ALAMAT": self.fams.alamat.to_numpy()[f], "PEKERJAAN": self.dtks_job[p],
                     "DESIL": np.where(desil == 0, "", desil.astype(str)).astype(object),
                     "STA_KEBERADAAN": sta.astype(object)},
                    self.tpid[p], protect=(sta != "1"), date_fmt="DMY-")
        self._dates_col(t, "TGL_LHR", self.dtks_bdate[p])
        t.damage[:] = np.where(isdup, "", self.persist[p])
        dk = d.kind.to_numpy()[order[isdup] - len(base)] if isdup.any() else []
        t.damage[isdup] = dk
        forced = {k: 1 for k in D.REPAIRABLE} | {k: 1 for k in D.UNREPAIRABLE}
        self._write_agency(m, t, forced=forced, blanks=[])

    def write_kematian(self, m):
        rng = self.rng
        ev = self.death_ev[m]
        ev = ev[ev.duk]
        reg = ev.p.to_numpy()
        k_out = int(round(1.4 * len(reg))) + int(rng.integers(1, 4))
        outs = self.take_outsiders(k_out)
        ms, me = self.bounds[m]
        p = np.concatenate([reg, outs])
        date = np.concatenate([ev.date.to_numpy(), rng.integers(ms - 30, me + 1, len(outs))])
        vi = np.concatenate([ev.vil.to_numpy(), self.pvil0[outs]])
        o = np.lexsort((rng.random(len(p)), date))
        p, date, vi = p[o], date[o], vi[o]
        n = len(p)
        dstr = pd.Series(D.fmt_dates(date, "YMD")).str.replace("-", "").to_numpy()
        akta = ("5108-KM-" + dstr.astype(str).astype(object) + "-" +
                np.char.zfill(np.arange(1, n + 1).astype(str), 4).astype(object))
        t = D.Table("dukcapil_kematian", "dukcapil_kematian.csv",
                    ["NIK", "NAMA", "JNS_KEL", "TGL_LHR", "TGL_MENINGGAL", "NO_AKTA", "KODE_DESA"],
                    {"NIK": self.nik[p].copy(), "NAMA": self.name[p].copy(),
                     "JNS_KEL": np.where(self.male[p], "LAKI-LAKI", "PEREMPUAN").astype(object),
                     "NO_AKTA": akta, "KODE_DESA": self.vdot[vi].copy()},
                    np.where(self.pk[p] == 1, "", self.tpid[p]), protect=self.pk[p] != 1, date_fmt="DMY/")
        self._dates_col(t, "TGL_LHR", self.bdate[p])
        self._dates_col(t, "TGL_MENINGGAL", date)
        self._write_agency(m, t)

    def write_pindah(self, m):
        rng = self.rng
        ev = self.out_ev[m]
        ev = ev[ev.duk]
        w = self.within_ev[m]
        ms, me = self.bounds[m]
        pr = np.concatenate([ev.p.to_numpy(), w.p.to_numpy()])
        frm = np.concatenate([ev.vil.to_numpy(), w["from"].to_numpy()])
        dest = np.concatenate([rng.choice(OUT_DEST, len(ev), p=OUT_DEST_P / OUT_DEST_P.sum()).astype(object),
                               self.vdot[w.to.to_numpy()]])
        date = np.concatenate([np.clip(ev.date.to_numpy(), ms, me), w.date.to_numpy()])
        k = len(pr) + int(rng.integers(1, 4))
        outs = self.take_outsiders(k)
        odest = np.where(rng.random(k) < 0.6, rng.choice(OUT_DEST, k, p=OUT_DEST_P / OUT_DEST_P.sum()),
                         self.vdot[rng.choice(self.nv, k, p=self.vprob)]).astype(object)
        p = np.concatenate([pr, outs])
        frm = np.concatenate([frm, self.pvil0[outs]])
        dest = np.concatenate([dest, odest])
        date = np.concatenate([date, rng.integers(ms, me + 1, k)])
        o = np.lexsort((rng.random(len(p)), date))
        p, frm, dest, date = p[o], frm[o], dest[o], date[o]
        t = D.Table("dukcapil_pindah", "dukcapil_pindah.csv",
                    ["NIK", "NOKK", "NAMA", "TGL_PINDAH", "KODE_DESA_ASAL", "KODE_WILAYAH_TUJUAN"],
                    {"NIK": self.nik[p].copy(), "NOKK": self.nokk[p].copy(), "NAMA": self.name[p].copy(),
                     "KODE_DESA_ASAL": self.vdot[frm].copy(), "KODE_WILAYAH_TUJUAN": dest},
                    np.where(self.pk[p] == 1, "", self.tpid[p]), protect=self.pk[p] != 1, date_fmt="YMD")
        self._dates_col(t, "TGL_PINDAH", date)
        self._write_agency(m, t)

    def write_samsat(self, m):
        v = self.veh[self.veh["from"] <= m]
        n = len(v)
        own = v.owner.to_numpy()
        t = D.Table("samsat_kendaraan", "samsat_kendaraan.csv",
                    ["NO_POLISI", "NIK_PEMILIK", "NAMA_PEMILIK", "ALAMAT_PEMILIK", "JENIS_KENDARAAN",
                     "WARNA_TNKB", "TAHUN_BUAT", "STATUS"],
                    {"NO_POLISI": v.plate.to_numpy().astype(object), "NIK_PEMILIK": v.nik.to_numpy().copy(),
                     "NAMA_PEMILIK": v.nama.to_numpy().copy(), "ALAMAT_PEMILIK": v.alamat.to_numpy().astype(object),
                     "JENIS_KENDARAAN": v.jenis.to_numpy().astype(object), "WARNA_TNKB": v.warna.to_numpy().astype(object),
                     "TAHUN_BUAT": v.tahun.astype(str).to_numpy().astype(object),
                     "STATUS": v.status.to_numpy().astype(object)},
                    np.where(self.pk[own] == 1, "", self.tpid[own]),
                    protect=(v.reg & v.private).to_numpy())
        t.damage[:] = v.dmg.to_numpy()
        self._write_agency(m, t, forced={"NIK_SAINTIFIK": 1, "NIK_APOSTROF": 1})

    def write_sector(self, m, src):
        e = self.sector[src]
        e = e[(e["from"] <= m) & (e["to"] >= m)]
        p = e.p.to_numpy()
        fmt = {"angkutan": "DMY/", "nelayan": "DMY-", "umkm": "YMD"}[src]
        if src == "angkutan":
            cols = ["NIK", "NAMA", "TGL_LHR", "NO_SIM", "TRAYEK", "NO_POLISI"]
            data = {"NO_SIM": e.sim.to_numpy().astype(object), "TRAYEK": e.trayek.to_numpy().astype(object),
                    "NO_POLISI": self.plate_by_vid.reindex(e.veh.to_numpy()).to_numpy().astype(object)}
        elif src == "nelayan":
            cols = ["NO_KUSUKA", "NIK", "NAMA", "TGL_LHR", "KODE_DESA", "JENIS_NELAYAN"]
            data = {"NO_KUSUKA": e.kusuka.to_numpy().astype(object), "KODE_DESA": e.kode.to_numpy().astype(object),
                    "JENIS_NELAYAN": e.jenis.to_numpy().astype(object)}
        else:
            cols = ["NIK", "NAMA", "TGL_LHR", "NAMA_USAHA", "NIB", "JENIS_USAHA", "KODE_DESA"]
            data = {"NAMA_USAHA": e.usaha.to_numpy().astype(object), "NIB": e.nib.to_numpy().astype(object),
                    "JENIS_USAHA": e.jenis.to_numpy().astype(object), "KODE_DESA": e.kode.to_numpy().astype(object)}
        data |= {"NIK": e.nik.to_numpy().copy(), "NAMA": e.nama.to_numpy().copy()}
        t = D.Table(src, f"{src}.csv", cols, data, np.where(self.pk[p] == 1, "", self.tpid[p]),
                    protect=np.zeros(len(p), bool), date_fmt=fmt)
        self._dates_col(t, "TGL_LHR", self.bdate[p])
        t.damage[:] = e.dmg.to_numpy()
        self._write_agency(m, t)

    # ------------------------------------------------------------------ village files
    def village_rows(self, m):
        """Every village row of month m: dict lists per village."""
        rng = self.rng
        ms, me = self.bounds[m]
        rows: dict[int, list] = {}
        fam_alamat = self.fams.alamat.to_numpy()

        def person_row(p, usulan, alasan, v, desil="", pid=None, protect=True, preset="", noflag=False,
                       nama=None, nik=None):
            return {"v": v, "p": p, "NIK": nik or self.nik[p], "NOKK": self.nokk[p], "NAMA": nama or self.name[p],
                    "JNS_KEL": "L" if self.male[p] else "P", "bday": int(self.bdate[p]),
                    "HUB_KEL": str(self.hub[p]), "ALAMAT": fam_alamat[self.pfam[p]], "USULAN": usulan,
                    "ALASAN": alasan, "DESIL_USULAN": desil, "pid": self.tpid[p] if pid is None else pid,
                    "protect": protect, "preset": preset, "noflag": noflag}

        def put(r):
            rows.setdefault(int(r["v"]), []).append(r)

        # TAMBAH: new families, newborns, adults
        for kind, alasan in ((2, "MISKIN_BARU"), (3, "ANGGOTA_BARU"), (4, "ANGGOTA_BARU")):
            for p in np.flatnonzero((self.pk == kind) & (self.padded == m)):
                des = str(self.fams.desil.to_numpy()[self.pfam[p]]) if kind == 2 else ""
                put(person_row(p, "TAMBAH", alasan, self.pvil0[p], desil=des, noflag=True))
        # TAMBAH of a person already in DTKS (links to the existing person)
        base = np.flatnonzero((self.pk == 0) & (self.status[m] == 0) & self.send[m][self.vil[m]])
        for p in _choice(rng, base, max(1, rng.binomial(len(base), 0.0002))):
            nm = name_variant(self.name[p], rng.random(), rng.random())[0].upper() if rng.random() < 0.3 else None
            put(person_row(p, "TAMBAH", "ANGGOTA_BARU", self.vil[m][p], nama=nm))
        # HAPUS MENINGGAL / PINDAH
        for ev, alasan in ((self.death_ev[m], "MENINGGAL"), (self.out_ev[m], "PINDAH")):
            for p, v in zip(ev.p[ev.vill], ev.vil[ev.vill]):
                put(person_row(p, "HAPUS", alasan, v))
        # HAPUS MAMPU / TIDAK_DITEMUKAN (one row: the head, or the first active member)
        mampu, td = self.fam_ev[m]
        act = (self.status[m] == 0) & (self.pk == 0)
        for fams, alasan in ((mampu, "MAMPU"), (td, "TIDAK_DITEMUKAN")):
            mem = pd.DataFrame({"p": np.flatnonzero(act & np.isin(self.pfam, fams))})
            mem["f"], mem["h"] = self.pfam[mem.p], self.hub[mem.p]
            first = mem.sort_values(["f", "h", "p"]).groupby("f").p.first()
            for f, p in first.items():
                put(person_row(p, "HAPUS", alasan, self.fvil[f]))
        # HAPUS DATA_GANDA: the village points at the duplicate record
        d = self.dups
        dv = self.vil[m][d.p.to_numpy()]
        cand = np.flatnonzero(self.send[m][dv] & (self.status[m][d.p.to_numpy()] == 0))
        for i in _choice(rng, cand, max(1, rng.binomial(len(cand), 0.03))):
            p = int(d.p.iloc[i])
            put(person_row(p, "HAPUS", "DATA_GANDA", dv[i], nik=d.nik.iloc[i], nama=d.name.iloc[i],
                           preset="FLAG_DATA_GANDA"))
        # PERBAIKI: the correct value of a field that is wrong in DTKS
        for mm, p, fld in self.perbaiki:
            if mm == m:
                r = person_row(p, "PERBAIKI", "", self.vil[m][p], noflag=True)
                if rng.random() < 0.5:
                    r["HUB_KEL"] = ""
                    r["ALAMAT"] = ""
                put(r)
        # void rows: rejected proposals that change nothing (one unrepairable damage each)
        n_rows = sum(len(x) for x in rows.values())
        kinds = []
        for kind in ("DESA_LAIN", "TANPA_BA", "USULAN_GANTI", "SEL_FORMULA"):
            kinds += [kind] * max(1, rng.binomial(n_rows, 0.006))
        for kind, (rate, _) in D.UNREPAIRABLE.items():
            if kind in ("WILAYAH_TIDAK_ADA",) or rate == 0:
                continue
            kinds += [kind] * rng.binomial(n_rows, rate * 3)
        sv = np.flatnonzero(self.send[m])
        xv = np.flatnonzero(self.xlsx[m])
        for kind in kinds:
            v = int(rng.choice(xv if kind == "SEL_FORMULA" else sv))
            fc = np.flatnonzero((self.fvil == v) & (self.fk == 0))
            heads = np.flatnonzero(np.isin(self.pfam, fc) & (self.hub == 1) & (self.status[m] == 0) & (self.pk == 0))
            if len(heads) and rng.random() < 0.5:
                p = int(rng.choice(heads))
                r = person_row(p, "HAPUS", "MAMPU", v, protect=False)
            else:
                p = int(self.take_outsiders(1)[0])
                r = person_row(p, "TAMBAH", "MISKIN_BARU", v, desil=str(int(rng.integers(1, 5))), pid="",
                               protect=False)
                r["HUB_KEL"] = "1"
            r["void"] = kind
            put(r)
        return rows

    def write_villages(self, m):
        rng = self.rng
        period = self.months[m]
        ms, me = self.bounds[m]
        rows = self.village_rows(m)
        n_files = 0
        n_rows = 0
        sent = np.flatnonzero(self.send[m])
        force_blank = int(rng.choice(sent))
        for v in sent:
            rs = rows.get(int(v), [])
            # a village that sends a file with nothing to report still sends its (rare) PERBAIKI-less sheet
            if not rs:
                continue
            order = {"TAMBAH": 0, "HAPUS": 1, "PERBAIKI": 2}
            rs = sorted(rs, key=lambda r: order.get(r["USULAN"], 0))
            voids = [r for r in rs if "void" in r]
            real = [r for r in rs if "void" not in r]
            for r in voids:  # void rows land anywhere
                real.insert(int(rng.integers(0, len(real) + 1)), r)
            rs = real
            n = len(rs)
            is_x = bool(self.xlsx[m][v])
            code = self.vcode[v]
            path = f"desa/{code}.{'xlsx' if is_x else 'csv'}"
            kode_style = self.vdot[v] if rng.random() < 0.3 else code
            musdes = int(rng.integers(ms, me + 1))
            ba = f"{int(rng.integers(1, 60)):03d}/BA-MUSDES/{code[-4:]}/{ROMAN[int(self.months[m][5:]) - 1]}/{self.months[m][:4]}"
            special = rng.random() < 0.3
            cols = ["KODE_DESA", "NIK", "NOKK", "NAMA", "JNS_KEL", "TGL_LHR", "HUB_KEL", "ALAMAT", "USULAN",
                    "ALASAN", "DESIL_USULAN", "TGL_MUSDES", "NO_BA"]
            extra = rng.random() < 0.2
            if extra:
                cols = cols + ["NO_HP", "KETERANGAN"]
            data = {c: np.array([r.get(c, "") for r in rs], dtype=object) for c in cols if c not in ("TGL_LHR", "TGL_MUSDES")}
            data["KODE_DESA"][:] = kode_style
            data["NO_BA"] = np.array(["" if r["USULAN"] == "PERBAIKI" and rng.random() < 0.5 else ba for r in rs],
                                     dtype=object)
            if rng.random() < 0.4:  # "JL. X NO. 1, BANJAR DINAS Y": needs quoting in a comma-separated file
                data["ALAMAT"] = np.array([a + ", " + self.fams.banjar.to_numpy()[self.pfam[r["p"]]] if a else a
                                           for a, r in zip(data["ALAMAT"], rs)], dtype=object)
            if special:
                sel = rng.random(n) < 0.3
                data["ALAMAT"] = np.array([a + SPECIAL_ALAMAT[int(rng.integers(0, len(SPECIAL_ALAMAT)))] if s and a else a
                                           for a, s in zip(data["ALAMAT"], sel)], dtype=object)
            if extra:
                data["NO_HP"] = np.array(["+62 8" + str(int(rng.integers(10 ** 9, 10 ** 10))) if rng.random() < 0.6 else ""
                                          for _ in range(n)], dtype=object)
                data["KETERANGAN"] = np.array(["hasil musdes" if rng.random() < 0.3 else "" for _ in range(n)], dtype=object)
            t = D.Table("desa", path, cols, data, np.array([r["pid"] for r in rs], dtype=object),
                        protect=np.array([r["protect"] for r in rs]),
                        noflag=np.array([r["noflag"] or r["USULAN"] != "HAPUS" for r in rs]),
                        date_fmt=D.DATE_FORMATS[int(rng.integers(0, 3))], excel_dates=is_x and rng.random() < 0.8)
            t.extra["usulan"] = data["USULAN"].copy()
            bd = np.array([r["bday"] if not (r["USULAN"] == "HAPUS" and rng.random() < 0.3) else D.MISSING for r in rs],
                          dtype=np.int64)
            self._dates_col(t, "TGL_LHR", bd)
            self._dates_col(t, "TGL_MUSDES", np.full(n, musdes))
            t.damage[:] = np.array([r["preset"] for r in rs], dtype=object)
            vi = [i for i, r in enumerate(rs) if "void" in r]
            others = np.setdiff1d(np.arange(self.nv), [v])
            self.ctx["other_village_code"] = (self.vdot if kode_style != code else self.vcode)[int(rng.choice(others))]
            D.apply_damage(rng, t, self.ctx, unrep_rows=np.array(vi, dtype=int),
                           unrep_kinds=[rs[i]["void"] for i in vi], rate_scale=2.0)
            blanks = []
            if n >= 2 and (rng.random() < 0.3 or v == force_blank):
                blanks = sorted(rng.choice(np.arange(1, n), min(n - 1, int(rng.integers(1, 3))), replace=False).tolist())
            if is_x:
                r = rng.random()
                titles = [] if r < 0.4 else [f"USULAN PERUBAHAN DATA DTKS {'KELURAHAN' if self.vkel[v] else 'DESA'} {self.vname[v]}"]
                if r >= 0.7:
                    titles.append(f"KECAMATAN {self.vkec[v]} - BULAN {period}")
                rm = write_xlsx(t, self.out / period / path, titles=titles, blanks=blanks)
            else:
                sep = "," if rng.random() < 0.4 else ";"
                enc = "cp1252" if rng.random() < 0.35 else ("utf-8-sig" if rng.random() < 0.3 else "utf-8")
                rm = write_csv(t, self.out / period / path, sep=sep, encoding=enc, lineterm="\r\n", blanks=blanks,
                               empty_blank_lines=rng.random() < 0.5)
            self._rows_truth(period, "desa", path, t, rm)
            n_files += 1
            n_rows += len(rm)
        self.summary.setdefault(period, {})["desa_files"] = n_files
        self.summary[period]["desa_rows"] = n_rows
        self.say(f"{period}: desa/ {n_files} village files, {n_rows:,} rows")

    # ------------------------------------------------------------------ truth
    def write_truth(self):
        tdir = self.out / "_truth"
        tdir.mkdir(parents=True, exist_ok=True)
        reg = np.flatnonzero(self.pk != 1)
        last = self.M - 1
        bd = (EPOCH + self.bdate[reg].astype("timedelta64[D]")).astype(str)
        pd.DataFrame({"true_person_id": self.tpid[reg], "nik": self.nik[reg], "nokk": self.nokk[reg],
                      "nama": self.name[reg], "jenis_kelamin": np.where(self.male[reg], "L", "P"),
                      "tgl_lahir": bd, "hub_kel": self.hub[reg], "kode_desa": self.vcode[self.vil[last][reg]]}
                     ).to_csv(tdir / "persons.csv", index=False)
        fr = np.flatnonzero(self.fk != 1)
        des = self.fams.desil.to_numpy()[fr]
        pd.DataFrame({"nokk": self.fams.nokk.to_numpy()[fr], "kode_desa": self.vcode[self.fvil[fr]],
                      "desil": np.where(des == 0, "", des.astype(str))}).to_csv(tdir / "families.csv", index=False)
        rt = pd.concat(self.rows_truth, ignore_index=True)
        rt.to_csv(tdir / "rows.csv", index=False)
        regs, excl, sect = [], [], []
        st_name = np.array(["AKTIF", "MENINGGAL", "PINDAH"], dtype=object)
        fam_nokk = self.fams.nokk.to_numpy().astype(object)
        self.checks = {}
        for m, period in enumerate(self.months):
            inreg = reg[self.reg_from[reg] <= m]
            st = self.status[m][inreg]
            regs.append(pd.DataFrame({"period": period, "true_person_id": self.tpid[inreg], "nokk": self.nokk[inreg],
                                      "kode_desa": self.vcode[self.vil[m][inreg]], "status": st_name[st]}))
            gone = inreg[st != 0]
            excl.append(pd.DataFrame({"period": period, "nokk": self.nokk[gone], "true_person_id": self.tpid[gone],
                                      "reason_code": st_name[self.status[m][gone]]}))
            active = np.zeros(self.P, bool)
            active[inreg[st == 0]] = True
            v = self.veh[(self.veh["from"] <= m) & self.veh.private]
            own = v.owner.to_numpy()
            mobil = np.unique(self.pfam[own[active[own]]])
            fam_active = np.zeros(len(self.fk), bool)
            fam_active[self.pfam[active]] = True
            desa = np.flatnonzero(self.fam_desa <= m)
            td = np.flatnonzero(self.fam_td <= m)
            for fs, code in ((mobil, "MAMPU_MOBIL"), (desa, "MAMPU_DESA"), (td, "TIDAK_DITEMUKAN")):
                excl.append(pd.DataFrame({"period": period, "nokk": fam_nokk[fs], "true_person_id": "",
                                          "reason_code": code}))
            rp = rt[(rt.period == period) & (rt.expected == "STAGED") & (rt.true_person_id != "")]
            for src in ("angkutan", "nelayan", "umkm"):
                ids = np.sort(rp[rp.source == src].true_person_id.unique())
                sect.append(pd.DataFrame({"period": period, "source": src, "true_person_id": ids}))
            # self-check: eligible families per program, in the program order of PROGRAMS.md
            excluded = np.zeros(len(self.fk), bool)
            excluded[mobil] = excluded[desa] = excluded[td] = True
            ok_fam = fam_active & ~excluded
            tp_index = pd.Series(reg, index=self.tpid[reg])
            taken = np.zeros(len(self.fk), bool)
            chk = {}
            nact = np.bincount(self.pfam[active], minlength=len(self.fk))
            desil = self.fams.desil.to_numpy()
            quota = {"angkutan": 125, "nelayan": 553, "umkm": 1200}
            for src in ("angkutan", "nelayan", "umkm"):
                ids = sect[-(3 - ("angkutan", "nelayan", "umkm").index(src))].true_person_id.to_numpy()
                pp = tp_index.reindex(ids).dropna().astype(int).to_numpy()
                pp = pp[active[pp]]
                fs = np.unique(self.pfam[pp])
                fs = fs[ok_fam[fs] & ~taken[fs]]
                chk[src] = int(len(fs))
                rank = np.lexsort((fam_nokk[fs].astype(str), -nact[fs], np.where(desil[fs] == 0, 99, desil[fs])))
                taken[fs[rank[: int(round(quota[src] * self.scale))]]] = True
            chk["ktm"] = int((ok_fam & ~taken & (desil >= 1) & (desil <= 4)).sum())
            self.checks[period] = chk
        pd.concat(regs, ignore_index=True).to_csv(tdir / "registry.csv", index=False)
        pd.concat(excl, ignore_index=True).to_csv(tdir / "exclusions.csv", index=False)
        pd.concat(sect, ignore_index=True).to_csv(tdir / "sector.csv", index=False)
        self.summary["_truth"] = {"persons": len(reg), "families": len(fr), "rows": len(rt),
                                  "eligible_families": self.checks}
        self.say(f"_truth: {len(reg):,} registry persons, {len(rt):,} rows; eligible families {self.checks}")

    # ------------------------------------------------------------------ main
    def run(self) -> dict:
        t0 = time.time()
        self.build_population()
        self.build_dtks_quirks()
        self.build_events()
        self.build_vehicles()
        self.build_sectors()
        self.finish_vehicles()
        # newborns reported by a village appear in a later DTKS export with STA_KEBERADAAN 4
        self.dtks_newborn = (self.pk == 3) & (self.rng.random(self.P) < 0.5)
        self.ctx = {"region_variants": self.variants}
        for m, period in enumerate(self.months):
            self.ctx["period_end"] = self.bounds[m][1]
            (self.out / period).mkdir(parents=True, exist_ok=True)
            self.write_dtks(m)
            self.write_kematian(m)
            self.write_pindah(m)
            self.write_samsat(m)
            for src in ("nelayan", "angkutan", "umkm"):
                self.write_sector(m, src)
            self.write_villages(m)
        self.write_truth()
        self.summary["seconds"] = round(time.time() - t0, 1)
        return self.summary


def generate(out_dir: Path, families: int = 60_000, seed: int = 2022,
             months=("2022-10", "2022-11", "2022-12"),
             progress: Callable[[str], None] | None = None) -> dict:
    """Write sample deliveries for `months` and their ground truth under out_dir.

    Deterministic: the same arguments give byte-identical files. Returns a summary:
    {period: {file: rows (incl. blank rows), 'desa_files': n, 'desa_rows': n}, '_truth': {...}}.
    """
    return _Gen(Path(out_dir), families, seed, months, progress).run()
