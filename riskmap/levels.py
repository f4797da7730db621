"""The four-level risk scale: order, labels and colours.

The palette and labels are read from ``styles/levels.toml``; nothing else in riskmap spells a colour or a level
label, so changing the file changes every output.
"""

from __future__ import annotations

import enum
import tomllib
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from riskmap._resources import styles_dir

__all__ = [
    "Level",
    "LEVEL_NAMES",
    "NOT_ASSESSED",
    "label",
    "color",
    "outline",
    "palette",
    "level_rank",
    "level_keys",
    "level_from_rank",
    "max_level",
]

#: Name used for a zone or facility that has no level ("not assessed", grey).
NOT_ASSESSED = "none"


class Level(enum.IntEnum):
    """A risk level; a larger value is a higher risk, so ``max()`` gives the worst.

    >>> Level.RED > Level.BLUE
    True
    >>> Level.parse("橙") is Level.ORANGE
    True
    """

    BLUE = 1
    YELLOW = 2
    ORANGE = 3
    RED = 4

    @property
    def key(self) -> str:
        """The lower-case name used in tables and files: ``red``, ``orange``, ``yellow``, ``blue``."""
        return self.name.lower()

    @property
    def zh(self) -> str:
        """Chinese label, e.g. 重大风险."""
        return label(self.key, "zh")

    @property
    def en(self) -> str:
        """English label, e.g. Major risk."""
        return label(self.key, "en")

    @classmethod
    def parse(cls, value: str | int | Level) -> Level:
        """Read a level from its key, Chinese label, colour word (红/橙/黄/蓝) or rank 1..4."""
        if isinstance(value, Level):
            return value
        if isinstance(value, (int, np.integer)):
            return cls(int(value))
        text = str(value).strip()
        found = _ALIASES.get(text.lower())
        if found is None:
            raise ValueError(
                f"{value!r} is not a risk level; use one of red, orange, yellow, blue "
                "(or 重大风险/较大风险/一般风险/低风险, 红/橙/黄/蓝)"
            )
        return found


_ALIASES: dict[str, Level] = {}
for _lvl, _words in {
    Level.RED: ("red", "重大风险", "重大", "红", "红色"),
    Level.ORANGE: ("orange", "较大风险", "较大", "橙", "橙色"),
    Level.YELLOW: ("yellow", "一般风险", "一般", "黄", "黄色"),
    Level.BLUE: ("blue", "低风险", "低", "蓝", "蓝色"),
}.items():
    for _w in _words:
        _ALIASES[_w] = _lvl

#: Level keys, highest first.
LEVEL_NAMES: tuple[str, ...] = tuple(lvl.key for lvl in sorted(Level, reverse=True))


@cache
def _styles() -> dict[str, Any]:
    with open(styles_dir() / "levels.toml", "rb") as f:
        return tomllib.load(f)


def label(key: str, lang: str = "zh") -> str:
    """The label of a level key (or ``none``) in ``zh`` or ``en``."""
    return str(_styles()[key][lang])


def color(key: str) -> str:
    """Fill colour (``#RRGGBB``) of a level key (or ``none``)."""
    return str(_styles()[key]["color"])


def outline(key: str) -> str:
    """Outline colour of a level key (or ``none``)."""
    return str(_styles()[key]["outline"])


def palette() -> dict[str, str]:
    """``{key: fill colour}`` for the four levels and ``none``, highest level first."""
    return {k: color(k) for k in (*LEVEL_NAMES, NOT_ASSESSED)}


def level_rank(keys: pd.Series) -> pd.Series:
    """Map level keys to ranks 1..4 (blue..red); ``none``/missing become 0."""
    ranks = {lvl.key: int(lvl) for lvl in Level}
    return keys.map(ranks).fillna(0).astype("int8")


@cache
def _level_words() -> dict[str, str]:
    """Every way a level is written (key, Chinese and English label, colour word) -> its key; ``none`` too."""
    words = {w: lvl.key for w, lvl in _ALIASES.items()}
    for key in (*LEVEL_NAMES, NOT_ASSESSED):
        words |= {key: key, label(key, "zh").lower(): key, label(key, "en").lower(): key}
    return words


def level_keys(values: pd.Series) -> pd.Series:
    """The level key of each cell written as a key, a Chinese or English label or a colour word; NaN otherwise.

    A layer edited in QGIS may hold 重大风险 or 红 where riskmap wrote ``red``; anything else (``purple``, an
    empty cell) is NaN, for the caller to refuse.

    >>> level_keys(pd.Series(["red", "重大风险", "橙", " Blue ", "未评估", "purple", None])).tolist()
    ['red', 'red', 'orange', 'blue', 'none', nan, nan]
    """
    # A level column holds a handful of distinct values: each is read once, then spread back by its code.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.Series(uniques, dtype=object).astype("string").str.strip().str.lower()
    keys = np.append(text.map(_level_words()).astype(object).to_numpy(), np.nan)
    return pd.Series(keys[codes], index=values.index, dtype=object)


def level_from_rank(ranks: pd.Series | np.ndarray) -> pd.Series:
    """Map ranks 1..4 back to level keys; 0 becomes ``none``."""
    names = np.array([NOT_ASSESSED, *(Level(i).key for i in range(1, 5))], dtype=object)
    arr = np.asarray(ranks, dtype="int64")
    index = ranks.index if isinstance(ranks, pd.Series) else None
    return pd.Series(names[arr], index=index, dtype=object)


def max_level(keys: pd.Series) -> str:
    """The highest level key in ``keys`` (``none`` when empty)."""
    ranks = level_rank(keys)
    return str(level_from_rank(np.array([ranks.max() if len(ranks) else 0])).iloc[0])
