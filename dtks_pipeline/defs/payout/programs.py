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


# The programs-file schema, declared once: every field a program may have, which
# are required, and the fields of each eligibility kind. A field not listed here
# is an error (a typo such as `qouta` must not silently keep the default).
TOP_LEVEL_FIELDS = ("programs",)
PROGRAM_FIELDS = ("code", "name", "amount_idr", "months", "quota", "order", "eligibility", "quota_by_month")
REQUIRED_FIELDS = ("name", "amount_idr", "months", "quota", "eligibility")
ELIGIBILITY_FIELDS = {"desil": ("kind", "min", "max"), "sector": ("kind", "source")}


class ProgramConfigError(ValueError):
    """The programs file is malformed; the message names the file, the program and the field."""

    def __init__(self, program: str | None, field: str | None, reason: str, file: str | Path | None = None):
        self.program, self.field, self.reason, self.file = program, field, reason, file
        where = ", ".join(part for part in (
            f"program {program}" if program else None, f"field {field}" if field else None) if part)
        text = f"{where}: {reason}" if where else reason
        super().__init__(f"{file}: {text}" if file else text)

    def in_file(self, file: str | Path) -> "ProgramConfigError":
        """The same error, naming the file it came from."""
        return ProgramConfigError(self.program, self.field, self.reason, file)


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
        unknown = sorted(set(map(str, raw)) - {"from", "to"})
        if unknown:
            raise ProgramConfigError(code, "months", f"unknown key(s) {unknown}; a range has only 'from' and 'to'")
        start, end = str(raw.get("from", "")), str(raw.get("to", ""))
        if not (_PERIOD.match(start) and _PERIOD.match(end)) or start > end:
            raise ProgramConfigError(code, "months", f"needs from/to as YYYY-MM with from <= to, got {raw!r}")
        return _period_range(start, end)
    if isinstance(raw, (list, tuple)):
        months = tuple(sorted(str(m) for m in raw))
        bad = [m for m in months if not _PERIOD.match(m)]
        if bad or not months:
            raise ProgramConfigError(code, "months", f"must be YYYY-MM, got {bad or raw!r}")
        return months
    raise ProgramConfigError(code, "months", f"must be a list or {{from, to}}, got {raw!r}")


def _integer(code: str, field_name: str, raw, minimum: int) -> int:
    """An integer field >= minimum (YAML gives int; a bool or "12x" is an error, not 1 or a crash)."""
    if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not str(raw).strip().lstrip("-").isdigit():
        raise ProgramConfigError(code, field_name, f"must be a whole number, got {raw!r}")
    value = int(raw)
    if value < minimum:
        raise ProgramConfigError(code, field_name, f"must be >= {minimum}, got {value}")
    return value


def _reject_unknown(code: str, raw: dict, allowed, prefix: str = "") -> None:
    unknown = [str(k) for k in raw if str(k) not in allowed]
    if unknown:
        raise ProgramConfigError(code, f"{prefix}{unknown[0]}", f"unknown field (allowed: {', '.join(allowed)})")


def parse_program(raw: dict, i: int) -> Program:
    """One program entry (the i-th, 0-based) validated against the schema above."""
    if not isinstance(raw, dict):
        raise ProgramConfigError(f"#{i + 1}", None, f"each program must be a mapping of fields, got {raw!r}")
    code = str(raw.get("code", f"#{i + 1}"))
    if not _CODE.match(code):
        raise ProgramConfigError(code, "code", "code must be upper case letters, digits and _")
    _reject_unknown(code, raw, PROGRAM_FIELDS)
    for key in REQUIRED_FIELDS:
        if key not in raw:
            raise ProgramConfigError(code, key, f"missing field '{key}'")
    elig = raw["eligibility"] or {}
    if not isinstance(elig, dict):
        raise ProgramConfigError(code, "eligibility", f"must be a mapping with 'kind', got {elig!r}")
    kind = elig.get("kind")
    if kind not in ELIGIBILITY_FIELDS:
        raise ProgramConfigError(code, "eligibility.kind", f"must be 'desil' or 'sector', got {kind!r}")
    _reject_unknown(code, elig, ELIGIBILITY_FIELDS[kind], prefix="eligibility.")
    amount = _integer(code, "amount_idr", raw["amount_idr"], 1)
    quota = _integer(code, "quota", raw["quota"], 0)
    by_month = raw.get("quota_by_month") or {}
    if not isinstance(by_month, dict):
        raise ProgramConfigError(code, "quota_by_month", f"must map YYYY-MM to a quota, got {by_month!r}")
    quota_by_month = {}
    for month, value in by_month.items():
        if not _PERIOD.match(str(month)):
            raise ProgramConfigError(code, "quota_by_month", f"month {month!r} is not YYYY-MM")
        quota_by_month[str(month)] = _integer(code, f"quota_by_month.{month}", value, 0)
    common = dict(
        code=code,
        name=str(raw["name"]),
        amount_idr=amount,
        months=_months(code, raw["months"]),
        quota=quota,
        order=_integer(code, "order", raw.get("order", i + 1), 0),
        quota_by_month=quota_by_month,
    )
    if kind == "desil":
        lo = _integer(code, "eligibility.min", elig.get("min", 1), 1)
        hi = _integer(code, "eligibility.max", elig.get("max", 10), 1)
        if not 1 <= lo <= hi <= 10:
            raise ProgramConfigError(code, "eligibility.min/max", "desil range must satisfy 1 <= min <= max <= 10")
        return Program(kind="desil", desil_min=lo, desil_max=hi, **common)
    source = elig.get("source")
    if source not in SECTOR_SOURCES:
        raise ProgramConfigError(code, "eligibility.source", f"sector source must be one of {SECTOR_SOURCES}, got {source!r}")
    return Program(kind="sector", source=source, **common)


def parse_programs(document: dict) -> list[Program]:
    """Validate a parsed YAML document and return the programs in fill order."""
    if not isinstance(document, dict) or not isinstance(document.get("programs"), list):
        raise ProgramConfigError(None, "programs", "the programs file needs a top-level list 'programs'")
    _reject_unknown(None, document, TOP_LEVEL_FIELDS)
    programs = [parse_program(raw, i) for i, raw in enumerate(document["programs"])]
    seen: dict[str, int] = {}
    for i, p in enumerate(programs):
        if p.code in seen:
            raise ProgramConfigError(
                p.code, "code", f"duplicate program codes: entries {seen[p.code] + 1} and {i + 1} both use {p.code}")
        seen[p.code] = i
    by_order: dict[int, str] = {}
    for p in programs:
        if p.order in by_order:
            raise ProgramConfigError(p.code, "order", f"duplicate program order values: {p.order} is also {by_order[p.order]}'s")
        by_order[p.order] = p.code
    return sorted(programs, key=lambda p: p.order)


def resolve_programs_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get(PROGRAMS_ENV_VAR) or DEFAULT_PROGRAMS_PATH)


def load_programs(path: str | Path | None = None) -> list[Program]:
    """Programs from `path`, else $DTKS_PROGRAMS, else the packaged file."""
    resolved = resolve_programs_path(path)
    with open(resolved, encoding="utf-8") as fh:
        try:
            document = yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            raise ProgramConfigError(None, None, f"not valid YAML: {exc}", resolved) from exc
    try:
        return parse_programs(document)
    except ProgramConfigError as exc:
        raise exc.in_file(resolved) from None


class ProgramsResource(dg.ConfigurableResource):
    """Where the programs file is. Empty `path`: $DTKS_PROGRAMS, else the packaged file."""

    path: str | None = None

    def load(self) -> list[Program]:
        return load_programs(self.path)

    def resolved_path(self) -> Path:
        return resolve_programs_path(self.path)
