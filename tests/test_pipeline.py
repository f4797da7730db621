from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from conftest import IDS

import riskmap
from riskmap.errors import InputError


def test_tiny_project_levels_and_reasons(tiny_project: Path):
    result = riskmap.check(riskmap.load_config(tiny_project))
    fac = result.facilities.set_index("facility_id")
    assert fac.loc[IDS["A"], "level"] == "yellow"  # GB 18218 三级 beats LS blue
    assert fac.loc[IDS["A"], "method"] == "gb18218"
    assert fac.loc[IDS["A"], "persons_500m"] == pytest.approx(75, abs=1.5)  # uniform 1 person per 0.001° cell
    assert "三级重大危险源" in fac.loc[IDS["A"], "reasons"]
    assert fac.loc[IDS["B"], "method"] == "ls_matrix" and "不构成重大危险源" in fac.loc[IDS["B"], "reasons"]
    assert fac["level"].value_counts().to_dict() == {"yellow": 3, "red": 1, "orange": 1, "blue": 1}
    town = result.zones["town"].set_index("zone_code")["level"].to_dict()
    assert town == {"329901001000": "red", "329901002000": "orange"}


def test_rows_in_equal_scored_plus_rejected(tiny_project: Path):
    d = tiny_project.parent
    fac = pd.read_csv(d / "facilities.csv", dtype=str)
    bad = pd.DataFrame(
        [
            ("X1", "坐标缺失", "工贸", "", "32.21"),
            ("X2", "区外", "工贸", "118.0", "30.0"),
            ("X3", "无方法", "其他", "119.61", "32.21"),
            ("X4", "无风险点", "工贸", "119.61", "32.21"),
            (IDS["A"], "重复", "工贸", "119.61", "32.21"),
        ],
        columns=fac.columns,
    )
    pd.concat([fac, bad]).to_csv(d / "facilities.csv", index=False)
    with open(d / "risk_points.csv", "a", encoding="utf-8") as f:
        f.write("X2,P9,仓库,2,2\n")
    result = riskmap.check(riskmap.load_config(tiny_project))
    s = result.summary
    assert (s["facilities_in"], s["facilities_scored"], s["facilities_rejected"]) == (11, 6, 5)
    rej = result.rejects[result.rejects["source"] == "facilities.csv"].set_index("record_id")
    assert rej.index.is_unique
    # The risk point of the facility outside the district goes with it.
    related = result.rejects[result.rejects["source"] == "risk_points.csv"]
    assert related["record_id"].tolist() == ["X2"] and "was rejected" in related["reason"].iloc[0]
    assert rej.loc["X2", "stage"] == "zone"
    assert "no grading method for this sector" in rej.loc["X3", "reason"]
    assert "no method could grade" in rej.loc["X4", "reason"]


def test_run_writes_every_output(tiny_project: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = riskmap.run(riskmap.load_config(tiny_project), out)
    for name in (
        "riskmap.gpkg",
        "map.html",
        "map.png",
        "inspection_plan.csv",
        "inspection_plan.xlsx",
        "run.json",
    ):
        assert (out / name).stat().st_size > 0, name
    layers = {name for name, _ in pyogrio.list_layers(out / "riskmap.gpkg")}
    assert {"facilities", "zones_village", "zones_town", "inspection_plan", "rejects"} <= layers
    fac = pyogrio.read_dataframe(out / "riskmap.gpkg", layer="facilities")
    for col in ("facility_id", "name", "sector", "level", "level_zh", "score", "method", "reasons"):
        assert col in fac.columns
    zones = pyogrio.read_dataframe(out / "riskmap.gpkg", layer="zones_village")
    for col in (
        "zone_code",
        "zone_name",
        "level",
        "level_zh",
        "n_red",
        "n_orange",
        "n_yellow",
        "n_blue",
        "rule",
    ):
        assert col in zones.columns
    run_json = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run_json["summary"]["facilities_in"] == 6
    prov = run_json["provenance"]
    assert prov["riskmap_version"] == riskmap.__version__ and len(prov["config_hash"]) == 64
    assert set(prov["inputs"]) >= {"facilities", "inventory", "risk_points", "population", "zones_village"}
    assert all(len(v["sha256"]) == 64 for v in prov["inputs"].values())
    assert result.outputs["geopackage"] == out / "riskmap.gpkg"


def test_missing_input_file_is_one_clear_error(tiny_project: Path):
    (tiny_project.parent / "risk_points.csv").unlink()
    with pytest.raises(InputError, match=r"risk_points\.csv：找不到文件；请检查项目文件中的路径"):
        riskmap.check(riskmap.load_config(tiny_project))


def test_gb18218_without_population_or_persons_is_an_error(tiny_project: Path):
    text = tiny_project.read_text(encoding="utf-8").replace('[population]\npath = "population.tif"\n', "")
    tiny_project.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"周边 500 米内的人数"):
        riskmap.check(riskmap.load_config(tiny_project))


def test_every_method_through_the_pipeline(tiny_project: Path):
    d = tiny_project.parent
    fac = pd.read_csv(d / "facilities.csv", dtype=str)
    fac["occupancy"] = ["", "", "", "", "1800", ""]
    fac.to_csv(d / "facilities.csv", index=False)
    rp = pd.read_csv(d / "risk_points.csv", dtype=str)
    rp["lec_l"], rp["lec_e"], rp["lec_c"] = "3", "6", "15"  # D = 270 -> orange
    rp.to_csv(d / "risk_points.csv", index=False)
    pd.DataFrame(
        [(IDS["A"], "personnel", "15"), (IDS["A"], "management", "10"), (IDS["A"], "processes", "6")],
        columns=["facility_id", "item", "points"],
    ).to_csv(d / "deductions.csv", index=False)
    text = tiny_project.read_text(encoding="utf-8")
    text = text.replace('"危险化学品" = ["gb18218", "ls_matrix"]', '"危险化学品" = ["gb18218", "chem2018"]')
    text = text.replace('"工贸" = ["ls_matrix"]', '"工贸" = ["lec"]')
    text = text.replace('"人员密集场所" = ["ls_matrix"]', '"人员密集场所" = ["indicator", "ls_matrix"]')
    text += (
        '\n[deductions]\npath = "deductions.csv"\n'
        '[methods.indicator.indicators.occupancy]\ncolumn = "occupancy"\nweight = 1\nmax = 2000\n'
    )
    tiny_project.write_text(text, encoding="utf-8")
    fac_out = riskmap.check(riskmap.load_config(tiny_project)).facilities.set_index("facility_id")
    # 100 - 15 - 10 - 6 - 6 (三级 major hazard from GB 18218) = 63 -> orange, above GB 18218's yellow
    assert (fac_out.loc[IDS["A"], "method"], fac_out.loc[IDS["A"], "level"]) == ("chem2018", "orange")
    assert fac_out.loc[IDS["A"], "score"] == 63
    assert (fac_out.loc[IDS["C"], "method"], fac_out.loc[IDS["C"], "level"]) == ("lec", "orange")
    assert (fac_out.loc[IDS["E"], "method"], fac_out.loc[IDS["E"], "level"]) == ("indicator", "red")
    assert "LS:" in fac_out.loc[IDS["E"], "reasons"]  # the other method's reason is kept


def test_method_without_its_table_is_an_error(tiny_project: Path):
    text = tiny_project.read_text(encoding="utf-8").replace('"工贸" = ["ls_matrix"]', '"工贸" = ["chem2018"]')
    tiny_project.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"方法 chem2018 需要 \[deductions\] 表"):
        riskmap.check(riskmap.load_config(tiny_project))


def test_rejected_related_rows_flag_the_facility(tiny_project: Path):
    with open(tiny_project.parent / "risk_points.csv", "a", encoding="utf-8") as f:
        f.write(f"{IDS['C']},P8,坏点,7,1\n")
    result = riskmap.check(riskmap.load_config(tiny_project))
    fac = result.facilities.set_index("facility_id")
    assert fac.loc[IDS["C"], "rejected_records"] == 1
    assert "数据不完整: 1 条相关记录被剔除, 见 rejects.csv" in fac.loc[IDS["C"], "reasons"]
    assert any("家企业评级时缺少部分记录" in w for w in result.warnings)


def test_stale_maps_are_removed(tiny_project: Path, tmp_path: Path):
    """A map riskmap wrote is removed once a run no longer writes it; a map.svg it never wrote stays."""
    out = tmp_path / "out"
    riskmap.run(riskmap.load_config(tiny_project), out)
    assert (out / "map.html").exists()
    (out / "map.svg").write_text("<svg>the user's own</svg>", encoding="utf-8")
    text = tiny_project.read_text(encoding="utf-8") + "\n"
    tiny_project.write_text(
        text.replace("[outputs]\n", "[outputs]\nhtml = false\nfigure = false\n"), encoding="utf-8"
    )
    result = riskmap.run(riskmap.load_config(tiny_project), out)
    assert not (out / "map.html").exists() and not (out / "map.png").exists()
    assert any("已删除此前运行写出、本次运行未写出的结果：map.html, map.png" in w
               for w in result.warnings)  # fmt: skip
    assert (out / "map.svg").read_text(encoding="utf-8") == "<svg>the user's own</svg>"


def _manifest(out: Path, name: str = "run.json") -> dict:
    return json.loads((out / name).read_text(encoding="utf-8"))["manifest"]


def test_the_output_folder_keeps_the_users_files(tiny_project: Path, tmp_path: Path):
    """Files riskmap did not write survive a run, however their names look (issue 13.1)."""
    from riskmap.outputs.runfolder import sha256

    out = tmp_path / "out"
    out.mkdir()
    users = {
        ".minutes.tmp.docx": b"minutes",
        ".map.html.tmp.html": b"x",
        "map.pdf": b"%PDF",
        "notes.txt": b"n",
    }
    for name, data in users.items():
        (out / name).write_bytes(data)
    (out / ".riskmap-tmp-4242-dead").mkdir()  # a dead run's staging folder: riskmap's own name, cleaned
    (out / ".riskmap-tmp-run.json.x1y2.json").write_text("{")  # and a dead run's half-written manifest
    riskmap.run(riskmap.load_config(tiny_project), out)
    assert not (out / ".riskmap-tmp-run.json.x1y2.json").exists()
    for name, data in users.items():
        assert (out / name).read_bytes() == data, name
    assert not (out / ".riskmap-tmp-4242-dead").exists()
    manifest = _manifest(out)
    assert not set(users) & set(manifest)
    for name, entry in manifest.items():
        assert entry == {"sha256": sha256(out / name), "size": (out / name).stat().st_size}
    assert set(manifest) | set(users) | {"run.json"} == {p.name for p in out.iterdir()}


def test_a_taken_output_name_stops_the_run_unless_force(tiny_project: Path, tmp_path: Path):
    from riskmap.errors import OutputError

    out = tmp_path / "out"
    out.mkdir()
    (out / "map.html").write_text("my own map", encoding="utf-8")
    with pytest.raises(
        OutputError, match=r"将会覆盖不是 riskmap 写出的文件：map\.html（不是 riskmap 写出的）"
    ):
        riskmap.run(riskmap.load_config(tiny_project), out)
    assert [p.name for p in out.iterdir()] == ["map.html"]  # nothing written, no staging folder left
    result = riskmap.run(riskmap.load_config(tiny_project), out, force=True)
    assert "my own map" not in (out / "map.html").read_text(encoding="utf-8")
    assert "--force：已覆盖 map.html" in result.warnings
    assert "map.html" in _manifest(out)


def test_an_output_edited_since_stops_the_run_unless_force(tiny_project: Path, tmp_path: Path):
    from riskmap.errors import OutputError

    out = tmp_path / "out"
    riskmap.run(riskmap.load_config(tiny_project), out)
    riskmap.run(riskmap.load_config(tiny_project), out)  # unchanged outputs are riskmap's to replace
    with open(out / "inspection_plan.csv", "a", encoding="utf-8") as f:
        f.write("my note\n")
    edited = (out / "inspection_plan.csv").read_bytes()
    with pytest.raises(OutputError, match=r"inspection_plan\.csv（riskmap 写出后已被修改）"):
        riskmap.run(riskmap.load_config(tiny_project), out)
    assert (out / "inspection_plan.csv").read_bytes() == edited
    riskmap.run(riskmap.load_config(tiny_project), out, force=True)
    assert (out / "inspection_plan.csv").read_bytes() != edited


def test_a_run_json_without_manifest_is_not_riskmaps(tiny_project: Path, tmp_path: Path):
    """A folder written by an earlier riskmap (run.json without a manifest): its names are taken; --force."""
    from riskmap.errors import OutputError

    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text(
        '{"summary": {}, "outputs": {"geopackage": "riskmap.gpkg"}}', encoding="utf-8"
    )
    (out / "riskmap.gpkg").write_bytes(b"old")
    with pytest.raises(
        OutputError, match=r"riskmap\.gpkg（不是 riskmap 写出的）, run\.json（不是 riskmap 写出的）"
    ):
        riskmap.run(riskmap.load_config(tiny_project), out)
    riskmap.run(riskmap.load_config(tiny_project), out, force=True)
    assert "riskmap.gpkg" in _manifest(out)


def test_plan_and_run_share_a_folder(tiny_project: Path, tmp_path: Path):
    """plan.json has its own manifest; either command replaces the plan tables the other wrote."""
    import riskmap.pipeline as pipeline

    out = tmp_path / "out"
    riskmap.run(riskmap.load_config(tiny_project), out)
    gpkg = (out / "riskmap.gpkg").read_bytes()
    planned = pipeline.plan(riskmap.load_config(tiny_project), out, year=2028)
    assert set(_manifest(out, "plan.json")) == {"inspection_plan.csv", "inspection_plan.xlsx"}
    assert (out / "riskmap.gpkg").read_bytes() == gpkg  # not plan's to touch
    assert planned.outputs["plan_json"] == out / "plan.json"
    plan_2028 = (out / "inspection_plan.csv").read_bytes()
    riskmap.run(riskmap.load_config(tiny_project), out)  # no --force needed: plan.json names the plan tables
    assert (out / "inspection_plan.csv").read_bytes() != plan_2028


@pytest.mark.parametrize("year", [1, 99999])
def test_plan_year_is_validated_as_the_project_file_is(tiny_project: Path, tmp_path: Path, year: int):
    """``plan(year=...)`` was copied into the config unchecked: a plan for the year 1 was written."""
    import riskmap.pipeline as pipeline
    from riskmap.errors import ConfigError

    with pytest.raises(
        ConfigError,
        match=rf"^plan\(year=\.\.\.\)：supervision\.year：{year} 超出允许范围 2000 至 2100$",
    ):
        pipeline.plan(riskmap.load_config(tiny_project), tmp_path / "o", year=year)
    assert not (tmp_path / "o").exists()


def test_plant_boundary_polygons_take_exposure_from_the_boundary(tiny_project: Path):
    import geopandas as gpd
    from shapely.geometry import Point

    d = tiny_project.parent
    fac = pd.read_csv(d / "facilities.csv", dtype=str)
    pts = gpd.points_from_xy(fac["lon"].astype(float), fac["lat"].astype(float))
    shapes = [Point(p.x, p.y) for p in pts]
    shapes[0] = Point(pts[0].x, pts[0].y).buffer(0.004)  # facility A as a ~800 m wide plant boundary
    gdf = gpd.GeoDataFrame(fac.drop(columns=["lon", "lat"]), geometry=shapes, crs="EPSG:4490")
    gdf.to_file(d / "facilities.gpkg", driver="GPKG")
    text = tiny_project.read_text(encoding="utf-8").replace(
        'path = "facilities.csv"', 'path = "facilities.gpkg"'
    )
    tiny_project.write_text(text, encoding="utf-8")
    result = riskmap.run(riskmap.load_config(tiny_project), d / "out")
    assert (d / "out" / "map.html").exists() and (d / "out" / "riskmap.gpkg").exists()
    out = result.facilities.set_index("facility_id")
    # A 500 m buffer of the boundary covers far more people than one of a point (~75 at 1 person per cell).
    assert out.loc[IDS["A"], "persons_500m"] > 200
    assert out.loc[IDS["B"], "persons_500m"] == pytest.approx(75, abs=1.5)
    assert out.geometry.geom_type.eq("Point").all()


def test_huge_plans_skip_the_xlsx_with_a_warning(tiny_project: Path, tmp_path: Path, monkeypatch):
    import riskmap.outputs.run as writer
    import riskmap.pipeline as pipeline

    riskmap.run(riskmap.load_config(tiny_project), tmp_path / "o")  # an earlier, smaller plan's workbook
    assert (tmp_path / "o" / "inspection_plan.xlsx").exists()
    monkeypatch.setattr(writer, "XLSX_MAX_ROWS", 3)
    result = riskmap.run(riskmap.load_config(tiny_project), tmp_path / "o")
    assert not (tmp_path / "o" / "inspection_plan.xlsx").exists()
    assert (tmp_path / "o" / "inspection_plan.csv").exists()
    assert any("超过 3 行时不写出 inspection_plan.xlsx" in w for w in result.warnings)
    # `riskmap plan` follows the same rule, and removes the workbook riskmap wrote for an earlier plan ...
    monkeypatch.setattr(writer, "XLSX_MAX_ROWS", 1000)
    pipeline.plan(riskmap.load_config(tiny_project), tmp_path / "o")
    monkeypatch.setattr(writer, "XLSX_MAX_ROWS", 3)
    planned = pipeline.plan(riskmap.load_config(tiny_project), tmp_path / "o")
    assert not (tmp_path / "o" / "inspection_plan.xlsx").exists()
    assert "inspection_plan_xlsx" not in planned.outputs
    assert any("超过 3 行时不写出" in w for w in planned.warnings)
    # ... but never a workbook the user made under that name.
    (tmp_path / "o" / "inspection_plan.xlsx").write_bytes(b"mine")
    planned = pipeline.plan(riskmap.load_config(tiny_project), tmp_path / "o")
    assert (tmp_path / "o" / "inspection_plan.xlsx").read_bytes() == b"mine"
    assert any("保留了 inspection_plan.xlsx：riskmap 写出后已被修改" in w for w in planned.warnings)


def test_outputs_cluster_above_is_accepted_does_nothing_and_says_so_once(tiny_project: Path, tmp_path: Path):
    """[outputs] cluster_above (deprecated): an older project file still runs, with one warning, the same map."""
    text = tiny_project.read_text(encoding="utf-8").replace("[outputs]\n", "[outputs]\nfigure = false\n")
    tiny_project.write_text(text, encoding="utf-8")
    plain = riskmap.run(riskmap.load_config(tiny_project), tmp_path / "plain")
    tiny_project.write_text(text.replace("[outputs]\n", "[outputs]\ncluster_above = 3\n"), encoding="utf-8")
    result = riskmap.run(riskmap.load_config(tiny_project), tmp_path / "old")
    said = [w for w in result.warnings if "cluster_above" in w]
    assert said == [
        "[outputs] cluster_above no longer does anything: every HTML map is the canvas map of compressed "
        "columns, whatever its size; remove the key from the project file"
    ]
    assert not [w for w in plain.warnings if "cluster_above" in w]
    assert (tmp_path / "old" / "map.html").read_bytes() == (tmp_path / "plain" / "map.html").read_bytes()
    assert "riskmapCompact(" in (tmp_path / "plain" / "map.html").read_text(encoding="utf-8")


def test_outputs_geoparquet(tiny_project: Path, tmp_path: Path):
    """[outputs] geoparquet = true writes the layers as GeoParquet; a later run without it removes them."""
    import geopandas as gpd

    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(text.replace("[outputs]\n", "[outputs]\ngeoparquet = true\n"), encoding="utf-8")
    out = tmp_path / "o"
    result = riskmap.run(riskmap.load_config(tiny_project), out)
    folder = out / "geoparquet"
    names = sorted(p.name for p in folder.glob("*.parquet"))
    assert names == sorted(
        ["facilities.parquet", "inspection_plan.parquet", "rejects.parquet"]
        + [f"zones_{k}.parquet" for k in result.zones]
    )
    fac = gpd.read_parquet(folder / "facilities.parquet")
    gpkg = pyogrio.read_dataframe(out / "riskmap.gpkg", layer="facilities")
    assert fac.crs.to_epsg() == 4490
    assert fac["facility_id"].tolist() == gpkg["facility_id"].tolist()
    assert fac["level"].tolist() == gpkg["level"].tolist()
    assert fac.geometry.geom_equals_exact(gpkg.geometry.set_crs(fac.crs, allow_override=True), 1e-9).all()
    assert "facilities_parquet" in json.loads((out / "run.json").read_text(encoding="utf-8"))["outputs"]
    tiny_project.write_text(text, encoding="utf-8")
    riskmap.run(riskmap.load_config(tiny_project), out)
    assert not list(folder.glob("*.parquet"))


def test_sector_with_an_empty_method_list_is_rejected_with_a_reason(tiny_project: Path):
    """A sector listed with [] methods: its facilities are rejected, and the reason says why (not NaN)."""
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(text.replace('"工贸" = ["ls_matrix"]', '"工贸" = []'), encoding="utf-8")
    result = riskmap.check(riskmap.load_config(tiny_project))
    rej = result.rejects[result.rejects["stage"] == "score"]
    assert len(rej) >= 1
    assert rej["reason"].notna().all()
    assert rej["reason"].str.contains("no method is listed for its sector").all()
    assert (
        result.summary["facilities_in"]
        == result.summary["facilities_scored"]
        + result.summary["facilities_unassessed"]
        + result.summary["facilities_rejected"]
    )


def test_one_point_multipoints_are_points(tiny_project: Path):
    """Shapefile exports store points as one-point MultiPoints: they are points, not plant boundaries."""
    import geopandas as gpd
    from conftest import X0, Y0, D
    from shapely.geometry import MultiPoint

    d = tiny_project.parent
    fac = pd.read_csv(d / "facilities.csv", dtype=str)
    xy = list(zip(fac["lon"].astype(float), fac["lat"].astype(float), strict=True))
    xy[1] = (X0 + D + 0.000005, Y0 + 0.005)  # B half a metre inside 西村, east of the border with 东村
    shapes = [MultiPoint([p]) for p in xy]
    shapes.append(MultiPoint([(X0 + 0.003, Y0 + 0.003), (X0 + 0.03, Y0 + 0.03)]))  # two sites under one id
    extra = pd.DataFrame([["G1", "两处厂区", "工贸"]], columns=["facility_id", "name", "sector"])
    attrs = pd.concat([fac.drop(columns=["lon", "lat"]), extra], ignore_index=True)
    gpd.GeoDataFrame(attrs, geometry=shapes, crs="EPSG:4490").to_file(d / "facilities.gpkg", driver="GPKG")
    text = tiny_project.read_text(encoding="utf-8").replace(
        'path = "facilities.csv"', 'path = "facilities.gpkg"'
    )
    tiny_project.write_text(text, encoding="utf-8")

    result = riskmap.check(riskmap.load_config(tiny_project))
    out = result.facilities.set_index("facility_id")
    assert out.geometry.geom_type.eq("Point").all()
    assert out.loc[IDS["B"], "zone_code"] == "329901001002"
    assert out["zone_assignment"].eq("within").all(), out["zone_assignment"].tolist()
    assert out.loc[IDS["A"], "persons_500m"] == pytest.approx(75, abs=1.5)  # a point's buffer, ~75 cells
    bad = result.rejects[result.rejects["record_id"] == "G1"]
    assert bad["reason"].str.contains(r"a MultiPoint of 2 points: give one point", regex=True).all()
    assert len(bad) == 1
    s = result.summary
    assert (
        s["facilities_in"]
        == s["facilities_scored"] + s["facilities_unassessed"] + s["facilities_rejected"]
        == 7
    )


# --------------------------------------------------------------------------------------------------------------
# Input hashes are taken when the inputs are read (issue 23)


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_run_json_hashes_the_inputs_as_read_not_as_resaved(tiny_project: Path, tmp_path: Path):
    """The stages run, the registers are saved again (a colleague, a sync client), then the run writes."""
    from datetime import UTC, datetime

    from riskmap.outputs.run import write_run

    d = tiny_project.parent
    names = {
        "facilities": "facilities.csv",
        "risk_points": "risk_points.csv",
        "zones_village": "boundaries.gpkg",
    }
    as_read = {key: _sha256(d / name) for key, name in names.items()}
    config = riskmap.load_config(tiny_project)
    result = riskmap.check(config)
    with open(d / "facilities.csv", "a", encoding="utf-8") as f:
        f.write(f"{IDS['G']},新企业,工贸,119.61,32.21\n")
    _edit_risk_points(d)
    write_run(config, result, tmp_path / "out", started=datetime.now(UTC))
    inputs = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))["provenance"]["inputs"]
    assert {key: inputs[key]["sha256"] for key in names} == as_read
    assert _sha256(d / "facilities.csv") != as_read["facilities"]
    meta = pyogrio.read_info(tmp_path / "out" / "riskmap.gpkg", layer="facilities")["dataset_metadata"]
    assert json.loads(meta["inputs"])["facilities"]["sha256"] == as_read["facilities"]


def _edit_risk_points(d: Path) -> None:
    rp = d / "risk_points.csv"
    rp.write_text(
        rp.read_text(encoding="utf-8").replace("P7,粉尘区域,3,3", "P7,粉尘区域,5,5"), encoding="utf-8"
    )


def test_an_input_changed_while_it_is_read_stops_the_run(tiny_project: Path, monkeypatch):
    import riskmap.io.project as project

    read = project.read_related

    def read_then_resave(config, table):
        df = read(config, table)
        if table == "risk_points":
            _edit_risk_points(tiny_project.parent)  # saved again between the hash and the end of the read
        return df

    monkeypatch.setattr(project, "read_related", read_then_resave)
    with pytest.raises(InputError, match=r"risk_points\.csv：riskmap 读取期间文件发生了变化"):
        riskmap.check(riskmap.load_config(tiny_project))


def test_a_population_raster_changed_during_the_stages_stops_the_run(tiny_project: Path, monkeypatch):
    """The raster is read by the score and zone stages, after the load stage hashed it."""
    from conftest import write_population

    import riskmap.stages as stages

    zone = stages._zone

    def resaving(*args, **kwargs):
        write_population(tiny_project.parent / "population.tif", persons_per_cell=2.0)
        return zone(*args, **kwargs)

    monkeypatch.setattr(stages, "_zone", resaving)
    with pytest.raises(InputError, match=r"population\.tif：riskmap 读取期间文件发生了变化"):
        riskmap.check(riskmap.load_config(tiny_project))


def test_each_input_is_announced_as_its_reading_starts(tiny_project: Path):
    """The CLI's progress line names the file being read: a large workbook takes a while."""
    stages: list[str] = []
    riskmap.check(riskmap.load_config(tiny_project), stage=stages.append)
    read = [s for s in stages if s.startswith("load:")]
    assert read[:2] == ["load:facilities.csv", "load:boundaries.gpkg"]
    assert {"load:inventory.csv", "load:risk_points.csv"} <= set(read)
    assert stages.index("load") < stages.index("load:facilities.csv") < stages.index("validate")


def test_no_enterprise_of_the_register_vanishes_from_the_plan(tiny_project: Path, tmp_path: Path):
    """Rejected from the map but known by an id or a name: planned as not assessed, with the reason."""
    d = tiny_project.parent
    fac = pd.read_csv(d / "facilities.csv", dtype=str)
    bad = pd.DataFrame(
        [
            ("X1", "坐标缺失公司", "工贸", "", "32.21"),  # no coordinate: planned by its id
            ("", "无编号公司", "工贸", "119.61", "32.21"),  # no id: keyed 无代码:无编号公司; no risk points
            ("", "无编号公司", "工贸", "119.62", "32.21"),  # the same name again: one enterprise
            ("", "无编号坏坐标", "工贸", "119.62", ""),  # no id and no coordinate: planned by its name
            (IDS["A"], "重复", "工贸", "119.61", "32.21"),  # a copy of an enterprise on the map: not another
            ("", "", "工贸", "119.61", "32.21"),  # neither id nor name: identifies nobody
            ("X2", "区外公司", "工贸", "118.0", "30.0"),  # outside every zone
        ],
        columns=fac.columns,
    )
    pd.concat([fac, bad]).to_csv(d / "facilities.csv", index=False)
    result = riskmap.run(riskmap.load_config(tiny_project), tmp_path / "out")
    s = result.summary
    assert (s["facilities_in"], s["facilities_scored"], s["facilities_rejected"]) == (13, 6, 7)
    plan = result.plan.plan
    off = plan[~plan["on_map"]].set_index("name")
    assert sorted(off.index) == ["区外公司", "坐标缺失公司", "无编号公司", "无编号坏坐标"]
    assert (
        off.loc["坐标缺失公司", "facility_id"] == "X1"
        and off.loc["无编号坏坐标", "facility_id"] == "无代码:无编号坏坐标"
    )
    assert off.loc["无编号公司", "facility_id"] == "无代码:无编号公司"  # once, though listed twice
    assert (off["level"] == "none").all() and (off["inspections_per_year"] == 1).all()
    assert (
        "未上图: 坐标为空, 须核实登记信息"
        in off.loc["坐标缺失公司", "plan_reason"]  # the reject reason in Chinese
    )
    assert plan["on_map"].sum() == 6 and s["enterprises_not_on_map"] == 4
    assert any("名录中有 4 家企业不在地图上" in w for w in result.warnings)
    written = pd.read_csv(tmp_path / "out" / "inspection_plan.csv", dtype=str, encoding="utf-8-sig")
    assert set(written["name"]) >= {"区外公司", "坐标缺失公司", "无编号坏坐标", "无编号公司"}
    layer = pyogrio.read_dataframe(tmp_path / "out" / "riskmap.gpkg", layer="inspection_plan")
    assert len(layer) == 10 and layer.geometry.isna().sum() == 4
    rejects = result.rejects.set_index("record_id")
    assert rejects.loc["X1", "name"] == "坐标缺失公司"  # the rejects name the enterprise too


def test_standardisation_read_from_the_register_itself(tiny_project):
    """docs/config.md suggests [standardisation] path = the register: the rows are counted once as facilities
    (was "internal error: AssertionError: row accounting broken")."""
    d = tiny_project.parent
    fac = pd.read_csv(d / "facilities.csv", dtype=str)
    fac["标准化等级"] = ["二级", "四级"] + [""] * (len(fac) - 2)
    fac.loc[2, "sector"] = ""  # a rejected facility row and a rejected grade of another row
    fac["有效期至"] = ["2027-06-30"] + [""] * (len(fac) - 1)
    fac.to_csv(d / "facilities.csv", index=False)
    text = tiny_project.read_text(encoding="utf-8")
    text += '\n[standardisation]\npath = "facilities.csv"\ncolumns = { grade = "标准化等级", valid_until = "有效期至" }\n'
    tiny_project.write_text(text, encoding="utf-8")
    result = riskmap.check(riskmap.load_config(tiny_project))
    s = result.summary
    assert (
        s["facilities_in"]
        == len(fac)
        == s["facilities_scored"] + s["facilities_unassessed"] + s["facilities_rejected"]
    )
    assert s["facilities_rejected"] == 1
    assert result.rejects["reason"].str.contains("unknown standardisation grade").sum() == 1
