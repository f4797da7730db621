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

from riskmap.columns import FACILITY_ID, NAME, REJECT_COLUMNS
from riskmap.config import Config
from riskmap.io.tables import ROW, SHEET

__all__ = [
    "rejects_frame",
    "make_rejects",
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
            "reason": str,
        }
    )


def make_rejects(
    source: str,
    rows: pd.DataFrame,
    field: str,
    reason: str | pd.Series,
    stage: str,
    id_column: str = FACILITY_ID,
    values: pd.Series | None = None,
) -> pd.DataFrame:
    """Rejects rows for every row of ``rows`` (which carries ``_row`` and, when present, the id column).

    ``values``: the cells as written (default: ``rows[field]``), for a field ``rows`` holds already normalised.
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
                "reason": reason if isinstance(reason, str) else reason.astype(str).to_numpy(),
            }
        ).to_dict("records")
    )


def is_duplicate(rejects: pd.DataFrame) -> np.ndarray:
    """Which rejects rows are copies of an earlier row: the record itself was used (counted once)."""
    return rejects["reason"].astype(str).str.startswith(DUPLICATE).to_numpy(dtype=bool)


def summarise_rejects(rejects: pd.DataFrame, top: int = 5) -> list[str]:
    """The most frequent reasons, one line each: ``file: N x field: reason (e.g. rows 3, 5, 9)``.

    Reasons are grouped on their text up to the first ``;`` so that "duplicate facility id; first seen at row
    102" and "...row 7" count together.
    """
    if rejects.empty:
        return []
    key = rejects["reason"].astype(str).str.split(";", n=1).str[0]
    groups = rejects.assign(_key=key).groupby(["source", "field", "_key"], sort=False)
    sizes = groups.size().sort_values(ascending=False, kind="stable")
    lines = []
    for (source, field, reason), n in sizes.head(top).items():
        rows = groups.get_group((source, field, reason))["row"].dropna().astype(int).head(3).tolist()
        example = f" (e.g. rows {', '.join(map(str, rows))})" if rows else ""
        lines.append(f"{source}: {n} x {field}: {reason}{example}")
    if len(sizes) > top:
        lines.append(f"... and {int(sizes.iloc[top:].sum())} more rows with {len(sizes) - top} other reasons")
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
