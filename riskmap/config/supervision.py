"""``[supervision]``: inspection frequencies, caps, random draws, inspector capacity and the schedule."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from riskmap.config.base import ConfigModel, LevelKey, ZoneLevelKey, values_at_least
from riskmap.i18n import tr
from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED
from riskmap.vocabulary import StandardisationGrade

__all__ = [
    "UNASSESSED_FREQUENCY",
    "SamplingConfig",
    "CapRule",
    "CapacityConfig",
    "SupervisionConfig",
]

#: Inspections a year of a not-assessed enterprise when ``supervision.frequency`` does not say.
UNASSESSED_FREQUENCY = 1.0


class SamplingConfig(ConfigModel):
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
                raise ValueError(
                    tr(
                        "rate for {key} is {rate}; a sampling rate is a share between 0 and 1",
                        key=k,
                        rate=rate,
                    )
                )
        return v


class CapRule(ConfigModel):
    """Maximum inspections per year by standardisation grade, for some sectors (or all)."""

    sectors: list[str] | None = Field(None, description="Sectors the rule applies to; unset: every sector.")
    by_grade: dict[Literal[StandardisationGrade, "none"], float] = Field(
        description="Standardisation grade (none = no valid grade) -> at most this many inspections a year."
    )

    @field_validator("by_grade")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        return values_at_least(v, 0, "caps must not be negative")


class CapacityConfig(ConfigModel):
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


class SupervisionConfig(ConfigModel):
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
                raise ValueError(
                    tr(
                        "frequency for {key} is {value}; use inspections per year between 0 and 52",
                        key=k,
                        value=f,
                    )
                )
        missing = set(LEVEL_NAMES) - set(v)
        if missing:
            raise ValueError(
                tr("missing levels {levels}; give inspections per year for all four", levels=sorted(missing))
            )
        return v

    @model_validator(mode="after")
    def _caps_not_below_floors(self) -> SupervisionConfig:
        for level, cap in self.caps_by_level.items():
            floors = [self.frequency[level]] + [
                f[level] for f in self.frequency_by_sector.values() if level in f
            ]
            if cap < max(floors):
                raise ValueError(
                    tr(
                        "caps_by_level.{level} = {cap} is below the floor of {floor} inspections a year for {level} "
                        "(frequency); raise the cap or lower the frequency",
                        level=level,
                        cap=f"{cap:g}",
                        floor=f"{max(floors):g}",
                    )
                )
        for sector, table in self.frequency_by_sector.items():
            for key, f in table.items():
                if f < 0 or f > 52:
                    raise ValueError(
                        tr(
                            "frequency_by_sector.{sector}.{key} is {value}; use 0..52 inspections a year",
                            sector=sector,
                            key=key,
                            value=f,
                        )
                    )
        return self
