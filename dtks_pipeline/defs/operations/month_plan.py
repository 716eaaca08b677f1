"""Which months a `dtks run` must build, in which order, and when it may publish.

Every month builds on the one before (statuses never revert, incumbents keep their
place), so the published history is consistent only if a month is rebuilt whenever
an earlier one changes:

- **later months follow**: when the run rebuilds month M and months after M are
  already published, those months are rebuilt too, in order;
- **a re-delivered earlier month comes first**: when a month before the requested
  ones has files that differ (sha256) from those its last run read, the run starts
  there;
- **a failed previous month stops the run** before anything is touched: the month
  to fix first is named;
- **publication waits for the chain**: a rebuilt month is published together with
  the last already-published month after it, never paired with a stale successor.

Pure planning: the caller passes what is known (folders, month records, published
months, current fingerprints) and prints the notes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from dtks_pipeline.defs.operations.month_state import FAILED, OK, RUNNING, MonthRecord, changed_files


@dataclass
class MonthStep:
    period: str
    publish: bool = True  # False: a later month of the plan is published; publication waits for it


@dataclass
class Plan:
    steps: list[MonthStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the run prints before starting
    refusal: str | None = None  # the run must not start (a previous month failed)

    @property
    def periods(self) -> list[str]:
        return [s.period for s in self.steps]


def _failed_note(period: str, prev: str, record: MonthRecord) -> str:
    if record.status == RUNNING:
        why = f"its run started {record.started_at} did not finish (interrupted)"
    else:
        why = f"failed: {record.detail}" if record.detail else "failed"
    return f"{period} not run: {prev} {why}; fix {prev} first (dtks run --months {prev}:{period})"


def plan_months(
    requested: list[str],
    folders: list[str],
    records: dict[str, MonthRecord],
    published: set[str],
    current_files: Callable[[str], dict[str, str]],
) -> Plan:
    """Plan a run of `requested` (contiguous, in order) given the month folders found,
    the month records of earlier runs, the months in the published warehouse, and a
    function giving the current {file: sha256} of a month folder."""
    plan = Plan()
    if not requested:
        return plan
    first, last = requested[0], requested[-1]

    # A re-delivered earlier month: the earliest one whose files changed since its run.
    earlier = [m for m in folders if m < first]
    start = first
    for period in earlier:
        record = records.get(period)
        if record is None or not record.files:
            continue
        changed = changed_files(record.files, current_files(period))
        if changed:
            shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            plan.notes.append(f"{period} was re-delivered ({shown} changed since its last run): "
                              f"rebuilding from {period}")
            start = period
            break
    chain = [m for m in folders if start <= m < first] + list(requested)
    if [m for m in folders if start <= m <= last] != chain:
        chain = list(requested)  # a gap in the folders: months cannot be chained across it

    # The month before the plan must have succeeded (or be first of all).
    before = [m for m in folders if m < chain[0]]
    if before:
        prev = before[-1]
        record = records.get(prev)
        if record is not None and record.status in (FAILED, RUNNING):
            plan.refusal = _failed_note(chain[0], prev, record)
            return plan

    # Later months already published are built on these: rebuild them too.
    later_published = [m for m in folders if m > last and m in published]
    if later_published:
        tail = []
        for m in (f for f in folders if f > last):
            if m > later_published[-1]:
                break
            tail.append(m)
        plan.notes.append(f"{', '.join(tail)} {'is' if len(tail) == 1 else 'are'} published and built on "
                          f"{last}: rebuilt too, in order")
        chain += tail

    for i, period in enumerate(chain):
        waits = any(m in published for m in chain[i + 1:])
        plan.steps.append(MonthStep(period, publish=not waits))
    deferred = [s.period for s in plan.steps if not s.publish]
    if deferred:
        at = next(s.period for s in plan.steps if s.period > deferred[-1])
        plan.notes.append(f"{', '.join(deferred)} will be published together with {at} "
                          f"(the published history never pairs a rebuilt month with a stale one)")
    return plan


def is_ok(record: MonthRecord | None) -> bool:
    return record is not None and record.status == OK
