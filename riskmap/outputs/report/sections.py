"""The district report (report.docx, 一图一表), section by section, and :func:`write_report` that puts them in order.

A report writer hands the document in as it is: title, a summary in sentences, the four-colour figure with the
zone table and the zone rules in sentences, what changed since the previous run, the inspection plan and the data
quality with the methods, adjustment and supervision rules in sentences; the long tables (the major/considerable-
risk lists, every rejected row, the detail of changes) are collected for the annex
(:mod:`riskmap.outputs.report.annex`), which stands in landscape after a section break. Every number in the
summary comes from the same values as a table of the document (:mod:`riskmap.outputs.report.numbers`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from riskmap.columns import REJECT_REASON
from riskmap.frames import in_language
from riskmap.levels import LEVEL_NAMES, label
from riskmap.outputs.report.annex import Annex, AnnexTable, list_tables, rejects_table, write_annex_docx
from riskmap.outputs.report.numbers import Numbers, report_numbers
from riskmap.outputs.report.text import INPUT_NAMES, NUMERALS, SENSITIVITY_TEXT, fmt
from riskmap.outputs.report.wordml import (
    Doc,
    caption,
    heading,
    level_fill,
    open_document,
    para,
    save,
    table,
)
from riskmap.outputs.rules import (
    adjustment_sentences,
    scoring_sentences,
    supervision_sentences,
    zone_rule_name,
    zoning_sentences,
)
from riskmap.zone_kinds import area_word, kind_label, project_kind_labels

if TYPE_CHECKING:
    from riskmap.compare import RunDiff
    from riskmap.config import Config
    from riskmap.results import RunResult

__all__ = ["write_report", "BODY_MAX_ROWS"]

#: At most this many rows of a table of the body (zones, the plan per town); a sentence says where the rest are.
BODY_MAX_ROWS = 2000


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


def _summary(d: Doc, nums: Numbers, config: Config, result: RunResult, annex: Annex) -> None:
    heading(d, d.t("h_summary"))
    for sentence in _summary_sentences(d, nums, config, result):
        para(d, sentence, style="Normal")
    para(d, d.t("see_lists", where=annex.where(1, 2)), style="Normal")
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
    shown = t[cols].head(BODY_MAX_ROWS)
    # The rule's short name in the table (就高, 风险指数; ＋外溢 where a neighbour's major hazard raised the zone),
    # the rules of every layer in sentences below it.
    rule = config.zoning.for_layer(nums.coarse).rule
    rows = [[*r[:7], zone_rule_name(rule, d.lang, "+ spillover" in str(r[7])), _lv(d, r[8])]
            for r in shown.itertuples(index=False)]  # fmt: skip
    table(
        d, header, rows, widths=[2.6, 2.2, 1, 1, 1, 1, 1.2, 1.6, 1.6],
        fills=[level_fill(k) for k in shown["level"]], fill_col=8,
    )  # fmt: skip
    if len(t) > BODY_MAX_ROWS:
        para(d, _more_rows(d, len(t), f"zones_{nums.coarse}.csv"))
    para(d, d.t("zone_rules"), bold=True)
    for sentence in zoning_sentences(config, list(nums.zones), d.lang):
        para(d, sentence)


#: At most this many decisions in the body; more go to the annex (a committee decides a handful a year).
DECISIONS_IN_BODY = 20
_DECISION_KEYS = ("target", "name", "computed", "decided", "decision_reason", "decided_by", "decided_on")
_DECISION_WIDTHS = [2.6, 2.4, 1.2, 1.2, 4.0, 1.8, 1.4]


def _decisions(d: Doc, result: RunResult, annex: Annex) -> None:
    """The committee's decisions: a sentence, then the table here when short, else in the annex."""
    t = result.decisions
    if t is None or t.empty:
        return
    para(d, d.t("decisions_intro", n=len(t)))
    header = [d.t(k) for k in _DECISION_KEYS]
    rows = [[r.target, r.name, _lv(d, r.level_computed), _lv(d, r.level), r.decision_reason, r.decided_by,
             r.decided_on] for r in t.itertuples(index=False)]  # fmt: skip
    levels = list(t["level"])
    if len(rows) <= DECISIONS_IN_BODY:
        caption(d, d.next_table("t_decisions"))
        table(d, header, rows, widths=_DECISION_WIDTHS, fills=[level_fill(k) for k in levels], fill_col=3)
        return
    annex.tables.append(
        AnnexTable(
            annex.add("annex_decisions"),
            "t_decisions",
            {},
            d.t("sheet_decisions"),
            header,
            rows,
            _DECISION_WIDTHS,
            levels,
            3,
            "riskmap.gpkg",
        )  # fmt: skip
    )
    para(d, d.t("see_decisions", where=annex.where(len(annex.tables))))


def _more_rows(d: Doc, n: int, where: str) -> str:
    return (
        f"共 {n} 行，上表列出前 {BODY_MAX_ROWS} 行；完整清单见 {where} 和 riskmap.gpkg。"
        if d.lang == "zh"
        else f"{n} rows: the table shows the first {BODY_MAX_ROWS}; the full list is in {where} and riskmap.gpkg."
    )


def _layer_name(d: Doc, layer: str, config: Config) -> str:
    if layer == "facilities":
        return d.t("facilities_layer")
    return kind_label(layer.removeprefix("zones_"), d.lang, project_kind_labels(config))


def _changed_rows(d: Doc, moved: pd.DataFrame) -> list[list[Any]]:
    return [
        [d.t(r.change) + (f" ({r.decision})" if r.decision else ""), r.id, r.name, _lv(d, r.level_old),
         _lv(d, r.level_new), r.reasons_added, r.reasons_removed]
        for r in moved.itertuples(index=False)
    ]  # fmt: skip


_CHANGED_WIDTHS = [0.8, 2.2, 2.4, 1.2, 1.2, 4, 4]


def _changes(d: Doc, diff: RunDiff, config: Config, coarse: str, annex: Annex) -> None:
    """The counts up and down and the coarse layer's changes here; enterprises' and finer zones' in the annex."""
    heading(d, d.t("h_changes"))
    caption(d, d.next_table("t_changes"))
    keys = ("up", "down", "new", "removed", "unchanged")
    header = [d.t("layer"), d.t("up"), d.t("down"), d.t("new_"), d.t("removed_"), d.t("unchanged")]
    table(
        d,
        header,
        [[_layer_name(d, layer, config), *(c[k] for k in keys)] for layer, c in diff.counts.items()],
    )
    header = [d.t(k) for k in ("change", "id", "name", "old", "new", "added", "removed")]
    first = len(annex.tables) + 1
    for layer, changes in diff.changes.items():
        moved = changes[changes["change"].isin(["up", "down"])]
        if moved.empty:
            continue
        name = _layer_name(d, layer, config)
        if layer == f"zones_{coarse}":
            caption(d, d.next_table("t_changed", layer=name))
            head = moved.head(BODY_MAX_ROWS)
            table(d, header, _changed_rows(d, head), widths=_CHANGED_WIDTHS,
                  fills=[level_fill(k) for k in head["level_new"]], fill_col=4)  # fmt: skip
            if len(moved) > BODY_MAX_ROWS:
                para(d, _more_rows(d, len(moved), "changes.csv (riskmap diff --out)"))
            continue
        annex.tables.append(
            AnnexTable(
                annex.add("annex_changes", layer=name),
                "t_changed",
                {"layer": name},
                d.t("sheet_changes", layer=name),
                header,
                _changed_rows(d, moved),
                _CHANGED_WIDTHS,
                list(moved["level_new"]),
                4,
                "changes.csv (riskmap diff --out)",
            )  # fmt: skip
        )
    if len(annex.tables) >= first:
        para(d, d.t("see_changes", where=annex.where(first, len(annex.tables))))


def _sensitivity(d: Doc, result: RunResult, config: Config, section: int, annex: Annex) -> None:
    """How many zones and enterprises are firm, which change and under which convention (those in the annex)."""
    sens = result.sensitivity
    t = SENSITIVITY_TEXT[d.lang]
    kind = next(iter(sens.zones))
    kind_name = kind_label(kind, d.lang, project_kind_labels(config))
    fac, zones, variants = sens.facilities, sens.zones[kind], sens.variants
    fc, zc = int((fac["changed_by"] != "").sum()), int((zones["changed_by"] != "").sum())
    # Decided levels are the committee's, not the conventions': apart from the firm ones.
    df_, dz = (int(x["decided"].sum()) if "decided" in x else 0 for x in (fac, zones))
    heading(d, t["h"].format(n=_numeral(d, section)))
    para(d, t["firm"].format(v=len(variants), ff=len(fac) - fc - df_, nf=len(fac) - df_, zf=len(zones) - zc - dz,
                              nz=len(zones) - dz, kind=kind_name, fc=fc, zc=zc))  # fmt: skip
    if df_ or dz:
        para(d, t["decided"].format(df=df_, dz=dz, kind=kind_name))
    d.table_no += 1
    caption(d, t["caption"].format(t=d.table_no))
    header = [h.format(kind=kind_name) for h in t["header"]]
    rows = [[r["variant"], r["set"], r["facilities_changed"], r[f"zones_changed_{kind}"]]
            for r in variants.to_dict("records")]  # fmt: skip
    table(d, header, rows, widths=[3, 6, 1.5, 1.5])
    moved = zones[zones["changed_by"] != ""]
    if moved.empty:
        return
    rows = [[r.zone_name, r.zone_code, _lv(d, r.level), _lv(d, r.level_min), _lv(d, r.level_max), r.changed_by]
            for r in moved.itertuples(index=False)]  # fmt: skip
    annex.tables.append(
        AnnexTable(
            annex.add("annex_sensitivity", kind=kind_name),
            "t_sens_zones",
            {"kind": kind_name},
            d.t("sheet_sensitivity", kind=kind_name),
            list(t["zones_header"]),
            rows,
            [2.4, 2.6, 1.2, 1.2, 1.2, 5],
            list(moved["level"]),
            2,
            f"sensitivity_zones_{kind}.csv",
        )  # fmt: skip
    )
    para(d, d.t("see_sensitivity", kind=kind_name, where=annex.where(len(annex.tables))))


def _plan(d: Doc, nums: Numbers, config: Config, result: RunResult, section: int) -> None:
    heading(d, d.t("h_plan", n=_numeral(d, section)))
    plan = result.plan
    zh = d.lang == "zh"
    para(
        d,
        f"双随机抽查（双随机、一公开）的随机种子为 {plan.seed}（公开）：以相同的输入和配置运行 "
        f"riskmap plan 项目文件 --year {plan.year} 可复核同一抽取结果；如需重新抽取，在项目文件中设置新的 "
        "[supervision.sampling] seed 并公布后重新运行。"
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
            for code, r in t.head(BODY_MAX_ROWS).iterrows()]  # fmt: skip
    rows.append([d.t("total"), "", int(t["enterprises"].sum()), int(t["inspections"].sum()), int(t["drawn"].sum()),
                 fmt(float(t["patrols"].sum()))])  # fmt: skip
    table(d, header, rows, widths=[2.4, 2.2, 1.4, 1.4, 1.6, 1.6])
    if len(t) > BODY_MAX_ROWS:
        para(d, _more_rows(d, len(t), "inspection_plan.csv"))


def _numeral(d: Doc, n: int) -> str:
    return NUMERALS[n - 1] if d.lang == "zh" else str(n)


def _input_name(d: Doc, config: Config, key: str) -> str:
    """An input as its reader knows it (企业名录), its section of the project file beside it (facilities)."""
    names = INPUT_NAMES[d.lang]
    if key.startswith("zones_"):
        kind = kind_label(key.removeprefix("zones_"), d.lang, project_kind_labels(config))
        name = names["zones"].format(kind=kind)
    else:
        name = names.get(key, "")
    if not name:
        return key
    return f"{name}（{key}）" if d.lang == "zh" else f"{name} ({key})"


def _quality(
    d: Doc, config: Config, result: RunResult, provenance: dict[str, Any], section: int, annex: Annex
) -> None:
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
    _rejects_summary(d, result, annex)
    inputs = provenance.get("inputs", {})
    if inputs:
        caption(d, d.next_table("t_inputs"))
        table(d, [d.t("input"), d.t("path"), "SHA-256"],
               [[_input_name(d, config, k), v.get("path", ""), v.get("sha256", "")] for k, v in inputs.items()],
               widths=[1.4, 2, 4.6])  # fmt: skip
    para(
        d,
        d.t(
            "provenance",
            version=provenance.get("riskmap_version", ""),
            hash=provenance.get("config_hash", ""),
        ),
    )
    grey = config.scoring.unassessed == "grey"
    for key, sentences in (
        ("h_scoring", scoring_sentences(config, d.lang)),
        ("h_adjustment", adjustment_sentences(config.adjustment, d.lang, str(s["as_of"]))),
        ("h_supervision", supervision_sentences(config.supervision, d.lang, grey)),
    ):
        heading(d, d.t(key), level=2)
        for sentence in sentences:
            para(d, sentence)


def _rejects_summary(d: Doc, result: RunResult, annex: Annex) -> None:
    """The ten commonest reasons here; every rejected row in the annex."""
    rej = in_language(result.rejects, REJECT_REASON, d.lang)  # the reasons in the report's language
    if not len(rej):
        return
    top = (
        rej.groupby(["source", "field", "reason"], dropna=False)
        .size()
        .sort_values(ascending=False, kind="stable")
    )
    caption(d, d.next_table("t_rejects", k=min(10, len(top))))
    table(d, [d.t("source"), d.t("field"), d.t("reason"), d.t("rows")],
           [[*k, int(v)] for k, v in top.head(10).items()], widths=[1.6, 1.2, 5, 0.8])  # fmt: skip
    number = next((i for i, t in enumerate(annex.tables, start=1) if t.caption_key == "t_rejects_all"), None)
    if number is not None:
        para(d, d.t("see_rejects", where=annex.where(number)))


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
    annex_mode: str = "docx",
) -> Annex:
    """Write the district report (report.docx); return its annex (written into it unless ``annex_mode`` is xlsx).

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

    annex_mode
        ``docx``: the annex (附件: the red and orange lists, every rejected row, long detail tables) after a
        section break of the same document; ``xlsx``: left out, for :func:`~riskmap.outputs.report.annex.
        write_annex_xlsx` to write as report-annex.xlsx.

    Returns
    -------
    Annex
        The annex's tables (written into ``path`` with ``annex_mode="docx"``).
    """
    s = result.summary
    unit = config.outputs.report_unit
    values = {"title": config.project.name, "unit": unit, "date": date.today().isoformat(),
              "as_of": str(s["as_of"]), "period": str(s["plan_year"])}  # fmt: skip
    d = open_document(template, config, lang, values)
    nums = report_numbers(result, lang)
    annex = Annex(lang, mode=annex_mode)
    list_tables(annex, result, nums)  # 附件1, 附件2: the red and orange lists
    if len(result.rejects):
        rejects_table(annex, result)  # 附件3: every rejected row
    _title(d, config, result, unit)
    _summary(d, nums, config, result, annex)
    _figure(d, figure, config, nums)
    _decisions(d, result, annex)
    section = 3
    if changes is not None:
        _changes(d, changes, config, nums.coarse, annex)
        section = 4
    if result.sensitivity is not None:  # [outputs] sensitivity = true
        _sensitivity(d, result, config, section, annex)
        section += 1
    _plan(d, nums, config, result, section)
    _quality(d, config, result, provenance, section + 1, annex)
    if annex_mode == "docx":
        write_annex_docx(d, annex)
    save(d, Path(path))
    return annex
