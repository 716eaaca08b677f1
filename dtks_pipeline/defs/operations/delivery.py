"""When is a month's delivery "complete", and is it already published?

This is the one place that defines completeness (the sensor and the schedule
both use it):

A period folder `<sources>/<YYYY-MM>/` is **complete** when every agency file
of SOURCES.md is present and non-empty (`AGENCY_FILES`; village files under
`desa/` are optional by nature: only villages that held a meeting send one)
**and** nothing in the folder was modified during the last
`settle_seconds()` seconds (default 60, env `DTKS_DELIVERY_SETTLE_SECONDS`),
so a file still being copied in is never read half-way. A file's time is
the later of its modification and status-change time (`st_ctime`), so a file
copied in with its original date preserved (`cp -p`, `rsync -a`, unzip)
still counts as arriving now. No marker file is
required: the agencies drop files, they do not run tools. Someone who wants
to hold a month back can simply keep one agency file out of the folder.

A month is **up to date** when `operations/published_warehouse` has a
materialization for that partition that is newer than the newest file of
the folder. A file delivered late (after the month was published) therefore
makes the month eligible again. All of this is read from the file system and
the Dagster instance: no DuckDB connection is opened.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import time
from pathlib import Path

import dagster as dg

AGENCY_FILES: tuple[str, ...] = (
    "dtks.csv",
    "dukcapil_kematian.csv",
    "dukcapil_pindah.csv",
    "samsat_kendaraan.csv",
    "nelayan.csv",
    "angkutan.csv",
    "umkm.csv",
)
PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
DEFAULT_SETTLE_SECONDS = 60


def settle_seconds() -> float:
    return float(os.environ.get("DTKS_DELIVERY_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS))


@dataclasses.dataclass(frozen=True)
class DeliveryStatus:
    period: str
    missing: tuple[str, ...]  # agency files absent or empty
    settling: tuple[str, ...]  # files modified less than settle_seconds ago
    newest_mtime: float | None  # latest arrival (max of mtime, ctime) in the folder; None: empty
    fingerprint: str  # changes whenever a file is added, removed or rewritten
    n_village_files: int

    @property
    def complete(self) -> bool:
        return not self.missing and not self.settling

    def describe(self) -> str:
        if self.complete:
            return f"{self.period}: complete ({len(AGENCY_FILES)} agency files, {self.n_village_files} village files)"
        parts = []
        if self.missing:
            parts.append("missing " + ", ".join(self.missing))
        if self.settling:
            parts.append("still being written: " + ", ".join(self.settling))
        return f"{self.period}: " + "; ".join(parts)


def delivery_status(period_dir: Path, now: float | None = None, settle: float | None = None) -> DeliveryStatus:
    """Look at one period folder (file names, sizes and times only)."""
    period_dir = Path(period_dir)
    now = time.time() if now is None else now
    settle = settle_seconds() if settle is None else settle
    files = [p for p in period_dir.rglob("*") if p.is_file()] if period_dir.is_dir() else []
    stats = {p.relative_to(period_dir).as_posix(): p.stat() for p in files}
    missing = tuple(f for f in AGENCY_FILES if f not in stats or stats[f].st_size == 0)
    arrived = {name: max(st.st_mtime, st.st_ctime) for name, st in stats.items()}
    settling = tuple(sorted(name for name, t in arrived.items() if now - t < settle))
    digest = hashlib.sha256()
    for name in sorted(stats):
        st = stats[name]
        digest.update(f"{name}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}\n".encode())
    return DeliveryStatus(
        period=period_dir.name,
        missing=missing,
        settling=settling,
        newest_mtime=max(arrived.values(), default=None),
        fingerprint=digest.hexdigest()[:16],
        n_village_files=sum(1 for name in stats if name.startswith("desa/")),
    )


def period_folders(root: Path) -> list[str]:
    """Folder names under the sources root that look like a period (YYYY-MM), oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and PERIOD_RE.match(p.name))


def last_published(instance: dg.DagsterInstance, asset_key: dg.AssetKey, period: str) -> float | None:
    """Timestamp of the latest materialization of `asset_key` for `period`, or None."""
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[period]), limit=1
    )
    return result.records[0].timestamp if result.records else None


def is_up_to_date(instance: dg.DagsterInstance, asset_key: dg.AssetKey, status: DeliveryStatus) -> bool:
    published = last_published(instance, asset_key, status.period)
    if published is None:
        return False
    return status.newest_mtime is None or published >= status.newest_mtime
