"""Payout benchmark: the pipeline's payments against the payments the TRUE registry implies.

1. Build the true registry of every month from `<sources>/_truth/` (persons.csv,
   families.csv, registry.csv, exclusions.csv, sector.csv; CONTRACTS.md) into
   `<workdir>/truth.duckdb`, in the registry tables' shape.
2. Run the same allocation (`defs.payout.allocation`, the configured programs)
   on it month by month: the true payments.
3. Take the pipeline's payout.payments: from an existing warehouse
   (`warehouse=` or `<workdir>/dtks.duckdb` if present), else run
   `dtks_pipeline.runner.run_months` into `<workdir>/dtks.duckdb`. When a
   blocking upstream check kept the payout assets from running, the same
   allocation is run on the pipeline's registry tables instead (the origin line
   says so). Delete the workdir to force a fresh pipeline run.
4. Score (period, program, NOKK) precision / recall / F1 per month and program,
   (period, NOKK) "paid at all", and recipient accuracy (NIK equal, on the
   correctly paid keys). Print a small table; write `<workdir>/payout_benchmark.json`.

No NIK or name is printed: only counts and rates.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd

from dtks_pipeline.defs.payout.allocation import allocate, load_registry_month
from dtks_pipeline.defs.payout.programs import Program, load_programs
from dtks_pipeline.lib.warehouse import table_exists

TRUTH_FILES = ("persons.csv", "families.csv", "registry.csv", "exclusions.csv", "sector.csv")
FAMILY_REASONS = ("MAMPU_MOBIL", "MAMPU_DESA", "TIDAK_DITEMUKAN")


def build_truth_registry(truth_dir: Path, con: duckdb.DuckDBPyConnection) -> list[str]:
    """registry.persons/families/exclusions/person_links of every true month; returns the periods.

    family_id is the NOKK itself and person_id the true_person_id: the truth
    has no surrogate keys, and the scores compare NOKK and NIK anyway.
    """
    missing = [f for f in TRUTH_FILES if not (truth_dir / f).exists()]
    if missing:
        raise FileNotFoundError(f"{truth_dir} lacks {', '.join(missing)}")

    def csv(name: str) -> str:
        return f"read_csv('{truth_dir / name}', all_varchar = true, header = true)"

    con.execute("CREATE SCHEMA IF NOT EXISTS registry")
    con.execute(f"""CREATE OR REPLACE TABLE registry.persons AS
        SELECT r.period, r.true_person_id AS person_id, p.nik, p.nama, p.jenis_kelamin,
               TRY_CAST(p.tgl_lahir AS DATE) AS tgl_lahir, r.nokk, r.nokk AS family_id,
               TRY_CAST(p.hub_kel AS INTEGER) AS hub_kel, r.kode_desa, r.status
        FROM {csv('registry.csv')} r JOIN {csv('persons.csv')} p USING (true_person_id)""")
    con.execute(f"""CREATE OR REPLACE TABLE registry.exclusions AS
        SELECT period, nokk AS family_id, nullif(true_person_id, '') AS person_id, reason_code,
               'truth' AS evidence_source, NULL::VARCHAR AS evidence_file, NULL::BIGINT AS evidence_row,
               NULL::DATE AS effective_date
        FROM {csv('exclusions.csv')}""")
    con.execute(f"""CREATE OR REPLACE TABLE registry.families AS
        WITH m AS (
            SELECT period, family_id, count(*) FILTER (WHERE status = 'AKTIF') AS n_aktif,
                   min(person_id) FILTER (WHERE status = 'AKTIF' AND hub_kel = 1) AS kepala,
                   mode(kode_desa) AS desa_members
            FROM registry.persons GROUP BY ALL),
        x AS (SELECT DISTINCT period, family_id FROM registry.exclusions
              WHERE person_id IS NULL AND reason_code IN {FAMILY_REASONS})
        SELECT m.period, m.family_id, m.family_id AS nokk, m.kepala AS kepala_person_id,
               coalesce(f.kode_desa, m.desa_members) AS kode_desa, TRY_CAST(f.desil AS INTEGER) AS desil,
               m.n_aktif AS n_anggota_aktif,
               CASE WHEN m.n_aktif = 0 THEN 'TIDAK_AKTIF' WHEN x.family_id IS NOT NULL THEN 'DIKECUALIKAN' ELSE 'AKTIF' END AS status
        FROM m LEFT JOIN {csv('families.csv')} f ON f.nokk = m.family_id
        LEFT JOIN x ON x.period = m.period AND x.family_id = m.family_id""")
    con.execute(f"""CREATE OR REPLACE TABLE registry.person_links AS
        SELECT period, source, period AS source_period, 'truth' AS source_file, NULL::BIGINT AS source_row,
               true_person_id AS person_id, 'TRUTH' AS match_rule, 1.0 AS match_score
        FROM {csv('sector.csv')} WHERE coalesce(true_person_id, '') <> ''""")
    return [r[0] for r in con.execute("SELECT DISTINCT period FROM registry.persons ORDER BY 1").fetchall()]


def true_payments(con: duckdb.DuckDBPyConnection, periods: list[str], programs: list[Program]) -> pd.DataFrame:
    """The allocation run month by month on the true registry (incumbency chained in memory)."""
    frames, prev = [], None
    for period in periods:
        result = allocate(load_registry_month(con, period), programs, prev)
        prev = result.payments
        frames.append(result.payments)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def pipeline_payments(sources: Path, workdir: Path, warehouse: Path | None) -> tuple[pd.DataFrame, pd.DataFrame | None, str]:
    """payout.payments (and registry.persons) of an existing warehouse, or of a fresh pipeline run."""
    published = Path(warehouse) if warehouse else workdir / "dtks.duckdb"
    origin = "existing warehouse"
    if not published.exists() and not (published.parent / "work" / published.name).exists():
        from dtks_pipeline.runner import run_months

        origin = "pipeline run"
        code = run_months(sources, published)
        if code != 0:
            print(f"payout benchmark: the pipeline run returned {code}; scoring what it wrote", file=sys.stderr)
    path = published if published.exists() else published.parent / "work" / published.name
    pay = pd.DataFrame(columns=["period", "program", "nokk", "recipient_nik", "amount_idr"])
    persons = None
    if path.exists():
        with duckdb.connect(str(path), read_only=True) as con:
            if table_exists(con, "payout.payments"):
                pay = con.execute("SELECT period, program, nokk, recipient_nik, amount_idr FROM payout.payments").df()
            if table_exists(con, "registry.persons"):
                persons = con.execute("SELECT period, nik, nokk, status FROM registry.persons").df()
            if pay.empty and persons is not None and table_exists(con, "registry.families"):
                # A blocking upstream check stopped the payout assets: allocate on the registry the
                # pipeline did write, so the payout rules are still scored (labelled as such).
                periods = sorted(persons["period"].unique())
                pay = true_payments(con, periods, load_programs())
                origin += ", payout assets did not run: allocation on the pipeline's registry"
    if pay.empty:
        print(f"payout benchmark: no payout.payments in {path}; every true payment counts as missed", file=sys.stderr)
    return pay, persons, f"{origin}: {path}"


def _prf(true_keys: set, pred_keys: set) -> dict:
    tp = len(true_keys & pred_keys)
    precision = tp / len(pred_keys) if pred_keys else (1.0 if not true_keys else 0.0)
    recall = tp / len(true_keys) if true_keys else (1.0 if not pred_keys else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"true": len(true_keys), "predicted": len(pred_keys), "tp": tp,
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def diagnose_recipients(truth: pd.DataFrame, pred: pd.DataFrame, pipeline_persons: pd.DataFrame | None) -> dict:
    """Why recipients differ on correctly paid families: upstream registry or the rule itself.

    - true_recipient_missing: the pipeline's registry has no person with the true recipient's NIK
      that month (NIK left damaged, row rejected, or merged away)
    - true_recipient_elsewhere: that NIK is in the registry, but not AKTIF in the paid family
    - same_inputs_other_choice: the true recipient is an active member as the pipeline sees the
      family, and another member was chosen (a registry field such as hub_kel or tgl_lahir differs)
    """
    m = truth.merge(pred, on=["period", "program", "nokk"], suffixes=("_true", "_pred"))
    bad = m[m["recipient_nik_true"] != m["recipient_nik_pred"]]
    if pipeline_persons is None or bad.empty:
        return {"mismatches": len(bad)}
    reg = pipeline_persons.astype({"nik": str, "nokk": str})
    known = bad.merge(reg.rename(columns={"nik": "recipient_nik_true", "nokk": "reg_nokk"}), on=["period", "recipient_nik_true"], how="left")
    known = known.drop_duplicates(["period", "program", "nokk"])
    missing = known["reg_nokk"].isna()
    elsewhere = ~missing & ((known["status"] != "AKTIF") | (known["reg_nokk"] != known["nokk"]))
    return {
        "mismatches": len(bad),
        "true_recipient_missing": int(missing.sum()),
        "true_recipient_elsewhere": int(elsewhere.sum()),
        "same_inputs_other_choice": int((~missing & ~elsewhere).sum()),
    }


def score(truth: pd.DataFrame, pred: pd.DataFrame, pipeline_persons: pd.DataFrame | None = None) -> dict:
    """Precision/recall of (period, program, NOKK), of (period, NOKK), and recipient accuracy."""
    t = truth[["period", "program", "nokk", "recipient_nik", "amount_idr"]].astype({"nokk": str, "recipient_nik": str})
    p = pred[["period", "program", "nokk", "recipient_nik", "amount_idr"]].astype({"nokk": str, "recipient_nik": str})

    def keys(df, cols):
        return set(map(tuple, df[cols].itertuples(index=False, name=None)))

    def recipients(df_t, df_p):
        m = df_t.merge(df_p, on=["period", "program", "nokk"], suffixes=("_true", "_pred"))
        correct = int((m["recipient_nik_true"] == m["recipient_nik_pred"]).sum())
        return {"matched": len(m), "recipient_correct": correct,
                "recipient_accuracy": round(correct / len(m), 4) if len(m) else None}

    rows = []
    for (period, program) in sorted(keys(t, ["period", "program"]) | keys(p, ["period", "program"])):
        tt = t[(t["period"] == period) & (t["program"] == program)]
        pp = p[(p["period"] == period) & (p["program"] == program)]
        rows.append({"period": period, "program": program, **_prf(keys(tt, ["nokk"]), keys(pp, ["nokk"])),
                     **recipients(tt, pp), "amount_true": int(tt["amount_idr"].sum()), "amount_pred": int(pp["amount_idr"].sum())})
    return {
        "overall": {**_prf(keys(t, ["period", "program", "nokk"]), keys(p, ["period", "program", "nokk"])), **recipients(t, p)},
        "paid_at_all": _prf(keys(t, ["period", "nokk"]), keys(p, ["period", "nokk"])),
        "recipient_mismatch_causes": diagnose_recipients(t, p, pipeline_persons),
        "per_month_program": rows,
        "totals": {
            "true_idr": int(t["amount_idr"].sum()), "pipeline_idr": int(p["amount_idr"].sum()),
            "true_kpm": len(t), "pipeline_kpm": len(p),
        },
    }


def format_table(result: dict) -> str:
    head = f"{'period':<8} {'program':<13} {'true':>6} {'pipe':>6} {'prec':>7} {'recall':>7} {'f1':>7} {'recip.acc':>9}"
    lines = [head, "-" * len(head)]
    for r in result["per_month_program"]:
        acc = "-" if r["recipient_accuracy"] is None else f"{r['recipient_accuracy']:.4f}"
        lines.append(f"{r['period']:<8} {r['program']:<13} {r['true']:>6,} {r['predicted']:>6,} {r['precision']:>7.4f} {r['recall']:>7.4f} {r['f1']:>7.4f} {acc:>9}")
    o = result["overall"]
    acc = "-" if o["recipient_accuracy"] is None else f"{o['recipient_accuracy']:.4f}"
    lines += ["-" * len(head), f"{'all':<8} {'(p,prog,KK)':<13} {o['true']:>6,} {o['predicted']:>6,} {o['precision']:>7.4f} {o['recall']:>7.4f} {o['f1']:>7.4f} {acc:>9}"]
    a = result["paid_at_all"]
    lines.append(f"{'all':<8} {'(p,KK) paid':<13} {a['true']:>6,} {a['predicted']:>6,} {a['precision']:>7.4f} {a['recall']:>7.4f} {a['f1']:>7.4f}")
    lines.append(f"recipient mismatches: {result['recipient_mismatch_causes']}")
    tot = result["totals"]
    lines.append(f"Rp true {tot['true_idr']:,} / pipeline {tot['pipeline_idr']:,}")
    return "\n".join(lines)


def run(sources: Path, workdir: Path, warehouse: Path | None = None) -> dict:
    """Score the pipeline's payments against the truth; print a table, write JSON to the workdir."""
    sources, workdir = Path(sources), Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    programs = load_programs()
    truth_db = workdir / "truth.duckdb"
    truth_db.unlink(missing_ok=True)
    with duckdb.connect(str(truth_db)) as con:
        periods = build_truth_registry(sources / "_truth", con)
        truth = true_payments(con, periods, programs)
    truth_seconds = time.monotonic() - started
    pred, pipeline_persons, origin = pipeline_payments(sources, workdir, warehouse)
    result = score(truth, pred, pipeline_persons)
    result.update({
        "benchmark": "payout", "sources": str(sources), "pipeline_payments_from": origin, "periods": periods,
        "truth_allocation_seconds": round(truth_seconds, 2), "seconds": round(time.monotonic() - started, 2),
    })
    print(f"payout benchmark ({origin})")
    print(format_table(result))
    out = workdir / "payout_benchmark.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"written {out}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", default="data/sources")
    parser.add_argument("--workdir", default="data/benchmarks")
    parser.add_argument("--warehouse", default=None, help="score this existing warehouse instead of running the pipeline")
    args = parser.parse_args(argv)
    run(Path(args.sources), Path(args.workdir), Path(args.warehouse) if args.warehouse else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
