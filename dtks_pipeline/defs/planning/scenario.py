"""Load and check a scenario programs file against the warehouse it will be run on.

A scenario is a programs file (same schema as `programs.yaml`, validated by
`payout.programs`, which names the file, the program and the field of any
error). On top of that a scenario must fit the data: the simulated months
(`--month` and the N-1 months before it) must be allocated months of the
warehouse, and every scenario program must pay in at least one month of the
data (a program only for months without a registry cannot be simulated).
All of this is checked before anything is written.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from dtks_pipeline.lib.periods import previous_period
from dtks_pipeline.defs.payout.programs import Program, ProgramConfigError, load_programs
from dtks_pipeline.lib.warehouse import table_exists


class ScenarioError(ValueError):
    """The simulation cannot run as asked (bad month, months outside the data)."""


@dataclass(frozen=True)
class Scenario:
    path: Path
    programs: list[Program]
    months: list[str]          # simulated months, oldest first
    data_months: list[str]     # every allocated month of the warehouse


def data_months(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Months with both a registry and an allocation in the warehouse."""
    if not (table_exists(con, "registry.families") and table_exists(con, "payout.allocation_runs")):
        return []
    rows = con.execute(
        """SELECT DISTINCT f.period FROM registry.families f
           JOIN payout.allocation_runs r USING (period) ORDER BY 1"""
    ).fetchall()
    return [r[0] for r in rows]


def simulated_months(month: str, n_months: int, available: list[str]) -> list[str]:
    """`month` and the n-1 months before it; each must be in the data."""
    span = _range(available)
    if month not in available:
        raise ScenarioError(f"--month {month} is outside the data: the warehouse holds {span}")
    if n_months < 1:
        raise ScenarioError(f"--months must be >= 1, got {n_months}")
    months = [month]
    while len(months) < n_months:
        months.insert(0, previous_period(months[0]))
    missing = [m for m in months if m not in available]
    if missing:
        raise ScenarioError(
            f"--months {n_months} from {month} needs {months[0]}..{month}, but {', '.join(missing)} "
            f"is outside the data ({span})")
    return months


def _range(months: list[str]) -> str:
    return f"{months[0]}..{months[-1]}" if months else "no allocated month"


def check_months_in_data(path: Path, programs: list[Program], available: list[str]) -> None:
    """Every scenario program pays in at least one month of the data (a program configured only for
    months without a registry cannot be simulated: it is a mistake, not a zero), and a quota_by_month
    names one of the program's own months. A programs file may well run beyond the last month
    delivered so far (a year's programs are configured ahead); those months are simply not simulated."""
    have = set(available)
    for p in programs:
        if not have.intersection(p.months):
            raise ProgramConfigError(
                p.code, "months", f"{p.months[0]}..{p.months[-1]} lies outside the data ({_range(available)}): "
                "only months with a registry can be simulated", path)
        stray = [m for m in p.quota_by_month if m not in p.months]
        if stray:
            raise ProgramConfigError(p.code, "quota_by_month", f"{', '.join(stray)} is not one of the program's months", path)


def load_scenario(path: str | Path, con: duckdb.DuckDBPyConnection, month: str, n_months: int = 1) -> Scenario:
    """The validated scenario; raises ProgramConfigError (file/program/field) or ScenarioError."""
    path = Path(path)
    if not path.is_file():
        raise ProgramConfigError(None, None, "scenario file not found", path)
    programs = load_programs(path)
    available = data_months(con)
    months = simulated_months(month, n_months, available)
    check_months_in_data(path, programs, available)
    return Scenario(path=path, programs=programs, months=months, data_months=available)
