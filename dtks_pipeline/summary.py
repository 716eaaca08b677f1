"""The short summary printed at the end of `dtks run`: counts only, no personal data."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from dtks_pipeline.defs.sources import file_status as fs
from dtks_pipeline.lib import warehouse as wh

LIST_LIMIT = 25  # files or families named one by one before "... and N more"


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
    if not wh.table_exists(con, "audit.rejected_rows"):
        return "none"
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


@dataclass
class AttentionReport:
    """What a person must look at after a completed month: files quarantined or not used,
    families held. Any of the first or last makes the run's exit code 3."""

    quarantined: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    n_quarantined: int = 0
    n_unused: int = 0
    n_held: int = 0

    @property
    def has_quarantine_or_held(self) -> bool:
        return bool(self.n_quarantined or self.n_held)


def _in(periods: list[str]) -> str:
    return ",".join("?" * len(periods))


def _has_column(con, qualified: str, column: str) -> bool:
    schema, name = qualified.split(".")
    return bool(con.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = ? "
                            "AND table_name = ? AND column_name = ?", [schema, name, column]).fetchone()[0])


def _used_instead(con, source: str, period: str) -> str:
    """What the month used in place of a quarantined file of `source`."""
    from dtks_pipeline.defs.sources.specs import SOURCES

    spec = SOURCES.get(source)
    if spec is not None and not spec.is_snapshot:
        return "its events wait until the file is accepted or re-delivered"
    earlier = con.execute(
        f"SELECT max(period) FROM {fs.SOURCE_FILES_TABLE} WHERE source = ? AND period < ? "
        f"AND status IN ({_in(list(fs.STAGED_STATUSES))})", [source, period, *fs.STAGED_STATUSES]).fetchone()[0]
    return f"the snapshot of {earlier} is used instead" if earlier else "no earlier snapshot: the source is missing this month"


def _more(total: int, shown: int) -> list[str]:
    return [f"    ... and {total - shown:,} more"] if total > shown else []


def attention_report(con, periods: list[str]) -> AttentionReport:
    """Quarantined and unused files (audit.source_files) and held families (payout.held) of `periods`."""
    from dtks_pipeline.defs.registry.held import HELD_TABLE

    report = AttentionReport()
    if wh.table_exists(con, fs.SOURCE_FILES_TABLE):
        reason = "coalesce(nullif(status_reason, ''), message)" if _has_column(con, fs.SOURCE_FILES_TABLE, "status_reason") else "message"
        files = con.execute(
            f"SELECT period, source, source_file, status, {reason} AS reason FROM {fs.SOURCE_FILES_TABLE} "
            f"WHERE period IN ({_in(periods)}) AND status IN (?, ?) ORDER BY period, source, source_file",
            [*periods, fs.KARANTINA, fs.TIDAK_DIGUNAKAN]).df()
        quarantined = files[files["status"] == fs.KARANTINA]
        unused = files[files["status"] == fs.TIDAK_DIGUNAKAN]
        report.n_quarantined, report.n_unused = len(quarantined), len(unused)
        for r in quarantined.head(LIST_LIMIT).itertuples():
            report.quarantined.append(f"  {r.period}  {r.source_file}: {r.reason or 'quarantined'}; "
                                      f"{_used_instead(con, r.source, r.period)}")
        report.quarantined += _more(len(quarantined), LIST_LIMIT)
        for r in unused.head(LIST_LIMIT).itertuples():
            report.unused.append(f"  {r.period}  {r.source_file}: {r.reason or 'not used'}")
        report.unused += _more(len(unused), LIST_LIMIT)
    if wh.table_exists(con, HELD_TABLE):
        held = con.execute(
            f"SELECT period, reason_code, count(DISTINCT family_id) AS n, "
            f"string_agg(DISTINCT family_id, ', ' ORDER BY family_id) AS families "
            f"FROM {HELD_TABLE} WHERE period IN ({_in(periods)}) GROUP BY ALL ORDER BY period, reason_code",
            periods).df()
        report.n_held = int(held["n"].sum()) if len(held) else 0
        for r in held.itertuples():
            ids = r.families.split(", ")
            shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10:,} more" if len(ids) > 10 else "")
            report.held.append(f"  {r.period}  {r.reason_code}: {int(r.n):,} famil{'y' if r.n == 1 else 'ies'} ({shown})")
    return report


def run_status(published: Path, periods: list[str]) -> AttentionReport:
    """The attention report of `periods` read from the working warehouse (empty when none was written)."""
    path = _working_path(published)
    if not path.exists():
        return AttentionReport()
    con = wh.connect(path, read_only=True)
    try:
        return attention_report(con, periods)
    finally:
        con.close()


def _print_attention(report: AttentionReport) -> None:
    if report.quarantined:
        print(f"!! QUARANTINED FILES ({report.n_quarantined:,}): not staged; review, then `dtks accept` or re-deliver")
        print("\n".join(report.quarantined))
    if report.unused:
        print(f"!! FILES NOT USED ({report.n_unused:,}): in the month folder but not read")
        print("\n".join(report.unused))
    if report.held:
        print(f"!! FAMILIES HELD ({report.n_held:,}): not paid this month, everyone else is")
        print("\n".join(report.held))


def print_summary(published: Path, periods: list[str], results: list) -> None:
    """Print what a person needs after a run: per-source counts, registry, payouts, checks."""
    path = _working_path(published)
    print("\n" + "=" * 78)
    print(f"DTKS run summary: {periods[0]}..{periods[-1]}")
    print("=" * 78)
    if not path.exists():
        print("  no warehouse was written")
        for r in results:
            if r.not_run:
                print(f"Not run: {r.period}: {r.not_run}")
        print(f"Status: FAILED for {', '.join(r.period for r in results if not r.success)}")
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
        attention = attention_report(con, periods)
    finally:
        con.close()
    _print_attention(attention)
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
    for r in results:
        if r.not_run:
            print(f"Not run: {r.period}: {r.not_run}")
    if bad:
        print(f"Status: FAILED for {', '.join(bad)}")
    elif attention.has_quarantine_or_held:
        parts = [f"{attention.n_quarantined:,} file(s) quarantined"] if attention.n_quarantined else []
        parts += [f"{attention.n_held:,} famil{'y' if attention.n_held == 1 else 'ies'} held"] if attention.n_held else []
        print(f"Status: COMPLETED WITH QUARANTINE ({', '.join(parts)}; see above)")
    else:
        print("Status: OK")
