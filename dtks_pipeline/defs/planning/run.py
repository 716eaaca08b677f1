"""`dtks simulate`: validate a scenario, simulate it on the published warehouse, write the comparison.

    dtks simulate --month 2022-12 --programs scenario.yaml [--warehouse W] [--months N] [--out DIR]

Reads the published warehouse read-only (never writes it) and writes to DIR
(default data/simulations/<month>_<scenario name>/): `simulasi.xlsx` (a sheet per
view), `simulasi.html` (charts) and `simulasi.duckdb` (the simulation.*
tables). A bad scenario (unknown field, negative quota, duplicate program code,
a month outside the data, ...) is reported with the file, the program and the
field, and nothing is written. Exit codes: 0 ok, 1 warehouse missing, 2 bad
scenario or arguments.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import sys
import time
from argparse import Namespace
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dtks_pipeline.defs.operations.query import connect_read_only
from dtks_pipeline.defs.payout.programs import ProgramConfigError
from dtks_pipeline.defs.planning.compare import TOTAL, all_views
from dtks_pipeline.defs.planning.page import build_page
from dtks_pipeline.defs.planning.scenario import Scenario, ScenarioError, load_scenario
from dtks_pipeline.defs.planning.simulate import MonthSimulation, simulate
from dtks_pipeline.defs.planning.store import PAYMENT_COLUMNS, write_store
from dtks_pipeline.defs.planning.workbook import write_workbook
from dtks_pipeline.defs.reports.formatting import number, rupiah, signed
from dtks_pipeline.lib.masking import mask_ids

EXIT_OK, EXIT_MISSING, EXIT_BAD = 0, 1, 2
WORKBOOK, PAGE, STORE = "simulasi.xlsx", "simulasi.html", "simulasi.duckdb"
DEFAULT_OUT_ROOT = Path("data/simulations")


@dataclass
class SimulationResult:
    scenario: Scenario
    sims: list[MonthSimulation]
    views: dict[str, pd.DataFrame]
    out_dir: Path
    workbook: Path
    page: Path
    store: Path
    seconds: float


def default_out_dir(month: str, scenario_path: Path) -> Path:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", scenario_path.stem) or "skenario"
    return DEFAULT_OUT_ROOT / f"{month}_{stem}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _info(scenario: Scenario, warehouse: Path, sims: list[MonthSimulation]) -> list[tuple[str, object]]:
    return [
        ("Skenario", str(scenario.path)),
        ("SHA-256 skenario", _sha256(scenario.path)),
        ("Gudang data (dibaca saja)", str(warehouse)),
        ("Bulan disimulasikan", ", ".join(scenario.months)),
        ("Bulan dalam data", ", ".join(scenario.data_months)),
        ("Program skenario", ", ".join(p.code for p in scenario.programs)),
        ("Keluarga ditahan (payout.held)", ", ".join(f"{s.period}: {len(s.held)}" for s in sims)),
        ("Dibuat", dt.datetime.now().isoformat(timespec="seconds")),
    ]


def _notes(sims: list[MonthSimulation]) -> list[str]:
    notes = [
        "Realisasi = payout.payments (yang benar-benar dialokasikan). Skenario = aturan alokasi proyek yang sama "
        "dengan file program skenario. Bulan pertama simulasi mulai dari penerima bulan sebelumnya yang sebenarnya.",
        "Layak = keluarga yang memenuhi syarat suatu program (dengan penerima), program lain diabaikan.",
    ]
    for s in sims:
        if s.held:
            notes.append(f"{s.period}: {number(len(s.held))} keluarga ditahan untuk ditinjau (payout.held), tidak dibayar di kedua versi.")
    return notes


def simulation_tables(scenario: Scenario, sims: list[MonthSimulation], views: dict[str, pd.DataFrame],
                      info: list[tuple[str, object]]) -> dict[str, pd.DataFrame]:
    payments = pd.concat([s.scenario.allocation.payments for s in sims], ignore_index=True)[PAYMENT_COLUMNS].copy()
    payments["nokk"] = mask_ids(payments["nokk"])
    programs = pd.DataFrame([{
        "code": p.code, "name": p.name, "amount_idr": p.amount_idr, "months": ",".join(p.months), "quota": p.quota,
        "order": p.order, "kind": p.kind, "desil_min": p.desil_min, "desil_max": p.desil_max, "source": p.source,
        "quota_by_month": ",".join(f"{k}={v}" for k, v in sorted(p.quota_by_month.items())),
    } for p in scenario.programs])
    runs = pd.DataFrame([{k: str(v) for k, v in info}])
    return {**views, "payments": payments, "scenario": programs, "runs": runs}


def run_simulation(warehouse: str | Path, scenario_path: str | Path, month: str, n_months: int = 1,
                   out_dir: str | Path | None = None) -> SimulationResult:
    """Validate, simulate and write (raises ProgramConfigError/ScenarioError before writing anything)."""
    started = time.perf_counter()
    warehouse, scenario_path = Path(warehouse), Path(scenario_path)
    if not warehouse.is_file():
        raise FileNotFoundError(f"published warehouse {warehouse} not found (run and publish a month first)")
    con = connect_read_only(warehouse)
    try:
        scenario = load_scenario(scenario_path, con, month, n_months)
        sims = simulate(con, scenario.months, scenario.programs)
    finally:
        con.close()
    views = all_views(sims)
    out = Path(out_dir) if out_dir else default_out_dir(month, scenario_path)
    info = _info(scenario, warehouse, sims)
    title = f"Simulasi anggaran: {scenario_path.name}"
    subtitle = f"Bulan {', '.join(scenario.months)} · gudang data {warehouse.name} · skenario dibandingkan dengan realisasi"
    html = build_page(views, title, subtitle, _notes(sims))
    out.mkdir(parents=True, exist_ok=True)
    workbook = write_workbook(out / WORKBOOK, views, info)
    page = out / PAGE
    page.write_text(html, encoding="utf-8")
    store = write_store(out / STORE, simulation_tables(scenario, sims, views, info))
    return SimulationResult(scenario, sims, views, out, workbook, page, store, time.perf_counter() - started)


def format_comparison(views: dict[str, pd.DataFrame]) -> str:
    """The comparison as plain text: programs per month, the budget, the coverage gap, who enters/leaves."""
    lines = []
    head = f"{'bulan':<8} {'program':<13} {'kuota':>13} {'KPM real':>9} {'KPM sken.':>9} {'selisih':>8} {'Rp realisasi':>17} {'Rp skenario':>17} {'selisih Rp':>16}"
    lines.append(head)
    for r in views["programs"].itertuples():
        if r.program == TOTAL:
            lines.append("-" * len(head))
        quota = number(r.quota_sim) if r.quota_sim == r.quota_real else f"{number(r.quota_real)}→{number(r.quota_sim)}"
        lines.append(f"{r.period:<8} {r.program:<13} {quota:>13} {number(r.kpm_real):>9} {number(r.kpm_sim):>9} "
                     f"{signed(r.delta_kpm):>8} {rupiah(r.rp_real):>17} {rupiah(r.rp_sim):>17} {signed(r.delta_rp, True):>16}")
    b = views["budget"][views["budget"]["program"] == TOTAL].iloc[0]
    lines.append(f"Anggaran {int(b.n_months)} bulan: realisasi {rupiah(b.rp_real)}, skenario {rupiah(b.rp_sim)} "
                 f"(selisih {signed(b.delta_rp, True)}; KPM-bulan {number(b.kpm_real)} → {number(b.kpm_sim)})")
    cov = views["coverage_desil"]
    last = cov["period"].max()
    c = cov[cov["period"] == last]
    per_desil = ", ".join(f"{d}: {number(g)}→{number(s)}" for d, g, s in zip(c["desil"], c["gap_real"], c["gap_sim"]) if g or s)
    lines.append(f"Layak belum dibayar {last}: realisasi {number(c['gap_real'].sum())}, skenario {number(c['gap_sim'].sum())} "
                 f"(per desil {per_desil})")
    chg = views["changes_summary"]
    chg = chg[chg["period"] == last]
    moves = ", ".join(f"{r.program} {r.change} {r.reason_code} {number(r.n_families)}" for r in chg.itertuples()) or "tidak ada"
    lines.append(f"Keluarga masuk/keluar {last}: {moves}")
    return "\n".join(lines)


def main(args: Namespace, out=None, err=None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        result = run_simulation(args.warehouse, args.programs, args.month, int(args.months), args.out)
    except (ProgramConfigError, ScenarioError) as exc:
        err.write(f"dtks simulate: bad scenario: {exc}\nNothing was written.\n")
        return EXIT_BAD
    except FileNotFoundError as exc:
        err.write(f"dtks simulate: {exc}\n")
        return EXIT_MISSING
    out.write(f"dtks simulate: {result.scenario.path} on {', '.join(result.scenario.months)} "
              f"(published warehouse {args.warehouse}, read only)\n")
    out.write(format_comparison(result.views) + "\n")
    out.write(f"Written: {result.workbook}, {result.page}, {result.store} ({result.seconds:.1f} s)\n")
    return EXIT_OK
