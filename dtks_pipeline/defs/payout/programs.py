"""Programs as configuration: load and validate `programs.yaml`.

The file to read is, in order: the `ProgramsResource.path` given to Dagster,
the environment variable DTKS_PROGRAMS, or the packaged `programs.yaml` next to
this module. Nothing about a program (code, amount, months, quota, eligibility,
fill order) lives in Python, so next year's programs need no code change.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import yaml

DEFAULT_PROGRAMS_PATH = Path(__file__).with_name("programs.yaml")
PROGRAMS_ENV_VAR = "DTKS_PROGRAMS"
SECTOR_SOURCES = ("angkutan", "nelayan", "umkm")
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")


class ProgramConfigError(ValueError):
    """The programs file is malformed; the message names the program and field."""


@dataclass(frozen=True)
class Program:
    code: str
    name: str
    amount_idr: int
    months: tuple[str, ...]
    quota: int
    order: int
    kind: str  # "desil" or "sector"
    desil_min: int | None = None
    desil_max: int | None = None
    source: str | None = None  # sector list (person_links.source)
    quota_by_month: dict[str, int] = field(default_factory=dict)

    @property
    def view_name(self) -> str:
        return f"payout.{self.code.lower()}"

    def pays_in(self, period: str) -> bool:
        return period in self.months

    def quota_for(self, period: str) -> int:
        return int(self.quota_by_month.get(period, self.quota))


def _period_range(start: str, end: str) -> tuple[str, ...]:
    y, m = int(start[:4]), int(start[5:])
    out = []
    while f"{y:04d}-{m:02d}" <= end:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return tuple(out)


def _months(code: str, raw) -> tuple[str, ...]:
    if isinstance(raw, dict):
        start, end = str(raw.get("from", "")), str(raw.get("to", ""))
        if not (_PERIOD.match(start) and _PERIOD.match(end)) or start > end:
            raise ProgramConfigError(f"{code}: months needs from/to as YYYY-MM with from <= to, got {raw!r}")
        return _period_range(start, end)
    if isinstance(raw, (list, tuple)):
        months = tuple(sorted(str(m) for m in raw))
        bad = [m for m in months if not _PERIOD.match(m)]
        if bad or not months:
            raise ProgramConfigError(f"{code}: months must be YYYY-MM, got {bad or raw!r}")
        return months
    raise ProgramConfigError(f"{code}: months must be a list or {{from, to}}, got {raw!r}")


def parse_programs(document: dict) -> list[Program]:
    """Validate a parsed YAML document and return the programs in fill order."""
    if not isinstance(document, dict) or not isinstance(document.get("programs"), list):
        raise ProgramConfigError("the programs file needs a top-level list 'programs'")
    programs: list[Program] = []
    for i, raw in enumerate(document["programs"]):
        code = str(raw.get("code", f"#{i + 1}"))
        if not _CODE.match(code):
            raise ProgramConfigError(f"{code}: code must be upper case letters, digits and _")
        for key in ("name", "amount_idr", "months", "quota", "eligibility"):
            if key not in raw:
                raise ProgramConfigError(f"{code}: missing field '{key}'")
        elig = raw["eligibility"] or {}
        kind = elig.get("kind")
        amount, quota = int(raw["amount_idr"]), int(raw["quota"])
        if amount <= 0 or quota < 0:
            raise ProgramConfigError(f"{code}: amount_idr must be > 0 and quota >= 0")
        quota_by_month = {str(k): int(v) for k, v in (raw.get("quota_by_month") or {}).items()}
        common = dict(
            code=code,
            name=str(raw["name"]),
            amount_idr=amount,
            months=_months(code, raw["months"]),
            quota=quota,
            order=int(raw.get("order", i + 1)),
            quota_by_month=quota_by_month,
        )
        if kind == "desil":
            lo, hi = int(elig.get("min", 1)), int(elig.get("max", 10))
            if not 1 <= lo <= hi <= 10:
                raise ProgramConfigError(f"{code}: desil range must satisfy 1 <= min <= max <= 10")
            programs.append(Program(kind="desil", desil_min=lo, desil_max=hi, **common))
        elif kind == "sector":
            source = elig.get("source")
            if source not in SECTOR_SOURCES:
                raise ProgramConfigError(f"{code}: sector source must be one of {SECTOR_SOURCES}, got {source!r}")
            programs.append(Program(kind="sector", source=source, **common))
        else:
            raise ProgramConfigError(f"{code}: eligibility.kind must be 'desil' or 'sector', got {kind!r}")
    codes = [p.code for p in programs]
    if len(set(codes)) != len(codes):
        raise ProgramConfigError(f"duplicate program codes: {codes}")
    orders = [p.order for p in programs]
    if len(set(orders)) != len(orders):
        raise ProgramConfigError(f"duplicate program order values: {orders}")
    return sorted(programs, key=lambda p: p.order)


def resolve_programs_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get(PROGRAMS_ENV_VAR) or DEFAULT_PROGRAMS_PATH)


def load_programs(path: str | Path | None = None) -> list[Program]:
    """Programs from `path`, else $DTKS_PROGRAMS, else the packaged file."""
    resolved = resolve_programs_path(path)
    with open(resolved, encoding="utf-8") as fh:
        return parse_programs(yaml.safe_load(fh))


class ProgramsResource(dg.ConfigurableResource):
    """Where the programs file is. Empty `path`: $DTKS_PROGRAMS, else the packaged file."""

    path: str | None = None

    def load(self) -> list[Program]:
        return load_programs(self.path)

    def resolved_path(self) -> Path:
        return resolve_programs_path(self.path)
