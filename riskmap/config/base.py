"""What every section of the project file shares: the strict, frozen base model and the level keys."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["ConfigModel", "LevelKey", "ZoneLevelKey"]

LevelKey = Literal["red", "orange", "yellow", "blue"]
ZoneLevelKey = Literal["red", "orange", "yellow", "blue", "none"]


class ConfigModel(BaseModel):
    """A section of the project file: unknown keys are errors, values cannot change after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True)
