"""The output folder is the user's: a manifest names only riskmap's plain files, a folder is never replaced, and
every name is checked before the first move (issue 23)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

import riskmap
from riskmap.errors import OutputError
from riskmap.outputs.runfolder import LOCK_NAME, open_output_set


def _tree(folder: Path) -> dict[str, bytes | str | None]:
    """Every file (its bytes), link (its target) and folder (None) under ``folder``, links not followed."""

    def what(p: Path) -> bytes | str | None:
        if p.is_symlink():
            return os.readlink(p)
        return None if p.is_dir() else p.read_bytes()

    return {p.relative_to(folder).as_posix(): what(p) for p in sorted(folder.rglob("*"))}


def _stage(outset, names: dict[str, bytes]) -> None:
    for rel, data in names.items():
        (outset.staging / rel).parent.mkdir(parents=True, exist_ok=True)
        (outset.staging / rel).write_bytes(data)


def _entry(path: Path) -> dict:
    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "size": path.stat().st_size}


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A user's file beside the output folder: the manifests below name it with its true hash."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "minutes.docx").write_bytes(b"the user's minutes")
    return folder / "minutes.docx"


def _hostile_names(out: Path, victim: Path) -> dict[str, str]:
    """Manifest entries a tampered or copied manifest may hold; each makes the folder not riskmap's."""
    (out / "geoparquet").mkdir()
    (out / "link").symlink_to(victim.parent, target_is_directory=True)
    (out / "map.html").symlink_to(victim)
    return {
        "parent": "../mine/minutes.docx",
        "deep parent": "geoparquet/../../mine/minutes.docx",
        "absolute": str(victim),
        "drive letter": "C:/mine/minutes.docx",
        "backslash": "..\\mine\\minutes.docx",
        "NUL": "map.html\x00.png",
        "folder": "geoparquet",
        "link to a folder outside": "link/minutes.docx",
        "link to a file outside": "map.html",
        "dot": "./map.png",
        "empty": "",
        "the lock": LOCK_NAME,
    }


_KINDS = [
    "parent", "deep parent", "absolute", "drive letter", "backslash", "NUL", "folder",
    "link to a folder outside", "link to a file outside", "dot", "empty", "the lock",
]  # fmt: skip


@pytest.mark.parametrize("manifest", ["run.json", "plan.json", "changes.json"])
@pytest.mark.parametrize("kind", _KINDS)
@pytest.mark.parametrize("force", [False, True])
def test_a_manifest_naming_anything_but_riskmaps_files_makes_the_folder_not_riskmaps(
    tmp_path: Path, victim: Path, manifest: str, kind: str, force: bool
):
    out = tmp_path / "out"
    out.mkdir()
    rel = _hostile_names(out, victim)[kind]
    doc = {"summary": {}, "manifest": {rel: _entry(victim)}}
    (out / manifest).write_text(json.dumps(doc), encoding="utf-8")
    before, mine = _tree(out), victim.read_bytes()
    with open_output_set(out, manifest, force=force) as outset:
        _stage(outset, {"inspection_plan.csv": b"new plan"})
        with pytest.raises(OutputError, match=rf"^{out}：不是 riskmap 的输出文件夹：{manifest} 列出了 "):
            outset.commit({"summary": {}})
    assert victim.read_bytes() == mine and victim.parent.is_dir()
    assert _tree(out) == before  # nothing moved, nothing removed
    from riskmap.outputs.runfolder import check_output_folder

    with pytest.raises(OutputError, match="不是 riskmap 的输出文件夹"):  # said before a command's work, too
        check_output_folder(out)


def test_a_tampered_run_json_never_removes_a_file_outside_the_folder(
    tiny_project: Path, tmp_path: Path, victim: Path
):
    """The run of issue 23: run.json lists ../mine/minutes.docx with its hash; the next run deleted it."""
    out = tmp_path / "out"
    riskmap.run(riskmap.load_config(tiny_project), out)
    doc = json.loads((out / "run.json").read_text(encoding="utf-8"))
    doc["manifest"]["../mine/minutes.docx"] = _entry(victim)
    (out / "run.json").write_text(json.dumps(doc), encoding="utf-8")
    seen: list[str] = []
    with pytest.raises(
        OutputError, match=r"run\.json 列出了 '\.\./mine/minutes\.docx'（不是文件夹内的普通文件名"
    ):
        riskmap.run(riskmap.load_config(tiny_project), out, stage=seen.append)
    assert victim.read_bytes() == b"the user's minutes"
    assert seen == []  # said before the grading stage


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize(
    "obstacle",
    ["folder named like a file", "file where a folder goes", "link where a folder goes"],
)
def test_every_name_is_checked_before_the_first_move(
    tmp_path: Path, victim: Path, force: bool, obstacle: str
):
    """A user's folder called map.html: with --force, half of the new set was moved in before the run failed."""
    out = tmp_path / "out"
    out.mkdir()
    if obstacle == "folder named like a file":
        (out / "map.html").mkdir()
        (out / "map.html" / "index.html").write_text("the user's own site", encoding="utf-8")
        says = r"map\.html（是文件夹）"
    elif obstacle == "file where a folder goes":
        (out / "geoparquet").write_text("the user's notes", encoding="utf-8")
        says = r"geoparquet（riskmap 要建文件夹的位置上有一个文件）"
    else:  # the new files would land outside the output folder, in the user's
        (out / "geoparquet").symlink_to(victim.parent, target_is_directory=True)
        says = r"geoparquet（riskmap 要建文件夹的位置上有一个链接）"
    before, outside = _tree(out), _tree(victim.parent)
    with open_output_set(out, "run.json", force=force) as outset:
        _stage(
            outset,
            {"a.csv": b"a", "map.html": b"<html>", "geoparquet/facilities.parquet": b"pq", "z.csv": b"z"},
        )
        with pytest.raises(OutputError, match=rf"无法把新文件放到位：{says}；riskmap 从不替换文件夹"):
            outset.commit({"summary": {}})
    assert _tree(out) == before
    assert _tree(victim.parent) == outside


def test_a_manifests_own_files_are_still_replaced_and_removed(tmp_path: Path):
    """The rule takes nothing from riskmap's own: plain names, in a subfolder too, are replaced and removed."""
    out = tmp_path / "out"
    with open_output_set(out, "run.json") as outset:
        _stage(outset, {"map.html": b"1", "geoparquet/facilities.parquet": b"1"})
        outset.commit({"summary": {}})
    with open_output_set(out, "run.json") as outset:
        _stage(outset, {"map.html": b"2"})
        outset.commit({"summary": {}})
    assert (out / "map.html").read_bytes() == b"2"
    assert not (out / "geoparquet").exists()  # its file removed, the folder riskmap made with it
    assert any("已删除此前运行写出、本次运行未写出的结果" in w for w in outset.warnings)


def test_a_lock_that_is_a_folder_is_one_clear_error(tmp_path: Path):
    from riskmap.outputs.runfolder import check_output_folder

    out = tmp_path / "out"
    (out / LOCK_NAME).mkdir(parents=True)
    says = rf"^{out / LOCK_NAME}：是一个文件夹；riskmap 的锁文件使用这个名称"
    with pytest.raises(OutputError, match=says):
        check_output_folder(out)
    with pytest.raises(OutputError, match=says), open_output_set(out, "run.json"):
        pass
    assert (out / LOCK_NAME).is_dir()


def test_an_unusable_output_folder_is_said_before_any_work(tmp_path: Path):
    from riskmap.outputs.runfolder import check_output_folder

    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match=r"out：.*afile 是文件而不是目录；请给 --out 一个目录"):
        check_output_folder(tmp_path / "afile" / "out")
    with pytest.raises(OutputError, match=r"文件名过长；请另选 --out"):
        check_output_folder(tmp_path / ("x" * 300))
    if os.geteuid() != 0:  # root writes anywhere: the read-only case is tested with a read-only mount
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        with pytest.raises(OutputError, match=r"无法在 .*ro 中写入（权限不足或磁盘只读）"):
            check_output_folder(ro / "out")
    assert not (tmp_path / ("x" * 10)).exists()
