"""The Great Expectations suites of the main warehouse tables, as plain data.

One suite per table and month. An expectation is written here as an `Expect`
(the GX class name and its keyword arguments), not as a GX object, so that
this module imports neither Great Expectations (3-4 s) nor Dagster: the suites
can be listed, documented and tested cheaply, and `gx_run` turns them into GX
objects only when a check runs.

What the suites assert (WAREHOUSE.md, CONTRACTS.md, programs.yaml):

- the table's key is not null and unique within the month;
- coded columns hold their documented codes (person status, family status,
  exclusion reasons, entry_reason, change and its reason, program codes);
- NIK and NOKK are 16 digits. GX never sees them in clear: `frames` masks
  them to the project's form (`510801********01`, digits in the middle turned
  into `*`, anything else into `?`), so "16 digits" is checked as "6 digits,
  8 stars, 2 digits", which holds exactly when the original was 16 digits;
- village codes are Buleleng's (`lib.regions.village_codes()`), desil 1..10;
- payout amounts equal the configured amount of their program;
- the row count lies within a band (default +-20 %) of the previous month's
  count when the previous month has rows: a WARN for every table, which does
  not block. payout.changes has no band: it is a month-on-month difference
  whose size is not stable by nature.

Which failures block (ERROR) and which only warn (WARN). A blocking GX check
stops everything downstream of its table, the payouts of the whole regency
included, so only a failure that means the table itself is wrong blocks:

- ERROR: integrity. A key null or duplicated, an id or NIK/NOKK of the wrong
  shape, a code outside its documented set, an unknown village, a desil out
  of range, an amount other than the configured one, rows in a month no
  program pays. Ingestion validates every row before it is staged, so any of
  these in a registry or payout table is a fault of the pipeline's output,
  and paying from it would pay wrongly;
- ERROR: a registry table (persons, families) whose row count moved by more
  than half (`hard_band`, +-50 %) against the previous month: no plausible
  month does that; it is a lost or doubled delivery;
- WARN: plausibility. The +-20 % band on every table: a registry that grew by
  a fifth after a village census, exclusions that accumulate, a program that
  starts. The month is paid and published; the warning shows in the run
  summary, in Dagster and on the Data Docs month page for a person to look at.

Every expectation carries `meta = {"label", "severity"}`: the label names it
in Dagster metadata, the severity (ERROR or WARN) decides whether its failure
blocks the month.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

ERROR = "ERROR"
WARN = "WARN"

PERSON_STATUS = ("AKTIF", "MENINGGAL", "PINDAH")
FAMILY_STATUS = ("AKTIF", "TIDAK_AKTIF", "DIKECUALIKAN")
EXCLUSION_REASONS = ("MENINGGAL", "PINDAH", "MAMPU_MOBIL", "MAMPU_DESA", "TIDAK_DITEMUKAN")
ENTRY_REASONS = ("LANJUTAN", "BARU")
CHANGES = ("MASUK", "KELUAR")
# payout.changes.reason_code per change (payout/allocation.py docstring).
MASUK_REASONS = ("BARU",)
KELUAR_REASONS = (
    "PROGRAM_SELESAI", "TIDAK_ADA_DI_REGISTRI", "MAMPU_MOBIL", "MAMPU_DESA", "TIDAK_DITEMUKAN",
    "MENINGGAL", "PINDAH", "TIDAK_AKTIF", "DIKECUALIKAN", "DESIL_TIDAK_MEMENUHI",
    "TIDAK_TERDAFTAR_SEKTOR", "PROGRAM_LAIN", "TANPA_PENERIMA", "TURUN_PERINGKAT", "DITAHAN",
)
JENIS_KELAMIN = ("L", "P")
PERSON_ID = r"^P\d{8}$"
FAMILY_ID = r"^K\d{8}$"
# A NIK/NOKK after `frames.mask_id_shape`: matches exactly when the original was 16 digits.
MASKED_16_DIGITS = r"^\d{6}\*{8}\d{2}$"
DEFAULT_BAND = 0.20


@dataclass(frozen=True)
class Expect:
    """One expectation: a GX 1.x class name (`great_expectations.expectations.<type>`) and its kwargs."""

    type: str
    kwargs: dict
    severity: str = ERROR
    qualifier: str | None = None  # tells two expectations of one type on the table apart, e.g. "+-50%"

    @property
    def label(self) -> str:
        """`expect_column_values_to_be_unique(person_id)`: how metadata and tests name it."""
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", self.type).lower()
        if self.qualifier:
            return f"{snake}({self.qualifier})"
        cols = self.kwargs.get("column") or self.kwargs.get("column_list")
        if cols is None and "column_A" in self.kwargs:
            cols = [self.kwargs["column_A"], self.kwargs["column_B"]]
        if cols is None:
            return snake
        return f"{snake}({cols if isinstance(cols, str) else ', '.join(cols)})"


@dataclass(frozen=True)
class SuiteContext:
    """What a month's suite depends on besides the table itself."""

    period: str
    village_codes: frozenset[str]
    programs_paying: tuple[str, ...]  # codes of the programs paying in `period`
    programs_all: tuple[str, ...]  # every configured program code
    previous_rows: int | None = None  # the table's row count in the previous month (None: no rows)
    programs_paying_previous: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSuite:
    """A table, the columns read for it, its key and its row-count band."""

    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    band: float | None = DEFAULT_BAND
    band_severity: str = WARN
    hard_band: float | None = None  # a wider band whose failure is an ERROR (see the module doc)
    payout: bool = False  # the row count follows the programs paying in the month
    derived: tuple[str, ...] = field(default_factory=tuple)  # columns `frames` adds

    @property
    def asset_path(self) -> list[str]:
        return self.table.split(".")


def _not_null(*cols: str) -> list[Expect]:
    return [Expect("ExpectColumnValuesToNotBeNull", {"column": c}) for c in cols]


def _key(cols: Sequence[str]) -> list[Expect]:
    out = _not_null(*cols)
    if len(cols) == 1:
        out.append(Expect("ExpectColumnValuesToBeUnique", {"column": cols[0]}))
    else:
        out.append(Expect("ExpectCompoundColumnsToBeUnique", {"column_list": list(cols)}))
    return out


def _in_set(col: str, values: Iterable[str]) -> Expect:
    return Expect("ExpectColumnValuesToBeInSet", {"column": col, "value_set": sorted(values)})


def _regex(col: str, pattern: str) -> Expect:
    return Expect("ExpectColumnValuesToMatchRegex", {"column": col, "regex": pattern})


def _sixteen_digits(*cols: str) -> list[Expect]:
    return [_regex(c, MASKED_16_DIGITS) for c in cols]


def _villages(ctx: SuiteContext, col: str = "kode_desa") -> list[Expect]:
    return [*_not_null(col), _in_set(col, ctx.village_codes)]


def _band(previous_rows: int, band: float, severity: str, qualifier: str | None = None) -> Expect:
    lo = math.floor(previous_rows * (1 - band))
    hi = math.ceil(previous_rows * (1 + band))
    return Expect("ExpectTableRowCountToBeBetween", {"min_value": lo, "max_value": hi}, severity, qualifier)


def row_count_bands(suite: TableSuite, ctx: SuiteContext) -> list[Expect]:
    """The row-count expectations of the month ([] when there is nothing to compare with)."""
    if suite.payout and not ctx.programs_paying:
        # No program pays this month: the table must be empty.
        return [Expect("ExpectTableRowCountToEqual", {"value": 0}, ERROR)]
    if suite.band is None or not ctx.previous_rows:
        return []
    if suite.payout and set(ctx.programs_paying) != set(ctx.programs_paying_previous):
        return []  # a program started or ended: last month is no yardstick
    out = [_band(ctx.previous_rows, suite.band, suite.band_severity)]
    if suite.hard_band is not None:
        out.append(_band(ctx.previous_rows, suite.hard_band, ERROR, f"+-{suite.hard_band:.0%}"))
    return out


PERSONS = TableSuite(
    "registry.persons",
    ("person_id", "nik", "nokk", "family_id", "jenis_kelamin", "kode_desa", "status"),
    key=("person_id",), hard_band=0.5,
)
FAMILIES = TableSuite(
    "registry.families",
    ("family_id", "nokk", "kepala_person_id", "kode_desa", "desil", "n_anggota_aktif", "status"),
    key=("family_id",), hard_band=0.5, derived=("nokk_pseudonym",),
)
EXCLUSIONS = TableSuite(
    "registry.exclusions",
    ("family_id", "person_id", "reason_code", "evidence_source"),
    key=("exclusion_key",), derived=("exclusion_key",),
    # Exclusions accumulate (a death or a move out never reverts), so early months grow
    # fast: a 20 % band warned every month on the default sample (+38 % in November).
    band=0.5,
)
PAYMENTS = TableSuite(
    "payout.payments",
    ("program", "family_id", "nokk", "recipient_person_id", "recipient_nik", "kode_desa", "amount_idr", "rank", "entry_reason"),
    key=("family_id",), payout=True, derived=("configured_amount_idr",),
)
WAITING_LIST = TableSuite(
    "payout.waiting_list", ("program", "family_id", "rank"), key=("program", "family_id"), payout=True,
)
CHANGES_SUITE = TableSuite(
    "payout.changes", ("program", "family_id", "change", "reason_code"), key=("program", "family_id"), band=None,
)
SUMMARY = TableSuite(
    "payout.summary",
    ("program", "kode_kecamatan", "kode_desa", "n_kpm", "amount_idr"),
    key=("program", "kode_desa"), payout=True, derived=("kecamatan_of_desa", "configured_amount_idr"),
)

SUITES: dict[str, TableSuite] = {s.table: s for s in (PERSONS, FAMILIES, EXCLUSIONS, PAYMENTS, WAITING_LIST, CHANGES_SUITE, SUMMARY)}


def _table_expectations(suite: TableSuite, ctx: SuiteContext) -> list[Expect]:
    t = suite.table
    if t == "registry.persons":
        return [
            _regex("person_id", PERSON_ID), *_not_null("nik", "nokk", "family_id", "status"),
            *_sixteen_digits("nik", "nokk"), _regex("family_id", FAMILY_ID),
            _in_set("jenis_kelamin", JENIS_KELAMIN), _in_set("status", PERSON_STATUS), *_villages(ctx),
        ]
    if t == "registry.families":
        return [
            _regex("family_id", FAMILY_ID), *_not_null("nokk", "status"), *_sixteen_digits("nokk"),
            # one family per NOKK, checked on a per-run keyed pseudonym (frames), never on the NOKK
            Expect("ExpectColumnValuesToBeUnique", {"column": "nokk_pseudonym"}),
            _regex("kepala_person_id", PERSON_ID), *_villages(ctx),
            Expect("ExpectColumnValuesToBeBetween", {"column": "desil", "min_value": 1, "max_value": 10}),
            Expect("ExpectColumnValuesToBeBetween", {"column": "n_anggota_aktif", "min_value": 0}),
            _in_set("status", FAMILY_STATUS),
        ]
    if t == "registry.exclusions":
        return [
            *_not_null("family_id", "reason_code", "evidence_source"), _regex("family_id", FAMILY_ID),
            _regex("person_id", PERSON_ID), _in_set("reason_code", EXCLUSION_REASONS),
        ]
    if t == "payout.payments":
        return [
            *_not_null("program", "nokk", "recipient_person_id", "recipient_nik", "amount_idr", "rank", "entry_reason"),
            _in_set("program", ctx.programs_paying), _regex("family_id", FAMILY_ID),
            _regex("recipient_person_id", PERSON_ID), *_sixteen_digits("nokk", "recipient_nik"), *_villages(ctx),
            Expect("ExpectColumnPairValuesToBeEqual", {"column_A": "amount_idr", "column_B": "configured_amount_idr"}),
            Expect("ExpectColumnValuesToBeBetween", {"column": "rank", "min_value": 1}),
            _in_set("entry_reason", ENTRY_REASONS),
        ]
    if t == "payout.waiting_list":
        return [
            _in_set("program", ctx.programs_paying), _regex("family_id", FAMILY_ID), *_not_null("rank"),
            Expect("ExpectColumnValuesToBeBetween", {"column": "rank", "min_value": 1}),
        ]
    if t == "payout.changes":
        pairs = [[c, r] for c, reasons in (("MASUK", MASUK_REASONS), ("KELUAR", KELUAR_REASONS)) for r in reasons]
        return [
            _in_set("program", ctx.programs_all), _regex("family_id", FAMILY_ID), *_not_null("change", "reason_code"),
            _in_set("change", CHANGES),
            Expect("ExpectColumnPairValuesToBeInSet", {"column_A": "change", "column_B": "reason_code", "value_pairs_set": pairs}),
        ]
    if t == "payout.summary":
        return [
            _in_set("program", ctx.programs_paying), *_villages(ctx),
            Expect("ExpectColumnPairValuesToBeEqual", {"column_A": "kode_kecamatan", "column_B": "kecamatan_of_desa"}),
            Expect("ExpectColumnValuesToBeBetween", {"column": "n_kpm", "min_value": 1}),
            Expect("ExpectColumnPairValuesToBeEqual", {"column_A": "amount_idr", "column_B": "configured_amount_idr"}),
        ]
    raise KeyError(t)


def expectations_for(table: str, ctx: SuiteContext) -> list[Expect]:
    """The month's suite of `table`: key first, then the table's rules, then the row-count band."""
    suite = SUITES[table]
    out = [*_key(suite.key), *_table_expectations(suite, ctx)]
    out.extend(row_count_bands(suite, ctx))
    unique: dict[str, Expect] = {}
    for e in out:  # a column named twice (key and village, say) is checked once
        unique.setdefault(e.label, e)
    return list(unique.values())
