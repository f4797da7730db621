"""A county office's files as they arrive, end to end (issue 24, "Done when").

tests/county.py writes 同安区's files as delivered (an .xls register with a merged two-row header and mixed coordinate
systems, a quarterly hidden-danger ledger, a GBK risk-point CSV, a trade-name inventory, GBK village shapefiles in
a Gauss-Krüger zone, a population raster missing a strip) and the project file a clerk writes once. These tests run
``riskmap validate``, ``run`` and ``report`` on them through the CLI, without editing a file, and check the run
against the truth the files were made from; the expected levels are computed here by hand (GB 18218 tables 5 and 6,
the project file's adjustment rules), not with riskmap's functions.

The first tests check what reading alone does (workbooks, sheets, headers, totals rows). Then each group of
issue 24's features is checked on the project file restricted to its keys (``county.write_project(features=...)``:
events, spatial, scoring), and the whole file as written on all of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import county
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from county import AS_OF, BASELINE, RADIUS_M, Truth
from typer.testing import CliRunner

import riskmap
from riskmap.cli import app
from riskmap.io.tables import NON_DATA_ROWS, READ_WARNINGS, read_table

runner = CliRunner()


@pytest.fixture(scope="module")
def truth(tmp_path_factory: pytest.TempPathFactory) -> Truth:
    return county.build_county(tmp_path_factory.mktemp("county") / "同安区")


def _invoke(*args: object) -> tuple[int, str]:
    r = runner.invoke(app, [str(a) for a in args])
    return r.exit_code, r.output


def _inputs(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix != ".toml"
    }


# --------------------------------------------------------------------------------------------------------------
# the hand calculation


RANK = {"blue": 1, "yellow": 2, "orange": 3, "red": 4}
LEVEL = {v: k for k, v in RANK.items()}
CLOSED = {"已整改", "已销号", "整改完成", "完成", "销号", "已完成"}
OPEN = {"未整改", "整改中", "正在整改", "逾期", "逾期未整改"}


def alpha(persons: float) -> float:
    """GB 18218-2018 table 5: persons normally within 500 m -> α."""
    for least, a in ((100, 2.0), (50, 1.5), (30, 1.2)):
        if persons >= least:
            return a
    return 1.0 if persons > 0 else 0.5


def grade(r: float) -> int:
    """GB 18218-2018 table 6."""
    return 1 if r >= 100 else 2 if r >= 50 else 3 if r >= 10 else 4


def circle_part_east(offset: float, radius: float = RADIUS_M) -> float:
    """Area of a circle east of the vertical line ``offset`` metres east of its centre (a circular segment)."""
    t = max(-radius, min(radius, offset))
    return radius**2 * math.acos(t / radius) - t * math.sqrt(radius**2 - t**2)


def persons_by_hand(truth: Truth, name: str) -> tuple[float, float]:
    """The persons within 500 m and the share of the buffer the raster covers: the register's number, else the
    raster's even density times the area it covers (the edge case: the part east of the raster's edge)."""
    e = truth.enterprise(name)
    if e["persons"] is not None and not pd.isna(e["persons"]):
        return float(e["persons"]), 1.0
    case = truth.raster_cases[name]
    full = math.pi * RADIUS_M**2
    offset = case["edge_offset_m"]
    covered = full if offset is None else circle_part_east(offset)
    return case["density"] * covered / case["cell_area_m2"], covered / full


def gb18218_by_hand(truth: Truth, name: str) -> tuple[int | None, float]:
    """The enterprise's GB 18218 grade (its highest over storage units; None: no major hazard) and α."""
    persons, _ = persons_by_hand(truth, name)
    a = alpha(persons)
    inv = truth.inventory[truth.inventory["name"] == name]
    grades = []
    for _, unit in inv.groupby("storage"):
        s = (unit["tonnes"] / unit["q_crit"]).sum()
        if round(s, 9) >= 1:
            grades.append(grade(a * (unit["beta"] * unit["tonnes"] / unit["q_crit"]).sum()))
    return (min(grades) if grades else None), a


def level_after_hidden_dangers(base: str, rows: pd.DataFrame, as_of: dt.date = AS_OF) -> str:
    """The project file's rules: an open 重大 raises to red; an overdue 一般 raises one level, at most orange.

    Closed: a completion date on or before as_of, or a closed status without a completion date; an open status
    keeps it open whatever the date (the status wins, docs/methodology.md).
    """
    rank = RANK[base]
    proposals = [rank]
    for h in rows.itertuples():
        dated = h.closed is not None and not pd.isna(h.closed)
        closed = h.status not in OPEN and (
            (dated and h.closed <= as_of) or (h.status in CLOSED and not dated)
        )
        if closed or h.found > as_of:
            continue
        if h.grade == "重大":
            proposals.append(RANK["red"])
        elif (as_of - h.deadline).days >= 1:
            proposals.append(min(rank + 1, max(rank, RANK["orange"])))
    return LEVEL[max(proposals)]


def expected_levels(truth: Truth, prefix: str) -> dict[str, str]:
    """Hand-calculated level of every case enterprise whose case starts with ``prefix``."""
    out = {}
    for case, names in truth.cases.items():
        if not case.startswith(prefix):
            continue
        for name in names:
            e = truth.enterprise(name)
            base = BASELINE[e["sector"]]
            if prefix == "hd_":
                out[name] = level_after_hidden_dangers(
                    base, truth.hidden_dangers[truth.hidden_dangers["name"] == name]
                )
            else:
                g, _ = gb18218_by_hand(truth, name)
                graded = {1: "red", 2: "orange", 3: "yellow", 4: "blue"}.get(g, "blue") if g else "blue"
                out[name] = LEVEL[max(RANK[base], RANK[graded])]
    return out


def test_hand_calculation_is_discriminating(truth: Truth):
    """The cases are built so that each wrong reading gives another level than the right one."""
    hd = expected_levels(truth, "hd_")
    by_case = {c: [hd[n] for n in truth.cases[c]] for c in truth.cases if c.startswith("hd_")}
    assert by_case["hd_closed_by_status"] == ["blue", "blue"]
    assert by_case["hd_open_major"] == by_case["hd_open_major_by_name"] == ["red"]
    assert by_case["hd_overdue_general"] == ["yellow"] and by_case["hd_open_not_overdue"] == ["blue"]
    assert by_case["hd_closed_major_and_overdue_general"] == ["yellow"]
    assert by_case["hd_chemical_overdue_general"] == ["orange"]
    # Closed by status without a date, read as open: red (an open 重大) or yellow (overdue).
    ledger = truth.hidden_dangers.assign(status="未整改")
    for name in truth.cases["hd_closed_by_status"]:
        assert level_after_hidden_dangers("blue", ledger[ledger["name"] == name]) != "blue"
    mh = expected_levels(truth, "persons_") | expected_levels(truth, "substance_")
    by_case = {c: mh[truth.cases[c][0]] for c in truth.cases if c.startswith(("persons_", "substance_"))}
    assert by_case == {
        "persons_45_ren": "orange", "persons_about_45": "orange", "persons_blank_raster": "orange",
        "persons_raster_edge": "orange", "substance_hf": "orange", "substance_petrol": "orange",
        "substance_methanol_cas_m3": "orange", "substance_lng_m3": "yellow",
    }  # fmt: skip
    # Persons read as 0 (α 0.5) grade these three 三级 (yellow, their inherent level): R = 0.5 x 45.5.
    for case in ("persons_45_ren", "persons_about_45", "persons_blank_raster"):
        inv = truth.inventory[truth.inventory["name"] == truth.cases[case][0]]
        weighted = (inv["beta"] * inv["tonnes"] / inv["q_crit"]).sum()
        assert weighted == pytest.approx(45.5) and grade(0.5 * weighted) == 3 and grade(1.2 * weighted) == 2
    # The edge case extrapolated to its whole buffer is 一级 (red), from the persons found 二级 (orange).
    persons, share = persons_by_hand(truth, truth.cases["persons_raster_edge"][0])
    assert 50 <= persons < 100 and persons / share >= 100 and 0.5 < share < 0.6
    assert grade(alpha(persons / share) * 55) == 1 and grade(alpha(persons) * 55) == 2


# --------------------------------------------------------------------------------------------------------------
# the files are what they claim to be (the yardstick itself)


def test_files_are_shaped_as_delivered(truth: Truth):
    d = truth.folder
    assert (d / county.REGISTER).read_bytes()[:4] == b"\xd0\xcf\x11\xe0"  # an Excel 97-2003 (BIFF) workbook
    shp = d / county.VILLAGES
    assert not shp.with_suffix(".cpg").exists() and shp.with_suffix(".dbf").read_bytes()[29] == 0
    info = pyogrio.read_info(shp)
    assert info["crs"] == "EPSG:4548" and info["ogr_types"][0] == "OFTReal"
    raw = pyogrio.read_dataframe(shp, read_geometry=False)
    assert raw["XZQDM"].astype(str).iloc[0].endswith(".0")  # as Excel/DBF damage it
    assert not raw["XZQMC"].isin(truth.villages["name"]).any()  # mojibake under GDAL's default encoding
    gbk = pyogrio.read_dataframe(shp, read_geometry=False, encoding="GB18030")
    assert gbk["XZQMC"].tolist() == truth.villages["name"].tolist()
    text = (d / county.RISK_POINTS).read_bytes()
    with pytest.raises(UnicodeDecodeError, match="utf-8"):
        text.decode("utf-8")
    assert text.decode("gbk").splitlines()[0].startswith("同安区企业安全风险点登记表")
    assert len(truth.villages) == 60 and len(truth.towns) == 8
    assert truth.villages["code"].str.fullmatch(r"350212\d{6}").all()
    assert (truth.villages["code"].str[:9] + "000").isin(truth.towns["code"]).all()


def test_enterprises_sit_near_village_borders_and_shifts_misplace_them(truth: Truth):
    """Every enterprise (but the one on the raster's edge) is within 300 m of a village border and 40 m inside its
    own village; every BD-09/GCJ-02 row's coordinates, taken as they are, fall in another village."""
    df = truth.enterprises[truth.enterprises["case"] != "persons_raster_edge"]
    villages = truth.villages.to_crs(county.GK)
    geoms = villages.geometry.to_numpy()
    border = shapely.union_all(shapely.boundary(geoms))
    pts = shapely.points(df["gk_x"], df["gk_y"])
    assert (shapely.distance(pts, border) < county.BORDER_M).all()
    assert (shapely.distance(pts, border) >= county.INSET_M - 0.01).all()

    def villages_of(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        gk = gpd.GeoSeries(shapely.points(lon, lat), crs="EPSG:4490").to_crs(county.GK).to_numpy()
        inside = [np.flatnonzero(shapely.contains(geoms, q)) for q in gk]
        return np.array([villages["code"].iloc[i[0]] if len(i) else "" for i in inside])

    for system in ("BD-09", "GCJ-02"):
        rows = df[df["system"] == system]
        raw = villages_of(rows["x_system"].to_numpy(), rows["y_system"].to_numpy())
        assert (raw != rows["village_code"].to_numpy()).all(), system
    assert (df["system"] == "BD-09").sum() == 70 and (df["system"] == "GCJ-02").sum() == 80


def test_raster_around_the_persons_cases(truth: Truth):
    """The raster holds the cases' even density over their whole buffer (where it covers it), and leaves out the
    edge case's western part."""
    with rasterio.open(truth.folder / county.POPULATION) as src:
        values = src.read(1)
        rows, cols = np.mgrid[0 : src.height, 0 : src.width]
        xs, ys = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
        for name, case in truth.raster_cases.items():
            e = truth.enterprise(name)
            near = np.hypot(np.asarray(xs) - e["gk_x"], np.asarray(ys) - e["gk_y"]) <= RADIUS_M + 150
            assert (values.ravel()[near] == np.float32(case["density"])).all(), name
            if case["edge_offset_m"] is not None:
                assert src.bounds.left == pytest.approx(e["gk_x"] + case["edge_offset_m"])


# --------------------------------------------------------------------------------------------------------------
# what today's main reads (these pass now)


def test_register_two_row_header_and_totals(truth: Truth):
    df = read_table(truth.folder / county.REGISTER, expect=["统一社会信用代码", "企业名称", "行业类别"])
    assert [c for c in df.columns if c != "_row"] == list(county.REGISTER_COLUMNS)  # 坐标 over 经度/纬度
    assert len(df) == len(truth.enterprises) == 300
    assert df.attrs[NON_DATA_ROWS] == [304, 305]  # 合计 … 共300家, 填表人：… 审核人：… 填报日期：…
    assert df["企业名称"].tolist() == truth.enterprises["name"].tolist()
    assert df["_row"].tolist() == truth.enterprises["row"].tolist()


def test_ledger_quarter_sheets_read_as_one_table(truth: Truth):
    df = read_table(truth.folder / county.LEDGER, sheet="*", expect=["统一社会信用代码"])
    per_sheet = df["_sheet"].value_counts().to_dict()
    assert per_sheet == truth.counts["ledger_rows_per_sheet"]  # 填表说明 and 汇总 are not read
    assert len(df.attrs[NON_DATA_ROWS]) == 3  # one 合计 row a sheet
    assert "已读取工作表 2025年第一季度, 2025年第二季度, 2025年第三季度" in " ".join(df.attrs[READ_WARNINGS])
    hd = truth.hidden_dangers
    assert df["隐患编号"].tolist() == hd["hazard_id"].tolist() and df["_row"].tolist() == hd["row"].tolist()


def test_risk_points_and_inventory_under_title_lines(truth: Truth):
    rp = read_table(truth.folder / county.RISK_POINTS, expect=["统一社会信用代码"])
    assert (
        len(rp) == len(truth.risk_points) and rp["风险点名称"].tolist() == truth.risk_points["point"].tolist()
    )
    inv = read_table(truth.folder / county.INVENTORY, expect=["统一社会信用代码"])
    assert len(inv) == len(truth.inventory)
    assert inv["物质名称"].tolist() == truth.inventory["substance"].tolist()


def test_validate_today_accounts_every_row(truth: Truth):
    """The project restricted to today's keys: validate lists problems (no internal error) and counts every row."""
    project = county.write_project(truth.folder, features=(), name="main-only.toml")
    code, out = _invoke("validate", project, "--show", "0")
    assert code == 1 and "内部错误" not in out, out
    # Grey (未评估) facilities are on the map, counted apart: rows in = scored + not assessed + rejected.
    m = re.search(r"输入 (\d+) 行 = 已评级 (\d+) \+ 未评估 (\d+) \+ 已剔除 (\d+)", out)
    assert m and int(m[1]) == 300 == int(m[2]) + int(m[3]) + int(m[4]), out
    assert "跳过 2 行非数据行" in out and "跳过 3 行非数据行" in out
    assert "已读取工作表 2025年第一季度, 2025年第二季度, 2025年第三季度" in out
    for row in (304, 305):  # totals and signatures are counted apart, not rejected
        assert f"{county.REGISTER} row {row}," not in out


# --------------------------------------------------------------------------------------------------------------
# what a run says, from riskmap.check or from the files a CLI run wrote


@dataclass
class Outcome:
    """Facilities (by name), the inspection plan, the rejects, the summary and warnings of one run."""

    facilities: pd.DataFrame
    plan: pd.DataFrame
    rejects: pd.DataFrame
    summary: dict
    warnings: list[str]
    zones: dict[str, pd.DataFrame]


def outcome_of(result: riskmap.RunResult | Exception) -> Outcome:
    assert not isinstance(result, Exception), f"{type(result).__name__}: {result}"
    return Outcome(
        facilities=pd.DataFrame(result.facilities.drop(columns="geometry")).set_index("name"),
        plan=result.plan.plan.astype({"zone_code": str, "facility_id": str}),
        rejects=result.rejects,
        summary=result.summary,
        warnings=list(result.warnings),
        zones={k: pd.DataFrame(z.drop(columns="geometry")) for k, z in result.zones.items()},
    )


def _as_in_the_run(rejects: pd.DataFrame) -> pd.DataFrame:
    """rejects.csv of a Chinese run (reason in Chinese, reason_en) as a run keeps it (reason in English, reason_zh)."""
    if "reason_en" not in rejects.columns:
        return rejects
    assert rejects["reason"].str.contains(r"[\u3400-\u9fff]").all(), rejects["reason"].tolist()
    return rejects.rename(columns={"reason": "reason_zh", "reason_en": "reason"})


def outcome_from(out: Path) -> Outcome:
    """A CLI run's output folder read back with real readers (GDAL, the CSV files, run.json)."""
    gpkg = out / "riskmap.gpkg"
    fac = pyogrio.read_dataframe(gpkg, layer="facilities", read_geometry=False).set_index("name")
    return Outcome(
        facilities=fac,
        plan=pd.read_csv(out / "inspection_plan.csv", encoding="utf-8-sig", dtype=str),
        rejects=_as_in_the_run(
            pd.read_csv(
                out / "rejects.csv", encoding="utf-8-sig", dtype={"row": float}, keep_default_na=False
            )
        ),
        summary=json.loads((out / "run.json").read_text(encoding="utf-8"))["summary"],
        warnings=[],
        zones={
            k: pyogrio.read_dataframe(gpkg, layer=f"zones_{k}", read_geometry=False)
            for k in ("village", "town")
        },
    )


def assert_levels(o: Outcome, expected: dict[str, str]) -> None:
    fac = o.facilities
    missing = sorted(set(expected) - set(fac.index))
    assert not missing, f"not graded: {missing}"
    got = fac.loc[list(expected), "level"].to_dict()
    wrong = {n: (got[n], want) for n, want in expected.items() if got[n] != want}
    assert not wrong, "level (riskmap vs hand): " + "; ".join(
        f"{n}: {g} vs {w} ({fac.loc[n, 'reasons']})" for n, (g, w) in wrong.items()
    )


def assert_villages(o: Outcome, expected: pd.DataFrame) -> None:
    """Each enterprise of ``expected`` is in its true village (and town)."""
    assert len(expected)
    fac = o.facilities
    got = fac["village_code"].reindex(expected["name"]).astype(str).to_numpy()
    wrong = expected.assign(got=got).loc[got != expected["village_code"].to_numpy()]
    assert wrong.empty, (
        f"{len(wrong)} of {len(expected)} in the wrong village:\n"
        + wrong[["name", "system_written", "form", "village_code", "got"]].head(10).to_string()
    )
    towns = fac["town_code"].reindex(expected["name"]).astype(str).to_numpy()
    assert (towns == expected["town_code"].to_numpy()).all()


def _graded_rows(truth: Truth, o: Outcome, rejects: pd.DataFrame) -> pd.DataFrame:
    """The rejects of ledger and standardisation rows whose enterprise the run graded (the others' rows are
    rejected with their enterprise)."""
    graded = set(o.facilities.index)
    hd = truth.hidden_dangers.set_index(["sheet", "row"])["name"]
    sheet = rejects["source"].str.partition(":")[2]
    rows = rejects["row"].astype(int)
    name = np.where(
        rejects["source"].str.startswith(county.LEDGER),
        [hd.get((s, r), "") for s, r in zip(sheet, rows, strict=True)],
        rows.map(truth.enterprises.set_index("row")["name"]).fillna("").to_numpy(),
    )
    return rejects[pd.Series(name, index=rejects.index).isin(graded)]


def assert_accounted(truth: Truth, o: Outcome) -> None:
    """Rows in = scored + rejected; of the register's rows at most the enterprises with an id 无 are rejected; of
    the rows that belong to a graded enterprise, only what nothing can read (the found date without a year in
    the ledger, 达标 without a grade) is rejected; totals and signature rows are counted apart."""
    s = o.summary
    assert (
        s["facilities_in"]
        == 300
        == s["facilities_scored"] + s["facilities_unassessed"] + s["facilities_rejected"]
    ), s
    rejects = o.rejects
    register = rejects[rejects["source"] == county.REGISTER]
    wu_rows = set(truth.enterprises.loc[truth.enterprises["id"].isna(), "row"])
    assert set(register["row"].astype(int)) <= wu_rows, register.to_string()
    ledger = _graded_rows(truth, o, rejects[rejects["source"].str.startswith(county.LEDGER)])
    no_year = truth.hidden_dangers[truth.hidden_dangers["no_year"]]
    assert ledger[["row", "value"]].values.tolist() == [[no_year["row"].iloc[0], "3月5日"]], (
        ledger.to_string()
    )
    std = _graded_rows(truth, o, rejects[rejects["source"].str.contains("(standardisation)", regex=False)])
    std = std[~std["row"].astype(int).isin(wu_rows)]  # a row without an id to join on (no grade either)
    assert std["value"].tolist() == ["达标"], std.to_string()
    tables = rejects["source"].str.startswith((county.LEDGER, county.RISK_POINTS, county.INVENTORY))
    others = rejects[~tables & ~rejects.index.isin([*register.index, *std.index])]
    others = others[~others["source"].str.contains("(standardisation)", regex=False)]
    assert others.empty, others.to_string()
    for table in (county.RISK_POINTS, county.INVENTORY):
        rows = rejects[rejects["source"] == table]
        assert rows["reason"].str.contains("no facility with this id").all(), rows.to_string()


def assert_plan(truth: Truth, o: Outcome, df: pd.DataFrame) -> None:
    """Every enterprise of ``df`` is in the plan once, with its id (where it has one) and its village."""
    plan = o.plan
    counts = plan["name"].value_counts().reindex(df["name"]).fillna(0)
    assert counts.eq(1).all(), counts[counts != 1]
    by_name = plan.set_index("name")
    with_id = df[df["id"].notna()]
    assert (by_name.loc[with_id["name"], "facility_id"].to_numpy() == with_id["id"].to_numpy()).all()
    got = by_name.loc[df["name"], "zone_code"].to_numpy()
    wrong = got != df["village_code"].to_numpy()
    assert not wrong.any(), df.assign(got=got).loc[
        wrong, ["name", "system_written", "form", "village_code", "got"]
    ]


def all_hand_levels(truth: Truth) -> dict[str, str]:
    out: dict[str, str] = {}
    for prefix in ("hd_", "persons_", "substance_"):
        out |= expected_levels(truth, prefix)
    return out


def assert_validated(truth: Truth, code: int, out: str) -> None:
    """``riskmap validate`` lists the rows nothing can read (a found date without a year, 达标 without a grade; at
    most the register rows of the ids 无 besides), exits 1, counts every register row and the non-data rows apart;
    no shift is left to suspect."""
    assert code == 1 and "内部错误" not in out, out
    # Grey (未评估) facilities are on the map, counted apart: rows in = scored + not assessed + rejected.
    m = re.search(r"输入 (\d+) 行 = 已评级 (\d+) \+ 未评估 (\d+) \+ 已剔除 (\d+)", out)
    assert m and int(m[1]) == 300 == int(m[2]) + int(m[3]) + int(m[4]), out
    wu_rows = set(truth.enterprises.loc[truth.enterprises["id"].isna(), "row"])
    listed = re.findall(r"^  (.+?) 第 (\d+) 行，字段“[^”]*”：'([^']*)' — ", out, flags=re.M)
    unexpected = [
        (src, row, value)
        for src, row, value in listed
        if value not in ("3月5日", "达标") and not (src.startswith(county.REGISTER) and int(row) in wu_rows)
    ]
    assert {v for _, _, v in listed} >= {"3月5日", "达标"} and not unexpected, out
    assert "跳过 2 行非数据行" in out and "跳过 3 行非数据行" in out, out
    said = re.findall(r"^(?:警告：|warning:) .*$", out, flags=re.M)
    assert len(said) == len(set(said)), out  # the register, read for two sections, is noted once
    assert re.search(rf"{re.escape(county.REGISTER)}：2 行表头（第 \d+-\d+ 行）读作以下列：", out)
    assert not re.search(r"看起来是 (BD-09|GCJ-02) 坐标|区域更吻合", out), out
    assert "329901" not in out, out  # no message quotes the demo district's codes on this county's data


def test_yardstick_holds_on_the_hand_edited_files(truth: Truth, tmp_path: Path):
    """The same checks as on the files as delivered, through the CLI on today's main after a clerk's hand edits
    (the issue's "10 hand edits"): validate, the accounting, the plan, the villages and the hand calculation hold,
    so a failure of the xfail tests below is the feature's, not the yardstick's."""
    project = county.hand_edited(truth, tmp_path / "手工修改后")
    assert_validated(truth, *_invoke("validate", project, "--show", "0"))
    code, out = _invoke("run", project, "--out", tmp_path / "out")
    assert code == 0, out
    o = outcome_from(tmp_path / "out")
    assert_accounted(truth, o)
    assert_plan(truth, o, truth.enterprises)
    assert_villages(o, truth.enterprises)
    assert_levels(o, all_hand_levels(truth))


# --------------------------------------------------------------------------------------------------------------
# one branch's features: the project file restricted to its keys, graded by riskmap.check


def _check(truth: Truth, features: tuple[str, ...]) -> riskmap.RunResult | Exception:
    project = county.write_project(truth.folder, features=features, name=f"{'-'.join(features)}.toml")
    try:
        return riskmap.check(riskmap.load_config(project))
    except Exception as err:  # reported by the test that uses it (an xfail until the branch lands)
        return err


@pytest.fixture(scope="module")
def events_run(truth: Truth):
    return _check(truth, ("events",))


@pytest.fixture(scope="module")
def spatial_run(truth: Truth):
    return _check(truth, ("spatial",))


@pytest.fixture(scope="module")
def scoring_run(truth: Truth):
    return _check(truth, ("scoring",))


def test_events_hidden_danger_levels_by_hand(truth: Truth, events_run):
    """Closed by status without a date does not raise; an open 重大 raises to red; rows without an id count for
    the enterprise of that name."""
    assert_levels(outcome_of(events_run), expected_levels(truth, "hd_"))


def test_events_ledger_rows_accounted(truth: Truth, events_run):
    """Every ledger row is used or rejected: of the rows of graded enterprises, only the found date without a
    year (3月5日) is rejected, with the reason; of the register's grades only 达标."""
    o = outcome_of(events_run)
    ledger = _graded_rows(truth, o, o.rejects[o.rejects["source"].str.startswith(county.LEDGER)])
    no_year = truth.hidden_dangers[truth.hidden_dangers["no_year"]]
    assert ledger[["row", "value"]].values.tolist() == [[no_year["row"].iloc[0], "3月5日"]], (
        ledger.to_string()
    )
    assert re.search("year|年份", ledger["reason"].iloc[0]), ledger["reason"].iloc[0]
    std = _graded_rows(
        truth, o, o.rejects[o.rejects["source"].str.contains("(standardisation)", regex=False)]
    )
    wu_rows = set(truth.enterprises.loc[truth.enterprises["id"].isna(), "row"])
    std = std[~std["row"].astype(int).isin(wu_rows)]  # a row without an id to join on (no grade either)
    assert std["value"].tolist() == ["达标"], std.to_string()


def test_events_notes_counted_once(truth: Truth, events_run):
    """One warning counts the dangers closed by their status alone (of the rows used), one the old 15-digit
    registration numbers; the ids 无 are empty ids, shown as written."""
    o = outcome_of(events_run)
    ledger = o.rejects[o.rejects["source"].str.startswith(county.LEDGER)]
    rejected = set(zip(ledger["source"].str.partition(":")[2], ledger["row"].astype(int), strict=True))
    hd = truth.hidden_dangers
    used = np.array([(s, r) not in rejected for s, r in zip(hd["sheet"], hd["row"], strict=True)])
    n = int((hd["closed_by_status"] & used).sum())
    assert n > 50
    closed = [w for w in o.warnings if "条隐患按状态已销号" in w]
    assert len(closed) == 1 and f"{county.LEDGER}：{n} 条隐患按状态已销号" in closed[0], closed
    old = [w for w in o.warnings if "15 位工商注册号" in w]
    assert len(old) == 1 and f"{truth.counts['ids_15_digit']} 个企业编号是旧的 15 位工商注册号" in old[0], old
    register = o.rejects[o.rejects["source"] == county.REGISTER]
    assert not (register["value"] == "无").any()  # an enterprise without an id is keyed by its name
    wu = [w for w in o.warnings if "家企业没有编号" in w]
    assert len(wu) == 1 and f"{county.REGISTER}：{truth.counts['ids_wu']} 家企业没有编号" in wu[0], wu


def _placeable(truth: Truth) -> pd.DataFrame:
    """Enterprises whose sector and id today's main already reads (so that only placement is tested)."""
    df = truth.enterprises
    return df[(df["sector"] == df["sector_written"]) & df["id"].notna()]


def test_spatial_bd09_and_gcj02_rows_in_their_true_villages(truth: Truth, spatial_run):
    o = outcome_of(spatial_run)
    df = _placeable(truth)
    assert_villages(o, df[df["system"].isin(["BD-09", "GCJ-02"])])
    shift = [w for w in o.warnings if re.search(r"看起来是 (BD-09|GCJ-02) 坐标|区域更吻合", w)]
    assert not shift, shift  # each row converted in its own system: nothing left that a shift would explain


def test_spatial_coordinates_as_written(truth: Truth, spatial_run):
    """DMS, a pair in one cell, swapped columns and numbers stored as text land in their villages."""
    df = _placeable(truth)
    assert_villages(outcome_of(spatial_run), df[df["form"].isin(["dms", "pair", "swapped", "text"])])


def test_spatial_placed_by_village_column(truth: Truth, spatial_run):
    """The four enterprises without coordinates are placed in their 所属村 (town from the code), and say so. Those
    whose sector is spelled as only the scoring branch reads it are located, then rejected for their sector."""
    o = outcome_of(spatial_run)
    none = truth.enterprises[truth.enterprises["form"] == "none"]
    placed = none[none["name"].isin(_placeable(truth)["name"])]
    assert len(placed) >= 2
    assert_villages(o, placed)
    assert o.facilities.loc[placed["name"], "reasons"].str.contains("所属村").all()
    assert (o.facilities.loc[placed["name"], "zone_assignment"] == "placed by 所属村（社区）").all()
    others = o.rejects[o.rejects["row"].isin(none.loc[~none.index.isin(placed.index), "row"])]
    assert (others["stage"] == "score").all() and others["reason"].str.contains("sector").all(), others
    assert any(w.startswith(f"{len(none)} 家企业没有可用坐标，已按") for w in o.warnings)


def _spatial_without_crs_column(truth: Truth, name: str, crs: str = "EPSG:4490") -> Outcome:
    project = county.write_project(truth.folder, features=("spatial",), name=name)
    text = project.read_text(encoding="utf-8").replace('crs_column = "坐标系"', "")
    project.write_text(text.replace('crs = "EPSG:4490"', f'crs = "{crs}"'), encoding="utf-8")
    return outcome_of(riskmap.check(riskmap.load_config(project)))


def test_spatial_a_mixed_register_without_crs_column_is_named(truth: Truth):
    """Without crs_column, the 百度 and 高德 rows land in other villages than their 所属村: the warning names both
    systems and the key to set, not one crs (following that advice misplaced the rows of the other system)."""
    o = _spatial_without_crs_column(truth, "spatial-no-crs-column.toml")
    (hint,) = [w for w in o.warnings if "区域更吻合" in w]
    m = re.match(r"(\d+) 行按 (BD-09|GCJ-02) 读取时与其所在村（社区）区域更吻合，(\d+) 行按 (BD-09|GCJ-02)，"
                 r"按声明的坐标系（EPSG:4490）则不然（所属村（社区） 写明了其所在村（社区）", hint)  # fmt: skip
    assert m and {m[2], m[4]} == {"BD-09", "GCJ-02"}, hint
    counts = {m[2]: int(m[1]), m[4]: int(m[3])}
    assert 0 < counts["BD-09"] <= 70 and 0 < counts["GCJ-02"] <= 80  # rows that fit in one reading only
    assert "请在 [facilities] 下将 crs_column 设为" in hint and "看起来是" not in hint


def test_spatial_a_mixed_register_declared_gcj02_is_named(truth: Truth):
    """crs = "GCJ-02" for the whole register (a one-system advice followed): the 百度 rows and the true ones are
    named, instead of 70 rows misplaced silently."""
    o = _spatial_without_crs_column(truth, "spatial-gcj02.toml", crs="GCJ-02")
    (hint,) = [w for w in o.warnings if "区域更吻合" in w]
    assert re.match(r"\d+ 行按 (BD-09|EPSG:4490) 读取时与其所在村（社区）区域更吻合，\d+ 行按 (BD-09|EPSG:4490)，"
                    r"按声明的坐标系（GCJ-02）则不然", hint), hint  # fmt: skip
    assert "crs_column" in hint


def test_spatial_every_enterprise_and_the_village_layer(truth: Truth, spatial_run):
    """Every enterprise in its true village; the village codes (real numbers in the DBF) and names (GBK without
    .cpg) read back as the office wrote them."""
    o = outcome_of(spatial_run)
    assert_villages(o, _placeable(truth))
    assert not [w for w in o.warnings if "329901" in w]  # the demo district's codes quoted on this county
    village = o.zones["village"].set_index("zone_code")
    assert set(village.index) == set(truth.villages["code"])
    assert (village["zone_name"] == truth.villages.set_index("code")["name"].reindex(village.index)).all()


def test_scoring_persons_levels_by_hand(truth: Truth, scoring_run):
    """ "45人"/"约45" are 45 persons (α 1.2); a blank cell falls back to the raster (α from its persons); the
    major hazard at the raster's edge is graded from the persons found (a lower bound)."""
    o = outcome_of(scoring_run)
    assert_levels(o, expected_levels(truth, "persons_"))
    for case in ("persons_45_ren", "persons_about_45", "persons_blank_raster", "persons_raster_edge"):
        name = truth.cases[case][0]
        persons, _ = persons_by_hand(truth, name)
        assert o.facilities.loc[name, "persons_500m"] == pytest.approx(persons, rel=0.02), case
        assert o.facilities.loc[name, "gb18218_grade"] == gb18218_by_hand(truth, name)[0], case


def test_scoring_edge_of_the_raster_is_flagged(truth: Truth, scoring_run):
    o = outcome_of(scoring_run)
    name = truth.cases["persons_raster_edge"][0]
    _, share = persons_by_hand(truth, name)
    reasons = f"{o.facilities.loc[name, 'reasons']} | {o.facilities.loc[name, 'reasons_en']}"
    assert "下限" in reasons or "lower bound" in reasons, reasons
    assert any(f"{p}%" in reasons for p in {math.floor(share * 100), round(share * 100)}), reasons


def test_scoring_substances_and_units_by_hand(truth: Truth, scoring_run):
    """Trade names, a CAS number and units t/吨/kg/m³: every inventory row is read; grades as by hand."""
    o = outcome_of(scoring_run)
    assert_levels(o, expected_levels(truth, "substance_"))
    for name in (n for c, ns in truth.cases.items() if c.startswith("substance_") for n in ns):
        assert o.facilities.loc[name, "gb18218_grade"] == gb18218_by_hand(truth, name)[0], name
    inv = o.rejects[o.rejects["source"] == county.INVENTORY]
    own = inv[~inv["reason"].str.contains("no facility with this id")]
    assert own.empty, own.to_string()


def test_scoring_sector_spellings(truth: Truth, scoring_run):
    """Every spelling of the register is graded under its sector; 有限空间 without risk points is 未评估 (grey)."""
    o = outcome_of(scoring_run)
    df = truth.enterprises
    df = df[(df["system"] == "EPSG:4490") & df["id"].notna() & df["form"].isin(["number", "text"])]
    got = o.facilities["sector"].reindex(df["name"]).to_numpy()
    assert (got == df["sector"].to_numpy()).all(), df.assign(got=got)[["name", "sector_written", "got"]]
    grey = df[(df["sector"] == "有限空间") & ~df["name"].isin(truth.risk_points["name"])]
    assert len(grey) and (o.facilities.loc[grey["name"], "level"] == "none").all()


# --------------------------------------------------------------------------------------------------------------
# the whole project, as the clerk wrote it, through the CLI


@pytest.fixture(scope="module")
def full(truth: Truth) -> dict[str, object]:
    """``validate``, ``run`` and ``report`` on riskmap.toml as written; the input files before and after."""
    project = truth.folder / "riskmap.toml"
    before = _inputs(truth.folder)
    out: dict[str, object] = {"validate": _invoke("validate", project, "--show", "0")}
    out["run"] = _invoke("run", project, "--out", truth.folder / "out-run")
    out["report"] = _invoke("report", project, "--out", truth.folder / "out-report")
    out["unchanged"] = before == _inputs(truth.folder)
    return out


@pytest.fixture(scope="module")
def full_outcome(truth: Truth, full) -> Outcome:
    code, output = full["run"]
    assert code == 0, output
    return outcome_from(truth.folder / "out-run")


def test_validate_run_report_without_editing_a_file(truth: Truth, full):
    (v_code, v_out), (r_code, r_out), (p_code, p_out) = full["validate"], full["run"], full["report"]
    assert r_code == 0, r_out
    assert p_code == 0, p_out
    assert (truth.folder / "out-report" / "report.docx").stat().st_size > 0
    assert full["unchanged"]
    assert_validated(truth, v_code, v_out)


def test_every_row_accounted(truth: Truth, full_outcome: Outcome):
    assert_accounted(truth, full_outcome)
    rejects = full_outcome.rejects
    no_year = rejects[rejects["value"] == "3月5日"]
    assert re.search("year|年份", no_year["reason"].iloc[0]), no_year["reason"].iloc[0]


def test_every_enterprise_in_the_plan_with_its_village(truth: Truth, full_outcome: Outcome):
    """Every enterprise with an id (297 of 300) is in the plan with its village; the two written 无: below."""
    with_id = truth.enterprises[truth.enterprises["id"].notna()]
    assert_plan(truth, full_outcome, with_id)
    assert_villages(full_outcome, with_id)


def test_enterprises_without_id_are_in_the_plan(truth: Truth, full_outcome: Outcome):
    """Ids written 无 are empty; the enterprise, identified by its name, is in the plan with its village."""
    assert_plan(truth, full_outcome, truth.enterprises[truth.enterprises["id"].isna()])


def test_levels_equal_the_hand_calculation(truth: Truth, full_outcome: Outcome):
    assert_levels(full_outcome, all_hand_levels(truth))
