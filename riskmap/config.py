"""The project file (``riskmap.toml``): pydantic models, loading and the JSON Schema.

Config is data, never code: every value is validated here, unknown keys are errors that suggest the closest
valid key, and paths are resolved relative to the project file.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from riskmap.errors import ConfigError
from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED

__all__ = [
    "Config",
    "FacilitiesConfig",
    "TableConfig",
    "ZoneLayerConfig",
    "RasterConfig",
    "ScoringConfig",
    "GB18218Params",
    "LSMatrixParams",
    "ZoningConfig",
    "SupervisionConfig",
    "OutputsConfig",
    "AdjustmentConfig",
    "AdjustmentRule",
    "BaselineCondition",
    "BaselineRule",
    "BaselineParams",
    "CONDITIONS",
    "load_config",
    "config_from_dict",
    "json_schema",
    "config_hash",
    "TABLE_COLUMNS",
]

LevelKey = Literal["red", "orange", "yellow", "blue"]
#: Inspections a year of a not-assessed enterprise when ``supervision.frequency`` does not say.
UNASSESSED_FREQUENCY = 1.0
ZoneLevelKey = Literal["red", "orange", "yellow", "blue", "none"]

#: Canonical columns of each related table; ``columns`` in the project file maps them to the file's names.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "inventory": ("facility_id", "unit_id", "substance", "quantity_t"),
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
    "hidden_dangers": ("hazard_id", "facility_id", "grade", "found_date", "deadline", "closed_date"),
    "accidents": ("accident_id", "facility_id", "date", "class", "deaths"),
    "standardisation": ("facility_id", "grade", "valid_until"),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectInfo(_Model):
    """Who the map is for."""

    name: str = Field("安全风险四色分布图", description="Title of the map and reports.")
    district_code: str = Field(
        "", description="6-digit county code (统计用区划代码 prefix); part of the published random seed."
    )
    lang: Literal["zh", "en"] = Field("zh", description="Language of labels in outputs.")


class FacilitiesConfig(_Model):
    """The facilities (enterprises) layer: a table with coordinates or a vector file."""

    path: Path = Field(description="CSV/XLSX with coordinates, or GeoPackage/shapefile/GeoJSON/GeoParquet.")
    layer: str | None = Field(
        None, description="Layer name in a multi-layer file (GeoPackage) or XLSX sheet."
    )
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


class TableConfig(_Model):
    """A related table joined to facilities by facility id."""

    path: Path
    layer: str | None = Field(None, description="Sheet name for XLSX.")
    encoding: str = "auto"
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Map of canonical column name -> column name in the file, for files that differ.",
    )


class GridConfig(_Model):
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


class ZoneLayerConfig(_Model):
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
            raise ValueError(f"zone layer {self.kind!r} needs exactly one of path = ... or grid = {{...}}")
        return self


class SitesConfig(_Model):
    """Sensitive sites (schools, hospitals, care homes): a table with coordinates or a vector file."""

    path: Path
    layer: str | None = None
    kind: str = Field("kind", description="Column with the kind of site (学校, 医院 ...).")
    x: str = "lon"
    y: str = "lat"
    crs: str | None = Field(
        None, description="CRS of the coordinates or of the vector file; as for [facilities]."
    )
    encoding: str = "auto"


class RasterConfig(_Model):
    """An exposure raster, e.g. population per cell."""

    path: Path
    min_coverage: float = Field(
        0.9,
        ge=0,
        le=1,
        description="Share of a facility's buffer (or a zone) the raster must cover with data; below it the "
        "population there is unknown: a major hazard is rejected (the run stops when most facilities are "
        "affected) and a zone gets a warning.",
    )


class GB18218Params(_Model):
    """Parameters of the GB 18218-2018 major-hazard method."""

    grade_levels: dict[str, LevelKey] = Field(
        default={"1": "red", "2": "orange", "3": "yellow", "4": "blue"},
        description="Major-hazard grade (1..4, 一级..四级) -> risk level. A convention, not law.",
    )
    persons_column: str | None = Field(
        None,
        description="Facility column with persons within 500 m; when unset, the population raster is used.",
    )
    buffer_m: float = Field(500.0, gt=0, description="Exposure radius around the facility (GB 18218: 500 m).")
    beta_overrides: dict[str, float] = Field(
        default_factory=dict,
        description="Substance name or CAS -> correction factor β, overriding the tables.",
    )

    @field_validator("grade_levels")
    @classmethod
    def _grades(cls, v: dict[str, str]) -> dict[str, str]:
        missing = {"1", "2", "3", "4"} - set(v)
        extra = set(v) - {"1", "2", "3", "4"}
        if missing or extra:
            raise ValueError(
                f"needs exactly the grades 1, 2, 3, 4 (missing {sorted(missing)}, extra {sorted(extra)})"
            )
        return v


LS_PRESETS: dict[str, dict[LevelKey, tuple[int, int]]] = {
    # R = L x S bands, inclusive: the common banding (DOMAIN.md §4) and a published variant.
    "common": {"red": (20, 25), "orange": (15, 16), "yellow": (9, 12), "blue": (1, 8)},
    "variant": {"red": (20, 25), "orange": (10, 16), "yellow": (4, 9), "blue": (1, 3)},
}


class PointAggregation(_Model):
    """How a facility's level follows from its risk points."""

    aggregate: Literal["worst", "count"] = Field(
        "worst",
        description="worst: the facility takes its worst point. count: a facility is at a level when at least "
        "count_thresholds[level] of its points are at that level or above (checked from red down).",
    )
    count_thresholds: dict[LevelKey, int] = Field(
        default={"red": 1, "orange": 1, "yellow": 1, "blue": 1},
        description="With aggregate = count: points needed at a level or above, e.g. {red = 2, orange = 1} makes "
        "a facility with a single red point orange.",
    )

    @field_validator("count_thresholds")
    @classmethod
    def _counts(cls, v: dict[str, int]) -> dict[str, int]:
        bad = {k: n for k, n in v.items() if n < 1}
        if bad:
            raise ValueError(f"counts must be at least 1, got {bad}")
        return v


class LSMatrixParams(PointAggregation):
    """Parameters of the LS (likelihood x severity) risk matrix."""

    preset: Literal["common", "variant"] = Field("common", description="Banding of R = L x S.")
    matrix: list[list[LevelKey]] | None = Field(
        None,
        description="Full 5x5 matrix of levels, rows L=1..5, columns S=1..5; overrides the preset.",
    )

    @field_validator("matrix")
    @classmethod
    def _five_by_five(cls, v: list[list[str]] | None) -> list[list[str]] | None:
        if v is not None and (len(v) != 5 or any(len(row) != 5 for row in v)):
            raise ValueError("must be 5 rows of 5 levels (rows L=1..5, columns S=1..5)")
        return v


class LECParams(PointAggregation):
    """Parameters of the LEC (作业条件危险性评价法) method, D = L x E x C."""

    thresholds: dict[Literal["red", "orange", "yellow"], float] = Field(
        default={"red": 320.0, "orange": 160.0, "yellow": 70.0},
        description="Lower bounds of D for each level; below yellow's is blue.",
    )
    boundary: Literal["lower", "upper"] = Field(
        "lower",
        description="lower: D equal to a bound belongs to the higher level (D >= 320 is red); upper: to the "
        "lower level (D > 320 is red). Provinces differ; lower is our default.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> LECParams:
        t = self.thresholds
        if set(t) != {"red", "orange", "yellow"}:
            raise ValueError("thresholds needs red, orange and yellow")
        if not t["red"] > t["orange"] > t["yellow"] > 0:
            raise ValueError(f"thresholds must decrease from red to yellow and be positive, got {t}")
        return self


class Chem2018Params(_Model):
    """Parameters of the 2018 hazardous-chemical enterprise guide (应急〔2018〕19号, 100-point deduction)."""

    bands: dict[Literal["blue", "yellow", "orange"], float] = Field(
        default={"blue": 90.0, "yellow": 75.0, "orange": 60.0},
        description="Lower bounds of the score for blue, yellow and orange; below orange's is red.",
    )
    major_hazard_from_gb18218: bool = Field(
        True,
        description="Fill the major-hazard item from the GB 18218 grade when the table has no row for it.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Chem2018Params:
        b = self.bands
        if set(b) != {"blue", "yellow", "orange"} or not 100 >= b["blue"] > b["yellow"] > b["orange"] > 0:
            raise ValueError(f"bands must give blue > yellow > orange within 0..100, got {b}")
        return self


class Indicator(_Model):
    """One indicator of the weighted-indicator method."""

    column: str = Field(description="Facility column with the value.")
    weight: float = Field(gt=0, description="Relative weight; weights are normalised to sum to 1.")
    min: float = Field(0.0, description="Value scored 0 (values below are clipped).")
    max: float = Field(description="Value scored 100 (values above are clipped).")
    direction: Literal["higher_worse", "lower_worse"] = "higher_worse"
    categories: dict[str, float] | None = Field(
        None, description="Text value -> number, for categorical indicators (e.g. fire rating)."
    )

    @model_validator(mode="after")
    def _range(self) -> Indicator:
        if not self.max > self.min:
            raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
        return self


class IndicatorParams(_Model):
    """Weighted sum of normalised indicators, for sectors with no national method (e.g. crowded places)."""

    indicators: dict[str, Indicator] = Field(
        default_factory=dict, description="Name -> indicator; the name appears in the reasons."
    )
    breaks: dict[Literal["red", "orange", "yellow"], float] = Field(
        default={"red": 75.0, "orange": 50.0, "yellow": 25.0},
        description="Lower bounds of the 0..100 index for each level; below yellow's is blue.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> IndicatorParams:
        b = self.breaks
        if set(b) != {"red", "orange", "yellow"} or not 100 >= b["red"] > b["orange"] > b["yellow"] > 0:
            raise ValueError(f"breaks must decrease from red to yellow within 0..100, got {b}")
        return self


class BaselineCondition(_Model):
    """A test on one register column of the facility table (固有风险 rules): exactly one of the tests."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    column: str = Field(description="Column of the facility file, e.g. 涉爆粉尘 or 从业人数.")
    equals: str | None = Field(
        None,
        description="The cell equals this text, compared after trimming spaces (full-width letters and digits "
        'as half-width); literal otherwise: "是" does not match "Y" (use `in` for several spellings).',
    )
    in_: list[str] | None = Field(
        None, alias="in", description="The cell is one of these texts (compared as for `equals`)."
    )
    at_least: float | None = Field(
        None, description="The cell is a number (1,200 and full-width digits are read) >= this."
    )
    at_most: float | None = Field(None, description="The cell is a number <= this.")

    @model_validator(mode="after")
    def _one_test(self) -> BaselineCondition:
        tests = [k for k in ("equals", "in_", "at_least", "at_most") if getattr(self, k) is not None]
        if len(tests) != 1:
            names = ", ".join(t.rstrip("_") for t in tests) or "none"
            raise ValueError(f"needs exactly one of equals, in, at_least, at_most (got {names})")
        return self

    def describe(self) -> str:
        """The test as written in reasons: ``涉爆粉尘 = 是``, ``从业人数 ≥ 100``."""
        if self.equals is not None:
            return f"{self.column} = {self.equals}"
        if self.in_ is not None:
            return f"{self.column} ∈ {{{', '.join(self.in_)}}}"
        if self.at_least is not None:
            return f"{self.column} ≥ {self.at_least:g}"
        return f"{self.column} ≤ {self.at_most:g}"


class BaselineRule(_Model):
    """A register rule raising the inherent level: when the condition holds, at least ``level``."""

    when: BaselineCondition = Field(
        description='The test, e.g. { column = "涉爆粉尘", equals = "是" } or { column = "从业人数", at_least = 100 }.'
    )
    level: LevelKey = Field(description="The facility's inherent level is at least this when the test holds.")
    sectors: list[str] | None = Field(
        None, description="Sectors the rule applies to (keys of [scoring.sectors]); default: every sector."
    )


class BaselineParams(_Model):
    """The inherent level (固有风险等级) from the enterprise register: a local convention, not a national method."""

    levels: dict[str, LevelKey] = Field(
        default_factory=dict,
        description='Sector -> inherent level, e.g. { "工贸" = "blue", "危险化学品" = "orange" }.',
    )
    rules: list[BaselineRule] = Field(
        default_factory=list,
        description="Rules on register columns that raise the inherent level (the highest wins); a sub-sector "
        'is a rule too: when = { column = "行业类别", in = ["金属冶炼"] }.',
    )


class MethodParams(_Model):
    """Parameters of each grading method."""

    gb18218: GB18218Params = GB18218Params()
    ls_matrix: LSMatrixParams = LSMatrixParams()
    lec: LECParams = LECParams()
    chem2018: Chem2018Params = Chem2018Params()
    indicator: IndicatorParams = IndicatorParams()
    baseline: BaselineParams = BaselineParams()


class ScoringConfig(_Model):
    """Which methods grade which sector; a facility's level is the highest its methods give."""

    sectors: dict[str, list[str]] = Field(
        default_factory=dict, description="Sector value -> list of method names applied to it."
    )
    default: list[str] | None = Field(
        None, description="Methods for sectors not listed; when unset such facilities are rejected."
    )
    unassessed: Literal["reject", "grey"] = Field(
        "reject",
        description="A facility its sector's methods cannot grade (no records, no baseline): reject (rejects "
        "table) or grey (kept on the map as level none, 未评估, and planned with supervision.frequency.none).",
    )


Clause = dict[Literal["n_red", "n_orange", "n_yellow", "n_blue", "n_facilities"], int]


class IndexConfig(_Model):
    """The zone index: hazard, exposure and vulnerability, weighted, classified into four levels."""

    weights: dict[Literal["hazard", "exposure", "vulnerability"], float] = Field(
        default={"hazard": 0.5, "exposure": 0.3, "vulnerability": 0.2},
        description="Weights of the three parts (normalised to sum to 1); each part is scaled to 0..1 over the zones.",
    )
    hazard_weights: dict[LevelKey, float] = Field(
        default={"red": 10.0, "orange": 5.0, "yellow": 2.0, "blue": 1.0},
        description="Hazard part: the weighted count of facilities per level.",
    )
    vulnerability_distance_m: float = Field(
        1000.0, gt=0, description="Sensitive sites within this distance of a red or orange facility count."
    )
    classify: str = Field(
        "fixed",
        description='"fixed" (breaks below) or a mapclassify scheme name (NaturalBreaks, Quantiles, '
        "EqualInterval, FisherJenks ...) with k = 4 classes",
    )
    breaks: dict[Literal["red", "orange", "yellow"], float] = Field(
        default={"red": 0.6, "orange": 0.4, "yellow": 0.2},
        description="With classify = fixed: lower bounds of the 0..1 index for red, orange, yellow.",
    )

    @model_validator(mode="after")
    def _check(self) -> IndexConfig:
        b = self.breaks
        if set(b) != {"red", "orange", "yellow"} or not 1 >= b["red"] > b["orange"] > b["yellow"] > 0:
            raise ValueError(f"breaks must decrease from red to yellow within 0..1, got {b}")
        if self.classify != "fixed":
            import mapclassify

            if not hasattr(mapclassify, self.classify):
                schemes = ", ".join(sorted(n for n in mapclassify.CLASSIFIERS))
                raise ValueError(f"unknown classify {self.classify!r}; use fixed or one of: {schemes}")
        return self


class SpilloverConfig(_Model):
    """Hazards do not stop at village borders: raise zones near big major hazards of a neighbour."""

    distance_m: float = Field(gt=0, description="Zones within this distance of such a facility are raised.")
    grades: list[int] = Field(default=[1, 2], description="GB 18218 grades that spill over (1 = 一级).")
    min_level: LevelKey = Field("orange", description="Raised to at least this level.")


class LayerRule(_Model):
    """Zone-rule settings for one zone layer; unset keys fall back to [zoning]."""

    rule: Literal["max", "thresholds", "index"] | None = None
    empty_level: ZoneLevelKey | None = None
    thresholds: dict[LevelKey, list[Clause]] | None = None
    index: IndexConfig | None = None


class ZoningConfig(_Model):
    """How facilities are placed in zones and how zones get their level."""

    rule: Literal["max", "thresholds", "index"] = Field(
        "max",
        description="max: the highest facility level in the zone (就高); thresholds: count rules per level; "
        "index: hazard, exposure and vulnerability classified into four levels.",
    )
    empty_level: ZoneLevelKey = Field(
        "blue", description='Level of a zone with no facilities ("none" = grey).'
    )
    thresholds: dict[LevelKey, list[Clause]] = Field(
        default={"red": [{"n_red": 1}], "orange": [{"n_orange": 1}], "yellow": [{"n_yellow": 1}]},
        description="With rule = thresholds: a zone is at a level when any clause holds; a clause holds when "
        "every count in it is reached, e.g. red = [{n_red = 1}, {n_orange = 3}]. Zones matching none of the "
        "levels but with facilities are blue.",
    )
    index: IndexConfig = IndexConfig()
    snap_distance_m: float = Field(
        0.0,
        ge=0,
        description="A facility outside every zone but within this distance of one is placed in the nearest, "
        "recorded as such; 0: rejected.",
    )
    spillover: SpilloverConfig | None = None
    by_layer: dict[str, LayerRule] = Field(
        default_factory=dict,
        description="Per zone layer (by kind) overrides of rule, thresholds, index and empty_level, e.g. "
        '[zoning.by_layer.town] rule = "thresholds": a town holds many more facilities than a village.',
    )

    def for_layer(self, kind: str) -> ZoningConfig:
        """The zoning config of one layer: the defaults above with that layer's overrides."""
        override = self.by_layer.get(kind)
        if override is None:
            return self
        update = {
            k: getattr(override, k) for k in override.model_fields_set if getattr(override, k) is not None
        }
        return self.model_copy(update=update)


class SamplingConfig(_Model):
    """Double-random (双随机) draws for levels that are sampled instead of inspected by frequency."""

    rates: dict[LevelKey, float] = Field(
        default={"blue": 0.10}, description="Level -> share of its facilities drawn per year."
    )
    seed: str | None = Field(None, description="Published seed; default is '<year>-<district_code>'.")
    cover_years: int = Field(
        3,
        ge=1,
        description="With plan history: an enterprise not inspected for this many years is drawn first.",
    )

    @field_validator("rates")
    @classmethod
    def _rates(cls, v: dict[str, float]) -> dict[str, float]:
        for k, rate in v.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rate for {k} is {rate}; a sampling rate is a share between 0 and 1")
        return v


class CapRule(_Model):
    """Maximum inspections per year by standardisation grade, for some sectors (or all)."""

    sectors: list[str] | None = Field(None, description="Sectors the rule applies to; unset: every sector.")
    by_grade: dict[Literal["一级", "二级", "三级", "none"], float] = Field(
        description="Standardisation grade (none = no valid grade) -> at most this many inspections a year."
    )

    @field_validator("by_grade")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: c for k, c in v.items() if c < 0}
        if bad:
            raise ValueError(f"caps must not be negative, got {bad}")
        return v


class CapacityConfig(_Model):
    """Inspector capacity: officers x working days x the share of days spent in the field."""

    officers: int = Field(ge=0, description="Law-enforcement officers available for inspections.")
    working_days: int = Field(
        248, ge=0, le=366, description="Working days per year (a year's weekdays, less holidays)."
    )
    field_share: float = Field(
        0.4, ge=0, le=1, description="Share of working days spent on field inspections."
    )
    inspector_days_per_inspection: float = Field(
        1.0, gt=0, description="Officer-days one inspection takes (e.g. 2 officers x half a day = 1)."
    )
    holidays: list[date] = Field(
        default_factory=list,
        description="Days off besides weekends, e.g. the Spring Festival week; 元旦 (1 Jan), 劳动节 (1-5 May) "
        "and 国庆 (1-7 Oct) are always off. Lunar holidays move every year: list them here.",
    )


class SupervisionConfig(_Model):
    """Inspection frequencies per level (差异化监管), caps, draws, capacity and schedule."""

    year: int = Field(default_factory=lambda: date.today().year + 1, ge=2000, le=2100)
    frequency: dict[ZoneLevelKey, float] = Field(
        default={"red": 4.0, "orange": 2.0, "yellow": 1.0, "blue": 0.0},
        description="Inspections per year of each enterprise of a level (floors); `none` (not assessed, with "
        '[scoring] unassessed = "grey") defaults to 1: someone must go and assess it.',
    )
    frequency_by_sector: dict[str, dict[ZoneLevelKey, float]] = Field(
        default_factory=dict, description="Sector -> level -> inspections per year, overriding `frequency`."
    )
    caps_by_level: dict[LevelKey, float] = Field(
        default_factory=dict,
        description="Level -> at most this many inspections a year (not below the floor).",
    )
    caps: list[CapRule] = Field(
        default_factory=list,
        description="Caps by standardisation grade (national policy limits inspections); the first rule whose "
        "sectors match applies. A cap below a floor lowers the floor, recorded in the plan.",
    )
    zone_patrols: dict[ZoneLevelKey, float] = Field(
        default={"red": 12.0, "orange": 4.0, "yellow": 2.0, "blue": 1.0, "none": 0.0},
        description="Patrols per year of each zone of a level.",
    )
    sampling: SamplingConfig = SamplingConfig()
    capacity: CapacityConfig | None = Field(
        None, description="When set, inspections get dates within capacity."
    )
    roster: Path | None = Field(
        None, description="CSV/XLSX of inspectors (column `name`); drawn enterprises get random inspectors."
    )
    inspectors_per_inspection: int = Field(2, ge=1, description="Inspectors drawn for each drawn enterprise.")

    def frequencies(self) -> dict[str, float]:
        """Inspections per year by level key, ``none`` included (default 1)."""
        return {NOT_ASSESSED: UNASSESSED_FREQUENCY, **{str(k): f for k, f in self.frequency.items()}}

    @field_validator("frequency")
    @classmethod
    def _freq(cls, v: dict[str, float]) -> dict[str, float]:
        for k, f in v.items():
            if f < 0 or f > 52:
                raise ValueError(f"frequency for {k} is {f}; use inspections per year between 0 and 52")
        missing = set(LEVEL_NAMES) - set(v)
        if missing:
            raise ValueError(f"missing levels {sorted(missing)}; give inspections per year for all four")
        return v

    @model_validator(mode="after")
    def _caps_not_below_floors(self) -> SupervisionConfig:
        for level, cap in self.caps_by_level.items():
            floors = [self.frequency[level]] + [
                f[level] for f in self.frequency_by_sector.values() if level in f
            ]
            if cap < max(floors):
                raise ValueError(
                    f"caps_by_level.{level} = {cap:g} is below the floor of {max(floors):g} inspections a year "
                    f"for {level} (frequency); raise the cap or lower the frequency"
                )
        for sector, table in self.frequency_by_sector.items():
            for key, f in table.items():
                if f < 0 or f > 52:
                    raise ValueError(
                        f"frequency_by_sector.{sector}.{key} is {f}; use 0..52 inspections a year"
                    )
        return self


class ReportFonts(_Model):
    """Fonts of the Word report (report.docx); East-Asian fonts go into w:eastAsia of every run."""

    body: str = Field("宋体", description="Chinese font of body text and tables (宋体, 仿宋 ...).")
    heading: str = Field("黑体", description="Chinese font of the headings and the title.")
    latin: str = Field("Times New Roman", description="Font of Latin letters and digits.")


class OutputsConfig(_Model):
    """Which outputs to write."""

    dir: Path = Field(Path("riskmap-out"), description="Output directory, relative to the project file.")
    html: bool = True
    embed: bool = Field(
        False,
        description="HTML map of fixed size without full-page styling, for an <iframe> or a report page.",
    )
    geoparquet: bool = Field(
        False,
        description="Also write the facility, zone and plan layers as GeoParquet (facilities.parquet, "
        "zones_<kind>.parquet, inspection_plan.parquet): how large results move to other tools.",
    )
    cluster_above: int = Field(
        5000,
        ge=0,
        description="Above this many facilities the HTML map clusters the markers per level (drawn on canvas), "
        "so a province-size map still opens; 0 always clusters.",
    )
    figure: bool = True
    figure_formats: list[Literal["png", "svg", "pdf"]] = Field(default=["png"])
    tiles: Literal["none", "openstreetmap", "tianditu", "gaode"] = Field(
        "none",
        description="Base tiles of the HTML map: none works offline; tianditu reads its key from the TIANDITU_KEY "
        "environment variable (never put it in the project file); gaode shows the data shifted to GCJ-02.",
    )
    # The Word report (riskmap report; riskmap run too when report = true).
    report: bool = Field(False, description="riskmap run also writes report.docx (and cards.docx).")
    report_unit: str = Field("", description="Issuing unit on the report's title page (e.g. XX县应急管理局).")
    report_template: Path | None = Field(
        None, description="A .docx whose styles, header and footer (红头) the report uses; default: styles/."
    )
    report_cards: Literal["red-orange", "all", "none"] = Field(
        "red-orange", description="Risk notification cards (风险告知卡, cards.docx): for which enterprises."
    )
    report_fonts: ReportFonts = Field(default_factory=ReportFonts)


class EngineConfig(_Model):
    """Where validation, zone assignment and scoring run: in memory, or partitioned on a dask cluster."""

    name: Literal["memory", "dask"] = Field(
        "memory",
        description="memory (one process) or dask (GeoDataFrame partitions on dask.distributed; "
        "pip install 'riskmap[dask]'). Same results.",
    )
    scheduler: str | None = Field(
        None,
        description="Dask scheduler address (tcp://host:8786); default: $DASK_SCHEDULER_ADDRESS, else a local "
        "cluster on this machine.",
    )
    partition_rows: int = Field(
        250_000,
        ge=1_000,
        description="Facilities per dask partition (at least one partition per worker thread).",
    )
    processes: bool = Field(
        False,
        description="Local cluster of processes instead of threads (each partition is pickled; slower on few cores).",
    )


HiddenDangerGrade = Literal["一般", "重大", "any"]
AccidentClass = Literal["特别重大", "重大", "较大", "一般"]
StandardisationGrade = Literal["一级", "二级", "三级"]
_ACCIDENT_CLASSES: list[AccidentClass] = ["特别重大", "重大", "较大", "一般"]
_STANDARDISATION_GRADES: list[StandardisationGrade] = ["一级", "二级", "三级"]


class OpenHiddenDanger(_Model):
    """Open (not yet closed, 未销号) hidden dangers found on or before the as-of date."""

    #: Adverse conditions may only raise a level; favourable ones only lower it.
    direction: ClassVar[str] = "raise"
    table: ClassVar[str] = "hidden_dangers"

    condition: Literal["open_hidden_danger"]
    grade: HiddenDangerGrade = Field("any", description="一般, 重大 or any.")
    min_count: int = Field(1, ge=1, description="Open hidden dangers needed for the condition to hold.")


class OpenMajorHiddenDanger(_Model):
    """An open major hidden danger (重大事故隐患 not yet 销号)."""

    direction: ClassVar[str] = "raise"
    table: ClassVar[str] = "hidden_dangers"

    condition: Literal["open_major_hidden_danger"]
    min_count: int = Field(1, ge=1, description="Open major hidden dangers needed.")


class OverdueHiddenDanger(_Model):
    """Open hidden dangers past their rectification deadline (the deadline day itself is not overdue)."""

    direction: ClassVar[str] = "raise"
    table: ClassVar[str] = "hidden_dangers"

    condition: Literal["overdue_hidden_danger"]
    grade: HiddenDangerGrade = Field("any", description="一般, 重大 or any.")
    min_count: int = Field(1, ge=1, description="Overdue hidden dangers needed.")
    min_days: int = Field(1, ge=1, description="Days past the deadline before one counts as overdue.")


class AccidentCondition(_Model):
    """Accidents within the last ``within_months`` months (the day exactly that many months ago is outside)."""

    direction: ClassVar[str] = "raise"
    table: ClassVar[str] = "accidents"

    condition: Literal["accident"]
    classes: list[AccidentClass] = Field(
        default_factory=lambda: list(_ACCIDENT_CLASSES),
        description="Accident classes counted (all by default).",
    )
    within_months: int = Field(12, ge=1, le=240, description="Length of the window ending on the as-of date.")
    min_count: int = Field(1, ge=1, description="Accidents needed in the window.")
    min_deaths: int = Field(0, ge=0, description="Deaths an accident needs to count (1: fatal accidents).")


class StandardisationCondition(_Model):
    """A safety standardisation grade (安全生产标准化) valid on the as-of date."""

    direction: ClassVar[str] = "lower"
    table: ClassVar[str] = "standardisation"

    condition: Literal["standardisation"]
    grades: list[StandardisationGrade] = Field(
        default_factory=lambda: list(_STANDARDISATION_GRADES), description="Grades that count."
    )


#: The fixed vocabulary of adjustment conditions, by name.
CONDITIONS: dict[str, type[_Model]] = {
    "open_major_hidden_danger": OpenMajorHiddenDanger,
    "open_hidden_danger": OpenHiddenDanger,
    "overdue_hidden_danger": OverdueHiddenDanger,
    "accident": AccidentCondition,
    "standardisation": StandardisationCondition,
}

Condition = Annotated[
    OpenMajorHiddenDanger
    | OpenHiddenDanger
    | OverdueHiddenDanger
    | AccidentCondition
    | StandardisationCondition,
    Field(discriminator="condition"),
]


def _condition(value: Any) -> Any:
    """Pick the condition model by name, with messages that list the valid names and keys."""
    if not isinstance(value, dict):
        return value
    name = value.get("condition")
    valid = ", ".join(CONDITIONS)
    if name is None:
        raise ValueError(f"needs condition = one of {valid}")
    model = CONDITIONS.get(str(name))
    if model is None:
        close = difflib.get_close_matches(str(name), list(CONDITIONS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown condition {name!r}{hint} (valid: {valid})")
    try:
        return model.model_validate(value)
    except ValidationError as err:
        keys = [k for k in model.model_fields if k != "condition"]
        problems = []
        for e in err.errors():
            key = ".".join(str(p) for p in e["loc"])
            if e["type"] == "extra_forbidden":
                close = difflib.get_close_matches(key, keys, n=1, cutoff=0.5)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.append(
                    f"unknown key {key!r} for condition {name!r}{hint} (valid: {', '.join(keys) or 'none'})"
                )
            else:
                problems.append(f"{key}: {e['msg']} (got {e.get('input')!r})")
        raise ValueError("; ".join(problems)) from None


class AdjustmentRule(_Model):
    """One dynamic-adjustment rule: when a condition holds for a facility in scope, change its level."""

    name: str | None = Field(
        None, description="Name in outputs and the summary; default: the condition name."
    )
    when: Condition = Field(description='The condition, e.g. { condition = "accident", within_months = 12 }.')
    raise_to: LevelKey | None = Field(None, description="Raise to at least this level.")
    raise_by: int | None = Field(None, ge=1, le=3, description="Raise by this many levels (up to `ceiling`).")
    lower_to: LevelKey | None = Field(None, description="Lower to at most this level.")
    lower_by: int | None = Field(None, ge=1, le=3, description="Lower by this many levels (down to `floor`).")
    floor: LevelKey | None = Field(None, description="With lower_by: never lower below this level.")
    ceiling: LevelKey | None = Field(None, description="With raise_by: never raise above this level.")
    sectors: list[str] | None = Field(
        None, description="Sectors the rule applies to (keys of [scoring.sectors]); default: all."
    )

    @field_validator("when", mode="before")
    @classmethod
    def _when(cls, v: Any) -> Any:
        return _condition(v)

    @model_validator(mode="after")
    def _effect(self) -> AdjustmentRule:
        effects = {
            k: v
            for k, v in (
                ("raise_to", self.raise_to),
                ("raise_by", self.raise_by),
                ("lower_to", self.lower_to),
                ("lower_by", self.lower_by),
            )
            if v is not None
        }
        if len(effects) != 1:
            raise ValueError(
                "needs exactly one effect of raise_to, raise_by, lower_to, lower_by "
                f"(got {', '.join(effects) or 'none'})"
            )
        effect = next(iter(effects))
        if self.floor is not None and effect != "lower_by":
            raise ValueError("floor goes with lower_by (lower_to already says how low)")
        if self.ceiling is not None and effect != "raise_by":
            raise ValueError("ceiling goes with raise_by (raise_to already says how high)")
        direction = type(self.when).direction
        if not effect.startswith(direction):
            kind = (
                "an adverse event can only raise"
                if direction == "raise"
                else "a standardisation grade can only lower"
            )
            raise ValueError(
                f"condition {self.when.condition!r} with {effect}: {kind} a level "
                f"(use {direction}_to or {direction}_by)"
            )
        return self

    @property
    def effect(self) -> tuple[str, int | str]:
        """The effect as ``(name, value)``, e.g. ``("raise_to", "red")``."""
        for k in ("raise_to", "raise_by", "lower_to", "lower_by"):
            v = getattr(self, k)
            if v is not None:
                return k, v
        raise AssertionError("validated rules have one effect")


class AdjustmentConfig(_Model):
    """Dynamic adjustment (动态调整): rules applied to the method levels, evaluated as of a date."""

    as_of: date | None = Field(
        None,
        description="Date the rules are evaluated on (a TOML date, 2026-11-24); --as-of overrides it; "
        "default: today.",
    )
    rules: list[AdjustmentRule] = Field(
        default_factory=list,
        description="Lowering rules apply first, then raising rules; within each group the strongest wins.",
    )

    def named_rules(self) -> list[tuple[str, AdjustmentRule]]:
        """Rules with their names: ``name``, else the condition name (``_2``, ``_3`` for repeats)."""
        out: list[tuple[str, AdjustmentRule]] = []
        seen: dict[str, int] = {}
        for rule in self.rules:
            base = rule.name or rule.when.condition
            seen[base] = seen.get(base, 0) + 1
            out.append((base if seen[base] == 1 or rule.name else f"{base}_{seen[base]}", rule))
        return out


class Config(_Model):
    """A riskmap project (``riskmap.toml``)."""

    project: ProjectInfo = ProjectInfo()
    facilities: FacilitiesConfig
    inventory: TableConfig | None = Field(None, description="Chemical inventories (GB 18218).")
    risk_points: TableConfig | None = Field(None, description="Risk points (风险点) for LS/LEC.")
    deductions: TableConfig | None = Field(
        None,
        description="Deduction items of the 2018 chemical-enterprise guide (chem2018), one row per item.",
    )
    hidden_dangers: TableConfig | None = Field(None, description="Hidden-danger records (隐患).")
    accidents: TableConfig | None = Field(None, description="Accident records.")
    standardisation: TableConfig | None = Field(
        None, description="Safety standardisation grades (安全生产标准化): facility_id, grade, valid_until."
    )
    zones: Annotated[list[ZoneLayerConfig], Field(min_length=1)] = Field(
        description="Zone layers from finest to coarsest (village, then town)."
    )
    population: RasterConfig | None = Field(None, description="Population raster (persons per cell).")
    sensitive_sites: SitesConfig | None = Field(
        None, description="Schools, hospitals and other sensitive sites, counted per zone."
    )
    scoring: ScoringConfig = ScoringConfig()
    methods: MethodParams = MethodParams()
    adjustment: AdjustmentConfig = AdjustmentConfig()
    zoning: ZoningConfig = ZoningConfig()
    supervision: SupervisionConfig = SupervisionConfig()
    outputs: OutputsConfig = OutputsConfig()
    engine: EngineConfig = EngineConfig()

    #: Directory of the project file; paths are relative to it. Not part of the file.
    base_dir: Path = Field(Path("."), exclude=True, json_schema_extra={"hidden": True})

    @model_validator(mode="after")
    def _check(self) -> Config:
        from riskmap.methods import METHODS

        for sector, names in {**self.scoring.sectors, "(default)": self.scoring.default or []}.items():
            for name in names:
                if name not in METHODS:
                    close = difflib.get_close_matches(name, list(METHODS), n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    raise ValueError(
                        f"scoring.sectors[{sector!r}]: unknown method {name!r}{hint} "
                        f"(valid: {', '.join(sorted(METHODS))})"
                    )
        kinds = [z.kind for z in self.zones]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"zones: each layer needs its own kind, got {kinds}")
        return self

    @model_validator(mode="after")
    def _check_adjustment(self) -> Config:
        names = [r.name for r in self.adjustment.rules if r.name]
        if len(set(names)) != len(names):
            raise ValueError(f"adjustment.rules: each rule needs its own name, got {names}")
        sectors = list(self.scoring.sectors)
        for i, (name, rule) in enumerate(self.adjustment.named_rules()):
            where = f"adjustment.rules[{i}] ({name})"
            for sector in rule.sectors or []:
                if sector not in self.scoring.sectors:
                    close = difflib.get_close_matches(sector, sectors, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    raise ValueError(
                        f"{where}: sector {sector!r} is not in [scoring.sectors]{hint} "
                        f"(sectors: {', '.join(sectors) or 'none'})"
                    )
            table = type(rule.when).table
            if getattr(self, table) is None:
                raise ValueError(
                    f"{where}: condition {rule.when.condition!r} reads the [{table}] table; "
                    f"add [{table}] path = ... to the project file"
                )
        return self

    @model_validator(mode="after")
    def _check_baseline(self) -> Config:
        sectors = list(self.scoring.sectors)

        def known(sector: str, where: str) -> None:
            if sector not in self.scoring.sectors:
                close = difflib.get_close_matches(sector, sectors, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(
                    f"{where}: sector {sector!r} is not in [scoring.sectors]{hint} "
                    f"(sectors: {', '.join(sectors) or 'none'})"
                )

        baseline = self.methods.baseline
        # With baseline in scoring.default any sector may have a level; otherwise a sector not listed is a typo.
        if "baseline" not in (self.scoring.default or []):
            for sector in baseline.levels:
                known(sector, "methods.baseline.levels")
        for i, rule in enumerate(baseline.rules):
            for sector in rule.sectors or []:
                known(sector, f"methods.baseline.rules[{i}].sectors")
        return self

    def resolve(self, path: Path) -> Path:
        """A path from the project file, made absolute against the project directory."""
        return path if path.is_absolute() else (self.base_dir / path)

    def uses_method(self, name: str) -> bool:
        """Whether any sector (or the default) is graded by method ``name``."""
        lists = [*self.scoring.sectors.values(), self.scoring.default or []]
        return any(name in methods for methods in lists)


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model class that holds the field at ``loc`` (for suggesting key names)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _format_errors(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = tuple(e["loc"])
        where = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
        if e["type"] == "extra_forbidden":
            holder = _model_at(Config, loc)
            valid = [n for n in (holder.model_fields if holder else {}) if n != "base_dir"]
            close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            lines.append(f"{source}: unknown key {where!r}{hint} (valid keys here: {', '.join(valid)})")
        elif e["type"] == "missing":
            lines.append(f"{source}: {where}: required key is missing")
        else:
            value = e.get("input")
            shown = f" (got {value!r})" if not isinstance(value, dict) else ""
            msg = e["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: {where}: {msg}{shown}" if where else f"{source}: {msg}")
    return "\n".join(lines)


def config_from_dict(data: dict[str, Any], base_dir: Path | str = ".", source: str = "config") -> Config:
    """Validate a config mapping; raise :class:`ConfigError` listing every problem."""
    try:
        return Config.model_validate({**data, "base_dir": Path(base_dir)})
    except ValidationError as err:
        raise ConfigError(_format_errors(err, source)) from None


def load_config(path: str | Path) -> Config:
    """Read and validate a project file.

    Raises
    ------
    ConfigError
        The file is missing, is not TOML, or has invalid or unknown keys (the message names each).
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise ConfigError(f"{p}: cannot read the project file ({err.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: the project file must be UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{p}: not valid TOML: {err}") from None
    if "base_dir" in data:
        raise ConfigError(f"{p}: unknown key 'base_dir'")
    return config_from_dict(data, base_dir=p.resolve().parent, source=p.name)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the project file, for editors."""
    schema = Config.model_json_schema(mode="validation")
    schema.get("properties", {}).pop("base_dir", None)
    schema["title"] = "riskmap project file (riskmap.toml)"
    return schema


def config_hash(config: Config) -> str:
    """SHA-256 of the validated config (paths as written), for provenance.

    ``[engine]`` is left out: where the stages ran does not change the results (run.json records it); so are
    the Word report's settings (``outputs.report*``), which change only report.docx's layout.
    """
    report_keys = {k for k in OutputsConfig.model_fields if k.startswith("report")}
    dumped = config.model_dump(
        mode="json", exclude={"base_dir": True, "engine": True, "outputs": report_keys}
    )
    return hashlib.sha256(json.dumps(dumped, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
