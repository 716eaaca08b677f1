"""Score person resolution on four benchmark sets, three resolvers side by side.

    dtks benchmark registry [--sets own,febrl3,febrl4,perturbed] [--sources DIR] [--families N] [--workdir DIR]

Sets (benchmarks/sets.py writes them to `<workdir>/sets/` unless they are there):
`own` (the sample generator; `--sources DIR` uses DIR instead of generating
`--families` families), `febrl3` and `febrl4` (benchmarks/febrl.py), `perturbed`
(`own` rewritten by benchmarks/perturb.py).

For each set:

1. The project: every month is staged into a fresh warehouse with the project's
   ingestion assets, then the registry is built month by month with the project's
   own registry assets and checks (the registry domain's Definitions, dg.materialize
   in process). Its answer is `registry.person_links`, whatever model is inside.
2. The rows scored are the usable rows (truth STAGED) the registry of the last month
   resolves (benchmarks/resolvers.py: latest snapshot of each source, events up to
   the month), for all three resolvers alike: the project, Splink's plain model
   (benchmarks/splink_baseline.py) and exact-NIK grouping.
3. Pairwise precision / recall / F1 (`pairwise_scores`, as Splink evaluates
   itself): a pair of rows is predicted-same when one resolver puts both in one
   person, truly-same when both carry the same true_person_id; a row linked to
   nobody is a person of its own. Wall time: the project's registry build of the
   month (all its stages), Splink's training + prediction + clustering, the
   grouping. Candidate pairs: Splink's blocking analysis, the pairs exact-NIK
   grouping implies, and the project's when its asset metadata names them.
4. Link accuracy of Dukcapil, Samsat and sector rows (share of the rows linked to a
   registry person that are linked to the right one); per-month project scores;
   exclusions against `_truth/exclusions.csv` and person_id stability for sets with
   several months.

Results go to `<workdir>/registry_benchmark.json`; one table is printed.
`DTKS_BENCH_SKIP_SPLINK=1` skips Splink.
"""
from __future__ import annotations

import ast
import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd

from dtks_pipeline.defs.registry.inputs import EVENT_SOURCES

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


def commonest(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """The commonest `value` per `key` (ties: the smallest value), vectorised."""
    counts = frame.groupby([key, value]).size().rename("n").reset_index()
    counts = counts.sort_values([key, "n", value], ascending=[True, False, True]).drop_duplicates(key)
    return counts.set_index(key)[value]


def pairwise_scores(pred: pd.Series, true: pd.Series) -> dict:
    """Pairwise precision / recall / F1 of two clusterings of the same rows (pred NaN = singleton).

    A row whose true person is NaN names nobody in the registry (a car owner outside DTKS): linking it to
    a registry person's row is a false pair, but a pair of two such rows is not judged (the truth does
    not say whether two vehicles of outsiders have one owner), so it is not counted as predicted.
    """
    def pairs(counts: pd.Series) -> int:
        c = counts.to_numpy(dtype=np.int64)
        return int((c * (c - 1) // 2).sum())

    frame = pd.DataFrame({"p": pred.to_numpy(), "t": true.to_numpy()})
    unjudged = pairs(frame.loc[frame["t"].isna(), "p"].dropna().value_counts())
    predicted = pairs(frame["p"].dropna().value_counts()) - unjudged
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
    return commonest(merged, "person_id", "true_person_id").reset_index()


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


PROJECT = "project"
SPLINK = "splink_plain"
EXACT_NIK = "exact_nik"
RESOLVERS = (PROJECT, SPLINK, EXACT_NIK)


def _candidate_pairs_from_metadata(result) -> int | None:
    """The project's candidate-pair count if its registry assets report one in their metadata."""
    for event in result.get_asset_materialization_events():
        for key, value in event.materialization.metadata.items():
            if "candidate" not in key.lower():
                continue
            data = getattr(value, "value", value)
            data = getattr(data, "data", data)
            if isinstance(data, (int, np.integer)) and not isinstance(data, bool):
                return int(data)
            if isinstance(data, dict):
                if isinstance(data.get("total"), (int, np.integer)):
                    return int(data["total"])
                counts = [v for v in data.values() if isinstance(v, (int, np.integer)) and not isinstance(v, bool)]
                if counts:
                    return int(sum(counts))
    return None


class CandidatePairLog(logging.Handler):
    """Collects the candidate-pair counts the project's registry logs ("candidate pairs ... {rule: n}"),
    for when its asset metadata does not carry them."""

    def __init__(self):
        super().__init__(level=logging.INFO)
        self.total: int | None = None

    def emit(self, record):
        message = record.getMessage()
        if "candidate pair" not in message.lower() or "{" not in message:
            return
        text = message[message.index("{"):]
        depth = 0
        for i, ch in enumerate(text):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            if depth == 0:
                try:
                    counts = ast.literal_eval(text[:i + 1])
                except (ValueError, SyntaxError):
                    return
                values = [v for v in counts.values() if isinstance(v, int)] if isinstance(counts, dict) else []
                if values:
                    self.total = sum(values)
                return

    def __enter__(self):
        self._logger = logging.getLogger("dtks_pipeline")
        self._level = self._logger.level
        if self._logger.getEffectiveLevel() > logging.INFO:
            self._logger.setLevel(logging.INFO)
        self._logger.addHandler(self)
        return self

    def __exit__(self, *exc):
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)


def build_project(sources: Path, workdir: Path, say=print) -> tuple[dict, list[str], dict]:
    """Stage every month of `sources` and build the registry month by month with the project's assets."""
    from dtks_pipeline.benchmarks.ingestion import stage_all
    from dtks_pipeline.defs.registry.definitions import defs as registry_defs
    from dtks_pipeline.defs.shared import resources_for

    workdir.mkdir(parents=True, exist_ok=True)
    warehouse = workdir / "registry_bench.duckdb"
    for stale in (warehouse, warehouse.parent / "work"):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    resources = resources_for(sources, warehouse)
    t0 = time.perf_counter()
    periods = stage_all(sources, warehouse)
    say(f"staged {len(periods)} month(s) in {time.perf_counter() - t0:.1f} s")
    assets = list(registry_defs.assets or [])
    checks = list(registry_defs.asset_checks or [])
    months = {}
    for period in periods:
        t0 = time.perf_counter()
        with PeakMemory() as mem, CandidatePairLog() as logged:
            result = dg.materialize(
                [*assets, *checks], partition_key=period, resources=resources, raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
            )
        checks_passed = {e.check_name: bool(e.passed) for e in result.get_asset_check_evaluations()}
        months[period] = {"success": bool(result.success), "seconds": round(time.perf_counter() - t0, 2),
                          "peak_mb": mem.mb, "checks": checks_passed,
                          "candidate_pairs": _candidate_pairs_from_metadata(result) or logged.total}
        failed = sorted(k for k, ok in checks_passed.items() if not ok)
        say(f"registry {period}: {'ok' if result.success else 'FAILED'} in {months[period]['seconds']} s, "
            f"checks {sum(checks_passed.values())}/{len(checks_passed)}" + (f" (failed: {', '.join(failed)})" if failed else ""))
    return resources, periods, months


def project_clusters(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, period: str) -> pd.Series:
    """person_id of each row in `rows` as the project linked it in `period` (NaN: linked to nobody): the month's
    links, and an earlier month's event rows from the links of the month that delivered them (an event row is
    listed there only, build.person_links; the person ids are stable from month to month)."""
    events = ", ".join(f"'{s}'" for s in EVENT_SOURCES)
    links = con.execute(
        "SELECT source_period AS period, source_file, source_row, person_id FROM registry.person_links "
        f"WHERE period = ? OR (period = source_period AND period < ? AND source IN ({events}))",
        [period, period]).df()
    links["source_row"] = links["source_row"].astype(int)
    merged = rows[KEYS].merge(links.drop_duplicates(KEYS), on=KEYS, how="left")
    return pd.Series(merged["person_id"].to_numpy(), index=rows.index, dtype=object)


def score_set(name: str, sources: Path, workdir: Path, *, splink: bool = True) -> dict:
    """Build the project on one set and score the three resolvers on its last month."""
    from dtks_pipeline.benchmarks import resolvers

    started = time.perf_counter()

    def say(msg: str) -> None:
        print(f"[{name} {time.perf_counter() - started:6.1f} s] {msg}", flush=True)

    resources, periods, months = build_project(sources, workdir / name, say)
    truth_all = resolvers.read_truth(sources)
    truth = _truth_rows(sources)
    last = periods[-1]
    con = resources["warehouse"].connect(read_only=True)
    try:
        for period in periods:
            try:
                months[period]["resolution"] = score_resolution(con, truth, period)
            except duckdb.Error as exc:  # the registry of that month was not written
                months[period]["resolution_error"] = str(exc).splitlines()[0]
        rows = resolvers.month_rows(truth_all, last)
        frame = resolvers.staged_features(con, rows)
        clusters = {PROJECT: project_clusters(con, frame, last)}
        several = len(periods) > 1
        exclusions = score_exclusions(con, truth, sources, [p for p in periods if "resolution" in months[p]]) if several else None
        stability = score_stability(con, truth, [p for p in periods if "resolution" in months[p]]) if several else None
    finally:
        con.close()
    say(f"{len(frame):,} usable rows in the registry of {last} ({int((~frame['staged']).sum()):,} not staged)")

    out = {PROJECT: {"seconds": months[last]["seconds"], "candidate_pairs": months[last]["candidate_pairs"],
                     "success": months[last]["success"], "checks_failed": sorted(k for k, v in months[last]["checks"].items() if not v)}}
    grouping = resolvers.exact_nik(frame)
    clusters[EXACT_NIK] = grouping.pop("cluster")
    out[EXACT_NIK] = grouping
    if splink:
        say("splink (plain model): training, prediction, clustering ...")
        result = resolvers.splink_plain(frame)
        clusters[SPLINK] = result.pop("cluster")
        others = result.pop("other_thresholds")
        out[SPLINK] = result
        out[SPLINK]["scores_at_other_thresholds"] = {t: pairwise_scores(c, frame["true_person_id"])
                                                      for t, c in others.items()}
        say(f"splink: {result['seconds']} s, {result['candidate_pairs']:,} candidate pairs")
    for resolver, cluster in clusters.items():
        out[resolver]["scores"] = pairwise_scores(cluster, frame["true_person_id"])
        out[resolver]["link_accuracy"] = resolvers.link_accuracy(frame, cluster)
    say("scored: " + ", ".join(f"{r} F1 {out[r]['scores']['f1']:.5f}" for r in out))
    return {"set": name, "sources": str(sources), "periods": periods, "scored_month": last,
            "rows_scored": int(len(frame)), "rows_not_staged": int((~frame["staged"]).sum()),
            "resolvers": out, "months": months, "exclusions": exclusions, "person_id_stability": stability,
            "seconds": round(time.perf_counter() - started, 1)}


def prepare_sets(names, workdir: Path, sources: Path | None, families: int) -> dict[str, Path]:
    """Where each set lives. Sets missing under `<workdir>/sets/` are written there first: the own sample
    when it was generated for another family count, `perturbed` when its own sample changed."""
    from dtks_pipeline.benchmarks import febrl, perturb
    from dtks_pipeline.benchmarks import sets as sets_mod
    from dtks_pipeline.sample.generator import generate

    root = workdir / "sets"
    root.mkdir(parents=True, exist_ok=True)
    own = Path(sources) if sources else root / "own"
    if sources is None and ("own" in names or "perturbed" in names):
        stamp = own / "_truth" / "families.txt"
        if not (stamp.exists() and stamp.read_text().strip() == str(families)):
            if own.exists():
                shutil.rmtree(own)
            print(f"registry benchmark: generating the own sample, {families:,} families -> {own}", flush=True)
            generate(own, families=families)
            stamp.write_text(str(families))
    for name in febrl.SETS:
        if name in names and not (root / name / "_truth" / "rows.csv").exists():
            print(f"registry benchmark: writing {name} -> {root / name}", flush=True)
            febrl.write_set(name, root)
    if "perturbed" in names:
        made_from = root / "perturbed" / "_truth" / "made_from.txt"
        want = sets_mod.perturbed_stamp(own)
        if not (made_from.exists() and made_from.read_text().strip() == want):
            print(f"registry benchmark: perturbing {own} -> {root / 'perturbed'}", flush=True)
            perturb.perturb_sample(own, root / "perturbed", seed=sets_mod.PERTURB_SEED)
            made_from.write_text(want)
    (root / "README.txt").write_text(sets_mod.readme_text(root, families, 2022, None))
    return {n: (own if n == "own" else root / n) for n in names}


def run_sets(names=None, workdir: Path = Path("data/benchmarks"), sources: Path | None = None,
             families: int | None = None) -> dict:
    from dtks_pipeline.benchmarks.sets import DEFAULT_FAMILIES, SET_NAMES

    names = tuple(names or SET_NAMES)
    unknown = [n for n in names if n not in SET_NAMES]
    if unknown:
        raise ValueError(f"unknown set(s) {', '.join(unknown)}; known: {', '.join(SET_NAMES)}")
    workdir = Path(workdir).resolve()
    families = families or DEFAULT_FAMILIES
    paths = prepare_sets(names, workdir, Path(sources).resolve() if sources else None, families)
    splink = os.environ.get("DTKS_BENCH_SKIP_SPLINK") != "1"
    report = {"sets": {}, "families": None if sources else families}
    for name in names:
        report["sets"][name] = score_set(name, paths[name], workdir, splink=splink)
        (workdir / "registry_benchmark.json").write_text(json.dumps(report, indent=2, default=str))
    print_report(report)
    return report


def run(sources: Path, workdir: Path) -> dict:
    """The own sample only, read from `sources` (the benchmark as `make benchmark` runs it)."""
    return run_sets(("own",), workdir, sources=sources)


def cli(args) -> int:
    names = tuple(s.strip() for s in (getattr(args, "sets", None) or "").split(",") if s.strip()) or None
    families = getattr(args, "families", None)
    run_sets(names, Path(args.workdir), Path(args.sources) if args.sources else None, families)
    return 0


def _fmt_pairs(value) -> str:
    return f"{value:,}" if isinstance(value, (int, np.integer)) else "n/a"


def print_report(report: dict) -> None:
    print()
    print(f"{'set':<11}{'resolver':<14}{'rows':>9}{'precision':>11}{'recall':>9}{'F1':>9}{'wall s':>9}{'cand. pairs':>14}")
    for name, r in report["sets"].items():
        for resolver in RESOLVERS:
            x = r["resolvers"].get(resolver)
            if not x or "scores" not in x:
                continue
            sc = x["scores"]
            print(f"{name:<11}{resolver:<14}{sc['rows']:>9,}{sc['precision']:>11.5f}{sc['recall']:>9.5f}{sc['f1']:>9.5f}"
                  f"{x['seconds']:>9}{_fmt_pairs(x.get('candidate_pairs')):>14}")
    accuracy_rows = [(n, res, g, a) for n, r in report["sets"].items() for res in RESOLVERS
                     for g, a in r["resolvers"].get(res, {}).get("link_accuracy", {}).items()]
    if accuracy_rows:
        print(f"\nlinked rows whose person is the true one (rows naming a registry person not linked: missed)")
        print(f"{'set':<11}{'resolver':<14}{'group':<10}{'rows':>8}{'linked':>8}{'right':>8}{'share':>9}{'missed':>8}")
        for n, res, g, a in accuracy_rows:
            share = f"{a['share_right']:.5f}" if a["share_right"] is not None else "n/a"
            print(f"{n:<11}{res:<14}{g:<10}{a['rows']:>8,}{a['linked']:>8,}{a['linked_right']:>8,}{share:>9}{a['missed']:>8,}")
    for name, r in report["sets"].items():
        per_month = [(p, m) for p, m in r["months"].items() if "resolution" in m]
        if len(per_month) > 1:
            print(f"\n{name}: project per month (all sources): " + "; ".join(
                f"{p} F1 {m['resolution']['all']['f1']:.5f}" for p, m in per_month))
        if r.get("exclusions"):
            e = r["exclusions"]["ALL"]
            print(f"{name}: exclusions precision {e['precision']:.5f} recall {e['recall']:.5f} ({e['true']} true)")
        if r.get("person_id_stability"):
            st = r["person_id_stability"]
            print(f"{name}: person_id stable for {st['with_one_person_id']}/{st['true_persons_in_several_months']} "
                  "true persons seen in several months")
        failed = r["resolvers"][PROJECT].get("checks_failed")
        if failed:
            print(f"{name}: project checks failed in {r['scored_month']}: {', '.join(failed)}")
