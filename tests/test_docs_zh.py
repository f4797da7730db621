"""The Chinese user guide (docs/zh/README.md) runs as written.

Every ```bash block of the guide is run, in order, in an empty folder, with the installed ``riskmap`` command on
the PATH (```console blocks are installation steps and are not run). The guide's claims about the results are
then checked on the files the commands wrote.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "zh" / "README.md"


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)


@pytest.fixture(scope="module")
def guide_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    work = tmp_path_factory.mktemp("guide")
    script = "set -euo pipefail\n" + "\n".join(_bash_blocks(GUIDE.read_text(encoding="utf-8")))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=900
    )
    return work, done


def test_guide_has_commands():
    blocks = _bash_blocks(GUIDE.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    assert any("riskmap demo" in b for b in blocks)


def test_every_command_runs(guide_run):
    _, done = guide_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr


def test_demo_outputs_as_listed(guide_run):
    work, _ = guide_run
    for name in ("map.html", "map.png", "riskmap.gpkg", "inspection_plan.xlsx", "rejects.csv", "run.json"):
        assert (work / "示范输出" / name).stat().st_size > 0, name


def test_register_example_levels_and_reject(guide_run):
    """Section 4.1: the title line is skipped, the baseline rules give the levels, the row without coordinates
    is rejected with its reason."""
    work, _ = guide_run
    out = work / "名录示例" / "结果"
    fac = pyogrio.read_dataframe(out / "riskmap.gpkg", layer="facilities")
    levels = dict(zip(fac["facility_id"], fac["level"], strict=True))
    assert levels == {
        "QY0001": "orange",  # 危险化学品 starts orange
        "QY0002": "orange",  # 涉爆粉尘 = 是
        "QY0003": "blue",
        "QY0004": "orange",  # 涉爆粉尘 = 是
        "QY0005": "yellow",  # 仓储物流 starts yellow
    }
    rejects = pd.read_csv(out / "rejects.csv", dtype=str, encoding="utf-8-sig")
    assert list(rejects["value"].fillna("")) != []
    assert len(rejects) == 1 and rejects["row"].iloc[0] == "8"  # the file's own line: title + header + 6


def test_register_spellings_example(guide_run):
    """Section 4.7: the same register with 危化品, 工贸企业 and the office's own 仓储 grades as in 4.1, each under
    the configured sector."""
    work, _ = guide_run
    read = {
        name: pyogrio.read_dataframe(work / "名录示例" / name / "riskmap.gpkg", layer="facilities")
        for name in ("结果", "写法不一结果")
    }
    same, spelt = (read[n].set_index("facility_id")[["sector", "level"]].sort_index() for n in read)
    assert (spelt["sector"] == same["sector"]).all() and (spelt["level"] == same["level"]).all()
    assert set(spelt["sector"]) == {"危险化学品", "工贸", "仓储物流"}


def test_ledger_example_as_written(guide_run):
    """Section 4.6: the status closes a danger without a date, a row without a code finds its enterprise by name,
    the date without a year is rejected."""
    work, _ = guide_run
    out = work / "名录示例" / "隐患结果"
    fac = pyogrio.read_dataframe(out / "riskmap.gpkg", layer="facilities")
    levels = dict(zip(fac["facility_id"], fac["level"], strict=True))
    assert levels["QY0002"] == "red"  # 重大, 整改中
    assert levels["QY0003"] == "blue"  # 重大, 已销号 without a date
    assert levels["QY0005"] == "orange"  # by name: 一般 overdue, yellow -> orange
    rejects = pd.read_csv(out / "rejects.csv", dtype=str, encoding="utf-8-sig")
    ledger = rejects[rejects["source"] == "隐患台账.csv"]
    assert ledger[["row", "value"]].values.tolist() == [["5", "3月5日"]]
    assert "没有年份" in ledger["reason"].iloc[0] and "has no year" in ledger["reason_en"].iloc[0]


def test_config_typo_is_named(guide_run):
    _, done = guide_run
    assert "是否想写 'sector'" in done.stdout + done.stderr


def test_placement_example(guide_run):
    """Section 4.6: the DMS, 高德 and 百度 rows land in their villages; the enterprise without coordinates is placed
    in its 所属村 and says so."""
    work, _ = guide_run
    fac = pyogrio.read_dataframe(work / "落位示例" / "结果" / "riskmap.gpkg", layer="facilities")
    assert dict(zip(fac["facility_id"], fac["village_code"], strict=True)) == {
        "QY0101": "329901001001",  # 学府社区
        "QY0102": "329901001003",  # 桂花社区
        "QY0103": "329901001004",  # 宝塔社区
        "QY0104": "329901001002",  # 新华社区, placed by 所属村
    }
    placed = fac.set_index("facility_id").loc["QY0104"]
    assert placed["zone_assignment"] == "placed by 所属村" and "按所属村落位" in placed["reasons"]
