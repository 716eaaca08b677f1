"""The comparison as one self-contained HTML page with charts (Altair -> inline SVG).

Shows the latest simulated month (programs, kecamatan, coverage gap by desil,
who would enter or leave and why) and the budget over the simulated months.
Only aggregates: no NIK, no name, no NOKK.
"""
from __future__ import annotations

import pandas as pd

from dtks_pipeline.defs.planning.compare import HEADINGS, MONEY_COLUMNS, TOTAL
from dtks_pipeline.defs.reports import charts
from dtks_pipeline.defs.reports.formatting import number, rupiah, signed
from dtks_pipeline.defs.reports.html import Section, Table, render_page

REAL, SIM = charts.REAL, charts.SCENARIO


def _long(frame: pd.DataFrame, key: str, real: str, sim: str, value: str) -> pd.DataFrame:
    """Two columns (real, scenario) as rows with a `Versi` column, for grouped bars."""
    out = pd.concat([
        frame[[key, real]].rename(columns={real: value}).assign(Versi=REAL),
        frame[[key, sim]].rename(columns={sim: value}).assign(Versi=SIM),
    ], ignore_index=True)
    return out


def display(frame: pd.DataFrame) -> Table:
    """A view as a page table: Indonesian headings, Rp and signed differences formatted (program names
    are in the workbook: the page keeps to codes so the tables fit)."""
    frame = frame.drop(columns=[c for c in ("name",) if c in frame.columns])
    shown = frame.rename(columns=HEADINGS)
    formats = {}
    for col in frame.columns:
        heading = HEADINGS.get(col, col)
        if col.startswith("delta_"):
            formats[heading] = (lambda v, m=col in MONEY_COLUMNS: signed(v, money=m))
        elif col in MONEY_COLUMNS:
            formats[heading] = rupiah
        elif pd.api.types.is_numeric_dtype(frame[col]) and col != "desil":
            formats[heading] = number
    return Table(shown, formats=formats)


def build_page(views: dict[str, pd.DataFrame], title: str, subtitle: str, notes: list[str]) -> str:
    programs, budget = views["programs"], views["budget"]
    last = programs["period"].max()
    month = programs[(programs["period"] == last) & (programs["program"] != TOTAL)]
    total = programs[(programs["period"] == last) & (programs["program"] == TOTAL)].iloc[0]
    budget_total = budget[budget["program"] == TOTAL].iloc[0]
    n_months = int(budget_total["n_months"])
    cards = [
        (f"KPM {last}: realisasi → skenario", f"{number(total['kpm_real'])} → {number(total['kpm_sim'])}"),
        (f"Rp {last}: selisih", signed(total["delta_rp"], money=True)),
        (f"Anggaran {n_months} bulan (skenario)", rupiah(budget_total["rp_sim"])),
        (f"Selisih anggaran {n_months} bulan", signed(budget_total["delta_rp"], money=True)),
    ]

    kec = views["kecamatan"]
    kec = kec[kec["period"] == last].groupby("kecamatan", as_index=False)[["rp_real", "rp_sim"]].sum()
    cov = views["coverage_desil"]
    cov = cov[cov["period"] == last]
    chg = views["changes_summary"]
    chg = chg[chg["period"] == last]
    chg_chart = (charts.bar_stacked(chg.assign(label=chg["change"].str.title() + " · " + chg["reason_code"]), "label",
                                    "n_families", "program", "Keluarga masuk/keluar menurut alasan", "Alasan", "Keluarga")
                 if len(chg) else charts.empty_note("Keluarga masuk/keluar menurut alasan", "Tidak ada keluarga yang berubah."))
    sections = [
        Section(f"KPM dan Rp per program, {last}", charts=[
            charts.to_svg(charts.bar_grouped(_long(month, "program", "kpm_real", "kpm_sim", "KPM"), "program", "KPM", "Versi",
                                             "KPM per program", "Program", "KPM")),
        ], tables=[display(programs)]),
        Section(f"Anggaran selama {n_months} bulan", charts=[
            charts.to_svg(charts.bar_grouped(_long(budget[budget["program"] != TOTAL], "program", "rp_real", "rp_sim", "Rp"),
                                             "program", "Rp", "Versi", "Rp per program", "Program", "Rp")),
        ], tables=[display(budget)]),
        Section(f"Per kecamatan, {last}", charts=[
            charts.to_svg(charts.bar_grouped(_long(kec, "kecamatan", "rp_real", "rp_sim", "Rp"), "kecamatan", "Rp", "Versi",
                                             "Rp per kecamatan (semua program)", "Kecamatan", "Rp")),
        ], tables=[display(views["coverage_kecamatan"][views["coverage_kecamatan"]["period"] == last])],
            intro="Tabel: keluarga layak, dibayar, dan layak belum dibayar per kecamatan."),
        Section(f"Layak belum dibayar per desil, {last}", charts=[
            charts.to_svg(charts.bar_grouped(_long(cov, "desil", "gap_real", "gap_sim", "Keluarga"), "desil", "Keluarga",
                                             "Versi", "Keluarga layak belum dibayar", "Desil", "Keluarga",
                                             order=list(cov["desil"]))),
        ], tables=[display(cov)]),
        Section(f"Keluarga yang masuk atau keluar, {last}", charts=[charts.to_svg(chg_chart)],
                tables=[display(chg)], notes=["Daftar keluarga (ID keluarga, NOKK disamarkan) ada di buku kerja .xlsx."]),
    ]
    if notes:
        sections.append(Section("Catatan", notes=notes))
    return render_page(title, subtitle, cards, sections)
