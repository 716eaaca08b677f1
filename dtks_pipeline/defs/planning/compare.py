"""The comparison views of a simulation: scenario against what was really allocated.

Every view is a plain DataFrame with snake_case columns (the simulation.* tables);
`HEADINGS` gives the Indonesian headings the workbook and the page show.
"Real" is payout.payments of the month; "eligible" counts the families meeting
a program's conditions with a recipient, other programs ignored (the project's
`eligible_for`), for the baseline rules and for the scenario's.

Why a family enters or leaves a program in the scenario (`CHANGE_REASONS`),
first matching reason wins:
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from dtks_pipeline.defs.planning.simulate import MonthSimulation
from dtks_pipeline.lib.masking import mask_ids
from dtks_pipeline.lib.regions import wilayah

MASUK, KELUAR = "MASUK", "KELUAR"
CHANGE_REASONS = {
    MASUK: {
        "PROGRAM_BARU": "the program does not pay this month under the real programs file",
        "SYARAT_DIPERLUAS": "the family does not meet the real conditions, but meets the scenario's (e.g. desil widened)",
        "PINDAH_PROGRAM": "really paid by another program (detail), paid by this one in the scenario",
        "KUOTA_DITAMBAH": "eligible under both, really unpaid (waiting list): the scenario's quota reaches it",
    },
    KELUAR: {
        "DITAHAN": "held for review this month (payout.held): paid by no program until staff decide",
        "PROGRAM_DIHAPUS": "the scenario does not pay this program this month (removed, or outside its months)",
        "SYARAT_DIPERSEMPIT": "the family no longer meets the scenario's conditions (e.g. desil narrowed)",
        "PINDAH_PROGRAM": "paid by another program (detail) in the scenario",
        "KUOTA_DIKURANGI": "still eligible, but beyond the scenario's quota",
    },
}
__doc__ += "\n".join(f"- {c} {r}: {d}" for c, reasons in CHANGE_REASONS.items() for r, d in reasons.items())

TOTAL = "TOTAL"
NO_DESIL = "Tanpa desil"

HEADINGS = {
    "period": "Bulan", "program": "Program", "name": "Nama program", "n_months": "Jumlah bulan",
    "kode_kecamatan": "Kode kecamatan", "kecamatan": "Kecamatan", "kode_desa": "Kode desa", "desa": "Desa/Kelurahan",
    "desil": "Desil", "family_id": "ID keluarga", "nokk": "NOKK (disamarkan)",
    "quota_real": "Kuota realisasi", "kpm_real": "KPM realisasi", "rp_real": "Rp realisasi",
    "eligible_real": "Layak (aturan realisasi)", "quota_sim": "Kuota skenario", "kpm_sim": "KPM skenario",
    "rp_sim": "Rp skenario", "eligible_sim": "Layak (aturan skenario)", "delta_kpm": "Selisih KPM",
    "delta_rp": "Selisih Rp", "paid_real": "Dibayar realisasi", "gap_real": "Layak belum dibayar (realisasi)",
    "paid_sim": "Dibayar skenario", "gap_sim": "Layak belum dibayar (skenario)", "delta_gap": "Selisih belum dibayar",
    "change": "Masuk/Keluar", "reason_code": "Alasan", "detail": "Keterangan", "n_families": "Jumlah keluarga",
}
MONEY_COLUMNS = frozenset({"rp_real", "rp_sim", "delta_rp"})


def _names() -> dict[str, str]:
    w = wilayah()
    return dict(zip(w["kode_digits"], w["nama"]))


def _codes(sim: MonthSimulation) -> list[str]:
    """Program codes of both sides, in fill order (real first, then scenario-only ones)."""
    seen: list[str] = []
    for p in sorted(sim.baseline.programs, key=lambda p: p.order) + sorted(sim.scenario.programs, key=lambda p: p.order):
        if p.code not in seen:
            seen.append(p.code)
    extra = sorted(set(sim.real_payments["program"]) - set(seen))
    return seen + extra


def program_view(sims: Iterable[MonthSimulation]) -> pd.DataFrame:
    """Per month and program: quota, KPM, Rp and eligible families, real against scenario; TOTAL per month."""
    rows = []
    for sim in sims:
        base = {p.code: p for p in sim.baseline.programs}
        scen = {p.code: p for p in sim.scenario.programs}
        real = sim.real_payments.groupby("program")["amount_idr"].agg(["size", "sum"])
        pay = sim.scenario.allocation.payments.groupby("program")["amount_idr"].agg(["size", "sum"])
        month_rows = []
        for code in _codes(sim):
            b, s = base.get(code), scen.get(code)
            row = {
                "period": sim.period, "program": code, "name": (s or b).name if (s or b) else "",
                "quota_real": b.quota_for(sim.period) if b and b.pays_in(sim.period) else 0,
                "kpm_real": int(real["size"].get(code, 0)), "rp_real": int(real["sum"].get(code, 0)),
                "eligible_real": len(sim.baseline.eligible.get(code, ())),
                "quota_sim": s.quota_for(sim.period) if s and s.pays_in(sim.period) else 0,
                "kpm_sim": int(pay["size"].get(code, 0)), "rp_sim": int(pay["sum"].get(code, 0)),
                "eligible_sim": len(sim.scenario.eligible.get(code, ())),
            }
            if any(row[k] for k in ("quota_real", "kpm_real", "quota_sim", "kpm_sim")):
                month_rows.append(row)
        total = {"period": sim.period, "program": TOTAL, "name": ""}
        for k in ("quota_real", "kpm_real", "rp_real", "quota_sim", "kpm_sim", "rp_sim"):
            total[k] = sum(r[k] for r in month_rows)
        total["eligible_real"] = len(set().union(*sim.baseline.eligible.values())) if sim.baseline.eligible else 0
        total["eligible_sim"] = len(set().union(*sim.scenario.eligible.values())) if sim.scenario.eligible else 0
        rows += month_rows + [total]
    out = pd.DataFrame(rows, columns=["period", "program", "name", "quota_real", "kpm_real", "rp_real", "eligible_real",
                                      "quota_sim", "kpm_sim", "rp_sim", "eligible_sim"])
    return _with_deltas(out)


def _with_deltas(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["delta_kpm"] = frame["kpm_sim"] - frame["kpm_real"]
    frame["delta_rp"] = frame["rp_sim"] - frame["rp_real"]
    return frame


def budget_view(programs: pd.DataFrame) -> pd.DataFrame:
    """KPM-months and Rp over the simulated months, per program and in total."""
    per = programs[programs["program"] != TOTAL]
    out = per.groupby(["program", "name"], sort=False, as_index=False).agg(
        n_months=("period", "nunique"), kpm_real=("kpm_real", "sum"), rp_real=("rp_real", "sum"),
        kpm_sim=("kpm_sim", "sum"), rp_sim=("rp_sim", "sum"))
    total = {"program": TOTAL, "name": "", "n_months": programs["period"].nunique(),
             **{k: int(out[k].sum()) for k in ("kpm_real", "rp_real", "kpm_sim", "rp_sim")}}
    return _with_deltas(pd.concat([out, pd.DataFrame([total])], ignore_index=True))


def _payments_by(sim: MonthSimulation, key: str) -> pd.DataFrame:
    """KPM and Rp per (program, key) on both sides; key is kode_kecamatan or kode_desa."""
    frames = []
    for side, pay in (("real", sim.real_payments), ("sim", sim.scenario.allocation.payments)):
        p = pay.assign(kode_kecamatan=pay["kode_desa"].str[:6])
        g = p.groupby(["program", key]).agg(**{f"kpm_{side}": ("family_id", "size"), f"rp_{side}": ("amount_idr", "sum")})
        frames.append(g)
    out = pd.concat(frames, axis=1).fillna(0).astype("int64").reset_index()
    out.insert(0, "period", sim.period)
    return out


def area_view(sims: Iterable[MonthSimulation], level: str) -> pd.DataFrame:
    """KPM and Rp per month, program and kecamatan (level 'kecamatan') or village (level 'desa')."""
    key = f"kode_{level}"
    names = _names()
    frames = [_payments_by(sim, key) for sim in sims]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["period", "program", key])
    out.insert(out.columns.get_loc(key) + 1, level, out[key].map(names).fillna("(tidak diketahui)"))
    if level == "desa":
        out.insert(out.columns.get_loc(key), "kecamatan", out[key].str[:6].map(names).fillna("(tidak diketahui)"))
    cols = ["kpm_real", "rp_real", "kpm_sim", "rp_sim"]
    out = out[[c for c in out.columns if c not in cols] + cols]
    return _with_deltas(out).sort_values(["period", "program", key], kind="stable").reset_index(drop=True)


def _eligible_any(side) -> set:
    return set().union(*side.eligible.values()) if side.eligible else set()


def coverage_view(sims: Iterable[MonthSimulation], by: str) -> pd.DataFrame:
    """Eligible families (for any program paying in the month), paid, and eligible-but-unpaid (the gap),
    real against scenario, per month and `by` ('desil' or 'kecamatan')."""
    names = _names()
    frames = []
    for sim in sims:
        fam = sim.families.drop_duplicates("family_id").set_index("family_id")
        if by == "desil":
            group = fam["desil"].astype("Int64").astype(str).replace({"<NA>": NO_DESIL})
        else:
            group = fam["kode_desa"].str[:6]
        sides = {}
        for side_name, side, paid in (("real", sim.baseline, set(sim.real_payments["family_id"])),
                                      ("sim", sim.scenario, set(sim.scenario.allocation.payments["family_id"]))):
            eligible = _eligible_any(side)
            frame = pd.DataFrame({"family_id": list(eligible)})
            frame["g"] = frame["family_id"].map(group)
            frame["paid"] = frame["family_id"].isin(paid)
            sides[f"eligible_{side_name}"] = frame.groupby("g").size()
            sides[f"paid_{side_name}"] = frame[frame["paid"]].groupby("g").size()
        out = pd.DataFrame(sides).fillna(0).astype("int64")
        out["gap_real"] = out["eligible_real"] - out["paid_real"]
        out["gap_sim"] = out["eligible_sim"] - out["paid_sim"]
        out["delta_gap"] = out["gap_sim"] - out["gap_real"]
        out = out.rename_axis(by).reset_index()
        out.insert(0, "period", sim.period)
        frames.append(out)
    cols = ["period", by, "eligible_real", "paid_real", "gap_real", "eligible_sim", "paid_sim", "gap_sim", "delta_gap"]
    out = pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)
    if by == "kecamatan":
        out.insert(1, "kode_kecamatan", out["kecamatan"])
        out["kecamatan"] = out["kode_kecamatan"].map(names).fillna("(tidak diketahui)")
    else:
        out["_o"] = pd.to_numeric(out["desil"], errors="coerce").fillna(99)
        out = out.sort_values(["period", "_o"], kind="stable").drop(columns="_o")
    return out.reset_index(drop=True)


def _reason(change: str, code: str, fid: str, sim: MonthSimulation, paid_by: dict[str, str]) -> tuple[str, str | None]:
    """Why `fid` enters (MASUK) or leaves (KELUAR) program `code` in the scenario (CHANGE_REASONS order)."""
    if change == MASUK:
        if code not in sim.baseline.eligible:
            return "PROGRAM_BARU", None
        if fid not in sim.baseline.eligible[code]:
            return "SYARAT_DIPERLUAS", None
        if fid in paid_by:
            return "PINDAH_PROGRAM", f"realisasi: {paid_by[fid]}"
        return "KUOTA_DITAMBAH", None
    if fid in sim.held:
        return "DITAHAN", None
    if code not in sim.scenario.eligible:
        return "PROGRAM_DIHAPUS", None
    if fid not in sim.scenario.eligible[code]:
        return "SYARAT_DIPERSEMPIT", None
    if fid in paid_by:
        return "PINDAH_PROGRAM", f"skenario: {paid_by[fid]}"
    return "KUOTA_DIKURANGI", None


def changes_view(sims: Iterable[MonthSimulation]) -> pd.DataFrame:
    """Families the scenario would pay and reality did not (MASUK), or the other way round (KELUAR), with why.

    NOKK is masked; no names. One row per family, month, program and direction."""
    names = _names()
    rows = []
    for sim in sims:
        real = sim.real_payments[["program", "family_id"]]
        scen = sim.scenario.allocation.payments[["program", "family_id"]]
        real_by = dict(zip(real["family_id"], real["program"]))
        scen_by = dict(zip(scen["family_id"], scen["program"]))
        real_keys = set(zip(real["program"], real["family_id"]))
        scen_keys = set(zip(scen["program"], scen["family_id"]))
        for change, keys, paid_elsewhere in ((MASUK, scen_keys - real_keys, real_by), (KELUAR, real_keys - scen_keys, scen_by)):
            for code, fid in sorted(keys):
                reason, detail = _reason(change, code, fid, sim, paid_elsewhere)
                rows.append((sim.period, code, fid, change, reason, detail))
    out = pd.DataFrame(rows, columns=["period", "program", "family_id", "change", "reason_code", "detail"])
    fam = pd.concat([s.families.assign(period=s.period) for s in sims], ignore_index=True) if sims else pd.DataFrame(
        columns=["period", "family_id", "nokk", "kode_desa", "desil"])
    fam = fam.drop_duplicates(["period", "family_id"])[["period", "family_id", "nokk", "kode_desa", "desil"]]
    out = out.merge(fam, on=["period", "family_id"], how="left")
    out["nokk"] = mask_ids(out["nokk"]) if len(out) else out["nokk"]
    out["kecamatan"] = out["kode_desa"].str[:6].map(names)
    out["desa"] = out["kode_desa"].map(names)
    return out[["period", "program", "change", "reason_code", "detail", "family_id", "nokk", "kecamatan", "kode_desa",
                "desa", "desil"]].sort_values(["period", "program", "change", "reason_code", "family_id"]).reset_index(drop=True)


def changes_summary(changes: pd.DataFrame) -> pd.DataFrame:
    """Number of families entering or leaving, per month, program, direction and reason."""
    cols = ["period", "program", "change", "reason_code", "n_families"]
    if changes.empty:
        return pd.DataFrame(columns=cols)
    return changes.groupby(["period", "program", "change", "reason_code"], as_index=False).size().rename(
        columns={"size": "n_families"})[cols]


def all_views(sims: list[MonthSimulation]) -> dict[str, pd.DataFrame]:
    """Every view, by the name of its simulation.* table (also its sheet, in this order)."""
    programs = program_view(sims)
    changes = changes_view(sims)
    return {
        "programs": programs,
        "budget": budget_view(programs),
        "kecamatan": area_view(sims, "kecamatan"),
        "desa": area_view(sims, "desa"),
        "coverage_desil": coverage_view(sims, "desil"),
        "coverage_kecamatan": coverage_view(sims, "kecamatan"),
        "changes_summary": changes_summary(changes),
        "changes": changes,
    }
