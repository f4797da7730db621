"""Sensitivity: levels under the accepted alternative conventions ([sensitivity], riskmap sensitivity)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from browser import map_box

from riskmap._resources import demo_dir
from riskmap.config import load_config
from riskmap.errors import ConfigError
from riskmap.pipeline import check, sensitivity
from riskmap.sensitivity import CHANGED_BY

#: The variants riskmap init ships, commented out, at the end of data/demo/riskmap.toml.
SHIPPED = [
    "LEC upper bounds",
    "LS variant preset",
    "GB 18218 grade 2 red",
    "no standardisation lowering",
    "villages by thresholds",
    "villages by index",
    "towns by highest level",
    "town index natural breaks",
    "spillover 500 m",
    "spillover 2 km",
]

#: Non-coal mines (graded by LEC only) with no hidden danger or accident, moved onto the bound D = 70.
ON_BOUND = 2


def _uncomment_variants(text: str) -> str:
    """The demo project file with its shipped variants switched on."""
    head, tail = text.split("# [[sensitivity.variants]]", 1)
    tail = "# [[sensitivity.variants]]" + tail
    lines = [ln[2:] if ln.startswith("# ") else ("" if ln == "#" else ln) for ln in tail.splitlines()]
    return head + "\n".join(lines) + "\n"


def _copy_demo(dest: Path) -> Path:
    shutil.copytree(demo_dir(), dest)
    toml = dest / "riskmap.toml"
    toml.write_text(_uncomment_variants(toml.read_text(encoding="utf-8")), encoding="utf-8")
    return toml


def _lec_facilities_on_bound(project: Path) -> list[str]:
    """Put ON_BOUND event-free non-coal mines' every risk point at L=1, E=10, C=7 (D = 70, a class bound)."""
    fac = pd.read_csv(project / "facilities.csv", dtype=str)
    events = set(pd.read_csv(project / "hidden_dangers.csv", dtype=str)["facility_id"])
    events |= set(pd.read_csv(project / "accidents.csv", dtype=str)["facility_id"])
    rp = pd.read_csv(project / "risk_points.csv", dtype=str)
    mines = fac.loc[(fac["sector"] == "非煤矿山") & ~fac["facility_id"].isin(events), "facility_id"]
    chosen = [i for i in mines if (rp["facility_id"] == i).any()][:ON_BOUND]
    at = rp["facility_id"].isin(chosen)
    rp.loc[at, ["lec_l", "lec_e", "lec_c"]] = ["1", "10", "7"]
    rp.to_csv(project / "risk_points.csv", index=False)
    return chosen


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo with its shipped variants on (and two mines on an LEC bound): sensitivity and the plain run."""
    root = tmp_path_factory.mktemp("sens")
    toml = _copy_demo(root / "project")
    _lec_facilities_on_bound(toml.parent)
    config = load_config(toml)
    result = sensitivity(config, root / "out")
    base = check(config)
    return toml, config, result, base, root / "out"


def _changed(frame: pd.DataFrame, variant: str) -> pd.Series:
    return frame[CHANGED_BY].str.split("；").map(lambda names: variant in names)


def _worst_d_on_bound(project: Path) -> set[str]:
    """Facilities graded by LEC whose worst risk point has D exactly on a class bound (computed here)."""
    fac = pd.read_csv(project / "facilities.csv", dtype=str)
    rp = pd.read_csv(project / "risk_points.csv")
    rp["d"] = rp["lec_l"] * rp["lec_e"] * rp["lec_c"]
    lec = set(fac.loc[fac["sector"] == "非煤矿山", "facility_id"])
    worst = rp[rp["facility_id"].isin(lec)].groupby("facility_id")["d"].max()
    return set(worst.index[np.isclose(worst.to_numpy()[:, None], [70, 160, 320]).any(axis=1)])


def test_every_shipped_variant_is_assessed(demo):
    _toml, _config, result, _base, out = demo
    assert result.variants["variant"].tolist() == SHIPPED
    doc = json.loads((out / "sensitivity.json").read_text(encoding="utf-8"))
    assert [v["variant"] for v in doc["summary"]["variants"]] == SHIPPED
    facilities = doc["summary"]["facilities"]
    assert facilities["firm"] + facilities["changed"] == len(result.facilities) and facilities["changed"] > 0
    assert facilities["changed"] == int((result.facilities[CHANGED_BY] != "").sum())
    assert all((out / name).is_file() for name in doc["outputs"].values()), doc["outputs"]


def test_level_is_the_runs_own(demo):
    _toml, _config, result, base, _out = demo
    own = base.facilities.set_index("facility_id")["level"]
    fac = result.facilities.set_index("facility_id")
    assert fac["level"].equals(own.reindex(fac.index))
    for kind, z in result.zones.items():
        assert z["level"].tolist() == base.zones[kind]["level"].tolist()


def test_lec_upper_bounds_moves_only_facilities_whose_worst_point_is_on_a_bound(demo):
    toml, _config, result, _base, _out = demo
    expected = _worst_d_on_bound(toml.parent)
    assert len(expected) == ON_BOUND
    moved = result.facilities[_changed(result.facilities, "LEC upper bounds")]
    assert set(moved["facility_id"]) == expected
    assert (moved["level_min"] == "blue").all() and (moved["level"] == "yellow").all()


def test_gb18218_grade_2_red_moves_only_grade_2_major_hazards(demo):
    _toml, _config, result, base, _out = demo
    fac = base.facilities.set_index("facility_id")
    moved = set(result.facilities.loc[_changed(result.facilities, "GB 18218 grade 2 red"), "facility_id"])
    grade2 = set(fac.index[pd.to_numeric(fac["gb18218_grade"], errors="coerce") == 2])
    assert moved and moved <= grade2
    # Every grade-2 hazard decided by GB 18218 and not adjusted goes from orange to red.
    plain = fac[
        (fac["method"] == "gb18218") & (fac["adjustments"].fillna("") == "") & (fac["level"] == "orange")
    ]
    assert set(plain.index) & grade2 <= moved


def test_no_standardisation_lowering_moves_only_lowered_facilities(demo):
    _toml, _config, result, base, _out = demo
    fac = base.facilities.set_index("facility_id")
    lowered = set(fac.index[fac["adjustments"].fillna("").str.contains("standardisation")])
    moved = set(
        result.facilities.loc[_changed(result.facilities, "no standardisation lowering"), "facility_id"]
    )
    assert moved and moved <= lowered
    only = fac.loc[list(lowered)]
    only = only[(only["adjustments"] == "standardisation") & (only["level"] != only["level_method"])]
    assert set(only.index) <= moved


@pytest.mark.parametrize(
    ("variant", "layers"),
    [
        ("villages by thresholds", {"village"}),
        ("villages by index", {"village"}),
        ("towns by highest level", {"town"}),
        ("town index natural breaks", {"town"}),
        ("spillover 500 m", {"village", "town"}),
        ("spillover 2 km", {"village", "town"}),
    ],
)
def test_zoning_variants_change_zones_only(demo, variant, layers):
    _toml, _config, result, _base, _out = demo
    row = result.variants.set_index("variant").loc[variant]
    assert row["first_stage"] == "zone"
    assert row["facilities_changed"] == 0
    assert not _changed(result.facilities, variant).any()
    changed = {kind for kind, z in result.zones.items() if _changed(z, variant).any()}
    assert changed and changed <= layers


def test_villages_by_thresholds_raises_only_villages_with_three_orange(demo):
    _toml, _config, result, base, _out = demo
    v = base.zones["village"].set_index("zone_code")
    expected = set(v.index[(v["level"] == "orange") & (v["n_orange"] >= 3)])
    z = result.zones["village"]
    moved = z[_changed(z, "villages by thresholds")]
    assert set(moved["zone_code"]) == expected
    assert (moved["level_max"] == "red").all()


def test_min_and_max_bracket_the_level(demo):
    _toml, _config, result, _base, _out = demo
    from riskmap.levels import level_rank

    for frame in (result.facilities, *result.zones.values()):
        lo, lv, hi = (level_rank(frame[c]) for c in ("level_min", "level", "level_max"))
        assert (lo <= lv).all() and (lv <= hi).all()
        firm = frame[CHANGED_BY] == ""
        assert (lo[firm] == hi[firm]).all() and (lo[~firm] < hi[~firm]).all()


def test_variant_that_changes_nothing_reports_nothing(tmp_path):
    toml = _copy_demo(tmp_path / "p")
    # The demo has no mine whose worst point sits on an LEC bound: the variant changes nothing.
    text = toml.read_text(encoding="utf-8").split("[[sensitivity.variants]]")[0]
    toml.write_text(
        text
        + '[[sensitivity.variants]]\nname = "LEC upper bounds"\nset = { "methods.lec.boundary" = "upper" }\n',
        encoding="utf-8",
    )
    assert not _worst_d_on_bound(toml.parent)
    result = sensitivity(load_config(toml), tmp_path / "out")
    assert (result.facilities[CHANGED_BY] == "").all()
    assert all((z[CHANGED_BY] == "").all() for z in result.zones.values())
    assert result.variants.iloc[0]["facilities_changed"] == 0
    assert (result.facilities["level_min"] == result.facilities["level_max"]).all()


def _with_variant(tmp_path: Path, line: str) -> Path:
    toml = tmp_path / "riskmap.toml"
    text = (
        (demo_dir() / "riskmap.toml")
        .read_text(encoding="utf-8")
        .replace('path = "', f'path = "{demo_dir()}/')
    )
    toml.write_text(text + f'\n[[sensitivity.variants]]\nname = "mine"\n{line}\n', encoding="utf-8")
    return toml


def test_unknown_key_in_set_is_a_config_error_naming_it(tmp_path):
    toml = _with_variant(tmp_path, 'set = { "methods.lec.boundry" = "upper" }')
    with pytest.raises(
        ConfigError, match=r"方案 'mine'：未知的键 'methods\.lec\.boundry'；是否想写 'boundary'"
    ):
        load_config(toml)


def test_bad_value_is_a_config_error_naming_variant_and_key(tmp_path):
    toml = _with_variant(tmp_path, 'set = { "methods.lec.boundary" = "up" }')
    with pytest.raises(ConfigError, match=r"方案 'mine'：methods\.lec\.boundary：须为 'lower', 'upper' 之一"):
        load_config(toml)


def test_unknown_rule_name_suggests_the_closest(tmp_path):
    toml = _with_variant(tmp_path, 'set = { "adjustment.rules.standardisaton" = false }')
    with pytest.raises(ConfigError, match=r"没有名为 'standardisaton' 的项；是否想写 'standardisation'"):
        load_config(toml)


def test_key_outside_the_level_sections_is_refused(tmp_path):
    toml = _with_variant(tmp_path, 'set = { "supervision.year" = 2030 }')
    with pytest.raises(ConfigError, match=r"'supervision\.year' 不影响任何等级"):
        load_config(toml)


def test_sensitivity_without_variants_says_how_to_add_them():
    with pytest.raises(ConfigError, match=r"项目文件中没有 \[\[sensitivity\.variants\]\]"):
        sensitivity(load_config(demo_dir() / "riskmap.toml"))


def test_geopackage_tables_read_back(demo):
    _toml, _config, result, _base, out = demo
    layers = [name for name, _ in pyogrio.list_layers(out / "sensitivity.gpkg")]
    assert {
        "sensitivity_facilities",
        "sensitivity_zones_village",
        "sensitivity_zones_town",
        "sensitivity_variants",
    } <= set(layers)
    z = pyogrio.read_dataframe(out / "sensitivity.gpkg", layer="sensitivity_zones_village")
    assert list(z.columns[:6]) == ["zone_code", "zone_name", "level", "level_min", "level_max", "changed_by"]
    assert z["changed_by"].fillna("").tolist() == result.zones["village"][CHANGED_BY].tolist()
    csv = pd.read_csv(out / "sensitivity_facilities.csv", dtype=str, encoding="utf-8-sig")
    assert len(csv) == len(result.facilities)


def test_run_with_sensitivity_marks_the_zones_on_the_map_and_in_the_report(demo, tmp_path):
    toml, _config, result, _base, _out = demo
    text = toml.read_text(encoding="utf-8").replace(
        'tiles = "none"', 'tiles = "none"\nsensitivity = true\nreport = true'
    )
    run_toml = toml.parent / "run.toml"
    run_toml.write_text(text, encoding="utf-8")
    from riskmap.pipeline import run

    ran = run(load_config(run_toml), tmp_path / "out")
    from mapdata import read_map

    shown = read_map((tmp_path / "out" / "map.html").read_text(encoding="utf-8"))
    villages = result.zones["village"]
    n_changed = int((villages[CHANGED_BY] != "").sum())
    dashed = shown.zones(0)["code"].iloc[shown.changed_zones()]
    assert n_changed and sorted(dashed) == sorted(villages.loc[villages[CHANGED_BY] != "", "zone_code"])
    layers = [name for name, _ in pyogrio.list_layers(tmp_path / "out" / "riskmap.gpkg")]
    assert "sensitivity_zones_village" in layers
    from docx import Document

    body = "\n".join(p.text for p in Document(str(ran.outputs["report_docx"])).paragraphs)
    assert "等级的稳健性" in body and f"{n_changed} 个村" in body


# --------------------------------------------------------------------------------------------------------------
# A project with variants takes every command-line override (the config is re-validated with its aliases).

_TINY_VARIANT = '\n[[sensitivity.variants]]\nname = "LS variant preset"\nset = { "methods.ls_matrix.preset" = "variant" }\n'


def _tiny_with_variants(project: Path, html: bool = False) -> Path:
    text = project.read_text(encoding="utf-8")
    keys = "figure = false\n" + ("" if html else "html = false\n")
    project.write_text(text.replace("[outputs]\n", f"[outputs]\n{keys}") + _TINY_VARIANT, encoding="utf-8")
    return project


def _office_docx(path: Path) -> Path:
    from docx import Document

    doc = Document()
    doc.sections[0].header.paragraphs[0].text = "XX县应急管理局"
    doc.save(str(path))
    return path


def _run_cli(*args: str) -> None:
    from typer.testing import CliRunner

    from riskmap.cli import app

    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, r.output


def test_run_lang_en_with_variants(tiny_project: Path, tmp_path: Path) -> None:
    _run_cli("run", str(_tiny_with_variants(tiny_project)), "--out", str(tmp_path / "o"), "--lang", "en")
    plan = pd.read_csv(tmp_path / "o" / "inspection_plan.csv")
    assert plan["plan_reason"].str.contains(" enterprise, ").all()


def test_run_embed_with_variants(tiny_project: Path, tmp_path: Path) -> None:
    _run_cli(
        "run", str(_tiny_with_variants(tiny_project, html=True)), "--out", str(tmp_path / "o"), "--embed"
    )
    page = (tmp_path / "o" / "map.html").read_text(encoding="utf-8")
    assert map_box(page) == {"width": "100.0%", "height": "600.0px", "full_page": "no"}


def test_run_engine_with_variants(tiny_project: Path, tmp_path: Path) -> None:
    project = _tiny_with_variants(tiny_project)
    # The project file asks for dask: only --engine memory (not the default) makes the run's engine memory.
    project.write_text(project.read_text(encoding="utf-8") + '\n[engine]\nname = "dask"\n', encoding="utf-8")
    assert load_config(project).engine.name == "dask"
    _run_cli("run", str(project), "--out", str(tmp_path / "o"), "--engine", "memory")
    doc = json.loads((tmp_path / "o" / "run.json").read_text(encoding="utf-8"))
    assert doc["provenance"]["engine"] == "memory"


def test_report_cards_and_template_with_variants(tiny_project: Path, tmp_path: Path) -> None:
    from docx import Document

    project = _tiny_with_variants(tiny_project)
    template = _office_docx(tmp_path / "office.docx")
    out = tmp_path / "o"
    _run_cli("report", str(project), "--out", str(out), "--cards", "none", "--template", str(template))
    assert not (out / "cards.docx").exists()
    assert "XX县应急管理局" in Document(str(out / "report.docx")).sections[0].header.paragraphs[0].text
    _run_cli("report", str(project), "--out", str(tmp_path / "o2"), "--cards", "all")
    assert (tmp_path / "o2" / "cards.docx").exists()


def test_overrides_keep_every_alias(tiny_project: Path) -> None:
    """`set` (a variant) and `in` (a baseline condition) are aliases: a dump without them fails validation."""
    from riskmap.config import with_overrides

    text = tiny_project.read_text(encoding="utf-8")
    text += (
        '\n[[methods.baseline.rules]]\nlevel = "yellow"\n'
        'when = { column = "name", in = ["甲化工有限公司"] }\n' + _TINY_VARIANT
    )
    tiny_project.write_text(text, encoding="utf-8")
    config = load_config(tiny_project)
    changed = with_overrides(config, {"project.lang": "en", "outputs.embed": True})
    assert changed.project.lang == "en" and changed.outputs.embed
    assert changed.sensitivity == config.sensitivity
    assert changed.methods.baseline == config.methods.baseline


def test_unknown_variant_key_suggests_set_not_the_field_name(tmp_path):
    toml = _with_variant(tmp_path, 'sett = { "methods.lec.boundary" = "upper" }')
    with pytest.raises(ConfigError, match=r"未知的键 'sensitivity\.variants\[0\]\.sett'；是否想写 'set'？"):
        load_config(toml)


def test_variant_setting_the_as_of_date_is_refused_at_load(tmp_path):
    toml = _with_variant(tmp_path, 'set = { "adjustment.as_of" = 2026-01-01 }')
    with pytest.raises(ConfigError, match=r"方案 'mine'：adjustment\.as_of 是规则的评估日期.*--as-of"):
        load_config(toml)


def test_a_variant_of_the_radius_counts_its_own_persons(tiny_project: Path) -> None:
    """A variant of ``methods.gb18218.buffer_m`` graded with the project's 500 m persons (now: its own, apart)."""
    from conftest import IDS

    from riskmap.config import with_overrides
    from riskmap.io.project import read_inputs
    from riskmap.stages import Pass, first_stage, run_stages

    config = load_config(tiny_project)
    wider = with_overrides(config, {"methods.gb18218.buffer_m": 1000})
    assert first_stage(config, wider) == "score"
    located = run_stages(config, Pass(read_inputs(config)), until="validate", keep=True)
    own = run_stages(config, located, start="score", until="score")
    variant = run_stages(wider, own, start="score", until="score")
    a_own = own.graded.facilities.set_index("facility_id").loc[IDS["A"]]
    a_variant = variant.graded.facilities.set_index("facility_id").loc[IDS["A"]]
    # One person per 0.001° cell: about 75 within 500 m, four times as many within 1 km.
    assert a_own["persons_500m"] == pytest.approx(75, abs=1.5) and "persons_1000m" not in a_own
    assert a_variant["persons_1000m"] == pytest.approx(4 * 75, rel=0.05)
    assert "α=2" in a_variant["reasons"] and "α=1.5" in a_own["reasons"]
    assert "persons_1000m" not in located.basis.facilities  # the project's kept table is left as it was
