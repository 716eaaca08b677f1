"""The perturbation suite (benchmarks/perturb.py) on the session's small generated sample.

It must change only what it says it changes (the listed rows, in the listed column, in
the way the kind names), keep every other byte, keep the truth consistent, and give the
same output twice.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import random

import pandas as pd
import pytest

from dtks_pipeline.benchmarks import perturb
from dtks_pipeline.lib import nik as nik_lib


@pytest.fixture(scope="module")
def perturbed(small_sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("perturbed") / "sources"
    summary = perturb.perturb_sample(small_sample, out, seed=7)
    done = pd.read_csv(out / "_truth" / "perturbations.csv", dtype=str, keep_default_na=False)
    done["source_row"] = done["source_row"].astype(int)
    return small_sample, out, summary, done


def _rows(path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return [next(csv.reader(io.StringIO(line), delimiter=";"), []) for line in text.split("\n")]


def _digits_apart(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b))


def _parse(text: str) -> dt.date:
    for fmt in ("%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            pass
    raise AssertionError(f"unreadable date {text!r}")


def test_only_the_listed_cells_change_and_each_as_its_kind_says(perturbed):
    src, out, summary, done = perturbed
    assert summary["rows_perturbed"] == len(done) > 100
    assert set(done["kind"].str[2:]) >= {"NIK_2_DIGIT", "NAMA_INISIAL", "TGL_TAHUN_SALAH"}
    listed = {(r.period, r.source_file, r.source_row): (r.kind[2:], r.column) for r in done.itertuples()}
    new_niks = []
    for period in sorted(p.name for p in src.iterdir() if p.name[:1].isdigit()):
        for name in perturb.PERSON_FILES:
            before, after = _rows(src / period / name), _rows(out / period / name)
            assert len(before) == len(after) and before[0] == after[0]
            header = [h.strip().upper() for h in before[0]]
            for k in range(1, len(before)):
                hit = listed.get((period, name, k))
                if hit is None:
                    assert before[k] == after[k], (period, name, k)
                    continue
                kind, column = hit
                i = header.index(column)
                changed = [j for j, (a, b) in enumerate(zip(before[k], after[k])) if a != b]
                assert changed == [i], (period, name, k, kind)
                old, new = before[k][i].strip(), after[k][i]
                if kind in ("NIK_2_DIGIT", "NIK_3_DIGIT"):
                    assert _digits_apart(old, new) == int(kind[4])
                if kind == "NIK_TUKAR":
                    assert sorted(old) == sorted(new) and _digits_apart(old, new) == 2
                if kind.startswith("NIK"):
                    assert old[:4] == new[:4]
                    new_niks.append(new)
                if kind == "TGL_TUKAR_HARI_BULAN":
                    a, b = _parse(old), _parse(new)
                    assert (a.year, a.month, a.day) == (b.year, b.day, b.month)
                if kind == "TGL_TAHUN_SALAH":
                    a, b = _parse(old), _parse(new)
                    assert (a.month, a.day) == (b.month, b.day) and a.year != b.year and b.year >= 1900
                if kind == "NAMA_TANPA_SPASI":
                    assert new.replace(" ", "") == old.replace(" ", "") and new.count(" ") < old.count(" ")
                if kind == "NAMA_SPASI_SISIP":
                    assert new.replace(" ", "") == old.replace(" ", "") and new.count(" ") == old.count(" ") + 1
                if kind == "NAMA_URUTAN":
                    assert sorted(new.split()) == sorted(old.split()) and new.split()[0] == old.split()[-1]
                if kind == "NAMA_INISIAL":
                    assert new.split()[-1] == old.split()[-1] and all(len(w.rstrip(".")) == 1 for w in new.split()[:-1])
                if kind == "NAMA_INTI_SAJA":
                    assert new == old.split()[-1]
                if kind == "DESA_AWALAN":
                    assert new.endswith(old.upper()) and new.upper().startswith(("DS", "KEL"))
    # a mistyped NIK is still a structurally valid one (the row stays usable)
    assert new_niks and nik_lib.valid_nik(pd.Series(new_niks)).all()


def test_truth_keeps_persons_and_expectations_and_tags_the_damage(perturbed):
    src, out, _, done = perturbed
    before = pd.read_csv(src / "_truth" / "rows.csv", dtype=str, keep_default_na=False)
    after = pd.read_csv(out / "_truth" / "rows.csv", dtype=str, keep_default_na=False)
    assert len(before) == len(after)
    for col in ("period", "source", "source_file", "source_row", "true_person_id", "expected", "reason_code"):
        assert (before[col] == after[col]).all(), col
    tagged = after["damage"] != before["damage"]
    assert int(tagged.sum()) == len(done)
    assert (after.loc[tagged, "expected"] == "STAGED").all()
    keys = set(zip(after.loc[tagged, "period"], after.loc[tagged, "source_file"], after.loc[tagged, "source_row"].astype(int)))
    assert keys == set(zip(done["period"], done["source_file"], done["source_row"]))
    assert after.loc[tagged, "damage"].str.contains(r"(?:^|\+)P_").all()
    # the other files of the month (village files, truth files) are copied as they were
    for f in (src / "_truth").iterdir():
        if f.name != "rows.csv":
            assert (out / "_truth" / f.name).read_bytes() == f.read_bytes()


def test_rows_to_be_linked_are_perturbed_more_often_than_the_others(perturbed):
    src, _, _, done = perturbed
    truth = pd.read_csv(src / "_truth" / "rows.csv", dtype=str, keep_default_na=False)
    eligible = truth[truth["source_file"].isin(list(perturb.PERSON_FILES)) & (truth["expected"] == "STAGED")]
    linked_persons = perturb._linked_persons(truth)
    is_linked = [p in linked_persons.get(period, set()) for period, p in zip(eligible["period"], eligible["true_person_id"])]
    n_linked = sum(is_linked)
    n_single = len(eligible) - n_linked
    hit_linked = int((done["linked"] == "True").sum())
    hit_single = len(done) - hit_linked
    assert hit_linked / n_linked > 2 * hit_single / n_single  # shares 3:1 by construction
    assert hit_linked / n_linked < sum(perturb.SHARE_LINKED.values())
    assert set(done["kind"].str[2:]) <= set(perturb.PERTURBATIONS)


def test_same_seed_same_files(perturbed, tmp_path):
    src, out, _, _ = perturbed
    again = tmp_path / "again"
    perturb.perturb_sample(src, again, seed=7)
    for f in sorted(out.rglob("*.csv")):
        assert (again / f.relative_to(out)).read_bytes() == f.read_bytes(), f


@pytest.mark.parametrize("kind", perturb.NAME_KINDS)
def test_name_perturbations_change_a_balinese_name(kind):
    new = perturb.perturb_name("I GUSTI NGURAH SUDARMAWAN", kind, random.Random(1))
    assert new and new != "I GUSTI NGURAH SUDARMAWAN"


@pytest.mark.parametrize("kind", perturb.VILLAGE_KINDS)
def test_village_perturbations_change_a_village_name(kind):
    new = perturb.perturb_village("KAMPUNG SINGARAJA", kind, random.Random(1))
    assert new and new != "KAMPUNG SINGARAJA"
    if kind == "DESA_SINGKATAN":
        assert new == "KP. SINGARAJA"
