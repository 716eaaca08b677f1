"""A perturbation suite: a generated sample rewritten in ways its generator never writes.

    dtks benchmark perturb --sources DIR --out DIR [--seed S]

The sample generator (dtks_pipeline/sample) varies a name only by its ABBREV table
(MD, NYM, KT, ...), by dropping a leading I/NI, by swapping one birth-order name or by
one spelling slip in the last word; a NIK only in one serial digit or by swapping two
adjacent serial digits; a village name only by case, a DESA/KEL./KELURAHAN prefix,
hyphens and joined or split words; a date only by its format. This suite rewrites the
delivered CSV files of every month with damage of other kinds (PERTURBATIONS below):

- names: initials for every word but the last, the leading words fused into one
  abbreviation (IB, IGA), only the last word kept, the last word shortened, the last
  word moved to the front, vowels dropped, a letter doubled inside, spaces removed,
  a space inserted inside a word;
- village and kecamatan names (DTKS only): a leading word abbreviated (KP. for
  KAMPUNG, consonants and a dot otherwise), vowels dropped, a DS. / KEL prefix, one
  letter mistyped;
- NIK digits: two or three digits mistyped anywhere after the province/regency, two
  digits transposed outside the serial (the NIK stays structurally valid);
- birth dates: day and month swapped, one digit of the year mistyped (still a date
  before the end of the period).

Each kind is applied to a known share of rows (SHARE_LINKED of the rows whose true
person has another usable row in the month, SHARE_SINGLE of the others; at most one
kind per row), chosen by a hash of (seed, file, row content) so that a record repeated
in the next month's snapshot is perturbed the same way. The truth follows:
true_person_id and expected are unchanged (a perturbed usable row stays STAGED: the
perturbations keep every value readable), `damage` gains `+P_<KIND>`, and
`_truth/perturbations.csv` lists every perturbed row with the column it changed.
Village files and everything else are copied unchanged; row numbering, separators,
encodings and blank rows are kept byte for byte.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import random
import re
import shutil
from pathlib import Path

import pandas as pd

from dtks_pipeline.lib import nik as nik_lib

# source file -> (NIK column, name column, birth-date column or None, village columns)
PERSON_FILES = {
    "dtks.csv": ("NIK", "NAMA", "TGL_LHR", ("DESA", "KECAMATAN")),
    "dukcapil_kematian.csv": ("NIK", "NAMA", "TGL_LHR", ()),
    "dukcapil_pindah.csv": ("NIK", "NAMA", None, ()),
    "samsat_kendaraan.csv": ("NIK_PEMILIK", "NAMA_PEMILIK", None, ()),
    "nelayan.csv": ("NIK", "NAMA", "TGL_LHR", ()),
    "angkutan.csv": ("NIK", "NAMA", "TGL_LHR", ()),
    "umkm.csv": ("NIK", "NAMA", "TGL_LHR", ()),
}
NAME_KINDS = ("NAMA_INISIAL", "NAMA_SINGKAT_GABUNG", "NAMA_INTI_SAJA", "NAMA_DIPENDEKKAN", "NAMA_URUTAN",
              "NAMA_TANPA_VOKAL", "NAMA_HURUF_GANDA", "NAMA_TANPA_SPASI", "NAMA_SPASI_SISIP")
VILLAGE_KINDS = ("DESA_SINGKATAN", "DESA_TANPA_VOKAL", "DESA_AWALAN", "DESA_SALAH_KETIK", "KEC_SALAH_KETIK")
NIK_KINDS = ("NIK_2_DIGIT", "NIK_3_DIGIT", "NIK_TUKAR")
DATE_KINDS = ("TGL_TUKAR_HARI_BULAN", "TGL_TAHUN_SALAH")
PERTURBATIONS = NAME_KINDS + VILLAGE_KINDS + NIK_KINDS + DATE_KINDS
# share of rows given each kind: rows that must be linked to another row, and the rest
SHARE_LINKED = {**{k: 0.015 for k in NAME_KINDS}, **{k: 0.01 for k in VILLAGE_KINDS},
                **{k: 0.02 for k in NIK_KINDS}, **{k: 0.015 for k in DATE_KINDS}}
SHARE_SINGLE = {k: v / 3 for k, v in SHARE_LINKED.items()}
# rows whose existing damage leaves their values in canonical form (others keep theirs)
_PERTURBABLE_DAMAGE = re.compile(r"^(|GANDA_.*|LINK_.*|NAMA_SALAH_EJA|FLAG_.*)$")
VOWELS = set("AEIOU")


# ----------------------------------------------------------------------------- value rewrites
def _drop_vowels(word: str) -> str:
    out = word[0] + "".join(c for c in word[1:] if c not in VOWELS)
    return out if len(out) >= 2 and out != word else word


def perturb_name(name: str, kind: str, rnd: random.Random) -> str | None:
    """The name rewritten by `kind`, or None when the kind does not apply to it."""
    words = name.split()
    if not words:
        return None
    last = words[-1]
    if kind == "NAMA_INISIAL" and len(words) >= 2:
        dot = rnd.random() < 0.5
        return " ".join([w[0] + ("." if dot else "") for w in words[:-1]] + [last])
    if kind == "NAMA_SINGKAT_GABUNG" and len(words) >= 3:
        return "".join(w[0] for w in words[:-1][:3]) + " " + " ".join(words[min(3, len(words) - 1):])
    if kind == "NAMA_INTI_SAJA" and len(words) >= 3:
        return last
    if kind == "NAMA_DIPENDEKKAN" and len(last) >= 6:
        return " ".join(words[:-1] + [last[2:] if rnd.random() < 0.5 else last[:-2]])
    if kind == "NAMA_URUTAN" and len(words) >= 2:
        return " ".join([last] + words[:-1])
    if kind == "NAMA_TANPA_VOKAL" and len(last) >= 5:
        new = _drop_vowels(last)
        return " ".join(words[:-1] + [new]) if new != last else None
    if kind == "NAMA_HURUF_GANDA" and len(last) >= 4:
        i = rnd.randrange(1, len(last) - 1)
        return " ".join(words[:-1] + [last[:i + 1] + last[i] + last[i + 1:]])
    if kind == "NAMA_TANPA_SPASI" and len(words) >= 2:
        return "".join(words) if rnd.random() < 0.5 else "".join(words[:-1]) + " " + last
    if kind == "NAMA_SPASI_SISIP" and len(last) >= 6:
        i = rnd.randrange(2, len(last) - 2)
        return " ".join(words[:-1] + [last[:i] + " " + last[i:]])
    return None


def _typo(word: str, rnd: random.Random) -> str:
    i = rnd.randrange(1, len(word) - 1)
    letters = [c for c in "ABCDEFGHIJKLMNOPRSTUWY" if c != word[i]]
    return word[:i] + rnd.choice(letters) + word[i + 1:]


def perturb_village(value: str, kind: str, rnd: random.Random) -> str | None:
    words = value.split()
    if not words:
        return None
    if kind == "DESA_SINGKATAN" and len(words) >= 2:
        first = "KP." if words[0] == "KAMPUNG" else _drop_vowels(words[0])[:3] + "."
        return " ".join([first] + words[1:])
    if kind == "DESA_TANPA_VOKAL":
        new = " ".join(_drop_vowels(w) if len(w) >= 4 else w for w in words)
        return new if new != value else None
    if kind == "DESA_AWALAN":
        return rnd.choice(["DS. ", "DS ", "KEL ", "DS."]) + value
    if kind in ("DESA_SALAH_KETIK", "KEC_SALAH_KETIK"):
        long = [i for i, w in enumerate(words) if len(w) >= 6]
        if not long:
            return None
        i = rnd.choice(long)
        words[i] = _typo(words[i], rnd)
        return " ".join(words)
    return None


def nik_candidates(nik: str, kind: str, rnd: random.Random) -> list[str]:
    """Up to 50 different NIKs with k digits mistyped, or two digits transposed (validity not checked)."""
    if not re.fullmatch(r"\d{16}", nik) or kind not in NIK_KINDS:
        return []
    candidates = []
    for _ in range(50):
        digits = list(nik)
        if kind in ("NIK_2_DIGIT", "NIK_3_DIGIT"):
            for i in rnd.sample(range(4, 16), 2 if kind == "NIK_2_DIGIT" else 3):
                digits[i] = rnd.choice([d for d in "0123456789" if d != nik[i]])
        else:
            i, j = sorted(rnd.sample(range(4, 12), 2))
            if rnd.random() < 0.5:
                j = i + 1
            if digits[i] == digits[j]:
                continue
            digits[i], digits[j] = digits[j], digits[i]
        new = "".join(digits)
        if new != nik:
            candidates.append(new)
    return candidates


def first_valid(candidate_lists: list[list[str]]) -> list[str | None]:
    """For each list, its first structurally valid NIK by the project's own rule (one call for all)."""
    flat = [c for cands in candidate_lists for c in cands]
    valid = iter(nik_lib.valid_nik(pd.Series(flat, dtype=object)).tolist() if flat else [])
    out = []
    for cands in candidate_lists:
        oks = [next(valid) for _ in cands]
        out.append(next((c for c, ok in zip(cands, oks) if ok), None))
    return out


def perturb_nik(nik: str, kind: str, rnd: random.Random) -> str | None:
    """A different, structurally valid NIK: k digits mistyped, or two digits transposed."""
    return first_valid([nik_candidates(nik, kind, rnd)])[0]


_DATE_FORMS = ((re.compile(r"^(\d{2})([-/])(\d{2})\2(\d{4})$"), "dmy"), (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "ymd"))


def perturb_date(text: str, kind: str, rnd: random.Random, period_end: dt.date) -> str | None:
    value = text.strip()
    for pattern, form in _DATE_FORMS:
        m = pattern.match(value)
        if not m:
            continue
        if form == "dmy":
            d, sep, mo, y = int(m[1]), m[2], int(m[3]), int(m[4])
        else:
            y, mo, d, sep = int(m[1]), int(m[2]), int(m[3]), "-"
        if kind == "TGL_TUKAR_HARI_BULAN":
            if d > 12 or d == mo:
                return None
            d, mo = mo, d
        elif kind == "TGL_TAHUN_SALAH":
            pos = rnd.choice([2, 3])
            ys = list(str(y))
            ys[pos] = rnd.choice([c for c in "0123456789" if c != ys[pos]])
            y = int("".join(ys))
        else:
            return None
        try:
            new = dt.date(y, mo, d)
        except ValueError:
            return None
        if not (dt.date(1900, 1, 1) <= new <= period_end):
            return None
        if form == "dmy":
            return f"{new.day:02d}{sep}{new.month:02d}{sep}{new.year:04d}"
        return new.isoformat()
    return None


# ----------------------------------------------------------------------------- files
def _period_end(period: str) -> dt.date:
    y, m = map(int, period.split("-"))
    return dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252"), "cp1252"


def _unit(seed: int, key: str) -> float:
    return int.from_bytes(hashlib.sha256(f"{seed}|{key}".encode()).digest()[:8], "big") / 2**64


def _choose_kind(u: float, shares: dict[str, float], kinds: tuple[str, ...]) -> str | None:
    acc = 0.0
    for kind in PERTURBATIONS:
        if kind not in kinds:
            continue
        acc += shares[kind]
        if u < acc:
            return kind
    return None


def _rewrite(lines: list[str], k: int, fields: list[str], i: int, new: str, sep: str) -> dict:
    fields[i] = new
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="").writerow(fields)
    lines[k] = buf.getvalue()
    return {"source_row": k}


def perturb_file(path: Path, out: Path, period: str, truth: pd.DataFrame, linked: set[str], seed: int) -> list[dict]:
    """Rewrite one delivered CSV; returns one record per perturbed row (source_row, kind, column)."""
    nik_col, name_col, date_col, village_cols = PERSON_FILES[path.name]
    text, encoding = _decode(path.read_bytes())
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    sep = ";"
    header = next(csv.reader([lines[0]], delimiter=sep))
    col = {c.strip().upper(): i for i, c in enumerate(header)}
    rows = {int(r): (e, d, p) for r, e, d, p in
            zip(truth["source_row"], truth["expected"], truth["damage"], truth["true_person_id"])}
    kinds = NAME_KINDS + NIK_KINDS + (DATE_KINDS if date_col else ()) + (VILLAGE_KINDS if village_cols else ())
    end = _period_end(period)
    done, nik_rows = [], []
    for k in range(1, len(lines)):
        line = lines[k]
        if not line.strip() or k not in rows:
            continue
        expected, damage, person = rows[k]
        if expected != "STAGED" or not _PERTURBABLE_DAMAGE.match(damage):
            continue
        key = f"{path.name}|{line}"
        shares = SHARE_LINKED if person in linked else SHARE_SINGLE
        kind = _choose_kind(_unit(seed, key), shares, kinds)
        if kind is None:
            continue
        rnd = random.Random(f"{seed}|{key}|{kind}")
        fields = next(csv.reader([line], delimiter=sep))
        if kind in NAME_KINDS:
            column = name_col
            new = perturb_name(fields[col[column]].strip(), kind, rnd)
        elif kind in NIK_KINDS:  # validated below, all at once
            nik_rows.append((k, fields, kind, person in linked,
                             nik_candidates(fields[col[nik_col]].strip(), kind, rnd)))
            continue
        elif kind in DATE_KINDS:
            column = date_col
            new = perturb_date(fields[col[column]], kind, rnd, end)
        else:
            column = village_cols[1] if kind == "KEC_SALAH_KETIK" else village_cols[0]
            new = perturb_village(fields[col[column]].strip().upper(), kind, rnd)
        if new is not None:
            done.append(_rewrite(lines, k, fields, col[column], new, sep)
                        | {"kind": f"P_{kind}", "column": column, "linked": person in linked})
    for (k, fields, kind, is_linked, _), new in zip(nik_rows, first_valid([r[4] for r in nik_rows])):
        if new is not None:
            done.append(_rewrite(lines, k, fields, col[nik_col], new, sep)
                        | {"kind": f"P_{kind}", "column": nik_col, "linked": is_linked})
    done = [{"period": period, "source_file": path.name, **d} for d in sorted(done, key=lambda d: d["source_row"])]
    out.parent.mkdir(parents=True, exist_ok=True)
    body = newline.join(lines)
    out.write_bytes((b"\xef\xbb\xbf" if encoding == "utf-8-sig" else b"") +
                    body.encode("utf-8" if encoding == "utf-8-sig" else encoding))
    return done


def _linked_persons(truth: pd.DataFrame) -> dict[str, set[str]]:
    """Per period, the true persons with at least two usable rows (rows that must be linked)."""
    usable = truth[(truth["expected"] == "STAGED") & (truth["true_person_id"] != "")]
    counts = usable.groupby(["period", "true_person_id"]).size()
    multi = counts[counts > 1].reset_index()
    return {p: set(g["true_person_id"]) for p, g in multi.groupby("period")}


def perturb_sample(sources: Path, out: Path, seed: int = 2026) -> dict:
    """Copy the sample `sources` to `out`, perturbing every person-bearing CSV of every month."""
    sources, out = Path(sources), Path(out)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(sources, out)
    truth = pd.read_csv(sources / "_truth" / "rows.csv", dtype=str, keep_default_na=False)
    truth["source_row"] = truth["source_row"].astype(int)
    linked = _linked_persons(truth)
    records: list[dict] = []
    periods = sorted(p.name for p in sources.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}", p.name))
    for period in periods:
        for name in PERSON_FILES:
            path = sources / period / name
            if not path.exists():
                continue
            part = truth[(truth["period"] == period) & (truth["source_file"] == name)]
            records += perturb_file(path, out / period / name, period, part, linked.get(period, set()), seed)
        print(f"  perturbed {period}: {sum(r['period'] == period for r in records):,} rows", flush=True)
    done = pd.DataFrame(records, columns=["period", "source_file", "source_row", "kind", "column", "linked"])
    done.to_csv(out / "_truth" / "perturbations.csv", index=False)
    if len(done):
        tag = done.set_index(["period", "source_file", "source_row"])["kind"]
        idx = pd.MultiIndex.from_frame(truth[["period", "source_file", "source_row"]])
        kind = pd.Series(tag.reindex(idx).to_numpy(), index=truth.index)
        hit = kind.notna()
        truth.loc[hit, "damage"] = [(d + "+" if d else "") + k for d, k in zip(truth.loc[hit, "damage"], kind[hit])]
    truth.to_csv(out / "_truth" / "rows.csv", index=False)
    summary = done.groupby(["kind", "linked"]).size().unstack(fill_value=0) if len(done) else pd.DataFrame()
    return {"rows_perturbed": int(len(done)), "by_kind": {k: {str(c): int(v) for c, v in row.items()}
                                                         for k, row in summary.iterrows()}}
