"""The `dtks` command: generate sample deliveries, run months, query, benchmark.

Heavy imports happen inside each subcommand so `dtks --help` stays fast.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _cmd_generate(args: argparse.Namespace) -> int:
    from dtks_pipeline.sample.generator import generate

    print(f"Generating sample deliveries for {args.families:,} families (seed {args.seed}) into {args.out}", flush=True)
    summary = generate(Path(args.out), families=args.families, seed=args.seed, progress=lambda msg: print(f"  {msg}", flush=True))
    periods = sorted(k for k in summary if k[:1].isdigit())
    print(f"Sample deliveries written to {args.out}: months {', '.join(periods)}; ground truth in {Path(args.out) / '_truth'}"
          + (f" ({summary['seconds']:.1f} s)" if isinstance(summary.get("seconds"), (int, float)) else ""))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from dtks_pipeline.runner import run_months

    if args.wait_timeout is not None and args.wait_timeout < 0:
        print("dtks run: --wait-timeout must be 0 or more seconds")
        return 2
    return run_months(Path(args.sources), Path(args.warehouse), months=args.months, wait=args.wait,
                      wait_timeout=args.wait_timeout)


def _cmd_query(args: argparse.Namespace) -> int:
    from dtks_pipeline.defs.operations.query import main as query_main

    return query_main(args)


def _cmd_worksheets(args: argparse.Namespace) -> int:
    from dtks_pipeline.defs.operations.worksheets import main as worksheets_main

    return worksheets_main(args)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from dtks_pipeline.defs.planning.run import main as simulate_main

    return simulate_main(args)


def _cmd_report(args: argparse.Namespace) -> int:
    from dtks_pipeline.defs.reports.monthly import main as report_main

    return report_main(args)


def _cmd_benchmark(args: argparse.Namespace) -> int:
    import importlib

    module = importlib.import_module(f"dtks_pipeline.benchmarks.{args.name}")
    if args.name == "pipeline" and args.families is None:
        args.families = 60_000
    if hasattr(module, "cli"):  # pipeline, registry: options of their own; they generate unless --sources is given
        return module.cli(args)
    module.run(Path(args.sources or "data/sources"), Path(args.workdir))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dtks", description="DTKS Buleleng registry and payout pipeline")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write synthetic sample deliveries and their ground truth")
    gen.add_argument("--out", required=True, help="delivery root to write (one folder per month)")
    gen.add_argument("--families", type=int, default=60_000, help="number of DTKS families (default 60000)")
    gen.add_argument("--seed", type=int, default=2022, help="random seed (default 2022)")
    gen.set_defaults(func=_cmd_generate)

    run = sub.add_parser(
        "run", help="materialize every asset of the given months through Dagster",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Materialize every asset of the given months, in order, and publish the warehouse.\n"
                    "A month re-run with later months already published rebuilds those too; a re-delivered\n"
                    "earlier month (files changed since its last run) is rebuilt first.",
        epilog="exit codes:\n"
               "  0  every month completed; nothing quarantined, no family held\n"
               "  1  a month failed or was not run (nothing of it published), or the warehouse is in use\n"
               "  2  bad arguments\n"
               "  3  completed and published, with files quarantined or families held (named in the summary)",
    )
    run.add_argument("--sources", default=os.environ.get("DTKS_SOURCES", "data/sources"), help="delivery root (env DTKS_SOURCES)")
    run.add_argument("--warehouse", default=os.environ.get("DTKS_WAREHOUSE", "data/warehouse/dtks.duckdb"), help="warehouse file (env DTKS_WAREHOUSE)")
    run.add_argument("--months", default=None, help="YYYY-MM or YYYY-MM:YYYY-MM (default: every month folder found)")
    run.add_argument("--wait", action="store_true",
                     help="when another run holds the warehouse, wait for it instead of exiting 1")
    run.add_argument("--wait-timeout", type=float, default=None, metavar="SECONDS",
                     help="with --wait: give up (exit 1) after this many seconds (default: no limit)")
    run.set_defaults(func=_cmd_run)

    query = sub.add_parser("query", help="read-only SQL on the published warehouse (analyst schema by default)")
    query.add_argument("sql", help="one SELECT statement")
    query.add_argument("--warehouse", default=os.environ.get("DTKS_WAREHOUSE", "data/warehouse/dtks.duckdb"))
    query.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    query.add_argument("--full-access", action="store_true", help="open the full warehouse (personal data) instead of the analyst copy")
    query.set_defaults(func=_cmd_query)

    ws = sub.add_parser("worksheets", help="write the per-village verification worksheets of a month")
    ws.add_argument("--warehouse", default=os.environ.get("DTKS_WAREHOUSE", "data/warehouse/dtks.duckdb"))
    ws.add_argument("--month", required=True)
    ws.add_argument("--out", default="data/worksheets")
    ws.set_defaults(func=_cmd_worksheets)

    from dtks_pipeline.defs.sources.decisions import add_parsers as add_decision_parsers

    add_decision_parsers(sub)  # dtks accept|reject (quarantined files)

    sim = sub.add_parser("simulate", help="what-if: a scenario programs file against what was really allocated")
    sim.add_argument("--month", required=True, help="last simulated month (YYYY-MM, a published month)")
    sim.add_argument("--programs", required=True, help="scenario programs file (programs.yaml format)")
    sim.add_argument("--warehouse", default=os.environ.get("DTKS_WAREHOUSE", "data/warehouse/dtks.duckdb"),
                     help="published warehouse, read only (env DTKS_WAREHOUSE)")
    sim.add_argument("--months", type=int, default=1, help="N months simulated, ending at --month (default 1)")
    sim.add_argument("--out", default=None, help="output folder (default data/simulations/<month>_<scenario>)")
    sim.set_defaults(func=_cmd_simulate)

    rep = sub.add_parser("report", help="write the monthly report (one self-contained HTML page)")
    rep.add_argument("--month", required=True, help="YYYY-MM")
    rep.add_argument("--warehouse", default=os.environ.get("DTKS_WAREHOUSE", "data/warehouse/dtks.duckdb"),
                     help="published warehouse, read only (env DTKS_WAREHOUSE)")
    rep.add_argument("--out", default="data/reports", help="output folder (default data/reports)")
    rep.set_defaults(func=_cmd_report)

    from dtks_pipeline.defs.registry.review_command import add_parser as add_review_parser

    add_review_parser(sub)  # dtks review list|decide

    bench = sub.add_parser("benchmark", help="score the pipeline against the sample ground truth")
    bench.add_argument("name", choices=["ingestion", "registry", "payout", "pipeline"], help="which benchmark")
    bench.add_argument("--sources", default=None,
                       help="generated delivery root with _truth/ (default data/sources; pipeline: generate)")
    bench.add_argument("--families", type=int, default=None,
                       help="families to generate (pipeline: default 60000; registry: the own sample, default 10000)")
    bench.add_argument("--sets", default=None,
                       help="registry: comma-separated sets (default own,febrl3,febrl4,perturbed)")
    bench.add_argument("--months", type=int, default=3, help="pipeline: K, the months timed end to end (default 3)")
    bench.add_argument("--history", type=int, default=0, metavar="H",
                       help="pipeline: run H months and show each month's cost against the months published before")
    bench.add_argument("--workdir", default="data/benchmarks", help="folder for the benchmark's warehouse and results")
    bench.set_defaults(func=_cmd_benchmark)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
