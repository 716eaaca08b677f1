"""The short summary printed at the end of `dtks run`: counts only, no personal data."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from dtks_pipeline.lib import warehouse as wh


def _working_path(published: Path) -> Path:
    return published.parent / "work" / published.name


def _source_table(con, periods: list[str]) -> str:
    files = con.execute(
        f"""SELECT source, period, sum(rows_staged) AS staged, sum(rows_rejected) AS rejected,
                   string_agg(DISTINCT CASE WHEN status <> 'OK' THEN status END, ',') AS status
            FROM audit.source_files WHERE period IN ({','.join('?' * len(periods))}) GROUP BY ALL""",
        periods,
    ).df()
    if files.empty:
        return "  (nothing staged)"
    lines = ["  " + f"{'source':<18}" + "".join(f"{p + ' staged/rejected':>28}" for p in periods)]
    for source in sorted(files["source"].unique()):
        cells = []
        for p in periods:
            row = files[(files["source"] == source) & (files["period"] == p)]
            if row.empty:
                cells.append(f"{'-':>28}")
                continue
            r = row.iloc[0]
            status = f" [{r.status}]" if isinstance(r.status, str) and r.status else ""
            cells.append(f"{f'{int(r.staged):,} / {int(r.rejected):,}{status}':>28}")
        lines.append("  " + f"{source:<18}" + "".join(cells))
    return "\n".join(lines)


def _reasons(con, periods: list[str]) -> str:
    reasons = con.execute(
        f"SELECT reason_code, count(*) AS n FROM audit.rejected_rows WHERE period IN ({','.join('?' * len(periods))}) "
        "GROUP BY 1 ORDER BY 2 DESC",
        periods,
    ).df()
    return ", ".join(f"{r.reason_code} {r.n:,}" for r in reasons.itertuples()) or "none"


def _registry(con, periods: list[str]) -> str:
    if not wh.table_exists(con, "registry.persons"):
        return ""
    rows = con.execute(
        f"""SELECT p.period, count(*) FILTER (WHERE status = 'AKTIF') AS aktif,
                   count(*) FILTER (WHERE status = 'MENINGGAL') AS meninggal,
                   count(*) FILTER (WHERE status = 'PINDAH') AS pindah
            FROM registry.persons p WHERE period IN ({','.join('?' * len(periods))}) GROUP BY 1 ORDER BY 1""",
        periods,
    ).df()
    fams = con.execute(
        f"""SELECT period, count(*) FILTER (WHERE status = 'AKTIF') AS aktif, count(*) FILTER (WHERE status = 'DIKECUALIKAN') AS excluded
            FROM registry.families WHERE period IN ({','.join('?' * len(periods))}) GROUP BY 1""",
        periods,
    ).df().set_index("period") if wh.table_exists(con, "registry.families") else pd.DataFrame()
    lines = []
    for r in rows.itertuples():
        fam = fams.loc[r.period] if r.period in fams.index else None
        fam_text = f"; families: {int(fam.aktif):,} active, {int(fam.excluded):,} excluded" if fam is not None else ""
        lines.append(f"  {r.period}: persons {r.aktif:,} AKTIF, {r.meninggal:,} MENINGGAL, {r.pindah:,} PINDAH{fam_text}")
    return "\n".join(lines)


def _payouts(con, periods: list[str]) -> str:
    if not wh.table_exists(con, "payout.payments"):
        return ""
    from dtks_pipeline.defs.payout.tables import format_payout_table, payout_table

    return format_payout_table(payout_table(con, periods))


def print_summary(published: Path, periods: list[str], results: list) -> None:
    """Print what a person needs after a run: per-source counts, registry, payouts, checks."""
    path = _working_path(published)
    print("\n" + "=" * 78)
    print(f"DTKS run summary: {periods[0]}..{periods[-1]}")
    print("=" * 78)
    if not path.exists():
        print("  no warehouse was written")
        return
    con = wh.connect(path, read_only=True)
    try:
        if wh.table_exists(con, "audit.source_files"):
            print("Rows staged / rejected per source:")
            print(_source_table(con, periods))
            print(f"Rejections by reason: {_reasons(con, periods)}")
        registry = _registry(con, periods)
        if registry:
            print("Registry:")
            print(registry)
        payouts = _payouts(con, periods)
        if payouts:
            print("Payouts (KPM and Rp per program):")
            print(payouts)
    finally:
        con.close()
    passed = sum(r.checks_passed for r in results)
    total = sum(r.checks_total for r in results)
    failed = [f"{r.period} {c}" for r in results for c in r.failed_checks]
    warned = [f"{r.period} {c}" for r in results for c in r.warnings]
    print(f"Checks: {passed}/{total} passed" + (f"; failed: {', '.join(failed)}" if failed else "")
          + (f"; warnings: {', '.join(warned)}" if warned else ""))
    bad = [r.period for r in results if not r.success]
    done = [r.period for r in results if r.published]
    not_done = [r.period for r in results if not r.published]
    if done:
        print(f"Published: {published} and {published.with_name(published.stem + '_analyst.duckdb').name} "
              f"(months published in this run: {', '.join(done)})" + (f"; not published: {', '.join(not_done)}" if not_done else ""))
    else:
        print(f"Nothing published in this run; {published} is unchanged")
    print("Status: " + ("OK" if not bad else f"FAILED for {', '.join(bad)}"))
