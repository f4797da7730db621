"""``[project]``: who the map is for."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from riskmap.config.base import ConfigModel

__all__ = ["ProjectInfo"]


class ProjectInfo(ConfigModel):
    """Who the map is for."""

    name: str = Field("安全风险四色分布图", description="Title of the map and reports.")
    district_code: str = Field(
        "", description="6-digit county code (统计用区划代码 prefix); part of the published random seed."
    )
    lang: Literal["zh", "en"] = Field("zh", description="Language of labels in outputs.")
