"""Run months through Dagster in process: what `dtks run` and cron jobs call.

Every asset of each month is materialized with the project's monthly job, in
month order (the registry and payouts of a month build on the previous one).
The run ends with a summary a person can read at a glance, and the exit code
says whether every asset and blocking check succeeded.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pandas as pd

MONTH_FOLDER = re.compile(r"^\d{4}-\d{2}$")


def find_months(sources: Path, months: str | None = None) -> list[str]:
    """Month folders in the delivery root, in order, optionally limited to 'A' or 'A:B'."""
    found = sorted(p.name for p in sources.iterdir() if p.is_dir() and MONTH_FOLDER.match(p.name)) if sources.is_dir() else []
    if not months:
        return found
    first, _, last = months.partition(":")
    last = last or first
    for value in (first, last):
        if not MONTH_FOLDER.match(value):
            raise ValueError(f"--months: {value!r} is not YYYY-MM")
    wanted = [str(p) for p in pd.period_range(first, last, freq="M")]
    missing = [m for m in wanted if m not in found]
    if missing:
        raise ValueError(f"no delivery folder for {', '.join(missing)} in {sources}")
    return wanted


@dataclass
class MonthResult:
    period: str
    success: bool
    seconds: float
    failed_steps: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    published: bool = False
    checks_passed: int = 0
    checks_total: int = 0


def _instance() -> dg.DagsterInstance:
    """The persistent instance in DAGSTER_HOME (so the UI shows these runs), else an ephemeral one."""
    if os.environ.get("DAGSTER_HOME"):
        Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def run_month(job: dg.JobDefinition, period: str, instance: dg.DagsterInstance) -> MonthResult:
    started = time.monotonic()
    # Dagster's own console log stays quiet (its errors carry stack traces); the runner
    # prints progress, each failure in one line, and the summary. Full logs are in the
    # instance (DAGSTER_HOME) and visible in the UI.
    run_config = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    result = job.execute_in_process(partition_key=period, instance=instance, raise_on_error=False, run_config=run_config)
    failed_steps = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            message = event.step_failure_data.error.message.strip().splitlines()[0] if event.step_failure_data and event.step_failure_data.error else ""
            failed_steps.append(f"{event.step_key}: {message}"[:300])
    evaluations = result.get_asset_check_evaluations()
    def describe(e) -> str:
        return f"{e.asset_key.to_user_string()}:{e.check_name}" + (" (blocking)" if e.blocking else "") + (
            f": {e.description}" if e.description else "")

    # A failed WARN check is worth a look but is no failure of the month (it blocks nothing).
    failed_checks = [describe(e) for e in evaluations if not e.passed and e.severity != dg.AssetCheckSeverity.WARN]
    warnings = [describe(e) for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.WARN]
    return MonthResult(
        period=period,
        success=result.success and not failed_checks,
        seconds=time.monotonic() - started,
        failed_steps=failed_steps,
        failed_checks=failed_checks,
        warnings=warnings,
        published=any(e.asset_key.path == ["operations", "published_warehouse"] for e in result.get_asset_materialization_events()),
        checks_passed=sum(e.passed for e in evaluations),
        checks_total=len(evaluations),
    )


def run_months(sources: Path, warehouse: Path, months: str | None = None, job_name: str | None = None) -> int:
    """Materialize every asset of each month; print progress and a summary; 0 when all succeeded."""
    from dtks_pipeline.definitions import build_definitions
    from dtks_pipeline.defs.shared import resources_for

    sources, warehouse = Path(sources).resolve(), Path(warehouse).resolve()
    try:
        periods = find_months(sources, months)
    except ValueError as exc:
        print(f"dtks run: {exc}")
        return 2
    if not periods:
        print(f"dtks run: no month folder (YYYY-MM) in {sources}")
        return 2
    # The UI and schedules resolve the same paths through these variables.
    os.environ["DTKS_SOURCES"], os.environ["DTKS_WAREHOUSE"] = str(sources), str(warehouse)
    defs = build_definitions(resources_for(sources, warehouse))
    job = defs.resolve_job_def(job_name or _monthly_job_name())
    instance = _instance()

    print(f"dtks run: {len(periods)} month(s) {periods[0]}..{periods[-1]} from {sources}")
    results: list[MonthResult] = []
    for i, period in enumerate(periods, 1):
        print(f"[{i}/{len(periods)}] {period}: materializing every asset ...", flush=True)
        outcome = run_month(job, period, instance)
        results.append(outcome)
        state = "ok" if outcome.success else "FAILED"
        print(f"[{i}/{len(periods)}] {period}: {state} in {outcome.seconds:.1f} s, checks {outcome.checks_passed}/{outcome.checks_total} passed", flush=True)
        for line in outcome.failed_steps + [f"check failed: {c}" for c in outcome.failed_checks] + [
                f"check warning: {c}" for c in outcome.warnings]:
            print(f"    {line}")

    from dtks_pipeline.summary import print_summary

    print_summary(warehouse, periods, results)
    return 0 if all(r.success for r in results) else 1


def _monthly_job_name() -> str:
    from dtks_pipeline.defs.operations.jobs import MONTHLY_JOB_NAME

    return MONTHLY_JOB_NAME
