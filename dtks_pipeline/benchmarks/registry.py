"""Score the registry against the generator's ground truth, next to a Splink 5 baseline.

    dtks benchmark registry --sources DIR --workdir DIR

1. Stages every month of `DIR` into a fresh warehouse (the project's ingestion
   assets), then builds the registry month by month with the project's
   registry assets and their blocking checks (dg.materialize, in process).
2. Person resolution, pairwise (as Splink evaluates itself): over the staged
   rows linked in month P, a pair of rows is predicted-same when both carry
   the same person_id, truly-same when both carry the same true_person_id
   (`_truth/rows.csv`); a row linked to nobody / naming nobody is a singleton.
   Precision, recall, F1 per month, for all sources and for DTKS rows only.
3. Exclusions: (period, reason, true person) for MENINGGAL / PINDAH and
   (period, reason, NOKK) for family reasons, against `_truth/exclusions.csv`.
4. person_id stability: a true person's person_id in every month.
5. Splink 5 (DuckDB backend) deduplicates the last month's staged DTKS rows
   (benchmarks/splink_baseline.py: NIK exact / one edit, cleaned name exact
   with term-frequency adjustment then Jaro-Winkler, birth date, sex, village,
   NOKK; trained unsupervised), scored the same way as the project's DTKS-only
   figure, side by side. `DTKS_BENCH_SKIP_SPLINK=1` skips it.

Wall time and peak resident memory (sampled) are reported for each stage.
Results go to `<workdir>/registry_benchmark.json` and a small table is printed.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd

KEYS = ["period", "source_file", "source_row"]


class PeakMemory:
    """Peak resident set size of this process while the block runs (sampled every 50 ms)."""

    def __enter__(self):
        self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * 4096

    def _sample(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._rss())

    @property
    def mb(self) -> float:
        return round(self.peak / 2**20, 1)


def pairwise_scores(pred: pd.Series, true: pd.Series) -> dict:
    """Pairwise precision / recall / F1 of two clusterings of the same rows (NaN = singleton)."""
    def pairs(counts: pd.Series) -> int:
        c = counts.to_numpy(dtype=np.int64)
        return int((c * (c - 1) // 2).sum())

    frame = pd.DataFrame({"p": pred.to_numpy(), "t": true.to_numpy()})
    predicted = pairs(frame["p"].dropna().value_counts())
    actual = pairs(frame["t"].dropna().value_counts())
    both = pairs(frame.dropna().groupby(["p", "t"]).size())
    precision = both / predicted if predicted else 1.0
    recall = both / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"rows": int(len(frame)), "pairs_predicted": predicted, "pairs_true": actual, "pairs_correct": both,
            "precision": round(precision, 5), "recall": round(recall, 5), "f1": round(f1, 5)}


def _truth_rows(sources: Path) -> pd.DataFrame:
    rows = pd.read_csv(sources / "_truth" / "rows.csv", dtype=str, keep_default_na=False)
    rows = rows[rows["expected"] == "STAGED"].copy()
    rows["source_row"] = rows["source_row"].astype(int)
    rows["true_person_id"] = rows["true_person_id"].replace("", np.nan)
    return rows[KEYS + ["source", "true_person_id", "damage"]]


def score_resolution(con: duckdb.DuckDBPyConnection, truth: pd.DataFrame, period: str) -> dict:
    links = con.execute(
        "SELECT source_period AS period, source_file, source_row, source, person_id, match_rule "
        "FROM registry.person_links WHERE period = ?", [period]).df()
    merged = links.merge(truth.drop(columns="source"), on=KEYS, how="left")
    out = {"all": pairwise_scores(merged["person_id"], merged["true_person_id"])}
    dtks = merged[merged["source"] == "dtks"]
    out["dtks"] = pairwise_scores(dtks["person_id"], dtks["true_person_id"])
    # rows linked to nobody that name a registry person, and the reverse
    out["missed_links"] = int((merged["person_id"].isna() & merged["true_person_id"].notna()).sum())
    out["links_to_nobody_true"] = int((merged["person_id"].notna() & merged["true_person_id"].isna()).sum())
    return out


def _person_truth_map(con: duckdb.DuckDBPyConnection, truth: pd.DataFrame, period: str) -> pd.DataFrame:
    links = con.execute(
        "SELECT source_period AS period, source_file, source_row, person_id FROM registry.person_links "
        "WHERE period = ? AND person_id IS NOT NULL", [period]).df()
    merged = links.merge(truth, on=KEYS, how="inner").dropna(subset=["true_person_id"])
    return (merged.groupby("person_id")["true_person_id"].agg(lambda s: s.mode().iloc[0]).rename("true_person_id")
            .reset_index())


def score_exclusions(con: duckdb.DuckDBPyConnection, truth_rows: pd.DataFrame, sources: Path, periods: list[str]) -> dict:
    truth = pd.read_csv(sources / "_truth" / "exclusions.csv", dtype=str, keep_default_na=False)
    truth = truth[truth["period"].isin(periods)]
    truth_keys = set(
        (r.period, r.reason_code, r.true_person_id if r.reason_code in ("MENINGGAL", "PINDAH") else r.nokk)
        for r in truth.itertuples()
    )
    predicted: set = set()
    for period in periods:
        ex = con.execute("""SELECT e.period, e.reason_code, e.person_id, f.nokk FROM registry.exclusions e
                            LEFT JOIN registry.families f ON f.period = e.period AND f.family_id = e.family_id
                            WHERE e.period = ?""", [period]).df()
        mapping = _person_truth_map(con, truth_rows, period)
        ex = ex.merge(mapping, on="person_id", how="left")
        for r in ex.itertuples():
            if r.reason_code in ("MENINGGAL", "PINDAH"):
                predicted.add((r.period, r.reason_code, r.true_person_id if isinstance(r.true_person_id, str) else f"?{r.person_id}"))
            else:
                predicted.add((r.period, r.reason_code, r.nokk))
    out = {}
    for reason in sorted({k[1] for k in truth_keys | predicted}) + ["ALL"]:
        t = {k for k in truth_keys if reason in ("ALL", k[1])}
        p = {k for k in predicted if reason in ("ALL", k[1])}
        tp = len(t & p)
        out[reason] = {"true": len(t), "predicted": len(p), "correct": tp,
                       "precision": round(tp / len(p), 5) if p else 1.0, "recall": round(tp / len(t), 5) if t else 1.0}
    return out


def score_stability(con: duckdb.DuckDBPyConnection, truth_rows: pd.DataFrame, periods: list[str]) -> dict:
    """How many true persons keep one person_id across all months they appear in."""
    frames = []
    for period in periods:
        m = _person_truth_map(con, truth_rows, period)
        m["period"] = period
        frames.append(m)
    if not frames:
        return {"true_persons_in_several_months": 0, "with_one_person_id": 0}
    allm = pd.concat(frames)
    per_true = allm.groupby("true_person_id")["person_id"].nunique()
    multi = allm.groupby("true_person_id")["period"].nunique() > 1
    return {"true_persons_in_several_months": int(multi.sum()),
            "with_one_person_id": int((per_true[multi[multi].index] == 1).sum())}


def splink_dedup(con: duckdb.DuckDBPyConnection, period: str, truth: pd.DataFrame) -> dict:
    """Splink 5 deduplication of the DTKS rows used in `period` (see benchmarks/splink_baseline.py)."""
    from dtks_pipeline.benchmarks import splink_baseline

    snap = con.execute("SELECT max(period) FROM staging.dtks WHERE period <= ?", [period]).fetchall()[0][0]
    return splink_baseline.run(con, snap, truth)


def run(sources: Path, workdir: Path) -> dict:
    from dtks_pipeline.benchmarks.ingestion import stage_all
    from dtks_pipeline.defs.registry.assets import registry_tables
    from dtks_pipeline.defs.registry.checks import ASSET_CHECKS
    from dtks_pipeline.defs.shared import resources_for

    sources, workdir = Path(sources).resolve(), Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    warehouse = workdir / "registry_bench.duckdb"
    for stale in (warehouse, warehouse.parent / "work"):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    resources = resources_for(sources, warehouse)

    print(f"registry benchmark: staging {sources}", flush=True)
    t0 = time.perf_counter()
    periods = stage_all(sources, warehouse)
    staging_seconds = round(time.perf_counter() - t0, 2)

    months = {}
    for period in periods:
        t0 = time.perf_counter()
        with PeakMemory() as mem:
            result = dg.materialize(
                [registry_tables, *ASSET_CHECKS], partition_key=period, resources=resources, raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
        checks = {e.check_name: bool(e.passed) for e in result.get_asset_check_evaluations()}
        months[period] = {"success": bool(result.success), "seconds": round(time.perf_counter() - t0, 2),
                          "peak_mb": mem.mb, "checks": checks}
        print(f"  registry {period}: {'ok' if result.success else 'FAILED'} in {months[period]['seconds']} s, "
              f"checks {sum(checks.values())}/{len(checks)}", flush=True)
        if not result.success:
            break

    truth = _truth_rows(sources)
    con = resources["warehouse"].connect(read_only=True)
    try:
        built = [p for p in periods if months.get(p, {}).get("success")]
        for period in built:
            months[period]["resolution"] = score_resolution(con, truth, period)
        exclusions = score_exclusions(con, truth, sources, built)
        stability = score_stability(con, truth, built)
        last = built[-1] if built else periods[-1]
        if os.environ.get("DTKS_BENCH_SKIP_SPLINK") == "1":
            splink = None
        else:
            print(f"  splink on DTKS rows of {last} ...", flush=True)
            splink = splink_dedup(con, last, truth)
    finally:
        con.close()

    report = {"sources": str(sources), "staging_seconds": staging_seconds, "months": months,
              "exclusions": exclusions, "person_id_stability": stability, "splink_dtks": splink, "splink_scored_month": last}
    (workdir / "registry_benchmark.json").write_text(json.dumps(report, indent=2, default=str))
    _print_table(report, last)
    return report


def _print_table(report: dict, last: str) -> None:
    months = report["months"]
    head = f"{'resolution':<30}{'rows':>9}{'precision':>11}{'recall':>9}{'F1':>9}{'wall s':>9}{'peak MB':>9}"

    def line(label, r, seconds, peak):
        print(f"{label:<30}{r['rows']:>9}{r['precision']:>11.5f}{r['recall']:>9.5f}{r['f1']:>9.5f}{seconds:>9}{peak:>9}")

    print()
    print(head)
    for period, m in months.items():
        if "resolution" in m:
            line(f"ours {period} all", m["resolution"]["all"], m["seconds"], m["peak_mb"])
    s = report["splink_dtks"]
    print(f"\nDTKS rows only, {last} (ours: wall/peak of the whole month's registry build, all sources):")
    print(head)
    m = months.get(last, {})
    if "resolution" in m:
        line(f"ours {last} dtks", m["resolution"]["dtks"], m["seconds"], m["peak_mb"])
    if s:
        for t, r in s["thresholds"].items():
            line(f"splink {s['period']} dtks p>={t}", r, s["seconds"], s["peak_mb"])
        if s["untrained"]:
            print("splink: untrained parameters: " + "; ".join(s["untrained"]))
    else:
        print("splink: skipped (DTKS_BENCH_SKIP_SPLINK=1)")
    print()
    print(f"{'exclusions':<20}{'true':>8}{'pred':>8}{'precision':>11}{'recall':>9}")
    for reason, e in report["exclusions"].items():
        print(f"{reason:<20}{e['true']:>8}{e['predicted']:>8}{e['precision']:>11.5f}{e['recall']:>9.5f}")
    st = report["person_id_stability"]
    print(f"\nperson_id stable for {st['with_one_person_id']}/{st['true_persons_in_several_months']} "
          f"true persons seen in several months")
