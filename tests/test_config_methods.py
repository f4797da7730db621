"""Method names in the project file: a Literal (an enum in the JSON Schema) with a did-you-mean message."""

from __future__ import annotations

import pytest

from riskmap.config import config_from_dict, json_schema
from riskmap.errors import ConfigError
from riskmap.methods import METHODS

MINIMAL = {"facilities": {"path": "f.csv"}, "zones": [{"kind": "village", "path": "v.gpkg"}]}


def test_schema_lists_the_method_names():
    scoring = json_schema()["$defs"]["ScoringConfig"]["properties"]
    assert scoring["sectors"]["additionalProperties"]["items"]["enum"] == list(METHODS)
    default = next(s for s in scoring["default"]["anyOf"] if s.get("type") == "array")
    assert default["items"]["enum"] == list(METHODS)


@pytest.mark.parametrize(
    ("scoring", "message"),
    [
        (
            {"sectors": {"工贸": ["lec", "ls_matrx"]}},
            "scoring.sectors['工贸']：未知的方法 'ls_matrx'；是否想写",
        ),
        (
            {"default": ["gb1821"]},
            "scoring.sectors['(default)']：未知的方法 'gb1821'；是否想写 'gb18218'",
        ),
        (
            {"sectors": {"a": ["zzz"]}},
            "未知的方法 'zzz'（可用：baseline, chem2018, gb18218, indicator, lec",
        ),
    ],
)
def test_an_unknown_method_suggests_the_closest(scoring, message):
    data = {**MINIMAL, "scoring": scoring}
    with pytest.raises(ConfigError, match=r"^riskmap\.toml：") as err:
        config_from_dict(data, source="riskmap.toml")
    assert message in str(err.value)


def test_every_problem_is_listed_with_unknown_methods():
    data = {**MINIMAL, "scoring": {"sectors": {"a": ["lecc", "gb"]}}, "supervision": {"year": "x"}}
    with pytest.raises(ConfigError, match=r"未知的方法 'lecc'；是否想写 'lec'") as err:
        config_from_dict(data, source="riskmap.toml")
    lines = str(err.value).splitlines()
    assert len(lines) == 3
    assert "scoring.sectors['a']：未知的方法 'gb'（可用：" in lines[1]
    assert lines[2].startswith("riskmap.toml：supervision.year：")


def test_a_method_name_that_is_not_text_gets_the_valid_names():
    with pytest.raises(ConfigError, match=r"scoring\.sectors\.a\[0\]：须为 'gb18218', 'chem2018'"):
        config_from_dict({**MINIMAL, "scoring": {"sectors": {"a": [5]}}}, source="riskmap.toml")


def test_an_unknown_method_in_english():
    from riskmap.i18n import language

    with (
        language("en"),
        pytest.raises(
            ConfigError,
            match=r"^riskmap\.toml: scoring\.sectors\['a'\]: unknown method 'lecc'; did you mean 'lec'\? \(valid: ",
        ),
    ):
        config_from_dict({**MINIMAL, "scoring": {"sectors": {"a": ["lecc"]}}}, source="riskmap.toml")
