"""Property and fuzz tests: no input crashes with anything but a RiskmapError; rows are never lost."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmap.config import Chem2018Params, LECParams, LSMatrixParams, config_from_dict
from riskmap.errors import ConfigError, InputError, RiskmapError
from riskmap.io.tables import read_table
from riskmap.methods import chem2018, gb18218, lec, ls_matrix

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12))  # fmt: skip
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                      st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=12)  # fmt: skip
keys = st.sampled_from(["project", "facilities", "zones", "scoring", "methods", "zoning", "supervision",
                        "outputs", "adjustment", "inventory", "bogus"])  # fmt: skip


@SETTINGS
@given(st.dictionaries(keys, values, max_size=5))
def test_config_loader_only_raises_config_errors(data):
    try:
        config_from_dict(data)
    except ConfigError:
        pass


@SETTINGS
@given(st.binary(max_size=400), st.sampled_from([".csv", ".xlsx", ".tsv"]))
def test_table_reader_only_raises_input_errors(blob, suffix):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"t{suffix}"
        p.write_bytes(blob)
        try:
            df = read_table(p, expect=["facility_id"])
        except InputError:
            return
        assert "_row" in df.columns and df["_row"].is_monotonic_increasing


text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8)
numberish = st.one_of(text, st.integers(-5, 12).map(str), st.floats(allow_nan=True).map(str),
                      st.sampled_from(["１", "3 t", "500kg", "", "nan", "-0", "1e9"]))  # fmt: skip


def _frame(rows, columns):
    df = pd.DataFrame(rows, columns=columns)
    df.insert(0, "_row", range(2, len(df) + 2))
    return df


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), numberish, numberish), max_size=25))
def test_ls_matrix_accounts_for_every_point(rows):
    pts = _frame(
        [(f, "p", lik, sev) for f, lik, sev in rows], ["facility_id", "point_name", "likelihood", "severity"]
    )
    res = ls_matrix.grade_facilities(pts, LSMatrixParams())
    used = pts[~pts["_row"].isin(res.rejects["row"])]
    assert len(used) + len(res.rejects) == len(pts)
    assert set(res.results.index) == set(used["facility_id"])


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["A", "B"]), numberish, numberish, numberish), max_size=25))
def test_lec_accounts_for_every_point(rows):
    pts = _frame(
        [(f, "p", a, b, c) for f, a, b, c in rows], ["facility_id", "point_name", "lec_l", "lec_e", "lec_c"]
    )
    res = lec.grade_facilities(pts, LECParams())
    assert len(res.rejects) + len(pts[~pts["_row"].isin(res.rejects["row"])]) == len(pts)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["A", "B"]), st.one_of(text, st.sampled_from(["氨", "W5.4", "7664-41-7"])),
                          numberish), max_size=20))  # fmt: skip
def test_gb18218_never_crashes_and_accounts_for_every_row(rows):
    inv = _frame([(f, "", s, q) for f, s, q in rows], ["facility_id", "unit_id", "substance", "quantity_t"])
    try:
        res = gb18218.grade_facilities(
            inv,
            pd.Series({"A": 10.0, "B": 0.0}),
            grade_levels={"1": "red", "2": "orange", "3": "yellow", "4": "blue"},
        )
    except RiskmapError:
        return
    assert len(res.rejects) <= len(inv)
    assert set(res.rejects["row"]) <= set(inv["_row"])


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B"]),
            st.one_of(text, st.sampled_from(["92#车用汽油", "0#柴油", "LNG", "CNG", "氨水", "液氨"])),
            numberish,
            st.one_of(text, st.sampled_from(["t", "吨", "kg", "m³", "立方米", "方", "L", ""])),
        ),
        max_size=20,
    )
)
def test_gb18218_with_a_unit_column_never_crashes(rows):
    inv = _frame(
        [(f, "", s, q, u) for f, s, q, u in rows],
        ["facility_id", "unit_id", "substance", "quantity_t", "unit"],
    )
    res = gb18218.grade_facilities(
        inv,
        pd.Series({"A": 10.0, "B": 0.0}),
        grade_levels={"1": "red", "2": "orange", "3": "yellow", "4": "blue"},
        densities={"CNG": 0.18},
    )
    assert len(res.rejects) <= len(inv)
    assert set(res.rejects["row"]) <= set(inv["_row"])


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["A", "B"]), text, numberish), max_size=20))
def test_chem2018_never_crashes(rows):
    ded = _frame(list(rows), ["facility_id", "item", "points"])
    res = chem2018.grade_facilities(ded, Chem2018Params())
    assert res.results["score"].between(0, 100).all()
    assert set(res.rejects["row"]) <= set(ded["_row"])
