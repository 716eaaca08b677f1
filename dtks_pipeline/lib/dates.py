"""Dates as delivered: DD-MM-YYYY, DD/MM/YYYY or YYYY-MM-DD, mixed in one column."""
from __future__ import annotations

import pandas as pd

_FORMATS = (
    (r"^\d{1,2}-\d{1,2}-\d{4}$", "%d-%m-%Y"),
    (r"^\d{1,2}/\d{1,2}/\d{4}$", "%d/%m/%Y"),
    (r"^\d{4}-\d{1,2}-\d{1,2}$", "%Y-%m-%d"),
)
EARLIEST = pd.Timestamp("1900-01-01")


def parse(raw: pd.Series) -> pd.Series:
    """Parse each value in whichever listed format it has; NaT where none fits
    or the date does not exist (31-02-1980)."""
    text = raw.astype("string[pyarrow]").fillna("").str.strip()
    # Spreadsheet datetimes arrive as 'YYYY-MM-DD 00:00:00': the date part is kept (a slice,
    # not a regex with a back-reference, which pandas runs in Python row by row).
    midnight = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]00:00:00").fillna(False).astype(bool)
    if midnight.any():
        text = text.where(~midnight, text.str.slice(0, 10))
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    for pattern, fmt in _FORMATS:
        match = text.str.match(pattern).fillna(False).astype(bool)
        if match.any():
            out[match] = pd.to_datetime(text[match], format=fmt, errors="coerce")
    return out


def period_end(period: str) -> pd.Timestamp:
    """Last day of a 'YYYY-MM' period."""
    return pd.Period(period, freq="M").end_time.normalize()


def valid_for_period(parsed: pd.Series, period: str) -> pd.Series:
    """A readable date no later than the end of its period and not before 1900."""
    return parsed.notna() & (parsed <= period_end(period)) & (parsed >= EARLIEST)
