from __future__ import annotations

from pathlib import Path

import pytest

from riskmap.config import config_from_dict, config_hash, json_schema, load_config
from riskmap.errors import ConfigError

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
            r"unknown key 'facilities\.sectr'; did you mean 'sector'",
        ),
        (
            {"zones": [{"kind": "v", "path": "z", "cod": "c"}]},
            r"unknown key 'zones\[0\]\.cod'; did you mean 'code'",
        ),
        ({"outptus": {}}, r"unknown key 'outptus'; did you mean 'outputs'"),
        ({"supervision": {"sampling": {"rates": {"blue": 1.5}}}}, r"between 0 and 1"),
        ({"supervision": {"frequency": {"red": "often"}}}, r"supervision\.frequency\.red"),
        (
            {"scoring": {"sectors": {"工贸": ["ls_matrx"]}}},
            r"unknown method 'ls_matrx'; did you mean 'ls_matrix'",
        ),
        ({"methods": {"ls_matrix": {"matrix": [["red"] * 5] * 4}}}, r"5 rows of 5"),
        ({"zones": []}, r"zones"),
        # A bounded number names the whole range, not only the bound it crossed.
        ({"supervision": {"year": 1}}, r"supervision\.year: 1 is outside the accepted range 2000 to 2100$"),
        (
            {"supervision": {"year": 99999}},
            r"supervision\.year: 99999 is outside the accepted range 2000 to 2100$",
        ),
    ],
)
def test_bad_config_names_the_field(patch, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({**MINIMAL, **patch}, source="riskmap.toml")


def test_missing_required_key():
    with pytest.raises(ConfigError, match=r"facilities: required key is missing"):
        config_from_dict({"zones": MINIMAL["zones"]})


def test_load_config_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"cannot read the project file"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[facilities\npath=1", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"not valid TOML"):
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
    with pytest.raises(ConfigError, match=r"^riskmap\.toml: .*nested .*deep") as err:
        load_config(p)
    assert "\n" not in str(err.value) and len(str(err.value)) < 400


def test_deeply_nested_override_is_one_config_error():
    nested: object = 1
    for _ in range(2000):
        nested = [nested]
    with pytest.raises(ConfigError, match=r"^the command line: project\.name\[0\]\[0\].*nested more than"):
        config_from_dict({**MINIMAL, "project": {"name": nested}}, source="the command line")
