"""Sector names as registers write them: the shipped spellings and ``[scoring] sector_aliases``.

A register writes 危化品, 危险化学品企业 or 工贸企业 where the project configures 危险化学品 and 工贸. Before the
methods are picked, each facility's sector is read as the configured sector it names: itself when configured
(compared without spaces, full-width as half-width, case-insensitively), else the project's own aliases, else a
line of ``styles/sector_aliases.toml`` with exactly one configured name. A sector none of these reach keeps its
spelling and is listed once, with its rows and the closest configured sectors (:func:`unknown_sectors_warning`).
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import pandas as pd

from riskmap._resources import styles_dir
from riskmap.columns import SECTOR
from riskmap.config import ScoringConfig
from riskmap.frames import per_distinct
from riskmap.i18n import Msg, tr
from riskmap.vocabulary import sector_key

__all__ = [
    "NO_METHOD",
    "SectorNames",
    "canonical_sectors",
    "no_method_reasons",
    "sector_key",
    "shipped_spellings",
    "unknown_sectors_warning",
]

#: How the reject reason of a facility whose sector has no method begins (a sector nothing maps to).
NO_METHOD = "no grading method for this sector"


@cache
def shipped_spellings() -> dict[str, tuple[str, ...]]:
    """The lines of ``styles/sector_aliases.toml``: a sector name -> the other spellings of that sector."""
    with open(styles_dir() / "sector_aliases.toml", "rb") as f:
        lines = tomllib.load(f)["sectors"]
    return {str(name): tuple(str(s) for s in spellings) for name, spellings in lines.items()}


class SectorNames:
    """The configured sectors and every spelling that names one of them.

    >>> names = SectorNames(["危险化学品", "涉爆粉尘"], {"机械加工": "工贸"})
    >>> names.resolve("危化品"), names.resolve("粉尘涉爆"), names.resolve(" 危险化学品 "), names.resolve("养殖业")
    ('危险化学品', '涉爆粉尘', '危险化学品', None)
    >>> names.suggest("危险化学品单位（小微）")
    ['危险化学品']
    """

    def __init__(self, configured: Iterable[str], aliases: Mapping[str, str] | None = None) -> None:
        self.configured = list(configured)
        own = {sector_key(s): s for s in self.configured}
        self._names: dict[str, str] = {}
        #: Spellings of a shipped line with several configured names and not the line's own: their candidates.
        self._ambiguous: dict[str, list[str]] = {}
        for name, spellings in shipped_spellings().items():
            keys = [sector_key(s) for s in (name, *spellings)]
            found = sorted({own[k] for k in keys if k in own})
            chosen = own.get(keys[0]) or (found[0] if len(found) == 1 else None)
            for k in keys:
                if chosen is not None:
                    self._names[k] = chosen
                elif found:
                    self._ambiguous[k] = found
        self._names |= {sector_key(spelt): target for spelt, target in (aliases or {}).items()}
        self._names |= own  # a configured name is itself, whatever a line or an alias says

    def resolve(self, text: object) -> str | None:
        """The configured sector ``text`` names, or None."""
        return self._names.get(sector_key(text))

    def suggest(self, text: object) -> list[str]:
        """Configured sectors whose names or spellings are close to ``text`` (at most three)."""
        key = sector_key(text)
        close = difflib.get_close_matches(key, list(self._names), n=5, cutoff=0.6)
        found = [*self._ambiguous.get(key, []), *(self._names[k] for k in close)]
        return list(dict.fromkeys(found))[:3]


def canonical_sectors(sectors: pd.Series, scoring: ScoringConfig) -> pd.Series:
    """Each facility's sector as the configured sector it names; a sector nothing reaches keeps its spelling.

    Looked up once per distinct spelling.
    """
    if not scoring.sectors:
        return sectors
    names = SectorNames(scoring.sectors, scoring.sector_aliases)
    return per_distinct(sectors, lambda spelt: spelt.map(lambda s: names.resolve(s) or s))


def no_method_reasons(sectors: pd.Series, scoring: ScoringConfig) -> pd.DataFrame:
    """Why facilities of sectors that are no configured sector have no method, with the closest configured ones.

    Columns ``reject`` (the rejects reason, beginning :data:`NO_METHOD`) and ``zh``/``en`` (the reason of a
    facility kept as not assessed). Worded once per distinct sector.
    """
    names = SectorNames(scoring.sectors, scoring.sector_aliases)
    configured = "、".join(scoring.sectors) or "none"

    def worded(spelt: str) -> tuple[Msg, str, str]:
        close = names.suggest(spelt)
        hint = f"; did you mean {' or '.join(close)}?" if close else f"; configured sectors: {configured}"
        hint_zh = f", 是否为 {'或'.join(close)}?" if close else ""
        # The English of the reject begins with NO_METHOD: the unknown-sectors warning finds them by it.
        reject = (
            Msg(
                "no grading method for this sector: {sector!r} is not in [scoring.sectors] nor a known spelling of "
                "one; did you mean {close}? (add it under [scoring.sectors], map it with [scoring] sector_aliases, "
                "or set scoring.default)",
                sector=spelt, close="、".join(close),
            )
            if close
            else Msg(
                "no grading method for this sector: {sector!r} is not in [scoring.sectors] nor a known spelling of "
                "one; configured sectors: {configured} (add it under [scoring.sectors], map it with [scoring] "
                "sector_aliases, or set scoring.default)",
                sector=spelt, configured=configured,
            )
        )  # fmt: skip
        return (
            reject,
            f"行业“{spelt}”不在 [scoring.sectors] 中, 无评估方法{hint_zh}",
            f"sector {spelt!r} is not in [scoring.sectors]{hint}",
        )

    def table(spelt: pd.Series) -> pd.DataFrame:
        return pd.DataFrame([worded(s) for s in spelt], columns=["reject", "zh", "en"], index=spelt.index)

    text = sectors.astype(str)
    codes, uniques = pd.factorize(text, use_na_sentinel=False)
    return table(pd.Series(uniques)).iloc[codes].set_axis(sectors.index)


def _described(counts: pd.Series, names: SectorNames) -> tuple[str, str]:
    """Each spelling with its rows and the closest configured sectors; and an alias line for the fix."""
    parts, example = [], ""
    for spelt, n in counts.items():
        close = names.suggest(spelt)
        rows = tr("{n} row", n=n) if n == 1 else tr("{n} rows", n=n)
        if close:
            parts.append(
                tr("{sector} ({rows}; did you mean {close}?)", sector=spelt, rows=rows, close=_or(close))
            )
        else:
            parts.append(tr("{sector} ({rows})", sector=spelt, rows=rows))
        if close and not example:
            example = f'"{spelt}" = "{close[0]}"'
    return ", ".join(parts), example or tr('"{sector}" = "<a configured sector>"', sector=counts.index[0])


def unknown_sectors_warning(
    scored: pd.DataFrame, rejects: pd.DataFrame, scoring: ScoringConfig, source: str
) -> str | None:
    """One line naming every sector spelling that is no configured sector, with its rows and a did-you-mean.

    Their facilities are in ``rejects`` (the reason begins :data:`NO_METHOD`) or, with ``unassessed = "grey"``,
    among the ``scored`` ones as not assessed. With ``scoring.default`` every sector has methods: nothing to say.
    """
    if scoring.default is not None:
        return None
    kept = scored[SECTOR][~scored[SECTOR].isin(list(scoring.sectors))] if SECTOR in scored.columns else None
    lost = rejects.loc[rejects["reason"].astype(str).str.startswith(NO_METHOD), "value"]
    found = [s.astype(str) for s in (kept, lost) if s is not None and len(s)]
    if not found:
        return None
    spelt = pd.concat(found)
    counts = spelt.value_counts(sort=True)
    shown, more = counts.head(10), len(counts) - 10
    names = SectorNames(scoring.sectors, scoring.sector_aliases)
    listed, example = _described(shown, names)
    if more > 0:
        listed = tr("{listed}, and {n} more", listed=listed, n=more)
    fate = (
        Msg("kept as not assessed (未评估)")
        if scoring.unassessed == "grey"
        else Msg("rejected (no method grades them)")
    )
    params: dict[str, Any] = {
        "source": source,
        "n": len(counts),
        "listed": listed,
        "facilities": int(counts.sum()),
        "fate": fate,
    }
    if len(counts) == 1:
        return tr(
            "{source}: 1 sector is not in [scoring.sectors] nor a known spelling of one: {listed}; their "
            "{facilities} facilities are {fate}. Add the sector under [scoring.sectors], or map the spelling with "
            "[scoring] sector_aliases = {{ {example} }}",
            example=example,
            **params,
        )
    return tr(
        "{source}: {n} sectors are not in [scoring.sectors] nor a known spelling of one: {listed}; their "
        "{facilities} facilities are {fate}. Add the sector under [scoring.sectors], or map the spelling with "
        "[scoring] sector_aliases = {{ {example} }}",
        example=example,
        **params,
    )


def _or(names: list[str]) -> str:
    """Names joined as alternatives: 工贸 or 商贸."""
    return tr(" or ").join(names)
