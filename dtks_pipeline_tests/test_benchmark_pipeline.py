"""`dtks benchmark pipeline` on a tiny generated sample: it runs end to end, times every stage from
Dagster's step events and both baselines, and keeps the JSON. No speed is asserted here (that is
what the benchmark itself reports)."""
from __future__ import annotations

import json

from dtks_pipeline.benchmarks import pipeline
from dtks_pipeline.benchmarks.pipeline import StepRecord, stage_of, stage_seconds
from dtks_pipeline.cli import main as dtks


def test_stage_names_come_from_what_each_step_did():
    steps = [
        StepRecord("staging__dtks", 0.0, 2.0, assets=[("staging/dtks", "ingestion")]),
        StepRecord("staging__dtks_row_conservation", 2.0, 2.5, checks=[("staging/dtks", "row_conservation", "ingestion")]),
        StepRecord("registry_tables", 2.5, 6.0, assets=[("registry/persons", "registry"), ("registry/families", "registry")]),
        StepRecord("registry__persons_gx_suite", 6.0, 7.0, checks=[("registry/persons", "gx_suite", "registry")]),
        StepRecord("payout__payments_gx_suite", 7.0, 7.25, checks=[("payout/payments", "gx_suite", "payout")]),
        StepRecord("operations__published_warehouse", 7.25, 8.0, assets=[("operations/published_warehouse", "operations")]),
        StepRecord("broken", 8.0, 8.5, ok=False),
    ]
    assert [stage_of(s) for s in steps] == [
        "ingestion:dtks", "checks:ingestion", "registry", "checks:gx", "checks:gx", "publication", "other:broken"]
    assert stage_seconds(steps) == {"registry": 3.5, "ingestion:dtks": 2.0, "checks:gx": 1.25, "publication": 0.75,
                                    "checks:ingestion": 0.5, "other:broken": 0.5}


def test_benchmark_runs_on_a_tiny_sample_and_keeps_every_stage_and_both_baselines(tmp_path, monkeypatch, capsys):
    # Splink's u estimation on 2e7 pairs dominates a tiny sample; the baseline's other settings are unchanged.
    monkeypatch.setenv("DTKS_BENCH_SPLINK_U_PAIRS", "200000")
    assert dtks(["benchmark", "pipeline", "--families", "150", "--months", "1", "--history", "1",
                 "--workdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "pipeline 2022-10: ok" in out and "ratios:" in out

    report = json.loads((tmp_path / "pipeline_150.json").read_text())
    months = report["pipeline"]["per_month"]
    assert [m["period"] for m in months] == ["2022-10"] and months[0]["success"]
    stages = months[0]["stages"]
    for stage in ("ingestion:dtks", "ingestion:desa", "ingestion:samsat_kendaraan", "registry", "payout",
                  "checks:gx", "checks:ingestion", "publication"):
        assert stage in stages, stage
    assert not [s for s in stages if s.startswith("other:")]
    # the registry's named stages are kept, and its progress line was echoed
    assert any("scored_pairs" in named for named in months[0]["named_stages"].values())
    assert "registry (6 tables)" in out
    # and the candidate pairs of each blocking rule, which say how the blocking grows with the families
    pairs = months[0]["candidate_pairs"]
    assert "nik" in pairs and "nama_desa" in pairs and sum(pairs.values()) > 0
    assert f"candidate pairs of 2022-10: {sum(pairs.values()):,}" in out
    assert report["pipeline"]["one_month_peak_mb"] > 50
    assert report["pipeline"]["k_months_seconds"] == report["pipeline"]["one_month_seconds"] > 0
    # The floor reads every file of the month: the seven agency files and every village file.
    month_dir = tmp_path / "sources_150" / "2022-10"
    assert report["floor"]["files"] == len([p for p in month_dir.rglob("*") if p.is_file()])
    assert report["floor"]["nik_groups"] > 0
    splink = report["splink_alone"]
    assert splink["rows"] > 0 and 0 < splink["clusters"] <= splink["rows"]
    assert all(report["ratios"][k] for k in ("one_month_over_splink_alone", "one_month_over_floor", "k_months_over_one_month"))
    assert [h["months_published_before"] for h in report["history"]] == [0]
    assert report["history"][0]["publication_seconds"] == stages["publication"]
    assert pipeline.months_from("2022-11", 3) == ["2022-11", "2022-12", "2023-01"]


def test_a_month_that_fails_is_reported_and_fails_the_benchmark(tmp_path, monkeypatch, capsys):
    # a month without its DTKS export cannot build a registry: the benchmark must not pass its seconds off as a month's
    from dtks_pipeline.sample.generator import generate

    sources = tmp_path / "sources"
    generate(sources, families=150, months=("2022-10",))
    (sources / "2022-10" / "dtks.csv").unlink()
    monkeypatch.setenv("DTKS_BENCH_SKIP_SPLINK", "1")
    assert dtks(["benchmark", "pipeline", "--families", "150", "--months", "1", "--sources", str(sources),
                 "--workdir", str(tmp_path / "w")]) == 1
    out = capsys.readouterr().out
    assert "pipeline 2022-10: FAILED" in out and "FAILED 2022-10: steps " in out
    report = json.loads((tmp_path / "w" / "pipeline_150.json").read_text())
    assert report["failed_months"] == ["2022-10"]
