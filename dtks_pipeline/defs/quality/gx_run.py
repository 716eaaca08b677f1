"""Run one table's suite of one month through Great Expectations 1.x.

Great Expectations is imported inside `run_suite` only: it costs seconds and
hundreds of MB, and neither the Dagster code server nor the CLI should pay
that to load the definitions. GX analytics are switched off before import.

The GX project is a file context (`great_expectations.yml`, suites,
validation definitions, checkpoints, results and Data Docs under one folder,
see checks.GxResource for where). Each table has one suite, one validation
definition and one checkpoint named after it (`registry.persons`), updated
each run since the month's row-count band and program codes change; each run
stores one validation result under the run name `<period>` and rebuilds that
result's Data Docs page and the index. The index lives at
`<gx dir>/uncommitted/data_docs/local_site/index.html`.

A pandas data source (`dtks_warehouse`) with one dataframe asset per table
receives the frame at run time (GX 1.x has no DuckDB data source).
"""
from __future__ import annotations

import copy
import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd

from dtks_pipeline.defs.quality.suites import ERROR, Expect

DATASOURCE = "dtks_warehouse"
BATCH_DEFINITION = "whole_month"
SAMPLE_SIZE = 5
_LONG_DIGITS = re.compile(r"\d{9,}")


@dataclass
class ExpectationOutcome:
    label: str
    severity: str
    success: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    sample: list = field(default_factory=list)
    observed_value: object = None
    exception: str | None = None
    bounds: dict = field(default_factory=dict)  # min/max/value of a table-level expectation

    def as_metadata(self) -> dict:
        out: dict = {"severity": self.severity}
        if self.unexpected_count is not None:
            out["unexpected_count"] = self.unexpected_count
            out["unexpected_percent"] = round(self.unexpected_percent or 0.0, 3)
            out["sample (masked)"] = self.sample
        if self.observed_value is not None:
            out["observed_value"] = safe_value(self.observed_value)
        if self.bounds:
            out["expected"] = self.bounds
        if self.exception:
            out["exception"] = self.exception
        return out


@dataclass
class SuiteOutcome:
    table: str
    period: str
    rows: int
    expectations: list[ExpectationOutcome]
    docs_index: Path | None
    docs_page: Path | None

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def severity(self) -> str:
        """ERROR when any failed expectation is an ERROR one, else WARN."""
        return "WARN" if self.failed and all(e.severity != ERROR for e in self.failed) else ERROR


def safe_value(value: object) -> object:
    """A sample value fit for metadata: ids come masked from `frames`; as a last
    guard any run of 9+ digits left in a string is starred except its first 6
    and last 2 digits."""
    if isinstance(value, (list, tuple)):
        return [safe_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): safe_value(v) for k, v in value.items()}
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, (int, float, bool)):
        return value
    text = str(value)
    return _LONG_DIGITS.sub(lambda m: m.group()[:6] + "*" * (len(m.group()) - 8) + m.group()[-2:], text)


def _path_of(url: str | None) -> Path | None:
    if not url:
        return None
    return Path(unquote(urlparse(url).path)) if url.startswith("file://") else Path(url)


# One file context per GX folder and process: loading it (YAML, stores) cost about a second per
# check, seven times a month; the in-process executor runs every check of a month in one process.
_CONTEXTS: dict[Path, object] = {}


def _share_compiled_templates() -> None:
    """Give every Data Docs view one in-memory Jinja bytecode cache.

    GX builds a new Jinja environment for every page it renders, so each Data Docs page
    compiled the same templates again: 1-1.5 s of every suite (most of its rendering).
    Jinja's bytecode cache is keyed by template name and checked against the template
    source's checksum, so the pages are the same; only the compilation is done once per process.
    """
    import jinja2
    from great_expectations.render.view.view import DefaultJinjaView

    if getattr(DefaultJinjaView, "_dtks_shared_bytecode", False):
        return

    class MemoryBytecodeCache(jinja2.BytecodeCache):
        def __init__(self) -> None:
            self._code: dict[str, bytes] = {}

        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            code = self._code.get(bucket.key)
            if code is not None:
                bucket.bytecode_from_string(code)

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            self._code[bucket.key] = bucket.bytecode_to_string()

    cache = MemoryBytecodeCache()
    original_get_template = DefaultJinjaView._get_template

    # Not __init__: GX passes the custom styles folder only to an __init__ whose signature names it.
    def get_template(self, template_str):
        self.env.bytecode_cache = cache
        return original_get_template(self, template_str)

    DefaultJinjaView._get_template = get_template
    DefaultJinjaView._dtks_shared_bytecode = True


def _parse_config_variables_once() -> None:
    """Parse the project's `config_variables.yml` once per text, not at every access.

    GX re-reads and re-parses that file (ruamel, 6-8 ms) each time a context variable
    is read: about 60 times a suite, 0.4 s of every suite. The parse is memoised by the
    file's text (a changed file is parsed again) and a copy is returned, so the values
    and their substitution are what GX computed before.
    """
    from great_expectations.core import config_provider

    if isinstance(config_provider.yaml, _MemoisedYaml):
        return
    config_provider.yaml = _MemoisedYaml(config_provider.yaml)


class _MemoisedYaml:
    def __init__(self, inner) -> None:
        self._inner = inner
        self._parsed: dict[str, object] = {}

    def load(self, text: str):
        if text not in self._parsed:
            self._parsed[text] = self._inner.load(text)
        return copy.deepcopy(self._parsed[text])

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


def _context(gx_dir: Path):
    gx_dir = Path(gx_dir).absolute()
    if gx_dir in _CONTEXTS and (gx_dir / "great_expectations.yml").exists():
        return _CONTEXTS[gx_dir]
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _share_compiled_templates()
    _parse_config_variables_once()
    gx_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", context_root_dir=str(gx_dir))
    pb = context.variables.progress_bars
    if pb is None or getattr(pb, "globally", True):
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        context.variables.save()
    _CONTEXTS[gx_dir] = context
    return context


def _batch_definition(context, table: str):
    try:
        source = context.data_sources.get(DATASOURCE)
    except KeyError:
        source = context.data_sources.add_pandas(DATASOURCE)
    # get_asset / get_batch_definition (not iterating `.assets`): objects bound to this context.
    try:
        asset = source.get_asset(table)
    except LookupError:
        asset = source.add_dataframe_asset(table)
    try:
        return asset.get_batch_definition(BATCH_DEFINITION)
    except KeyError:
        return asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)


def _outcome(result, fallback: Expect | None) -> ExpectationOutcome:
    config = result.expectation_config
    meta = config.meta or {}
    label = meta.get("label") or (fallback.label if fallback else config.type)
    body = result.result or {}
    exc = result.exception_info or {}
    if isinstance(exc, dict) and "raised_exception" not in exc and exc:
        exc = next(iter(exc.values()), {})  # keyed by metric in some results
    message = exc.get("exception_message") if isinstance(exc, dict) and exc.get("raised_exception") else None
    counts = body.get("partial_unexpected_counts") or []
    sample = [safe_value(c.get("value")) for c in counts][:SAMPLE_SIZE] if counts else [
        safe_value(v) for v in (body.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]
    ]
    return ExpectationOutcome(
        label=label,
        severity=meta.get("severity", ERROR),
        success=bool(result.success),
        unexpected_count=body.get("unexpected_count"),
        unexpected_percent=body.get("unexpected_percent"),
        sample=sample,
        observed_value=body.get("observed_value"),
        exception=(message or None) and str(message)[:300],
        bounds={k: v for k, v in config.kwargs.items() if k in ("min_value", "max_value", "value") and v is not None}
        if config.kwargs.get("column") is None else {},
    )


def run_suite(
    gx_dir: Path, table: str, period: str, frame: pd.DataFrame, expectations: list[Expect], build_docs: bool = True
) -> SuiteOutcome:
    """Validate `frame` (one month of `table`, already masked), store the result and
    (unless `build_docs` is False: rendering costs ~0.5 s a table) update its Data Docs page and the index."""
    context = _context(Path(gx_dir))
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.core.run_identifier import RunIdentifier

    batch_definition = _batch_definition(context, table)
    suite = gx.ExpectationSuite(
        name=table,
        expectations=[getattr(gxe, e.type)(**e.kwargs, meta={"label": e.label, "severity": e.severity}) for e in expectations],
        meta={"notes": f"dtks_pipeline quality suite for {table}; rebuilt each month (row-count band, program codes)."},
    )
    suite = context.suites.add_or_update(suite)
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=table, data=batch_definition, suite=suite)
    )
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=table,
        validation_definitions=[validation],
        actions=[UpdateDataDocsAction(name="update_data_docs")] if build_docs else [],
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20},
    ))
    run_id = RunIdentifier(run_name=period, run_time=dt.datetime.now(dt.timezone.utc))
    result = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=run_id)

    by_label = {e.label: e for e in expectations}
    outcomes: list[ExpectationOutcome] = []
    docs_page = None
    for identifier, validation_result in result.run_results.items():
        for r in validation_result.results:
            outcomes.append(_outcome(r, by_label.get((r.expectation_config.meta or {}).get("label"))))
        if build_docs:
            urls = context.get_docs_sites_urls(resource_identifier=identifier)
            docs_page = _path_of(urls[0]["site_url"]) if urls else None
    index = context.get_docs_sites_urls() if build_docs else []
    docs_index = _path_of(index[0]["site_url"]) if index else None
    if build_docs:
        write_month_index(Path(gx_dir))
    return SuiteOutcome(table, period, len(frame), outcomes, docs_index, docs_page)


def write_month_index(gx_dir: Path) -> Path:
    """A plain HTML page, `data_docs/local_site/by_month.html`, with one row per table and
    month: the latest validation's status and a link to its Data Docs page.

    GX's own index.html builds its list with JavaScript from a CDN, so on a machine
    without internet it shows no validations; this page needs nothing but the files.
    """
    import html
    import json

    root = Path(gx_dir) / "uncommitted"
    site = root / "data_docs" / "local_site"
    latest: dict[tuple[str, str], tuple[str, dict, Path]] = {}
    for path in (root / "validations").glob("*/*/*/*/*.json"):
        schema, table, month, run_time = path.parts[-5:-1]
        key = (f"{schema}.{table}", month)
        if key not in latest or run_time > latest[key][0]:
            latest[key] = (run_time, json.loads(path.read_text()), path)
    rows = []
    for (table, month), (run_time, result, path) in sorted(latest.items()):
        stats = result.get("statistics", {})
        page = site / "validations" / path.relative_to(root / "validations").with_suffix(".html")
        link = f'<a href="{html.escape(str(page.relative_to(site)))}">{html.escape(run_time)}</a>' if page.exists() else html.escape(run_time)
        failed = [r for r in result.get("results", []) if not r.get("success")]
        # A failed WARN expectation (a row-count band) is a warning, not a failure.
        warn_only = failed and all(((r.get("expectation_config") or {}).get("meta") or {}).get("severity") == "WARN" for r in failed)
        status = "passed" if not failed else ("warning" if warn_only else "FAILED")
        rows.append(
            f"<tr><td>{html.escape(table)}</td><td>{html.escape(month)}</td><td class='{status}'>{status}</td>"
            f"<td>{stats.get('successful_expectations', '?')}/{stats.get('evaluated_expectations', '?')}</td><td>{link}</td></tr>"
        )
    site.mkdir(parents=True, exist_ok=True)
    out = site / "by_month.html"
    out.write_text(
        "<!doctype html><meta charset='utf-8'><title>DTKS data quality by month</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 10px;text-align:left}.FAILED{color:#b00;font-weight:bold}.warning{color:#a60}</style>"
        "<h1>DTKS data quality: Great Expectations validations by table and month</h1>"
        "<p>Latest validation of each table and month; the links open GX's Data Docs page of that run.</p>"
        "<table><tr><th>table</th><th>month</th><th>status</th><th>expectations met</th><th>validation</th></tr>"
        + "".join(rows) + "</table>",
        encoding="utf-8",
    )
    return out
