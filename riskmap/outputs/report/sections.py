"""The district report (report.docx, 一图一表), section by section, and :func:`write_report` that puts them in order.

A report writer hands the document in as it is: title, a summary in sentences, the four-colour figure with the
zone table, the major/considerable-risk enterprise lists, what changed since the previous run, the inspection
plan and the data quality. Every number in the summary comes from the same values as a table of the document
(:mod:`riskmap.outputs.report.numbers`). Wide tables stand in landscape sections.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from riskmap.columns import REJECT_REASON
from riskmap.frames import in_language
from riskmap.levels import LEVEL_NAMES, label
from riskmap.outputs.report.numbers import Numbers, list_frame, report_numbers
from riskmap.outputs.report.text import SENSITIVITY_TEXT, fmt
from riskmap.outputs.report.wordml import (
    Doc,
    caption,
    heading,
    landscape,
    level_fill,
    open_document,
    para,
    save,
    table,
)
from riskmap.zone_kinds import area_word, kind_label, project_kind_labels

if TYPE_CHECKING:
    from riskmap.compare import RunDiff
    from riskmap.config import Config
    from riskmap.results import RunResult

__all__ = ["write_report", "LIST_INLINE_MAX", "APPENDIX_MAX_ROWS"]

#: Up to this many enterprises a list stands in its section; above, the appendix holds the first
#: :data:`APPENDIX_MAX_ROWS` and a sentence says where the full list is (a Word table of 100,000 rows is
#: neither readable nor quick to open).
LIST_INLINE_MAX = 3000
APPENDIX_MAX_ROWS = 2000


def _title(d: Doc, config: Config, result: RunResult, unit: str) -> None:
    s = result.summary
    title = para(d, config.project.name, style="Title", align="center")
    title.paragraph_format.keep_with_next = True
    para(d, f"{d.t('report')}（{d.t('period', year=s['plan_year'])}）" if d.lang == "zh"
          else f"{d.t('report')}, {d.t('period', year=s['plan_year'])}", style="Subtitle", align="center")  # fmt: skip
    if unit:
        para(d, d.t("unit", unit=unit), align="center")
    para(d, d.t("made", date=date.today().isoformat()), align="center")
    para(d, d.t("as_of", date=s["as_of"]), align="center")


def _lv(d: Doc, key: str) -> str:
    return label(key, d.lang)


def _summary_sentences(d: Doc, nums: Numbers, config: Config, result: RunResult) -> list[str]:
    """The summary, from the same values as the tables (test: each of its numbers is in some table)."""
    s = result.summary
    f = nums.facilities
    ro = f.get("red", 0) + f.get("orange", 0)
    zh = d.lang == "zh"
    per = ("、" if zh else ", ").join(
        (f"{_lv(d, k)} {f[k]} 家" if zh else f"{f[k]} {_lv(d, k).lower()}") for k in nums.levels
    )
    out = [
        f"本次共评估企业 {nums.scored} 家，其中{per}；重大和较大风险企业合计 {ro} 家，占 {nums.share(ro)}。"
        if zh
        else f"{nums.scored} enterprises were graded: {per}. Major and considerable risk together: {ro} "
        f"enterprises, {nums.share(ro)} of all."
    ]
    for kind, counts in nums.zones.items():
        total = sum(counts.values())
        name = kind_label(kind, d.lang, project_kind_labels(config))
        parts = ("、" if zh else ", ").join(
            (f"{_lv(d, k)} {counts[k]} 个" if zh else f"{counts[k]} {_lv(d, k).lower()}")
            for k in nums.levels
            if counts.get(k)
        )
        whole = area_word(config.project.name, config.project.district_code, config.project.area_word)
        out.append(f"{whole} {total} 个{name}中，{parts}。" if zh else f"Of {total} zones ({name}): {parts}.")
    top = nums.zone_table.sort_values(["n_red", "zone_code"], ascending=[False, True], kind="stable")
    top = top[top["n_red"] > 0].head(3)
    if len(top):
        kind = kind_label(nums.coarse, d.lang, project_kind_labels(config))
        names = ("、" if zh else ", ").join(
            f"{r.zone_name}（{r.n_red} 家）" if zh else f"{r.zone_name} ({r.n_red})" for r in top.itertuples()
        )
        out.append(
            f"重大风险企业最多的{kind}为{names}。"
            if zh
            else f"The {kind} with the most major-risk enterprises: {names}."
        )
    m = nums.months
    planned = int(m["planned"].sum())
    drawn = int(nums.towns["drawn"].sum())
    plan_txt = (
        f"全年计划检查 {planned} 次，其中双随机抽中企业 {drawn} 家"
        if zh
        else f"The plan has {planned} inspections in the year, {drawn} enterprises drawn by lot"
    )
    if m["capacity"].notna().any():
        cap = int(m["capacity"].fillna(0).sum())
        short = float(m["shortfall_officer_days"].fillna(0).sum())
        if short > 0:
            plan_txt += (
                f"；全年检查能力 {cap} 次，能力不足，合计缺口 {fmt(short)} 人日（见各月检查计划表）。"
                if zh
                else f"; the capacity of {cap} inspections does not cover it: a shortfall of {fmt(short)} "
                "officer-days (see the month table)."
            )
        else:
            plan_txt += (
                f"；全年检查能力 {cap} 次，能够完成计划。"
                if zh
                else f"; the capacity of {cap} covers the plan."
            )
    else:
        plan_txt += "；未设置检查能力。" if zh else "; no inspection capacity is configured."
    out.append(plan_txt)
    out.append(
        f"输入企业数据 {s['facilities_in']} 行，剔除 {s['facilities_rejected']} 行（原因见数据质量部分）。"
        if zh
        else f"{s['facilities_in']} facility rows were read and {s['facilities_rejected']} rejected (see the data "
        "quality section)."
    )
    return out


def _summary(d: Doc, nums: Numbers, config: Config, result: RunResult) -> None:
    heading(d, d.t("h_summary"))
    for sentence in _summary_sentences(d, nums, config, result):
        para(d, sentence, style="Normal")
    _levels_table(d, nums, config)


def _levels_table(d: Doc, nums: Numbers, config: Config) -> None:
    caption(d, d.next_table("t_levels"))
    kinds = list(nums.zones)
    header = [d.t("level"), d.t("enterprises"), d.t("share")]
    header += [kind_label(k, d.lang, project_kind_labels(config)) for k in kinds]
    rows: list[list[Any]] = [
        [
            _lv(d, k),
            nums.facilities[k],
            nums.share(nums.facilities[k]),
            *(nums.zones[z].get(k, 0) for z in kinds),
        ]
        for k in nums.levels
    ]
    ro = nums.facilities.get("red", 0) + nums.facilities.get("orange", 0)
    rows.append([d.t("red_orange"), ro, nums.share(ro), *(
        nums.zones[z].get("red", 0) + nums.zones[z].get("orange", 0) for z in kinds)])  # fmt: skip
    rows.append(
        [d.t("total"), nums.scored, nums.share(nums.scored), *(sum(nums.zones[z].values()) for z in kinds)]
    )
    table(d, header, rows, fills=[level_fill(k) for k in nums.levels] + [None, None], fill_col=0)


def _figure(d: Doc, figure: Path | None, config: Config, nums: Numbers) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Emu

    heading(d, d.t("h_figure"))
    if figure is not None:
        sec = d.doc.sections[-1]
        width = (sec.page_width or 0) - (sec.left_margin or 0) - (sec.right_margin or 0)
        p = d.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.add_run().add_picture(str(figure), width=Emu(int(width)))
        caption(d, d.t("fig", title=config.project.name))
    t = nums.zone_table
    kind = kind_label(nums.coarse, d.lang, project_kind_labels(config))
    caption(d, d.next_table("t_zones", kind=kind))
    header = [
        d.t("code"),
        d.t("name"),
        *(_lv(d, k) for k in LEVEL_NAMES),
        d.t("n_total"),
        d.t("rule"),
        d.t("level"),
    ]
    cols = [
        "zone_code",
        "zone_name",
        "n_red",
        "n_orange",
        "n_yellow",
        "n_blue",
        "n_facilities",
        "rule",
        "level",
    ]
    shown = t[cols].head(APPENDIX_MAX_ROWS)
    # The rule's name in the table (its parameters are long and the same for most rows), in full below it.
    rows = [[*r[:7], _rule_name(r[7]), _lv(d, r[8])] for r in shown.itertuples(index=False)]
    table(
        d, header, rows, widths=[2.6, 2.2, 1, 1, 1, 1, 1.2, 1.4, 1.6],
        fills=[level_fill(k) for k in shown["level"]], fill_col=8,
    )  # fmt: skip
    for rule in dict.fromkeys(t["rule"].astype(str)):
        para(d, f"{d.t('rule')} {_rule_name(rule)}: {rule}")
    if len(t) > APPENDIX_MAX_ROWS:
        para(d, _more_rows(d, len(t), f"zones_{nums.coarse}.csv"))


def _rule_name(rule: str) -> str:
    """``index (fixed; ...) + spillover 1000 m`` -> ``index + spillover``."""
    name = str(rule).split(":")[0].split(" (")[0].split(" + ")[0].strip()
    return name + (" + spillover" if "+ spillover" in str(rule) else "")


def _more_rows(d: Doc, n: int, where: str) -> str:
    return (
        f"共 {n} 行，上表列出前 {APPENDIX_MAX_ROWS} 行；完整清单见 {where} 和 riskmap.gpkg。"
        if d.lang == "zh"
        else f"{n} rows: the table shows the first {APPENDIX_MAX_ROWS}; the full list is in {where} and riskmap.gpkg."
    )


def _list_table(d: Doc, frame: pd.DataFrame, level: str) -> None:
    caption(d, d.next_table("t_list", level=_lv(d, level)))
    header = [
        d.t(k)
        for k in ("no", "ent_name", "credit", "town", "village", "sector", "level", "method", "reasons")
    ]
    rows = [
        [i + 1, r.name, r.facility_id, r.town, r.village, r.sector, _lv(d, r.level), r.method, r.reasons]
        for i, r in enumerate(frame.itertuples(index=False))
    ]
    table(
        d, header, rows, widths=[0.5, 2.6, 3.0, 1.3, 1.3, 1.3, 1.1, 1.5, 5.0],
        fills=[level_fill(level)] * len(rows), fill_col=6,
    )  # fmt: skip


def _lists(d: Doc, result: RunResult, nums: Numbers) -> list[tuple[str, pd.DataFrame]]:
    """The red and orange lists, in place or (when long) announced here and put in the appendix."""
    landscape(d, True)
    heading(d, d.t("h_lists"))
    to_appendix = []
    for level in ("red", "orange"):
        frame = list_frame(result, nums, level, d.lang)
        if len(frame) <= LIST_INLINE_MAX:
            _list_table(d, frame, level)
            continue
        to_appendix.append((level, frame))
        para(
            d,
            f"{_lv(d, level)}企业共 {len(frame)} 家，超过 {LIST_INLINE_MAX} 家：附录列出前 {APPENDIX_MAX_ROWS} 家，"
            "完整清单见 inspection_plan.xlsx（或 inspection_plan.csv）和 riskmap.gpkg 的 facilities 图层。"
            if d.lang == "zh"
            else f"{len(frame)} {_lv(d, level).lower()} enterprises, more than {LIST_INLINE_MAX}: the appendix lists "
            f"the first {APPENDIX_MAX_ROWS}; the full list is in inspection_plan.xlsx (or inspection_plan.csv) and "
            "the facilities layer of riskmap.gpkg.",
        )
    return to_appendix


def _changes(d: Doc, diff: RunDiff, config: Config) -> None:
    heading(d, d.t("h_changes"))
    caption(d, d.next_table("t_changes"))

    def layer_name(layer: str) -> str:
        if layer == "facilities":
            return d.t("facilities_layer")
        return kind_label(layer.removeprefix("zones_"), d.lang, project_kind_labels(config))

    keys = ("up", "down", "new", "removed", "unchanged")
    header = [d.t("layer"), d.t("up"), d.t("down"), d.t("new_"), d.t("removed_"), d.t("unchanged")]
    table(d, header, [[layer_name(layer), *(c[k] for k in keys)] for layer, c in diff.counts.items()])
    for layer, changes in diff.changes.items():
        moved = changes[changes["change"].isin(["up", "down"])]
        if moved.empty:
            continue
        caption(d, d.next_table("t_changed", layer=layer_name(layer)))
        header = [d.t(k) for k in ("change", "id", "name", "old", "new", "added", "removed")]
        rows = [
            [
                d.t(r.change),
                r.id,
                r.name,
                _lv(d, r.level_old),
                _lv(d, r.level_new),
                r.reasons_added,
                r.reasons_removed,
            ]
            for r in moved.head(APPENDIX_MAX_ROWS).itertuples(index=False)
        ]
        table(d, header, rows, widths=[0.8, 2.2, 2.4, 1.2, 1.2, 4, 4],
               fills=[level_fill(k) for k in moved["level_new"].head(APPENDIX_MAX_ROWS)], fill_col=4)  # fmt: skip
        if len(moved) > APPENDIX_MAX_ROWS:
            para(d, _more_rows(d, len(moved), "changes.csv (riskmap diff --out)"))


def _sensitivity(d: Doc, result: RunResult, config: Config, section: int) -> None:
    """How many zones and enterprises are firm, which change and under which convention."""
    sens = result.sensitivity
    t = SENSITIVITY_TEXT[d.lang]
    kind = next(iter(sens.zones))
    kind_name = kind_label(kind, d.lang, project_kind_labels(config))
    fac, zones, variants = sens.facilities, sens.zones[kind], sens.variants
    fc, zc = int((fac["changed_by"] != "").sum()), int((zones["changed_by"] != "").sum())
    heading(d, t["h"].format(n=_numeral(d, section)))
    para(d, t["firm"].format(v=len(variants), ff=len(fac) - fc, nf=len(fac), zf=len(zones) - zc, nz=len(zones),
                              kind=kind_name, fc=fc, zc=zc))  # fmt: skip
    d.table_no += 1
    caption(d, t["caption"].format(t=d.table_no))
    header = [h.format(kind=kind_name) for h in t["header"]]
    rows = [[r["variant"], r["set"], r["facilities_changed"], r[f"zones_changed_{kind}"]]
            for r in variants.to_dict("records")]  # fmt: skip
    table(d, header, rows, widths=[3, 6, 1.5, 1.5])
    moved = zones[zones["changed_by"] != ""]
    if moved.empty:
        return
    d.table_no += 1
    caption(d, t["zones_caption"].format(t=d.table_no, kind=kind_name))
    head = moved.head(APPENDIX_MAX_ROWS)
    rows = [[r.zone_name, r.zone_code, _lv(d, r.level), _lv(d, r.level_min), _lv(d, r.level_max), r.changed_by]
            for r in head.itertuples(index=False)]  # fmt: skip
    table(d, t["zones_header"], rows, widths=[2.4, 2.6, 1.2, 1.2, 1.2, 5],
           fills=[level_fill(k) for k in head["level"]], fill_col=2)  # fmt: skip
    if len(moved) > APPENDIX_MAX_ROWS:
        para(d, _more_rows(d, len(moved), f"sensitivity_zones_{kind}.csv"))


def _plan(d: Doc, nums: Numbers, config: Config, result: RunResult, section: int) -> None:
    heading(d, d.t("h_plan", n=_numeral(d, section)))
    plan = result.plan
    zh = d.lang == "zh"
    para(
        d,
        f"双随机抽查（双随机、一公开）的随机种子为 {plan.seed}（公开）：以相同的输入和配置运行 "
        f"riskmap plan 项目文件 --year {plan.year} 可复核同一抽取结果；如需重新抽取，在项目文件 "
        "[supervision.sampling] 中设置新的 seed 并公布后重新运行。"
        if zh
        else f"The random draw (random enterprises, random inspectors) uses the published seed {plan.seed}: running riskmap plan PROJECT.toml --year "
        f"{plan.year} on the same inputs and configuration gives the same draw; to draw again, set a new seed in "
        "[supervision.sampling] of the project file, publish it and run again.",
    )
    m = nums.months
    caption(d, d.next_table("t_months"))
    header = [d.t("month"), *(_lv(d, k) for k in nums.levels), d.t("planned"), d.t("capacity"), d.t("scheduled"),
              d.t("shortfall")]  # fmt: skip
    rows: list[list[Any]] = []
    for month, r in m.iterrows():
        rows.append([d.t("month_n", m=month), *(int(r[k]) for k in nums.levels), int(r["planned"]),
                     *(fmt(r[c]) for c in ("capacity", "scheduled", "shortfall_officer_days"))])  # fmt: skip
    has_cap = m["capacity"].notna().any()
    totals = [int(m["capacity"].fillna(0).sum()), int(m["scheduled"].fillna(0).sum()),
              fmt(float(m["shortfall_officer_days"].fillna(0).sum()))] if has_cap else ["", "", ""]  # fmt: skip
    rows.append([d.t("total"), *(int(m[k].sum()) for k in nums.levels), int(m["planned"].sum()), *totals])
    table(d, header, rows)
    kind = kind_label(nums.coarse, d.lang, project_kind_labels(config))
    caption(d, d.next_table("t_towns", kind=kind))
    t = nums.towns
    header = [d.t("code"), d.t("name"), d.t("enterprises"), d.t("inspections"), d.t("drawn"), d.t("patrols")]
    rows = [[code, r["name"], int(r["enterprises"]), int(r["inspections"]), int(r["drawn"]), fmt(r["patrols"])]
            for code, r in t.head(APPENDIX_MAX_ROWS).iterrows()]  # fmt: skip
    rows.append([d.t("total"), "", int(t["enterprises"].sum()), int(t["inspections"].sum()), int(t["drawn"].sum()),
                 fmt(float(t["patrols"].sum()))])  # fmt: skip
    table(d, header, rows, widths=[2.4, 2.2, 1.4, 1.4, 1.6, 1.6])
    if len(t) > APPENDIX_MAX_ROWS:
        para(d, _more_rows(d, len(t), "inspection_plan.csv"))


def _numeral(d: Doc, n: int) -> str:
    return d.t("numerals")[n - 1] if d.lang == "zh" else str(n)


def _quality(d: Doc, config: Config, result: RunResult, provenance: dict[str, Any], section: int) -> None:
    s = result.summary
    heading(d, d.t("h_quality", n=_numeral(d, section)))
    caption(d, d.next_table("t_quality"))
    adj = s.get("adjustment") or {"up": 0, "down": 0}
    rows = [
        [d.t("rows_in"), s["facilities_in"]],
        [d.t("scored"), s["facilities_scored"]],
        # rows in = graded + not assessed + rejected; the grey row only when there are any.
        *([[d.t("unassessed"), s["facilities_unassessed"]]] if s["facilities_unassessed"] else []),
        [d.t("rejected"), s["facilities_rejected"]],
        [d.t("adj_up"), adj["up"]],
        [d.t("adj_down"), adj["down"]],
        [d.t("incomplete"), s.get("facilities_with_rejected_records", 0)],
    ]
    table(d, [d.t("item"), d.t("value")], rows, widths=[3, 1])
    rej = in_language(result.rejects, REJECT_REASON, d.lang)  # the reasons in the report's language
    if len(rej):
        top = (
            rej.groupby(["source", "field", "reason"], dropna=False)
            .size()
            .sort_values(ascending=False, kind="stable")
        )
        caption(d, d.next_table("t_rejects", k=min(10, len(top))))
        table(d, [d.t("source"), d.t("field"), d.t("reason"), d.t("rows")],
               [[*k, int(v)] for k, v in top.head(10).items()], widths=[1.6, 1.2, 5, 0.8])  # fmt: skip
    inputs = provenance.get("inputs", {})
    if inputs:
        caption(d, d.next_table("t_inputs"))
        table(d, [d.t("input"), d.t("path"), "SHA-256"],
               [[k, v.get("path", ""), v.get("sha256", "")] for k, v in inputs.items()], widths=[1.4, 2, 4.6])  # fmt: skip
    sup = config.supervision
    para(
        d,
        f"riskmap {provenance.get('riskmap_version', '')}；配置哈希 {provenance.get('config_hash', '')}；"
        f"区域定级规则 {json.dumps(result.summary.get('zoning_rule'), ensure_ascii=False)}。"
        if d.lang == "zh"
        else f"riskmap {provenance.get('riskmap_version', '')}; config hash {provenance.get('config_hash', '')}; "
        f"zone rule {json.dumps(result.summary.get('zoning_rule'), ensure_ascii=False)}.",
    )
    caption(d, d.next_table("t_rules"))
    freq = sup.frequencies()
    rates = {str(k): v for k, v in sup.sampling.rates.items()}
    patrols = {str(k): v for k, v in sup.zone_patrols.items()}
    rows = [[_lv(d, k), fmt(freq.get(k, 0.0)), f"{rates.get(k, 0.0):.0%}", fmt(patrols.get(k, 0.0))]
            for k in LEVEL_NAMES]  # fmt: skip
    table(d, [d.t("level"), d.t("per_year"), d.t("rate"), d.t("patrols")], rows)
    sectors = config.scoring.sectors
    if sectors:
        caption(d, d.next_table("t_sectors"))
        table(
            d, [d.t("sector"), d.t("methods")], [[k, ", ".join(v)] for k, v in sectors.items()], widths=[1, 2]
        )


def _appendix(d: Doc, lists: list[tuple[str, pd.DataFrame]]) -> None:
    if not lists:
        return
    landscape(d, True)
    heading(d, d.t("h_appendix"))
    for level, frame in lists:
        _list_table(d, frame.head(APPENDIX_MAX_ROWS), level)
        para(d, _more_rows(d, len(frame), "inspection_plan.xlsx"))


def write_report(
    result: RunResult,
    path: str | Path,
    *,
    config: Config,
    provenance: dict[str, Any],
    figure: Path | None = None,
    changes: RunDiff | None = None,
    lang: str = "zh",
    template: Path | None = None,
) -> Path:
    """Write the district report (report.docx).

    Parameters
    ----------
    result
        What the run produced (facilities, zones, plan, rejects, summary).
    path
        The .docx to write.
    config
        The project's config: title, unit, fonts, supervision and scoring conventions.
    provenance
        run.json's provenance (riskmap version, config hash, inputs with their SHA-256).
    figure
        The four-colour figure (a PNG, as map.png), or ``None`` to leave it out.
    changes
        What changed since a previous run (:func:`riskmap.compare.compare_runs`), or ``None``.
    lang
        ``zh`` or ``en``: labels, sentences and reasons (enterprise and zone names stay as they are).
    template
        An office's .docx: its styles, header and footer (红头) and body text, placeholders ``{{title}}``,
        ``{{unit}}``, ``{{date}}``, ``{{as_of}}``, ``{{period}}`` filled; default ``styles/report-template.docx``.

    Returns
    -------
    Path
        ``path``.
    """
    s = result.summary
    unit = config.outputs.report_unit
    values = {"title": config.project.name, "unit": unit, "date": date.today().isoformat(),
              "as_of": str(s["as_of"]), "period": str(s["plan_year"])}  # fmt: skip
    d = open_document(template, config, lang, values)
    nums = report_numbers(result, lang)
    _title(d, config, result, unit)
    _summary(d, nums, config, result)
    _figure(d, figure, config, nums)
    appendix = _lists(d, result, nums)
    section = 4
    if changes is not None:
        _changes(d, changes, config)
        section = 5
    if result.sensitivity is not None:  # [outputs] sensitivity = true
        _sensitivity(d, result, config, section)
        section += 1
    landscape(d, False)
    _plan(d, nums, config, result, section)
    _quality(d, config, result, provenance, section + 1)
    _appendix(d, appendix)
    return save(d, Path(path))
