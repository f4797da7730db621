"""2018 hazardous-chemical enterprise guide (应急〔2018〕19号《危险化学品生产储存企业安全风险评估诊断分级指南》).

A 100-point deduction scheme: start at 100, deduct per item (each item's deductions capped at its weight), add
bonuses, floor 0 (and, our convention, cap 100). Bands: blue ≥ 90; yellow 75 ≤ s < 90; orange 60 ≤ s < 75;
red < 60. Four conditions make an enterprise red whatever its score (一票否决).

Input: a table with one row per facility and item (``facility_id, item, points``); ``item`` is one of the codes
below (or its Chinese name), ``points`` the points deducted (deduction items), added (bonus items), or empty
(veto items). Example::

    facility_id,item,points
    91329901MA0000001J,processes,4          # two of the 18 hazardous processes, −2 each
    91329901MA0000001J,personnel,6
    91329901MA0000001J,bonus_standardisation,5   # 二级 standardisation
    91329901MA0000002M,veto_uncertified_workers,

The major-hazard item is filled from the GB 18218 grade (一级 −10, 二级 −8, 三级 −6, 四级 −4) when the table has no
row for it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmap.columns import FACILITY_ID
from riskmap.config import Chem2018Params
from riskmap.frames import join_positions, per_distinct
from riskmap.i18n import N_, Msg, per_row
from riskmap.levels import Level
from riskmap.methods.base import MethodResult, empty_result, fmt, level_labels
from riskmap.rejects import make_rejects
from riskmap.validate import ROW, first_seen, to_number

__all__ = ["DEDUCTIONS", "BONUSES", "VETOES", "MAJOR_HAZARD_POINTS", "band", "grade_facilities"]

#: code -> (Chinese name, English name, weight = cap of the item's deductions). Weights sum to 100.
DEDUCTIONS: dict[str, tuple[str, str, float]] = {
    "major_hazard": ("重大危险源", "major hazard installation", 10),
    "substances": ("危险化学品物质", "hazardous substances", 5),
    "processes": ("危险化工工艺", "hazardous chemical processes", 10),
    "fire_explosion": ("火灾爆炸危险性", "fire and explosion hazard", 5),
    "surroundings": ("周边环境", "surroundings", 10),
    "design": ("设计与评估", "design and assessment", 10),
    "equipment": ("设备设施", "equipment", 5),
    "automation": ("自动化控制与安全设施", "automation and safety systems", 10),
    "personnel": ("人员资质", "personnel qualification", 15),
    "management": ("安全管理制度", "safety management systems", 10),
    "accidents": ("事故与安全绩效", "accidents and safety performance", 10),
}
#: code -> (Chinese name, English name, the points it may add).
BONUSES: dict[str, tuple[str, str, tuple[float, ...]]] = {
    "bonus_standardisation": ("安全生产标准化", "standardisation grade (1/2/3: +15/+5/+2)", (15, 5, 2)),
    "bonus_fire_brigade": ("专职消防队", "own full-time fire brigade", (3,)),
    "bonus_no_accident_5y": ("连续五年无事故", "five years without accident", (5,)),
    "bonus_class_a_design": ("甲级资质设计", "all units designed by a class-A institute", (2,)),
}
#: code -> (Chinese name, English name). Any of these makes the enterprise red.
VETOES: dict[str, tuple[str, str]] = {
    "veto_untested_process": ("在役装置采用未经安全可靠性论证的新工艺", "untested new process in production"),
    "veto_undesigned_unit": (
        "在役装置未经正规设计且未进行安全设计诊断",
        "in-service unit neither designed nor design-diagnosed",
    ),
    "veto_uncertified_workers": (
        "特种作业人员未持证上岗",
        "special-operations workers without valid certificates",
    ),
    "veto_accidents": (
        "三年内发生重大或两起较大事故, 或一年内发生两起死亡一般事故",
        "within 3 years a major or two larger accidents, or within 1 year two fatal general accidents",
    ),
}
#: GB 18218 grade -> points deducted under the major-hazard item.
MAJOR_HAZARD_POINTS = {1: 10.0, 2: 8.0, 3: 6.0, 4: 4.0}

_CODES = [*DEDUCTIONS, *BONUSES, *VETOES]
_ZH_NAMES: dict[str, str] = (
    {c: v[0] for c, v in DEDUCTIONS.items()}
    | {c: v[0] for c, v in BONUSES.items()}
    | {c: v[0] for c, v in VETOES.items()}
)
#: Item code or Chinese name -> item code.
_BY_NAME: dict[str, str] = {code: code for code in _CODES} | {zh: code for code, zh in _ZH_NAMES.items()}


def band(score: np.ndarray | pd.Series, params: Chem2018Params) -> np.ndarray:
    """Level rank from the score: blue ≥ 90, yellow ≥ 75, orange ≥ 60, red below.

    >>> band(np.array([90, 89.9, 75, 74.9, 60, 59.9]), Chem2018Params()).tolist()
    [1, 2, 2, 3, 3, 4]
    """
    s = np.asarray(score, dtype=float)
    b = params.bands
    return np.select([s >= b["blue"], s >= b["yellow"], s >= b["orange"]], [1, 2, 3], default=4)


def _validate(rows: pd.DataFrame, source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Known item codes, non-negative deductions, bonus points from the guide's set; the rest are rejects."""
    item = rows["item"].astype(str).str.strip().map(_BY_NAME)
    pts = to_number(rows["points"]) if "points" in rows else pd.Series(np.nan, index=rows.index)
    is_ded = item.isin(list(DEDUCTIONS))
    is_bonus = item.isin(list(BONUSES))
    # A bonus row is fine when its points are one of its item's allowed points (NaN never is).
    bonus_ok = pd.Series(False, index=rows.index)
    for code, (_, _, points) in BONUSES.items():
        bonus_ok |= (item == code) & pts.isin([float(p) for p in points])
    reason = pd.Series("", index=rows.index, dtype=object)
    reason[item.isna()] = Msg(
        "unknown item; use one of: {codes} (or their Chinese names)", codes=", ".join(_CODES)
    )
    reason[is_ded & pts.isna()] = Msg("a deduction item needs the points deducted (a number)")
    reason[is_ded & (pts < 0)] = Msg("points deducted must not be negative")
    # 1e400 is read as infinity: capped at the item's weight it would pass as a plausible deduction.
    reason[(is_ded | is_bonus) & pts.notna() & ~np.isfinite(pts)] = Msg("the points are not a finite number")
    wrong_bonus = is_bonus & ~bonus_ok
    if wrong_bonus.any():
        reason[wrong_bonus] = per_row(
            N_("bonus points must be one of {points}"),
            points=item[wrong_bonus].map(lambda c: "/".join(f"{x:g}" for x in BONUSES[c][2])),
        )
    # A bonus is one fact about the enterprise (its standardisation grade, its fire brigade): listed twice, even
    # under its code and its Chinese name, it counts once. Deduction items are per instance and are summed.
    bonus_rows = is_bonus & (reason == "")
    twice, first = first_seen(rows.loc[bonus_rows, ROW], rows.loc[bonus_rows, FACILITY_ID], item[bonus_rows])
    if twice.any():
        reason[twice.index[twice]] = per_row(
            N_("duplicate bonus item for the same facility; first seen at row {row} (a bonus counts once)"),
            row=first[twice].astype(str),
        )
    on_item = item.isna() | rows.index.isin(twice.index[twice])
    on_points = (reason != "") & ~on_item
    rejects = pd.concat(
        [
            make_rejects(source, rows[on_item], "item", reason[on_item], "score"),
            make_rejects(source, rows[on_points], "points", reason[on_points], "score"),
        ],
        ignore_index=True,
    )
    ok = reason == ""
    clean = pd.DataFrame(
        {FACILITY_ID: rows.loc[ok, FACILITY_ID], "item": item[ok], "points": pts[ok].fillna(0.0)}
    )
    return clean, rejects


def _item_points(ok: pd.DataFrame, facilities: pd.Index) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per facility and item: the points summed and the number of rows (every item a column)."""
    items = [*DEDUCTIONS, *BONUSES, *VETOES]
    sums = ok.pivot_table(index=FACILITY_ID, columns="item", values="points", aggfunc="sum", fill_value=0.0)
    sums = sums.reindex(index=facilities, columns=items, fill_value=0.0)
    present = (
        ok.groupby([FACILITY_ID, "item"])
        .size()
        .unstack(fill_value=0)
        .reindex(index=facilities, columns=items, fill_value=0)
    )
    return sums, present


def _major_hazard_from_gb18218(sums: pd.DataFrame, present: pd.DataFrame, grades: pd.Series) -> pd.Series:
    """Fill (in ``sums``) the major-hazard points from the GB 18218 grade where the facility has no row for it.

    Returns where the points came from the grade.
    """
    auto = grades.reindex(sums.index).fillna(0).astype(int).map(MAJOR_HAZARD_POINTS).fillna(0.0)
    auto_major = present["major_hazard"] == 0
    sums.loc[auto_major, "major_hazard"] = auto[auto_major]
    return auto_major


def _largest_deductions(deducted: pd.DataFrame, capped: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per facility, its three largest deductions as zh and en text ("无"/"none" when there are none)."""
    facilities = deducted.index
    long = deducted.stack().rename("pts").reset_index()
    long["capped"] = capped.stack().to_numpy()
    long = long[long["pts"] > 0].sort_values([FACILITY_ID, "pts"], ascending=[True, False], kind="stable")
    long["item"] = long["item"].astype(str)
    long["zh"] = (
        per_distinct(long["item"], lambda items: items.map(lambda c: DEDUCTIONS[c][0]))
        + " −"
        + fmt(long["pts"], 1)
        + np.where(long["capped"], "(封顶)", "")
    )
    long["en"] = (
        per_distinct(long["item"], lambda items: items.map(lambda c: DEDUCTIONS[c][1]))
        + " -"
        + fmt(long["pts"], 1)
        + np.where(long["capped"], " (capped)", "")
    )
    top = long.groupby(FACILITY_ID).head(3)
    at = facilities.get_indexer(top[FACILITY_ID])
    top_zh = join_positions(at, top["zh"], len(facilities), "、").set_axis(facilities).fillna("无")
    top_en = join_positions(at, top["en"], len(facilities), ", ").set_axis(facilities).fillna("none")
    return top_zh, top_en


def _veto_texts(vetoed: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per facility, the veto items that hold as zh and en text (NaN: none)."""
    veto_long = vetoed.stack()
    veto_long = veto_long[veto_long].reset_index()
    by_facility = veto_long.groupby(FACILITY_ID)["item"]
    veto_zh = by_facility.agg(lambda c: "、".join(VETOES[x][0] for x in c)).reindex(vetoed.index)
    veto_en = by_facility.agg(lambda c: "; ".join(VETOES[x][1] for x in c)).reindex(vetoed.index)
    return veto_zh, veto_en


def grade_facilities(
    rows: pd.DataFrame,
    params: Chem2018Params,
    gb18218_grades: pd.Series | None = None,
    source: str = "deductions",
) -> MethodResult:
    """Score every facility that has rows in the deduction table.

    ``gb18218_grades`` (facility id -> grade 1..4, 0 = not a major hazard) fills the major-hazard item when the
    facility has no row for it and ``params.major_hazard_from_gb18218`` is set.
    """
    ok, rejects = _validate(rows, source)
    if ok.empty:
        return MethodResult(results=empty_result().results, rejects=rejects)
    facilities = pd.Index(sorted(ok[FACILITY_ID].unique()), name=FACILITY_ID)
    sums, present = _item_points(ok, facilities)
    auto_major = pd.Series(False, index=facilities)
    if params.major_hazard_from_gb18218 and gb18218_grades is not None:
        auto_major = _major_hazard_from_gb18218(sums, present, gb18218_grades)
    caps = pd.Series({k: v[2] for k, v in DEDUCTIONS.items()})
    raw = sums[list(DEDUCTIONS)]
    deducted = raw.clip(upper=caps, axis=1)
    bonus = sums[list(BONUSES)].sum(axis=1)
    score = (100.0 - deducted.sum(axis=1) + bonus).clip(0.0, 100.0)
    vetoed = present[list(VETOES)] > 0
    rank = pd.Series(band(score, params), index=facilities)
    rank[vetoed.any(axis=1)] = int(Level.RED)

    # Reasons: the three largest deductions, the bonuses, and any veto.
    top_zh, top_en = _largest_deductions(deducted, raw > caps)
    veto_zh, veto_en = _veto_texts(vetoed)
    from_gb18218 = auto_major & (sums["major_hazard"] > 0)
    s_txt = fmt(score, 1)
    zh = (
        "2018导则: 得分 "
        + s_txt
        + " (扣分: "
        + top_zh
        + np.where(bonus > 0, "; 加分 +" + fmt(bonus, 1), "")
        + ")"
    )
    en = (
        "2018 guide: score "
        + s_txt
        + " (deductions: "
        + top_en
        + np.where(bonus > 0, "; bonus +" + fmt(bonus, 1), "")
        + ")"
    )
    zh = zh + np.where(from_gb18218, ", 重大危险源扣分取自 GB 18218 分级", "")
    en = en + np.where(from_gb18218, ", major-hazard item from the GB 18218 grade", "")
    zh = (
        np.where(veto_zh.notna(), zh + ", 一票否决: " + veto_zh.fillna(""), zh)
        + " → "
        + level_labels(rank, "zh")
    )
    en = (
        np.where(veto_en.notna(), en + ", automatic red: " + veto_en.fillna(""), en)
        + " -> "
        + level_labels(rank, "en")
    )
    results = pd.DataFrame(
        {
            "score": score,
            "rank": rank.astype(int),
            "reason_zh": zh,
            "reason_en": en,
            "chem2018_veto": vetoed.any(axis=1),
        },
        index=facilities,
    )
    return MethodResult(results=results, rejects=rejects)
