"""Run the project's own allocation on published months with two sets of programs.

For each simulated month the registry is read with `allocation.load_registry_month`
and allocated with `allocation.allocate` with the scenario's programs. What was
really paid is payout.payments of the month; eligibility per program under the
programs the month was really allocated with (the baseline) and under the
scenario comes from the same functions (`candidate_families`, `eligible_for`),
so no rule is restated here. (A scenario equal to the real programs file
reproduces payout.payments exactly: the tests check it.)

Incumbency: the first simulated month starts from what was really paid the
month before (payout.payments of P-1, as the pipeline does); each later month
starts from the scenario's own previous month, so a scenario's effect builds up
over the months the way the real allocation would.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from dtks_pipeline.defs.payout.allocation import (
    Allocation,
    RegistryMonth,
    allocate,
    candidate_families,
    eligible_for,
    load_registry_month,
)
from dtks_pipeline.defs.payout.programs import SECTOR_SOURCES, Program, ProgramConfigError, load_programs
from dtks_pipeline.defs.payout.tables import previous_payments
from dtks_pipeline.defs.shared import FIRST_MONTH

REAL_PAYMENT_COLUMNS = ["program", "family_id", "nokk", "recipient_person_id", "kode_desa", "amount_idr"]


@dataclass
class Side:
    """One set of programs applied to one month."""

    programs: list[Program]
    allocation: Allocation | None  # None for the baseline: what was really paid is payout.payments
    eligible: dict[str, set]  # program -> families eligible for it (other programs ignored), with a recipient


@dataclass
class MonthSimulation:
    period: str
    families: pd.DataFrame       # family_id, nokk, kode_desa, desil, status (registry.families of P)
    real_payments: pd.DataFrame  # payout.payments of P: what was really allocated
    baseline: Side
    scenario: Side
    held: set                    # families held for review in P (payout.held): paid by no program


def baseline_programs(con: duckdb.DuckDBPyConnection, period: str) -> list[Program]:
    """The programs file the month was allocated with (payout.allocation_runs), else the configured one."""
    recorded = con.execute(
        "SELECT programs_file FROM payout.allocation_runs WHERE period = ? ORDER BY allocated_at DESC LIMIT 1", [period]
    ).fetchone()
    if recorded and recorded[0] and Path(recorded[0]).is_file():
        try:
            return load_programs(recorded[0])
        except ProgramConfigError:
            pass
    return load_programs()


def _conditions(p: Program) -> tuple:
    """What decides who is eligible for a program (not its quota, amount or months)."""
    return (p.kind, p.desil_min, p.desil_max, p.source)


def eligible_sets(month: RegistryMonth, programs: list[Program], cache: dict | None = None) -> dict[str, set]:
    """Per program paying in P: the families eligible for it with a recipient, other programs ignored.

    `cache` (one per month) shares the work between programs with the same conditions,
    e.g. a scenario program that only changes its quota."""
    cache = {} if cache is None else cache
    if "candidates" not in cache:
        cache["candidates"] = candidate_families(month)
    out = {}
    for p in programs:
        if not p.pays_in(month.period):
            continue
        key = _conditions(p)
        if key not in cache:
            elig = eligible_for(p, month, cache["candidates"])
            cache[key] = set(elig.loc[elig["recipient_person_id"].notna(), "family_id"])
        out[p.code] = cache[key]
    return out


def simulate(con: duckdb.DuckDBPyConnection, months: list[str], scenario_programs: list[Program]) -> list[MonthSimulation]:
    """Baseline and scenario allocation of each month, oldest first (see module doc)."""
    out: list[MonthSimulation] = []
    prev_scen = None
    for i, period in enumerate(months):
        base_programs = baseline_programs(con, period)
        if i == 0:
            prev_scen = previous_payments(con, period, scenario_programs, FIRST_MONTH)
        month = load_registry_month(con, period, SECTOR_SOURCES)
        # Families held for review (payout.held) are read and left out by the allocation itself.
        held = month.held
        allocation = allocate(month, scenario_programs, prev_scen)
        # The allocation reports who met each scenario program's conditions; the baseline
        # reuses those sets for programs whose conditions the scenario left unchanged.
        cache: dict = {_conditions(p): allocation.eligible_families[p.code]
                       for p in scenario_programs if p.code in allocation.eligible_families}
        scen = Side(scenario_programs, allocation, dict(allocation.eligible_families))
        base = Side(base_programs, None, eligible_sets(month, base_programs, cache))
        real = con.execute(
            f"SELECT {', '.join(REAL_PAYMENT_COLUMNS)} FROM payout.payments WHERE period = ?", [period]).df()
        families = month.families[["family_id", "nokk", "kode_desa", "desil", "status"]].copy()
        out.append(MonthSimulation(period, families, real, base, scen, set() if held is None else set(held["family_id"])))
        prev_scen = scen.allocation.payments  # the scenario's incumbents next month
    return out
