"""GeoPackage output: one layer per result, QGIS styles in ``layer_styles``, run metadata; written atomically."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from riskmap.errors import OutputError
from riskmap.io.atomic import atomic_path
from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED, color, label, outline

__all__ = ["write_geopackage", "qml_style", "LAYER_STYLES"]

LAYER_STYLES = "layer_styles"


def _rgba(hex_color: str, alpha: int = 255) -> str:
    h = hex_color.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def _option(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, "Option", name=name, value=value, type="QString")


def qml_style(geometry: str, label_field: str | None = None, lang: str = "zh") -> str:
    """A QGIS QML style: categorised by ``level`` in the four colours (and grey for not assessed).

    ``geometry`` is ``"point"`` or ``"polygon"``. Built with ElementTree, so every label is XML-escaped.
    """
    root = ET.Element("qgis", version="3.22.0", styleCategories="Symbology|Labeling")
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        type="categorizedSymbol",
        attr="level",
        symbollevels="0",
        forceraster="0",
        enableorderby="0",
    )
    cats = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    keys = [*LEVEL_NAMES, NOT_ASSESSED]
    for i, key in enumerate(keys):
        ET.SubElement(cats, "category", symbol=str(i), value=key, label=label(key, lang), render="true")
        kind = "marker" if geometry == "point" else "fill"
        sym = ET.SubElement(
            symbols, "symbol", type=kind, name=str(i), alpha="1", clip_to_extent="1", force_rhr="0"
        )
        layer = ET.SubElement(
            sym,
            "layer",
            {
                "class": "SimpleMarker" if kind == "marker" else "SimpleFill",
                "enabled": "1",
                "locked": "0",
                "pass": "0",
            },
        )
        opts = ET.SubElement(layer, "Option", type="Map")
        if kind == "marker":
            _option(opts, "name", "circle")
            _option(opts, "color", _rgba(color(key)))
            _option(opts, "outline_color", _rgba(outline(key)))
            _option(opts, "outline_width", "0.2")
            _option(opts, "size", "2.4")
        else:
            _option(opts, "color", _rgba(color(key), 170))
            _option(opts, "outline_color", _rgba(outline(key)))
            _option(opts, "outline_width", "0.3")
            _option(opts, "style", "solid")
    if label_field:
        labeling = ET.SubElement(root, "labeling", type="simple")
        settings = ET.SubElement(labeling, "settings", calloutType="simple")
        ET.SubElement(
            settings,
            "text-style",
            fieldName=label_field,
            fontSize="9",
            textColor="0,0,0,255",
            isExpression="0",
        )
        ET.SubElement(
            settings, "text-buffer", bufferDraw="1", bufferSize="0.8", bufferColor="255,255,255,255"
        )
        ET.SubElement(settings, "placement", placement="1" if geometry == "polygon" else "6")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="unicode"
    )


def _styles_table(layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame], lang: str) -> pd.DataFrame:
    rows = []
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name, df in layers.items():
        if not isinstance(df, gpd.GeoDataFrame) or "level" not in df.columns:
            continue
        geom = "point" if df.geom_type.isin(["Point", "MultiPoint"]).all() else "polygon"
        label_field = "zone_name" if geom == "polygon" and "zone_name" in df.columns else None
        rows.append(
            {
                "f_table_catalog": "",
                "f_table_schema": "",
                "f_table_name": name,
                "f_geometry_column": "geom",
                "styleName": f"riskmap {name}",
                "styleQML": qml_style(geom, label_field, lang),
                "styleSLD": "",
                "useAsDefault": True,
                "description": "riskmap four-colour style (红橙黄蓝)",
                "owner": "",
                "ui": "",
                "update_time": now,
            }
        )
    return pd.DataFrame(rows)


def write_geopackage(
    path: str | Path,
    layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame],
    metadata: Mapping[str, str] | None = None,
    lang: str = "zh",
) -> Path:
    """Write ``layers`` (name -> frame; frames without geometry become attribute tables) to one GeoPackage.

    The file is built under a temporary name and renamed at the end, so a failure leaves any previous file
    intact. GeoPackage 1.3 is written: older GDAL validators (Debian's 3.6) wrongly fail 1.4 files.
    """
    target = Path(path)
    try:
        with atomic_path(target) as tmp:
            first = True
            for name, df in {**layers, LAYER_STYLES: _styles_table(layers, lang)}.items():
                opts = {"VERSION": "1.3"} if first else {}
                kwargs = {"dataset_metadata": dict(metadata or {})} if first else {}
                if isinstance(df, gpd.GeoDataFrame):
                    df = df.rename_geometry("geom") if df.geometry.name != "geom" else df
                pyogrio.write_dataframe(df, tmp, layer=name, driver="GPKG", **kwargs, **opts)
                first = False
    except (OSError, pyogrio.errors.DataSourceError, ValueError) as err:
        raise OutputError(f"{target}: cannot write the GeoPackage: {err}") from err
    return target
