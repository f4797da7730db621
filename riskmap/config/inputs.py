"""The inputs: ``[facilities]``, the related tables, ``[[zones]]``, ``[population]`` and ``[sensitive_sites]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from riskmap.config.base import ConfigModel
from riskmap.config.conninfo import conninfo_password, is_database_url, normalise_conninfo, quote_value
from riskmap.i18n import N_, tr
from riskmap.vocabulary import HiddenDangerStatus

__all__ = [
    "TABLE_COLUMNS",
    "FacilitiesConfig",
    "TableConfig",
    "InventoryConfig",
    "HiddenDangersConfig",
    "DECISION_TABLE_COLUMNS",
    "DecisionsConfig",
    "GridConfig",
    "ZoneLayerConfig",
    "SitesConfig",
    "RasterConfig",
    "DatabaseSource",
    "conninfo_password",
]

#: Canonical columns of each related table; ``columns`` in the project file maps them to the file's names. ``name``
#: (the enterprise name) is read only with ``match_by_name = true``.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "inventory": ("facility_id", "unit_id", "substance", "quantity_t", "unit"),
    "risk_points": (
        "facility_id",
        "point_id",
        "point_name",
        "likelihood",
        "severity",
        "lec_l",
        "lec_e",
        "lec_c",
    ),
    "deductions": ("facility_id", "item", "points"),
    "hidden_dangers": (
        "hazard_id",
        "facility_id",
        "grade",
        "found_date",
        "deadline",
        "closed_date",
        "status",
    ),
    "accidents": ("accident_id", "facility_id", "date", "class", "deaths"),
    "standardisation": ("facility_id", "grade", "valid_until"),
}
TABLE_COLUMNS = {table: (*columns, "name") for table, columns in TABLE_COLUMNS.items()}


_NO_PASSWORD = N_(
    "a password in the project file is not allowed (it would travel with the file); give it through the "
    "PGPASSWORD environment variable, ~/.pgpass or the service file (pg_service.conf) instead"
)


class DatabaseSource(ConfigModel):
    """A table that may come from PostgreSQL/PostGIS instead of a file (``path = "postgresql://..."``)."""

    database: str | None = Field(
        None,
        description='PostgreSQL URL without password ("postgresql://user@host:5432/dbname"); normally given as '
        "path = ...; the password comes from PGPASSWORD, ~/.pgpass or the service file.",
    )
    service: str | None = Field(
        None, description="Connection service name from pg_service.conf (instead of a URL in path)."
    )
    sql: str | None = Field(
        None, description='A read-only SELECT to read instead of layer = "schema.table" (database only).'
    )
    key: str | None = Field(
        None,
        description="Column naming a row in the rejects (database only); default: the table's primary key.",
    )

    @model_validator(mode="before")
    @classmethod
    def _database_path(cls, data: Any) -> Any:
        """``path = "postgresql://..."`` moves to ``database``; ``path`` then names the table (``pg:<layer>``)."""
        if not isinstance(data, dict):
            return data
        path = data.get("path")
        if isinstance(path, str) and is_database_url(path):  # any case: POSTGRESQL:// is one too
            data = {**data, "database": normalise_conninfo(path)}
        elif (
            path is not None
            and not str(path).startswith("pg:")
            and (data.get("database") or data.get("service"))
        ):
            raise ValueError(
                tr("give either a file path or a database (a postgresql:// path or service), not both")
            )
        url, service = data.get("database"), data.get("service")
        if url is None and service is None:
            if data.get("sql") is not None or data.get("key") is not None:
                raise ValueError(
                    tr('sql and key are for database tables: set path = "postgresql://..." or service')
                )
            return data
        if url is not None and service is not None:
            raise ValueError(tr('give either path = "postgresql://..." or service = ..., not both'))
        if isinstance(data.get("layer"), list):
            raise ValueError(tr('a database table is one layer = "schema.table", not a list'))
        if url is not None and (not isinstance(url, str) or conninfo_password(url)):
            raise ValueError(tr(_NO_PASSWORD))
        if (data.get("layer") is None) == (data.get("sql") is None):
            raise ValueError(
                tr('a database table needs exactly one of layer = "schema.table" or sql = "SELECT ..."')
            )
        if url is not None:
            data = {**data, "database": normalise_conninfo(url)}
        # Messages and the rejects name the table as pg:<schema.table> (or pg:sql), as they name a file.
        return {**data, "path": f"pg:{data.get('layer') or 'sql'}"}

    @property
    def conninfo(self) -> str | None:
        """The libpq connection string (no password), or None for a file."""
        if self.service is not None:  # quoted: a service name is one value, never more key=value pairs
            return f"service={quote_value(self.service)}"
        return self.database


_SHEETS = (
    'Sheet of a workbook (.xlsx/.xls/.xlsb/.ods), or a list of sheets ["2025年第一季度", "2025年第二季度"] or "*" '
    "(every sheet with the header; others such as 汇总 are skipped with a note) read as one table"
)
_HEADER_ROWS = (
    "Rows of the header (1 to 3): default detected (a merged group label such as 坐标 over 经度/纬度 makes two; "
    "a repeated lower label gets its upper label as prefix)."
)


class FacilitiesConfig(DatabaseSource):
    """The facilities (enterprises) layer: a table with coordinates or a vector file."""

    path: Path = Field(
        description="CSV/XLSX/XLS/ODS with coordinates, or GeoPackage/shapefile/GeoJSON/GeoParquet."
    )
    layer: str | list[str] | None = Field(
        None, description=f"Layer name in a multi-layer file (GeoPackage); {_SHEETS[0].lower()}{_SHEETS[1:]}."
    )
    header_rows: int | None = Field(None, ge=1, le=3, description=_HEADER_ROWS)
    id: str = Field("facility_id", description="Column with the facility id (unified social credit code).")
    name: str = Field("name", description="Column with the facility name.")
    sector: str = Field(
        "sector", description="Column with the industry sector (matched to [scoring.sectors])."
    )
    x: str = Field("lon", description="Longitude/easting column (tables only).")
    y: str = Field("lat", description="Latitude/northing column (tables only).")
    crs: str | None = Field(
        None,
        description='CRS of the coordinates: an EPSG code ("EPSG:4490") or "GCJ-02" / "BD-09". Required for '
        "tables; for vector files it wins over the file's own CRS (a warning when they differ), and "
        '"GCJ-02"/"BD-09" convert every vertex whatever the file declares.',
    )
    encoding: str = Field("auto", description='Text encoding of CSV files; "auto" tries UTF-8 then GB18030.')
    check_credit_code: bool = Field(
        True, description="Reject ids that look like unified social credit codes but fail the checksum."
    )
    crs_column: str | None = Field(
        None,
        description="Column giving each row's coordinate system as offices write it (百度/百度地图/BD09 -> BD-09, "
        "高德/腾讯/GCJ02/火星 -> GCJ-02, GPS/WGS84 -> EPSG:4326, 2000/CGCS2000/国家2000 -> EPSG:4490; "
        "styles/crs_values.toml); an empty cell means crs, an unknown value rejects the row. Tables only.",
    )
    crs_values: dict[str, str] = Field(
        default_factory=dict,
        description='More spellings for crs_column, as written -> a CRS riskmap knows: { "北京54" = "EPSG:4214" }.',
    )
    zone_column: str | None = Field(
        None,
        description="Column naming each facility's zone of the first zone layer read from a file (所属村: its "
        "12-digit code or its name): a facility without usable coordinates is placed in that zone (at a point "
        "inside it, flagged in its reasons) instead of being rejected.",
    )
    town_column: str | None = Field(
        None,
        description="Column naming the town (the next zone layer) of zone_column's zone, by name or code: tells "
        "apart villages of one name in different towns.",
    )

    @model_validator(mode="after")
    def _columns_need_their_keys(self) -> FacilitiesConfig:
        if self.town_column is not None and self.zone_column is None:
            raise ValueError(tr("town_column tells apart the zones zone_column names: set zone_column too"))
        if self.crs_values and self.crs_column is None:
            raise ValueError(tr("crs_values spells the values of crs_column: set crs_column too"))
        return self


class TableConfig(DatabaseSource):
    """A related table joined to facilities by facility id."""

    path: Path
    layer: str | list[str] | None = Field(None, description=_SHEETS + ".")
    header_rows: int | None = Field(None, ge=1, le=3, description=_HEADER_ROWS)
    encoding: str = "auto"
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Map of canonical column name -> column name in the file, for files that differ.",
    )
    match_by_name: bool = Field(
        False,
        description="Rows without a facility id (empty, or written 无, /, -, 暂无 ...) find their facility by the "
        'exact enterprise name in columns.name (e.g. columns = { name = "企业名称" }), compared as written up to '
        "full-width/half-width and spaces; a name of two or more facilities, or of none, is rejected.",
    )


class HiddenDangersConfig(TableConfig):
    """``[hidden_dangers]``: hidden-danger records (隐患), with an optional rectification status column."""

    status_values: dict[str, HiddenDangerStatus] = Field(
        default_factory=dict,
        description='Spellings of columns.status (整改状态) beyond the shipped ones, each "closed" or "open" '
        '(e.g. { "验收通过" = "closed", "挂牌督办" = "open" }); they override a shipped spelling.',
    )


#: Canonical columns of ``[decisions]``: ``kind`` and ``valid_until`` are optional.
DECISION_TABLE_COLUMNS = ("target", "level", "reason", "decided_by", "decided_on", "valid_until", "kind")


class DecisionsConfig(DatabaseSource):
    """``[decisions]``: the committee's decisions (专家研判), each setting a facility's or a zone's level."""

    path: Path = Field(
        description="Table of decisions (CSV/XLSX/XLS/ODS): target (a facility id or a zone code), level "
        "(red/orange/yellow/blue, 重大/较大/一般/低, 重大风险 ...), reason, decided_by, decided_on, optional "
        "valid_until and kind (facility/企业, zone/区域 or a zone layer's kind, for a target that is both).",
    )
    layer: str | list[str] | None = Field(None, description=_SHEETS + ".")
    header_rows: int | None = Field(None, ge=1, le=3, description=_HEADER_ROWS)
    encoding: str = "auto"
    columns: dict[str, str] = Field(
        default_factory=dict,
        description='Map of canonical column name -> column name in the file, e.g. { target = "对象", level = '
        '"研判等级", reason = "理由", decided_by = "决定人", decided_on = "研判日期", valid_until = "有效期至" }.',
    )


class InventoryConfig(TableConfig):
    """The chemical inventory (GB 18218): per facility and unit, each substance's design maximum quantity."""

    densities: dict[str, float] = Field(
        default_factory=dict,
        description="Substance as written (or its GB 18218 name) -> density in t/m³, for quantities given as a "
        'volume (columns.unit m³, 立方米, 方, L), e.g. { "CNG" = 0.18 }; wins over the shipped densities '
        "(data/reference/gb18218_synonyms.csv: petrol 0.74, diesel 0.84, methanol 0.79, LPG 0.55, LNG 0.45, liquid "
        "ammonia 0.61 ...).",
    )

    @model_validator(mode="after")
    def _plausible_densities(self) -> InventoryConfig:
        for name, rho in self.densities.items():
            if not 0 < rho <= 25:  # osmium, the densest element, is 22.6 t/m³
                raise ValueError(
                    tr(
                        "densities[{name!r}] = {density}: a density in t/m³ is above 0 and at most 25",
                        name=name,
                        density=f"{rho:g}",
                    )
                )
        return self


class GridConfig(ConfigModel):
    """A regular grid of zones (网格), for districts without village boundaries."""

    shape: Literal["square", "hex"] = "square"
    size_m: float = Field(
        gt=0, description="Cell size in metres: square side, or hexagon flat-to-flat width."
    )
    within: str | None = Field(
        None,
        description="kind of the zone layer the grid covers and is clipped to (cells split at its borders); "
        "default: the extent of the facilities.",
    )


class ZoneLayerConfig(DatabaseSource):
    """One zone layer (village, town, or a grid)."""

    kind: str = Field(
        description='Name of the layer in outputs, e.g. "village", "town" or "grid" (letters, digits, _ and -).',
        pattern=r"^[\w-]{1,40}$",
    )
    path: Path | None = Field(None, description="Vector file of the zones; not used for a grid.")
    layer: str | None = None
    code: str = Field("code", description="Column with the zone code (12-digit statistical division code).")
    name: str = Field("name", description="Column with the zone name.")
    crs: str | None = Field(
        None,
        description='CRS of the file, winning over its own (a warning when they differ); "GCJ-02"/"BD-09" '
        "for boundaries from web maps (DataV/echarts GeoJSON, traced in Gaode/Baidu), converted whatever the "
        "file declares.",
    )
    grid: GridConfig | None = Field(
        None, description="Generate a square or hexagonal grid instead of a file."
    )
    label: str | None = Field(
        None,
        description='Chinese label of the layer on the map, the figure and the summary (e.g. "片区"); default: '
        "the label of a known kind (village 村/社区, town 乡镇/街道, county/district 区/县, street 街道, grid "
        "网格 ...), else the kind itself.",
        min_length=1,
        max_length=40,
    )
    label_en: str | None = Field(
        None,
        description='English label of the layer (e.g. "Area"); default: that of a known kind, else the kind.',
        min_length=1,
        max_length=40,
    )

    @model_validator(mode="after")
    def _source(self) -> ZoneLayerConfig:
        if (self.path is None) == (self.grid is None):
            raise ValueError(
                tr("zone layer {kind!r} needs exactly one of path = ... or grid = {{...}}", kind=self.kind)
            )
        return self


class SitesConfig(DatabaseSource):
    """Sensitive sites (schools, hospitals, care homes): a table with coordinates or a vector file."""

    path: Path
    layer: str | list[str] | None = Field(
        None, description=f"Layer of a vector file; {_SHEETS[0].lower()}{_SHEETS[1:]}."
    )
    header_rows: int | None = Field(None, ge=1, le=3, description=_HEADER_ROWS)
    kind: str = Field("kind", description="Column with the kind of site (学校, 医院 ...).")
    x: str = "lon"
    y: str = "lat"
    crs: str | None = Field(
        None, description="CRS of the coordinates or of the vector file; as for [facilities]."
    )
    encoding: str = "auto"


class RasterConfig(ConfigModel):
    """An exposure raster, e.g. population per cell."""

    path: Path
    min_coverage: float = Field(
        0.9,
        ge=0,
        le=1,
        description="Share of a facility's buffer (or a zone) the raster should cover with data; below it a major "
        "hazard is graded from the persons found, its reason flagged as a lower bound, and a zone gets a warning. "
        "A buffer with no data at all is unknown: its major hazard is rejected (the run stops when the raster "
        "has no data around most facilities).",
    )
