"""``[project]``: who the map is for."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from riskmap.config.base import ConfigModel
from riskmap.i18n import locale_language

__all__ = ["ProjectInfo"]


class ProjectInfo(ConfigModel):
    """Who the map is for."""

    name: str = Field("安全风险四色分布图", description="Title of the map and reports.")
    district_code: str = Field(
        "", description="6-digit county code (统计用区划代码 prefix); part of the published random seed."
    )
    lang: Literal["zh", "en"] = Field(
        default_factory=locale_language,
        description="Language of the outputs and messages: zh or en (--lang overrides it). Default: the "
        "locale's (LANG en_US.UTF-8: en), else zh.",
    )
    area_word: str | None = Field(
        None,
        description='How the report names the whole area: "全县", "全区", "全市", "全旗". Default: from the '
        "district's name in the title (同安区… → 全区, …县 → 全县), else from district_code (its last two digits: "
        "01-20 a district 区, 21-80 a county 县 (旗 in Inner Mongolia), 81-99 a county-level city 市), else 全区.",
    )
