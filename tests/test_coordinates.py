"""Coordinates as registers write them (issue 24): DMS, a pair in one cell, swapped columns, numbers as text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmap.coordinates import parse_coordinates, read_coordinates


def _en(problem):
    """A problem (a message, or "" for none) in English."""
    return problem.render("en") if hasattr(problem, "render") else problem


def _one(text: str) -> pd.Series:
    return parse_coordinates(pd.Series([text])).iloc[0]


@pytest.mark.parametrize(
    ("text", "value", "axis"),
    [
        ("118.0867", 118.0867, ""),
        ("  118.0867 ", 118.0867, ""),
        ("１１８.０８６７", 118.0867, ""),  # full width
        ("118°05'12.5\"", 118 + 5 / 60 + 12.5 / 3600, ""),
        ("118°05′12.5″", 118 + 5 / 60 + 12.5 / 3600, ""),
        ("118°05’12.5”", 118 + 5 / 60 + 12.5 / 3600, ""),
        ("118度05分17.2秒", 118 + 5 / 60 + 17.2 / 3600, ""),
        ("118° 05' 12.5\"", 118 + 5 / 60 + 12.5 / 3600, ""),
        ("118°05'12.5", 118 + 5 / 60 + 12.5 / 3600, ""),  # the seconds mark left out
        ("118°05.5'", 118 + 5.5 / 60, ""),  # decimal minutes
        ("118.0867°", 118.0867, ""),  # decimal degrees with a mark
        ("118°05'12.5\"E", 118 + 5 / 60 + 12.5 / 3600, "lon"),
        ("E118°05'12.5\"", 118 + 5 / 60 + 12.5 / 3600, "lon"),
        ("东经118°05'12.5\"", 118 + 5 / 60 + 12.5 / 3600, "lon"),
        ("北纬24度47分31.5秒", 24 + 47 / 60 + 31.5 / 3600, "lat"),
        ("N24.7921", 24.7921, "lat"),
        ("24.7921N", 24.7921, "lat"),
        ("24°47'31.5\"S", -(24 + 47 / 60 + 31.5 / 3600), "lat"),
    ],
)
def test_one_coordinate_as_written(text, value, axis):
    got = _one(text)
    assert got["problem"] == ""
    assert got["value"] == pytest.approx(value, abs=1e-9)
    assert got["axis"] == axis


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the coordinate is empty"),
        ("abc", "the coordinate is not a number"),
        ("待补", "the coordinate is not a number"),
        ("119,62", "the coordinate is not a number"),  # riskmap.validate says which decimal comma
        ("北纬32度", "whole degrees"),
        ("118°65'12\"", "minutes must be below 60"),
        ("118°05'61\"", "seconds must be below 60"),
    ],
)
def test_unreadable_coordinates_say_why(text, problem):
    got = _one(text)
    assert np.isnan(got["value"])
    assert problem in _en(got["problem"]), got["problem"]


def _read(x, y, same=False):
    return read_coordinates(pd.Series(x, dtype=object), pd.Series(y, dtype=object), same_column=same)


@pytest.mark.parametrize("pair", ["118.0157,37.0494", "118.0157，37.0494", "118.0157;37.0494", "118.0157 37.0494",
                                  "118.0157, 37.0494", "(118.0157, 37.0494)"])  # fmt: skip
def test_a_pair_in_the_x_cell_when_y_is_empty(pair):
    got = _read([pair, "118.1"], ["", "37.1"]).iloc[0]
    assert (got["x"], got["y"], got["problem"], got["pair"]) == (118.0157, 37.0494, "", True)


def test_a_pair_of_dms_with_hemispheres():
    got = _read(["118°05'12.5\"E,24°47'31.5\"N"], [""]).iloc[0]
    assert got["x"] == pytest.approx(118 + 5 / 60 + 12.5 / 3600)
    assert got["y"] == pytest.approx(24 + 47 / 60 + 31.5 / 3600)


def test_x_and_y_mapped_to_one_column():
    got = _read(["118.0157,37.0494", "118.0157"], ["118.0157,37.0494", "118.0157"], same=True)
    assert got.loc[0, ["x", "y"]].tolist() == [118.0157, 37.0494]
    assert "one number" in _en(got.loc[1, "problem"]) and got.loc[1, "field"] == "x"


def test_a_number_with_thousands_separators_is_not_a_pair():
    # Projected metres with a thousands separator: one number, not the pair (512, 345.6).
    got = _read(["512,345.6"], ["3,563,210.4"]).iloc[0]
    assert (got["x"], got["y"], got["pair"]) == (512345.6, 3563210.4, False)


def test_two_whole_numbers_are_not_a_pair():
    got = _read(["118,37"], [""]).iloc[0]
    assert np.isnan(got["x"]) and _en(got["problem"]) == "the coordinate is not a number"


def test_hemisphere_marks_put_the_latitude_in_y():
    got = _read(["24°47'31.5\"N"], ["118°05'12.5\"E"]).iloc[0]
    assert got["x"] == pytest.approx(118 + 5 / 60 + 12.5 / 3600) and got["swapped"]


def test_two_latitudes_are_a_problem():
    got = _read(["N24.1"], ["N24.2"]).iloc[0]
    assert "both" in _en(got["problem"]) and "latitude" in _en(got["problem"])
    assert "都标为纬度" in got["problem"].render("zh")  # a problem is a message in both languages


def test_the_first_bad_field_is_named():
    got = _read(["118.1", "", "abc"], ["abc", "24.1", "24.1"])
    assert got["field"].tolist() == ["y", "x", "x"]
    assert [_en(p) for p in got["problem"].tolist()[1:]] == [
        "the coordinate is empty",
        "the coordinate is not a number",
    ]


def test_parsing_runs_once_per_distinct_cell():
    cells = pd.Series(["118°05'12.5\""] * 50_000 + ["24.5"] * 50_000, dtype=object)
    got = parse_coordinates(cells)
    assert got["value"].nunique() == 2 and (got["problem"] == "").all()
