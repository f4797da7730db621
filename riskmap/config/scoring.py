"""``[scoring]`` (which methods grade which sector) and ``[methods.*]`` (each method's parameters)."""

from __future__ import annotations

import difflib
from typing import Literal, get_args

from pydantic import ConfigDict, Field, field_validator, model_validator

from riskmap.config.base import ConfigModel, LevelKey, values_at_least
from riskmap.i18n import tr
from riskmap.vocabulary import sector_key

__all__ = [
    "MethodName",
    "METHOD_NAMES",
    "GB18218Params",
    "LS_PRESETS",
    "PointAggregation",
    "LSMatrixParams",
    "LECParams",
    "Chem2018Params",
    "Indicator",
    "IndicatorParams",
    "BaselineCondition",
    "BaselineRule",
    "BaselineParams",
    "MethodParams",
    "ScoringConfig",
    "unknown_method",
    "unknown_sector",
]

#: The grading methods, by the name used in ``[scoring.sectors]``; :data:`riskmap.methods.METHODS` implements
#: each (a test keeps the two in step). A ``Literal``, so that the JSON Schema lists them for editors.
MethodName = Literal["gb18218", "chem2018", "lec", "ls_matrix", "indicator", "baseline"]
METHOD_NAMES: tuple[str, ...] = get_args(MethodName)


def unknown_method(name: str, sector: str) -> str:
    """The problem with a method name that is not one of :data:`MethodName`, suggesting the closest.

    >>> unknown_method("ls_matrx", "工贸") == tr(
    ...     "scoring.sectors[{sector!r}]: unknown method {name!r}; did you mean {close!r}? (valid: {valid})",
    ...     sector="工贸", name="ls_matrx", close="ls_matrix", valid=", ".join(sorted(METHOD_NAMES)))
    True
    """
    close = difflib.get_close_matches(name, list(METHOD_NAMES), n=1)
    valid = ", ".join(sorted(METHOD_NAMES))
    if close:
        return tr(
            "scoring.sectors[{sector!r}]: unknown method {name!r}; did you mean {close!r}? (valid: {valid})",
            sector=sector,
            name=name,
            close=close[0],
            valid=valid,
        )
    return tr(
        "scoring.sectors[{sector!r}]: unknown method {name!r} (valid: {valid})",
        sector=sector,
        name=name,
        valid=valid,
    )


def unknown_sector(sector: str, sectors: list[str], where: str) -> str:
    """The problem with a sector that ``[scoring.sectors]`` does not configure, suggesting the closest."""
    close = difflib.get_close_matches(sector, sectors, n=1)
    listed = ", ".join(sectors) or tr("none")
    if close:
        return tr(
            "{where}: sector {sector!r} is not in [scoring.sectors]; did you mean {close!r}? (sectors: {sectors})",
            where=where,
            sector=sector,
            close=close[0],
            sectors=listed,
        )
    return tr(
        "{where}: sector {sector!r} is not in [scoring.sectors] (sectors: {sectors})",
        where=where,
        sector=sector,
        sectors=listed,
    )


class GB18218Params(ConfigModel):
    """Parameters of the GB 18218-2018 major-hazard method."""

    grade_levels: dict[str, LevelKey] = Field(
        default={"1": "red", "2": "orange", "3": "yellow", "4": "blue"},
        description="Major-hazard grade (1..4, 一级..四级) -> risk level. A convention, not law.",
    )
    persons_column: str | None = Field(
        None,
        description="Facility column with persons within buffer_m (45人, 约45 are 45); an empty cell is counted from "
        "the population raster when one is configured, else the persons are unknown. Unset: the raster for all.",
    )
    buffer_m: float = Field(
        500.0,
        gt=0,
        description="Exposure radius around the facility (GB 18218: 500 m); names the persons column (persons_500m).",
    )
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
                tr(
                    "needs exactly the grades 1, 2, 3, 4 (missing {missing}, extra {extra})",
                    missing=sorted(missing),
                    extra=sorted(extra),
                )
            )
        return v


LS_PRESETS: dict[str, dict[LevelKey, tuple[int, int]]] = {
    # R = L x S bands, inclusive: the common banding (DOMAIN.md §4) and a published variant.
    "common": {"red": (20, 25), "orange": (15, 16), "yellow": (9, 12), "blue": (1, 8)},
    "variant": {"red": (20, 25), "orange": (10, 16), "yellow": (4, 9), "blue": (1, 3)},
}


class PointAggregation(ConfigModel):
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
        return values_at_least(v, 1, "counts must be at least 1")


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
            raise ValueError(tr("must be 5 rows of 5 levels (rows L=1..5, columns S=1..5)"))
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
            raise ValueError(tr("thresholds needs red, orange and yellow"))
        if not t["red"] > t["orange"] > t["yellow"] > 0:
            raise ValueError(
                tr(
                    "thresholds must decrease from red to yellow and be positive, got {thresholds}",
                    thresholds=t,
                )
            )
        return self


class Chem2018Params(ConfigModel):
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
            raise ValueError(tr("bands must give blue > yellow > orange within 0..100, got {bands}", bands=b))
        return self


class Indicator(ConfigModel):
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
            raise ValueError(tr("max ({max}) must be greater than min ({min})", max=self.max, min=self.min))
        return self


class IndicatorParams(ConfigModel):
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
            raise ValueError(
                tr("breaks must decrease from red to yellow within 0..100, got {breaks}", breaks=b)
            )
        return self


class BaselineCondition(ConfigModel):
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
            names = ", ".join(t.rstrip("_") for t in tests) or tr("none")
            raise ValueError(
                tr("needs exactly one of equals, in, at_least, at_most (got {names})", names=names)
            )
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


class BaselineRule(ConfigModel):
    """A register rule raising the inherent level: when the condition holds, at least ``level``."""

    when: BaselineCondition = Field(
        description='The test, e.g. { column = "涉爆粉尘", equals = "是" } or { column = "从业人数", at_least = 100 }.'
    )
    level: LevelKey = Field(description="The facility's inherent level is at least this when the test holds.")
    sectors: list[str] | None = Field(
        None, description="Sectors the rule applies to (keys of [scoring.sectors]); default: every sector."
    )


class BaselineParams(ConfigModel):
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


class MethodParams(ConfigModel):
    """Parameters of each grading method."""

    gb18218: GB18218Params = GB18218Params()
    ls_matrix: LSMatrixParams = LSMatrixParams()
    lec: LECParams = LECParams()
    chem2018: Chem2018Params = Chem2018Params()
    indicator: IndicatorParams = IndicatorParams()
    baseline: BaselineParams = BaselineParams()


class ScoringConfig(ConfigModel):
    """Which methods grade which sector; a facility's level is the highest its methods give."""

    sectors: dict[str, list[MethodName]] = Field(
        default_factory=dict, description="Sector value -> list of method names applied to it."
    )
    default: list[MethodName] | None = Field(
        None, description="Methods for sectors not listed; when unset such facilities are rejected."
    )
    unassessed: Literal["reject", "grey"] = Field(
        "reject",
        description="A facility its sector's methods cannot grade (no records, no baseline; or a sector with no "
        "methods at all): reject (rejects table) or grey (kept on the map as level none, 未评估, and planned "
        "with supervision.frequency.none).",
    )
    sector_aliases: dict[str, str] = Field(
        default_factory=dict,
        description='The register\'s own sector spellings -> a sector of [scoring.sectors], e.g. { "机械加工" = '
        '"工贸" }; besides the shipped spellings (styles/sector_aliases.toml: 危化品 -> 危险化学品, 涉爆粉尘 <-> '
        "粉尘涉爆 ...). Compared without spaces, full-width as half-width, case-insensitively.",
    )

    @model_validator(mode="after")
    def _aliases_name_sectors(self) -> ScoringConfig:
        configured = {sector_key(s) for s in self.sectors}
        for spelt, target in self.sector_aliases.items():
            if target not in self.sectors:
                raise ValueError(
                    tr(
                        "{problem}; an alias maps a spelling to a configured sector",
                        problem=unknown_sector(target, list(self.sectors), f"sector_aliases[{spelt!r}]"),
                    )
                )
            if sector_key(spelt) in configured:
                raise ValueError(
                    tr(
                        "sector_aliases[{spelt!r}]: {spelt!r} is itself a sector of [scoring.sectors]; an alias "
                        "maps a spelling that is not one",
                        spelt=spelt,
                    )
                )
        return self
