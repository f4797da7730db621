"""Persons within the GB 18218 radius: the register's column as written, the population raster, and both.

The tiny district (tests/conftest.py): 甲化工 (A) holds 200 t of SO2 (S = 10, β 2), a major hazard installation
whose grade turns on α; the raster is one person per 0.001° cell, about 75 persons within 500 m of A.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import IDS, X0

import riskmap


def _persons(project: Path, **cells: str) -> None:
    """A persons column (``methods.gb18218.persons_column``) with a cell per facility key; others: 10."""
    path = project.parent / "facilities.csv"
    fac = pd.read_csv(path, dtype=str, keep_default_na=False)
    fac["周边500米内人数"] = fac["facility_id"].map({IDS[k]: v for k, v in cells.items()}).fillna("10")
    fac.to_csv(path, index=False)
    text = project.read_text(encoding="utf-8")
    if "persons_column" not in text:
        text = text.replace(
            "[supervision]", '[methods.gb18218]\npersons_column = "周边500米内人数"\n\n[supervision]'
        )
        project.write_text(text, encoding="utf-8")


def _without_population(project: Path) -> None:
    text = project.read_text(encoding="utf-8").replace('[population]\npath = "population.tif"\n', "")
    project.write_text(text, encoding="utf-8")


def _raster_from(project: Path, west: float) -> None:
    """The population raster cut at longitude ``west``: cells west of it are gone (outside its extent)."""
    import rasterio
    from rasterio.transform import Affine

    path = project.parent / "population.tif"
    with rasterio.open(path) as src:
        data, profile = src.read(1), src.profile
    t = profile["transform"]
    first = int(round((west - t.c) / t.a))
    profile |= {
        "transform": Affine(t.a, t.b, t.c + first * t.a, t.d, t.e, t.f),
        "width": data.shape[1] - first,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data[:, first:], 1)


def _check(project: Path) -> riskmap.RunResult:
    return riskmap.check(riskmap.load_config(project))


def _facility(result: riskmap.RunResult, key: str) -> pd.Series:
    return result.facilities.set_index("facility_id").loc[IDS[key]]


def test_blank_persons_cell_falls_back_to_the_raster(tiny_project: Path):
    """A blank cell was 0 persons (α 0.5): with a [population] raster it is the raster's count, and says so."""
    _persons(tiny_project, A="")
    a = _facility(_check(tiny_project), "A")
    assert a["persons_500m"] == pytest.approx(75, abs=1)
    assert "α=1.5" in a["reasons"] and "人数栏为空" in a["reasons"] and "population raster" in a["reasons_en"]


def test_blank_persons_cell_without_a_raster_rejects_the_major_hazard(tiny_project: Path):
    _persons(tiny_project, A="", B="")
    _without_population(tiny_project)
    result = _check(tiny_project)
    rejected = result.rejects.set_index("record_id")
    assert list(rejected.index) == [IDS["A"]]  # B is no major hazard: α does not enter its level
    reason = rejected.loc[IDS["A"], "reason"]
    assert "周边500米内人数" in reason and "empty" in reason and "[population]" in reason, reason
    s = result.summary
    assert (
        s["facilities_in"]
        == s["facilities_scored"] + s["facilities_unassessed"] + s["facilities_rejected"]
        == 6
    )
    assert pd.isna(_facility(result, "B")["persons_500m"])  # unknown, not 0


@pytest.mark.parametrize(("cell", "note"), [("45人", ""), ("约45", "约45"), ("45 名", ""), ("0.0045万", "")])
def test_persons_as_written(tiny_project: Path, cell: str, note: str):
    """45 persons (α 1.2): R = 1.2 x 2 x 10 = 24, 三级; an approximate number is read and noted."""
    _persons(tiny_project, A=cell)
    a = _facility(_check(tiny_project), "A")
    assert a["persons_500m"] == 45 and "α=1.2" in a["reasons"]
    assert (f"“{note}”" in a["reasons"]) == bool(note), a["reasons"]
    assert (f"'{note}'" in a["reasons_en"]) == bool(note), a["reasons_en"]


@pytest.mark.parametrize(("cell", "says"), [("45户", "户"), ("30%", "percent"), ("约", "not a number")])
def test_persons_that_are_not_a_count_reject_the_major_hazard(tiny_project: Path, cell: str, says: str):
    _persons(tiny_project, A=cell)
    rejected = _check(tiny_project).rejects.set_index("record_id")
    assert list(rejected.index) == [IDS["A"]]
    assert says in rejected.loc[IDS["A"], "reason"]


def test_major_hazard_at_the_raster_edge_is_graded_as_a_lower_bound(tiny_project: Path):
    """The raster begins at A's longitude: half of its buffer is outside. It was rejected; now it is graded from
    the persons found (~37: α 1.2, R = 24, 三级), flagged as a lower bound."""
    _raster_from(tiny_project, X0 + 0.005)
    result = _check(tiny_project)
    assert result.rejects.empty, result.rejects["reason"].tolist()
    a = _facility(result, "A")
    assert a["persons_500m"] == pytest.approx(37.5, abs=1.5) and a["level"] == "yellow"
    assert "α=1.2" in a["reasons"]
    assert "人口栅格仅覆盖缓冲区的 50%，α 按已覆盖部分计，为下限" in a["reasons"], a["reasons"]
    assert "covers only 50% of the 500 m buffer" in a["reasons_en"] and "lower bound" in a["reasons_en"]
    # Not a major hazard: α does not enter its level, no flag.
    assert "下限" not in _facility(result, "D")["reasons"]


def test_edge_flag_only_below_min_coverage(tiny_project: Path):
    _raster_from(tiny_project, X0 + 0.005)
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(
        text.replace('path = "population.tif"', 'path = "population.tif"\nmin_coverage = 0.4')
    )
    assert "下限" not in _facility(_check(tiny_project), "A")["reasons"]


def test_blank_cell_at_the_raster_edge(tiny_project: Path):
    """The county case: the register leaves the cell blank, the raster covers half of the buffer."""
    _raster_from(tiny_project, X0 + 0.005)
    _persons(tiny_project, A="")
    a = _facility(_check(tiny_project), "A")
    assert a["persons_500m"] == pytest.approx(37.5, abs=1.5)
    assert "人数栏为空" in a["reasons"] and "为下限" in a["reasons"]


def test_buffer_without_any_coverage(tiny_project: Path):
    """No data at all around A: unknown, rejected; unless the register gives its persons."""
    _raster_from(tiny_project, X0 + 0.012)  # A's buffer reaches X0 + 0.0103
    _persons(tiny_project, A="", C="")
    rejected = _check(tiny_project).rejects.set_index("record_id")
    assert list(rejected.index) == [IDS["A"]]
    assert "covers 0% of the 500 m buffer" in rejected.loc[IDS["A"], "reason"]
    _persons(tiny_project, A="60")
    result = _check(tiny_project)
    assert result.rejects.empty and _facility(result, "A")["persons_500m"] == 60


def test_persons_column_is_named_by_the_radius(tiny_project: Path, tmp_path: Path):
    """``persons_500m`` kept its name with ``buffer_m = 1000``: the column, the layer and the message say 1000 m."""
    import pyogrio

    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(
        text.replace("[supervision]", "[methods.gb18218]\nbuffer_m = 1000\n\n[supervision]")
    )
    result = riskmap.run(riskmap.load_config(tiny_project), tmp_path / "o")
    assert "persons_1000m" in result.facilities.columns and "persons_500m" not in result.facilities.columns
    # Four times the area of the 500 m buffer, at one person per cell: about 4 x 75.
    assert _facility(result, "A")["persons_1000m"] == pytest.approx(300, rel=0.05)
    layer = pyogrio.read_dataframe(tmp_path / "o" / "riskmap.gpkg", layer="facilities", read_geometry=False)
    assert "persons_1000m" in layer.columns and "persons_500m" not in layer.columns

    _without_population(tiny_project)
    with pytest.raises(riskmap.InputError, match=r"GB 18218 需要每家企业周边 1000 米内的人数"):
        _check(tiny_project)
