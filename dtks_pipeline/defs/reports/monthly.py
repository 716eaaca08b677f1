"""The monthly report: one self-contained HTML page per month for the Bupati's office and the kecamatan.

    dtks report --month 2022-12 [--warehouse data/warehouse/dtks.duckdb] [--out data/reports]

At a glance: KPM and Rp per program by kecamatan; coverage (paid against
eligible) by desil; who entered and who left, by reason; the registry over the
months (active persons, deaths, moves, exclusions by reason); data quality
(rows rejected by source and reason, files quarantined, not delivered or not
used) over the months; families held for review. Only aggregates: no NIK,
name or NOKK. Charts are Altair rendered offline to inline SVG (charts.py).

The CLI reads the published warehouse read-only; the `reports/monthly` asset
reads the same published file right after the month's publication (assets.py).
"""
from __future__ import annotations

import sys
from argparse import Namespace
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from dtks_pipeline.defs.reports import charts, monthly_data as data
from dtks_pipeline.defs.reports.formatting import label, number, rupiah
from dtks_pipeline.defs.reports.html import Section, Table, render_page

DEFAULT_OUT = Path("data/reports")
RP_AXIS = "$,d"  # with formatting.D3_LOCALE_ID: Rp1.302.750.000


def report_path(out_dir: str | Path, period: str) -> Path:
    return Path(out_dir) / f"laporan_bulanan_{period}.html"


@dataclass
class MonthlyReport:
    period: str
    html: str
    summary_md: str
    n_charts: int
    totals: pd.DataFrame


def _table(frame: pd.DataFrame, money: tuple[str, ...] = (), caption: str = "", max_rows: int = 60) -> Table:
    renamed = frame.rename(columns={c: label(c) for c in frame.columns})
    formats = {label(c): rupiah for c in money}
    return Table(renamed, caption=caption, formats=formats, max_rows=max_rows)


def _sections(con: duckdb.DuckDBPyConnection, period: str) -> tuple[list[Section], dict]:
    facts: dict = {}
    by_kec = data.program_by_kecamatan(con, period)
    cov = data.coverage_by_desil(con, period)
    chg = data.changes_by_reason(con, period)
    reg = data.registry_trend(con, period)
    rej = data.rejected_trend(con, period)
    files = data.file_problems_trend(con, period)
    held = data.held_families(con, period)
    facts.update(coverage=cov, changes=chg, held=held, files=files[files["period"] == period] if len(files) else files)

    s = []
    if len(by_kec):
        kec_charts = [
            charts.bar_stacked(by_kec, "kecamatan", "kpm", "program", "KPM per program menurut kecamatan", "Kecamatan", "KPM"),
            charts.bar_stacked(by_kec, "kecamatan", "rp", "program", "Rp per program menurut kecamatan", "Kecamatan", "Rp",
                               value_format=RP_AXIS),
        ]
    else:
        kec_charts = [charts.empty_note("KPM per program menurut kecamatan", "Belum ada pembayaran bulan ini."),
                      charts.empty_note("Rp per program menurut kecamatan", "Belum ada pembayaran bulan ini.")]
    pivot = (by_kec.pivot_table(index="kecamatan", columns="program", values="kpm", aggfunc="sum", fill_value=0)
             .reset_index() if len(by_kec) else pd.DataFrame(columns=["kecamatan"]))
    if len(by_kec):
        rp = by_kec.groupby("kecamatan")["rp"].sum()
        pivot["Total KPM"] = pivot.drop(columns="kecamatan").sum(axis=1)
        pivot["Total Rp"] = pivot["kecamatan"].map(rp)
    pivot_table = Table(pivot.rename(columns={"kecamatan": "Kecamatan"}), caption="KPM per program dan kecamatan",
                        formats={"Total Rp": rupiah})
    s.append(Section("KPM dan Rp per program menurut kecamatan", charts=[charts.to_svg(c) for c in kec_charts],
                     tables=[pivot_table]))

    if len(cov):
        long = pd.concat([cov[["desil", "paid"]].rename(columns={"paid": "n"}).assign(Status="Dibayar"),
                          cov[["desil", "unpaid"]].rename(columns={"unpaid": "n"}).assign(Status="Layak belum dibayar")])
        cov_chart = charts.bar_stacked(long, "desil", "n", "Status", "Keluarga layak: dibayar dan belum dibayar per desil",
                                       "Desil", "Keluarga", horizontal=False, order=list(cov["desil"]))
    else:
        cov_chart = charts.empty_note("Cakupan per desil", "Belum ada alokasi bulan ini.")
    s.append(Section("Cakupan: dibayar dibanding layak, per desil", charts=[charts.to_svg(cov_chart)],
                     tables=[_table(cov)],
                     intro="Layak: keluarga yang memenuhi syarat suatu program yang membayar bulan ini (dibayar atau "
                           "dalam daftar tunggu)."))

    if len(chg):
        shown = chg.assign(alasan=chg["change"].map(label) + " · " + chg["reason_code"])
        chg_chart = charts.bar_stacked(shown, "alasan", "n", "program", "Keluarga masuk dan keluar menurut alasan",
                                       "Alasan", "Keluarga")
    else:
        chg_chart = charts.empty_note("Keluarga masuk dan keluar menurut alasan", "Tidak ada perubahan bulan ini.")
    s.append(Section("Masuk dan keluar menurut alasan", charts=[charts.to_svg(chg_chart)],
                     tables=[_table(chg.assign(change=chg["change"].map(label)))]))

    people = reg[reg["measure"].isin(["Jiwa aktif", "Keluarga aktif"])]
    excl = reg[reg["measure"].str.startswith("Dikecualikan")]
    reg_charts = [
        charts.line_trend(people, "period", "n", "measure", "Jiwa dan keluarga aktif", "Bulan", "Jumlah")
        if len(people) else charts.empty_note("Jiwa dan keluarga aktif", "Registri belum ada."),
        charts.line_trend(excl.assign(measure=excl["measure"].str.replace("Dikecualikan: ", "", regex=False)),
                          "period", "n", "measure", "Meninggal, pindah dan dikecualikan menurut alasan (kumulatif)",
                          "Bulan", "Jiwa/keluarga")
        if len(excl) else charts.empty_note("Pengecualian menurut alasan", "Tidak ada pengecualian."),
    ]
    reg_wide = (reg.pivot_table(index="measure", columns="period", values="n", aggfunc="sum", fill_value=0).reset_index()
                .rename(columns={"measure": "Ukuran"}) if len(reg) else pd.DataFrame())
    s.append(Section("Registri dari bulan ke bulan", charts=[charts.to_svg(c) for c in reg_charts],
                     tables=[Table(reg_wide)],
                     notes=["Pengecualian menumpuk: kematian dan kepindahan bulan lalu tetap dihitung."]))

    rej_chart = (charts.bar_stacked(rej, "period", "n", "source", "Baris ditolak per bulan menurut sumber", "Bulan",
                                    "Baris", horizontal=False)
                 if len(rej) else charts.empty_note("Baris ditolak per bulan", "Tidak ada baris ditolak."))
    file_chart = (charts.bar_stacked(files, "period", "n_files", "status",
                                     "Berkas dikarantina, tidak dikirim atau tidak digunakan", "Bulan", "Berkas",
                                     horizontal=False)
                  if len(files) else charts.empty_note("Berkas dikarantina, tidak dikirim atau tidak digunakan",
                                                       "Semua berkas diterima dan dipakai."))
    reasons = (rej[rej["period"] == period].groupby(["source", "reason_code"], as_index=False)["n"].sum()
               .sort_values("n", ascending=False) if len(rej) else rej)
    s.append(Section("Kualitas data", charts=[charts.to_svg(rej_chart), charts.to_svg(file_chart)],
                     tables=[_table(reasons, caption=f"Baris ditolak {period} menurut sumber dan alasan"),
                             _table(files, caption="Berkas bermasalah per bulan")]))

    if held is None:
        held_chart = charts.empty_note("Keluarga ditahan untuk ditinjau", "Tabel payout.held belum ada di gudang data ini.")
    elif held.empty:
        held_chart = charts.empty_note("Keluarga ditahan untuk ditinjau", "Tidak ada keluarga ditahan bulan ini.")
    else:
        held_chart = charts.bar_stacked(held.assign(status="Ditahan"), "reason_code", "n_families", "status",
                                        "Keluarga ditahan untuk ditinjau menurut alasan", "Alasan", "Keluarga")
    s.append(Section("Keluarga ditahan untuk ditinjau", charts=[charts.to_svg(held_chart)],
                     tables=[_table(held)] if held is not None and len(held) else [],
                     intro="Keluarga yang datanya masih bermasalah (mis. NIK ganda) tidak dibayar sampai ditinjau petugas."))
    return s, facts


def build_report(con: duckdb.DuckDBPyConnection, period: str) -> MonthlyReport:
    """The report of `period` from an open (read-only) warehouse connection."""
    totals = data.program_totals(con, period)
    sections, facts = _sections(con, period)
    total = totals[totals["program"] == "TOTAL"]
    kpm = int(total["kpm"].iloc[0]) if len(total) else 0
    rp = int(total["rp"].iloc[0]) if len(total) else 0
    cov, chg, held, files = facts["coverage"], facts["changes"], facts["held"], facts["files"]
    unpaid = int(cov["unpaid"].sum()) if len(cov) else 0
    masuk = int(chg.loc[chg["change"] == "MASUK", "n"].sum()) if len(chg) else 0
    keluar = int(chg.loc[chg["change"] == "KELUAR", "n"].sum()) if len(chg) else 0
    n_held = int(held["n_families"].sum()) if held is not None and len(held) else 0
    cards = [("KPM", number(kpm)), ("Rp", rupiah(rp)), ("Layak belum dibayar", number(unpaid)),
             ("Masuk / Keluar", f"{number(masuk)} / {number(keluar)}"), ("Keluarga ditahan", number(n_held) if held is not None else "–")]
    sections.insert(0, Section("Ringkasan per program", tables=[_table(totals, money=("rp",))]))
    html = render_page(f"Laporan bulanan DTKS Kabupaten Buleleng, {period}",
                       "Bantuan sosial per program, cakupan, perubahan penerima, registri dan kualitas data. "
                       "Hanya angka agregat: tanpa NIK, nama atau NOKK.", cards, sections)
    per_program = ", ".join(f"{r.program} {number(r.kpm)} KPM" for r in totals.itertuples() if r.program != "TOTAL")
    problems = ", ".join(f"{st} {int(n)}" for st, n in files.groupby("status")["n_files"].sum().items()) if len(files) else "tidak ada"
    summary = (f"**{period}**: {number(kpm)} KPM, {rupiah(rp)} ({per_program}).\n\n"
               f"- Layak belum dibayar: {number(unpaid)} keluarga\n- Masuk {number(masuk)}, keluar {number(keluar)}\n"
               f"- Keluarga ditahan: {number(n_held)}\n- Berkas bermasalah: {problems}")
    return MonthlyReport(period, html, summary, html.count('<svg class="chart"'), totals)


def write_report(con: duckdb.DuckDBPyConnection, period: str, out_dir: str | Path) -> tuple[Path, MonthlyReport]:
    report = build_report(con, period)
    path = report_path(out_dir, period)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(report.html, encoding="utf-8")
    tmp.replace(path)  # a reader never opens half a page
    return path, report


def main(args: Namespace, out=None, err=None) -> int:
    """`dtks report --month M [--warehouse W] [--out DIR]` (reads the published file read-only). 0 ok, 1 missing, 2 bad month."""
    from dtks_pipeline.defs.operations.query import connect_read_only

    out, err = out or sys.stdout, err or sys.stderr
    published = Path(args.warehouse)
    if not published.is_file():
        err.write(f"dtks report: published warehouse {published} not found (run and publish the month first)\n")
        return 1
    con = connect_read_only(published)
    try:
        months = data.months_up_to(con, "9999-12")
        if args.month not in months:
            span = f"{months[0]}..{months[-1]}" if months else "no month"
            err.write(f"dtks report: --month {args.month} is not in {published} (it holds {span})\n")
            return 2
        path, report = write_report(con, args.month, Path(args.out))
    finally:
        con.close()
    out.write(f"Monthly report {args.month} written to {path} ({report.n_charts} charts)\n")
    return 0
