"""Run months through Dagster in process: what `dtks run` and cron jobs call.

Every asset of each month is materialized with the project's monthly job, in
month order (the registry and payouts of a month build on the previous one).
Before anything runs, the run takes the warehouse lock (one run at a time) and
plans the months (`defs/operations/month_plan.py`): a re-delivered earlier month
is rebuilt first, later published months are rebuilt after it, and a month whose
previous month failed is not run at all. Each month prints one line per stage
while it runs; the run ends with a summary a person can read at a glance.

Exit codes (also in `dtks run --help` and the README):
  0  every month completed, nothing quarantined or held;
  1  a month failed (or was not run because an earlier one failed, or the warehouse
     is in use): nothing of that month was published;
  2  bad arguments;
  3  every month completed and was published, with files quarantined or families
     held (named in the summary).
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
EXIT_OK, EXIT_FAILED, EXIT_BAD_ARGS, EXIT_QUARANTINE = 0, 1, 2, 3


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
    not_run: str = ""  # why the month was not run at all (empty folder, previous month failed)

    @property
    def first_failure(self) -> str:
        return (self.not_run or next(iter(self.failed_steps + self.failed_checks), "failed"))[:200]


def _instance() -> dg.DagsterInstance:
    """The persistent instance in DAGSTER_HOME (so the UI shows these runs), else an ephemeral one."""
    if os.environ.get("DAGSTER_HOME"):
        Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def run_month(job: dg.JobDefinition, period: str, instance: dg.DagsterInstance,
              asset_selection: list[dg.AssetKey] | None = None) -> MonthResult:
    """Materialize one month (every asset of `job`, or only `asset_selection`), printing its stages."""
    from dtks_pipeline.defs.operations.progress import LOGGER_NAME, failure_message, progress_logger_def
    from dtks_pipeline.defs.operations.stale_runs import run_tags

    started = time.monotonic()
    # Dagster's own console log stays quiet (its errors carry stack traces); the progress
    # logger prints one line per stage and each failure in one line. Full logs are in the
    # instance (DAGSTER_HOME) and visible in the UI.
    job = job.with_logger_defs({**job.loggers, LOGGER_NAME: progress_logger_def()})
    run_config = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}, LOGGER_NAME: {}}}
    result = job.execute_in_process(partition_key=period, instance=instance, raise_on_error=False,
                                    run_config=run_config, asset_selection=asset_selection, tags=run_tags())
    failed_steps = [f"{event.step_key}: {failure_message(event)}"[:300]
                    for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
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


def empty_folder_message(period: str, period_dir: Path) -> str | None:
    """Why a month must not run when its folder holds no delivered file at all (else None)."""
    from dtks_pipeline.defs.operations.month_state import delivered_files

    if delivered_files(period_dir):
        return None
    return (f"{period_dir} holds no delivery file: nothing was delivered for {period}; refused "
            f"(it would be published from the previous month's data)")


def published_months(warehouse: Path) -> set[str]:
    """Months present in the published warehouse (their payouts were allocated)."""
    import duckdb

    from dtks_pipeline.lib import warehouse as wh

    if not warehouse.exists():
        return set()
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return set()
    try:
        for table in ("payout.allocation_runs", "registry.persons"):
            if wh.table_exists(con, table):
                return {r[0] for r in con.execute(f"SELECT DISTINCT period FROM {table}").fetchall()}
        return set()
    except duckdb.Error as exc:  # unreadable: say so; the month records still guide the plan
        print(f"dtks run: could not read the months of {warehouse} ({exc}); using the run records")
        return set()
    finally:
        con.close()


def _months_without_publication(defs: dg.Definitions) -> list[dg.AssetKey]:
    from dtks_pipeline.defs.operations.assets import PUBLISHED_KEY

    keys = dg.AssetSelection.assets(PUBLISHED_KEY).upstream().resolve(defs.resolve_asset_graph())
    return sorted((k for k in keys if k != PUBLISHED_KEY), key=lambda k: k.to_user_string())


def _print_month_outcome(i: int, n: int, outcome: MonthResult) -> None:
    state = "ok" if outcome.success else "FAILED"
    publication = "" if outcome.published or not outcome.success else ", publication waits for the later months"
    print(f"[{i}/{n}] {outcome.period}: {state} in {outcome.seconds:.1f} s, checks {outcome.checks_passed}/"
          f"{outcome.checks_total} passed{publication}", flush=True)
    # Failed steps were printed as they happened; checks get their full description here.
    for line in [f"check failed: {c}" for c in outcome.failed_checks] + [f"check warning: {c}" for c in outcome.warnings]:
        print(f"    {line}")


def _report_deferred_publication(instance: dg.DagsterInstance, periods: list[str], with_period: str) -> None:
    """Record in the instance that deferred months went out with `with_period`'s publication
    (so the sensor and the UI see them as published). `with_period` is recorded once more,
    last: the sensor takes a month published before its predecessor as stale."""
    from dtks_pipeline.defs.operations.assets import PUBLISHED_KEY

    for period in [*periods, with_period]:
        instance.report_runless_asset_event(dg.AssetMaterialization(
            asset_key=PUBLISHED_KEY, partition=period,
            metadata={"published_with": with_period, "reason": "rebuilt after an earlier month changed"}))


def execute_plan(plan, job, defs, instance, sources: Path, state) -> list[MonthResult]:
    """Run the planned months in order; stop at the first failure and say which month to fix."""
    from dtks_pipeline.defs.operations.month_state import fingerprint

    results: list[MonthResult] = []
    without_publication = None
    deferred: list[MonthResult] = []
    n = len(plan.steps)
    for i, step in enumerate(plan.steps, 1):
        period, period_dir = step.period, sources / step.period
        refused = empty_folder_message(period, period_dir)
        if refused:
            outcome = MonthResult(period, success=False, seconds=0.0, not_run=refused)
            print(f"[{i}/{n}] {period}: FAILED, not run: {refused}", flush=True)
            state.finish(period, ok=False, detail="no delivery file in the month folder", files={})
            results.append(outcome)
            break
        files = fingerprint(period_dir)
        state.start(period, files)
        print(f"[{i}/{n}] {period}: materializing every asset"
              + ("" if step.publish else " (publication waits for the later months)") + " ...", flush=True)
        if not step.publish and without_publication is None:
            without_publication = _months_without_publication(defs)
        outcome = run_month(job, period, instance, None if step.publish else without_publication)
        results.append(outcome)
        state.finish(period, ok=outcome.success, detail="" if outcome.success else outcome.first_failure)
        _print_month_outcome(i, n, outcome)
        if not outcome.success:
            break
        if step.publish:
            if deferred and outcome.published:
                _report_deferred_publication(instance, [r.period for r in deferred], period)
                for r in deferred:
                    r.published = True
            deferred = []
        else:
            deferred.append(outcome)
    failed = next((r for r in results if not r.success), None)
    if failed is not None:
        for step in plan.steps[len(results):]:
            why = f"{failed.period} failed ({failed.first_failure}); fix {failed.period} first"
            print(f"{step.period} not run: {why}", flush=True)
            results.append(MonthResult(step.period, success=False, seconds=0.0, not_run=f"{failed.period} failed; fix it first"))
        if deferred:
            print(f"{', '.join(r.period for r in deferred)} rebuilt but not published: "
                  f"{failed.period} failed, so the published warehouse keeps the months as they were", flush=True)
    return results


def run_months(sources: Path, warehouse: Path, months: str | None = None, job_name: str | None = None,
               wait: bool = False, wait_timeout: float | None = None) -> int:
    """Lock the warehouse, plan and materialize the months, print progress and a summary; return the exit code."""
    from dtks_pipeline.defs.operations.lock import WarehouseBusy, WarehouseLock
    from dtks_pipeline.defs.operations.month_plan import plan_months
    from dtks_pipeline.defs.operations.month_state import OK, MonthState, fingerprint

    sources, warehouse = Path(sources).resolve(), Path(warehouse).resolve()
    try:
        periods = find_months(sources, months)
    except ValueError as exc:
        print(f"dtks run: {exc}")
        return EXIT_BAD_ARGS
    if not periods:
        print(f"dtks run: no month folder (YYYY-MM) in {sources}")
        return EXIT_BAD_ARGS

    lock = WarehouseLock(warehouse)
    try:
        lock.acquire(wait=wait, timeout=wait_timeout,
                     on_wait=lambda msg: print(f"dtks run: {msg}; waiting" + (f" up to {wait_timeout:g} s" if wait_timeout is not None else ""), flush=True))
    except WarehouseBusy as exc:
        print(f"dtks run: {exc}" + ("" if wait else "; not started (use --wait to wait for it)"), flush=True)
        return EXIT_FAILED
    try:
        state = MonthState(warehouse)
        published = published_months(warehouse) or {p for p, r in state.months.items() if r.status == OK}
        plan = plan_months(periods, find_months(sources), state.months, published,
                           lambda p: fingerprint(sources / p))
        if plan.refusal:
            print(f"dtks run: {plan.refusal}")
            print("Status: FAILED, nothing was run; the published warehouse is unchanged")
            return EXIT_FAILED
        return _run_plan(plan, sources, warehouse, job_name, state)
    finally:
        lock.release()


def _run_plan(plan, sources: Path, warehouse: Path, job_name: str | None, state) -> int:
    from dtks_pipeline.definitions import build_definitions
    from dtks_pipeline.defs.operations.stale_runs import release_dead_runs
    from dtks_pipeline.defs.shared import resources_for
    from dtks_pipeline.summary import print_summary, run_status

    # The UI and schedules resolve the same paths through these variables.
    os.environ["DTKS_SOURCES"], os.environ["DTKS_WAREHOUSE"] = str(sources), str(warehouse)
    defs = build_definitions(resources_for(sources, warehouse))
    job = defs.resolve_job_def(job_name or _monthly_job_name())
    instance = _instance()
    periods = plan.periods
    print(f"dtks run: {len(periods)} month(s) {periods[0]}..{periods[-1]} from {sources}")
    for run_id in release_dead_runs(instance):
        print(f"  note: run {run_id[:8]} of an earlier dtks run whose process is gone (killed, out of memory) "
              "was marked failed and its warehouse slot freed")
    for note in plan.notes:
        print(f"  note: {note}")
    results = execute_plan(plan, job, defs, instance, sources, state)
    print_summary(warehouse, periods, results)
    if not all(r.success for r in results):
        return EXIT_FAILED
    return EXIT_QUARANTINE if run_status(warehouse, periods).has_quarantine_or_held else EXIT_OK


def _monthly_job_name() -> str:
    from dtks_pipeline.defs.operations.jobs import MONTHLY_JOB_NAME

    return MONTHLY_JOB_NAME
