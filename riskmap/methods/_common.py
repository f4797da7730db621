"""What every grading method returns, and small helpers shared by the methods."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from riskmap.levels import Level
from riskmap.validate import rejects_frame

__all__ = ["MethodResult", "RESULT_COLUMNS", "fmt", "level_labels"]

#: Columns of a method's per-facility result (index: facility_id). ``rank`` 0 means "not applicable".
RESULT_COLUMNS = ["score", "rank", "reason_zh", "reason_en"]


@dataclass
class MethodResult:
    """Per-facility results of one method plus the related-table rows it could not use."""

    results: pd.DataFrame
    rejects: pd.DataFrame = field(default_factory=rejects_frame)


def fmt(values: pd.Series, digits: int = 2) -> pd.Series:
    """Numbers as short text: 10 -> "10.0", 0.1381 -> "0.14" (vectorised)."""
    text = values.round(digits).map(lambda v: f"{v:.{digits}f}".rstrip("0"))
    return text.where(~text.str.endswith("."), text + "0")


def level_labels(ranks: pd.Series, lang: str) -> pd.Series:
    """Level labels for ranks 1..4 (empty for 0)."""
    names = {0: ""} | {int(lvl): (lvl.zh if lang == "zh" else lvl.en) for lvl in Level}
    return ranks.astype(int).map(names)
