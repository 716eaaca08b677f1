"""`dtks review`: list a month's review pairs (masked) and record a staff decision on one.

    dtks review list --month 2022-10 [--warehouse FILE] [--all] [--csv]
    dtks review decide --pair RP0123456789 --decision SAMA|BEDA --by NAME [--note TEXT] [--warehouse FILE]

Both work on the *working* warehouse (`<dir>/work/<name>` beside the published
FILE): that is where the assets write and where the next month's registry
reads the decisions; publication copies it to FILE. `list` shows NIK/NOKK
masked, names as initials and no birth date (whether the birth dates agree is
in `levels`); the full records are in the Splink dashboards under
`<dir>/review/<month>/` for cleared staff. Exit codes: 0 done, 1 the warehouse
is busy or missing, 2 bad arguments (unknown pair, decision or month).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

# pandas, duckdb and the registry modules are imported inside the functions: `dtks --help` stays fast.
LOCK_RETRIES = 10  # a run opens the file step by step; a decision waits for the step in progress
LIST_COLUMNS = ["pair_id", "reason", "decision", "match_probability", "person_id_a", "person_id_b",
                "source_a", "source_b", "nik_a", "nik_b", "nama_a", "nama_b", "jenis_kelamin_a", "jenis_kelamin_b",
                "nokk_a", "nokk_b", "kode_desa_a", "kode_desa_b", "levels"]


def add_parser(sub) -> None:
    """The `review` subcommand and its two actions (called from cli.build_parser)."""
    review = sub.add_parser("review", help="review pairs: list them masked, decide SAMA or BEDA")
    actions = review.add_subparsers(dest="action", required=True)
    default_wh = os.environ.get("DTKS_WAREHOUSE", "data/warehouse/dtks.duckdb")
    lst = actions.add_parser("list", help="the review pairs of a month (masked)")
    lst.add_argument("--month", required=True, help="YYYY-MM")
    lst.add_argument("--warehouse", default=default_wh, help="published warehouse file (env DTKS_WAREHOUSE)")
    lst.add_argument("--all", action="store_true", help="include pairs already decided")
    lst.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    lst.set_defaults(func=main)
    dec = actions.add_parser("decide", help="record a decision on one pair (audited, honoured every later month)")
    dec.add_argument("--pair", required=True, help="pair_id from `dtks review list`")
    dec.add_argument("--decision", required=True, help="SAMA (one person) or BEDA (two people)")
    dec.add_argument("--by", required=True, help="who decides (name or staff id)")
    dec.add_argument("--note", default="", help="why (free text, kept with the decision)")
    dec.add_argument("--warehouse", default=default_wh, help="published warehouse file (env DTKS_WAREHOUSE)")
    dec.set_defaults(func=main)


def masked_pairs(frame):
    """The review pairs as `list` shows them: ids masked, names as initials, no birth dates."""
    from dtks_pipeline.lib.masking import mask_ids, mask_name

    out = frame[[c for c in LIST_COLUMNS if c in frame.columns]].copy()
    for side in ("a", "b"):
        out[f"nik_{side}"] = mask_ids(out[f"nik_{side}"])
        out[f"nokk_{side}"] = mask_ids(out[f"nokk_{side}"])
        out[f"nama_{side}"] = mask_name(out[f"nama_{side}"])
    out["match_probability"] = out["match_probability"].round(4)
    return out


def _connect(working: Path, read_only: bool):
    import duckdb

    for attempt in range(LOCK_RETRIES):
        try:
            return duckdb.connect(str(working), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or attempt == LOCK_RETRIES - 1:
                raise
            time.sleep(1.0)
    raise AssertionError("unreachable")


def list_pairs(working: Path, month: str, include_decided: bool = False):
    from dtks_pipeline.defs.registry import review as review_mod

    con = _connect(working, read_only=True)
    try:
        pairs = review_mod.review_pairs_of(con, month)
    finally:
        con.close()
    if not include_decided:
        pairs = pairs[pairs["decision"].isna()]
    return masked_pairs(pairs)


def decide(working: Path, pair: str, decision: str, by: str, note: str = ""):
    """Record `decision` on the latest review row of `pair`; returns (decision_id, that row)."""
    from dtks_pipeline.defs.registry import decisions as decisions_mod
    from dtks_pipeline.defs.registry import review as review_mod

    con = _connect(working, read_only=False)
    try:
        rows = review_mod.review_pairs_of(con)
        rows = rows[rows["pair_id"] == pair]
        if rows.empty:
            raise decisions_mod.DecisionError(f"no review pair {pair!r} in {working} (see `dtks review list`)")
        row = rows.sort_values("period").iloc[-1]
        decision_id = decisions_mod.record_decision(
            con, key_a=row["key_a"], key_b=row["key_b"], person_id_a=row["person_id_a"], person_id_b=row["person_id_b"],
            decision=decision, decided_by=by, note=note, period=row["period"], pair_id=pair,
        )
    finally:
        con.close()
    return decision_id, row


def main(args: argparse.Namespace) -> int:
    import duckdb
    import pandas as pd

    from dtks_pipeline.defs.registry.decisions import DecisionError
    from dtks_pipeline.defs.shared import WarehouseResource

    working = WarehouseResource(path=str(args.warehouse)).working_path
    if not working.exists():
        print(f"dtks review: no working warehouse at {working} (run `dtks run` first)")
        return 1
    try:
        if args.action == "list":
            shown = list_pairs(working, args.month, include_decided=args.all)
            if args.csv:
                print(shown.to_csv(index=False), end="")
            elif shown.empty:
                print(f"no {'' if args.all else 'open '}review pairs in {args.month}")
            else:
                with pd.option_context("display.max_columns", None, "display.width", 250, "display.max_colwidth", 60):
                    print(shown.to_string(index=False))
                print(f"{len(shown)} pair(s); decide with: dtks review decide --pair PAIR_ID --decision SAMA|BEDA --by NAME --note TEXT")
            return 0
        decision_id, row = decide(working, args.pair, args.decision, args.by, args.note)
        print(f"{decision_id}: {args.pair} ({row['key_a']} / {row['key_b']}, persons {row['person_id_a']} / "
              f"{row['person_id_b']}) decided {args.decision} by {args.by}; honoured from the next registry build")
        return 0
    except DecisionError as exc:
        print(f"dtks review: {exc}")
        return 2
    except duckdb.IOException as exc:
        print(f"dtks review: the warehouse {working} is in use by another process, try again when it is done ({exc})")
        return 1
