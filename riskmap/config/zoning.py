"""``[zoning]``: how facilities are placed in zones and how zones get their level."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from riskmap.config.base import ConfigModel, LevelKey, ZoneLevelKey
from riskmap.i18n import tr

__all__ = ["Clause", "IndexConfig", "SpilloverConfig", "LayerRule", "ZoningConfig"]


Clause = dict[Literal["n_red", "n_orange", "n_yellow", "n_blue", "n_facilities"], int]


class IndexConfig(ConfigModel):
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
            raise ValueError(
                tr("breaks must decrease from red to yellow within 0..1, got {breaks}", breaks=b)
            )
        if self.classify != "fixed":
            import mapclassify

            if not hasattr(mapclassify, self.classify):
                schemes = ", ".join(sorted(n for n in mapclassify.CLASSIFIERS))
                raise ValueError(
                    tr(
                        "unknown classify {classify!r}; use fixed or one of: {schemes}",
                        classify=self.classify,
                        schemes=schemes,
                    )
                )
        return self


class SpilloverConfig(ConfigModel):
    """Hazards do not stop at village borders: raise zones near big major hazards of a neighbour."""

    distance_m: float = Field(gt=0, description="Zones within this distance of such a facility are raised.")
    grades: list[int] = Field(default=[1, 2], description="GB 18218 grades that spill over (1 = 一级).")
    min_level: LevelKey = Field("orange", description="Raised to at least this level.")


class LayerRule(ConfigModel):
    """Zone-rule settings for one zone layer; unset keys fall back to [zoning]."""

    rule: Literal["max", "thresholds", "index"] | None = None
    empty_level: ZoneLevelKey | None = None
    thresholds: dict[LevelKey, list[Clause]] | None = None
    index: IndexConfig | None = None


class ZoningConfig(ConfigModel):
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
