"""Ingestion scored against the generator's ground truth on a small sample."""
import duckdb

from dtks_pipeline.benchmarks.ingestion import observed_outcomes, score, stage_all

import pandas as pd


def test_every_unusable_row_rejected_with_its_reason_and_no_usable_row_lost(small_sample, tmp_path):
    warehouse = tmp_path / "dtks.duckdb"
    periods = stage_all(small_sample, warehouse)
    assert periods == ["2022-10", "2022-11", "2022-12"]
    truth = pd.read_csv(small_sample / "_truth" / "rows.csv", dtype=str)
    truth["source_row"] = truth["source_row"].astype(int)
    con = duckdb.connect(str(warehouse.parent / "work" / warehouse.name), read_only=True)
    try:
        figures = score(truth, observed_outcomes(con))
        files = con.execute("SELECT count(*), sum(rows_read), sum(rows_staged + rows_rejected) FROM audit.source_files").fetchone()
    finally:
        con.close()
    assert figures["rows_unusable"] > 20  # the generator injects every kind of damage even at this size
    assert figures["unusable_misclassified"] == {}
    assert figures["unusable_recall"] == 1.0
    assert figures["usable_wrongly_rejected_pct"] <= 0.1
    assert figures["rows_missing_in_warehouse"] == 0 and figures["rows_not_in_truth"] == 0
    assert files[1] == files[2]  # row conservation over every file of every month
