"""The project's rules in words: zoning, adjustment, scoring and supervision settings as sentences a reader reads.

What the report (and any output that explains a level) says about how levels were made, in the run's language,
through the message catalog (:mod:`riskmap.i18n`): never a repr or JSON of the config. Numbers are written as a
reader writes them (:func:`number`: 0.6, not 0.6000; 1000, not 1e+03).

>>> from riskmap.config.zoning import ZoningConfig
>>> zone_rule_sentences(ZoningConfig(rule="index"), "乡镇/街道", "zh")[0]
'乡镇/街道按风险指数（0～1）定级：指数≥0.6为重大风险，≥0.4为较大风险，≥0.2为一般风险，低于0.2为低风险；危险性权重0.5，暴露权重0.3，脆弱性权重0.2。'
>>> number(0.6000), number(1000.0), number(2 / 3), percent(0.1)
('0.6', '1000', '0.666667', '10%')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from riskmap.i18n import N_, tr
from riskmap.levels import label
from riskmap.vocabulary import GRADE_NAMES_ZH, HIDDEN_DANGER_GRADE_EN
from riskmap.zone_kinds import kind_label, project_kind_labels
from riskmap.zoning import SCHEME_NAMES

if TYPE_CHECKING:
    from riskmap.config import Config
    from riskmap.config.adjustment import AdjustmentConfig, AdjustmentRule
    from riskmap.config.scoring import BaselineCondition, MethodParams, PointAggregation
    from riskmap.config.supervision import SupervisionConfig
    from riskmap.config.zoning import ZoningConfig

__all__ = [
    "number",
    "percent",
    "zone_rule_name",
    "zone_rule_sentences",
    "zoning_sentences",
    "adjustment_sentences",
    "method_name",
    "method_label",
    "scoring_sentences",
    "supervision_sentences",
]

#: How a list and its last item are joined in each language (a word, not a sentence: no catalog entry).
_JOIN = {
    "zh": {"list": "、", "clause": "，", "or": "或", "and": "且"},
    "en": {"list": ", ", "clause": ", ", "or": " or ", "and": " and "},
}

#: The grading methods by name, as a reader knows them.
METHOD_NAMES: dict[str, str] = {
    "gb18218": N_("major hazard identification and grading (GB 18218-2018)"),
    "chem2018": N_("the 2018 hazardous-chemical enterprise guide (100-point deduction)"),
    "lec": N_("the LEC method (D = L × E × C)"),
    "ls_matrix": N_("the risk matrix (R = L × S)"),
    "indicator": N_("weighted indicators"),
    "baseline": N_("the inherent level from the register"),
}
#: The grading methods by a short name, for a table's column.
METHOD_LABELS: dict[str, str] = {
    "gb18218": N_("major hazard (GB 18218)"),
    "chem2018": N_("chemical enterprise guide (2018)"),
    "lec": N_("LEC method"),
    "ls_matrix": N_("risk matrix"),
    "indicator": N_("indicators"),
    "baseline": N_("register baseline"),
}
#: Accident classes (the config's Chinese terms) in English; the Chinese is the term itself.
_ACCIDENT_CLASS_WORDS: dict[str, str] = {
    "特别重大": N_("especially major"),
    "重大": N_("major"),
    "较大": N_("larger"),
    "一般": N_("general"),
}
_STANDARDISATION_WORDS: dict[str, str] = {"一级": N_("grade 1"), "二级": N_("grade 2"), "三级": N_("grade 3")}
_COUNT_KEYS = {"n_red": "red", "n_orange": "orange", "n_yellow": "yellow", "n_blue": "blue"}


def number(v: float) -> str:
    """``v`` as a reader writes it: no trailing zeros, no exponent, at most six decimals."""
    x = round(float(v), 6)
    if x == int(x):
        return str(int(x))
    return f"{x:.6f}".rstrip("0").rstrip(".")


def percent(share: float) -> str:
    """A share (0.1) as a percentage (``10%``)."""
    return number(100 * share) + "%"


def _lv(key: str, lang: str) -> str:
    """A level's name inside a sentence (lower case in English)."""
    return label(key, lang) if lang == "zh" else label(key, "en").lower()


def _join(items: Iterable[str], lang: str, how: str = "list") -> str:
    return _JOIN[lang][how].join(items)


def _or(items: Sequence[str], lang: str) -> str:
    """``a、b或c`` / ``a, b or c``."""
    if len(items) <= 1:
        return "".join(items)
    return _join(items[:-1], lang) + _JOIN[lang]["or"] + items[-1]


# ------------------------------------------------------------------------------------------------ zoning


def zone_rule_name(rule: str, lang: str, spillover: bool = False) -> str:
    """A zone rule's short name (``max``, ``thresholds``, ``index``) for a table column: 就高, 数量阈值, 风险指数.

    ``spillover``: the zone was raised by a neighbour's major hazard (就高＋外溢).
    """
    names = {"max": N_("highest level"), "thresholds": N_("counts"), "index": N_("risk index")}
    name = tr(names[rule], lang=lang) if rule in names else rule
    return tr("{rule} + spillover", lang=lang, rule=name) if spillover else name


def _clause(clause: Mapping[Any, int], lang: str) -> str:
    parts = []
    for key, n in clause.items():
        if key == "n_facilities":
            parts.append(tr("at least {n} enterprises", lang=lang, n=n))
        else:
            parts.append(
                tr("at least {n} {level} enterprises", lang=lang, n=n, level=_lv(_COUNT_KEYS[key], lang))
            )
    return _JOIN[lang]["and"].join(parts)


def _thresholds_sentence(zoning: ZoningConfig, kind: str, lang: str) -> str:
    bands = []
    for level in ("red", "orange", "yellow"):
        clauses = zoning.thresholds.get(level, [])
        if clauses:
            held = _or([_clause(c, lang) for c in clauses], lang)
            bands.append(tr("{clauses} make it {level}", lang=lang, clauses=held, level=_lv(level, lang)))
    return tr(
        "{kind}: graded by counts of enterprises: {bands}; other zones with enterprises are {lowest}.",
        lang=lang, kind=kind, bands=_join(bands, lang, "clause"), lowest=_lv("blue", lang),
    )  # fmt: skip


def _index_sentences(config: Config | None, zoning: ZoningConfig, kind: str, lang: str) -> list[str]:
    ix = zoning.index
    total = sum(ix.weights.values()) or 1.0
    w = {k: number(ix.weights.get(k, 0.0) / total) for k in ("hazard", "exposure", "vulnerability")}
    if ix.classify == "fixed":
        b = ix.breaks
        bands = _join(
            [tr("index ≥ {bound} is {level}", lang=lang, bound=number(b["red"]), level=_lv("red", lang))]
            + [tr("≥ {bound} is {level}", lang=lang, bound=number(b[k]), level=_lv(k, lang)) for k in ("orange", "yellow")],
            lang, "clause",
        )  # fmt: skip
        first = tr(
            "{kind}: graded by a risk index from 0 to 1: {bands}, below {yellow} {lowest}; the index weights "
            "hazard {hazard}, exposure {exposure} and vulnerability {vulnerability}.",
            lang=lang, kind=kind, bands=bands, yellow=number(b["yellow"]), lowest=_lv("blue", lang), **w,
        )  # fmt: skip
    else:
        scheme = SCHEME_NAMES.get(ix.classify)
        first = tr(
            "{kind}: graded by a risk index from 0 to 1 in four classes by {scheme} (the bounds follow from "
            "the index of the zones); the index weights hazard {hazard}, exposure {exposure} and vulnerability "
            "{vulnerability}.",
            lang=lang, kind=kind, scheme=tr(scheme, lang=lang) if scheme else ix.classify, **w,
        )  # fmt: skip
    counts = _join(
        [tr("{level} {weight}", lang=lang, level=_lv(k, lang), weight=number(v)) for k, v in ix.hazard_weights.items()],
        lang,
    )  # fmt: skip
    parts = tr(
        "Hazard is the weighted count of enterprises ({weights}); exposure is the resident population; "
        "vulnerability is the number of schools, hospitals and other sensitive sites within {distance} m of a "
        "{red} or {orange} enterprise; each part is scaled to 0–1 over the zones ({kind}).",
        lang=lang, weights=counts, distance=number(ix.vulnerability_distance_m), red=_lv("red", lang),
        orange=_lv("orange", lang), kind=kind,
    )  # fmt: skip
    out = [first, parts]
    if config is not None and config.population is None and ix.weights.get("exposure"):
        out.append(tr("No population raster is configured: exposure is 0 for every zone.", lang=lang))
    if config is not None and config.sensitive_sites is None and ix.weights.get("vulnerability"):
        out.append(tr("No sensitive sites are configured: vulnerability is 0 for every zone.", lang=lang))
    return out


def zone_rule_sentences(
    zoning: ZoningConfig, kind: str, lang: str, config: Config | None = None, unassessed: bool = False
) -> list[str]:
    """How the zones of one layer (``kind``: its label, e.g. 乡镇/街道) get their level, in sentences."""
    if zoning.rule == "max":
        out = [tr("{kind}: a zone takes the highest level of its enterprises.", lang=lang, kind=kind)]
    elif zoning.rule == "thresholds":
        out = [_thresholds_sentence(zoning, kind, lang)]
    else:
        out = _index_sentences(config, zoning, kind, lang)
    sp = zoning.spillover
    if sp is not None:
        grades = _or([GRADE_NAMES_ZH[g] if lang == "zh" else str(g) for g in sorted(sp.grades)], lang)
        out.append(
            tr(
                "{kind}: a zone within {distance} m of a grade {grades} major hazard of a neighbouring zone is at "
                "least {level}.",
                lang=lang,
                kind=kind,
                distance=number(sp.distance_m),
                grades=grades,
                level=_lv(sp.min_level, lang),
            )  # fmt: skip
        )
    out.append(
        tr(
            "{kind}: a zone without enterprises is {level}.",
            lang=lang,
            kind=kind,
            level=_lv(zoning.empty_level, lang),
        )
    )
    if unassessed:
        out.append(
            tr(
                "{kind}: a zone whose enterprises are all not assessed is {level} (grey).",
                lang=lang,
                kind=kind,
                level=_lv("none", lang),
            )  # fmt: skip
        )
    return out


def zoning_sentences(config: Config, kinds: Iterable[str], lang: str) -> list[str]:
    """The zone rule of every layer (``kinds``, finest first) of the project, in sentences."""
    labels = project_kind_labels(config)
    grey = config.scoring.unassessed == "grey"
    out: list[str] = []
    for kind in kinds:
        out += zone_rule_sentences(
            config.zoning.for_layer(kind), kind_label(kind, lang, labels), lang, config, grey
        )
    return out


# -------------------------------------------------------------------------------------------- adjustment


def _grade_word(grade: str, lang: str) -> str:
    return grade if lang == "zh" else HIDDEN_DANGER_GRADE_EN.get(grade, grade)


def _condition(rule: AdjustmentRule, lang: str) -> str:
    c = rule.when
    n = getattr(c, "min_count", 1)
    if c.condition == "open_major_hidden_danger":
        return tr("{n} or more open major hidden dangers", lang=lang, n=n)
    if c.condition == "open_hidden_danger":
        if c.grade == "any":
            return tr("{n} or more open hidden dangers", lang=lang, n=n)
        return tr("{n} or more open {grade} hidden dangers", lang=lang, n=n, grade=_grade_word(c.grade, lang))
    if c.condition == "overdue_hidden_danger":
        days = c.min_days
        if c.grade == "any":
            return tr(
                "{n} or more hidden dangers open {days} or more days past their deadline",
                lang=lang,
                n=n,
                days=days,
            )
        return tr(
            "{n} or more {grade} hidden dangers open {days} or more days past their deadline",
            lang=lang, n=n, days=days, grade=_grade_word(c.grade, lang),
        )  # fmt: skip
    if c.condition == "accident":
        classes = _or(
            [c if lang == "zh" else tr(_ACCIDENT_CLASS_WORDS[c], lang=lang) for c in c.classes], lang
        )
        text = tr(
            "{n} or more {classes} accidents within {months} months",
            lang=lang, n=n, classes=classes, months=c.within_months,
        )  # fmt: skip
        if c.min_deaths:
            text = tr(
                "{accidents} (each with {deaths} or more deaths)",
                lang=lang,
                accidents=text,
                deaths=c.min_deaths,
            )
        return text
    grades = _or([g if lang == "zh" else tr(_STANDARDISATION_WORDS[g], lang=lang) for g in c.grades], lang)
    return tr("a valid safety standardisation {grades}", lang=lang, grades=grades)


def _effect(rule: AdjustmentRule, lang: str) -> str:
    effect, value = rule.effect
    if effect == "raise_to":
        return tr("raised to at least {level}", lang=lang, level=_lv(str(value), lang))
    if effect == "lower_to":
        return tr("lowered to at most {level}", lang=lang, level=_lv(str(value), lang))
    if effect == "raise_by":
        if rule.ceiling is not None:
            return tr(
                "raised by {n} level(s), at most to {level}",
                lang=lang,
                n=value,
                level=_lv(rule.ceiling, lang),
            )
        return tr("raised by {n} level(s)", lang=lang, n=value)
    if rule.floor is not None:
        return tr(
            "lowered by {n} level(s), not below {level}", lang=lang, n=value, level=_lv(rule.floor, lang)
        )
    return tr("lowered by {n} level(s)", lang=lang, n=value)


def adjustment_sentences(adjustment: AdjustmentConfig, lang: str, as_of: str | None = None) -> list[str]:
    """The dynamic-adjustment rules (numbered, in the project's order) and how they combine, in sentences."""
    if not adjustment.rules:
        return [tr("No dynamic adjustment rules are configured.", lang=lang)]
    when = as_of or (adjustment.as_of.isoformat() if adjustment.as_of else "")
    out = [
        tr(
            "Dynamic adjustment as of {date}: lowering rules apply first, then raising rules; within each group "
            "the strongest wins.",
            lang=lang,
            date=when,
        )  # fmt: skip
    ]
    for i, rule in enumerate(adjustment.rules, start=1):
        cond, effect = _condition(rule, lang), _effect(rule, lang)
        if rule.sectors:
            out.append(
                tr(
                    "({i}) An enterprise of {sectors} with {condition} is {effect}.",
                    lang=lang,
                    i=i,
                    sectors=_join(rule.sectors, lang),
                    condition=cond,
                    effect=effect,
                )  # fmt: skip
            )
        else:
            out.append(
                tr(
                    "({i}) An enterprise with {condition} is {effect}.",
                    lang=lang,
                    i=i,
                    condition=cond,
                    effect=effect,
                )
            )
    return out


# ----------------------------------------------------------------------------------------------- scoring


def method_name(name: str, lang: str) -> str:
    """A grading method by the name a reader knows it by (the config's name when riskmap does not know it)."""
    return tr(METHOD_NAMES[name], lang=lang) if name in METHOD_NAMES else name


def method_label(name: str, lang: str) -> str:
    """A grading method's short name for a table (several, joined by ``+``, each named)."""
    names = [n.strip() for n in str(name).replace(",", "+").split("+") if n.strip()]
    return "+".join(tr(METHOD_LABELS[n], lang=lang) if n in METHOD_LABELS else n for n in names)


def _bands_down(
    bounds: Mapping[Any, float], order: Sequence[str], lowest: str, lang: str, op: str = "≥"
) -> str:
    """``≥320为重大风险，≥160为较大风险，≥70为一般风险，低于70为低风险`` (bounds from the highest level down)."""
    parts = [
        tr("{op} {bound} is {level}", lang=lang, op=op, bound=number(bounds[k]), level=_lv(k, lang))
        for k in order
    ]
    if op == "≥":
        last = tr(
            "below {bound} is {level}", lang=lang, bound=number(bounds[order[-1]]), level=_lv(lowest, lang)
        )
    else:
        last = tr(
            "up to {bound} is {level}", lang=lang, bound=number(bounds[order[-1]]), level=_lv(lowest, lang)
        )
    return _join([*parts, last], lang, "clause")


def _aggregation(params: PointAggregation, lang: str) -> str:
    if getattr(params, "aggregate", "worst") == "worst":
        return tr("an enterprise takes the level of its worst risk point", lang=lang)
    counts = _join(
        [tr("{level} {n}", lang=lang, level=_lv(k, lang), n=n) for k, n in params.count_thresholds.items()],
        lang,
    )
    return tr(
        "an enterprise is at a level when enough of its risk points are at that level or above ({counts})",
        lang=lang, counts=counts,
    )  # fmt: skip


def _test(c: BaselineCondition, lang: str) -> str:
    if c.equals is not None:
        return tr("{column} is {value}", lang=lang, column=c.column, value=c.equals)
    if c.in_ is not None:
        return tr("{column} is {values}", lang=lang, column=c.column, values=_or(c.in_, lang))
    if c.at_least is not None:
        return tr("{column} ≥ {value}", lang=lang, column=c.column, value=number(c.at_least))
    return tr("{column} ≤ {value}", lang=lang, column=c.column, value=number(c.at_most or 0))


def _method_sentence(name: str, m: MethodParams, lang: str) -> str | None:
    if name == "gb18218":
        levels = {f"l{g}": _lv(m.gb18218.grade_levels[g], lang) for g in ("1", "2", "3", "4")}
        return tr(
            "Major hazards: grade 1 is {l1}, grade 2 {l2}, grade 3 {l3}, grade 4 {l4}; α follows from the persons "
            "within {buffer} m.",
            lang=lang, buffer=number(m.gb18218.buffer_m), **levels,
        )  # fmt: skip
    if name == "chem2018":
        bands = _bands_down(m.chem2018.bands, ("blue", "yellow", "orange"), "red", lang)
        return tr("2018 guide, score out of 100: {bands}.", lang=lang, bands=bands)
    if name == "lec":
        op = "≥" if m.lec.boundary == "lower" else ">"
        bands = _bands_down(m.lec.thresholds, ("red", "orange", "yellow"), "blue", lang, op)
        return tr(
            "LEC: D {bands}; {aggregation}.", lang=lang, bands=bands, aggregation=_aggregation(m.lec, lang)
        )
    if name == "ls_matrix":
        return _ls_sentence(m, lang)
    if name == "indicator":
        return _indicator_sentence(m, lang)
    if name == "baseline":
        return _baseline_sentence(m, lang)
    return None


def _ls_sentence(m: MethodParams, lang: str) -> str:
    from riskmap.config.scoring import LS_PRESETS

    ls = m.ls_matrix
    if ls.matrix is not None:
        return tr(
            "Risk matrix: the 5 × 5 matrix of levels of the project file; {aggregation}.",
            lang=lang, aggregation=_aggregation(ls, lang),
        )  # fmt: skip
    bands = _join(
        [tr("{low}–{high} is {level}", lang=lang, low=lo, high=hi, level=_lv(k, lang)) for k, (lo, hi) in LS_PRESETS[ls.preset].items()],
        lang, "clause",
    )  # fmt: skip
    return tr(
        "Risk matrix R = L × S: {bands}; {aggregation}.",
        lang=lang,
        bands=bands,
        aggregation=_aggregation(ls, lang),
    )


def _indicator_sentence(m: MethodParams, lang: str) -> str:
    ind = m.indicator
    total = sum(i.weight for i in ind.indicators.values()) or 1.0
    weights = _join(
        [tr("{name} {weight}", lang=lang, name=name, weight=number(i.weight / total)) for name, i in ind.indicators.items()],
        lang,
    )  # fmt: skip
    bands = _bands_down(ind.breaks, ("red", "orange", "yellow"), "blue", lang)
    return tr(
        "Weighted indicators ({weights}), an index from 0 to 100: {bands}.",
        lang=lang,
        weights=weights or "-",
        bands=bands,
    )


def _baseline_sentence(m: MethodParams, lang: str) -> str:
    b = m.baseline
    levels = _join(
        [tr("{sector} {level}", lang=lang, sector=s, level=_lv(k, lang)) for s, k in b.levels.items()], lang
    )
    rules = []
    for r in b.rules:
        text = tr("{test}: at least {level}", lang=lang, test=_test(r.when, lang), level=_lv(r.level, lang))
        if r.sectors:
            text = tr("{rule} (sectors {sectors})", lang=lang, rule=text, sectors=_join(r.sectors, lang))
        rules.append(text)
    return tr(
        "Inherent level from the register: {levels}; {rules}.",
        lang=lang, levels=levels or "-", rules=_join(rules, lang, "clause") or "-",
    )  # fmt: skip


def scoring_sentences(config: Config, lang: str) -> list[str]:
    """Which methods grade which sector, and each method's settings, in sentences."""
    sc = config.scoring
    out = []
    for sector, methods in sc.sectors.items():
        names = _join([method_name(m, lang) for m in methods], lang)
        if len(methods) > 1:
            out.append(
                tr(
                    "{sector}: graded by {methods}; the highest level counts.",
                    lang=lang,
                    sector=sector,
                    methods=names,
                )
            )
        else:
            out.append(tr("{sector}: graded by {methods}.", lang=lang, sector=sector, methods=names))
    if sc.default:
        out.append(
            tr(
                "Other sectors: graded by {methods}.",
                lang=lang,
                methods=_join([method_name(m, lang) for m in sc.default], lang),
            )
        )
    else:
        out.append(
            tr("Enterprises of other sectors are not graded: they are rejected with the reason.", lang=lang)
        )
    if sc.unassessed == "grey":
        out.append(
            tr(
                "An enterprise its methods cannot grade stays on the map as not assessed (grey) and is visited to be "
                "assessed.",
                lang=lang,
            )
        )
    used = dict.fromkeys([m for ms in sc.sectors.values() for m in ms] + list(sc.default or []))
    for name in used:
        sentence = _method_sentence(name, config.methods, lang)
        if sentence is not None:
            out.append(sentence)
    return out


# ------------------------------------------------------------------------------------------- supervision


def _per_level(values: Mapping[Any, float], lang: str, message: str, zero: str | None = None) -> str:
    order = ("red", "orange", "yellow", "blue", "none")
    parts = []
    for key in sorted(values, key=lambda k: order.index(k) if k in order else len(order)):
        v = values[key]
        if not v and zero is not None:
            parts.append(tr(zero, lang=lang, level=_lv(key, lang)))
        else:
            parts.append(tr(message, lang=lang, level=_lv(key, lang), n=number(v)))
    return _join(parts, lang, "clause")


def _caps_sentences(sup: SupervisionConfig, lang: str) -> list[str]:
    out = []
    if sup.caps_by_level:
        caps = _per_level(sup.caps_by_level, lang, N_("{level} enterprises at most {n} a year"))
        out.append(tr("Inspection caps: {caps}.", lang=lang, caps=caps))
    for i, cap in enumerate(sup.caps):
        grades = _join(
            [
                tr("{grade} at most {n}", lang=lang, grade=tr("without a grade", lang=lang) if g == "none"
                   else (g if lang == "zh" else tr(_STANDARDISATION_WORDS[g], lang=lang)), n=number(n))
                for g, n in cap.by_grade.items()
            ],
            lang, "clause",
        )  # fmt: skip
        if cap.sectors:
            who = _join(cap.sectors, lang)
        else:
            who = tr("other sectors", lang=lang) if i else tr("all sectors", lang=lang)
        out.append(
            tr(
                "Inspections a year of {sectors} by standardisation grade: {grades}.",
                lang=lang,
                sectors=who,
                grades=grades,
            )
        )
    return out


def supervision_sentences(sup: SupervisionConfig, lang: str, unassessed: bool = False) -> list[str]:
    """Inspection frequencies, random draws, caps, patrols and capacity, in sentences."""
    freq = {str(k): v for k, v in sup.frequency.items() if unassessed or k != "none"}
    if unassessed:
        freq = {**{"none": sup.frequencies()["none"]}, **freq}
    parts = _per_level(freq, lang, N_("{level} {n} a year"), N_("{level} no fixed inspections"))
    out = [tr("Inspections of each enterprise: {parts}.", lang=lang, parts=parts)]
    rates = {str(k): v for k, v in sup.sampling.rates.items() if v}
    if rates:
        draws = _join(
            [tr("{rate} of {level} enterprises", lang=lang, rate=percent(v), level=_lv(k, lang)) for k, v in rates.items()],
            lang,
        )  # fmt: skip
        out.append(tr("Drawn by lot each year (double random): {draws}.", lang=lang, draws=draws))
    for sector, table in sup.frequency_by_sector.items():
        parts = _per_level({str(k): v for k, v in table.items()}, lang, N_("{level} {n} a year"))
        out.append(
            tr("Inspections of each {sector} enterprise: {parts}.", lang=lang, sector=sector, parts=parts)
        )
    out += _caps_sentences(sup, lang)
    patrols = _per_level(
        {str(k): v for k, v in sup.zone_patrols.items()},
        lang,
        N_("{level} zones {n} a year"),
        N_("{level} zones no patrols"),
    )
    out.append(tr("Zone patrols: {parts}.", lang=lang, parts=patrols))
    cap = sup.capacity
    if cap is not None:
        out.append(
            tr(
                "Capacity: {officers} officers, {days} working days a year, {share} of them in the field, "
                "{per} officer-day(s) an inspection.",
                lang=lang,
                officers=cap.officers,
                days=cap.working_days,
                share=percent(cap.field_share),
                per=number(cap.inspector_days_per_inspection),
            )  # fmt: skip
        )
    if sup.roster is not None:
        out.append(
            tr(
                "Each drawn enterprise gets {n} inspectors drawn from the roster.",
                lang=lang,
                n=sup.inspectors_per_inspection,
            )  # fmt: skip
        )
    return out
