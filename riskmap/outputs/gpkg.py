"""GeoPackage output: one layer per result, QGIS styles in ``layer_styles``, run metadata; written atomically."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyarrow import ArrowException

from riskmap.columns import LEVEL, ZONE_NAME
from riskmap.errors import OutputError
from riskmap.io.atomic import atomic_path, atomic_write_text
from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED, color, label, outline

__all__ = ["write_geopackage", "layer_styles", "qml_style", "write_qml_files", "LAYER_STYLES", "QML_STYLES"]

LAYER_STYLES = "layer_styles"

#: Styles of the standard layers, also shipped as ``styles/qml/<name>.<lang>.qml``:
#: name -> (geometry, label field, label size in points). A larger label wins placement and draws on top.
QML_STYLES: dict[str, tuple[str, str | None, float]] = {
    "facilities": ("point", None, 0.0),
    "inspection_plan": ("point", None, 0.0),
    "zones_village": ("polygon", ZONE_NAME, 7.0),
    "zones_town": ("polygon", ZONE_NAME, 10.0),
    "zones_county": ("polygon", ZONE_NAME, 12.0),
}

_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"


def _rgba(hex_color: str, alpha: int = 255) -> str:
    h = hex_color.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def _properties(layer: ET.Element, props: Mapping[str, str]) -> None:
    # QGIS >= 3.20 reads the <Option type="Map"> block, older 3.x the <prop> elements; QGIS 3.22 itself writes
    # both, and so do we, so that the style opens in the LTR releases still common on government desktops.
    opts = ET.SubElement(layer, "Option", type="Map")
    for k, v in props.items():
        ET.SubElement(opts, "Option", name=k, value=v, type="QString")
    for k, v in props.items():
        ET.SubElement(layer, "prop", k=k, v=v)


def qml_style(
    geometry: str, label_field: str | None = None, lang: str = "zh", label_size: float = 9.0
) -> str:
    """A QGIS 3 QML style: categorised by ``level`` in the four colours of ``styles/levels.toml``.

    Parameters
    ----------
    geometry
        ``"point"`` or ``"polygon"``.
    label_field
        Field whose value labels each feature (zones: ``zone_name``); ``None`` for no labels.
    lang
        Language of the category labels in the QGIS legend (``zh`` or ``en``).
    label_size
        Label font size in points.

    Returns
    -------
    str
        The QML document. It is built with ElementTree, so every label and field name is XML-escaped.

    Examples
    --------
    >>> qml = qml_style("polygon", "zone_name")
    >>> 'type="categorizedSymbol"' in qml and 'labelsEnabled="1"' in qml
    True
    >>> 'labelsEnabled="0"' in qml_style("point")  # points carry no labels
    True
    """
    if geometry not in ("point", "polygon"):
        raise ValueError(f"geometry {geometry!r}: use 'point' or 'polygon'")
    root = ET.Element(
        "qgis",
        version="3.22.0",
        styleCategories="Symbology|Labeling",
        labelsEnabled="1" if label_field else "0",
    )
    _categories(root, geometry, lang)
    if label_field:
        _labeling(root, label_field, label_size)
    ET.indent(root, space=" ")
    return _DOCTYPE + ET.tostring(root, encoding="unicode") + "\n"


def _categories(root: ET.Element, geometry: str, lang: str) -> None:
    """The categorised renderer: one category and symbol per level, red drawn on top."""
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        type="categorizedSymbol",
        attr=LEVEL,
        # Points: symbol levels draw red above orange above ... so thousands of blue dots never hide a red one.
        symbollevels="1" if geometry == "point" else "0",
        forceraster="0",
        enableorderby="0",
        referencescale="-1",
    )
    cats = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    kind = "marker" if geometry == "point" else "fill"
    keys = [*LEVEL_NAMES, NOT_ASSESSED]
    for i, key in enumerate(keys):
        ET.SubElement(
            cats, "category", symbol=str(i), value=key, label=label(key, lang), render="true", type="string"
        )
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
                "pass": str(len(keys) - 1 - i),
            },
        )
        _properties(layer, _marker_properties(key) if kind == "marker" else _fill_properties(key))


def _marker_properties(key: str) -> dict[str, str]:
    """A level's point symbol: a circle, larger for red and orange."""
    return {
        "name": "circle",
        "color": _rgba(color(key)),
        "outline_color": _rgba(outline(key)),
        "outline_style": "solid",
        "outline_width": "0.2",
        "outline_width_unit": "MM",
        "size": "2.4" if key in LEVEL_NAMES[:2] else "1.6",
        "size_unit": "MM",
    }


def _fill_properties(key: str) -> dict[str, str]:
    """A level's polygon symbol: its colour, a little transparent, and its outline."""
    return {
        "color": _rgba(color(key), 170),
        "outline_color": _rgba(outline(key)),
        "outline_style": "solid",
        "outline_width": "0.3",
        "outline_width_unit": "MM",
        "style": "solid",
    }


def _labeling(root: ET.Element, label_field: str, label_size: float) -> None:
    """Labels from ``label_field``: haloed text over the centroid, larger (coarser) zones winning."""
    labeling = ET.SubElement(root, "labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    style = ET.SubElement(
        settings,
        "text-style",
        fieldName=label_field,
        isExpression="0",
        fontSize=f"{label_size:g}",
        fontSizeUnit="Point",
        textColor="0,0,0,255",
        textOpacity="1",
    )
    # The buffer belongs inside <text-style> (QgsTextFormat reads it from there).
    ET.SubElement(
        style,
        "text-buffer",
        bufferDraw="1",
        bufferSize="0.8",
        bufferSizeUnits="MM",
        bufferColor="255,255,255,255",
        bufferOpacity="1",
        bufferNoFill="1",
    )
    # Over the centroid, kept inside the polygon; every zone's label is wanted, not a sample.
    # Town names win over village names where they collide (QGIS priority 0..10, default 5).
    priority = str(min(10, max(0, round(label_size / 2))))
    ET.SubElement(
        settings, "placement", placement="1", centroidInside="1", centroidWhole="0", priority=priority
    )
    # obstacleType 1 (polygon boundary), QGIS's own default: without it the interior of every zone is an
    # obstacle, and village and town labels block each other until none is drawn. Coarser zones (larger
    # labels) are drawn above finer ones.
    ET.SubElement(
        settings,
        "rendering",
        drawLabels="1",
        obstacle="1",
        obstacleType="1",
        displayAll="0",
        zIndex=f"{label_size / 10:g}",
    )


def _style_for(name: str, df: gpd.GeoDataFrame) -> tuple[str, str | None, float]:
    if name in QML_STYLES:
        geom, field, size = QML_STYLES[name]
        return geom, field if field in df.columns else None, size
    geom = "point" if df.geom_type.isin(["Point", "MultiPoint"]).all() else "polygon"
    field = ZONE_NAME if geom == "polygon" and ZONE_NAME in df.columns else None
    return geom, field, 9.0


def _styles_table(layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame], lang: str) -> pd.DataFrame:
    rows = []
    # A timezone-aware value makes a DATETIME column with a "Z" time, as the GeoPackage standard wants.
    now = pd.Timestamp(datetime.now(UTC)).floor("ms")
    for name, df in layers.items():
        if not isinstance(df, gpd.GeoDataFrame) or LEVEL not in df.columns:
            continue
        geom, label_field, size = _style_for(name, df)
        rows.append(
            {
                "f_table_catalog": "",
                "f_table_schema": "",
                "f_table_name": name,
                "f_geometry_column": "geom",
                "styleName": name,
                "styleQML": qml_style(geom, label_field, lang, size),
                "styleSLD": "",
                "useAsDefault": True,
                "description": "riskmap four-colour style (红橙黄蓝)",
                "owner": "",
                "ui": "",
                "update_time": now,
            }
        )
    columns = [
        "f_table_catalog",
        "f_table_schema",
        "f_table_name",
        "f_geometry_column",
        "styleName",
        "styleQML",
        "styleSLD",
        "useAsDefault",
        "description",
        "owner",
        "ui",
        "update_time",
    ]
    table = pd.DataFrame(rows, columns=columns)
    table["update_time"] = pd.to_datetime(table["update_time"], utc=True)
    table["useAsDefault"] = table["useAsDefault"].astype(bool)
    return table


def layer_styles(layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame], lang: str = "zh") -> pd.DataFrame:
    """The ``layer_styles`` rows (QGIS's columns and QML) of ``layers``, as the GeoPackage and PostGIS hold them."""
    return _styles_table(layers, lang)


def _text_objects(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns (mixed Python values) as text: the field type must not depend on the values of a run.

    Through Arrow an object column would become INTEGER, REAL, DATE or fail, depending on what it holds.
    """
    mixed = [c for c in df.columns if df[c].dtype == object]
    if not mixed:
        return df
    out = df.copy(deep=False)
    for col in mixed:
        out[col] = df[col].astype("str")
    return out


def _utc_datetimes(df: pd.DataFrame) -> pd.DataFrame:
    """Datetime columns as UTC: GeoPackage DATETIME values are UTC with a trailing ``Z``.

    A naive column is taken as UTC as it stands (its clock values are kept); an aware one is converted.
    """
    out = None
    for col in df.columns:
        s = df[col]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            if str(s.dt.tz) == "UTC":
                continue
            fixed = s.dt.tz_convert("UTC")
        elif pd.api.types.is_datetime64_dtype(s.dtype):
            fixed = s.dt.tz_localize("UTC")
        else:
            continue
        if out is None:
            out = df.copy()
        out[col] = fixed
    return df if out is None else out


def write_geopackage(
    path: str | Path,
    layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame],
    metadata: Mapping[str, str] | None = None,
    lang: str = "zh",
) -> Path:
    """Write ``layers`` (name -> frame; frames without geometry become attribute tables) to one GeoPackage.

    Every layer with a ``level`` column gets a default QGIS style in ``layer_styles`` (registered as an
    attribute table), so QGIS opens it in the four colours, zones labelled by ``zone_name``. ``metadata``
    (riskmap version, config hash, input hashes, as-of date...) goes into the standard ``gpkg_metadata`` table
    with dataset scope, where GDAL (``ogrinfo``) and QGIS show it. Datetime columns are written as UTC.

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
                pyogrio.write_dataframe(
                    _text_objects(_utc_datetimes(df)),
                    tmp,
                    layer=name,
                    driver="GPKG",
                    use_arrow=True,
                    **kwargs,
                    **opts,
                )
                first = False
    except OutputError:
        raise  # a full or read-only disk, said by atomic_path
    except (OSError, pyogrio.errors.DataSourceError, ValueError, TypeError, ArrowException) as err:
        raise OutputError(f"{target}: cannot write the GeoPackage: {err}") from err
    return target


def write_qml_files(directory: str | Path, langs: tuple[str, ...] = ("zh", "en")) -> list[Path]:
    """Write the styles of :data:`QML_STYLES` as ``<name>.<lang>.qml`` for loading by hand in QGIS.

    The files in ``styles/qml/`` are made by this function (``python -m riskmap.outputs.gpkg styles/qml``);
    they hold the same XML that :func:`write_geopackage` puts in ``layer_styles``.
    """
    out = Path(directory)
    written = []
    for name, (geom, field, size) in QML_STYLES.items():
        for lang in langs:
            written.append(atomic_write_text(out / f"{name}.{lang}.qml", qml_style(geom, field, lang, size)))
    return written


if __name__ == "__main__":  # pragma: no cover - regenerates styles/qml
    import sys

    for p in write_qml_files(sys.argv[1] if len(sys.argv) > 1 else "styles/qml"):
        print(p)
