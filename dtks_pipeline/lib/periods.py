"""Periods (months) as the pipeline names them: 'YYYY-MM'."""
from __future__ import annotations


def previous_period(period: str) -> str:
    """'2022-11' -> '2022-10'; '2023-01' -> '2022-12'."""
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"
