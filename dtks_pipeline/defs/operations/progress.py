"""Progress of a month while it runs: one short line per stage, from Dagster's own events.

A Dagster logger (`progress_logger`) receives every event of the in-process run.
When an asset step ends it prints the step, its duration and its row counts (for
ingestion also rows per second); consecutive check steps are folded into one line
per stage ("checks of registry: 7 passed in 8.7 s, slowest ..."). An asset whose
metadata has `stage seconds` (the registry's named stages, publication) gets a
second line with them. A step still running after `heartbeat` seconds (60 by
default, $DTKS_PROGRESS_HEARTBEAT; a registry step at 250k families takes minutes) is named with its
elapsed time at every further interval, so a long month never looks stalled.
A failure is printed as soon as it happens, in one line. Counts only: no
personal data.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

import dagster as dg

try:  # where Dagster puts the structured event on a log record (not public API)
    from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR
except ImportError:  # pragma: no cover - a later Dagster moved it
    LOG_RECORD_METADATA_ATTR = "dagster_meta"

LOGGER_NAME = "dtks_progress"
INDENT = "    "
RUN_END = {"PIPELINE_SUCCESS", "PIPELINE_FAILURE", "PIPELINE_CANCELED"}
HEARTBEAT_SECONDS = 60.0
HEARTBEAT_ENV_VAR = "DTKS_PROGRESS_HEARTBEAT"  # seconds; 0 turns the "still running" lines off
STAGE_SECONDS = "stage seconds"  # metadata key: {stage name: seconds} of an asset's named stages


def failure_message(event) -> str:
    """The first line of the error that caused a step failure (Dagster wraps it in its own)."""
    error = event.event_specific_data.error if event.event_specific_data else None
    while error is not None and error.cause is not None:
        error = error.cause
    if error is None or not error.message.strip():
        return "failed"
    line = error.message.strip().splitlines()[0]
    return line.split(": ", 1)[1] if line.startswith(("dagster.", "_duckdb.", "duckdb.")) and ": " in line else line


def _value(metadata: dict, key: str) -> int | None:
    item = metadata.get(key)
    value = getattr(item, "value", item)
    return int(value) if isinstance(value, (int, float)) else None


@dataclass
class _Checks:
    stage: str
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    seconds: float = 0.0
    slowest: tuple[float, str] = (0.0, "")


class ProgressPrinter(logging.Handler):
    """Turns Dagster events into progress lines on `out`."""

    def __init__(self, out: TextIO | None = None, heartbeat: float | None = HEARTBEAT_SECONDS):
        super().__init__(level=logging.DEBUG)
        self.out = out
        self._materialized: dict[str, list[tuple[str, dict]]] = {}
        self._check_of_step: dict[str, tuple[str, str, bool, bool]] = {}
        self._checks: _Checks | None = None
        self.heartbeat = heartbeat
        self._running: dict[str, float] = {}  # step key -> monotonic start
        self._print_lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def _print(self, line: str) -> None:
        with self._print_lock:  # the heartbeat thread prints too
            print(INDENT + line, file=self.out or sys.stdout, flush=True)

    def _start_ticker(self) -> None:
        if self._ticker is None and self.heartbeat:
            self._ticker = threading.Thread(target=self._tick, name="dtks-progress", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        """Every `heartbeat` seconds, name the steps that have run for at least that long."""
        while not self._stop.wait(self.heartbeat):
            now = time.monotonic()
            for step, started in sorted(self._running.copy().items(), key=lambda kv: kv[1]):
                if now - started >= self.heartbeat:
                    self._print(f"{step:<34} still running ({_elapsed(now - started)})")

    def _flush_checks(self) -> None:
        group, self._checks = self._checks, None
        if group is None:
            return
        parts = [f"{group.passed} passed"]
        if group.failed:
            parts.append(f"{len(group.failed)} FAILED ({', '.join(group.failed)})")
        if group.warned:
            parts.append(f"{len(group.warned)} warning(s) ({', '.join(group.warned)})")
        slow = f", slowest {group.slowest[1]} {group.slowest[0]:.1f} s" if group.slowest[1] and group.seconds >= 1 else ""
        self._print(f"{'checks of ' + group.stage:<34} {', '.join(parts)} in {group.seconds:.1f} s{slow}")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            meta = getattr(record, LOG_RECORD_METADATA_ATTR, None) or {}
            event = meta.get("dagster_event")
            if event is not None:
                self._on_event(event)
        except Exception:  # progress must never break a run
            pass

    def _on_event(self, event) -> None:
        kind = event.event_type_value
        step = event.step_key or ""
        if kind == "STEP_START":
            self._running[step] = time.monotonic()
            self._start_ticker()
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            self._running.pop(step, None)
        if kind == "ASSET_MATERIALIZATION":
            m = event.event_specific_data.materialization
            self._materialized.setdefault(step, []).append((m.asset_key.to_user_string(), dict(m.metadata)))
        elif kind == "ASSET_CHECK_EVALUATION":
            e = event.event_specific_data
            warn = e.severity == dg.AssetCheckSeverity.WARN
            self._check_of_step[step] = (e.asset_key.path[0], f"{e.asset_key.to_user_string()}:{e.check_name}", e.passed, warn)
        elif kind == "STEP_SUCCESS":
            seconds = (event.event_specific_data.duration_ms or 0) / 1000
            if step in self._check_of_step:
                self._on_check(step, seconds)
            else:
                self._flush_checks()
                self._on_asset(step, seconds)
        elif kind == "STEP_FAILURE":
            self._flush_checks()
            self._print(f"FAILED {step}: {failure_message(event)}"[:300])
        elif kind in RUN_END:
            self._flush_checks()
            self._running.clear()
            self._stop.set()

    def _on_check(self, step: str, seconds: float) -> None:
        stage, name, passed, warn = self._check_of_step[step]
        if self._checks is None or self._checks.stage != stage:
            self._flush_checks()
            self._checks = _Checks(stage)
        group = self._checks
        group.seconds += seconds
        if seconds > group.slowest[0]:
            group.slowest = (seconds, name)
        if passed:
            group.passed += 1
        elif warn:
            group.warned.append(name)
        else:
            group.failed.append(name)

    def _on_asset(self, step: str, seconds: float) -> None:
        assets = self._materialized.pop(step, [])
        if not assets:
            self._print(f"{step:<34} {seconds:.1f} s")
            return
        if len(assets) == 1 and assets[0][0].startswith("staging/"):
            name, metadata = assets[0]
            staged = _value(metadata, "dagster/row_count") or 0
            rejected = _value(metadata, "rows_rejected") or 0
            quarantined = _value(metadata, "rows_quarantined") or 0
            read = staged + rejected + quarantined
            rate = f" ({read / seconds:,.0f} rows/s)" if seconds > 0 and read else ""
            extra = f" + {quarantined:,} quarantined" if quarantined else ""
            self._print(f"{name:<34} {staged:,} staged + {rejected:,} rejected{extra} in {seconds:.1f} s{rate}")
            return
        prefix = assets[0][0].split("/")[0]
        counts = []
        for name, metadata in assets:
            rows = _value(metadata, "dagster/row_count")
            if rows is not None:
                counts.append(f"{name.split('/', 1)[-1]} {rows:,}")
        label = assets[0][0] if len(assets) == 1 else f"{prefix} ({len(assets)} tables)"
        self._print(f"{label:<34} " + (f"{', '.join(counts)} in " if counts else "") + f"{seconds:.1f} s")
        stages = next((_stages(metadata) for _, metadata in assets if _stages(metadata)), None)
        if stages:
            self._print(f"{'':<34} stages: " + ", ".join(f"{name} {sec:.1f} s" for name, sec in stages))


def _stages(metadata: dict) -> list[tuple[str, float]]:
    """The `stage seconds` metadata of an asset as (stage, seconds), in the asset's order."""
    item = metadata.get(STAGE_SECONDS)
    value = getattr(item, "value", item)
    if not isinstance(value, dict):
        return []
    return [(str(k), float(v)) for k, v in value.items() if isinstance(v, (int, float))]


def _elapsed(seconds: float) -> str:
    minutes, sec = divmod(int(seconds), 60)
    return f"{minutes} min {sec:02d} s" if minutes else f"{sec} s"


def progress_logger_def(out: TextIO | None = None, heartbeat: float | None = None) -> dg.LoggerDefinition:
    """A Dagster logger printing progress lines to `out` (default: stdout at print time)."""
    if heartbeat is None:
        heartbeat = float(os.environ.get(HEARTBEAT_ENV_VAR) or HEARTBEAT_SECONDS)

    @dg.logger(description="dtks run progress: one line per stage")
    def progress_logger(_init_context) -> logging.Logger:
        logger = logging.Logger(LOGGER_NAME, level=logging.DEBUG)
        logger.addHandler(ProgressPrinter(out, heartbeat))
        return logger

    return progress_logger
