"""When is a file broken rather than dirty? Judged on its size and its source's history.

A dirty file has some bad rows among good ones (17 of 305 in a death list); a broken
file has a systematic fault (a column of `#REF!`, a shifted column) that rejects far
more rows than that source usually loses. A fixed share cannot tell them apart: 6 %
may be normal for a small hand-kept list and alarming for a 200,000-row export.

The test: the source's usual rejected share p0 is estimated from its earlier accepted
files (status OK), shrunk towards a prior share for a source with little history;
a file is broken when, at that file's size, its rejected count is implausible under a
tolerated share p_tol = max(FACTOR * p0, p0 + MARGIN): the binomial probability of at
least that many rejections is below ALPHA, and at least MIN_REJECTED rows are rejected.
The numbers are configuration (environment variables), documented in README.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import duckdb
from scipy.stats import binom

from dtks_pipeline.defs.sources import file_status
from dtks_pipeline.lib.warehouse import table_exists

PRIOR_SHARE = float(os.environ.get("DTKS_PRIOR_REJECTED_SHARE", "0.03"))  # usual share of a source without history
PRIOR_ROWS = float(os.environ.get("DTKS_PRIOR_ROWS", "20"))  # weight of that prior, in rows
FACTOR = float(os.environ.get("DTKS_REJECTED_SHARE_FACTOR", "2"))
MARGIN = float(os.environ.get("DTKS_REJECTED_SHARE_MARGIN", "0.02"))
ALPHA = float(os.environ.get("DTKS_REJECTED_SHARE_ALPHA", "0.01"))
MIN_REJECTED = int(os.environ.get("DTKS_MIN_REJECTED_ROWS", "5"))


@dataclass(frozen=True)
class History:
    rows_read: int
    rows_rejected: int

    @property
    def expected_share(self) -> float:
        return (self.rows_rejected + PRIOR_SHARE * PRIOR_ROWS) / (self.rows_read + PRIOR_ROWS)

    @property
    def tolerated_share(self) -> float:
        p0 = self.expected_share
        return min(max(FACTOR * p0, p0 + MARGIN), 0.99)


@dataclass(frozen=True)
class Verdict:
    broken: bool
    rows_read: int
    rows_rejected: int
    tolerated_share: float
    p_value: float

    @property
    def share(self) -> float:
        return self.rows_rejected / self.rows_read if self.rows_read else 0.0

    def describe(self) -> str:
        return (f"{self.rows_rejected:,} of {self.rows_read:,} rows rejected ({self.share:.1%}); this source usually "
                f"tolerates up to {self.tolerated_share:.1%} (p = {self.p_value:.2g})")


def source_history(con: duckdb.DuckDBPyConnection, source: str, period: str) -> History:
    """Rows read and rejected in this source's accepted files of the periods before `period`."""
    if not table_exists(con, file_status.SOURCE_FILES_TABLE):
        return History(0, 0)
    row = con.execute(
        f"SELECT coalesce(sum(rows_read), 0), coalesce(sum(rows_rejected), 0) FROM {file_status.SOURCE_FILES_TABLE} "
        "WHERE source = ? AND period < ? AND status = ?",
        [source, period, file_status.OK],
    ).fetchone()
    return History(int(row[0]), int(row[1]))


def judge(rows_read: int, rows_rejected: int, history: History) -> Verdict:
    """Is a file with `rows_rejected` of `rows_read` rows rejected broken, given its source's history?"""
    tolerated = history.tolerated_share
    if rows_read <= 0:
        return Verdict(False, rows_read, rows_rejected, tolerated, 1.0)
    p_value = float(binom.sf(rows_rejected - 1, rows_read, tolerated)) if rows_rejected else 1.0
    broken = rows_rejected >= MIN_REJECTED and p_value < ALPHA
    return Verdict(broken, rows_read, rows_rejected, tolerated, p_value)
