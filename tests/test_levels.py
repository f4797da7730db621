from __future__ import annotations

import pandas as pd
import pytest

from riskmap import levels
from riskmap.levels import Level


def test_order_and_labels():
    assert sorted(Level, reverse=True) == [Level.RED, Level.ORANGE, Level.YELLOW, Level.BLUE]
    assert [lvl.zh for lvl in sorted(Level, reverse=True)] == ["重大风险", "较大风险", "一般风险", "低风险"]
    assert levels.LEVEL_NAMES == ("red", "orange", "yellow", "blue")


def test_low_risk_is_blue_not_green():
    assert levels.color("blue").upper() == "#0070C0"
    assert set(levels.palette()) == {"red", "orange", "yellow", "blue", "none"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("红", Level.RED),
        ("较大风险", Level.ORANGE),
        ("YELLOW", Level.YELLOW),
        ("低", Level.BLUE),
        (4, Level.RED),
    ],
)
def test_parse(text, expected):
    assert Level.parse(text) is expected


def test_parse_rejects_green():
    with pytest.raises(ValueError, match=r"not a risk level"):
        Level.parse("green")


def test_rank_roundtrip_and_max():
    s = pd.Series(["blue", "red", None, "none"])
    ranks = levels.level_rank(s)
    assert ranks.tolist() == [1, 4, 0, 0]
    assert levels.level_from_rank(ranks).tolist() == ["blue", "red", "none", "none"]
    assert levels.max_level(pd.Series(["blue", "orange"])) == "orange"
    assert levels.max_level(pd.Series([], dtype=object)) == "none"
