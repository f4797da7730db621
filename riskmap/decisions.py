"""Decisions of the committee (专家研判/会商): levels set by experts over the computed ones, with an audit trail.

A county's 安委办 convenes experts who set some enterprises or zones to another level, for reasons the data do not
hold (a plant under relocation, a major project under construction, a shut-down line). ``[decisions]`` lists them:
``target`` (a facility id or a zone code), ``level``, ``reason``, ``decided_by``, ``decided_on`` and an optional
``valid_until``. Where they apply in the stage chain (:mod:`riskmap.stages`):

- a facility decision after dynamic adjustment and before zoning, so that the zones see the decided level;
- a zone decision after zoning (and spillover): it sets that zone, whatever its facilities say.

Only decisions in force on the as-of date apply (``decided_on <= as_of`` and ``valid_until >= as_of`` or empty).
The computed level stays in ``level_computed``; the decision becomes the first reason ("专家研判：…（决定人，日期）")
and its fields travel as audit columns (``decision_reason``, ``decided_by``, ``decided_on``, ``valid_until``).

A bad row is rejected with its reason (rows in = applied + not in force + rejected): an unknown target, a level that
is none of the four, no reason or no decider, a date that is not one, a target that is both a facility id and a zone
code with no ``kind`` column to say which, and two decisions for one target in force on the same day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.adjust import parse_dates
from riskmap.columns import (
    DECIDED_BY,
    DECIDED_ON,
    DECISION_COLUMNS,
    DECISION_REASON,
    DECISION_VALID_UNTIL,
    FACILITY_ID,
    LEVEL,
    LEVEL_COMPUTED,
    LEVEL_ZH,
    NAME,
    REASON_SEP_EN,
    REASON_SEP_ZH,
    REASONS,
    REASONS_EN,
    ZONE_CODE,
    ZONE_NAME,
)
from riskmap.config import DECISION_TABLE_COLUMNS, DecisionsConfig
from riskmap.frames import id_positions, ids_in, normalise_text
from riskmap.i18n import N_, Msg, per_row, rendered, tr
from riskmap.io.tables import ROW, SHEET
from riskmap.levels import LEVEL_NAMES, label, level_keys
from riskmap.rejects import make_rejects, rejects_frame
from riskmap.validate import normalise_ids, require_columns

__all__ = [
    "FACILITY",
    "DECISIONS_REQUIRED",
    "DECISION_TEXT",
    "Decisions",
    "InForce",
    "validate_decisions",
    "decisions_in_force",
    "apply_facility_decisions",
    "apply_zone_decisions",
    "decision_notes",
    "decision_table",
    "decision_warnings",
]

#: The kind of a decision's target that is a facility (a zone's is its layer's kind: ``village``, ``town`` ...).
FACILITY = "facility"
#: The decision as a reason, at the head of the target's reasons.
DECISION_TEXT = N_("expert decision: {reason} ({decided_by}, {decided_on})")

_STAGE = "validate"
#: The columns a decisions table must have (``valid_until`` and ``kind`` are optional).
DECISIONS_REQUIRED = ("target", "level", "reason", "decided_by", "decided_on")
#: How a ``kind`` cell names a facility or any zone (a zone layer's own kind names that layer).
_FACILITY_WORDS = {"facility", "enterprise", "企业", "单位", "设施"}
_ZONE_WORDS = {"zone", "area", "区域", "地区"}
#: Targets named in a warning; the rest are counted.
_SHOWN = 10


@dataclass
class Decisions:
    """The decisions table validated: each usable row with its target resolved, in force or not."""

    #: ``_row``, ``target``, ``kind`` (:data:`FACILITY` or a zone layer's kind), ``level``, ``reason``,
    #: ``decided_by``, ``decided_on`` and ``valid_until`` (timestamps; NaT: no end).
    table: pd.DataFrame
    #: Rows in the file, and how the file is named in the rejects.
    rows_in: int
    source: str
    rejected: int = 0


@dataclass
class InForce:
    """The decisions on the as-of date: those that apply (by target kind), those expired and those not yet."""

    as_of: date
    facilities: pd.DataFrame
    #: Per zone layer kind, its decisions in force.
    zones: dict[str, pd.DataFrame]
    expired: pd.DataFrame
    future: pd.DataFrame
    #: Rows of two or more decisions for one target in force on the day: none of them applies.
    rejects: pd.DataFrame = field(default_factory=rejects_frame)

    def counts(self, decisions: Decisions) -> dict[str, int]:
        """Rows in = applied + expired + not yet in force + rejected (run.json's ``decisions``)."""
        applied = len(self.facilities) + sum(len(z) for z in self.zones.values())
        return {
            "rows": decisions.rows_in,
            "applied": applied,
            "expired": len(self.expired),
            "not_yet_in_force": len(self.future),
            "rejected": decisions.rejected + len(self.rejects),
        }


class _Rows:
    """The rows still usable, each bad one rejected with its first problem."""

    def __init__(self, df: pd.DataFrame, written: pd.DataFrame, source: str) -> None:
        self.df, self.written, self.source = df, written, source
        self.rejects: list[pd.DataFrame] = []

    def reject(self, bad: pd.Series | np.ndarray, column: str, reason: Msg | pd.Series) -> None:
        bad = pd.Series(np.asarray(bad, dtype=bool), index=self.df.index)
        if not bad.any():
            return
        rows = self.df[bad]
        why = reason.reindex(rows.index) if isinstance(reason, pd.Series) else reason
        values = self.written.loc[rows.index, column] if column in self.written else None
        self.rejects.append(make_rejects(self.source, rows, column, why, _STAGE, "target", values=values))
        self.df = self.df[~bad]


def _text(df: pd.DataFrame, column: str, as_written: bool = False) -> pd.Series:
    """A column's cells as text ("" where empty or absent); codes and words normalised, user text as written."""
    values = df[column] if column in df.columns else pd.Series("", index=df.index)
    values = values.fillna("").astype(str)
    return values.str.strip() if as_written else normalise_text(values).fillna("")


def _canonical(raw: pd.DataFrame, cfg: DecisionsConfig, source: str) -> pd.DataFrame:
    """The table under its canonical column names; the required columns must be there."""
    mapping = {c: cfg.columns.get(c, c) for c in DECISION_TABLE_COLUMNS}
    require_columns(raw, {c: mapping[c] for c in DECISIONS_REQUIRED}, source, "decisions.columns")
    optional = [c for c in ("valid_until", "kind") if c in cfg.columns]  # a mapped column must exist too
    require_columns(raw, {c: mapping[c] for c in optional}, source, "decisions.columns")
    keep = [c for c in (ROW, SHEET) if c in raw.columns]
    out = pd.DataFrame({c: raw[c] for c in keep}, index=raw.index)
    for canonical, column in mapping.items():
        # The committee's reason and its members' names are theirs: kept as written, full-width commas too.
        out[canonical] = _text(raw, column, as_written=canonical in ("reason", "decided_by"))
    if ROW not in out.columns:
        out[ROW] = np.arange(len(raw)) + 2
    return out


def _dates(rows: _Rows, column: str, month: str, required: bool) -> None:
    """Parse a date column in place (a month stands for its ``month`` day); reject empty or bad cells."""
    text = rows.df[column]
    if required:
        rows.reject(text == "", column, Msg("the {what} is empty", what=Msg(_DATE_WHAT[column])))
        text = rows.df[column]
    parsed = parse_dates(text, month=month)
    bad = (text != "") & parsed.isna()
    rows.reject(
        bad,
        column,
        Msg(
            "the {what} is not a date; write e.g. 2026-03-01, 2026/3/1 or 2026年3月1日",
            what=Msg(_DATE_WHAT[column]),
        ),
    )
    rows.df[column] = parsed.reindex(rows.df.index)


_DATE_WHAT = {"decided_on": N_("date of the decision"), "valid_until": N_("end of validity")}


def _resolve_targets(rows: _Rows, facility_ids: pd.Index, zones: dict[str, gpd.GeoDataFrame]) -> None:
    """Each row's target as a facility or a zone of one layer; unknown and ambiguous targets rejected."""
    df = rows.df
    kinds = list(zones)
    kind = df["kind"].str.lower()
    known_kinds = _FACILITY_WORDS | _ZONE_WORDS | {k.lower() for k in kinds}
    rows.reject(
        (kind != "") & ~kind.isin(known_kinds),
        "kind",
        Msg(
            "not a kind of target; write facility (企业), zone (区域) or a zone layer's kind ({kinds})",
            kinds=", ".join(kinds),
        ),
    )
    df = rows.df
    kind = df["kind"].str.lower()
    ids = normalise_ids(df["target"])
    hits = {FACILITY: ids_in(ids, facility_ids)}
    hits[FACILITY] &= (kind == "").to_numpy() | kind.isin(_FACILITY_WORDS).to_numpy()
    for k, layer in zones.items():
        in_layer = df["target"].isin(set(layer[ZONE_CODE].astype(str))).to_numpy()
        wanted = (kind == "") | kind.isin(_ZONE_WORDS) | (kind == k.lower())
        hits[k] = in_layer & wanted.to_numpy()
    found = np.column_stack(list(hits.values()))
    n = found.sum(axis=1)
    rows.reject(
        n == 0,
        "target",
        Msg("no facility with this id and no zone with this code (or the facility was rejected)"),
    )
    names = np.array(list(hits), dtype=object)
    found, n = found[n > 0], n[n > 0]
    layers = pd.Series([", ".join(names[row]) for row in found], index=rows.df.index, dtype=object)
    rows.reject(
        n > 1,
        "target",
        per_row(
            N_(
                "the target is both a facility id and a zone code, or a code of several zone layers ({layers}); "
                "add a kind column saying which (facility, zone or the layer's kind)"
            ),
            layers=layers,
        ),
    )
    ids = ids.reindex(rows.df.index)
    rows.df["kind"] = names[found[n == 1].argmax(axis=1)]
    facility = rows.df["kind"] == FACILITY
    rows.df.loc[facility, "target"] = ids[facility]


def validate_decisions(
    raw: pd.DataFrame,
    cfg: DecisionsConfig,
    facility_ids: pd.Index,
    zones: dict[str, gpd.GeoDataFrame],
    source: str,
) -> tuple[Decisions, pd.DataFrame]:
    """The decisions table checked against the facilities on the map and the zone layers; the bad rows rejected.

    Parameters
    ----------
    raw
        The table as read (text, with ``_row``).
    cfg
        ``[decisions]`` (its ``columns`` map the file's names).
    facility_ids, zones
        The ids of the facilities on the map and the zone layers (``zone_code``), finest first.
    source
        How the file is named in the rejects.

    Returns
    -------
    tuple of Decisions and the rejects rows
        Each usable row once, whether in force on the as-of date or not (:func:`decisions_in_force` splits them).

    Examples
    --------
    >>> zones = {"village": gpd.GeoDataFrame({"zone_code": ["320115001001"]}, geometry=[None])}
    >>> raw = pd.DataFrame({"target": ["A1", "320115001001", "X"], "level": ["红", "较大风险", "red"],
    ...     "reason": ["搬迁中", "重点工程", "?"], "decided_by": ["安委办", "安委办", ""],
    ...     "decided_on": ["2026-03-01", "2026年3月1日", "2026-03-01"], "_row": [2, 3, 4]})
    >>> found, rejected = validate_decisions(raw, DecisionsConfig(path="d.csv"), pd.Index(["A1"]), zones, "d.csv")
    >>> found.table[["target", "kind", "level"]].values.tolist(), rejected["field"].tolist()
    ([['A1', 'facility', 'red'], ['320115001001', 'village', 'orange']], ['decided_by'])
    """
    df = _canonical(raw, cfg, source)
    rows = _Rows(df, df.copy(), source)
    rows.reject(rows.df["target"] == "", "target", Msg("the target is empty"))
    levels = level_keys(rows.df["level"])
    rows.reject(
        ~levels.isin(LEVEL_NAMES),
        "level",
        Msg(
            "not a risk level; write red, orange, yellow or blue (重大/较大/一般/低, 重大风险/较大风险/一般风险/低风险)"
        ),
    )
    rows.df["level"] = levels.reindex(rows.df.index)
    rows.reject(
        rows.df["reason"] == "",
        "reason",
        Msg("the decision gives no reason; the committee's reason is part of the decision"),
    )
    rows.reject(
        rows.df["decided_by"] == "",
        "decided_by",
        Msg("the decision does not say who decided it (decided_by)"),
    )
    _dates(rows, "decided_on", "first", required=True)
    _dates(rows, "valid_until", "last", required=False)
    ends_first = rows.df["valid_until"].notna() & (rows.df["valid_until"] < rows.df["decided_on"])
    rows.reject(
        ends_first, "valid_until", Msg("the decision ends (valid_until) before it was decided (decided_on)")
    )
    _resolve_targets(rows, facility_ids, zones)
    rejected = [r for r in rows.rejects if not r.empty]
    found = pd.concat(rejected, ignore_index=True) if rejected else rejects_frame()
    table = rows.df.reset_index(drop=True)
    return Decisions(table, len(raw), source, len(found)), found


def decisions_in_force(decisions: Decisions, as_of: date) -> InForce:
    """Split the decisions by the as-of date; two decisions for one target in force on it are rejected, both."""
    t = decisions.table
    day = pd.Timestamp(as_of)
    future = t["decided_on"] > day
    expired = ~future & t["valid_until"].notna() & (t["valid_until"] < day)
    live = t[~future & ~expired]
    key = live["kind"].astype(str) + "\x00" + live["target"].astype(str)
    twice = key.duplicated(keep=False)
    rejects = rejects_frame()
    if twice.any():
        clash = live[twice]
        rows_of = clash.groupby(key[twice])[ROW].transform(lambda r: ", ".join(map(str, r)))
        why = per_row(
            N_(
                "{n} decisions for this target are in force on {as_of} (rows {rows}); none is applied: keep one, or "
                "end the older one with valid_until"
            ),
            n=key[twice].map(key[twice].value_counts()),
            as_of=as_of.isoformat(),
            rows=rows_of,
        )
        rejects = make_rejects(decisions.source, clash, "target", why, "adjust", "target")
        live = live[~twice]
    zones = {
        k: live[live["kind"] == k].reset_index(drop=True) for k in live["kind"].unique() if k != FACILITY
    }
    return InForce(
        as_of,
        live[live["kind"] == FACILITY].reset_index(drop=True),
        zones,
        t[expired].reset_index(drop=True),
        t[future].reset_index(drop=True),
        rejects,
    )


def _day(values: pd.Series) -> pd.Series:
    return values.dt.strftime("%Y-%m-%d").fillna("")


def _notes(reason: pd.Series, by: pd.Series, on: pd.Series) -> pd.Series:
    """The decision as a Msg per row (:data:`DECISION_TEXT`)."""
    return per_row(DECISION_TEXT, reason=reason, decided_by=by, decided_on=on)


def _head(text: pd.Series, note: np.ndarray, at: np.ndarray, sep: str) -> pd.Series:
    """``note + sep + text`` at the rows ``at`` (a missing or empty text: the note alone); the rest untouched."""
    out = text.copy()
    if len(at):
        old = text.iloc[at].fillna("").astype(str).to_numpy(dtype=object)
        out.iloc[at] = np.where(old == "", note, note + sep + old)
    return out


def _audit(frame: pd.DataFrame, decided: pd.DataFrame, at: np.ndarray, rows: np.ndarray) -> None:
    """Write the computed level and the decisions' fields (rows ``rows`` of ``decided``) at ``at``, in place."""
    frame[LEVEL_COMPUTED] = frame[LEVEL].astype(object).to_numpy()
    values = {
        DECISION_REASON: decided["reason"],
        DECIDED_BY: decided["decided_by"],
        DECIDED_ON: _day(decided["decided_on"]),
        DECISION_VALID_UNTIL: _day(decided["valid_until"]),
    }
    for column, source in values.items():
        out = np.full(len(frame), "", dtype=object)
        out[at] = source.to_numpy(dtype=object)[rows]
        frame[column] = out
    level = frame[LEVEL].astype(object).to_numpy().copy()
    level[at] = decided["level"].to_numpy(dtype=object)[rows]
    frame[LEVEL] = level


def _apply(
    frame: pd.DataFrame, decided: pd.DataFrame, keys: pd.Series, reason_columns: tuple[str, str] | None
) -> pd.DataFrame:
    """The frame with the decisions on ``keys`` applied: level, computed level, audit fields, reasons."""
    out = frame.copy()
    pos = id_positions(decided["target"].astype(str), keys.astype(str))
    at = np.flatnonzero(pos >= 0)
    rows = pos[at]
    _audit(out, decided, at, rows)
    if LEVEL_ZH in out.columns and len(at):  # only the decided rows change (no loop over a province's rows)
        zh = out[LEVEL_ZH].astype(object).to_numpy().copy()
        zh[at] = [label(k, "zh") for k in decided["level"].to_numpy(dtype=object)[rows]]
        out[LEVEL_ZH] = zh
    if reason_columns is not None and len(at):
        notes = _notes(decided["reason"], decided["decided_by"], _day(decided["decided_on"]))
        zh_col, en_col = reason_columns
        if zh_col in out.columns:
            out[zh_col] = _head(out[zh_col], rendered(notes, "zh")[rows], at, REASON_SEP_ZH)
        if en_col in out.columns:
            out[en_col] = _head(out[en_col], rendered(notes, "en")[rows], at, REASON_SEP_EN)
    return out


def apply_facility_decisions(facilities: pd.DataFrame, in_force: InForce) -> pd.DataFrame:
    """Facilities with the decisions in force applied (before zoning: the zones see the decided levels).

    Every facility gets ``level_computed`` (its level after dynamic adjustment) and the audit columns, empty where
    no decision applies; a decided facility's first reason is the decision.
    """
    return _apply(facilities, in_force.facilities, facilities[FACILITY_ID], (REASONS, REASONS_EN))


def apply_zone_decisions(
    layers: dict[str, gpd.GeoDataFrame], in_force: InForce, reasons: bool = True
) -> dict[str, gpd.GeoDataFrame]:
    """Zone layers with the decisions in force applied (after zoning: a decided zone keeps its decided level).

    ``reasons=False``: levels only (a sensitivity variant), the zones' reason texts untouched.
    """
    out = {}
    for kind, z in layers.items():
        decided = in_force.zones.get(kind, in_force.facilities.iloc[:0])
        columns = ("reason", "reason_en") if reasons else None
        out[kind] = _apply(z, decided, z[ZONE_CODE], columns)
    return out


def decision_notes(frame: pd.DataFrame, lang: str) -> pd.Series:
    """Each row's decision as a reason in ``lang`` ("" where none): for the plan's reason."""
    on = frame[DECIDED_ON].fillna("").astype(str)
    notes = pd.Series("", index=frame.index, dtype=object)
    has = (on != "").to_numpy()
    if has.any():
        sel = frame[has]
        made = _notes(sel[DECISION_REASON].astype(str), sel[DECIDED_BY].astype(str), on[has])
        notes[has] = rendered(made, lang)
    return notes


#: The columns of :func:`decision_table`.
TABLE_COLUMNS = ["target", "kind", "name", LEVEL_COMPUTED, LEVEL, *DECISION_COLUMNS[1:]]


def decision_table(facilities: pd.DataFrame, zones: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The decisions applied in a run, facilities first then zones: target, kind, name, both levels, the audit."""
    parts = []
    for kind, frame, key, name in [
        (FACILITY, facilities, FACILITY_ID, NAME),
        *((k, z, ZONE_CODE, ZONE_NAME) for k, z in zones.items()),
    ]:
        if DECIDED_ON not in frame.columns:
            continue
        sel = frame[frame[DECIDED_ON].fillna("").astype(str) != ""]
        part = pd.DataFrame(
            {
                "target": sel[key].astype(str).to_numpy(),
                "kind": kind,
                "name": sel[name].astype(str).to_numpy() if name in sel else "",
                **{c: sel[c].astype(str).to_numpy() for c in (LEVEL_COMPUTED, LEVEL, *DECISION_COLUMNS[1:])},
            }
        )
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    return pd.concat(parts, ignore_index=True)[TABLE_COLUMNS]


def _listed(rows: pd.DataFrame) -> str:
    shown = [f"{t} ({r})" for t, r in zip(rows["target"].head(_SHOWN), rows[ROW].head(_SHOWN), strict=True)]
    return ", ".join(shown) + (" …" if len(rows) > len(shown) else "")


def decision_warnings(in_force: InForce, source: str) -> list[str]:
    """The decisions that did not apply on the as-of date: expired ones in one warning, future ones in another."""
    out = []
    day = in_force.as_of.isoformat()
    if len(in_force.expired):
        out.append(
            tr(
                "{source}: {n} decisions ended before the as-of date {as_of} (valid_until) and were not applied: "
                "{targets} (target (row)); renew them with a later valid_until or remove them",
                source=source,
                n=len(in_force.expired),
                as_of=day,
                targets=_listed(in_force.expired),
            )
        )
    if len(in_force.future):
        out.append(
            tr(
                "{source}: {n} decisions are dated after the as-of date {as_of} and are not yet in force: {targets} "
                "(target (row)); they apply to runs as of their decided_on date or later",
                source=source,
                n=len(in_force.future),
                as_of=day,
                targets=_listed(in_force.future),
            )
        )
    if len(in_force.rejects):
        out.append(
            tr(
                "{source}: {n} decisions were not applied because another decision for the same target is in force "
                "on {as_of}; see the rejects table",
                source=source,
                n=len(in_force.rejects),
                as_of=day,
            )
        )
    return out
