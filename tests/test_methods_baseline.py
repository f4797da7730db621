"""The baseline method (固有风险等级): sector levels raised by register rules, and its place among the methods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmap.config import BaselineParams, config_from_dict
from riskmap.errors import ConfigError, InputError
from riskmap.methods import METHODS, ScoringInputs, baseline, score_facilities

PARAMS = BaselineParams(
    levels={"工贸": "blue", "危险化学品": "orange"},
    rules=[
        {"when": {"column": "涉爆粉尘", "equals": "是"}, "level": "orange"},
        {"when": {"column": "从业人数", "at_least": 100}, "level": "yellow"},
        {"when": {"column": "行业类别", "in": ["金属冶炼", "涉氨制冷"]}, "level": "red", "sectors": ["工贸"]},
    ],
)


def _register(**columns: list[object]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {"facility_id": [f"F{i}" for i in range(n)], "sector": ["工贸"] * n}
    return pd.DataFrame(base | columns)


def test_sector_level_raised_by_each_rule_that_holds():
    fac = _register(
        sector=["工贸", "工贸", "工贸", "危险化学品", "工贸", "商贸"],
        涉爆粉尘=["否", " 是 ", None, "否", "否", "否"],
        从业人数=["12", "1，200", "150", "", "abc", "99"],
        行业类别=["", "", "", "金属冶炼", "涉氨制冷", ""],
    )
    res = baseline.grade_facilities(fac, PARAMS).results
    # blue; orange (dust beats ≥100 yellow); yellow; orange (the red rule is for 工贸 only); red; no level.
    assert res["rank"].tolist() == [1, 3, 2, 3, 4, 0]
    assert res.loc["F0", "reason_zh"] == "固有风险: 行业 工贸 → 低风险"
    assert res.loc["F1", "reason_zh"] == (
        "固有风险: 行业 工贸 → 低风险, 涉爆粉尘 = 是 → 较大风险, 从业人数 ≥ 100 → 一般风险"
    )
    assert (
        res.loc["F1", "reason_en"]
        == "baseline: sector 工贸 → blue, 涉爆粉尘 = 是 → orange, 从业人数 ≥ 100 → yellow"
    )
    assert res.loc["F4", "reason_en"].endswith("行业类别 ∈ {金属冶炼, 涉氨制冷} → red")
    assert res.loc["F5", "rank"] == 0 and "商贸" in res.loc["F5", "reason_en"]
    assert res["score"].isna().all()


def test_equals_is_literal_after_trimming_and_full_width():
    fac = _register(涉爆粉尘=["Y", "是", "Ｙ", "y", "是否"])
    params = BaselineParams(rules=[{"when": {"column": "涉爆粉尘", "equals": "Y"}, "level": "red"}])
    assert baseline.grade_facilities(fac, params).results["rank"].tolist() == [4, 0, 4, 0, 0]


def test_at_most():
    fac = _register(从业人数=["5", "10", "11", ""])
    params = BaselineParams(rules=[{"when": {"column": "从业人数", "at_most": 10}, "level": "yellow"}])
    assert baseline.grade_facilities(fac, params).results["rank"].tolist() == [2, 2, 0, 0]


def test_a_rule_on_a_missing_column_is_an_input_error_naming_it():
    fac = _register(涉爆粉尘=["是"])
    params = BaselineParams(rules=[{"when": {"column": "涉爆粉", "equals": "是"}, "level": "red"}])
    with pytest.raises(
        InputError,
        match=r"facilities\.csv：没有 methods\.baseline\.rules\[0\]\.when\.column 所需的“涉爆粉”列；是否为“涉爆粉尘”？",
    ):
        baseline.grade_facilities(fac, params, source="facilities.csv")


def test_reasons_are_written_per_combination_not_per_row():
    n = 200_000
    rng = np.random.default_rng(0)
    fac = _register(
        涉爆粉尘=rng.choice(["是", "否"], n).tolist(), 从业人数=rng.integers(0, 300, n).astype(str).tolist()
    )
    res = baseline.grade_facilities(fac, PARAMS.model_copy(update={"rules": PARAMS.rules[:2]})).results
    assert len(res) == n and res["reason_zh"].nunique() == 4
    dust = (fac["涉爆粉尘"] == "是").to_numpy()
    big = fac["从业人数"].astype(int).to_numpy() >= 100
    assert (res["rank"].to_numpy() == np.where(dust, 3, np.where(big, 2, 1))).all()


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ({"column": "x"}, "须且只须给出 equals、in、at_least、at_most 之一（现为 无）"),
        ({"column": "x", "equals": "是", "at_least": 1}, r"（现为 equals, at_least）"),
        ({"column": "x", "equal": "是"}, "equal"),
    ],
)
def test_bad_rule_is_a_config_error(when, message):
    data = _config({"methods": {"baseline": {"rules": [{"when": when, "level": "red"}]}}})
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)


def test_unknown_sector_in_levels_suggests_the_closest():
    data = _config({"methods": {"baseline": {"levels": {"工贸企业": "blue"}}}})
    with pytest.raises(
        ConfigError,
        match=r"methods.baseline.levels：行业 '工贸企业' 不在 \[scoring.sectors\] 中；是否想写 '工贸'",
    ):
        config_from_dict(data)


def _config(extra: dict) -> dict:
    return {
        "facilities": {"path": "f.csv", "crs": "EPSG:4490"},
        "risk_points": {"path": "rp.csv"},
        "zones": [{"kind": "village", "path": "z.gpkg"}],
        "scoring": {"sectors": {"工贸": ["baseline", "ls_matrix"], "非煤矿山": ["lec"]}},
    } | extra


def test_baseline_with_ls_matrix_the_highest_wins():
    config = config_from_dict(
        _config({"methods": {"baseline": {"levels": {"工贸": "yellow"}, "rules": PARAMS.rules[:1]}}})
    )
    fac = _register(涉爆粉尘=["否", "否", "是", "否"])
    points = pd.DataFrame(
        {
            "facility_id": ["F0", "F1", "F2"],
            "point_name": ["冲压", "配电", "粉尘"],
            "likelihood": ["5", "1", "1"],
            "severity": ["5", "1", "1"],
        }
    )
    scored, rejects = score_facilities(ScoringInputs(fac, {"risk_points": points}), config)
    s = scored.set_index("facility_id")
    # LS red beats baseline yellow; baseline yellow beats LS blue; the dust rule's orange beats LS blue;
    # without risk points the baseline alone grades.
    assert s["level"].tolist() == ["red", "yellow", "orange", "yellow"]
    assert s["method"].tolist() == ["ls_matrix", "baseline", "baseline", "baseline"]
    assert (
        s.loc["F0", "reasons"].startswith("LS: 最高风险点")
        and "固有风险: 行业 工贸 → 一般风险" in s.loc["F0", "reasons"]
    )
    assert "LS: 无风险点记录" in s.loc["F3", "reasons"]
    assert rejects.empty


def test_baseline_is_a_method_without_a_table():
    assert METHODS["baseline"].table is None


def test_init_project_shows_a_working_baseline_and_unassessed_example(tmp_path):
    """The commented example in the project file `riskmap init` writes runs once uncommented."""
    import re

    from typer.testing import CliRunner

    import riskmap
    from riskmap.cli import app

    r = CliRunner().invoke(app, ["init", str(tmp_path / "proj")])
    assert r.exit_code == 0, r.output
    path = tmp_path / "proj" / "riskmap.toml"
    text = path.read_text(encoding="utf-8")
    assert "# [methods.baseline]" in text and '# unassessed = "grey"' in text and "固有风险等级" in text
    keys = r"\[scoring\]|unassessed|\[methods\.baseline\]|levels|\[\[methods\.baseline\.rules\]\]|when|level"
    text = re.sub(rf"^# ({keys})", r"\1", text, flags=re.MULTILINE)
    text = text.replace('"工贸" = ["ls_matrix"]', '"工贸" = ["baseline", "ls_matrix"]')
    path.write_text(text, encoding="utf-8")
    # As written, the second rule reads a column of the user's register that the demo does not have.
    with pytest.raises(
        InputError, match=r"没有 methods\.baseline\.rules\[1\]\.when\.column 所需的“涉爆粉尘”列"
    ):
        riskmap.check(riskmap.load_config(path))
    path.write_text(
        text.split("[[methods.baseline.rules]]     # 涉爆粉尘")[0] + text.split('level = "orange"\n', 1)[1]
    )
    config = riskmap.load_config(path)
    assert config.scoring.unassessed == "grey" and len(config.methods.baseline.rules) == 1
    fac = riskmap.check(config).facilities
    trade = fac[fac["sector"] == "工贸"]
    assert trade["reasons"].str.contains("固有风险: 行业 工贸 → 低风险").all()
    assert trade["reasons"].str.contains("employees ≥ 100 → 一般风险").any()
