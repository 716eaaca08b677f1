"""Monthly schedule and delivery sensor, evaluated against a real (ephemeral) Dagster instance."""
import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from dtks_pipeline.defs.operations.assets import PUBLISHED_KEY
from dtks_pipeline.defs.operations.delivery import AGENCY_FILES, delivery_status
from dtks_pipeline.defs.operations.jobs import MONTHLY_JOB_NAME
from dtks_pipeline.defs.operations.schedules import monthly_schedule, period_before
from dtks_pipeline.defs.operations.sensors import delivery_sensor
from dtks_pipeline.defs.shared import SourcesResource

WITA = ZoneInfo("Asia/Makassar")


@pytest.fixture(autouse=True)
def no_settle_time(monkeypatch):
    """Files written by a test are "just written"; the settle window is tested on its own below."""
    monkeypatch.setenv("DTKS_DELIVERY_SETTLE_SECONDS", "0")


def deliver(root, period, files=AGENCY_FILES):
    folder = root / period
    (folder / "desa").mkdir(parents=True, exist_ok=True)
    for name in files:
        (folder / name).write_text("HEADER\nrow\n")
    return folder


def published(instance, period):
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=PUBLISHED_KEY, partition=period))


@pytest.fixture(scope="module")
def _module_instance():
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture()
def instance(_module_instance):
    """A real instance (SQLite in a temp DAGSTER_HOME), emptied for each test."""
    _module_instance.wipe()
    yield _module_instance


def tick(instance, root):
    ctx = dg.build_sensor_context(instance=instance, resources={"sources": SourcesResource(root=str(root))})
    return delivery_sensor(ctx)


def test_both_start_running():
    assert monthly_schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert delivery_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert monthly_schedule.execution_timezone == "Asia/Makassar" and monthly_schedule.cron_schedule == "0 2 5 * *"


def test_incomplete_month_is_skipped_with_what_is_missing(tmp_path, instance):
    deliver(tmp_path, "2022-10", files=[f for f in AGENCY_FILES if f not in ("umkm.csv", "nelayan.csv")])
    result = tick(instance, tmp_path)
    assert isinstance(result, dg.SkipReason)
    assert "2022-10: missing nelayan.csv, umkm.csv" in result.skip_message


def test_file_still_being_copied_is_not_complete(tmp_path, instance, monkeypatch):
    folder = deliver(tmp_path, "2022-10")
    old = time.time() - 3600
    os.utime(folder / "dtks.csv", (old, old))  # an old modification time (cp -p) does not hide the arrival
    monkeypatch.setenv("DTKS_DELIVERY_SETTLE_SECONDS", "60")
    result = tick(instance, tmp_path)
    assert isinstance(result, dg.SkipReason) and "2022-10: still being written: " in result.skip_message
    assert "dtks.csv" in result.skip_message.split("still being written: ")[1]
    assert delivery_status(folder, now=time.time() + 61).complete


def test_complete_month_starts_a_run_once(tmp_path, instance):
    deliver(tmp_path, "2022-10")
    request = tick(instance, tmp_path)
    assert isinstance(request, dg.RunRequest) and request.partition_key == "2022-10"
    assert request.run_key.startswith("2022-10@")
    assert tick(instance, tmp_path).run_key == request.run_key  # same delivery, same key: Dagster dedups

    published(instance, "2022-10")
    result = tick(instance, tmp_path)
    assert isinstance(result, dg.SkipReason) and "already published" in result.skip_message


def test_months_run_oldest_first_and_late_files_rerun(tmp_path, instance):
    deliver(tmp_path, "2022-10")
    deliver(tmp_path, "2022-11")
    assert tick(instance, tmp_path).partition_key == "2022-10"
    published(instance, "2022-10")
    assert tick(instance, tmp_path).partition_key == "2022-11"
    published(instance, "2022-11")
    assert isinstance(tick(instance, tmp_path), dg.SkipReason)
    # A village file arrives for October after it was published: October is due again.
    late = tmp_path / "2022-10" / "desa" / "5108012001.csv"
    time.sleep(0.01)
    late.write_text("KODE_DESA\n5108012001\n")
    old = time.time() - 7 * 86400
    os.utime(late, (old, old))  # delivered late, with the village's original file date
    request = tick(instance, tmp_path)
    assert request.partition_key == "2022-10"
    assert request.run_key == f"2022-10@{delivery_status(tmp_path / '2022-10').fingerprint}"


def test_a_republished_month_makes_the_months_after_it_due_again(tmp_path, instance):
    for period in ("2022-10", "2022-11", "2022-12"):
        deliver(tmp_path, period)
        published(instance, period)
    assert isinstance(tick(instance, tmp_path), dg.SkipReason)
    time.sleep(0.01)
    published(instance, "2022-10")  # October corrected and published again
    request = tick(instance, tmp_path)
    assert request.partition_key == "2022-11" and request.tags["dtks/rebuild"] == "earlier month republished"
    time.sleep(0.01)
    published(instance, "2022-11")
    assert tick(instance, tmp_path).partition_key == "2022-12"
    time.sleep(0.01)
    published(instance, "2022-12")
    assert isinstance(tick(instance, tmp_path), dg.SkipReason)


def test_no_request_while_a_monthly_run_is_in_progress(tmp_path, instance):
    deliver(tmp_path, "2022-10")
    run = instance.create_run_for_job(dg.Definitions(jobs=[dg.define_asset_job(MONTHLY_JOB_NAME)]).resolve_job_def(MONTHLY_JOB_NAME),
                                      tags={"dagster/partition": "2022-09"})
    instance.handle_run_event(run.run_id, dg.DagsterEvent(
        event_type_value="PIPELINE_STARTING", job_name=MONTHLY_JOB_NAME))
    result = tick(instance, tmp_path)
    assert isinstance(result, dg.SkipReason) and "one at a time" in result.skip_message


def test_schedule_requests_the_previous_month(tmp_path, instance):
    deliver(tmp_path, "2022-11", files=["dtks.csv"])
    ctx = dg.build_schedule_context(instance=instance, scheduled_execution_time=dt.datetime(2022, 12, 5, 2, tzinfo=WITA),
                                    resources={"sources": SourcesResource(root=str(tmp_path))})
    request = monthly_schedule(ctx)
    assert isinstance(request, dg.RunRequest) and request.partition_key == "2022-11"
    assert "missing dukcapil_kematian.csv" in request.tags["dtks/delivery"]

    published(instance, "2022-11")
    assert isinstance(monthly_schedule(ctx), dg.SkipReason)


def test_schedule_skips_an_empty_month(tmp_path, instance):
    (tmp_path / "2022-11" / "desa").mkdir(parents=True)  # the folder exists, nothing was delivered
    ctx = dg.build_schedule_context(instance=instance, scheduled_execution_time=dt.datetime(2022, 12, 5, 2, tzinfo=WITA),
                                    resources={"sources": SourcesResource(root=str(tmp_path))})
    result = monthly_schedule(ctx)
    assert isinstance(result, dg.SkipReason) and "2022-11: nothing delivered" in result.skip_message


def test_period_before_uses_bali_time():
    assert period_before(dt.datetime(2023, 1, 5, 2, tzinfo=WITA)) == "2022-12"
    # 2022-11-30 20:00 UTC is already 1 December 04:00 in Bali.
    assert period_before(dt.datetime(2022, 11, 30, 20, tzinfo=dt.timezone.utc)) == "2022-11"
