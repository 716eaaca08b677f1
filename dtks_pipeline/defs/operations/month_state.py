"""What `dtks run` remembers about each month: how its last run ended and which files it read.

Kept as a small JSON file beside the working warehouse (`<dir>/work/<stem>.months.json`),
not inside it: the working file is copied to the published one while a month is still
running, and readers must never see "RUNNING" there. Written atomically (temporary file
+ rename) by the runner only, which holds the warehouse lock.

Per month: `status` (RUNNING, OK or FAILED: a RUNNING left behind means the run was
killed), `files` ({path inside the month folder: sha256} of every file delivered when
the run started), `detail` (why it failed), `started_at`, `finished_at`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

RUNNING, OK, FAILED = "RUNNING", "OK", "FAILED"


@dataclass
class MonthRecord:
    period: str
    status: str
    files: dict[str, str] = field(default_factory=dict)
    detail: str = ""
    started_at: str = ""
    finished_at: str = ""


def state_path_for(warehouse: str | Path) -> Path:
    warehouse = Path(warehouse)
    return warehouse.parent / "work" / f"{warehouse.stem}.months.json"


def delivered_files(period_dir: Path) -> list[Path]:
    """Every file a person put in the month folder (hidden files such as .DS_Store aside)."""
    if not period_dir.is_dir():
        return []
    return sorted(p for p in period_dir.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(period_dir).parts))


def fingerprint(period_dir: Path) -> dict[str, str]:
    """{path inside the folder: sha256} of every delivered file."""
    out = {}
    for path in delivered_files(period_dir):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(8 * 1024 * 1024), b""):
                digest.update(block)
        out[path.relative_to(period_dir).as_posix()] = digest.hexdigest()
    return out


def changed_files(before: dict[str, str], now: dict[str, str]) -> list[str]:
    """Files added, removed or rewritten between two fingerprints, in name order."""
    return sorted(name for name in set(before) | set(now) if before.get(name) != now.get(name))


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


class MonthState:
    """The month records of one warehouse (load, update, save atomically)."""

    def __init__(self, warehouse: str | Path):
        self.path = state_path_for(warehouse)
        self.months: dict[str, MonthRecord] = {}
        if self.path.exists():
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raw = {}  # unreadable: start afresh; the published warehouse is the truth
            for period, record in (raw.get("months") or {}).items():
                self.months[period] = MonthRecord(**{k: v for k, v in record.items() if k in MonthRecord.__dataclass_fields__})

    def get(self, period: str) -> MonthRecord | None:
        return self.months.get(period)

    def start(self, period: str, files: dict[str, str]) -> None:
        self.months[period] = MonthRecord(period, RUNNING, files, started_at=_now())
        self.save()

    def finish(self, period: str, ok: bool, detail: str = "", files: dict[str, str] | None = None) -> None:
        record = self.months.get(period) or MonthRecord(period, RUNNING, started_at=_now())
        record.status = OK if ok else FAILED
        record.detail = detail
        record.finished_at = _now()
        if files is not None:
            record.files = files
        self.months[period] = record
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"months": {p: asdict(r) for p, r in sorted(self.months.items())}}, indent=1),
                       encoding="utf-8")
        os.replace(tmp, self.path)
