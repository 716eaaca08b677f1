"""Text a spreadsheet could take for a formula, declared once for every export.

A cell typed as `=HYPERLINK(...)`, `+62...`, `-1+1`, `@SUM(...)` (or starting with a
tab or carriage return) is run as a formula by Excel and LibreOffice when a file is
opened. Names and addresses come from files typed by people, so every export
neutralises such text: the village worksheets store it as literal text
(`defs/operations/worksheets.py`), `dtks query --csv` prefixes it with a single quote
(`neutralise`, the usual CSV defence). Only text is touched: a number, negative
ones included, stays a number.
"""
from __future__ import annotations

import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISING_PREFIX = "'"


def looks_like_formula(value: object) -> bool:
    """True for text a spreadsheet would evaluate (never for numbers)."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def neutralise(value: object) -> object:
    """`value` with a leading quote when it is formula-like text; anything else unchanged."""
    return NEUTRALISING_PREFIX + value if looks_like_formula(value) else value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells and column names are neutralised; numeric columns untouched."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            out[name] = column.map(neutralise, na_action="ignore")
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out
