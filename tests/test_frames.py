"""The array helpers (riskmap/frames.py): each gives what the plain per-row pandas expression gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmap.frames import (
    column_values,
    distinct_rows,
    id_positions,
    ids_in,
    join_first,
    join_positions,
    join_rows,
    normalise_text,
    per_distinct,
    take_column,
    take_or_missing,
)


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([3.0, 1.0, 3.0, -0.0, 0.0, np.nan]),
        pd.Series(["b", "a", "b", None], dtype="str"),
        pd.Series([1, 1, 2]),
        pd.Series([], dtype=float),
        pd.Series(["x"], index=[7], dtype="str"),
    ],
)
def test_per_distinct_is_the_function_on_every_row(values):
    calls = []

    def func(s: pd.Series) -> pd.Series:
        calls.append(len(s))
        return s.map(repr)

    got = per_distinct(values, func)
    assert got.tolist() == values.map(repr).tolist()
    assert got.index.equals(values.index)
    assert calls == [len(set(values.map(repr)))]  # one call, one row per distinct value (-0.0 is not 0.0)


def test_per_distinct_strings_only_leaves_other_columns_to_the_direct_path():
    seen = []
    per_distinct(pd.Series([1.0, 1.0]), lambda s: seen.append(len(s)) or s, strings_only=True)
    per_distinct(pd.Series(["a", "a"], dtype="str"), lambda s: seen.append(len(s)) or s, strings_only=True)
    assert seen == [2, 1]


def test_per_distinct_keeps_object_columns_apart():
    # 1, 1.0 and True factorize as one value but print differently.
    values = pd.Series([1, 1.0, True], dtype=object)
    assert per_distinct(values, lambda s: s.map(repr)).tolist() == ["1", "1.0", "True"]


def test_distinct_rows_of_several_keys_with_missing_values():
    codes, first = distinct_rows(pd.Series(["a", None, "a", None]), np.array([1, 2, 1, 2]))
    assert codes.tolist() == [0, 1, 0, 1]
    assert first.tolist() == [0, 1]


def test_join_positions_keeps_text_order_and_missing_groups():
    texts = pd.Series(["a", "b", "c", "d"])
    got = join_positions(np.array([2, 0, 2, 2]), texts, 4, "；")
    assert got.iloc[0] == "b"
    assert got.iloc[2] == "a；c；d"
    assert got.iloc[[1, 3]].isna().all()
    assert join_positions(np.array([], dtype=int), pd.Series([], dtype=str), 2, ",").isna().all()


def test_join_first_shows_only_the_first_ranks():
    got = join_first(
        np.array([0, 0, 0, 1]), np.array([0, 1, 2, 0]), np.array(["a", "b", "c", "d"]), 2, "、", 2
    )
    assert got.tolist() == ["a、b", "d"]


def test_join_rows_empty_text_for_rows_without_any():
    assert list(join_rows(np.array([1, 1]), pd.Series(["3", "9"]), 3, sep="|")) == ["", "3|9", ""]
    assert list(join_rows(np.array([], dtype=int), pd.Series([], dtype=str), 1)) == [""]


def test_take_or_missing_fills_minus_one():
    got = take_or_missing(pd.Series(["x", "y"], dtype="str"), np.array([-1, 0]))
    assert got.isna().tolist() == [True, False]
    assert got.iloc[1] == "x"


def test_take_column_keeps_arrow_strings_and_all_missing_as_objects():
    arrow = pd.Series(["p", "q"], dtype="str")
    assert isinstance(take_column(arrow, np.array([1, 0])), pd.api.extensions.ExtensionArray)
    missing = pd.Series([None, None], dtype="str")
    assert isinstance(take_column(missing, np.array([0])), np.ndarray)
    assert list(column_values(arrow)) == ["p", "q"]


@pytest.mark.parametrize("dtype", [object, "str"])
def test_id_positions_and_ids_in(dtype):
    keys = pd.Series(["A", "B", "C"], dtype=dtype)
    values = pd.Series(["C", "X", "A"], dtype=dtype)
    assert id_positions(keys, values).tolist() == [2, -1, 0]
    assert ids_in(values, pd.Index(keys)).tolist() == [True, False, True]


def test_normalise_text_full_width_and_missing():
    got = normalise_text(pd.Series(["  ９１３５ ", "ｍ", None], dtype="str"))
    assert got.iloc[:2].tolist() == ["9135", "m"]
    assert pd.isna(got.iloc[2])
