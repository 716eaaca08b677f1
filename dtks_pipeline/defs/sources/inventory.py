"""Every file of a month folder, and which source uses it or why none does.

SOURCES.md fixes the names (`dtks.csv`, ..., `desa/<kode_desa>.xlsx|csv`). People
deliver otherwise: upper case names, a village file saved beside the agency files
instead of in `desa/`, an Excel lock file, a copy, a legacy `.xls`. Each file is
attributed to exactly ONE source, whose staging asset records it in
`audit.source_files`: used (matched case-insensitively), or TIDAK_DIGUNAKAN with the
reason. Files that resemble no source are recorded by the source whose name they
resemble most, so nothing in the folder goes unrecorded.

Decisions (documented in README/CONTRACTS):
- names are matched without regard to letter case;
- an agency file delivered as `.xlsx` or `.txt` (Excel's "Unicode Text") instead of
  `.csv` is read when no `.csv` of that source is there;
- a village file `<kode_desa>.xlsx|csv` saved in the month folder instead of `desa/`
  is used (recorded under its own path), unless `desa/` holds that village's file too;
- a file whose name contains an expected name but is not it ("Copy of 5108022010.xlsx",
  "dtks (1).csv") is a copy: not used, the reason names the file it copies.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from dtks_pipeline.defs.sources.specs import SOURCES

VILLAGE_FOLDER = "desa"
VILLAGE_SUFFIXES = (".xlsx", ".csv")
AGENCY_SUFFIXES = (".csv", ".xlsx", ".txt")  # in order of preference
_VILLAGE_CODE = re.compile(r"\d{10}")


@dataclass(frozen=True)
class FolderFile:
    path: Path
    source_file: str  # path relative to the period folder, as delivered ('desa/5108012001.xlsx')
    source: str  # the source whose asset records this file
    used: bool
    reason: str = ""  # why it is not used; for a used file, what is unusual about it ('' if nothing)


def _all_files(period_dir: Path) -> list[Path]:
    return sorted(p for p in period_dir.rglob("*") if p.is_file())


def _why_unusable_name(path: Path) -> str | None:
    """A reason that holds whatever the name: lock files, hidden files, legacy .xls."""
    if path.name.startswith("~$"):
        return "Excel lock file (~$...): the workbook was open when the folder was copied"
    if path.name.startswith("."):
        return "hidden or system file"
    if path.suffix.lower() == ".xls":
        return "legacy Excel 97-2003 .xls workbook: not read; save it as .xlsx"
    return None


def _nearest_source(name: str) -> str:
    stems = {spec.name: spec.name for spec in SOURCES.values()}
    best = process.extractOne(name.lower(), list(stems), scorer=fuzz.partial_ratio)
    return best[0] if best else "dtks"


def month_inventory(period_dir: Path) -> list[FolderFile]:
    """Every file under the period folder, attributed to one source (see module docstring)."""
    files = _all_files(period_dir) if period_dir.is_dir() else []
    out: list[FolderFile] = []
    agency = {spec.name: spec for spec in SOURCES.values() if spec.filename}
    agency_stems = {spec.filename.rsplit(".", 1)[0]: spec.name for spec in agency.values()}
    chosen_agency: dict[str, Path] = {}
    village_in_folder: set[str] = set()

    # First pass: the files that are exactly what SOURCES.md names (any letter case).
    for path in files:
        rel = path.relative_to(period_dir)
        if len(rel.parts) == 2 and rel.parts[0].lower() == VILLAGE_FOLDER and _VILLAGE_CODE.fullmatch(path.stem) \
                and path.suffix.lower() in VILLAGE_SUFFIXES:
            village_in_folder.add(path.stem)
        if len(rel.parts) == 1 and path.stem.lower() in agency_stems and path.suffix.lower() in AGENCY_SUFFIXES:
            source = agency_stems[path.stem.lower()]
            current = chosen_agency.get(source)
            rank = (AGENCY_SUFFIXES.index(path.suffix.lower()), path.name != path.name.lower(), path.name)
            if current is None or rank < (AGENCY_SUFFIXES.index(current.suffix.lower()), current.name != current.name.lower(), current.name):
                chosen_agency[source] = path

    for path in files:
        rel = path.relative_to(period_dir)
        source_file = rel.as_posix()
        fixed = _why_unusable_name(path)
        code = _VILLAGE_CODE.search(path.name)
        in_village_folder = len(rel.parts) == 2 and rel.parts[0].lower() == VILLAGE_FOLDER
        if len(rel.parts) == 1 and path.stem.lower() in agency_stems:
            source = agency_stems[path.stem.lower()]
            if fixed:
                out.append(FolderFile(path, source_file, source, False, fixed))
            elif chosen_agency.get(source) == path:
                note = "" if path.name == agency[source].filename else f"used as {agency[source].filename}"
                out.append(FolderFile(path, source_file, source, True, note))
            elif path.suffix.lower() in AGENCY_SUFFIXES:
                out.append(FolderFile(path, source_file, source, False,
                                      f"{chosen_agency[source].name} of the same source is used instead"))
            else:
                out.append(FolderFile(path, source_file, source, False,
                                      f"unknown file type {path.suffix or '(none)'}: expected {agency[source].filename}"))
            continue
        if in_village_folder or (len(rel.parts) == 1 and code):
            expected = f"{code.group(0)}.xlsx|csv" if code else "<kode_desa>.xlsx|csv"
            if fixed:
                out.append(FolderFile(path, source_file, "desa", False, fixed))
            elif _VILLAGE_CODE.fullmatch(path.stem) and path.suffix.lower() in VILLAGE_SUFFIXES:
                if in_village_folder:
                    out.append(FolderFile(path, source_file, "desa", True))
                elif path.stem in village_in_folder:
                    out.append(FolderFile(path, source_file, "desa", False,
                                          f"village file outside desa/; desa/ holds this village's file, which is used"))
                else:
                    out.append(FolderFile(path, source_file, "desa", True, "village file outside desa/: used"))
            elif code:
                where = f"desa/{expected}" if in_village_folder else expected
                out.append(FolderFile(path, source_file, "desa", False,
                                      f"not named {where}: looks like a copy of village {code.group(0)}'s file"
                                      + ("" if code.group(0) in village_in_folder else "; that village's own file is not delivered")))
            else:
                out.append(FolderFile(path, source_file, "desa", False,
                                      f"unknown name in desa/: a village file is named {expected}"))
            continue
        if len(rel.parts) > 1:
            out.append(FolderFile(path, source_file, _nearest_source(path.name), False,
                                  f"in subfolder {rel.parts[0]}/, which the pipeline does not read"))
            continue
        copied = next((stem for stem in agency_stems if stem in path.name.lower()), None)
        if fixed:
            out.append(FolderFile(path, source_file, agency_stems.get(copied) or _nearest_source(path.name), False, fixed))
        elif copied:
            out.append(FolderFile(path, source_file, agency_stems[copied], False,
                                  f"not named {agency[agency_stems[copied]].filename}: looks like a copy or version of it"))
        else:
            expected = ", ".join(spec.filename for spec in agency.values())
            out.append(FolderFile(path, source_file, _nearest_source(path.name), False,
                                  f"unknown file name; the month folder holds {expected} and desa/<kode_desa>.xlsx|csv"))
    return out


def files_of(source: str, period_dir: Path) -> list[FolderFile]:
    """The files of the month folder this source's asset records (used or not), in path order."""
    return [f for f in month_inventory(period_dir) if f.source == source]
