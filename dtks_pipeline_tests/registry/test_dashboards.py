"""Splink's dashboards for the review pairs, on a toy Splink model (DuckDB, a few records)."""
from __future__ import annotations

import duckdb
import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from dtks_pipeline.defs.registry.dashboards import CLUSTER_STUDIO, COMPARISON_VIEWER, write_dashboards
from dtks_pipeline.defs.registry.review_stage import ReviewInputs, review_dir

RECORDS = pd.DataFrame({
    "unique_id": ["ART:D1/A1", "ART:D1/A2", "ART:D2/B1", "ART:D3/C1", "ART:D3/C2"],
    "nama": ["MADE SUDARMA", "MADE SUDARMA", "KETUT SARI", "PUTU OKA", "PUTU OKA"],
    "tahun": ["1970", "1970", "1980", "1990", "1991"],
})


def _inputs(retain: bool) -> ReviewInputs:
    sdf = DuckDBAPI(duckdb.connect()).register(RECORDS)
    linker = Linker(sdf, SettingsCreator(
        link_type="dedupe_only", comparisons=[cl.ExactMatch("nama"), cl.ExactMatch("tahun")],
        blocking_rules_to_generate_predictions=[block_on("nama")], retain_intermediate_calculation_columns=retain))
    predictions = linker.inference.predict()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.5)
    return ReviewInputs(scored=pd.DataFrame(), records=pd.DataFrame(), threshold_probability=0.9,
                        linker=linker, predictions=predictions, clusters=clusters)


def test_dashboards_show_only_the_review_pairs(tmp_path):
    out = review_dir(tmp_path / "work" / "dtks.duckdb", "2022-10")
    assert out == tmp_path / "review" / "2022-10"
    pairs = pd.DataFrame({"key_a": ["ART:D3/C1"], "key_b": ["ART:D3/C2"]})
    written = write_dashboards(_inputs(retain=True), pairs, out)
    assert written == {"comparison viewer": str(out / COMPARISON_VIEWER), "cluster studio": str(out / CLUSTER_STUDIO)}
    viewer = (out / COMPARISON_VIEWER).read_text()
    assert "ART:D3/C1" in viewer and "ART:D1/A1" not in viewer


def test_no_linker_or_an_unfit_model_leaves_a_note(tmp_path):
    pairs = pd.DataFrame({"key_a": ["ART:D3/C1"], "key_b": ["ART:D3/C2"]})
    none = ReviewInputs(scored=pd.DataFrame(), records=pd.DataFrame(), threshold_probability=0.9)
    assert "no Splink linker" in write_dashboards(none, pairs, tmp_path)["note"]
    note = write_dashboards(_inputs(retain=False), pairs, tmp_path)["note"]
    assert "retain_intermediate_calculation_columns" in note
    assert not (tmp_path / COMPARISON_VIEWER).exists()


def test_cluster_studio_shows_the_persons_of_the_review_pairs(tmp_path):
    inputs = _inputs(retain=True)
    inputs.clusters = None  # the resolver clustered on its own: its persons are the clusters
    inputs.records = pd.DataFrame({
        "key": RECORDS["unique_id"], "person_id": ["P1", "P1", "P2", "P3", "P4"], "source": "dtks",
        "nik": None, "nama": RECORDS["nama"], "jenis_kelamin": None, "tgl_lahir": None, "nokk": None, "kode_desa": None})
    pairs = pd.DataFrame({"key_a": ["ART:D3/C1"], "key_b": ["ART:D3/C2"], "person_id_a": ["P3"], "person_id_b": ["P4"]})
    written = write_dashboards(inputs, pairs, tmp_path)
    assert written["cluster studio"] == str(tmp_path / CLUSTER_STUDIO)
    studio = (tmp_path / CLUSTER_STUDIO).read_text()
    assert "ART:D3/C2" in studio and "ART:D1/A1" not in studio


def test_a_review_pair_named_in_the_other_order_is_shown(tmp_path):
    pairs = pd.DataFrame({"key_a": ["ART:D3/C2"], "key_b": ["ART:D3/C1"]})  # predictions hold it as (C1, C2)
    written = write_dashboards(_inputs(retain=True), pairs, tmp_path)
    assert "comparison viewer" in written
    viewer = (tmp_path / COMPARISON_VIEWER).read_text()
    assert "ART:D3/C1" in viewer and "ART:D1/A1" not in viewer
