"""The catalogue of bad inputs: each entry breaks the tiny project one way and states what riskmap does.

Outcome kinds: ``error`` (the run stops with one clear message), ``reject`` (the row goes to the rejects table
with that reason, and rows in = rows scored + rows rejected), ``warning`` (the run goes on and says so), ``ok``
(riskmap reads it as intended). The README's "Data problems" table mirrors this list.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import IDS, X0, Y0, D, write_boundaries
from shapely.geometry import Polygon

import riskmap
from riskmap.errors import ConfigError, RiskmapError


def _edit_csv(path: Path, fn: Callable[[pd.DataFrame], pd.DataFrame], **to_csv) -> None:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(df).to_csv(path, index=False, **to_csv)


def _set_cell(name: str, row: int, col: str, value: str) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        def f(df: pd.DataFrame) -> pd.DataFrame:
            df.loc[row, col] = value
            return df

        _edit_csv(d / name, f)

    return edit


def _append(name: str, row: list[str]) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        _edit_csv(
            d / name, lambda df: pd.concat([df, pd.DataFrame([row], columns=df.columns)], ignore_index=True)
        )

    return edit


def _config(old: str, new: str) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        p = d / "riskmap.toml"
        text = p.read_text(encoding="utf-8")
        assert old in text, old
        p.write_text(text.replace(old, new), encoding="utf-8")

    return edit


def _swap_row(d: Path) -> None:
    def f(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[2, ["lon", "lat"]] = df.loc[2, ["lat", "lon"]].to_numpy()
        return df

    _edit_csv(d / "facilities.csv", f)


def _swap_all(d: Path) -> None:
    _edit_csv(d / "facilities.csv", lambda df: df.rename(columns={"lon": "lat", "lat": "lon"}))


def _empty_facilities(d: Path) -> None:
    (d / "facilities.csv").write_text("facility_id,name,sector,lon,lat\n", encoding="utf-8")


def _bowtie_village(d: Path) -> None:
    v = gpd.read_file(d / "boundaries.gpkg", layer="village")
    # A self-intersecting "bow tie" over 东村's square.
    v.loc[0, "geometry"] = Polygon([(X0, Y0), (X0 + D, Y0 + D), (X0 + D, Y0), (X0, Y0 + D)])
    v.to_file(d / "boundaries.gpkg", layer="village", driver="GPKG")


def _empty_zone_layer(d: Path) -> None:
    v = gpd.read_file(d / "boundaries.gpkg", layer="village").iloc[0:0]
    (d / "boundaries.gpkg").unlink()
    write_boundaries(d / "boundaries.gpkg")
    v.to_file(d / "boundaries.gpkg", layer="village", driver="GPKG")


def _encoding(enc: str) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        _edit_csv(d / "facilities.csv", lambda df: df, encoding=enc)

    return edit


def _xlsx(title_rows: int = 0, merge_sector: bool = False, as_text: bool = True) -> Callable[[Path], None]:
    """facilities.xlsx as government systems export it: title rows, merged cells, numbers stored as text."""

    def edit(d: Path) -> None:
        from openpyxl import Workbook

        df = pd.read_csv(d / "facilities.csv", dtype=str)
        wb = Workbook()
        ws = wb.active
        for i in range(title_rows):
            ws.append(["滨江区企业名录" if i == 0 else "导出日期: 2026年11月24日"])
        ws.append(list(df.columns))
        for r in df.itertuples(index=False):
            ws.append(
                [
                    v if as_text else (float(v) if c in ("lon", "lat") else v)
                    for c, v in zip(df.columns, r, strict=True)
                ]
            )
        if merge_sector:
            # C and F (rows 4 and 7 of the data) are both 工贸: merge F's sector cell with the empty cell above.
            first = title_rows + 2
            ws.cell(first + 4, 3).value = "工贸"
            ws.cell(first + 5, 3).value = None
            ws.merge_cells(start_row=first + 4, start_column=3, end_row=first + 5, end_column=3)
        wb.save(d / "facilities.xlsx")
        _config('path = "facilities.csv"', 'path = "facilities.xlsx"')(d)

    return edit


def _gcj_near_edge(d: Path) -> None:
    """Facilities picked in a map app (GCJ-02) near the district's east edge, declared as CGCS2000."""
    from riskmap.io.crs import wgs84_to_gcj02

    lon = np.array([X0 + 2 * D - 0.002] * 4)
    lat = np.array([Y0 + 0.004, Y0 + 0.012, Y0 + 0.024, Y0 + 0.036])
    glon, glat = wgs84_to_gcj02(lon, lat)
    rows = [
        [f"G{i}", f"地图选点{i}", "工贸", f"{x:.6f}", f"{y:.6f}"]
        for i, (x, y) in enumerate(zip(glon, glat, strict=True))
    ]
    _edit_csv(d / "facilities.csv", lambda df: pd.concat([df, pd.DataFrame(rows, columns=df.columns)]))
    with open(d / "risk_points.csv", "a", encoding="utf-8") as f:
        for i in range(4):
            f.write(f"G{i},Q{i},车间,2,2\n")


def _raster_in_another_crs(d: Path) -> None:
    import rasterio
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    src_path = d / "population.tif"
    with rasterio.open(src_path) as src:
        transform, w, h = calculate_default_transform(
            src.crs, "EPSG:4549", src.width, src.height, *src.bounds, resolution=50
        )
        data = np.zeros((h, w), dtype="float32")
        reproject(
            rasterio.band(src, 1),
            data,
            dst_transform=transform,
            dst_crs="EPSG:4549",
            resampling=Resampling.sum,
        )
        profile = src.profile | {"crs": "EPSG:4549", "transform": transform, "width": w, "height": h}
    with rasterio.open(d / "population_gk.tif", "w", **profile) as dst:
        dst.write(data, 1)
    _config('path = "population.tif"', 'path = "population_gk.tif"')(d)


def _zones_in_gcj02(declared: bool) -> Callable[[Path], None]:
    """Villages and towns as GeoJSON in GCJ-02 (a web map's boundaries), declared or not."""

    def edit(d: Path) -> None:
        from test_shifted_layers import _declare, _shifted_zones_geojson, _with_edge_facilities

        project = d / "riskmap.toml"
        _shifted_zones_geojson(project, "GCJ-02")
        if declared:
            _declare(project, "zones", "GCJ-02")
        else:
            _with_edge_facilities(project)  # facilities near the edge, which fall out

    return edit


# (id, how the input is broken, outcome kind, what riskmap says: a regex on the error, reject reason or warning)
CATALOGUE: list[tuple[str, Callable[[Path], None], str, str]] = [
    ("missing CRS", _config('crs = "EPSG:4490"', ""), "error", r"no declared CRS; add facilities\.crs"),
    (
        "wrong CRS (degrees declared projected)",
        _config('crs = "EPSG:4490"', 'crs = "EPSG:4549"'),
        "error",
        r"none of the 6 rows can be used: .*outside every village zone",
    ),
    ("unknown CRS", _config('crs = "EPSG:4490"', 'crs = "WGS-84-ish"'), "error", r"is not a known CRS"),
    ("swapped lat/lon in a row", _swap_row, "reject", r"look swapped"),
    ("swapped lat/lon in every row", _swap_all, "error", r"none of the 6 rows can be used: .*look swapped"),
    (
        "GCJ-02 coordinates declared as CGCS2000",
        _gcj_near_edge,
        "warning",
        r'read as GCJ-02 .*crs = "GCJ-02"',
    ),
    (
        "point outside China",
        _set_cell("facilities.csv", 1, "lon", "2.35"),
        "reject",
        r"outside every village zone",
    ),
    ("non-numeric coordinate", _set_cell("facilities.csv", 1, "lat", "北纬32度"), "reject", r"not a number"),
    ("self-intersecting zone polygon", _bowtie_village, "warning", r"repaired 1 invalid village polygons"),
    ("empty facilities layer", _empty_facilities, "error", r"facilities\.csv: the file has no data rows"),
    ("empty zone layer", _empty_zone_layer, "error", r"the village layer is empty"),
    (
        "duplicate facility id",
        _append("facilities.csv", [IDS["A"], "重复", "工贸", "119.61", "32.21"]),
        "reject",
        r"duplicate facility id; first seen at row 2",
    ),
    (
        "invalid credit code (checksum)",
        _set_cell("facilities.csv", 5, "facility_id", IDS["F"][:-1] + "0"),
        "reject",
        r"check character",
    ),
    ("CSV in GBK", _encoding("gbk"), "ok", ""),
    ("CSV in GB18030", _encoding("gb18030"), "ok", ""),
    ("CSV in UTF-8 with BOM", _encoding("utf-8-sig"), "ok", ""),
    ("XLSX with title rows above the header", _xlsx(title_rows=2), "ok", ""),
    ("XLSX with merged cells", _xlsx(merge_sector=True), "ok", ""),
    ("XLSX with numbers as numbers", _xlsx(as_text=False), "ok", ""),
    ("full-width digits", _set_cell("facilities.csv", 1, "lon", "１１９．６２５"), "ok", ""),
    ("NaN quantity", _set_cell("inventory.csv", 0, "quantity_t", "NaN"), "reject", r"not a number"),
    (
        "negative quantity",
        _set_cell("inventory.csv", 0, "quantity_t", "-5"),
        "reject",
        r"quantity \(t\) is negative",
    ),
    (
        "quantity in an unknown unit",
        _set_cell("inventory.csv", 0, "quantity_t", "200 m3"),
        "reject",
        r"unit is not understood",
    ),
    (
        "unknown substance",
        _set_cell("inventory.csv", 0, "substance", "二氧化琉"),
        "reject",
        r"unknown substance.*closest: 二氧化硫",
    ),
    (
        "unknown sector",
        _set_cell("facilities.csv", 2, "sector", "养殖业"),
        "reject",
        r"no grading method for this sector",
    ),
    (
        "risk point for an unknown facility",
        _append("risk_points.csv", ["NOPE", "P9", "x", "1", "1"]),
        "reject",
        r"no facility with this id",
    ),
    (
        "likelihood out of range",
        _set_cell("risk_points.csv", 2, "likelihood", "7"),
        "reject",
        r"likelihood must be an integer 1\.\.5",
    ),
    (
        "config typo",
        _config("[supervision]", "[supervison]"),
        "error",
        r"unknown key 'supervison'; did you mean 'supervision'",
    ),
    (
        "zone kind that names a path",
        _config('kind = "town"', 'kind = "../../town"'),
        "error",
        r"zones\[1\]\.kind",
    ),
    ("population raster in another CRS", _raster_in_another_crs, "ok", ""),
    ("zones in GCJ-02 (GeoJSON), declared", _zones_in_gcj02(declared=True), "ok", ""),
    (
        "zones in GCJ-02 (GeoJSON), undeclared",
        _zones_in_gcj02(declared=False),
        "warning",
        r'zones\[0\] \(village, village\.geojson\) looks like GCJ-02.*crs = "GCJ-02" under \[\[zones\]\]',
    ),
]


@pytest.mark.parametrize(("name", "breaks", "kind", "says"), CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_catalogue(tiny_project: Path, name, breaks, kind, says):
    baseline = riskmap.check(riskmap.load_config(tiny_project))
    breaks(tiny_project.parent)
    if kind == "error":
        with pytest.raises(RiskmapError, match=says):
            riskmap.check(riskmap.load_config(tiny_project))
        return
    result = riskmap.check(riskmap.load_config(tiny_project))
    s = result.summary
    assert s["facilities_in"] == s["facilities_scored"] + s["facilities_rejected"]
    if kind == "reject":
        assert result.rejects["reason"].str.contains(says, regex=True).any(), result.rejects[
            "reason"
        ].tolist()
    elif kind == "warning":
        assert any(pd.Series([w]).str.contains(says, regex=True).iloc[0] for w in result.warnings), (
            result.warnings
        )
    else:
        assert result.rejects.empty, result.rejects["reason"].tolist()
        got = result.facilities.set_index("facility_id")["level"].sort_index()
        want = baseline.facilities.set_index("facility_id")["level"].sort_index()
        pd.testing.assert_series_equal(got, want)
        if name == "population raster in another CRS":
            a = result.facilities.set_index("facility_id")["persons_500m"].sort_index()
            b = baseline.facilities.set_index("facility_id")["persons_500m"].sort_index()
            assert np.allclose(a, b, rtol=0.05)


def test_config_errors_are_config_errors(tiny_project: Path):
    _config("[supervision]", "[supervison]")(tiny_project.parent)
    with pytest.raises(ConfigError, match=r"did you mean"):
        riskmap.load_config(tiny_project)
