"""Labels of zone kinds (村/社区, 乡镇/街道, 区/县, 网格 ...) in Chinese and English.

One table, ``styles/zone_kinds.toml``, read by the HTML map, the figure and the CLI summary; a project labels its
own kinds with ``[[zones]] label = "片区"`` (and ``label_en``), passed here as ``custom``. A kind found nowhere is
shown as written: never glued to a word it does not read with (no "district数").
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

from riskmap._resources import styles_dir

if TYPE_CHECKING:
    from riskmap.config import Config

__all__ = ["KindLabels", "kind_label", "kind_count_phrase", "project_kind_labels"]

#: A project's own labels: ``{kind: {"zh": ..., "en": ...}}`` (either language may be missing).
KindLabels = Mapping[str, Mapping[str, str]]


@cache
def _table() -> dict[str, dict[str, str]]:
    with open(styles_dir() / "zone_kinds.toml", "rb") as f:
        return {str(k).lower(): {str(a): str(b) for a, b in v.items()} for k, v in tomllib.load(f).items()}


def kind_label(kind: str, lang: str = "zh", custom: KindLabels | None = None) -> str:
    """The label of zone kind ``kind`` in ``zh`` or ``en``.

    The project's own label first, then the shipped table (case-insensitive), else ``kind`` itself.

    >>> kind_label("district"), kind_label("district", "en"), kind_label("片区")
    ('区/县', 'District', '片区')
    >>> kind_label("pianqu", custom={"pianqu": {"zh": "片区"}})
    '片区'
    """
    own = (custom or {}).get(kind, {}).get(lang)
    if own:
        return own
    return _table().get(kind.lower(), {}).get(lang, kind)


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def kind_count_phrase(kind: str, lang: str = "zh", custom: KindLabels | None = None) -> str:
    """How many zones of ``kind``, as a legend heading says it: 村(社区)数, 区(县)数; village zones.

    Chinese alternatives "A/B" read "A(B)" in running text, as official documents write 村（社区）; a label
    without Chinese characters is not glued to 数 but named beside 区域数.

    >>> kind_count_phrase("village"), kind_count_phrase("district"), kind_count_phrase("pianqu")
    ('村(社区)数', '区(县)数', 'pianqu 区域数')
    >>> kind_count_phrase("village", "en"), kind_count_phrase("street", "en")
    ('village zones', 'subdistrict zones')
    """
    text = kind_label(kind, lang, custom)
    if lang == "zh":
        if not _has_cjk(text):
            return f"{text} 区域数"
        first, slash, rest = text.partition("/")
        if slash and rest and "/" not in rest:
            text = f"{first}({rest})"
        return f"{text}数"
    # Sentence case inside the heading ("village zones"); an acronym or a name in capitals stays as written.
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    return f"{text} zones"


def project_kind_labels(config: Config) -> dict[str, dict[str, str]]:
    """The project's own labels of its zone kinds (``[[zones]] label``/``label_en``), for the outputs."""
    own = {z.kind: {"zh": z.label, "en": z.label_en} for z in config.zones}
    return {kind: {lang: t for lang, t in by.items() if t} for kind, by in own.items()}
