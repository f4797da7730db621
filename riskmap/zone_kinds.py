"""Labels of zone kinds (村/社区, 乡镇/街道, 区/县, 网格 ...) in Chinese and English.

One table, ``styles/zone_kinds.toml``, read by the HTML map, the figure and the CLI summary; a project labels its
own kinds with ``[[zones]] label = "片区"`` (and ``label_en``), passed here as ``custom``. A kind found nowhere is
shown as written: never glued to a word it does not read with (no "district数").
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

from riskmap._resources import styles_dir
from riskmap.i18n import Written, current

if TYPE_CHECKING:
    from riskmap.config import Config

__all__ = [
    "KindLabels",
    "area_word",
    "kind_label",
    "kind_words",
    "kind_count_phrase",
    "kind_word",
    "project_kind_labels",
]

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


def kind_words(kind: str) -> Written:
    """A zone kind as a message names it in each language: ``village`` is "village" and 村/社区.

    >>> w = kind_words("village")
    >>> w.render("en"), w.render("zh")
    ('village', '村/社区')
    """
    return Written(kind_label(kind, "en").lower(), kind_label(kind, "zh"))


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


def kind_word(kind: str, custom: KindLabels | None = None) -> str:
    """A zone kind as a message names it: in Chinese its label in running text (村（社区）), in English as written.

    The English messages name the kind as the project file does (``village``); a Chinese one would read
    "4 个village代码" with it, so there it is the label. A kind without a Chinese label stays as written.

    >>> from riskmap.i18n import language
    >>> with language("zh"):
    ...     kind_word("village"), kind_word("town"), kind_word("pianqu")
    ('村（社区）', '乡镇（街道）', 'pianqu')
    >>> with language("en"):
    ...     kind_word("village")
    'village'
    """
    if current() != "zh":
        return kind
    text = kind_label(kind, "zh", custom)
    if not _has_cjk(text):
        return kind
    first, slash, rest = text.partition("/")
    return f"{first}（{rest}）" if slash and rest and "/" not in rest else text


def project_kind_labels(config: Config) -> dict[str, dict[str, str]]:
    """The project's own labels of its zone kinds (``[[zones]] label``/``label_en``), for the outputs."""
    own = {z.kind: {"zh": z.label, "en": z.label_en} for z in config.zones}
    return {kind: {lang: t for lang, t in by.items() if t} for kind, by in own.items()}


#: The words of a title that follow the place: the area's name is what stands before the first of them.
_TITLE_WORDS = re.compile(r"安全|风险|四色|重点|企业|年|[0-9０-９]|（|\(|\s")
#: The unit a place name ends in, the last one counting (厦门市同安区 is a 区): 自治县 reads as 县.
_UNIT = re.compile(r"(县|旗|区|市)")


def area_word(name: str, district_code: str = "", given: str | None = None) -> str:
    """How a report names the whole area (全县, 全区, 全市, 全旗): ``given``, else the title's place, else the code.

    The place is the title up to its first title word; its last unit names the area. The 6-digit code's last two
    digits are the kind of county-level division (GB/T 2260): 01-20 districts, 21-80 counties (banners in Inner
    Mongolia, code 15....), 81-99 county-level cities.

    >>> area_word("厦门市同安区安全风险四色分布图"), area_word("某某县2026年安全风险分布"), area_word("", "152921")
    ('全区', '全县', '全旗')
    >>> area_word("安全风险四色分布图", "350681"), area_word("安全风险四色分布图"), area_word("x", given="全市")
    ('全市', '全区', '全市')
    """
    if given:
        return given
    place = _TITLE_WORDS.split(name, maxsplit=1)[0]
    units = _UNIT.findall(place)
    if units:
        return "全" + units[-1]
    code = district_code.strip()
    if len(code) >= 6 and code[:6].isdigit():
        n = int(code[4:6])
        if 21 <= n <= 80:
            return "全旗" if code.startswith("15") else "全县"
        if n >= 81:
            return "全市"
    return "全区"
