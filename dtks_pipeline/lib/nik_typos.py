"""NIK typing errors: the two an operator makes, and how to find them cheaply.

Exports mistype a NIK by one digit (a substitution) or by swapping two
adjacent digits (a transposition). Comparing every NIK with every other is
quadratic; instead every NIK gets 1 + 16 + 15 blocking keys such that two
NIKs share a key exactly when they are equal, one substitution apart, or one
adjacent transposition apart:

- `E:<nik>`                               equal
- `S<i>:<nik without position i>`         substitution at position i
- `T<i>:<nik with positions i,i+1 sorted>` transposition at i (both orders
  give the same key)

Splink calls these blocking rules; the keys are built in DuckDB so the
whole export is processed in SQL.
"""
from __future__ import annotations

NIK_LENGTH = 16


def edit_kind(a: str | None, b: str | None) -> str | None:
    """'SAMA', 'SATU_DIGIT', 'TUKAR_DIGIT' or None (further apart, or missing)."""
    if not a or not b or len(a) != len(b):
        return None
    if a == b:
        return "SAMA"
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diff) == 1:
        return "SATU_DIGIT"
    if len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]:
        return "TUKAR_DIGIT"
    return None


def blocking_keys_sql(table: str, id_col: str = "mid", nik_col: str = "nik") -> str:
    """A SELECT giving (id, k) for every blocking key of every 16-digit NIK of `table`."""
    n = NIK_LENGTH
    return f"""
    WITH src AS (SELECT {id_col} AS id, {nik_col} AS nik FROM {table}
                 WHERE {nik_col} IS NOT NULL AND length({nik_col}) = {n})
    SELECT id, 'E:' || nik AS k FROM src
    UNION ALL
    SELECT id, 'S' || i || ':' || substr(nik, 1, i - 1) || substr(nik, i + 1) AS k
    FROM src, range(1, {n + 1}) r(i)
    UNION ALL
    SELECT id, 'T' || i || ':' || substr(nik, 1, i - 1)
               || least(substr(nik, i, 1), substr(nik, i + 1, 1))
               || greatest(substr(nik, i, 1), substr(nik, i + 1, 1))
               || substr(nik, i + 2) AS k
    FROM src, range(1, {n}) r(i)
    WHERE substr(nik, i, 1) <> substr(nik, i + 1, 1)
    """


def edit_kind_sql(a: str, b: str) -> str:
    """DuckDB expression: 'SAMA', 'SATU_DIGIT', 'TUKAR_DIGIT' or NULL for two NIK columns
    already known to share a blocking key."""
    return (
        f"CASE WHEN {a} = {b} THEN 'SAMA' "
        f"WHEN hamming({a}, {b}) = 1 THEN 'SATU_DIGIT' "
        f"WHEN damerau_levenshtein({a}, {b}) = 1 THEN 'TUKAR_DIGIT' ELSE NULL END"
    )


def nik_birth_part(tgl_lahir_col: str, jk_col: str) -> str:
    """DuckDB expression for the DDMMYY part a NIK should carry for that birth date and sex."""
    return (
        f"lpad(CAST(day({tgl_lahir_col}) + CASE WHEN {jk_col} = 'P' THEN 40 ELSE 0 END AS VARCHAR), 2, '0')"
        f" || strftime({tgl_lahir_col}, '%m%y')"
    )
