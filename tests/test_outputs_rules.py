"""The project's rules in words (issue 26): every zoning, adjustment, scoring and supervision setting a sentence.

Each kind of rule of the project file is described in the run's language, never as a repr or JSON, with numbers as
a reader writes them; Chinese sentences hold no English word but technical identifiers (standard numbers, method
abbreviations, the project's own column and indicator names), English ones no Chinese but the project's data.
"""

from __future__ import annotations

import re

import pytest

import riskmap
from riskmap.config import Config, load_config, with_overrides
from riskmap.outputs import rules

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
#: Decimals written with trailing zeros (0.6000, 1000.0) or in exponent form (1e+03).
PADDED = re.compile(r"\d\.\d*0(?!\d)|\de[+-]\d")
#: Latin words a Chinese sentence may hold: standard and method abbreviations, and the formulas' letters.
IDENTIFIERS = {"GB", "LEC", "R", "L", "S", "D", "E", "C", "P"}

#: Every rule kind the project file knows, spread over two projects (the demo's, and this one).
OTHER_RULES = {
    "zoning.rule": "thresholds",
    "zoning.thresholds": {
        "red": [{"n_red": 1}, {"n_orange": 3, "n_facilities": 10}],
        "orange": [{"n_orange": 1}],
        "yellow": [{"n_yellow": 2}],
    },
    "zoning.empty_level": "none",
    "zoning.by_layer.town.index.classify": "NaturalBreaks",
    "zoning.by_layer.town.index.weights": {"hazard": 5, "exposure": 3, "vulnerability": 2},
    "scoring.unassessed": "grey",
    "scoring.default": ["baseline", "lec"],
    "methods.lec.boundary": "upper",
    "methods.lec.aggregate": "count",
    "methods.lec.count_thresholds": {"red": 2, "orange": 1},
    "methods.ls_matrix.matrix": [["blue"] * 5] * 4 + [["red"] * 5],
    "methods.baseline.levels": {"工贸": "blue", "危险化学品": "orange"},
    "methods.baseline.rules": [
        {"when": {"column": "涉爆粉尘", "equals": "是"}, "level": "orange"},
        {"when": {"column": "有限空间", "in": ["是", "有"]}, "level": "yellow", "sectors": ["工贸"]},
        {"when": {"column": "从业人数", "at_least": 100.5}, "level": "yellow"},
        {"when": {"column": "储量", "at_most": 0.25}, "level": "blue"},
    ],
    "adjustment.rules": [
        {"when": {"condition": "open_hidden_danger", "grade": "重大", "min_count": 2}, "raise_to": "red"},
        {"when": {"condition": "open_hidden_danger"}, "raise_by": 1},
        {"when": {"condition": "overdue_hidden_danger", "min_days": 30}, "raise_by": 2, "ceiling": "orange"},
        {"when": {"condition": "accident", "classes": ["较大"], "within_months": 24}, "raise_to": "orange"},
        {"when": {"condition": "standardisation", "grades": ["一级"]}, "lower_to": "yellow"},
        {"when": {"condition": "standardisation"}, "lower_by": 1, "sectors": ["工贸"]},
    ],
    "supervision.frequency_by_sector": {"危险化学品": {"red": 6, "orange": 3, "yellow": 1, "blue": 0.5}},
    "supervision.caps_by_level": {"red": 12},
    "supervision.sampling.rates": {"blue": 0.125, "yellow": 0.05},
    "supervision.capacity": {"officers": 8, "field_share": 0.35, "inspector_days_per_inspection": 0.5},
    "population": None,
    "sensitive_sites": None,
}


@pytest.fixture(scope="module")
def projects() -> list[Config]:
    demo = load_config(riskmap.demo_dir() / "riskmap.toml")
    return [demo, with_overrides(demo, OTHER_RULES, "the test")]


def _sentences(config: Config, lang: str) -> list[str]:
    return [
        *rules.zoning_sentences(config, ["village", "town"], lang),
        *rules.adjustment_sentences(config.adjustment, lang, "2026-11-24"),
        *rules.scoring_sentences(config, lang),
        *rules.supervision_sentences(config.supervision, lang, config.scoring.unassessed == "grey"),
    ]


def _data(config: Config) -> list[str]:
    """The project's own words: sectors, columns, indicator names (they stay as written in every language)."""
    words = set(config.scoring.sectors) | set(config.methods.indicator.indicators)
    words |= set(config.methods.baseline.levels)
    for r in config.methods.baseline.rules:
        words |= {r.when.column, r.when.equals or "", *(r.when.in_ or [])}
    return sorted((w for w in words if w), key=len, reverse=True)


def test_the_issues_example_sentence():
    demo = load_config(riskmap.demo_dir() / "riskmap.toml")
    town = rules.zoning_sentences(demo, ["town"], "zh")
    assert town[0] == (
        "乡镇/街道按风险指数（0～1）定级：指数≥0.6为重大风险，≥0.4为较大风险，≥0.2为一般风险，低于0.2为低风险；"
        "危险性权重0.5，暴露权重0.3，脆弱性权重0.2。"
    )
    assert rules.zoning_sentences(demo, ["town"], "en")[0] == (
        "Town: graded by a risk index from 0 to 1: index ≥ 0.6 is major risk, ≥ 0.4 is considerable risk, ≥ 0.2 "
        "is general risk, below 0.2 low risk; the index weights hazard 0.5, exposure 0.3 and vulnerability 0.2."
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_rule_kind_is_a_sentence_in_the_runs_language(projects: list[Config], lang: str):
    for config in projects:
        sentences = _sentences(config, lang)
        assert len(sentences) >= 15
        for s in sentences:
            assert "{" not in s and "}" not in s and "[" not in s, s  # no template, repr or JSON
            assert not PADDED.search(s), s
            bare = s
            for word in _data(config):
                bare = bare.replace(word, "")
            if lang == "zh":
                english = set(re.findall(r"[A-Za-z_]+", bare)) - IDENTIFIERS
                assert not english and CJK.search(bare), s
            else:
                assert not CJK.search(bare.replace("–", "")), s


def test_the_sentences_say_what_each_setting_is(projects: list[Config]):
    zh = "\n".join(_sentences(projects[1], "zh"))
    for said in (
        "村/社区按企业数量定级：重大风险企业1家及以上或较大风险企业3家及以上且企业10家及以上的为重大风险",
        "一般风险企业2家及以上的为一般风险",
        "没有企业的村/社区为未评估。",
        "企业均未评估的村/社区为未评估（灰色）。",
        "指数按自然断点法分为四级",
        "危险性权重0.5，暴露权重0.3，脆弱性权重0.2",  # 5:3:2 as the weights act
        "未提供人口栅格",
        "D>320为重大风险，>160为较大风险，>70为一般风险，不超过70为低风险",
        "重大风险2个、较大风险1个",
        "5×5等级矩阵",
        "其他行业：按企业台账固有风险等级、作业条件危险性评价法（LEC）定级。",
        "涉爆粉尘为是的至少为较大风险",
        "有限空间为是或有的至少为一般风险（适用行业：工贸）",
        "从业人数不小于100.5的至少为一般风险",
        "储量不大于0.25的至少为低风险",
        "有2项及以上未销号的重大事故隐患的企业，等级至少升至重大风险",
        "（2）有1项及以上未销号的事故隐患的企业，等级上调1级。",
        "超过整改期限30天及以上仍未销号的企业，等级上调2级，最高至较大风险",
        "近24个月内发生1起及以上较大事故的企业，等级至少升至较大风险",
        "等级至多降至一般风险",
        "（6）工贸行业中取得安全生产标准化一级、二级或三级且在有效期内的企业，等级下调1级。",
        "危险化学品行业企业监督检查频次：重大风险企业每年6次，较大风险企业每年3次，一般风险企业每年1次，"
        "低风险企业每年0.5次。",
        "未评估企业每年1次",
        "检查次数上限：重大风险企业每年至多12次。",
        "每年随机抽取低风险企业的12.5%、一般风险企业的5%",
        "执法人员8名，年工作日248天，其中35%用于现场检查，每次检查需0.5人日",
    ):
        assert said in zh, said
    demo = "\n".join(_sentences(projects[0], "zh"))
    assert "相邻区域一级或二级重大危险源1000米范围内的村/社区至少为较大风险。" in demo
    assert "村/社区按就高原则定级" in demo


def test_numbers_as_a_reader_writes_them():
    assert [rules.number(v) for v in (0.6, 0.6000, 1000.0, 1e6, 2 / 3, 12, -0.5)] == [
        "0.6", "0.6", "1000", "1000000", "0.666667", "12", "-0.5"
    ]  # fmt: skip
    assert rules.percent(0.125) == "12.5%"


def test_zone_rule_and_method_names_for_tables():
    assert rules.zone_rule_name("index", "zh", spillover=True) == "风险指数＋外溢"
    assert rules.zone_rule_name("max", "en") == "highest level"
    assert rules.method_label("ls_matrix", "zh") == "风险矩阵"
    assert rules.method_label("gb18218+ls_matrix", "en") == "major hazard (GB 18218)+risk matrix"
