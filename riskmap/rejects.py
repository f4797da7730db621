"""The rejects table: rows riskmap could not use, each naming its file, row, field, value and reason.

Every stage that refuses a row writes it here (:func:`make_rejects`), and the run collects them stage by stage
(:class:`Rejects`): rows in = rows scored + rows rejected. The ``source`` column names each input by its file
(:func:`input_sources`), so that the rejects of one input can be counted (:func:`from_source`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from riskmap.columns import (
    FACILITY_ID,
    NAME,
    REJECT_COLUMNS,
    REJECT_REASON,
    REJECT_REASON_ZH,
)
from riskmap.config import Config
from riskmap.frames import in_language
from riskmap.i18n import Msg, Written, current, tr
from riskmap.io.tables import ROW, SHEET

__all__ = [
    "rejects_frame",
    "make_rejects",
    "reason_texts",
    "Written",
    "written_per_row",
    "localised_rejects",
    "DUPLICATE",
    "is_duplicate",
    "summarise_rejects",
    "SOURCE_TABLES",
    "reads_sheets",
    "input_sources",
    "from_source",
    "Rejects",
]

#: How the rejects name a row that repeats an earlier one; ``is_duplicate`` tells them from other rejects.
DUPLICATE = "duplicate "


def rejects_frame(rows: Iterable[dict[str, object]] = ()) -> pd.DataFrame:
    """An (empty) rejects table with the standard columns."""
    df = pd.DataFrame(list(rows), columns=REJECT_COLUMNS)
    return df.astype(
        {
            "source": str,
            "record_id": str,
            "name": str,
            "field": str,
            "value": str,
            "stage": str,
            REJECT_REASON: str,
            REJECT_REASON_ZH: str,
        }
    )


def written_per_row(en: pd.Series, zh: pd.Series) -> pd.Series:
    """A :class:`Written` per row from its English and Chinese texts, one object per distinct pair."""
    pairs = pd.MultiIndex.from_arrays([en.fillna("").astype(str), zh.fillna("").astype(str).to_numpy()])
    codes, distinct = pairs.factorize()
    made = np.empty(len(distinct), dtype=object)
    made[:] = [Written(e, z) for e, z in distinct]
    return pd.Series(made[codes], index=en.index, dtype=object)


def reason_texts(reason: str | Msg | pd.Series, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The English and Chinese texts of ``n`` rows' reasons, each distinct reason rendered once.

    A plain ``str`` is a message without parameters (translated when the catalog has it).
    """
    if not isinstance(reason, pd.Series):
        msg = reason if isinstance(reason, Msg) else Msg(reason)
        return np.full(n, msg.render("en"), dtype=object), np.full(n, msg.render("zh"), dtype=object)
    codes, distinct = pd.factorize(reason.to_numpy(dtype=object))
    msgs = [m if isinstance(m, Msg) else Msg(str(m)) for m in distinct]
    en = np.array([m.render("en") for m in msgs] + [""], dtype=object)
    zh = np.array([m.render("zh") for m in msgs] + [""], dtype=object)
    return en[codes], zh[codes]  # a missing reason (code -1) is the trailing ""


def localised_rejects(rejects: pd.DataFrame, lang: str | None = None) -> pd.DataFrame:
    """The rejects as written out: ``reason`` in ``lang`` (default: the current language), the other next to it.

    A run keeps ``reason`` in English (code matches it: :func:`is_duplicate`) and ``reason_zh``; the outputs
    (rejects.csv, the GeoPackage's rejects layer, the workbook, the report) speak the run's language, with
    ``reason_en`` when it is Chinese and ``reason_zh`` when it is English.
    """
    return in_language(rejects, REJECT_REASON, lang or current())


def make_rejects(
    source: str,
    rows: pd.DataFrame,
    field: str,
    reason: str | Msg | pd.Series,
    stage: str,
    id_column: str = FACILITY_ID,
    values: pd.Series | None = None,
) -> pd.DataFrame:
    """Rejects rows for every row of ``rows`` (which carries ``_row`` and, when present, the id column).

    ``values``: the cells as written (default: ``rows[field]``), for a field ``rows`` holds already normalised.
    ``reason``: a :class:`~riskmap.i18n.Msg` (or a Series of them, one per row: :func:`riskmap.i18n.per_row`), kept
    in English (``reason``) and Chinese (``reason_zh``); the outputs show it in the run's language.
    """
    if rows.empty:
        return rejects_frame()
    # A table read from several sheets: each row names its own (ledger.xls:2025年第一季度).
    sources = (source + ":" + rows[SHEET].astype(str)).to_numpy() if SHEET in rows.columns else source
    if values is not None:
        values = values.reindex(rows.index).fillna("").astype(str)
    elif field in rows.columns:
        values = rows[field].astype(str)
    else:
        values = pd.Series("", index=rows.index)
    ids = rows[id_column].astype(str) if id_column in rows.columns else pd.Series("", index=rows.index)
    # The enterprise's name where the rows have it (the facilities): a clerk finds a reject by its name.
    names = rows[NAME].fillna("").astype(str) if NAME in rows.columns else pd.Series("", index=rows.index)
    en, zh = reason_texts(reason, len(rows))
    return rejects_frame(
        pd.DataFrame(
            {
                "source": sources,
                "row": rows[ROW].to_numpy() if ROW in rows.columns else np.nan,
                "record_id": ids.to_numpy(),
                "name": names.to_numpy(),
                "field": field,
                "value": values.to_numpy(),
                "stage": stage,
                REJECT_REASON: en,
                REJECT_REASON_ZH: zh,
            }
        ).to_dict("records")
    )


def is_duplicate(rejects: pd.DataFrame) -> np.ndarray:
    """Which rejects rows are copies of an earlier row: the record itself was used (counted once)."""
    return rejects[REJECT_REASON].astype(str).str.startswith(DUPLICATE).to_numpy(dtype=bool)


def summarise_rejects(rejects: pd.DataFrame, top: int = 5, lang: str | None = None) -> list[str]:
    """The most frequent reasons, one line each: ``file: N x field: reason (e.g. rows 3, 5, 9)``, in ``lang``.

    Reasons are grouped on their English text up to the first ``;`` so that "duplicate facility id; first seen
    at row 102" and "...row 7" count together; a line shows the group's first reason up to its first ``;``
    (``；`` in Chinese) in ``lang`` (default: the current language).
    """
    if rejects.empty:
        return []
    lang = lang or current()
    key = rejects[REJECT_REASON].astype(str).str.split(";", n=1).str[0]
    shown = (
        localised_rejects(rejects, lang)[REJECT_REASON]
        .astype(str)
        .str.split(r"[;；]", n=1, regex=True)
        .str[0]
    )
    groups = rejects.assign(_key=key, _shown=shown.to_numpy()).groupby(
        ["source", "field", "_key"], sort=False
    )
    sizes = groups.size().sort_values(ascending=False, kind="stable")
    lines = []
    for (source, field, reason), n in sizes.head(top).items():
        group = groups.get_group((source, field, reason))
        rows = group["row"].dropna().astype(int).head(3).tolist()
        text = dict(source=source, n=n, field=field, reason=group["_shown"].iloc[0], lang=lang)
        if rows:
            lines.append(
                tr(
                    "{source}: {n} x {field}: {reason} (e.g. rows {rows})",
                    rows=", ".join(map(str, rows)),
                    **text,
                )
            )
        else:
            lines.append(tr("{source}: {n} x {field}: {reason}", **text))
    if len(sizes) > top:
        more = int(sizes.iloc[top:].sum())
        lines.append(
            tr("... and {n} more rows with {k} other reasons", n=more, k=len(sizes) - top, lang=lang)
        )
    return lines


#: The inputs whose rows can be rejected, as sections of the project file.
SOURCE_TABLES = (
    "facilities",
    "inventory",
    "risk_points",
    "deductions",
    "hidden_dangers",
    "accidents",
    "standardisation",
    "sensitive_sites",
    "decisions",
)


def _layer_key(layer: object) -> str | tuple[str, ...] | None:
    return tuple(layer) if isinstance(layer, list) else layer  # type: ignore[return-value]


def reads_sheets(cfg: object) -> bool:
    """Whether an input section reads several sheets (``layer`` a list or ``"*"``): its rows name their sheet."""
    layer = getattr(cfg, "layer", None)
    return isinstance(layer, list) or layer == "*"


def input_sources(config: Config) -> dict[str, str]:
    """How each configured input is named in the rejects' ``source`` column: its file name.

    Two inputs with one file name are told apart, since the rejects of the facilities are counted by their
    source: sheets (layers) of one workbook as ``register.xlsx:企业`` and ``register.xlsx:风险点``, files of one
    name in different folders by their path relative to the project file. A table read from several sheets
    keeps the file's name (each reject adds its row's sheet: ``ledger.xls:2025年第一季度``); two sections reading
    the very same sheet get the section's name too (``register.xlsx:企业 (standardisation)``).
    """
    found: dict[str, tuple[Path, str | tuple[str, ...] | None]] = {}
    for section in SOURCE_TABLES:
        cfg = getattr(config, section, None)
        if cfg is not None and getattr(cfg, "path", None) is not None:
            found[section] = (config.resolve(cfg.path), _layer_key(getattr(cfg, "layer", None)))
    names = {section: path.name for section, (path, _) in found.items()}

    def clashing(section: str) -> bool:
        return any(
            names[other] == names[section] and found[other] != found[section]
            for other in names
            if other != section
        )

    def named(shown: str, layer: str | tuple[str, ...] | None) -> str:
        return f"{shown}:{layer}" if isinstance(layer, str) and layer != "*" else shown

    for section in [s for s in names if clashing(s)]:
        path, layer = found[section]
        names[section] = named(path.name, layer)
    for section in [s for s in names if clashing(s)]:
        path, layer = found[section]
        try:
            shown = path.resolve().relative_to(config.base_dir.resolve()).as_posix()
        except ValueError:
            shown = str(path)
        names[section] = named(shown, layer)
    seen: set[str] = set()
    for section in names:  # facilities first (SOURCE_TABLES' order): the others are renamed
        taken = names[section] in seen or any(
            reads_sheets(getattr(config, other)) and names[section].startswith(names[other] + ":")
            for other in names
            if other != section and names[other] in seen
        )
        if taken:
            names[section] = f"{names[section]} ({section})"
        seen.add(names[section])
    return names


def from_source(sources: pd.Series, name: str, several_sheets: bool = False) -> pd.Series:
    """Which rejects came from the input named ``name`` (with its sheets when it reads several)."""
    hit = sources == name
    if several_sheets:
        hit |= sources.astype(str).str.startswith(name + ":")
    return hit


class Rejects:
    """Rejected rows collected stage by stage: every row in = a row scored or a row here."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []

    def add(self, *frames: pd.DataFrame) -> None:
        """Add rejects frames (empty ones are skipped), in the order of the stages."""
        self.frames += [f for f in frames if not f.empty]

    def __len__(self) -> int:
        return sum(len(f) for f in self.frames)

    def frame(self) -> pd.DataFrame:
        """All rejects so far, in the order they were added."""
        return pd.concat(self.frames, ignore_index=True) if self.frames else rejects_frame()

    def table(self) -> pd.DataFrame:
        """The rejects table of a run: by source and row, row numbers as integers (missing: a whole file)."""
        found = (
            pd.concat(self.frames, ignore_index=True).sort_values(["source", "row"], kind="stable")
            if self.frames
            else rejects_frame()
        ).reset_index(drop=True)
        # Row numbers as integers, whatever mix of frames was concatenated.
        found["row"] = pd.to_numeric(found["row"], errors="coerce").astype("Int64")
        return found
