"""Deterministic synthetic sample deliveries (SOURCES.md) and their ground truth (CONTRACTS.md).

    from dtks_pipeline.sample.generator import generate
    generate(Path("data/sources"), families=60_000, seed=2022)

Modules: population.py (villages, families, persons, NIK/NOKK), names.py (Balinese
names and their variants), damage.py (per-row damage and its expected outcome),
writers.py (CSV/XLSX writers, byte-deterministic), generator.py (events, files, truth).
"""
