"""A small generated sample, month 2022-10, through the project's monthly job: every check passes.

The month is run once per session by the `pipeline_months` fixture (150 families,
in process, GX project in its default place beside the warehouse).
"""
from __future__ import annotations

from dtks_pipeline.defs.quality.suites import SUITES


def test_monthly_job_of_a_small_sample_passes_every_check(pipeline_months):
    result = pipeline_months.results["2022-10"]

    failures = [
        f"{e.step_key}: {e.event_specific_data.error.message.splitlines()[0][:200]}"
        for e in result.all_events if e.event_type_value == "STEP_FAILURE"
    ]
    evaluations = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    failed_checks = [
        f"{ev.asset_check_key.asset_key.to_user_string()}:{ev.check_name} "
        f"{ev.metadata.get('failed_expectations').value if ev.metadata.get('failed_expectations') else ''}"
        for ev in evaluations if not ev.passed
    ]
    assert result.success and not failures, failures
    assert not failed_checks, failed_checks
    checked = {(ev.asset_check_key.asset_key.to_user_string(), ev.check_name) for ev in evaluations}
    assert {(t.replace(".", "/"), "gx_suite") for t in SUITES} <= checked
    assert (pipeline_months.gx_dir / "uncommitted" / "data_docs" / "local_site" / "index.html").exists()
