from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point, box

from riskmap._resources import styles_dir
from riskmap.errors import OutputError
from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED, color, label
from riskmap.outputs.gpkg import QML_STYLES, qml_style, write_geopackage, write_qml_files

#: GDAL's GeoPackage validator as Debian's python3-gdal installs it; it needs only sqlite3 to run.
VALIDATOR = Path(
    os.environ.get(
        "RISKMAP_VALIDATE_GPKG", "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py"
    )
)
SYSTEM_PYTHON = "/usr/bin/python3"
METADATA = {
    "riskmap_version": "0.1.0",
    "config_hash": "ab12" * 16,
    "inputs": json.dumps({"facilities": {"path": "f.csv", "sha256": "cd34" * 16}}),
    "as_of": "2025-06-30",
}


def _layers():
    fac = gpd.GeoDataFrame(
        {
            "facility_id": ["A", "B"],
            "name": ["甲", "<b>&乙"],
            "level": ["red", "blue"],
            # Naive and non-UTC datetimes: a GeoPackage DATETIME must be UTC with a "Z".
            "found": pd.to_datetime(["2025-01-02 03:04:05", "2025-02-03 04:05:06"]),
            "checked": pd.to_datetime(["2025-01-02 11:00", "2025-02-03 12:00"]).tz_localize("Asia/Shanghai"),
        },
        geometry=[Point(119.6, 32.2), Point(119.61, 32.21)],
        crs="EPSG:4490",
    )
    zones = gpd.GeoDataFrame(
        {"zone_code": ["329901001001"], "zone_name": ["东村"], "level": ["red"]},
        geometry=[box(119.59, 32.19, 119.62, 32.22)],
        crs="EPSG:4490",
    )
    towns = gpd.GeoDataFrame(
        {"zone_code": ["329901001000"], "zone_name": ["甲镇"], "level": ["none"]},
        geometry=[box(119.58, 32.18, 119.63, 32.23)],
        crs="EPSG:4490",
    )
    rejects = pd.DataFrame({"source": ["f.csv"], "row": [3], "reason": ["bad"]})
    return {"facilities": fac, "zones_village": zones, "zones_town": towns, "rejects": rejects}


def _qml_root(qml: str) -> ET.Element:
    assert qml.startswith("<!DOCTYPE qgis ")
    return ET.fromstring(qml.split("\n", 1)[1])


def test_layers_crs_metadata_and_styles_round_trip(tmp_path: Path):
    p = write_geopackage(tmp_path / "r.gpkg", _layers(), metadata={"riskmap_version": "0.1.0"})
    names = dict(pyogrio.list_layers(p))
    assert set(names) == {"facilities", "zones_village", "zones_town", "rejects", "layer_styles"}
    assert names["rejects"] is None and names["facilities"] == "Point"
    fac = pyogrio.read_dataframe(p, layer="facilities")
    assert fac.crs.to_epsg() == 4490 and fac["name"].tolist() == ["甲", "<b>&乙"]
    assert pyogrio.read_info(p, layer="facilities")["dataset_metadata"]["riskmap_version"] == "0.1.0"
    styles = pyogrio.read_dataframe(p, layer="layer_styles")
    assert set(styles["f_table_name"]) == {"facilities", "zones_village", "zones_town"}
    assert (styles["f_geometry_column"] == "geom").all() and styles["useAsDefault"].all()
    for qml in styles["styleQML"]:
        root = _qml_root(qml)
        values = [c.get("value") for c in root.iter("category")]
        assert values == ["red", "orange", "yellow", "blue", "none"]
        r, g, b = (int(color("red")[i : i + 2], 16) for i in (1, 3, 5))
        assert any(o.get("value", "").startswith(f"{r},{g},{b},") for o in root.iter("Option"))


def test_datetimes_are_written_as_utc(tmp_path: Path):
    p = write_geopackage(tmp_path / "r.gpkg", _layers())
    with sqlite3.connect(p) as con:
        found, checked = con.execute("SELECT found, checked FROM facilities ORDER BY fid").fetchone()
        decl = {row[1]: row[2] for row in con.execute("PRAGMA table_info(layer_styles)")}
        (update_time,) = con.execute("SELECT update_time FROM layer_styles LIMIT 1").fetchone()
    assert found == "2025-01-02T03:04:05.000Z"  # naive: clock value kept, marked UTC
    assert checked == "2025-01-02T03:00:00.000Z"  # 11:00 in Beijing is 03:00 UTC
    assert decl["update_time"] == "DATETIME" and update_time.endswith("Z")


def test_run_metadata_is_in_the_standard_metadata_tables(tmp_path: Path):
    p = write_geopackage(tmp_path / "r.gpkg", _layers(), metadata=METADATA)
    with sqlite3.connect(p) as con:
        rows = con.execute("SELECT id, md_scope, mime_type, metadata FROM gpkg_metadata").fetchall()
        refs = con.execute(
            "SELECT reference_scope, table_name, md_file_id FROM gpkg_metadata_reference"
        ).fetchall()
        ext = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM gpkg_extensions WHERE extension_name='gpkg_metadata'"
            )
        }
    assert len(rows) == 1 and rows[0][1] == "dataset" and rows[0][2] == "text/xml"
    items = {mdi.get("key"): mdi.text for mdi in ET.fromstring(rows[0][3]).iter("MDI")}
    assert items == METADATA
    assert refs == [("geopackage", None, rows[0][0])]
    assert ext == {"gpkg_metadata", "gpkg_metadata_reference"}


def test_layer_styles_is_a_registered_attribute_table(tmp_path: Path):
    p = write_geopackage(tmp_path / "r.gpkg", _layers())
    with sqlite3.connect(p) as con:
        (kind,) = con.execute(
            "SELECT data_type FROM gpkg_contents WHERE table_name='layer_styles'"
        ).fetchone()
        geom_cols = con.execute(
            "SELECT count(*) FROM gpkg_geometry_columns WHERE table_name='layer_styles'"
        ).fetchone()
    assert kind == "attributes" and geom_cols == (0,)


@pytest.mark.skipif(
    not VALIDATOR.exists(), reason="GDAL's validate_gpkg.py (Debian python3-gdal) is not installed"
)
@pytest.mark.parametrize("empty", [False, True], ids=["layers", "empty-layers"])
def test_gdal_validator_passes_with_warnings_as_errors(tmp_path: Path, empty: bool):
    layers = _layers()
    if empty:
        layers = {k: v.iloc[:0] for k, v in layers.items()}
    p = write_geopackage(tmp_path / "r.gpkg", layers, metadata=METADATA)
    python = SYSTEM_PYTHON if Path(SYSTEM_PYTHON).exists() else sys.executable
    run = subprocess.run(
        [python, str(VALIDATOR), "--extra", "--warning-as-error", str(p)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == ""


def test_gdal_validator_would_catch_a_naive_datetime(tmp_path: Path):
    # The check above can fail: the same validator rejects what GDAL writes for a naive datetime.
    if not VALIDATOR.exists():
        pytest.skip("GDAL's validate_gpkg.py (Debian python3-gdal) is not installed")
    p = tmp_path / "naive.gpkg"
    pyogrio.write_dataframe(
        pd.DataFrame({"t": pd.to_datetime(["2025-01-02 03:04:05"])}), p, driver="GPKG", VERSION="1.3"
    )
    run = subprocess.run(
        [sys.executable, str(VALIDATOR), "--extra", "--warning-as-error", str(p)],
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0 and "not a valid DATETIME" in run.stdout + run.stderr


@pytest.mark.parametrize(
    ("geometry", "field", "lang"),
    [("point", None, "zh"), ("polygon", "zone_name", "zh"), ("polygon", "zone_name", "en")],
)
def test_qml_is_a_qgis3_categorized_renderer(geometry: str, field: str | None, lang: str):
    root = _qml_root(qml_style(geometry, field, lang))
    assert root.tag == "qgis" and root.get("labelsEnabled") == ("1" if field else "0")
    (renderer,) = root.findall("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "level"
    cats = renderer.findall("categories/category")
    keys = [*LEVEL_NAMES, NOT_ASSESSED]
    assert [c.get("value") for c in cats] == keys
    assert [c.get("label") for c in cats] == [label(k, lang) for k in keys]
    symbols = {s.get("name"): s for s in renderer.findall("symbols/symbol")}
    for cat, key in zip(cats, keys, strict=True):
        sym = symbols[cat.get("symbol")]
        assert sym.get("type") == ("marker" if geometry == "point" else "fill")
        (layer,) = sym.findall("layer")
        assert layer.get("class") == ("SimpleMarker" if geometry == "point" else "SimpleFill")
        # QGIS >= 3.20 reads the Option map, older 3.x the <prop> elements: both carry the palette colour.
        opts = {o.get("name"): o.get("value") for o in layer.findall("Option/Option")}
        props = {p.get("k"): p.get("v") for p in layer.findall("prop")}
        rgb = ",".join(str(int(color(key)[i : i + 2], 16)) for i in (1, 3, 5))
        assert opts["color"].startswith(rgb + ",") and props == opts
    labeling = root.find("labeling")
    if field is None:
        assert labeling is None
    else:
        style = labeling.find("settings/text-style")
        assert labeling.get("type") == "simple" and style.get("fieldName") == field
        assert style.find("text-buffer").get("bufferDraw") == "1"  # inside text-style, where QGIS reads it
        assert labeling.find("settings/rendering").get("obstacleType") == "1"


def test_zone_layers_are_labelled_by_zone_name(tmp_path: Path):
    p = write_geopackage(tmp_path / "r.gpkg", _layers())
    styles = pyogrio.read_dataframe(p, layer="layer_styles").set_index("f_table_name")["styleQML"]
    for name in ("zones_village", "zones_town"):
        assert _qml_root(styles[name]).find("labeling/settings/text-style").get("fieldName") == "zone_name"
    assert _qml_root(styles["facilities"]).find("labeling") is None
    size = {
        n: float(_qml_root(styles[n]).find("labeling/settings/text-style").get("fontSize"))
        for n in ("zones_village", "zones_town")
    }
    assert size["zones_town"] > size["zones_village"]


def test_qml_escapes_labels():
    qml = qml_style("polygon", label_field='zone"name<')
    assert _qml_root(qml).find("labeling/settings/text-style").get("fieldName") == 'zone"name<'


def test_qml_rejects_unknown_geometry():
    with pytest.raises(ValueError, match=r"geometry 'line': use 'point' or 'polygon'"):
        qml_style("line")


def test_shipped_qml_files_match_the_code(tmp_path: Path):
    written = write_qml_files(tmp_path)
    assert len(written) == 2 * len(QML_STYLES)
    shipped = styles_dir() / "qml"
    for p in written:
        assert (shipped / p.name).read_text(encoding="utf-8") == p.read_text(encoding="utf-8"), (
            f"styles/qml/{p.name} is stale: run python -m riskmap.outputs.gpkg styles/qml"
        )


def _qgis_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _qgis_available(), reason="QGIS (Debian python3-qgis) is not installed")
def test_qgis_opens_layers_with_the_default_style(tmp_path: Path):
    p = write_geopackage(tmp_path / "r.gpkg", _layers())
    script = textwrap.dedent(
        """
        import json, sys
        from qgis.core import QgsApplication, QgsVectorLayer
        app = QgsApplication([], False)
        app.initQgis()
        out = {}
        for name in ("facilities", "zones_village", "zones_town"):
            lyr = QgsVectorLayer(sys.argv[1] + "|layername=" + name, name, "ogr")
            r = lyr.renderer()
            info = {"valid": lyr.isValid(), "renderer": r.type(), "labels": lyr.labelsEnabled()}
            if r.type() == "categorizedSymbol":
                info["attr"] = r.classAttribute()
                info["cats"] = [[c.value(), c.label(), c.symbol().color().name()] for c in r.categories()]
            if lyr.labeling() is not None:
                # Keep each object in a name: a chained call reads a temporary already freed.
                s = lyr.labeling().settings()
                fmt = s.format()
                buf = fmt.buffer()
                info["field"] = s.fieldName
                info["buffer"] = buf.enabled()
            out[name] = info
        manual = QgsVectorLayer(sys.argv[1] + "|layername=zones_village", "v", "ogr")
        out["manual"] = manual.loadNamedStyle(sys.argv[2])[1]
        print(json.dumps(out, ensure_ascii=False))
        """
    )
    run = subprocess.run(
        [SYSTEM_PYTHON, "-c", script, str(p), str(styles_dir() / "qml" / "zones_village.zh.qml")],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    expected = [[k, label(k, "zh"), color(k).lower()] for k in (*LEVEL_NAMES, NOT_ASSESSED)]
    for name in ("facilities", "zones_village", "zones_town"):
        info = out[name]
        assert info["valid"] and info["renderer"] == "categorizedSymbol" and info["attr"] == "level"
        assert info["cats"] == expected
    assert not out["facilities"]["labels"]
    for name in ("zones_village", "zones_town"):
        assert out[name]["labels"] and out[name]["field"] == "zone_name" and out[name]["buffer"]
    assert out["manual"] is True


@pytest.mark.skipif(
    shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo (Debian gdal-bin) is not installed"
)
def test_ogrinfo_reads_every_layer(tmp_path: Path):
    p = write_geopackage(tmp_path / "r.gpkg", _layers(), metadata=METADATA)
    out = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", str(p)], capture_output=True, text=True, check=True
    ).stdout
    for layer in ("facilities", "zones_village", "zones_town", "rejects", "layer_styles"):
        assert f"Layer name: {layer}" in out
    assert "Feature Count: 2" in out
    info = subprocess.run(
        ["ogrinfo", "-ro", "-so", str(p)], capture_output=True, text=True, check=True
    ).stdout
    assert f"config_hash={METADATA['config_hash']}" in info


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
