"""`dtks benchmark pipeline`: the whole monthly pipeline against two baselines, on the same files.

What one run measures (issue 11), each in a child process of its own so that
its peak memory is the resident set of that process tree alone (sampled every
100 ms from /proc; a page shared by two processes counts twice):

- the pipeline: months 1..M run one after the other in one warehouse, exactly
  as `dtks run` does (the project's monthly job, in process, every check).
  Stage seconds come from Dagster's own step events (STEP_START ->
  STEP_SUCCESS/FAILURE); each step is named after what it did: the asset it
  materialized (`ingestion:<source>` for the ingestion group, else the asset's
  group, `publication` for the published warehouse), or, for a step that only
  evaluated checks, `checks:gx` (the Great Expectations suites) or
  `checks:<group>`. "One month" is the wall from launching the process to the
  end of month 1 (start-up and definitions included, as a user sees it);
  "K months" to the end of month K;
- the floor: plain DuckDB reads every file of month 1 (CSV with `read_csv`,
  .xlsx through python-calamine, since DuckDB's excel extension is not
  installed offline) and groups all rows on their NIK column;
- Splink alone: a plain pandas cleaning step over month 1's raw DTKS export
  (digits of NIK/NOKK, dates day-first, sex 1/2 -> L/P, the village name as
  the village key, names through `lib.names.canonical`, the address upper-cased) and Splink 5's dedup
  with the settings of `benchmarks.splink_baseline` (imported, not copied),
  at one threshold.

The JSON (`<workdir>/pipeline_<families>.json`) keeps every figure and the
machine it ran on; the printed ratios are pipeline/Splink-alone,
pipeline/floor, K months/one month and, with `--history H`, each month's
seconds (and publication seconds) against the months already published.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

FIRST_MONTH = "2022-10"
RSS_SAMPLE_SECONDS = 0.1
SPLINK_THRESHOLD = 0.95
PROGRESS_PREFIX = "@@"  # a child's machine-readable progress line
PROGRESS_INDENT = "    "  # a child's human progress line (operations.progress.INDENT), echoed by the parent


# ---------------------------------------------------------------------------- memory


def _children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: split after it
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree[ppid].append(int(entry))
    return tree


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and all its descendants (0 once it has exited)."""
    tree, total, todo = _children_of(), 0, [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * page
        except OSError:
            pass
        todo.extend(tree.get(p, ()))
    return total


class TreePeak:
    """Peak resident set of a process tree, sampled in a thread while the process runs."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.last, self.window, self._stop = pid, 0, 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "TreePeak":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            self.last = tree_rss(self.pid)
            self.peak, self.window = max(self.peak, self.last), max(self.window, self.last)
            if self._stop.wait(RSS_SAMPLE_SECONDS):
                return

    def window_mb(self) -> float:
        """The peak since the previous call (MB), then starts a new window."""
        peak, self.window = self.window, self.last
        return peak / 2**20

    @property
    def mb(self) -> float:
        return round(self.peak / 2**20, 1)


# ---------------------------------------------------------------------------- stage timings


@dataclass
class StepRecord:
    """One Dagster step of a run: when it ran and what it produced."""

    step_key: str
    start: float | None = None
    end: float | None = None
    ok: bool = True
    assets: list[tuple[str, str]] = field(default_factory=list)  # (asset key, group)
    checks: list[tuple[str, str, str]] = field(default_factory=list)  # (asset key, check name, group)

    @property
    def seconds(self) -> float:
        return (self.end - self.start) if self.start is not None and self.end is not None else 0.0


PUBLICATION_ASSET = "operations/published_warehouse"
GX_CHECK_NAME = "gx_suite"


def stage_of(step: StepRecord) -> str:
    """The stage a step belongs to, from what it materialized or checked (see the module doc)."""
    if step.assets:
        keys = {a for a, _ in step.assets}
        if PUBLICATION_ASSET in keys:
            return "publication"
        groups = {g for _, g in step.assets}
        if groups == {"ingestion"} and len(keys) == 1:
            return f"ingestion:{next(iter(keys)).rsplit('/', 1)[-1]}"
        return "+".join(sorted(groups))
    if step.checks:
        if all(name == GX_CHECK_NAME for _, name, _ in step.checks):
            return "checks:gx"
        return "checks:" + "+".join(sorted({g for _, _, g in step.checks}))
    return f"other:{step.step_key}"


def steps_from_events(events, groups: dict[str, str]) -> list[StepRecord]:
    """StepRecords from a run's event log entries (`instance.all_logs(run_id)`), in start order.

    `groups` maps an asset key ("registry/persons") to its Dagster group.
    """
    steps: dict[str, StepRecord] = {}
    for entry in events:
        event = entry.dagster_event
        if event is None or not entry.step_key:
            continue
        step = steps.setdefault(entry.step_key, StepRecord(entry.step_key))
        kind = event.event_type_value
        if kind == "STEP_START":
            step.start = entry.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            step.end, step.ok = entry.timestamp, kind == "STEP_SUCCESS"
        elif kind == "ASSET_MATERIALIZATION":
            key = event.asset_key.to_user_string()
            step.assets.append((key, groups.get(key, "?")))
        elif kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            key = data.asset_key.to_user_string()
            step.checks.append((key, data.check_name, groups.get(key, "?")))
    return sorted((s for s in steps.values() if s.start is not None), key=lambda s: s.start)


def asset_metadata(events, name: str) -> dict[str, dict]:
    """asset key -> its metadata entry `name` where that is a dict (the first materialization of the run)."""
    out: dict[str, dict] = {}
    for entry in events:
        event = entry.dagster_event
        if event is None or event.event_type_value != "ASSET_MATERIALIZATION":
            continue
        materialization = event.event_specific_data.materialization
        item = materialization.metadata.get(name)
        value = getattr(item, "value", item)
        if isinstance(value, dict):
            out.setdefault(materialization.asset_key.to_user_string(), value)
    return out


def named_stage_seconds(events) -> dict[str, dict]:
    """asset key -> its `stage seconds` metadata (the registry's and publication's named stages)."""
    from dtks_pipeline.defs.operations.progress import STAGE_SECONDS

    return asset_metadata(events, STAGE_SECONDS)


def candidate_pair_counts(events) -> dict[str, int]:
    """The registry's candidate pairs per blocking rule (how the blocking grows with the families)."""
    from dtks_pipeline.defs.registry.assets import CANDIDATE_PAIRS_METADATA

    return next(iter(asset_metadata(events, CANDIDATE_PAIRS_METADATA).values()), {})


def stage_seconds(steps: list[StepRecord]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for s in steps:
        out[stage_of(s)] += s.seconds
    return {k: round(v, 3) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}


# ---------------------------------------------------------------------------- children


def _emit(kind: str, **payload) -> None:
    print(PROGRESS_PREFIX + json.dumps({"kind": kind, **payload}), flush=True)


def child_pipeline(sources: Path, warehouse: Path, periods: list[str]) -> None:
    """Run `periods` through the monthly job in one process, one progress record per month."""
    import dagster as dg

    from dtks_pipeline.definitions import build_definitions
    from dtks_pipeline.defs.operations.jobs import MONTHLY_JOB_NAME
    from dtks_pipeline.defs.shared import resources_for

    os.environ["DTKS_SOURCES"], os.environ["DTKS_WAREHOUSE"] = str(sources), str(warehouse)
    defs = build_definitions(resources_for(sources, warehouse))
    from dtks_pipeline.defs.operations.progress import LOGGER_NAME, progress_logger_def

    # the progress lines of `dtks run` (the parent echoes them), registry stage seconds included
    job = defs.resolve_job_def(MONTHLY_JOB_NAME)
    job = job.with_logger_defs({**job.loggers, LOGGER_NAME: progress_logger_def()})
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    instance = dg.DagsterInstance.ephemeral()
    _emit("ready")
    for period in periods:
        started = time.monotonic()
        result = job.execute_in_process(
            partition_key=period, instance=instance, raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}, LOGGER_NAME: {}}},
        )
        logs = instance.all_logs(result.run_id)
        steps = steps_from_events(logs, groups)
        evaluations = result.get_asset_check_evaluations()
        _emit(
            "month", period=period, success=bool(result.success), seconds=round(time.monotonic() - started, 3),
            stages=stage_seconds(steps),
            steps=[{"step": s.step_key, "stage": stage_of(s), "seconds": round(s.seconds, 3), "ok": s.ok} for s in steps],
            failed_steps=[s.step_key for s in steps if not s.ok],
            named_stages=named_stage_seconds(logs), candidate_pairs=candidate_pair_counts(logs),
            checks_passed=sum(e.passed for e in evaluations), checks_total=len(evaluations),
            warehouse_bytes=warehouse.stat().st_size if warehouse.exists() else None,
        )


def _nik_column(columns: list[str]) -> str | None:
    for c in columns:
        if c.strip().upper() in ("NIK", "NIK_PEMILIK"):
            return c
    for c in columns:
        if "NIK" in c.upper():
            return c
    return None


def _read_csv(con: "duckdb.DuckDBPyConnection", path: Path):
    """DuckDB's CSV reader, told only what a glance at the file shows: the lines before
    the header (blank or title lines) and the separator; UTF-8, else Windows-1252."""
    import duckdb

    with open(path, "rb") as fh:
        head = fh.read(65536).decode("latin-1").lstrip("\ufeff").splitlines()
    skip = next((i for i, line in enumerate(head) if line.count(";") + line.count(",") >= 2), 0)
    delim = ";" if head and head[skip].count(";") >= head[skip].count(",") else ","

    def read(file: Path):
        quoted = file.as_posix().replace("'", "''")
        rel = con.sql(f"FROM read_csv('{quoted}', all_varchar = true, delim = '{delim}', skip = {skip}, "
                      "header = true, quote = '\"', strict_mode = false, null_padding = true)")
        rel.shape  # noqa: B018 - forces the read, so a decoding error surfaces here
        return rel

    try:
        return read(path)
    except duckdb.Error as exc:
        if "utf-8" not in str(exc).lower():
            raise
    # A Windows-1252 file (DuckDB's latin-1 rejects bytes 0x80-0x9f): transcoded once, in /tmp.
    import tempfile

    tmp = Path(tempfile.mkstemp(suffix=".csv")[1])
    tmp.write_text(path.read_bytes().decode("cp1252", errors="replace"), encoding="utf-8")
    try:
        return con.from_df(read(tmp).df())  # read before the temporary file goes
    finally:
        tmp.unlink(missing_ok=True)


def child_floor(month_dir: Path) -> None:
    """Plain DuckDB: read every file of the month, group all rows on NIK."""
    import duckdb
    import pandas as pd
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("CREATE TABLE niks (nik VARCHAR)")
    files, rows = 0, 0
    for path in sorted(month_dir.rglob("*")):
        if not path.is_file() or path.name.startswith((".", "~$")):
            continue
        if path.suffix.lower() == ".csv":
            rel = _read_csv(con, path)
        elif path.suffix.lower() == ".xlsx":
            sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
            header = next((i for i, r in enumerate(sheet) if _nik_column([str(c) for c in r])), None)
            if header is None:
                continue
            frame = pd.DataFrame(sheet[header + 1:], columns=[str(c) for c in sheet[header]]).astype("string")
            rel = con.from_df(frame)
        else:
            continue
        files += 1
        rows += rel.shape[0]
        col = _nik_column(list(rel.columns))
        if col is not None:
            con.execute(f'INSERT INTO niks SELECT "{col}" FROM rel')
    groups = con.execute("SELECT count(*) FROM (SELECT nik, count(*) FROM niks GROUP BY nik)").fetchone()[0]
    _emit("floor", seconds=round(time.perf_counter() - started, 3), files=files, rows=rows, nik_groups=int(groups))


def clean_dtks_export(path: Path):
    """The plain Python cleaning a careful user writes before Splink: one record per row."""
    import pandas as pd

    from dtks_pipeline.lib import names

    if path.suffix.lower() == ".xlsx":
        raw = pd.read_excel(path, dtype=str, engine="calamine")
    else:
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
        import io

        raw = pd.read_csv(io.StringIO(text), sep=None, engine="python", dtype=str, keep_default_na=False)
    raw.columns = [str(c).strip().upper() for c in raw.columns]
    raw = raw[raw.apply(lambda r: any(str(v).strip() for v in r if v is not None), axis=1)].reset_index(drop=True)

    def digits(col: str):
        s = raw.get(col, pd.Series("", index=raw.index)).astype("string").str.strip()
        s = s.str.replace(r"\.0$", "", regex=True).str.replace(r"\D", "", regex=True)
        return s.where(s.str.len() > 0)

    def text_col(col: str):
        s = raw.get(col, pd.Series("", index=raw.index)).astype("string").str.strip().str.upper()
        return s.where(s.str.len() > 0)

    sex = text_col("JNS_KEL").map({"1": "L", "2": "P", "L": "L", "P": "P"})
    return pd.DataFrame({
        "unique_id": range(len(raw)),
        "nik": digits("NIK"),
        "nokk": digits("NOKK"),
        "nama_clean": raw.get("NAMA", pd.Series("", index=raw.index)).map(names.canonical).replace("", None),
        "tgl_lahir": pd.to_datetime(raw.get("TGL_LHR"), dayfirst=True, errors="coerce", format="mixed"),
        "jenis_kelamin": sex,
        "kode_desa": text_col("DESA"),
        "alamat": text_col("ALAMAT"),
    })


def child_splink(month_dir: Path) -> None:
    from dtks_pipeline.benchmarks import splink_baseline

    started = time.perf_counter()
    export = next((p for p in sorted(month_dir.iterdir()) if p.stem.lower() == "dtks" and p.suffix.lower() in (".csv", ".xlsx")), None)
    if export is None:
        raise FileNotFoundError(f"no DTKS export (dtks.csv / dtks.xlsx) in {month_dir}")
    rows = clean_dtks_export(export)
    cleaning = time.perf_counter() - started
    u_pairs = os.environ.get("DTKS_BENCH_SPLINK_U_PAIRS")  # tests only: a tiny sample needs few u pairs
    result = splink_baseline.dedupe(rows, thresholds=(SPLINK_THRESHOLD,), u_max_pairs=float(u_pairs) if u_pairs else None)
    clusters = result["clusters"][SPLINK_THRESHOLD]
    # Splink's own wall excludes its blocking analysis (reporting, not linkage); cleaning is added to it.
    _emit("splink", seconds=round(cleaning + result["seconds"], 3), wall_seconds=round(time.perf_counter() - started, 3),
          cleaning_seconds=round(cleaning, 3), dedupe_seconds=result["seconds"], model=result["model"],
          rows=int(len(rows)), clusters=int(clusters["cluster_id"].nunique()),
          pairs_predicted_at_0_5=result["pairs_predicted_at_0_5"], threshold=SPLINK_THRESHOLD,
          untrained=result["untrained"])


# ---------------------------------------------------------------------------- parent


def _run_child(args: list[str], label: str, on_record=None) -> tuple[list[dict], float, float]:
    """Start `python -m dtks_pipeline.benchmarks.pipeline <args>`; returns (records, wall, peak MB).

    `on_record(record, elapsed, peak_bytes)` sees each progress record as it arrives; the child's
    progress lines (indented, as `dtks run` prints them) are echoed with the elapsed time, the tree's
    resident set at that moment and its peak since the previous line.
    """
    cmd = [sys.executable, "-m", "dtks_pipeline.benchmarks.pipeline", *args]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    records, tail = [], []
    with TreePeak(proc.pid) as peak:
        for line in proc.stdout:
            if line.startswith(PROGRESS_PREFIX):
                record = json.loads(line[len(PROGRESS_PREFIX):])
                record["elapsed"] = round(time.monotonic() - started, 3)
                record["peak_mb_so_far"] = peak.mb
                records.append(record)
                if on_record:
                    on_record(record)
            else:
                if line.startswith(PROGRESS_INDENT):
                    print(f"{time.monotonic() - started:8.1f}s {peak.last / 2**20:6,.0f} MB (max {peak.window_mb():6,.0f}) "
                          f"{line.rstrip()}", flush=True)
                tail = (tail + [line.rstrip()])[-20:]
        code = proc.wait()
    wall = time.monotonic() - started
    if code != 0:
        raise RuntimeError(f"{label} failed (exit {code}):\n" + "\n".join(tail))
    return records, wall, peak.mb


def months_from(first: str, n: int) -> list[str]:
    import pandas as pd

    return [str(p) for p in pd.period_range(first, periods=n, freq="M")]


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def run_benchmark(*, families: int, months: int, history: int, workdir: Path, sources: Path | None,
                  seed: int = 2022, skip_splink: bool = False) -> dict:
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    n_months = max(months, history, 1)
    wanted = months_from(FIRST_MONTH, n_months)
    say = lambda msg: print(f"[benchmark pipeline] {msg}", flush=True)  # noqa: E731

    if sources is None:
        sources = workdir / f"sources_{families}"
        have = [m for m in wanted if (sources / m).is_dir()]
        if have != wanted:
            from dtks_pipeline.sample.generator import generate

            say(f"generating {families:,} families, months {wanted[0]}..{wanted[-1]} into {sources}")
            t = time.perf_counter()
            generate(sources, families=families, seed=seed, months=tuple(max(wanted, months_from(FIRST_MONTH, 3), key=len)))
            say(f"generated in {time.perf_counter() - t:.1f} s")
        else:
            say(f"reusing the deliveries in {sources}")
    sources = Path(sources).resolve()
    found = sorted(p.name for p in sources.iterdir() if p.is_dir() and p.name[:1].isdigit())
    periods = found[:n_months]
    if len(periods) < n_months:
        raise SystemExit(f"{sources} has {len(found)} month folder(s); the benchmark needs {n_months}")
    month_dir = sources / periods[0]

    warehouse = workdir / f"warehouse_{families}" / "warehouse" / "dtks.duckdb"
    if warehouse.parent.exists():
        import shutil

        shutil.rmtree(warehouse.parent.parent)

    def on_month(record: dict) -> None:
        if record["kind"] == "month":
            top = ", ".join(f"{k} {v:.1f}s" for k, v in list(record["stages"].items())[:4])
            say(f"pipeline {record['period']}: {'ok' if record['success'] else 'FAILED'} in {record['seconds']:.1f} s "
                f"({record['elapsed']:.1f} s since start, peak {record['peak_mb_so_far']:,.0f} MB); {top}")

    say(f"pipeline: {n_months} month(s) {periods[0]}..{periods[-1]} in one warehouse ({warehouse})")
    records, wall, peak = _run_child(["_pipeline", str(sources), str(warehouse), ",".join(periods)], "pipeline", on_month)
    month_records = [r for r in records if r["kind"] == "month"]
    say(f"floor: DuckDB reads every file of {periods[0]} and groups on NIK")
    floor_records, _, floor_peak = _run_child(["_floor", str(month_dir)], "floor")
    floor = {**floor_records[-1], "peak_mb": floor_peak}
    say(f"floor: {floor['seconds']:.2f} s, {floor['files']} files, {floor['rows']:,} rows")
    splink = None
    if not skip_splink:
        say(f"Splink alone: cleaning + dedup of {periods[0]}'s DTKS export")
        splink_records, _, splink_peak = _run_child(["_splink", str(month_dir)], "splink")
        splink = {**splink_records[-1], "peak_mb": splink_peak}
        say(f"Splink alone: {splink['seconds']:.1f} s ({splink['cleaning_seconds']:.1f} s cleaning), {splink['rows']:,} rows")

    one = month_records[0]["elapsed"]
    k = month_records[min(months, len(month_records)) - 1]["elapsed"]
    peak_one = month_records[0]["peak_mb_so_far"]
    report = {
        "benchmark": "pipeline",
        "families": families,
        "sources": str(sources),
        "periods": periods,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_at_end": os.getloadavg()},
        "pipeline": {
            "one_month_seconds": one, "one_month_peak_mb": peak_one,
            "months": months, "k_months_seconds": k, "all_months_seconds": round(wall, 3), "peak_mb": peak,
            "per_month": month_records,
        },
        "failed_months": [r["period"] for r in month_records if not r["success"]],
        "floor": floor,
        "splink_alone": splink,
        "ratios": {
            "one_month_over_splink_alone": _ratio(one, splink and splink["seconds"]),
            "one_month_over_floor": _ratio(one, floor["seconds"]),
            "k_months_over_one_month": _ratio(k, one),
        },
    }
    if history:
        report["history"] = [
            {"months_published_before": i, "period": r["period"], "seconds": r["seconds"],
             "publication_seconds": r["stages"].get("publication", 0.0), "warehouse_bytes": r["warehouse_bytes"]}
            for i, r in enumerate(month_records[:history])
        ]
    out = workdir / f"pipeline_{families}.json"
    out.write_text(json.dumps(report, indent=2))
    print_report(report)
    say(f"JSON: {out}")
    return report


def print_report(report: dict) -> None:
    p, r = report["pipeline"], report["ratios"]
    print(f"\nPipeline benchmark, {report['families']:,} families, {report['machine']['cpus']} CPUs")
    print(f"  one month end to end      {p['one_month_seconds']:8.1f} s   peak {p['one_month_peak_mb']:,.0f} MB")
    print(f"  {p['months']} month(s) end to end     {p['k_months_seconds']:8.1f} s   peak {p['peak_mb']:,.0f} MB")
    print(f"  floor (DuckDB, month 1)   {report['floor']['seconds']:8.2f} s")
    if report["splink_alone"]:
        print(f"  Splink alone (month 1)    {report['splink_alone']['seconds']:8.1f} s   peak {report['splink_alone']['peak_mb']:,.0f} MB")
    print(f"  ratios: pipeline/Splink-alone {r['one_month_over_splink_alone']}, pipeline/floor {r['one_month_over_floor']}, "
          f"{p['months']} months/one month {r['k_months_over_one_month']}")
    first = p["per_month"][0]
    print(f"  stages of {first['period']} (s): " + ", ".join(f"{k} {v:.1f}" for k, v in first["stages"].items()))
    for asset, named in first.get("named_stages", {}).items():
        print(f"  {asset} named stages (s): " + ", ".join(f"{k} {v}" for k, v in named.items()))
    if first.get("candidate_pairs"):
        pairs = first["candidate_pairs"]
        print(f"  candidate pairs of {first['period']}: {sum(pairs.values()):,} ("
              + ", ".join(f"{k} {v:,}" for k, v in pairs.items()) + ")")
    for h in report.get("history", []):
        print(f"  after {h['months_published_before']} published: {h['period']} {h['seconds']:.1f} s, "
              f"publication {h['publication_seconds']:.2f} s")
    for r in p["per_month"]:
        if not r["success"]:
            print(f"  FAILED {r['period']}: steps {', '.join(r.get('failed_steps', [])) or '?'}; its seconds and the "
                  "ratios are those of a month that did not complete")


def run(sources: Path, workdir: Path) -> dict:
    """`make benchmark` entry point: the default sample, one and three months."""
    return run_benchmark(families=60_000, months=3, history=0, workdir=workdir, sources=sources)


def main(argv: list[str]) -> None:
    """Child entry points (`_pipeline`, `_floor`, `_splink`), started by `_run_child`."""
    kind, *rest = argv
    if kind == "_pipeline":
        child_pipeline(Path(rest[0]), Path(rest[1]), rest[2].split(","))
    elif kind == "_floor":
        child_floor(Path(rest[0]))
    elif kind == "_splink":
        child_splink(Path(rest[0]))
    else:
        raise SystemExit(f"unknown child {kind!r}")


def cli(args: argparse.Namespace) -> int:
    """Exit 1 when a month of the pipeline failed: its seconds are then no measurement of a month."""
    report = run_benchmark(families=args.families, months=args.months, history=args.history,
                           workdir=Path(args.workdir), sources=Path(args.sources) if args.sources else None,
                           skip_splink=bool(os.environ.get("DTKS_BENCH_SKIP_SPLINK")))
    return 1 if report["failed_months"] else 0


if __name__ == "__main__":
    main(sys.argv[1:])
