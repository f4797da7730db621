"""Sector names as registers write them (riskmap/sectors.py, styles/sector_aliases.toml, [scoring] sector_aliases).

The tiny district (tests/conftest.py) configures 危险化学品, 燃气, 工贸, 建筑施工 and 人员密集场所.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from conftest import IDS

import riskmap
from riskmap.config import with_overrides
from riskmap.errors import ConfigError
from riskmap.sectors import SectorNames, shipped_spellings
from riskmap.vocabulary import sector_key


def _sectors(project: Path, **by_key: str) -> None:
    path = project.parent / "facilities.csv"
    fac = pd.read_csv(path, dtype=str, keep_default_na=False)
    fac["sector"] = fac["facility_id"].map({IDS[k]: v for k, v in by_key.items()}).fillna(fac["sector"])
    fac.to_csv(path, index=False)


def _add_to_scoring(project: Path, lines: str) -> None:
    text = project.read_text(encoding="utf-8")
    project.write_text(text.replace("[scoring.sectors]", f"[scoring]\n{lines}\n\n[scoring.sectors]"), "utf-8")


def _levels(result: riskmap.RunResult) -> pd.DataFrame:
    return result.facilities.set_index("facility_id")[["sector", "level"]].sort_index()


def test_every_shipped_spelling_names_one_sector():
    keys = [sector_key(s) for name, spellings in shipped_spellings().items() for s in (name, *spellings)]
    twice = [k for k, n in Counter(keys).items() if n > 1]
    assert not twice, twice
    assert "氨水" not in keys and "化工" not in keys and "加气站" not in keys  # not the same sector


@pytest.mark.parametrize(
    ("written", "sector"),
    [
        ("危化品", "危险化学品"),
        ("危险化学品经营企业", "危险化学品"),
        (" 危险化学品 ", "危险化学品"),
        ("危险 化学品", "危险化学品"),
        ("工贸企业", "工贸"),
        ("加油加气站", "加油站"),
        ("城镇燃气", "燃气"),
        ("烟花爆竹批发", "烟花爆竹"),
        ("非煤矿山企业", "非煤矿山"),
        ("涉氨", "涉氨制冷"),
        ("有限空间作业", "有限空间"),
        ("ＬＰＧ站", "LPG站"),  # full-width, case
        ("lpg站", "LPG站"),
    ],
)
def test_spellings_read_as_the_configured_sector(written: str, sector: str):
    names = SectorNames(
        ["危险化学品", "工贸", "加油站", "燃气", "烟花爆竹", "非煤矿山", "涉氨制冷", "有限空间", "LPG站"]
    )
    assert names.resolve(written) == sector


def test_either_way_to_whichever_is_configured():
    assert SectorNames(["粉尘涉爆"]).resolve("涉爆粉尘") == "粉尘涉爆"
    assert SectorNames(["涉爆粉尘"]).resolve("粉尘涉爆") == "涉爆粉尘"
    assert SectorNames(["涉爆粉尘"]).resolve("粉尘涉爆企业") == "涉爆粉尘"


def test_only_to_a_configured_sector_and_never_ambiguous():
    assert SectorNames(["工贸"]).resolve("危化品") is None
    # Two spellings of one line configured as sectors of their own: each is itself; the others are ambiguous.
    names = SectorNames(["危险化学品生产企业", "危险化学品经营企业"])
    assert names.resolve("危险化学品经营企业") == "危险化学品经营企业"
    assert names.resolve("危化品") is None
    assert names.suggest("危化品") == ["危险化学品生产企业", "危险化学品经营企业"]
    # The line's own name wins when it is configured.
    assert SectorNames(["危险化学品", "危险化学品经营企业"]).resolve("危险化学品生产企业") == "危险化学品"


def test_project_aliases_win_over_the_shipped_lines():
    names = SectorNames(["工贸", "危险化学品"], {"机械加工": "工贸", "危化": "工贸"})
    assert names.resolve("机械加工") == "工贸" and names.resolve(" 危化 ") == "工贸"
    assert names.resolve("危化品") == "危险化学品"


def test_register_spellings_grade_as_their_sectors(tiny_project: Path):
    baseline = _levels(riskmap.check(riskmap.load_config(tiny_project)))
    _sectors(tiny_project, A="危化品", B="城镇燃气 ", C="工贸企业", F="机械加工")
    _add_to_scoring(tiny_project, 'sector_aliases = { "机械加工" = "工贸" }')
    result = riskmap.check(riskmap.load_config(tiny_project))
    assert result.rejects.empty, result.rejects["reason"].tolist()
    pd.testing.assert_frame_equal(_levels(result), baseline)  # the configured names, the same levels


def test_unknown_sectors_are_listed_once_with_counts_and_a_suggestion(tiny_project: Path):
    _sectors(tiny_project, A="危险化学品单位（小微）", C="养殖业", D="养殖业", F="养殖业")
    result = riskmap.check(riskmap.load_config(tiny_project))
    said = [w for w in result.warnings if "不在 [scoring.sectors] 中" in w]
    assert len(said) == 1, result.warnings
    assert said[0].startswith(
        "facilities.csv：2 个行业既不在 [scoring.sectors] 中，也不是其中某个行业的已知写法"
    )
    assert "养殖业（共 3 行）" in said[0], said[0]
    assert "危险化学品单位(小微)（共 1 行；是否为 危险化学品？）" in said[0], said[0]
    assert "sector_aliases" in said[0] and "被剔除" in said[0]
    english = riskmap.check(with_overrides(riskmap.load_config(tiny_project), {"project.lang": "en"}))
    said = [w for w in english.warnings if "not in [scoring.sectors]" in w]
    assert said[0].startswith("facilities.csv: 2 sectors are not in [scoring.sectors] nor a known spelling")
    assert "危险化学品单位(小微) (1 row; did you mean 危险化学品?)" in said[0], said[0]
    rejected = result.rejects.set_index("record_id")
    assert set(rejected.index) == {IDS[k] for k in "ACDF"}
    assert "did you mean 危险化学品?" in rejected.loc[IDS["A"], "reason"]
    assert rejected.loc[IDS["C"], "reason"].startswith(
        "no grading method for this sector: '养殖业' is not in"
    )


def test_grey_keeps_a_sector_without_methods_as_not_assessed(tiny_project: Path):
    _sectors(tiny_project, C="养殖业", D="建筑施工企业")
    _add_to_scoring(tiny_project, 'unassessed = "grey"')
    result = riskmap.check(riskmap.load_config(tiny_project))
    s = result.summary
    counts = ("facilities_in", "facilities_scored", "facilities_unassessed", "facilities_rejected")
    assert tuple(s[k] for k in counts) == (6, 5, 1, 0)  # C is on the map, grey: not scored, not rejected
    fac = result.facilities.set_index("facility_id")
    assert fac.loc[IDS["C"], "level"] == "none" and fac.loc[IDS["C"], "sector"] == "养殖业"
    assert (
        fac.loc[IDS["C"], "reasons"]
        == "未评估, 无分级数据: 行业“养殖业”不在 [scoring.sectors] 中, 无评估方法"
    )
    assert "sector '养殖业' is not in [scoring.sectors]" in fac.loc[IDS["C"], "reasons_en"]
    assert fac.loc[IDS["D"], ["sector", "level"]].tolist() == ["建筑施工", "orange"]
    assert any("养殖业（共 1 行）" in w and "保留为未评估" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("aliases", "says"),
    [
        (
            '{ "机械加工" = "工贸企业" }',
            r"sector_aliases\['机械加工'\]: '工贸企业' is not in \[scoring\.sectors\]; did ",
        ),
        ('{ "工贸" = "燃气" }', r"'工贸' is itself a sector of \[scoring\.sectors\]"),
    ],
)
def test_an_alias_names_a_configured_sector(tiny_project: Path, aliases: str, says: str):
    _add_to_scoring(tiny_project, f"sector_aliases = {aliases}")
    with pytest.raises(ConfigError, match=says):
        riskmap.load_config(tiny_project)
