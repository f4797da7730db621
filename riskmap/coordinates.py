r"""Coordinates as registers write them: numbers, degrees-minutes-seconds, a pair in one cell, hemisphere marks.

Offices copy coordinates from GPS units, map apps and old registers: ``118°05'12.5"``, ``118°05′12.5″``,
``118度05分17.2秒``, ``东经118.0867``, ``24°47'31.5"N``, or both in one cell (``118.0157,37.0494``). This module
turns the cells into numbers, once per distinct cell, and says why a cell cannot be read; which system the
numbers are in, and whether they lie where they should, is for :mod:`riskmap.validate` to judge.

>>> parse_coordinates(pd.Series(["118°05'12.5\"", "北纬24度47分31.5秒", "abc"]))["value"].round(6).tolist()
[118.086806, 24.792083, nan]
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from riskmap.frames import normalise_text
from riskmap.i18n import N_, Msg, per_row
from riskmap.io.crs import crs_spellings, parse_crs, spelling_key

__all__ = [
    "parse_coordinates",
    "read_coordinates",
    "row_systems",
    "COORDINATE_COLUMNS",
    "EMPTY",
    "NOT_A_NUMBER",
]

#: Columns of :func:`read_coordinates`.
COORDINATE_COLUMNS = ["x", "y", "problem", "field", "pair", "swapped"]
EMPTY = Msg("the coordinate is empty")
NOT_A_NUMBER = Msg("the coordinate is not a number")
#: Why a cell of degrees-minutes-seconds cannot be read (``{cell}``: the cell as normalised).
_DMS_PROBLEMS = [
    N_(
        "the coordinate '{cell}' gives whole degrees only (±50 km): write the minutes and seconds "
        "(118°05'12.5\") or decimal degrees"
    ),
    N_("the coordinate '{cell}': minutes must be below 60"),
    N_("the coordinate '{cell}': seconds must be below 60"),
    N_("the coordinate '{cell}': decimal minutes with seconds"),
]

#: Marks as written, after NFKC, to the ASCII ones the pattern reads (NFKC makes ″ two ′).
_MARKS = {
    "º": "°",
    "˚": "°",
    "′′": '"',
    "″": '"',
    "′": "'",
    "’": "'",
    "‘": "'",
    "”": '"',
    "“": '"',
    "''": '"',
}
_MARK_RE = re.compile("|".join(re.escape(m) for m in sorted(_MARKS, key=len, reverse=True)))

_NUMBER = r"\d+(?:\.\d+)?"
#: A coordinate with marks: hemisphere before or after, degrees (mark optional with a hemisphere), minutes,
#: seconds (the last mark may be left out).
_DMS = re.compile(
    rf"^(?P<pre>东经|北纬|西经|南纬|[ENWS])?\s*(?P<deg>{_NUMBER})\s*(?P<dmark>°|度)?"
    rf"(?:\s*(?P<min>{_NUMBER})\s*(?:'|分)(?:\s*(?P<sec>{_NUMBER})\s*(?:\"|秒)?)?"
    rf"|\s*(?P<bare>{_NUMBER}))?"
    r"\s*(?P<post>[ENWS])?$"
)
_AXIS = {
    "E": "lon",
    "W": "lon",
    "东经": "lon",
    "西经": "lon",
    "N": "lat",
    "S": "lat",
    "北纬": "lat",
    "南纬": "lat",
}
_NEGATIVE = {"W", "S", "西经", "南纬"}
#: The only place a comma may stand in a plain number: thousands separators (as riskmap.validate.to_number).
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
#: Between the two numbers of a pair in one cell (NFKC has made ， and ； ASCII).
_PAIR_SEPARATOR = re.compile(r"\s*[,;、]\s*")


def _normalised(cells: pd.Series) -> pd.Series:
    """NFKC, upper case, the marks as ASCII (only non-ASCII cells need more than the upper case)."""
    text = cells.fillna("").astype(str)
    wide = ~text.str.isascii().fillna(True).astype(bool)
    if wide.any():
        text = text.copy()
        raw = text[wide].str.replace("º", "°").str.replace("˚", "°")
        text[wide] = normalise_text(raw).map(lambda s: _MARK_RE.sub(lambda m: _MARKS[m.group(0)], s))
    return text.str.strip().str.upper()


def _plain(norm: pd.Series) -> pd.Series:
    """Plain decimal numbers (thousands separators allowed, as in riskmap.validate.to_number); NaN otherwise."""
    comma = norm.str.contains(",", regex=False)
    text = norm.where(~comma, norm.str.replace(",", "", regex=False).where(norm.str.match(_THOUSANDS), ""))
    return pd.to_numeric(text, errors="coerce").astype(float)


def parse_coordinates(cells: pd.Series) -> pd.DataFrame:
    """Each cell as one coordinate: its ``value``, ``axis`` and ``problem``.

    ``value`` is in degrees or metres (NaN when unreadable), ``axis`` is ``lon`` or ``lat`` when a hemisphere mark
    says so, else ``""``, and ``problem`` says why a cell cannot be read (``""`` when it can).

    Plain numbers are read at once; the others once per distinct cell. A value in whole degrees only (``北纬32度``: ±50 km) is a problem, and so are
    minutes or seconds of 60 or more. A comma that is not a thousands separator makes the cell "not a number"
    (:func:`riskmap.validate.comma_reasons` says which decimal comma it is).

    >>> parse_coordinates(pd.Series(["118.0867°E", "北纬32度"]))[["value", "axis"]].values.tolist()
    [[118.0867, 'lon'], [nan, 'lat']]
    """
    text = cells.fillna("").astype(str)
    ascii_ = text.str.isascii().fillna(True).to_numpy(dtype=bool)
    # Plain ASCII numbers (most cells) at once; every other cell once per distinct value (NFKC and the patterns
    # are Python per cell).
    value = np.full(len(text), np.nan)
    if ascii_.any():
        value[ascii_] = _plain(text[ascii_].str.strip()).to_numpy()
    axis = np.full(len(text), "", dtype=object)
    problem = np.full(len(text), "", dtype=object)
    rest = np.flatnonzero(~np.isfinite(value))
    if len(rest):
        codes, uniques = pd.factorize(text.iloc[rest].to_numpy(dtype=object))
        distinct = _parse_distinct(pd.Series(uniques, dtype=object))
        value[rest] = distinct["value"].to_numpy(dtype=float)[codes]
        axis[rest] = distinct["axis"].to_numpy(dtype=object)[codes]
        problem[rest] = distinct["problem"].to_numpy(dtype=object)[codes]
    return pd.DataFrame(
        {"value": value, "axis": pd.Series(axis, dtype=object), "problem": pd.Series(problem, dtype=object)}
    ).set_axis(cells.index)


def _parse_distinct(raw: pd.Series) -> pd.DataFrame:
    """:func:`parse_coordinates` of distinct cells: normalised, plain numbers read, the others by the patterns."""
    norm = _normalised(raw)
    value = _plain(norm).to_numpy()
    out = pd.DataFrame({"value": value, "axis": "", "problem": ""}, index=raw.index).astype(
        {"axis": object, "problem": object}
    )
    rest = ~np.isfinite(value)
    if rest.any():
        out[rest] = _marked(norm[rest])
    return out


def _marked(norm: pd.Series) -> pd.DataFrame:
    """Cells that are not plain numbers: degrees-minutes-seconds and hemisphere marks, or the reason why not."""
    parts = norm.str.extract(_DMS)
    hemisphere = parts["pre"].fillna(parts["post"])
    marked = parts["dmark"].notna() | hemisphere.notna()
    deg, minutes = pd.to_numeric(parts["deg"]), pd.to_numeric(parts["min"])
    seconds = pd.to_numeric(parts["sec"])
    whole = parts["min"].isna() & parts["bare"].isna() & parts["deg"].fillna("").str.fullmatch(r"\d+")
    value = deg + minutes.fillna(0) / 60 + seconds.fillna(0) / 3600
    # Which problem (0: none, 1: empty, 2: not a number, 3..: _DMS_PROBLEMS), its text made per bad cell only.
    which = np.select(
        [
            norm == "",
            ~marked | parts["bare"].notna() | (parts["min"].notna() & parts["dmark"].isna()),
            whole & parts["dmark"].notna(),
            minutes >= 60,
            seconds >= 60,
            parts["sec"].notna() & parts["min"].str.contains(".", regex=False).fillna(False),
        ],
        [1, 2, 3, 4, 5, 6],
        0,
    )
    problem = np.full(len(norm), "", dtype=object)
    problem[which == 1], problem[which == 2] = EMPTY, NOT_A_NUMBER
    for i, message in enumerate(_DMS_PROBLEMS, start=3):  # four messages, each over its cells at once
        at = which == i
        if at.any():
            problem[at] = per_row(message, cell=norm[at]).to_numpy()
    sign = np.where(hemisphere.isin(_NEGATIVE), -1.0, 1.0)
    ok = problem == ""
    return pd.DataFrame(
        {
            "value": np.where(ok, value * sign, np.nan),
            "axis": hemisphere.map(_AXIS).fillna("").astype(object),
            "problem": pd.Series(problem, index=norm.index, dtype=object),
        },
        index=norm.index,
    )


def _pairs(cells: pd.Series) -> pd.DataFrame:
    """Each cell as a pair ``first, second``, once per distinct cell; ``ok`` where both halves are coordinates.

    ``118.0157,37.0494``, also with ，/;/space between or in brackets. Two whole numbers of at most 3 digits
    (``118,37``) are not a pair: that is a decimal comma.
    """
    codes, uniques = pd.factorize(cells.fillna("").astype(str).to_numpy(dtype=object))
    norm = normalise_text(pd.Series(uniques, dtype=object)).str.strip("()[]（）【】 ")
    halves = norm.str.split(_PAIR_SEPARATOR, regex=True)
    spaced = halves.str.len() == 1
    halves = halves.where(~spaced, norm.str.split())
    two = (halves.str.len() == 2).to_numpy()
    first = pd.Series("", index=norm.index, dtype=object)
    second = first.copy()
    first[two], second[two] = halves[two].str[0], halves[two].str[1]
    a, b = parse_coordinates(first), parse_coordinates(second)
    short = first.str.fullmatch(r"\d{1,3}") & second.str.fullmatch(r"\d{1,3}")
    ok = two & (a["problem"] == "").to_numpy() & (b["problem"] == "").to_numpy() & ~short.to_numpy()
    distinct = pd.DataFrame(
        {
            "first": a["value"].to_numpy(),
            "second": b["value"].to_numpy(),
            "first_axis": a["axis"].to_numpy(),
            "second_axis": b["axis"].to_numpy(),
            "ok": ok,
        }
    )
    return distinct.iloc[codes].set_axis(cells.index)


def read_coordinates(x: pd.Series, y: pd.Series, same_column: bool = False) -> pd.DataFrame:
    """The x/y cells of a table as numbers, with the first problem and where it is.

    Columns ``x``, ``y``, ``problem`` and ``field`` (``"x"``/``"y"``: the first bad cell), ``pair`` (read from
    one cell) and ``swapped`` (hemisphere marks put the latitude in x).

    A pair in one cell is read where x and y are mapped to the same column (``same_column``: every cell must hold
    one), and where one of the two cells is empty and the other holds a pair.

    >>> read_coordinates(pd.Series(["118.0157,37.0494"]), pd.Series([""]))[["x", "y", "pair"]].values.tolist()
    [[118.0157, 37.0494, True]]
    """
    px, py = parse_coordinates(x), parse_coordinates(y)
    out = pd.DataFrame(
        {
            "x": px["value"],
            "y": py["value"],
            "x_axis": px["axis"],
            "y_axis": py["axis"],
            "x_problem": px["problem"],
            "y_problem": py["problem"],
            "pair": np.zeros(len(px), dtype=bool),
        },
        index=x.index,
    )
    if same_column:
        _take_pairs(out, x, np.ones(len(out), dtype=bool))
        single = ~out["pair"].to_numpy() & (out["x_problem"] == "").to_numpy()
        # An array, not the Msg itself: pandas takes an object it does not know for a sequence.
        out.loc[single, "x_problem"] = np.full(int(single.sum()), _ONE_NUMBER, dtype=object)
        out.loc[~out["pair"].to_numpy(), ["y_problem"]] = ""
    else:
        empty_y = (py["problem"] == EMPTY).to_numpy()
        empty_x = (px["problem"] == EMPTY).to_numpy()
        _take_pairs(out, x, empty_y & (px["problem"] != "").to_numpy())
        _take_pairs(out, y, empty_x & (py["problem"] != "").to_numpy())
    return _finish(out)


def _take_pairs(out: pd.DataFrame, cells: pd.Series, where: np.ndarray) -> None:
    """Read the pairs among ``cells`` at ``where`` into ``out`` (in place)."""
    if not where.any():
        return
    pairs = _pairs(cells[where])
    ok = pairs["ok"].to_numpy()
    at = out.index[where][ok]
    out.loc[at, ["x", "y"]] = pairs.loc[ok, ["first", "second"]].to_numpy(dtype=float)
    out.loc[at, ["x_axis", "y_axis"]] = pairs.loc[ok, ["first_axis", "second_axis"]].to_numpy(dtype=object)
    out.loc[at, ["x_problem", "y_problem"]] = ""
    out.loc[at, "pair"] = True


_ONE_NUMBER = Msg(
    "the cell holds one number: x and y are mapped to the same column, so each cell must hold both "
    "(118.0157,37.0494)"
)
_BOTH_LATITUDES = Msg("both x and y are marked as latitudes (N/北纬): one of them must be the other")
_BOTH_LONGITUDES = Msg("both x and y are marked as longitudes (E/东经): one of them must be the other")


def _finish(out: pd.DataFrame) -> pd.DataFrame:
    """Hemisphere marks applied (the latitude belongs in y), the first problem named, numbers NaN where bad."""
    n = len(out)
    x, y = np.array(out["x"], dtype=float), np.array(out["y"], dtype=float)  # copies: written below
    xa, ya = out["x_axis"].to_numpy(dtype=object), out["y_axis"].to_numpy(dtype=object)
    x_problem, y_problem = out["x_problem"].to_numpy(dtype=object), out["y_problem"].to_numpy(dtype=object)
    problem = np.array(x_problem, dtype=object)
    field = np.where(x_problem != "", "x", "").astype(object)
    y_bad = (x_problem == "") & (y_problem != "")
    problem[y_bad], field[y_bad] = y_problem[y_bad], "y"
    swapped = np.zeros(n, dtype=bool)
    marked = np.flatnonzero(
        (xa != "") | (ya != "")
    )  # hemisphere marks are rare: only those rows are looked at
    if len(marked):
        mx, my = xa[marked], ya[marked]
        swap = ((mx == "lat") | (my == "lon")) & (mx != my)
        both = (mx == my) & (problem[marked] == "")
        swapped[marked[swap]] = True
        at = marked[both]
        problem[at] = np.where(
            mx[both] == "lat",
            np.array(_BOTH_LATITUDES, dtype=object),
            np.array(_BOTH_LONGITUDES, dtype=object),
        )
        field[at] = "x"
        x[marked[swap]], y[marked[swap]] = y[marked[swap]], x[marked[swap]].copy()
    bad = problem != ""
    x[bad], y[bad] = np.nan, np.nan
    return pd.DataFrame(
        {"x": x, "y": y, "problem": pd.Series(problem, dtype=object), "field": pd.Series(field, dtype=object),
         "pair": out["pair"].to_numpy(dtype=bool), "swapped": swapped & ~bad},
    ).set_axis(out.index)  # fmt: skip


def row_systems(
    written: pd.Series,
    default: str | None,
    extra: Mapping[str, str],
    column: str,
    section: str = "facilities",
) -> tuple[pd.Series, pd.Series]:
    """Each row's coordinate system from the register's column as written, and why a row has none.

    ``written`` holds the cells of ``column`` (百度, 高德地图, GPS, 2000 ...: the shipped table
    :func:`riskmap.io.crs.crs_spellings`, then ``extra``, the project's ``crs_values``); an empty cell means
    ``default`` (``crs``). Returns the system of each row (a CRS text :func:`riskmap.io.crs.parse_crs` reads, NaN
    for a row without one) and the problem (``""`` where there is none). Looked up once per distinct value.

    Raises
    ------
    CRSError
        A value of ``extra`` is not a CRS (named by its key).

    >>> systems, problems = row_systems(pd.Series(["百度", "", "北京54"]), "EPSG:4490", {}, "坐标系")
    >>> systems.tolist()[:2], problems.tolist()[2].render("en")[:30]
    (['BD-09', 'EPSG:4490'], "坐标系 '北京54' is not a coordinate")
    """
    for key, value in extra.items():
        parse_crs(value, f'{section}.crs_values["{key}"]')
    table = crs_spellings() | {spelling_key(k): v for k, v in extra.items()}
    codes, uniques = pd.factorize(written.fillna("").astype(str).str.strip().to_numpy(dtype=object))
    known = ", ".join([*crs_spellings(), *extra])
    systems: list[str | None] = []
    problems: list[object] = []
    for value in uniques:
        system = table.get(spelling_key(value)) if value else default
        systems.append(system)
        if system is not None:
            problems.append("")
        elif value:
            problems.append(
                Msg(
                    "{column} {value!r} is not a coordinate system riskmap knows: write one of {known} "
                    '(an empty cell means {section}.crs), or map it with {section}.crs_values = {{ "{value}" = '
                    '"EPSG:…" }}',
                    column=column,
                    value=value,
                    known=known,
                    section=section,
                )
            )
        else:
            problems.append(
                Msg(
                    "{column} is empty and {section}.crs is not set: give the row's system or set crs",
                    column=column,
                    section=section,
                )
            )
    at = pd.Series(codes, index=written.index)
    return (
        pd.Series(
            np.array(systems, dtype=object)[codes] if len(codes) else [], index=written.index, dtype=object
        ),
        pd.Series(
            np.array(problems, dtype=object)[codes] if len(codes) else [], index=at.index, dtype=object
        ),
    )
