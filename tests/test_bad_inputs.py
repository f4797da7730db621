"""The catalogue of bad inputs: each entry breaks the tiny project one way and states what riskmap does.

Outcome kinds: ``error`` (the run stops with one clear message), ``reject`` (the row goes to the rejects table
with that reason, and rows in = rows scored + rows rejected), ``warning`` (the run goes on and says so), ``ok``
(riskmap reads it as intended). The README's "Data problems" table mirrors this list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import IDS, X0, Y0, D, write_boundaries
from shapely.geometry import Polygon, box

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


def _set_cells(name: str, col: str, values: dict[int, str]) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        for row, value in values.items():
            _set_cell(name, row, col, value)(d)

    return edit


def _both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        for e in edits:
            e(d)

    return edit


def _decisions(*rows: tuple[str, ...], columns: tuple[str, ...] = ()) -> Callable[[Path], None]:
    """A [decisions] table of these rows (target, level, reason, decided_by, decided_on, valid_until)."""
    names = columns or ("target", "level", "reason", "decided_by", "decided_on", "valid_until")

    def edit(d: Path) -> None:
        pd.DataFrame(list(rows), columns=list(names)).to_csv(d / "decisions.csv", index=False)
        toml = d / "riskmap.toml"
        text = toml.read_text(encoding="utf-8")
        toml.write_text(text.replace("[[zones]]", '[decisions]\npath = "decisions.csv"\n\n[[zones]]', 1))

    return edit


def _swap_row(d: Path) -> None:
    def f(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[2, ["lon", "lat"]] = df.loc[2, ["lat", "lon"]].to_numpy()
        return df

    _edit_csv(d / "facilities.csv", f)


def _swap_all(d: Path) -> None:
    _edit_csv(d / "facilities.csv", lambda df: df.rename(columns={"lon": "lat", "lat": "lon"}))


def _dms_coordinates(d: Path) -> None:
    """Every coordinate in degrees, minutes and seconds, in the three ways registers write them."""

    def dms(value: float, k: int) -> str:
        deg, rest = int(value), (value - int(value)) * 60
        marks = (("°", "'", '"'), ("°", "′", "″"), ("度", "分", "秒"))[k % 3]
        return f"{deg}{marks[0]}{int(rest):02d}{marks[1]}{(rest - int(rest)) * 60:.3f}{marks[2]}"

    def f(df: pd.DataFrame) -> pd.DataFrame:
        df["lon"] = [dms(float(v), k) for k, v in enumerate(df["lon"])]
        df["lat"] = [dms(float(v), k) for k, v in enumerate(df["lat"])]
        return df

    _edit_csv(d / "facilities.csv", f)


def _pair_in_one_cell(d: Path) -> None:
    def f(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[1, "lon"] = f"{df.loc[1, 'lon']}，{df.loc[1, 'lat']}"
        df.loc[1, "lat"] = ""
        return df

    _edit_csv(d / "facilities.csv", f)


def _systems_per_row(unknown: str | None = None) -> Callable[[Path], None]:
    """A 坐标系 column: rows 2 and 4 picked in Baidu maps (百度), row 3 in Gaode (高德), the rest blank (crs)."""

    def edit(d: Path) -> None:
        from riskmap.io.crs import wgs84_to_bd09, wgs84_to_gcj02

        def f(df: pd.DataFrame) -> pd.DataFrame:
            df["坐标系"] = ""
            for i, (written, convert) in {0: ("百度", wgs84_to_bd09), 1: ("高德", wgs84_to_gcj02),
                                          2: ("百度地图", wgs84_to_bd09)}.items():  # fmt: skip
                x, y = convert(np.array([float(df.loc[i, "lon"])]), np.array([float(df.loc[i, "lat"])]))
                df.loc[i, ["lon", "lat", "坐标系"]] = [f"{x[0]:.7f}", f"{y[0]:.7f}", written]
            if unknown:
                df.loc[3, "坐标系"] = unknown
            return df

        _edit_csv(d / "facilities.csv", f)
        _config('crs = "EPSG:4490"\n', 'crs = "EPSG:4490"\ncrs_column = "坐标系"\n')(d)

    return edit


def _mixed_systems(d: Path) -> None:
    from test_shifted_layers import _east_edge_rows

    _east_edge_rows(d / "riskmap.toml", ["GCJ-02", "BD-09"] * 6)


def _without_coordinates(village: str, twins: bool = False) -> Callable[[Path], None]:
    """丙机械厂 (row 4) without coordinates, its village ``village`` in the register's 所属村 column."""

    def edit(d: Path) -> None:
        from test_placement import _two_villages_named_alike, _with_village_column

        if twins:
            _two_villages_named_alike(d / "riskmap.toml")
        _with_village_column(d / "riskmap.toml", C={"lon": "", "lat": "", "所属村": village})

    return edit


def _village_codes(written: Callable[[str], object]) -> Callable[[Path], None]:
    """The village layer as a shapefile, its codes written as numbers or in scientific notation."""

    def edit(d: Path) -> None:
        import pyogrio

        v = gpd.read_file(d / "boundaries.gpkg", layer="village")
        v["code"] = [written(c) for c in v["code"]]
        pyogrio.write_dataframe(v, d / "village.shp", encoding="UTF-8")
        _config('path = "boundaries.gpkg"\nlayer = "village"', 'path = "village.shp"')(d)

    return edit


def _gbk_villages_without_cpg(d: Path) -> None:
    import pyogrio

    v = gpd.read_file(d / "boundaries.gpkg", layer="village")
    pyogrio.write_dataframe(v, d / "village.shp", encoding="GBK")
    (d / "village.cpg").unlink()
    dbf = bytearray((d / "village.dbf").read_bytes())
    dbf[29] = 0  # no language driver either
    (d / "village.dbf").write_bytes(bytes(dbf))
    _config('path = "boundaries.gpkg"\nlayer = "village"', 'path = "village.shp"')(d)


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


# Issue 13 item 4 and issue 14 item 3: inputs that showed a traceback or a message that did not say what to do.


def _zone_geometry(kind: str) -> Callable[[Path], None]:
    """东村 (village feature 1) as a collection of its square and a stray line, as a point, or as a line."""

    def edit(d: Path) -> None:
        from shapely.geometry import GeometryCollection, LineString, Point

        v = gpd.read_file(d / "boundaries.gpkg", layer="village")
        square = v.geometry.iloc[0]
        shape = {
            "collection": GeometryCollection([square, LineString([(X0, Y0), (X0 - D, Y0 - D)])]),
            "point": Point(X0 + D / 2, Y0 + D / 2),
        }[kind]
        v["geometry"] = v.geometry.astype(object)
        v.loc[0, "geometry"] = shape
        if kind == "point":  # every zone a point: a layer of village centres
            v["geometry"] = v.geometry.centroid
        v = gpd.GeoDataFrame(v, geometry="geometry", crs="EPSG:4490")
        (d / "boundaries.gpkg").unlink()
        write_boundaries(d / "boundaries.gpkg")
        v.to_file(d / "boundaries.gpkg", layer="village", driver="GPKG", geometry_type="Unknown")

    return edit


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


def _population(
    nodata_box: tuple[float, float, float, float] | None = None,
    shift_m: float = 0.0,
    only_corner: bool = False,
) -> Callable[[Path], None]:
    """Rewrite population.tif: nodata over a lon/lat box, moved ``shift_m`` east, or cut to one corner."""

    def edit(d: Path) -> None:
        import rasterio
        from rasterio.transform import Affine, rowcol

        path = d / "population.tif"
        with rasterio.open(path) as src:
            data, profile = src.read(1), src.profile
        t = profile["transform"]
        if nodata_box is None and not shift_m and not only_corner:
            data[:] = profile["nodata"]  # all nodata
        if nodata_box is not None:
            w, s, e, n = nodata_box
            r0, c0 = rowcol(t, w, n)
            r1, c1 = rowcol(t, e, s)
            data[max(r0, 0) : r1, max(c0, 0) : c1] = profile["nodata"]
        if only_corner:  # the south-west tenth of the district only
            h, w_ = data.shape
            data = data[int(h * 0.85) :, : int(w_ * 0.15)]
            t = Affine(t.a, t.b, t.c, t.d, t.e, t.f + t.e * int(h * 0.85))
        if shift_m:  # 500 km east: about 5.3 degrees of longitude at 32 N
            t = Affine(t.a, t.b, t.c + shift_m / (111_320 * np.cos(np.radians(Y0))), t.d, t.e, t.f)
        profile |= {"transform": t, "height": data.shape[0], "width": data.shape[1]}
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data, 1)

    return edit


def _population_undeclared(value: float, dtype: str = "float32") -> Callable[[Path], None]:
    """population.tif without a declared nodata, ``value`` over 北村 (village 329901002002, where F lies)."""

    def edit(d: Path) -> None:
        import rasterio
        from rasterio.transform import rowcol

        path = d / "population.tif"
        with rasterio.open(path) as src:
            data, profile = src.read(1).astype(dtype), src.profile
        r0, c0 = rowcol(profile["transform"], X0 + D, Y0 + 2 * D)
        r1, c1 = rowcol(profile["transform"], X0 + 2 * D, Y0 + D)
        data[r0:r1, c0:c1] = value
        profile |= {"nodata": None, "dtype": dtype}
        path.unlink()
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data, 1)

    return edit


def _write_text(name: str, fn: Callable[[str], str], encoding: str = "utf-8") -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        p = d / name
        p.write_text(fn(p.read_text(encoding="utf-8")), encoding=encoding)

    return edit


def _title_lines(*lines: str) -> Callable[[Path], None]:
    return _write_text("facilities.csv", lambda t: "".join(f"{line}\n" for line in lines) + t)


def _separated(sep: str) -> Callable[[Path], None]:
    return _write_text("facilities.csv", lambda t: t.replace(",", sep))


def _one_gbk_line(d: Path) -> None:
    lines = (d / "facilities.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    data = b"".join(line.encode("gbk" if i == 3 else "utf-8") for i, line in enumerate(lines))
    (d / "facilities.csv").write_bytes(data)


def _two_sheets(d: Path) -> None:
    """The facilities and the risk points as two sheets of one register; one facility row is bad."""
    with pd.ExcelWriter(d / "register.xlsx") as xl:
        fac = pd.read_csv(d / "facilities.csv", dtype=str)
        fac.loc[1, "lat"] = "待补"
        fac.to_excel(xl, sheet_name="企业", index=False)
        pd.read_csv(d / "risk_points.csv", dtype=str).to_excel(xl, sheet_name="风险点", index=False)
    _config('path = "facilities.csv"', 'path = "register.xlsx"\nlayer = "企业"')(d)
    _config('path = "risk_points.csv"', 'path = "register.xlsx"\nlayer = "风险点"')(d)


def _facilities_on_second_sheet(d: Path) -> None:
    with pd.ExcelWriter(d / "register.xlsx") as xl:
        pd.DataFrame({"说明": ["本表由系统导出"]}).to_excel(xl, sheet_name="说明", index=False)
        pd.read_csv(d / "facilities.csv", dtype=str).to_excel(xl, sheet_name="企业", index=False)
    _config('path = "facilities.csv"', 'path = "register.xlsx"')(d)


def _not_xlsx(content: bytes) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        (d / "facilities.xlsx").write_bytes(content or b"")
        _config('path = "facilities.csv"', 'path = "facilities.xlsx"')(d)

    return edit


def _unsaved_formulas(d: Path) -> None:
    """Latitudes as formulas (=32.205+0), written by openpyxl, which saves no calculated values."""
    from openpyxl import Workbook

    df = pd.read_csv(d / "facilities.csv", dtype=str)
    wb = Workbook()
    ws = wb.active
    ws.append(list(df.columns))
    for r in df.itertuples(index=False):
        ws.append([*r[:4], f"={r[4]}+0"])
    wb.save(d / "facilities.xlsx")
    _config('path = "facilities.csv"', 'path = "facilities.xlsx"')(d)


def _duplicate_column(d: Path) -> None:
    _write_text(
        "facilities.csv",
        lambda t: t.replace("facility_id,name,sector,lon,lat", "facility_id,name,sector,lon,name", 1),
    )(d)


def _hidden_dangers_header_only(d: Path) -> None:
    (d / "hidden_dangers.csv").write_text(
        "hazard_id,facility_id,grade,found_date,deadline,closed_date\n", encoding="utf-8"
    )
    p = d / "riskmap.toml"
    p.write_text(
        p.read_text(encoding="utf-8")
        + '\n[hidden_dangers]\npath = "hidden_dangers.csv"\n\n[[adjustment.rules]]\nname = "重大隐患"\n'
        'when = { condition = "open_major_hidden_danger" }\nraise_to = "red"\n',
        encoding="utf-8",
    )


def _overlapping_villages(d: Path) -> None:
    v = gpd.read_file(d / "boundaries.gpkg", layer="village")
    v.loc[1, "geometry"] = box(X0 + D - 0.002, Y0, X0 + 2 * D, Y0 + D)  # 西村 reaches 200 m into 东村
    v.to_file(d / "boundaries.gpkg", layer="village", driver="GPKG")


def _nine_digit_towns(d: Path) -> None:
    t = gpd.read_file(d / "boundaries.gpkg", layer="town")
    t["code"] = t["code"].str[:9]
    t.to_file(d / "boundaries.gpkg", layer="town", driver="GPKG")


def _persons_column(**persons: str) -> Callable[[Path], None]:
    """Persons within 500 m from a facility column (methods.gb18218.persons_column), by facility key."""

    def edit(d: Path) -> None:
        def f(df: pd.DataFrame) -> pd.DataFrame:
            df["persons"] = df["facility_id"].map({IDS[k]: v for k, v in persons.items()}).fillna("10")
            return df

        _edit_csv(d / "facilities.csv", f)
        _config("[supervision]", '[methods.gb18218]\npersons_column = "persons"\n\n[supervision]')(d)

    return edit


def _accident_twice(d: Path) -> None:
    """One 较大 accident of 戊商场 (blue) listed twice, under a rule that makes two of them red."""
    (d / "accidents.csv").write_text(
        "accident_id,facility_id,date,class,deaths\n"
        f"SG-7,{IDS['E']},2026-05-01,较大,3\nsg-7,{IDS['E']},2026/5/1,较大事故,3\n",
        encoding="utf-8",
    )
    _config(
        "[population]",
        '[accidents]\npath = "accidents.csv"\n\n[adjustment]\nas_of = 2026-11-24\n\n[[adjustment.rules]]\n'
        'when = { condition = "accident", within_months = 36, classes = ["较大"], min_count = 2 }\n'
        'raise_to = "red"\n\n[population]',
    )(d)


def _gauss_krueger_as_degrees(d: Path) -> None:
    """The facilities' x/y in CGCS2000 3-degree Gauss-Krüger zone 40 (EPSG:4528), the CRS left at EPSG:4490."""
    from pyproj import Transformer

    to_gk = Transformer.from_crs(4490, 4528, always_xy=True)

    def f(df: pd.DataFrame) -> pd.DataFrame:
        x, y = to_gk.transform(df["lon"].astype(float).to_numpy(), df["lat"].astype(float).to_numpy())
        return df.assign(lon=[f"{v:.1f}" for v in x], lat=[f"{v:.1f}" for v in y])

    _edit_csv(d / "facilities.csv", f)


def _deep_toml(d: Path) -> None:
    p = d / "riskmap.toml"
    p.write_text(p.read_text(encoding="utf-8") + "\n[extra]\nvalue = " + "[" * 5000 + "]" * 5000 + "\n")


def _indicator_for_crowded_places(occupancy: str, also_ls: bool) -> Callable[[Path], None]:
    """人员密集场所 (E, 戊商场) graded by an occupancy indicator (0..100,000 persons), E's cell ``occupancy``."""

    def edit(d: Path) -> None:
        _edit_csv(
            d / "facilities.csv",
            lambda df: df.assign(occupancy=np.where(df["facility_id"] == IDS["E"], occupancy, "")),
        )
        methods = '["indicator", "ls_matrix"]' if also_ls else '["indicator"]'
        _config('"人员密集场所" = ["ls_matrix"]', f'"人员密集场所" = {methods}')(d)
        _config(
            "[supervision]",
            '[methods.indicator.indicators.occupancy]\ncolumn = "occupancy"\nweight = 1\nmax = 100000\n\n'
            "[supervision]",
        )(d)

    return edit


def _towns_shifted(metres: float) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        from shapely import affinity

        t = gpd.read_file(d / "boundaries.gpkg", layer="town")
        t["geometry"] = t.geometry.map(lambda g: affinity.translate(g, xoff=metres / 94_300))
        t.to_file(d / "boundaries.gpkg", layer="town", driver="GPKG")

    return edit


def _grades_in_the_facility_file(break_row: Callable[[Path], None]) -> Callable[[Path], None]:
    """Standardisation grades kept as facility columns ([standardisation] reads facilities.csv), one row broken."""

    def edit(d: Path) -> None:
        _edit_csv(d / "facilities.csv", lambda df: df.assign(std_grade="二级", std_until="2027-12-31"))
        _config(
            "[population]",
            '[standardisation]\npath = "facilities.csv"\ncolumns = { grade = "std_grade", valid_until = '
            '"std_until" }\n\n[population]',
        )(d)
        break_row(d)

    return edit


#: ASCII digits and capitals to their full-width forms (０-９, Ａ-Ｚ), as Chinese input methods type them.
_FULL_WIDTH = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"})


def _hidden_danger_as_of(found: str, as_of: str) -> Callable[[Path], None]:
    """One hidden danger found on ``found`` (closed a week later) and ``adjustment.as_of`` set to ``as_of``."""

    def edit(d: Path) -> None:
        pd.DataFrame(
            [("YH1", IDS["A"], "一般", found, "", found[:-2] + "28")],
            columns=["hazard_id", "facility_id", "grade", "found_date", "deadline", "closed_date"],
        ).to_csv(d / "hidden_dangers.csv", index=False)
        _config("[supervision]", '[hidden_dangers]\npath = "hidden_dangers.csv"\n\n[supervision]')(d)
        _config("[supervision]", f"[adjustment]\nas_of = {as_of}\n\n[supervision]")(d)

    return edit


def _ledger(*rows: tuple[str, ...], toml: str = "") -> Callable[[Path], None]:
    """A hidden-danger ledger with a 整改状态 column (rows: key of the facility or its id, grade, found, deadline,
    closed, status) and ``toml`` added to its section; no adjustment rule, so the levels stay the method's."""

    def edit(d: Path) -> None:
        pd.DataFrame(
            [(f"YH{i}", IDS.get(k, k), *rest) for i, (k, *rest) in enumerate(rows, start=1)],
            columns=[
                "hazard_id",
                "facility_id",
                "grade",
                "found_date",
                "deadline",
                "closed_date",
                "整改状态",
            ],
        ).to_csv(d / "hidden_dangers.csv", index=False)
        section = '[hidden_dangers]\npath = "hidden_dangers.csv"\ncolumns = { status = "整改状态" }\n' + toml
        _config("[supervision]", f"{section}\n[supervision]")(d)

    return edit


def _standardisation_grade(grade: str, valid_until: str) -> Callable[[Path], None]:
    """A standardisation table giving 丙机械厂 (C) ``grade`` valid until ``valid_until``."""

    def edit(d: Path) -> None:
        pd.DataFrame(
            [(IDS["C"], grade, valid_until)], columns=["facility_id", "grade", "valid_until"]
        ).to_csv(d / "standardisation.csv", index=False)
        _config("[supervision]", '[standardisation]\npath = "standardisation.csv"\n\n[supervision]')(d)

    return edit


def _risk_points_by_name(
    names: dict[str, str], point_ids: dict[str, str] | None = None
) -> Callable[[Path], None]:
    """Risk points keyed by enterprise name (``names``: point id -> name, its facility id left empty), with
    ``[risk_points] match_by_name = true``; ``point_ids`` renames facilities in the register (id -> name)."""

    def edit(d: Path) -> None:
        def f(df: pd.DataFrame) -> pd.DataFrame:
            df["企业名称"] = ""
            for point, name in names.items():
                df.loc[df["point_id"] == point, ["facility_id", "企业名称"]] = ["", name]
            return df

        _edit_csv(d / "risk_points.csv", f)
        for key, name in (point_ids or {}).items():
            _edit_csv(d / "facilities.csv", lambda df, k=key, n=name: df.assign(
                name=df["name"].where(df["facility_id"] != IDS[k], n)))  # fmt: skip
        _config(
            '[risk_points]\npath = "risk_points.csv"\n',
            '[risk_points]\npath = "risk_points.csv"\ncolumns = { name = "企业名称" }\nmatch_by_name = true\n',
        )(d)

    return edit


# (id, how the input is broken, outcome kind, what riskmap says: a regex on the error, reject reason or warning)
CATALOGUE: list[tuple[str, Callable[[Path], None], str, str]] = [
    (
        "missing CRS",
        _config('crs = "EPSG:4490"', ""),
        "error",
        r"坐标没有声明坐标系；请在项目文件中添加 facilities\.crs",
    ),
    (
        "wrong CRS (degrees declared projected)",
        _config('crs = "EPSG:4490"', 'crs = "EPSG:4549"'),
        "error",
        r"6 行中没有一行可用：.*企业不在任何村/社区区域内",  # the reasons in the run's language
    ),
    (
        "unknown CRS",
        _config('crs = "EPSG:4490"', 'crs = "WGS-84-ish"'),
        "error",
        r"'WGS-84-ish' 不是已知的坐标系",
    ),
    (
        "swapped lat/lon in a row",
        _swap_row,
        "warning",
        r"^1 行企业的经度和纬度填反了.*已对调后读取（第 4 行）：请在文件中对调$",
    ),
    (
        "swapped lat/lon in every row",
        _swap_all,
        "warning",
        r'^6 行企业的经度和纬度填反了.*：每一行的 x 和 y 都填反了：请在 \[facilities\] 下设置 x = "lat"、y = "lon"$',
    ),
    (
        "GCJ-02 coordinates declared as CGCS2000",
        _gcj_near_edge,
        "warning",
        r'若将企业坐标按 GCJ-02 读取.*crs = "GCJ-02"',
    ),
    (
        "point outside China",
        _set_cell("facilities.csv", 1, "lon", "2.35"),
        "reject",
        r"outside every village zone",
    ),
    ("non-numeric coordinate", _set_cell("facilities.csv", 1, "lat", "待补"), "reject", r"not a number"),
    (
        "coordinate in whole degrees (北纬32度)",
        _set_cell("facilities.csv", 1, "lat", "北纬32度"),
        "reject",
        r"^the coordinate '北纬32度' gives whole degrees only \(±50 km\)",
    ),
    ("coordinates in degrees, minutes and seconds", _dms_coordinates, "ok", ""),
    ("x and y in one cell, the y column empty", _pair_in_one_cell, "ok", ""),
    ("坐标系 column: rows picked in Baidu and Gaode maps (crs_column)", _systems_per_row(), "ok", ""),
    (
        "坐标系 value riskmap does not know",
        _systems_per_row("北京54"),
        "reject",
        r"^坐标系 '北京54' is not a coordinate system riskmap knows: write one of 百度, .*crs_values",
    ),
    (
        "register mixing GCJ-02 and BD-09 rows without crs_column",
        _mixed_systems,
        "warning",
        r"^6 行按 GCJ-02 读取时与其所在村（社区）区域更吻合，6 行按 BD-09，按声明的坐标系（EPSG:4490）则不然.*crs_column",
    ),
    (
        "enterprise without coordinates, its village in the register (zone_column)",
        _without_coordinates("北村"),
        "warning",
        r"^1 家企业没有可用坐标，已按 所属村 落位于该列所指区域内的一点（第 4 行；坐标为空 \(1\)",
    ),
    (
        "enterprise without coordinates, its village name not in the village layer",
        _without_coordinates("北材"),
        "reject",
        r"^the coordinate is empty, and not placed by 所属村: 所属村 '北材' matches no village zone \(did you mean 北村\?\)",
    ),
    (
        "enterprise without coordinates, a village name two towns share",
        _without_coordinates("东村", twins=True),
        "reject",
        r"所属村 '东村' matches 2 village zones: 329901001001 东村 \(甲镇\), 329901002001 东村 \(乙镇\): give "
        r"\[facilities\] town_column or the 12-digit code",
    ),
    (
        "village codes stored as numbers (329901001001.0)",
        _village_codes(float),
        "warning",
        r"村（社区）代码以数字存储（329901001001\.0）：已读作 329901001001",
    ),  # fmt: skip
    (
        "village codes in scientific notation (3.29901E+11)",
        _village_codes(lambda c: "3.29901E+11"),
        "error",
        r"4 个村（社区）代码是科学计数法（3\.29901E\+11；要素 1, 2, 3, 4）.*末几位数字已丢失",
    ),
    (
        "village shapefile in GBK without a .cpg",
        _gbk_villages_without_cpg,
        "warning",
        r"已按国内 GIS 导出常用的 GB18030（GBK）读取",
    ),
    (
        "self-intersecting zone polygon",
        _bowtie_village,
        "warning",
        r"已用 make_valid 修复 1 个无效的村（社区）多边形",
    ),
    ("empty facilities layer", _empty_facilities, "error", r"facilities\.csv：文件中没有数据行"),
    (
        "empty zone layer",
        _empty_zone_layer,
        "error",
        r"村（社区）图层没有要素；请提供含村（社区）多边形的图层",
    ),
    (
        "duplicate facility id",
        _append("facilities.csv", [IDS["A"], "重复", "工贸", "119.61", "32.21"]),
        "reject",
        r"duplicate facility id; first seen at row 2",
    ),
    (
        "lower-case copy of a credit code",
        _append("facilities.csv", [IDS["A"].lower(), "甲化工(副本)", "危险化学品", "119.605", "32.205"]),
        "reject",
        r"duplicate facility id; first seen at row 2",
    ),
    (
        "full-width copy of a credit code with spaces",
        _append(
            "facilities.csv",
            [
                " ".join(IDS["C"][i : i + 6] for i in (0, 6, 12)).translate(_FULL_WIDTH),
                "丙",
                "工贸",
                "119.6",
                "32.2",
            ],
        ),
        "reject",
        r"duplicate facility id; first seen at row 4",
    ),
    (
        "risk point keyed by the lower-case credit code",
        _set_cell("risk_points.csv", 2, "facility_id", IDS["C"].lower()),
        "ok",
        "",
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
        "quantity with a decimal comma",
        _set_cell("inventory.csv", 0, "quantity_t", "2,5"),
        "reject",
        r"^'2,5': ambiguous decimal comma; write 2\.5",
    ),
    (
        "quantity with thousands dots and a decimal comma",
        _set_cell("inventory.csv", 0, "quantity_t", "1.234,5"),
        "reject",
        r"^'1\.234,5': ambiguous decimal comma with dots for thousands; write 1234\.5",
    ),
    (
        "quantity with a Chinese comma",
        _set_cell("inventory.csv", 0, "quantity_t", "2，5吨"),
        "reject",
        r"^'2,5': ambiguous decimal comma; write 2\.5",
    ),
    (
        "coordinate with a decimal comma",
        _set_cell("facilities.csv", 1, "lon", "119,62"),
        "reject",
        r"^the coordinate is '119,62': ambiguous decimal comma; write 119\.62",
    ),
    ("quantity with a thousands separator", _set_cell("inventory.csv", 0, "quantity_t", "0,200"), "ok", ""),
    (
        "negative quantity",
        _set_cell("inventory.csv", 0, "quantity_t", "-5"),
        "reject",
        r"quantity \(t\) is negative",
    ),
    (
        "quantity in an unknown unit",
        _set_cell("inventory.csv", 0, "quantity_t", "200 桶"),
        "reject",
        r"the unit '桶' is not understood",
    ),
    (
        "one file column mapped to two roles (likelihood and lec_l)",
        _config(
            '[risk_points]\npath = "risk_points.csv"\n',
            '[risk_points]\npath = "risk_points.csv"\ncolumns = { lec_l = "likelihood" }\n',
        ),
        "ok",
        "",
    ),
    (
        "sector spelled 危化品, 工贸企业, 城镇燃气",
        _set_cells("facilities.csv", "sector", {0: "危化品", 2: "工贸企业", 1: "城镇燃气"}),
        "ok",
        "",
    ),
    (
        "the office's own sector spelling mapped in the project file",
        _both(
            _set_cell("facilities.csv", 5, "sector", "机械加工"),
            _config(
                "[scoring.sectors]",
                '[scoring]\nsector_aliases = { "机械加工" = "工贸" }\n\n[scoring.sectors]',
            ),
        ),
        "ok",
        "",
    ),
    (
        "unknown sector, listed once",
        _set_cell("facilities.csv", 2, "sector", "工贸业"),
        "warning",
        r"1 个行业既不在 \[scoring\.sectors\] 中，也不是其中某个行业的已知写法：工贸业（共 1 行；是否为 工贸？）",
    ),
    (
        "unknown sector with unassessed = grey",
        _both(
            _set_cell("facilities.csv", 2, "sector", "养殖业"),
            _config("[scoring.sectors]", '[scoring]\nunassessed = "grey"\n\n[scoring.sectors]'),
        ),
        "warning",
        r"养殖业（共 1 行）；其 1 家企业保留为未评估",
    ),
    (
        "sector alias to a sector that is not configured",
        _config(
            "[scoring.sectors]", '[scoring]\nsector_aliases = { "机械加工" = "机械" }\n\n[scoring.sectors]'
        ),
        "error",
        r"sector_aliases\['机械加工'\]：行业 '机械' 不在 \[scoring\.sectors\] 中",
    ),
    (
        "substance as a trade name (92#车用汽油)",
        _set_cell("inventory.csv", 1, "substance", "92#车用汽油"),
        "ok",
        "",
    ),
    ("diesel written 0#柴油 (GB 18218 W5.4)", _set_cell("inventory.csv", 2, "substance", "0#柴油"), "ok", ""),
    (
        "ammonia solution (氨水) is not ammonia",
        _set_cell("inventory.csv", 0, "substance", "氨水"),
        "reject",
        r"氨水 \(ammonia solution\) is not 氨",
    ),
    (
        "implausible density in [inventory] densities",
        _config(
            '[inventory]\npath = "inventory.csv"\n',
            '[inventory]\npath = "inventory.csv"\ndensities = { "CNG" = 180 }\n',
        ),
        "error",
        r"densities\['CNG'\] = 180：以 t/m³ 计的密度须大于 0 且不超过 25",
    ),
    ("persons written 45人 and 约45", _persons_column(A="约45", C="45人"), "ok", ""),
    (
        "blank persons cell, no population raster",
        _both(_persons_column(A=""), _config('[population]\npath = "population.tif"\n', "")),
        "reject",
        r"the persons within 500 m \(persons\) cannot be used: the cell is empty and no \[population\] raster",
    ),
    ("blank persons cell with a population raster", _persons_column(A=""), "ok", ""),
    (
        "persons in households (45户)",
        _persons_column(A="45户"),
        "reject",
        r"'45户' is not a count of persons \(户\)",
    ),
    (
        "population raster covering half the buffer of a major hazard",
        _population(nodata_box=(X0 - 0.01, Y0 - 0.01, X0 + 0.005, Y0 + 0.012)),
        "ok",
        "",
    ),
    (
        "quantity as a volume of a substance without a density",
        _set_cell("inventory.csv", 0, "quantity_t", "200 m3"),
        "reject",
        r"the quantity is a volume \(m3\) and no density is known for '二氧化硫': set \[inventory\] densities = "
        r"\{ \"二氧化硫\" = <t per m³> \}",
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
        r"未知的键 'supervison'；是否想写 'supervision'",
    ),
    (
        "zone kind that names a path",
        _config('kind = "town"', 'kind = "../../town"'),
        "error",
        r"zones\[1\]\.kind",
    ),
    ("population raster in another CRS", _raster_in_another_crs, "ok", ""),
    (
        "baseline rule on a column the facility file lacks",
        lambda d: (
            _config('"工贸" = ["ls_matrix"]', '"工贸" = ["baseline", "ls_matrix"]')(d),
            _config(
                "[supervision]",
                '[[methods.baseline.rules]]\nwhen = { column = "涉爆粉尘", equals = "是" }\nlevel = "orange"\n\n'
                "[supervision]",
            )(d),
        ),
        "error",
        r"facilities\.csv：没有 methods\.baseline\.rules\[0\]\.when\.column 所需的“涉爆粉尘”列",
    ),
    (
        "zone that is a geometry collection",
        _zone_geometry("collection"),
        "warning",
        r"boundaries\.gpkg：1 个村（社区）要素是几何集合（要素 1）；只保留其中的多边形",
    ),
    (
        "zone layer of points",
        _zone_geometry("point"),
        "error",
        r"要素 1, 2, 3, 4 是 Point，不是多边形",
    ),
    (
        "control characters in a name",
        _set_cell("facilities.csv", 1, "name", "乙加\x0b油站\x01"),
        "warning",
        r"facilities\.csv：已将 1 个单元格中的制表符/换行替换为空格并删除控制字符（第 3 行）",
    ),
    ("facilities and risk points as sheets of one workbook", _two_sheets, "reject", r"not a number"),
    (
        "XLSX whose first sheet is not the data",
        _facilities_on_second_sheet,
        "error",
        r"第一个工作表 '说明' 的表头没有 .*而工作表 '企业' 有：请在项目文件中为该文件设置 layer = \"企业\"",
    ),
    ("CSV separated by ;", _separated(";"), "ok", ""),
    ("CSV separated by tabs", _separated("\t"), "ok", ""),
    ("UTF-8 CSV with one GBK line", _one_gbk_line, "error", r"文件是 UTF-8 编码，但第 4 行不是 UTF-8"),
    ("0-byte XLSX", _not_xlsx(b""), "error", r"不是 Excel/WPS 工作簿：文件为空"),
    (
        "CSV renamed .xlsx",
        _not_xlsx(b"facility_id,name\n1,a\n"),
        "error",
        r"不是 Excel/WPS 工作簿：看起来是以 \.xlsx 命名的文本（CSV）文件",
    ),
    (
        "XLSX formulas without saved values",
        _unsaved_formulas,
        "error",
        r"有 6 个单元格含公式但没有保存计算结果（E2,",
    ),
    (
        "id mangled by Excel",
        _set_cell("facilities.csv", 1, "facility_id", "9.13299E+17"),
        "reject",
        r"turned into a number by Excel",
    ),
    (
        "duplicate column names",
        _duplicate_column,
        "error",
        r"有重复的列名：“name”（第 2, 5 列）",
    ),
    ("CSV with a title line", _title_lines("XX市安全生产重点企业名单（2026年第四季度）"), "ok", ""),
    (
        "CSV with two title lines",
        _title_lines("XX市安全生产重点企业名单", "导出日期：2026年11月24日"),
        "ok",
        "",
    ),
    ("CSV with a title line and trailing commas", _title_lines("XX市安全生产重点企业名单,,,,"), "ok", ""),
    (
        "overlapping zone polygons",
        _overlapping_villages,
        "warning",
        r"^boundaries\.gpkg：有 1 对村（社区）区域相互重叠（329901001001 与 329901001002：4\d\d,\d{3} 平方米）",
    ),
    (
        "town codes of 9 digits under 12-digit village codes",
        _nine_digit_towns,
        "warning",
        r"^乡镇（街道）：2 个区域代码中有 2 个不是 12 位区划代码（如 329901001, 329901002）",
    ),
    (
        "district code that is not 6 digits",
        _config('district_code = "329901"', 'district_code = "32990"'),
        "warning",
        r"^project\.district_code '32990' 不是 6 位县级代码",
    ),
    (
        "related table with a header and no rows",
        lambda d: _edit_csv(d / "inventory.csv", lambda df: df.iloc[0:0]),
        "warning",
        r"^inventory\.csv（\[inventory\]）只有表头没有数据行：方法 gb18218 对任何企业都没有数据",
    ),
    (
        "related table none of whose rows matches a facility",
        lambda d: _edit_csv(d / "risk_points.csv", lambda df: df.assign(facility_id="91329901MA9999999X")),
        "warning",
        r"^risk_points\.csv（\[risk_points\]）有 7 行，但没有一行属于地图上的企业.*：方法 ls_matrix 对任何企业都没有数据",
    ),
    (
        "hidden-danger table with a header and no rows",
        _hidden_dangers_header_only,
        "warning",
        r"^hidden_dangers\.csv（\[hidden_dangers\]）只有表头没有数据行：动态调整规则 重大隐患 对任何企业都没有数据",
    ),
    (
        "population raster all nodata",
        _population(),
        "error",
        r"population\.tif：6 家企业中有 6 家的 500 m 缓冲区内人口栅格没有数据：栅格范围为经度 119\.590\.\.119\.650.*企业范围为经度 119\.60",
    ),
    (
        "population raster over one corner of the district",
        _population(only_corner=True),
        "error",
        r"6 家企业中有 [56] 家的 500 m 缓冲区内人口栅格没有数据",
    ),
    (
        "population raster shifted 500 km",
        _population(shift_m=500_000),
        "error",
        r"6 家企业中有 6 家的 500 m 缓冲区内人口栅格没有数据：栅格范围为经度 124\.",
    ),
    (
        "population raster with nodata around a major hazard",
        _population(nodata_box=(X0 - 0.01, Y0 - 0.01, X0 + 0.012, Y0 + 0.012)),
        "reject",
        r"^population raster covers 0% of the 500 m buffer \(no data there\): .* α",
    ),
    (
        "population raster with nodata over part of a village",
        _population(nodata_box=(X0, Y0 + 0.032, X0 + D, Y0 + 2 * D)),
        "warning",
        r"人口栅格对 1 个村（社区）区域的覆盖不足 90%（329901002001 南村 \(60%\)）.*偏低",
    ),
    (
        "negative persons within 500 m of a major hazard",
        _persons_column(A="-60", B="-5"),  # A is a major hazard (S = 10); B's S < 1, α does not matter
        "reject",
        r"^the persons within 500 m \(persons\) cannot be used: '-60' is negative: GB 18218 α and the grade "
        r"are unknown",
    ),
    (
        "accident listed twice (same accident_id)",
        _accident_twice,
        "reject",
        r"^duplicate accident_id for the same facility; first seen at row 2 \(counted once\)$",
    ),
    (
        "inventory row listed twice",
        _append("inventory.csv", [IDS["A"], "1#罐区", "二氧化硫", "200"]),
        "reject",
        r"^duplicate row: the same as an earlier row in every column; first seen at row 2",
    ),
    (
        "population raster with -9999 cells and no declared nodata",
        _population_undeclared(-9999),
        "warning",
        r"^population\.tif：3,600 个像元中有 400 个取值为 -9999（400 个像元），且栅格未声明无数据值：这些像元按无数据处理",
    ),
    (
        "population raster with negative cells",
        _population_undeclared(-3, "int16"),
        "warning",
        r"^population\.tif：3,600 个像元中有 400 个取值为 -3（400 个像元），且栅格未声明无数据值",
    ),
    (
        "quantity beyond floating point (1e400)",
        _set_cell("inventory.csv", 0, "quantity_t", "1e400"),
        "reject",
        r"^the quantity \(t\) '1e400' is not a finite number$",
    ),
    (
        "quantity above 10,000,000 t",
        _set_cell("inventory.csv", 0, "quantity_t", "2e7"),
        "reject",
        r"^the quantity \(t\) is implausible: above 10,000,000 t in one row",
    ),
    (
        "indicator cells with units, 约 or 万 (3000人, 约2000, 0.5万)",
        _indicator_for_crowded_places("约2000人", also_ls=True),
        "ok",
        "",
    ),
    (
        "negative indicator value (occupancy)",
        _indicator_for_crowded_places("-300", also_ls=False),
        "reject",
        r"no method could grade this facility: indicator: occupancy \(occupancy\) missing or not understood: "
        r"'-300' is negative",
    ),
    (
        "indicator cell that is a bound (3000以上)",
        _indicator_for_crowded_places("3000以上", also_ls=False),
        "reject",
        r"'3000以上' is a bound \(以上\), not a value",
    ),
    (
        "town polygons 3 km off their villages (codes matching)",
        _towns_shifted(3000),
        "warning",
        r"^4 个村（社区）区域中有 2 个位于按代码所属的乡镇（街道）.*之外超过 500 米（中位数 2\.1 公里；"
        r"329901001001 东村, 329901002001 南村）：乡镇（街道）图层可能加了偏移",
    ),
    (
        "projected metres declared as degrees (Gauss-Krüger x/y, crs EPSG:4490)",
        _gauss_krueger_as_degrees,
        "error",
        r"6 行中没有一行可用：.*经纬度超出范围.*高斯-克吕格第 40 带.*"
        r'设置 facilities\.crs = "EPSG:4528"',
    ),
    (
        "project file nested thousands deep",
        _deep_toml,
        "error",
        r"riskmap\.toml：数组或表嵌套过深",
    ),
    (
        "grades kept as facility columns, a facility row rejected",
        _grades_in_the_facility_file(_set_cell("facilities.csv", 1, "lat", "待补")),
        "reject",
        r"^the coordinate is not a number$",
    ),
    (
        "grades kept as facility columns, a facility row listed twice",
        _grades_in_the_facility_file(
            _append(
                "facilities.csv",
                [
                    IDS["C"],
                    "丙机械厂",
                    "工贸",
                    f"{X0 + 0.035:.6f}",
                    f"{Y0 + 0.015:.6f}",
                    "二级",
                    "2027-12-31",
                ],
            )
        ),
        "reject",
        r"^duplicate facility id; first seen at row 4$",
    ),
    (
        "password with spaces around = in the PostGIS connection string",
        _config("[outputs]\n", '[outputs]\npostgis = "host=127.0.0.1 dbname=gis password = Sekr3t"\n'),
        "error",
        r"outputs：postgis：项目文件中不允许写密码",
    ),
    (
        "upper-case POSTGRESQL:// URL with a password as the facilities path",
        _config(
            'path = "facilities.csv"',
            'path = "POSTGRESQL://reader:Sekr3t@127.0.0.1/platform"\nlayer = "public.x"',
        ),
        "error",
        r"riskmap\.toml：facilities：项目文件中不允许写密码（密码会随文件流转）",
    ),
    ("zones in GCJ-02 (GeoJSON), declared", _zones_in_gcj02(declared=True), "ok", ""),
    (
        "zones in GCJ-02 (GeoJSON), undeclared",
        _zones_in_gcj02(declared=False),
        "warning",
        r'zones\[0\]（村（社区）图层，village\.geojson）看起来是 GCJ-02 坐标.*请在 \[\[zones\]\] 下为该图层.*设置 crs = "GCJ-02"',
    ),
    (
        "as-of date after the plan year",
        _config("[supervision]", "[adjustment]\nas_of = 2028-03-01\n\n[supervision]"),
        "warning",
        r"数据截至日期 2028-03-01（adjustment\.as_of） 晚于计划年度 2027（supervision\.year）",
    ),
    (
        "as-of date before every dated record",
        _hidden_danger_as_of("2026-03-01", "2025-12-31"),
        "warning",
        r"2025-12-31（adjustment\.as_of） 早于所有带日期的记录（最早的：hidden_dangers\.csv found_date 2026-03-01）",
    ),
    (
        "as-of date more than a year after the latest hidden danger",
        _hidden_danger_as_of("2024-03-01", "2026-11-24"),
        "warning",
        r"2026-11-24（adjustment\.as_of） 比最近一条隐患记录（hidden_dangers\.csv closed_date 2024-03-28）晚 971 天",
    ),
    (
        "hidden danger rectified by its status, without a closed date (已整改)",
        _ledger(("E", "重大", "2026-03-01", "2026-04-01", "", "已整改")),
        "warning",
        r"^hidden_dangers\.csv：1 条隐患按状态已销号（已整改 1）但没有销号日期：无论截至日期如何均按已销号计",
    ),
    (
        "hidden danger whose status is open but a closed date is given",
        _ledger(("E", "重大", "2026-03-01", "2026-04-01", "2026-03-20", "未整改")),
        "warning",
        r"^hidden_dangers\.csv：1 条隐患状态为未整改（未整改 1）却有销号日期：按未整改计（以状态为准）",
    ),
    (
        "unknown rectification status (挂牌督办)",
        _ledger(("E", "重大", "2026-03-01", "", "", "挂牌督办")),
        "reject",
        r"^unknown rectification status \(整改状态\); accepted: 已整改, .* \(closed\); 未整改, .* \(open\); add "
        r"others with \[hidden_dangers\] status_values",
    ),
    (
        "rectification status spelled the office's way, declared in status_values",
        _ledger(
            ("E", "重大", "2026-03-01", "", "", "挂牌督办"), toml='status_values = { "挂牌督办" = "open" }\n'
        ),
        "ok",
        "",
    ),
    (
        "status column mapped but missing from the file",
        lambda d: (
            _ledger(("E", "一般", "2026-03-01", "", "", ""))(d),
            _edit_csv(d / "hidden_dangers.csv", lambda df: df.drop(columns=["整改状态"])),
        ),
        "error",
        r"hidden_dangers\.csv：没有“整改状态”列",
    ),
    (
        "found date without a year (3月5日)",
        _ledger(("E", "一般", "3月5日", "", "", "")),
        "reject",
        r"^the found date has no year; write the year too",
    ),
    (
        "dates to the month and in compact or dotted forms (2026年5月, 2026.5, 20260301, 2026.3.1)",
        _ledger(
            ("E", "一般", "20260301", "2026年5月", "2026.5", "已整改"), ("F", "一般", "2026.3.1", "", "", "")
        ),
        "ok",
        "",
    ),
    (
        "standardisation grade 达标 without its grade",
        _standardisation_grade("达标", "2026.5"),
        "reject",
        r"^达标 \(meets the standard\) names no grade: level unknown; write 一级, 二级 or 三级",
    ),
    (
        "standardisation grade as written (安全生产标准化三级, valid until 2027年5月)",
        _standardisation_grade("安全生产标准化三级", "2027年5月"),
        "ok",
        "",
    ),
    ("standardisation grade Ⅲ级 (a Roman numeral)", _standardisation_grade("Ⅲ级", "2027.5"), "ok", ""),
    ("standardisation grade 未创建 (none)", _standardisation_grade("未创建", ""), "ok", ""),
    (
        "facility id written 无 (or /, -, 暂无, N/A)",
        _set_cell("facilities.csv", 1, "facility_id", "无"),
        "warning",
        r"1 家企业没有编号（第 3 行）：在地图和计划中以其名称（无代码:",
    ),
    (
        "old 15-digit business registration number as a facility id",
        lambda d: (
            _set_cell("facilities.csv", 4, "facility_id", "329901100012345")(d),
            _set_cell("risk_points.csv", 5, "facility_id", "329901100012345")(d),
        ),
        "warning",
        r"^facilities\.csv：1 个企业编号是旧的 15 位工商注册号（如第 6 行的 329901100012345），已作为编号接受",
    ),
    (
        "risk point without an id, matched by the enterprise name (match_by_name)",
        _risk_points_by_name({"P7": "己工厂", "P6": " 戊商场 "}),
        "ok",
        "",
    ),
    (
        "risk point without an id whose name is two facilities'",
        _risk_points_by_name({"P7": "己工厂"}, {"C": "己工厂"}),
        "reject",
        r"^the enterprise name matches several facilities; give the facility id \(candidates: 91329901MA0000003\w, "
        r"91329901MA0000006\w\)$",
    ),
    (
        "decision for a target that is neither a facility nor a zone",
        _decisions(("91329901MA9999999X", "red", "搬迁", "安委办", "2026-01-01", "")),
        "reject",
        r"^no facility with this id and no zone with this code",
    ),
    (
        "decision with a level that is none of the four",
        _decisions((IDS["C"], "紫色", "搬迁", "安委办", "2026-01-01", "")),
        "reject",
        r"^not a risk level; write red, orange, yellow or blue",
    ),
    (
        "decision without a reason",
        _decisions((IDS["C"], "blue", "", "安委办", "2026-01-01", "")),
        "reject",
        r"^the decision gives no reason",
    ),
    (
        "decision without its decider",
        _decisions((IDS["C"], "blue", "停产", "", "2026-01-01", "")),
        "reject",
        r"^the decision does not say who decided it",
    ),
    (
        "decision dated on a day that does not exist",
        _decisions((IDS["C"], "blue", "停产", "安委办", "2026-02-30", "")),
        "reject",
        r"^the date of the decision is not a date",
    ),
    (
        "two decisions for one target in force on the as-of date",
        _decisions(
            ("329901001002", "red", "会商一", "安委办", "2026-01-01", ""),
            ("329901001002", "blue", "会商二", "安委办", "2026-02-01", ""),
        ),
        "reject",
        r"^2 decisions for this target are in force on \S+ \(rows 2, 3\); none is applied",
    ),
    (
        "decision that has expired",
        _decisions((IDS["C"], "blue", "停产", "安委办", "2025-01-01", "2025-12-31")),
        "warning",
        r"^decisions\.csv：1 条研判在评估基准日 \S+ 之前已到期（valid_until），未采用：91329901MA0000003\w \(2\)",
    ),
    (
        "decision dated after the as-of date",
        _decisions((IDS["C"], "blue", "停产", "安委办", "2099-01-01", "")),
        "warning",
        r"^decisions\.csv：1 条研判的日期晚于评估基准日 \S+，尚未生效",
    ),
    (
        "decisions table without its decided_by column",
        _decisions(
            (IDS["C"], "blue", "停产", "2026-01-01"), columns=("target", "level", "reason", "decided_on")
        ),
        "error",
        r"decisions\.csv.*decided_by",
    ),
    (
        "risk point without an id whose name is no facility's",
        _risk_points_by_name({"P7": "己工厂（二厂）"}),
        "reject",
        r"^no facility with this name in the facilities layer \(and no id\)",
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
    assert (
        s["facilities_in"] == s["facilities_scored"] + s["facilities_unassessed"] + s["facilities_rejected"]
    )
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
    with pytest.raises(ConfigError, match=r"是否想写"):
        riskmap.load_config(tiny_project)


def test_baseline_rule_column_listed_by_validate(tiny_project: Path):
    from riskmap.pipeline import preflight

    breaks = next(c[1] for c in CATALOGUE if c[0] == "baseline rule on a column the facility file lacks")
    breaks(tiny_project.parent)
    problems = preflight(riskmap.load_config(tiny_project))
    assert any(
        "没有“涉爆粉尘”列（请将 methods.baseline.rules[0].when.column 设为文件中的列名）" in p
        for p in problems
    ), problems


def test_sheets_of_one_workbook_are_told_apart_in_the_rejects(tiny_project: Path):
    _two_sheets(tiny_project.parent)
    result = riskmap.check(riskmap.load_config(tiny_project))
    bad = result.rejects[result.rejects["reason"].str.contains("not a number")]
    assert bad[["source", "row"]].values.tolist() == [["register.xlsx:企业", 3]]
    assert result.summary["facilities_rejected"] == 1
    # The risk points of the rejected facility are rejects of the other sheet, not of the facilities.
    assert {"register.xlsx:企业", "register.xlsx:风险点", "inventory.csv"} == set(result.rejects["source"])


def test_rows_below_csv_title_lines_keep_their_line_numbers(tiny_project: Path):
    _set_cell("facilities.csv", 1, "lat", "待补")(tiny_project.parent)
    _title_lines("XX市安全生产重点企业名单", "导出日期：2026年11月24日")(tiny_project.parent)
    result = riskmap.check(riskmap.load_config(tiny_project))
    # Line 1-2 titles, line 3 the header, line 4 the first facility, line 5 the second (the bad one).
    fac = result.rejects[result.rejects["source"] == "facilities.csv"]
    assert fac[["row", "field"]].values.tolist() == [[5, "lat"]]


def test_a_name_with_control_characters_reaches_every_output(tiny_project: Path, tmp_path: Path):
    from openpyxl import load_workbook

    _set_cell("facilities.csv", 1, "name", "乙加\x0b油站\x00\x01")(tiny_project.parent)
    result = riskmap.run(riskmap.load_config(tiny_project), tmp_path / "out")
    assert "乙加 油站" in result.facilities["name"].tolist()
    wb = load_workbook(tmp_path / "out" / "inspection_plan.xlsx")
    names = [c.value for c in wb["inspection_plan"]["B"]] + [c.value for c in wb["inspection_plan"]["C"]]
    assert "乙加 油站" in names


# The inputs of issue 13 item 4 and issue 14 item 3, through the CLI: one clear line, never a traceback.
_CLI_CASES = [
    c
    for c in CATALOGUE
    if c[0]
    in {
        "zone that is a geometry collection",
        "zone layer of points",
        "control characters in a name",
        "facilities and risk points as sheets of one workbook",
        "XLSX whose first sheet is not the data",
        "UTF-8 CSV with one GBK line",
        "0-byte XLSX",
        "CSV renamed .xlsx",
        "XLSX formulas without saved values",
        "duplicate column names",
        "CSV with a title line",
        "empty zone layer",
        "project file nested thousands deep",
        "projected metres declared as degrees (Gauss-Krüger x/y, crs EPSG:4490)",
        "password with spaces around = in the PostGIS connection string",
        "upper-case POSTGRESQL:// URL with a password as the facilities path",
    }
]


#: The exit status a catalogue case deserves: an error stops both commands (1); ``validate`` also exits 1 when it
#: lists problem rows (rejects); a warning or a clean input lets both finish (0).
_CLI_EXIT = {"error": {"run": 1, "validate": 1}, "reject": {"run": 0, "validate": 1},
             "warning": {"run": 0, "validate": 0}, "ok": {"run": 0, "validate": 0}}  # fmt: skip
_ROWS_LINE = re.compile(r"^输入 (\d+) 行 = 已评级 (\d+) \+ 已剔除 (\d+)$")


@pytest.mark.parametrize(("name", "breaks", "kind", "says"), _CLI_CASES, ids=[c[0] for c in _CLI_CASES])
@pytest.mark.parametrize("command", ["run", "validate"])
def test_cli_says_one_line_without_traceback(
    tiny_project: Path, tmp_path: Path, command, name, breaks, kind, says
):
    """What the user sees of each case: the exit status it deserves, and its error line, its warning line or its
    reject (validate lists the row, run counts it and writes it to rejects.csv), or a clean summary."""
    from typer.testing import CliRunner

    from riskmap.cli import app

    breaks(tiny_project.parent)
    out = tmp_path / "out"
    args = [command, str(tiny_project)] + (["--out", str(out)] if command == "run" else [])
    r = CliRunner().invoke(app, args)
    assert r.exit_code == _CLI_EXIT[kind][command], r.output
    lines = r.output.splitlines()
    if kind == "error":
        _shows_one_error_line(lines, says)
        return
    _shows_its_warnings(lines, kind, says)
    if command == "validate":
        _validate_lists_its_rejects(lines, kind, says)
    else:
        _run_counts_its_rejects(lines, kind, says, out)


def _shows_one_error_line(lines: list[str], says: str) -> None:
    """One line says the error (``error: …``, or validate's one problem under its heading), and nothing else."""
    if lines and lines[0].startswith("输入文件有 1 个问题"):
        lines = lines[1:]
    assert len(lines) == 1 and re.search(says, lines[0]), lines
    assert lines[0].startswith(("错误：", "error: ", "  ")), lines


def _shows_its_warnings(lines: list[str], kind: str, says: str) -> None:
    warned = [ln for ln in lines if ln.startswith(("警告：", "warning: "))]
    if kind == "warning":
        assert [ln for ln in warned if re.search(says, ln)], lines
    elif kind == "ok":
        assert warned == [], lines


def _validate_lists_its_rejects(lines: list[str], kind: str, says: str) -> None:
    if kind == "reject":
        # One line a rejected row: `facilities.csv 第 3 行，字段“lat”：'待补' — the reason`.
        rows = [ln for ln in lines if re.match(r"^  \S+ 第 [\d?]+ 行，字段“[^”]+”：.* — ", ln)]
        # The reasons are listed in the run's language (Chinese in the tests); ``says`` is the English one.
        reasons = [ln.split(" — ", 1)[1] for ln in rows]
        assert reasons and all(re.search(r"[\u3400-\u9fff]", r) for r in reasons), lines
        assert "未发现问题" not in " ".join(lines)
    else:
        assert lines[-1].startswith("通过：") and lines[-1].endswith("家企业，未发现问题"), lines


def _run_counts_its_rejects(lines: list[str], kind: str, says: str, out: Path) -> None:
    (counts,) = [m for m in map(_ROWS_LINE.match, lines) if m]
    total, scored, rejected = map(int, counts.groups())
    assert total == scored + rejected and scored > 0, counts.group(0)
    written = pd.read_csv(out / "rejects.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    # A Chinese run (the tests' locale) writes the reason in Chinese and the English beside it.
    assert written["reason"].str.contains(r"[\u3400-\u9fff]").all(), written["reason"].tolist()
    reasons = written["reason_en"] if "reason_en" in written.columns else written["reason"]
    if kind == "reject":
        assert rejected > 0 and [ln for ln in lines if ln.startswith("剔除：")], lines
        assert reasons.str.contains(says, regex=True).any(), reasons.tolist()
    elif kind == "ok":
        assert rejected == 0 and reasons.empty, (lines, reasons.tolist())


def test_refused_persons_reject_only_major_hazards(tiny_project: Path):
    """A negative persons cell became 0 persons (α 0.5, a lower grade): now the major hazard is rejected."""
    _persons_column(A="-60", B="-5", C="约80人")(tiny_project.parent)
    result = riskmap.check(riskmap.load_config(tiny_project))
    assert result.rejects["record_id"].tolist() == [IDS["A"]]
    fac = result.facilities.set_index("facility_id")
    assert IDS["B"] in fac.index and fac.loc[IDS["C"], "persons_500m"] == 80
    assert "_persons_problem" not in result.facilities.columns


def test_one_column_for_the_l_of_lec_and_of_the_ls_matrix(tiny_project: Path):
    """A risk-point table with columns L, S, E, C: L is the likelihood of an LS point and the L of an LEC point
    (``likelihood = "L"``, ``lec_l = "L"``). It was "internal error: KeyError"; now both methods read L."""
    d = tiny_project.parent

    def lec_for_d(df: pd.DataFrame) -> pd.DataFrame:
        df = df.rename(columns={"likelihood": "L", "severity": "S"}).assign(E="", C="")
        df.loc[df["point_id"] == "P5", ["L", "S", "E", "C"]] = ["6", "", "3", "15"]  # D = 270: orange
        return df

    _edit_csv(d / "risk_points.csv", lec_for_d)
    _config(
        '[risk_points]\npath = "risk_points.csv"\n',
        '[risk_points]\npath = "risk_points.csv"\n'
        'columns = { likelihood = "L", severity = "S", lec_l = "L", lec_e = "E", lec_c = "C" }\n',
    )(d)
    _config('"建筑施工" = ["ls_matrix"]', '"建筑施工" = ["lec", "ls_matrix"]')(d)
    result = riskmap.check(riskmap.load_config(tiny_project))
    assert result.rejects.empty, result.rejects["reason"].tolist()
    fac = result.facilities.set_index("facility_id")
    assert fac.loc[IDS["D"], ["level", "method"]].tolist() == ["orange", "lec"]
    assert "D=6×3×15=270" in fac.loc[IDS["D"], "reasons"].replace(" ", ""), fac.loc[IDS["D"], "reasons"]
    assert fac.loc[IDS["C"], "level"] == "red"  # LS 5 x 5 from the same L column


@pytest.mark.parametrize("value", [-9999.0, float(np.finfo("float32").min), -3.0])
def test_undeclared_nodata_never_gives_negative_persons(tiny_project: Path, value: float):
    """-9999 cells and no declared nodata gave negative persons within 500 m and negative village populations."""
    _population_undeclared(value)(tiny_project.parent)
    result = riskmap.check(riskmap.load_config(tiny_project))
    assert (result.facilities["persons_500m"] >= 0).all()
    for kind, zones in result.zones.items():
        assert (zones["population"] >= 0).all(), kind
    village = result.zones["village"].set_index("zone_code")
    assert village.loc["329901002002", "population"] <= 20  # one row of cells is left; the rest is unknown:
    assert any(
        re.search(r"人口栅格对 1 个村（社区）区域的覆盖不足 90%（329901002002 北村 \(5%\)）", w)
        for w in result.warnings
    )
    assert village.loc["329901001001", "population"] == 400  # 20 x 20 cells of 1 person


# The output folder, the Word template and the earlier run of issue 23: one clear line, before the grading stage
# (but for a folder named like an output, which is known only once the outputs are made), never an internal error.


def _manifest_listing(manifest: str, name: str) -> Callable[[Path, Path], list[str]]:
    def setup(d: Path, out: Path) -> list[str]:
        out.mkdir()
        (out / manifest).write_text(json.dumps({"manifest": {name: {"sha256": "0" * 64}}}), encoding="utf-8")
        return []

    return setup


def _folder_named_like_an_output(d: Path, out: Path) -> list[str]:
    (out / "map.html").mkdir(parents=True)
    (out / "map.html" / "index.html").write_text("the user's own site", encoding="utf-8")
    return ["--force"]


def _lock_folder(d: Path, out: Path) -> list[str]:
    (out / ".riskmap-lock").mkdir(parents=True)
    return []


def _bad_template(kind: str) -> Callable[[Path, Path], list[str]]:
    def setup(d: Path, out: Path) -> list[str]:
        from bad_templates import BAD_TEMPLATES

        return ["--template", str(BAD_TEMPLATES[kind](d / "office.docx"))]

    return setup


def _previous_without_gpkg(d: Path, out: Path) -> list[str]:
    (d / "earlier").mkdir()
    return ["--previous", str(d / "earlier")]


_TEMPLATE = r"office\.docx："
#: name, what it does to the project folder and the output folder (returns extra arguments), command, message.
OUTPUT_CATALOGUE = [
    ("run.json manifest listing ../x", _manifest_listing("run.json", "../x"), "run",
     r"不是 riskmap 的输出文件夹：run\.json 列出了 '\.\./x'（不是文件夹内的普通文件名）"),
    ("plan.json manifest listing an absolute path", _manifest_listing("plan.json", "/etc/hostname"), "plan",
     r"不是 riskmap 的输出文件夹：plan\.json 列出了 '/etc/hostname'"),
    ("changes.json manifest listing a drive and backslashes", _manifest_listing("changes.json", "C:\\x\\y"),
     "run", r"不是 riskmap 的输出文件夹：changes\.json 列出了 'C:\\\\x\\\\y'"),
    ("folder named like an output, with --force", _folder_named_like_an_output, "run",
     r"无法把新文件放到位：map\.html（是文件夹）；riskmap 从不替换文件夹"),
    (".riskmap-lock is a folder", _lock_folder, "run",
     r"\.riskmap-lock：是一个文件夹；riskmap 的锁文件使用这个名称"),
    ("output path too long", lambda d, out: ["--out", str(out / ("x" * 300))], "run",
     r"不能作为输出目录：文件名过长；请另选 --out"),
    ("--template that is a .docm", _bad_template("docm"), "report",
     _TEMPLATE + r"这是启用宏的文档（\.docm/\.dotm）"),
    ("--template that is a .doc", _bad_template("doc"), "report",
     _TEMPLATE + r"这是 Word 97-2003 文档（\.doc）"),
    ("--template that is plain text", _bad_template("text"), "report",
     _TEMPLATE + r"不是 Word 文档（\.docx 是 zip 压缩包"),
    ("--template that is an empty zip", _bad_template("empty zip"), "report",
     _TEMPLATE + r"不是 Word 文档（压缩包中没有 \[Content_Types\]\.xml 或 word/document\.xml"),
    ("--template with an entity bomb in word/document.xml", _bad_template("laughs in document.xml"), "report",
     _TEMPLATE + r"word/document\.xml 声明了 DTD 或实体"),
    ("--template with an entity bomb in word/styles.xml", _bad_template("laughs in styles.xml"), "report",
     _TEMPLATE + r"word/styles\.xml 声明了 DTD 或实体"),
    ("--template with an external entity", _bad_template("external entity"), "report",
     _TEMPLATE + r"word/document\.xml 声明了 DTD 或实体"),
    ("--template that is a zip bomb", _bad_template("zip bomb"), "report",
     _TEMPLATE + r"word/document\.xml 由 \d+ KB 解压为 64 MB（疑似 zip 炸弹）"),
    ("--previous folder without riskmap.gpkg", _previous_without_gpkg, "report",
     r"earlier：文件夹中没有 riskmap\.gpkg；请给出某次运行的 riskmap\.gpkg 或其输出文件夹"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "setup", "command", "says"), OUTPUT_CATALOGUE, ids=[c[0] for c in OUTPUT_CATALOGUE]
)
def test_output_catalogue(tiny_project: Path, tmp_path: Path, monkeypatch, name, setup, command, says):
    from typer.testing import CliRunner

    import riskmap.pipeline as pipeline
    from riskmap.cli import app

    out = tmp_path / "out"
    extra = setup(tiny_project.parent, out)
    read = []
    real = pipeline.read_inputs
    monkeypatch.setattr(pipeline, "read_inputs", lambda *a, **k: read.append(1) or real(*a, **k))
    args = [command, str(tiny_project), "--out", str(out), *extra]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 1, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：") and re.search(says, lines[0]), r.output
    assert read == ([1] if name.startswith("folder named like") else [])  # said before the grading stage


def test_init_onto_a_file(tmp_path: Path):
    from typer.testing import CliRunner

    from riskmap.cli import app

    (tmp_path / "afile").write_text("mine")
    r = CliRunner().invoke(app, ["init", str(tmp_path / "afile")])
    assert r.exit_code == 1 and r.output.strip().splitlines() == [
        f"错误：{tmp_path / 'afile'}：是文件而不是目录；请选择新的或空的目录"
    ]


# --------------------------------------------------------------------------------------------------------------
# Runs compared (riskmap diff, report --previous): what riskmap does with an earlier run that is not what it wrote.


def _a_run(
    path: Path, district: str = "329901", ids: str = "ABCDEF", levels: list[str] | None = None
) -> Path:
    """A riskmap.gpkg as a run writes it: facilities (ids of the tiny district) and villages, with metadata."""
    from shapely.geometry import Point

    from riskmap.outputs.gpkg import write_geopackage

    levels = levels or ["yellow", "yellow", "red", "orange", "blue", "yellow"]
    fac = gpd.GeoDataFrame(
        {
            "facility_id": [IDS[k] if k in IDS else k for k in ids],
            "name": list(ids),
            "sector": "工贸",
            "level": levels[: len(ids)],
            "reasons": "",
        },
        geometry=[Point(X0 + 0.003 * i, Y0 + 0.003) for i in range(len(ids))],
        crs="EPSG:4490",
    )
    villages = gpd.GeoDataFrame(
        {"zone_code": ["329901001001"], "zone_name": ["东村"], "level": ["red"], "reason": ["就高"]},
        geometry=[box(X0, Y0, X0 + D, Y0 + D)],
        crs="EPSG:4490",
    )
    metadata = {"riskmap_version": riskmap.__version__, "district_code": district, "project": "测试区"}
    return write_geopackage(path, {"facilities": fac, "zones_village": villages}, metadata=metadata)


def _bytes(make: Callable[[bytes], bytes]) -> Callable[[Path, Path], Path]:
    def edit(good: Path, tmp: Path) -> Path:
        (tmp / "previous.gpkg").write_bytes(make(good.read_bytes()))
        return tmp / "previous.gpkg"

    return edit


def _damaged_pages(data: bytes) -> bytes:
    page = int.from_bytes(data[16:18], "big")
    return data[:page] + b"\x5a" * (len(data) - page)  # every page but the first overwritten


def _zipped(good: Path, tmp: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(tmp / "previous.gpkg", "w") as z:
        z.write(good, "riskmap.gpkg")
    return tmp / "previous.gpkg"


def _plain_sqlite(good: Path, tmp: Path) -> Path:
    import sqlite3

    with sqlite3.connect(tmp / "previous.gpkg") as db:
        db.execute("CREATE TABLE facilities (facility_id TEXT, level TEXT)")
    return tmp / "previous.gpkg"


def _layers_edited(edit: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame]) -> Callable[[Path, Path], Path]:
    def make(good: Path, tmp: Path) -> Path:
        from riskmap.outputs.gpkg import write_geopackage

        layers = {n: gpd.read_file(good, layer=n) for n in ("facilities", "zones_village")}
        layers["facilities"] = edit(layers["facilities"])
        return write_geopackage(tmp / "previous.gpkg", layers, metadata={"district_code": "329901"})

    return make


def _no_facilities_layer(good: Path, tmp: Path) -> Path:
    from riskmap.outputs.gpkg import write_geopackage

    return write_geopackage(
        tmp / "previous.gpkg", {"zones_village": gpd.read_file(good, layer="zones_village")}
    )


_QGIS_LABELS = {"red": "重大风险", "orange": "橙", "yellow": "一般风险", "blue": "蓝色"}

# (id, how the earlier run is broken: (a good run, tmp folder) -> the earlier run, what riskmap says or "ok")
COMPARED_RUNS: list[tuple[str, Callable[[Path, Path], Path], str]] = [
    (
        "earlier run: GeoPackage cut short (interrupted copy)",
        _bytes(lambda b: b[: len(b) // 3]),
        r"previous\.gpkg：riskmap GeoPackage 不完整：只有 [\d,]+ 字节中的 [\d,]+ 字节（复制或下载中断？）",
    ),
    ("earlier run: an empty file", _bytes(lambda b: b""), r"previous\.gpkg：文件为空（0 字节）"),
    (
        "earlier run: a text file named .gpkg",
        _bytes(lambda b: "风险等级\n".encode()),
        r"previous\.gpkg：不是 riskmap GeoPackage：该文件不是 SQLite 数据库",
    ),
    (
        "earlier run: a ZIP archive named .gpkg",
        _zipped,
        r"不是 riskmap GeoPackage：该文件是 ZIP 压缩包",
    ),
    ("earlier run: an SQLite file, not a GeoPackage", _plain_sqlite, r"该文件是其他类型的 SQLite 数据库"),
    (
        "earlier run: damaged pages",
        _bytes(_damaged_pages),
        r"previous\.gpkg：无法读取 riskmap GeoPackage：文件已损坏（database disk image is malformed）",
    ),
    (
        "earlier run: no facilities layer",
        _no_facilities_layer,
        r"previous\.gpkg：没有 facilities 图层（图层：zones",
    ),
    (
        "earlier run: level column removed",
        _layers_edited(lambda f: f.drop(columns="level")),
        r"previous\.gpkg：图层 facilities 没有 level 列",
    ),
    (
        "earlier run: a level edited to purple",
        _layers_edited(lambda f: f.assign(level=f["level"].where(f.index != 2, "purple"))),
        r"previous\.gpkg：图层 facilities：有 1 行的等级 riskmap 无法识别：'purple'（1 行，第一个是 "
        + IDS["C"],
    ),
    (
        "earlier run: levels as Chinese labels (edited in QGIS)",
        _layers_edited(lambda f: f.assign(level=f["level"].map(_QGIS_LABELS))),
        "ok",
    ),
    (
        "earlier run of another district (district_code)",
        lambda good, tmp: _a_run(tmp / "previous.gpkg", district="320102"),
        r"看来是不同区县的运行结果（那次运行的 district_code 为 320102，这次为 329901）.*--compare-anyway",
    ),
    (
        "earlier run with no facility id in common",
        lambda good, tmp: _a_run(tmp / "previous.gpkg", district="", ids="UVWXYZ"),
        r"看来是不同区县的运行结果（较小一次运行的 6 个企业编号中只有 0 个在两次运行中都有）",
    ),
]


@pytest.mark.parametrize(("name", "breaks", "says"), COMPARED_RUNS, ids=[c[0] for c in COMPARED_RUNS])
def test_compared_runs(tmp_path: Path, name: str, breaks: Callable[[Path, Path], Path], says: str):
    from riskmap.compare import diff_runs

    good = _a_run(tmp_path / "good.gpkg")
    previous = breaks(good, tmp_path)
    if says == "ok":
        diff = diff_runs(previous, good)
        assert diff.table().empty and diff.counts["facilities"]["unchanged"] == 6
        return
    with pytest.raises(RiskmapError, match=says) as caught:
        diff_runs(previous, good)
    message = str(caught.value)
    assert "\n" not in message and "sqlite3_" not in message and "DRIVER" not in message, message
