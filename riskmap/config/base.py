"""What every section of the project file shares: the strict, frozen base model and the level keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = ["ConfigModel", "LevelKey", "ZoneLevelKey", "values_at_least"]

LevelKey = Literal["red", "orange", "yellow", "blue"]
ZoneLevelKey = Literal["red", "orange", "yellow", "blue", "none"]


class ConfigModel(BaseModel):
    """A section of the project file: unknown keys are errors, values cannot change after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_M = TypeVar("_M", bound=Mapping[str, float])


def values_at_least(values: _M, least: float, rule: str) -> _M:
    """``values`` unchanged when every value is at least ``least``; else ``ValueError("<rule>, got {bad ones}")``.

    For a field validator of a table keyed by level or grade.
    """
    bad = {k: v for k, v in values.items() if v < least}
    if bad:
        raise ValueError(f"{rule}, got {bad}")
    return values
