"""Masking of personal data for logs, Dagster metadata previews and analysts.

NIK and NOKK keep their first 6 and last 2 digits (`510801********01`), names
keep their initials, birth dates are dropped.
"""
from __future__ import annotations

import pandas as pd

ID_COLUMNS = ("nik", "nokk", "nik_pemilik", "recipient_nik")
NAME_COLUMNS = ("nama", "nama_pemilik", "nama_ibu", "recipient_nama", "alamat", "alamat_pemilik")
DROP_COLUMNS = ("tgl_lahir", "raw_record")


def mask_ids(value: pd.Series) -> pd.Series:
    """NIK/NOKK column masked: '5108014504800001' -> '510801********01'; any other
    length is fully starred rather than partly shown."""
    text = value.astype("string[pyarrow]")
    masked = text.str[:6] + "*" * 8 + text.str[14:16]
    return masked.where(text.str.len() == 16, text.str.replace(r".", "*", regex=True))


def mask_id_value(value: object) -> str | None:
    """Scalar twin of `mask_ids`, for messages and worksheets."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    value = str(value)
    return value[:6] + "*" * 8 + value[-2:] if len(value) == 16 else "*" * len(value)


def mask_id_sql(column: str) -> str:
    """SQL twin of `mask_ids`, for the analyst tables built inside DuckDB."""
    c = f'CAST("{column}" AS VARCHAR)'
    return (
        f"CASE WHEN {c} IS NULL THEN NULL "
        f"WHEN length({c}) = 16 THEN left({c}, 6) || '********' || right({c}, 2) "
        f"ELSE repeat('*', length({c})) END"
    )


def mask_name(value: pd.Series) -> pd.Series:
    """'I MADE SUDARMA' -> 'I. M. S.'"""
    return value.astype("string[pyarrow]").str.split().map(
        lambda words: " ".join(w[0] + "." for w in words) if isinstance(words, list) else pd.NA
    )


def masked(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy safe to show: ids masked, names reduced to initials, birth dates dropped."""
    out = frame.drop(columns=[c for c in DROP_COLUMNS if c in frame.columns]).copy()
    for col in out.columns:
        if col in ID_COLUMNS:
            out[col] = mask_ids(out[col])
        elif col in NAME_COLUMNS:
            out[col] = mask_name(out[col])
    return out


def preview_markdown(frame: pd.DataFrame, rows: int = 5) -> str:
    """A masked Markdown preview of the first rows, for Dagster metadata."""
    head = masked(frame.head(rows)).astype(object).where(lambda f: f.notna(), "")
    if head.empty:
        return "(no rows)"
    cols = list(head.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in head.itertuples(index=False)]
    return "\n".join(lines)
