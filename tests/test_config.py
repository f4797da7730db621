from __future__ import annotations

from pathlib import Path

import pytest

from riskmap.config import config_from_dict, config_hash, json_schema, load_config
from riskmap.errors import ConfigError
from riskmap.i18n import language, tr

MINIMAL = {
    "facilities": {"path": "f.csv", "crs": "EPSG:4490"},
    "zones": [{"kind": "village", "path": "z.gpkg"}],
}


def test_minimal_config_gets_defaults():
    c = config_from_dict(MINIMAL)
    assert c.supervision.frequency == {"red": 4.0, "orange": 2.0, "yellow": 1.0, "blue": 0.0}
    assert c.zoning.rule == "max"
    assert c.methods.gb18218.grade_levels["1"] == "red"


def test_paths_resolve_against_project_dir(tmp_path: Path):
    c = config_from_dict(MINIMAL, base_dir=tmp_path)
    assert c.resolve(c.facilities.path) == tmp_path / "f.csv"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            {"facilities": {"path": "f.csv", "sectr": "x"}},
            r"未知的键 'facilities\.sectr'；是否想写 'sector'",
        ),
        (
            {"zones": [{"kind": "v", "path": "z", "cod": "c"}]},
            r"未知的键 'zones\[0\]\.cod'；是否想写 'code'",
        ),
        ({"outptus": {}}, r"未知的键 'outptus'；是否想写 'outputs'"),
        ({"supervision": {"sampling": {"rates": {"blue": 1.5}}}}, r"须在 0 到 1 之间"),
        ({"supervision": {"frequency": {"red": "often"}}}, r"supervision\.frequency\.red"),
        (
            {"scoring": {"sectors": {"工贸": ["ls_matrx"]}}},
            r"未知的方法 'ls_matrx'；是否想写 'ls_matrix'",
        ),
        ({"methods": {"ls_matrix": {"matrix": [["red"] * 5] * 4}}}, r"须为 5 行、每行 5 个等级"),
        ({"zones": []}, r"zones"),
        # A bounded number names the whole range, not only the bound it crossed.
        ({"supervision": {"year": 1}}, r"supervision\.year：1 超出允许范围 2000 至 2100$"),
        ({"supervision": {"year": 99999}}, r"supervision\.year：99999 超出允许范围 2000 至 2100$"),
    ],
)
def test_bad_config_names_the_field(patch, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({**MINIMAL, **patch}, source="riskmap.toml")


def test_missing_required_key():
    with pytest.raises(ConfigError, match=r"facilities：缺少必需的键"):
        config_from_dict({"zones": MINIMAL["zones"]})


def test_load_config_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"nope\.toml：无法读取项目文件（文件或目录不存在）"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[facilities\npath=1", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml：不是有效的 TOML："):
        load_config(bad)


def test_schema_and_hash(tiny_project: Path):
    schema = json_schema()
    assert "facilities" in schema["properties"] and "base_dir" not in schema["properties"]
    a = load_config(tiny_project)
    assert config_hash(a) == config_hash(load_config(tiny_project))
    assert len(config_hash(a)) == 64


def test_demo_config_is_valid():
    from riskmap import demo_dir

    c = load_config(demo_dir() / "riskmap.toml")
    assert c.project.district_code == "329901"
    assert [z.kind for z in c.zones] == ["village", "town"]


@pytest.mark.parametrize("depth", [40, 900, 100_000])
@pytest.mark.parametrize("nesting", ["arrays", "tables"])
def test_deeply_nested_toml_is_one_config_error(tmp_path: Path, depth: int, nesting: str):
    """Arrays or tables nested thousands deep: one clear ConfigError, not a RecursionError (issue 23)."""
    if nesting == "arrays":
        nested = "[" * depth + "1" + "]" * depth
    else:
        nested = "{b = " * depth + "1" + "}" * depth
    p = tmp_path / "riskmap.toml"
    p.write_text(
        '[facilities]\npath = "f.csv"\n[[zones]]\nkind = "village"\npath = "z.gpkg"\n'
        f"[project]\nname = {nested}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"^riskmap\.toml：.*嵌套") as err:
        load_config(p)
    assert "\n" not in str(err.value) and len(str(err.value)) < 400


def test_deeply_nested_override_is_one_config_error():
    nested: object = 1
    for _ in range(2000):
        nested = [nested]
    with pytest.raises(ConfigError, match=r"^命令行：project\.name\[0\]\[0\].*嵌套超过"):
        config_from_dict({**MINIMAL, "project": {"name": nested}}, source=tr("the command line"))


#: pydantic's errors, each by its type, in both languages: (patch, Chinese, English).
_BY_TYPE = [
    (
        {"project": {"lang": "fr"}},
        r"^riskmap\.toml：project\.lang：须为 'zh', 'en' 之一（现为 'fr'）$",
        r"^riskmap\.toml: project\.lang: should be 'zh', 'en' \(got 'fr'\)$",
    ),
    (
        {"supervision": {"year": "next"}},
        r"^riskmap\.toml：supervision\.year：须为整数（现为 'next'）$",
        r"^riskmap\.toml: supervision\.year: should be a whole number \(got 'next'\)$",
    ),
    (
        {"project": {"name": 5}},
        r"^riskmap\.toml：project\.name：须为带引号的文本，如 \"\.\.\.\"（现为 5）$",
        r"^riskmap\.toml: project\.name: should be text in quotes, e\.g\. \"\.\.\.\" \(got 5\)$",
    ),
    (
        {"outputs": {"embed": "maybe"}},
        r"^riskmap\.toml：outputs\.embed：须为 true 或 false（现为 'maybe'）$",
        r"^riskmap\.toml: outputs\.embed: should be true or false \(got 'maybe'\)$",
    ),
    (
        {"supervision": {"frequency": {"red": "often"}}},
        r"^riskmap\.toml：supervision\.frequency\.red：须为数字（现为 'often'）$",
        r"^riskmap\.toml: supervision\.frequency\.red: should be a number \(got 'often'\)$",
    ),
    (
        {"outputs": 5},
        r"^riskmap\.toml：outputs：须为表（\[节\] 或 \{ 键 = 值 \}）（现为 5）$",
        r"^riskmap\.toml: outputs: should be a table \(\[section\] or \{ key = value \}\) \(got 5\)$",
    ),
    (
        {"zones": []},
        r"^riskmap\.toml：zones：至少须有 1 项（现有 0 项）$",
        r"^riskmap\.toml: zones: should have at least 1 items \(got 0\)$",
    ),
    (
        {"methods": {"gb18218": {"buffer_m": 0}}},
        r"^riskmap\.toml：methods\.gb18218\.buffer_m：须大于 0（现为 0）$",
        r"^riskmap\.toml: methods\.gb18218\.buffer_m: should be greater than 0 \(got 0\)$",
    ),
]


@pytest.mark.parametrize(("patch", "zh", "en"), _BY_TYPE, ids=[str(p) for p, _, _ in _BY_TYPE])
def test_a_refused_value_is_said_in_the_users_language(patch, zh, en):
    """pydantic's own messages are translated by their error type, with the values of its context."""
    with pytest.raises(ConfigError, match=zh):
        config_from_dict({**MINIMAL, **patch}, source="riskmap.toml")
    with language("en"), pytest.raises(ConfigError, match=en):
        config_from_dict({**MINIMAL, **patch}, source="riskmap.toml")


def test_an_error_type_riskmap_does_not_know_keeps_pydantics_words():
    from riskmap.config.base import value_problem

    e = {"type": "json_invalid", "loc": ("x",), "msg": "Invalid JSON: EOF", "input": "{", "ctx": {}}
    assert value_problem(e, "x") == "x: Invalid JSON: EOF (got '{')"


def test_config_errors_in_english(tmp_path: Path):
    with language("en"):
        with pytest.raises(ConfigError, match=r"unknown key 'outptus'; did you mean 'outputs'"):
            config_from_dict({**MINIMAL, "outptus": {}}, source="riskmap.toml")
        with pytest.raises(
            ConfigError, match=r"nope\.toml: cannot read the project file \(no such file or directory\)"
        ):
            load_config(tmp_path / "nope.toml")
        with pytest.raises(
            ConfigError, match=r"supervision\.year: 1 is outside the accepted range 2000 to 2100$"
        ):
            config_from_dict({**MINIMAL, "supervision": {"year": 1}}, source="riskmap.toml")
