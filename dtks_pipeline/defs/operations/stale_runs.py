"""Runs of `dtks run` whose process died (killed, out of memory) without ending their Dagster run.

Such a run stays STARTED in the instance and keeps its slot of the "duckdb" pool, so every later run,
of any warehouse and of the schedule too, would wait for that slot forever without a word. `dtks run`
tags its runs with its host and process id (`run_tags`); before it starts, `release_dead_runs` marks
the runs of this host whose process is gone as failed and frees their slots. Runs launched by the
daemon (UI, schedule) carry no such tag: the instance's run monitoring (dagster.yaml) handles them.
"""
from __future__ import annotations

import os
import socket

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

HOST_TAG, PID_TAG = "dtks/host", "dtks/pid"
_UNFINISHED = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.NOT_STARTED,
               DagsterRunStatus.CANCELING]


def run_tags() -> dict[str, str]:
    """The tags `dtks run` gives each run: this host and this process."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def release_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail the unfinished runs of this host whose `dtks run` process is gone and free their pool slots;
    return their run ids."""
    host = socket.gethostname()
    released = []
    for run in instance.get_runs(RunsFilter(statuses=_UNFINISHED, tags={HOST_TAG: host})):
        pid = run.tags.get(PID_TAG, "")
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        instance.report_run_failed(run, message=f"the dtks run process {pid} ended without finishing this run")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released
