"""The file-level contract of ingestion, declared once: statuses of `audit.source_files`,
operator decisions of `audit.file_decisions`, and the names of both tables.

Other stages (the runner's summary and exit code, the registry's fallback) import from here.
"""
from __future__ import annotations

# audit.source_files.status
OK = "OK"                            # read, validated and staged (rows rejected row by row are still OK)
DITERIMA = "DITERIMA"                # staged after an operator accepted it (`dtks accept`)
TIDAK_DIKIRIM = "TIDAK_DIKIRIM"      # expected but not delivered this month
KARANTINA = "KARANTINA"              # broken: nothing staged, its rows counted in rows_quarantined
TIDAK_DIGUNAKAN = "TIDAK_DIGUNAKAN"  # in the month folder but not used (legacy .xls, "Copy of ...", lock file, unknown name)

# Statuses whose rows are in staging: the registry may use the file's period.
STAGED_STATUSES = (OK, DITERIMA)
ALL_STATUSES = (OK, DITERIMA, TIDAK_DIKIRIM, KARANTINA, TIDAK_DIGUNAKAN)

# audit.file_decisions.decision
TERIMA = "TERIMA"  # accept a quarantined file: stage it despite its rejection share
TOLAK = "TOLAK"    # confirm the quarantine
DECISIONS = (TERIMA, TOLAK)

# Tables
SOURCE_FILES_TABLE = "audit.source_files"
FILE_DECISIONS_TABLE = "audit.file_decisions"

SOURCE_FILES_DDL = (
    f"CREATE TABLE IF NOT EXISTS {SOURCE_FILES_TABLE} (period VARCHAR, source VARCHAR, source_file VARCHAR, "
    "rows_read INTEGER, rows_staged INTEGER, rows_rejected INTEGER, rows_blank INTEGER, encoding VARCHAR, "
    "sha256 VARCHAR, status VARCHAR, message VARCHAR, loaded_at TIMESTAMP, "
    "status_reason VARCHAR, rows_quarantined BIGINT)"
)
FILE_DECISIONS_DDL = (
    f"CREATE TABLE IF NOT EXISTS {FILE_DECISIONS_TABLE} (period VARCHAR, source VARCHAR, source_file VARCHAR, "
    "sha256 VARCHAR, decision VARCHAR, decided_by VARCHAR, decided_at TIMESTAMP, note VARCHAR)"
)
