"""Benchmarks that score the pipeline against the sample generator's ground truth.

Each module exposes `run(sources: Path, workdir: Path) -> dict`, prints a short
table and returns its figures; `dtks benchmark NAME` calls it.
"""
