from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point, box

from riskmap.errors import OutputError
from riskmap.levels import color
from riskmap.outputs.gpkg import qml_style, write_geopackage


def _layers():
    fac = gpd.GeoDataFrame(
        {"facility_id": ["A", "B"], "name": ["甲", "<b>&乙"], "level": ["red", "blue"]},
        geometry=[Point(119.6, 32.2), Point(119.61, 32.21)],
        crs="EPSG:4490",
    )
    zones = gpd.GeoDataFrame(
        {"zone_code": ["329901001001"], "zone_name": ["东村"], "level": ["red"]},
        geometry=[box(119.59, 32.19, 119.62, 32.22)],
        crs="EPSG:4490",
    )
    rejects = pd.DataFrame({"source": ["f.csv"], "row": [3], "reason": ["bad"]})
    return {"facilities": fac, "zones_village": zones, "rejects": rejects}


def test_layers_crs_metadata_and_styles_round_trip(tmp_path: Path):
    p = write_geopackage(tmp_path / "r.gpkg", _layers(), metadata={"riskmap_version": "0.1.0"})
    names = dict(pyogrio.list_layers(p))
    assert set(names) == {"facilities", "zones_village", "rejects", "layer_styles"}
    assert names["rejects"] is None and names["facilities"] == "Point"
    fac = pyogrio.read_dataframe(p, layer="facilities")
    assert fac.crs.to_epsg() == 4490 and fac["name"].tolist() == ["甲", "<b>&乙"]
    assert pyogrio.read_info(p, layer="facilities")["dataset_metadata"]["riskmap_version"] == "0.1.0"
    styles = pyogrio.read_dataframe(p, layer="layer_styles")
    assert set(styles["f_table_name"]) == {"facilities", "zones_village"}
    assert (styles["f_geometry_column"] == "geom").all() and styles["useAsDefault"].all()
    for qml in styles["styleQML"]:
        root = ET.fromstring(qml.split("\n", 1)[1])
        values = [c.get("value") for c in root.iter("category")]
        assert values == ["red", "orange", "yellow", "blue", "none"]
        r, g, b = (int(color("red")[i : i + 2], 16) for i in (1, 3, 5))
        assert any(o.get("value", "").startswith(f"{r},{g},{b},") for o in root.iter("Option"))


def test_qml_escapes_labels():
    qml = qml_style("polygon", label_field='zone"name<')
    ET.fromstring(qml.split("\n", 1)[1])  # well-formed despite the quote and bracket


@pytest.mark.skipif(
    shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo (Debian gdal-bin) is not installed"
)
def test_ogrinfo_reads_every_layer(tmp_path: Path):
    p = write_geopackage(tmp_path / "r.gpkg", _layers())
    out = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", str(p)], capture_output=True, text=True, check=True
    ).stdout
    for layer in ("facilities", "zones_village", "rejects", "layer_styles"):
        assert f"Layer name: {layer}" in out
    assert "Feature Count: 2" in out


def test_failed_write_keeps_previous_file(tmp_path: Path, monkeypatch):
    target = write_geopackage(tmp_path / "r.gpkg", _layers())
    before = target.read_bytes()
    real = pyogrio.write_dataframe
    calls = []

    def fail_on_second_layer(*args, **kwargs):
        calls.append(kwargs.get("layer"))
        if len(calls) == 2:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", fail_on_second_layer)
    with pytest.raises(OutputError, match=r"r\.gpkg: cannot write the GeoPackage: disk full"):
        write_geopackage(target, _layers())
    assert target.read_bytes() == before
    assert sorted(q.name for q in tmp_path.iterdir()) == ["r.gpkg"]


def test_unwritable_target_is_an_output_error(tmp_path: Path):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(OutputError, match=r"cannot write the GeoPackage"):
        write_geopackage(tmp_path / "file" / "r.gpkg", _layers())
