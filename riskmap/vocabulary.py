"""The fixed words of the domain, spelled once: accident classes, hidden-danger and standardisation grades.

The project file (:mod:`riskmap.config`), the event tables (:mod:`riskmap.adjust`) and the inspection plan
(:mod:`riskmap.supervision`) all use these names; a leaf module like :mod:`riskmap.levels`, so that any module may
import it.

>>> GRADE_NAMES_ZH[2], STANDARDISATION_GRADE_NUMBER["三级"], ACCIDENT_CLASS_RANK["特别重大"]
('二级', 3, 4)
"""

from __future__ import annotations

import unicodedata
from typing import Literal, get_args

__all__ = [
    "sector_key",
    "AccidentClass",
    "ACCIDENT_CLASSES",
    "ACCIDENT_CLASS_RANK",
    "ACCIDENT_CLASS_MIN_DEATHS",
    "ACCIDENT_CLASS_SPELLINGS",
    "HiddenDangerGrade",
    "HIDDEN_DANGER_GRADES",
    "HIDDEN_DANGER_GRADE_EN",
    "HIDDEN_DANGER_GRADE_SPELLINGS",
    "GRADE_NAMES_ZH",
    "StandardisationGrade",
    "STANDARDISATION_GRADES",
    "STANDARDISATION_GRADE_NUMBER",
    "STANDARDISATION_GRADE_NAMES",
    "STANDARDISATION_NONE",
    "EMPTY_IDS",
    "HiddenDangerStatus",
    "HIDDEN_DANGER_STATUSES",
    "status_key",
]

#: Accident classes (生产安全事故报告和调查处理条例), the most serious first.
AccidentClass = Literal["特别重大", "重大", "较大", "一般"]
ACCIDENT_CLASSES: tuple[AccidentClass, ...] = get_args(AccidentClass)
#: Class rank (一般 = 1 … 特别重大 = 4), and the fewest deaths of each class.
ACCIDENT_CLASS_RANK: dict[str, int] = {c: len(ACCIDENT_CLASSES) - i for i, c in enumerate(ACCIDENT_CLASSES)}
ACCIDENT_CLASS_MIN_DEATHS: dict[str, int] = {"特别重大": 30, "重大": 10, "较大": 3, "一般": 0}
#: Spellings read in accident tables (lower case) -> class.
ACCIDENT_CLASS_SPELLINGS: dict[str, str] = {
    **{c: c for c in ACCIDENT_CLASSES},
    "particularly serious": "特别重大",
    "major": "重大",
    "serious": "较大",
    "general": "一般",
}

#: Hidden-danger grades: 一般 (general) and 重大 (major, 重大事故隐患).
HiddenDangerGrade = Literal["一般", "重大"]
HIDDEN_DANGER_GRADES: tuple[HiddenDangerGrade, ...] = get_args(HiddenDangerGrade)
HIDDEN_DANGER_GRADE_EN: dict[str, str] = {"一般": "general", "重大": "major"}
#: Spellings read in hidden-danger tables (lower case) -> grade.
HIDDEN_DANGER_GRADE_SPELLINGS: dict[str, str] = {
    **{g: g for g in HIDDEN_DANGER_GRADES},
    **{en: g for g, en in HIDDEN_DANGER_GRADE_EN.items()},
}

#: Ordinal grade names by number: GB 18218 major-hazard grades (一级..四级) and standardisation grades (一级..三级).
GRADE_NAMES_ZH: dict[int, str] = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}

#: Safety standardisation grades (安全生产标准化), the best first; an enterprise may also have none (无).
StandardisationGrade = Literal["一级", "二级", "三级"]
STANDARDISATION_GRADES: tuple[StandardisationGrade, ...] = get_args(StandardisationGrade)
STANDARDISATION_GRADE_NUMBER: dict[str, int] = {g: i for i, g in enumerate(STANDARDISATION_GRADES, start=1)}
STANDARDISATION_GRADE_NAMES: dict[int, str] = {i: g for g, i in STANDARDISATION_GRADE_NUMBER.items()}
#: Spellings of "no grade" in standardisation tables (lower case): none, not created, expired.
STANDARDISATION_NONE: frozenset[str] = frozenset(
    {"", "无", "none", "未达标", "-", "—", "/", "未创建", "已过期", "过期", "暂无", "空", "n/a"}
)


#: What a rectification status (整改状态) says of a hidden danger: closed (rectified, 销号) or still open.
HiddenDangerStatus = Literal["closed", "open"]
HIDDEN_DANGER_STATUSES: tuple[HiddenDangerStatus, ...] = get_args(HiddenDangerStatus)


def status_key(text: str) -> str:
    """A status cell as it is compared: full-width/half-width normalised, without spaces, in lower case.

    >>> status_key(" 已 整改 "), status_key("Closed")
    ('已整改', 'closed')
    """
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


#: Words offices write in an id cell for "no id" (after full-width/half-width normalisation, in upper case): such a
#: cell is an empty id.
EMPTY_IDS: frozenset[str] = frozenset(
    {"无", "空", "暂无", "没有", "/", "\\", "-", "--", "—", "——", "N/A", "NA", "#N/A", "NULL", "NONE"}
)


def sector_key(text: object) -> str:
    """How sector names are compared: NFKC (full-width as half-width), no white space, case-folded.

    >>> sector_key(" 危化品 "), sector_key("ＬＰＧ 充装站"), sector_key("危险化学品（经营）")
    ('危化品', 'lpg充装站', '危险化学品(经营)')
    """
    return "".join(unicodedata.normalize("NFKC", str(text)).split()).casefold()
