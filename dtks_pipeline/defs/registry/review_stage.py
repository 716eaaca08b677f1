"""The review stage of the registry month: review pairs, held families, dashboards.

Runs on the registry's connection right after the month's registry tables are
written (registry/assets.py), because the scored pairs exist only there:
1. registry.review_pairs from the resolver's scored pairs and records (review.py);
2. payout.held from the registry tables just written (held.py);
3. Splink's dashboards of the review pairs, when the resolver hands over its linker
   (dashboards.py), in `<warehouse dir>/review/<period>/`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from dtks_pipeline.defs.registry import held as held_mod
from dtks_pipeline.defs.registry import review as review_mod


@dataclass
class ReviewInputs:
    """What the review needs from the resolver (see review.build_review_pairs)."""

    scored: pd.DataFrame
    records: pd.DataFrame
    threshold_probability: float
    linker: object | None = None  # a Splink Linker, for the dashboards
    predictions: object | None = None  # its SplinkDataFrame of predictions
    clusters: object | None = None  # Splink's clustered table, for cluster studio
    unique_id_of_key: pd.DataFrame | None = None  # key, unique_id when Splink's ids are not the record keys


@dataclass
class ReviewOutcome:
    review_pairs: pd.DataFrame
    held: pd.DataFrame
    dashboards: dict[str, str] = field(default_factory=dict)  # name -> path, or "note" -> why none

    def metadata(self) -> dict:
        return {
            "review pairs": review_mod.review_counts(self.review_pairs),
            "held families": held_mod.held_counts(self.held),
            "review dashboards": self.dashboards,
        }


def review_dir(working_path: str | Path, period: str) -> Path:
    """`<warehouse dir>/review/<period>/`: beside the published warehouse, not inside `work/`."""
    working_path = Path(working_path)
    base = working_path.parent.parent if working_path.parent.name == "work" else working_path.parent
    return base / "review" / period


def run_review(con: duckdb.DuckDBPyConnection, period: str, persons: pd.DataFrame, inputs: ReviewInputs,
               out_dir: Path | None = None) -> ReviewOutcome:
    """Write registry.review_pairs and payout.held of `period`; dashboards when a linker is given."""
    pairs = review_mod.build_review_pairs(con, period, inputs.scored, inputs.records, persons,
                                          inputs.threshold_probability)
    review_mod.write_review_pairs(con, period, pairs)
    held = held_mod.held_families(con, period)
    held_mod.write_held(con, period, held)
    dashboards: dict[str, str] = {}
    if out_dir is not None:
        from dtks_pipeline.defs.registry import dashboards as dashboards_mod

        dashboards = dashboards_mod.write_dashboards(inputs, pairs, out_dir)
    return ReviewOutcome(pairs, held, dashboards)
