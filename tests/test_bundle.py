"""Offline bundles (scripts/make_bundle.py): an office without internet installs riskmap from one zip.

Linux x86-64: the bundle is unpacked, install.sh makes a fresh venv with Debian's python3 inside a network
namespace with no network (``unshare -n``) and riskmap runs the demo (map, GeoPackage) and the Word report there.
Linux ARM64 and Windows: pip's resolver, offline, against the wheels of that bundle, as pip on that platform would
see riskmap's requirements (the target's environment markers: colorama on Windows, no exactextract on ARM64),
resolves every requirement. Each bundle holds the wheels for Python 3.11 and 3.12; its size is printed.

Making the bundles downloads from the package index (~1.3 GB for the three, about 1.5 min here, cold); the zips
live in a temporary folder for the module and are removed after it. ``-m "not bundle"`` leaves these tests out.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make_bundle.py"
# Debian's python3 with python3-venv, as on an office's Debian/Kylin/UOS machine (scripts/test.sh installs it).
SYSTEM_PYTHON = "/usr/bin/python3"

pytestmark = pytest.mark.bundle

_spec = importlib.util.spec_from_file_location("make_bundle", SCRIPT)
assert _spec is not None and _spec.loader is not None
make_bundle = importlib.util.module_from_spec(_spec)
sys.modules["make_bundle"] = make_bundle
_spec.loader.exec_module(make_bundle)


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without this machine's pip settings (its find-links would hide a missing wheel)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env.update(extra)
    return env


def _offline(
    command: list[str], env: dict[str, str], cwd: Path, timeout: int = 600
) -> subprocess.CompletedProcess:
    """``command`` in a network namespace of its own: no interface but a loopback that is down."""
    return subprocess.run(
        ["unshare", "-n", *command], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def _need_unshare() -> None:
    done = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if done.returncode != 0:
        pytest.skip(
            "unshare -n needs root (or user namespaces): " + done.stderr.decode(errors="replace").strip()
        )


def _need_pip_that_installs_for_another_python() -> None:
    from pip import __version__ as pip_version

    # pip before 24.2 checked Requires-Python against the running Python in `install --python-version`
    # (pypa/pip#12216): mapclassify 2.10 (>=3.12) fails a 3.12 check run from 3.11. scripts/test.sh upgrades pip.
    if tuple(int(p) for p in pip_version.split(".")[:2]) < (24, 2):
        pytest.skip(
            f"pip {pip_version} checks Requires-Python against this Python: pip install --upgrade pip"
        )


@pytest.fixture(scope="module")
def bundles() -> Iterator[dict[str, Path]]:
    """platform -> its zip, made once for the module: linux-x86_64 from this checkout, the others from its wheel."""
    with tempfile.TemporaryDirectory(prefix="riskmap-bundles-") as tmp:
        out, made = Path(tmp), {}
        for name in make_bundle.PLATFORMS:
            args = [sys.executable, str(SCRIPT), "--platform", name, "--out", str(out)]
            if made:  # riskmap's wheel, built once with the first bundle
                args += ["--wheel", str(_riskmap_wheel(made["linux-x86_64"], out / "wheel"))]
            done = subprocess.run(args, capture_output=True, text=True, timeout=1200)
            assert done.returncode == 0, done.stderr
            made[name] = Path(done.stdout.split(" (")[0])
            print(f"bundle {made[name].name}: {made[name].stat().st_size / 1e6:.0f} MB")
        yield made


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A folder removed after the test: unpacked bundles and venvs are GBs, which pytest's tmp_path keeps."""
    with tempfile.TemporaryDirectory(prefix="riskmap-bundle-test-") as tmp:
        yield Path(tmp)


def _riskmap_wheel(bundle: Path, dest: Path) -> Path:
    with zipfile.ZipFile(bundle) as zf:
        (name,) = [n for n in zf.namelist() if "/wheels/riskmap-" in n]
        dest.mkdir(exist_ok=True)
        (dest / Path(name).name).write_bytes(zf.read(name))
    return dest / Path(name).name


def _unpack(bundle: Path, dest: Path) -> Path:
    """Unzip as a clerk would, and return the bundle's folder (install.sh is run with sh: no mode needed)."""
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(dest)
    return dest / bundle.stem


def test_linux_x86_64_bundle_installs_offline_and_runs_the_demo_and_report(bundles, scratch):
    _need_unshare()
    folder = _unpack(bundles["linux-x86_64"], scratch)
    env = _clean_env(PATH="/usr/bin:/bin", HOME=str(scratch), LANG="C.UTF-8", PYTHON=SYSTEM_PYTHON)
    probe = "import socket; socket.create_connection(('pypi.org', 443), timeout=5)"
    assert _offline([SYSTEM_PYTHON, "-c", probe], env, scratch).returncode != 0, "the namespace has a network"

    venv = scratch / "office venv"  # a space in the path, as C:\Program Files or a clerk's folder name
    done = _offline(["sh", str(folder / "install.sh"), str(venv)], env, scratch)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '/bin/riskmap" demo' in done.stdout and "已安装" in done.stdout
    riskmap = str(venv / "bin" / "riskmap")
    for command in (
        [riskmap, "demo", "--out", "demo"],
        [riskmap, "init", "demo-project"],
        [riskmap, "report", "demo-project/riskmap.toml", "--out", "demo-report"],
    ):
        done = _offline(command, env, scratch)
        assert done.returncode == 0, done.stdout + done.stderr
    _check_outputs(scratch / "demo", scratch / "demo-report")

    # Linux ARM64 has no exactextract: the same demo without it gives the same zones (the shapely path).
    done = _offline(
        [str(venv / "bin" / "python"), "-m", "pip", "uninstall", "-y", "-q", "exactextract"], env, scratch
    )
    assert done.returncode == 0, done.stderr
    done = _offline([riskmap, "demo", "--out", "demo-shapely"], env, scratch)
    assert done.returncode == 0, done.stdout + done.stderr
    _same_zones(scratch / "demo", scratch / "demo-shapely")


def _check_outputs(demo: Path, report: Path) -> None:
    import docx
    import pyogrio

    html = (demo / "map.html").read_text(encoding="utf-8")
    assert len(html) > 100_000 and "滨江区" in html and "leaflet" in html.lower()
    layers = {name for name, _ in pyogrio.list_layers(demo / "riskmap.gpkg")}
    assert {"facilities", "zones_town"} <= layers, layers
    assert pyogrio.read_info(demo / "riskmap.gpkg", layer="facilities")["features"] > 1000
    text = "\n".join(p.text for p in docx.Document(str(report / "report.docx")).paragraphs)
    assert "滨江区" in text and len(text) > 2000


def _same_zones(a: Path, b: Path) -> None:
    import pandas as pd

    left = pd.read_csv(a / "zones_village.csv")
    right = pd.read_csv(b / "zones_village.csv")
    pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-6)


@pytest.mark.parametrize("python", make_bundle.PYTHONS)
@pytest.mark.parametrize("platform", ["linux-aarch64", "win-amd64", "linux-x86_64"])
def test_bundle_resolves_every_requirement_offline_for_its_platform(bundles, scratch, platform, python):
    _need_unshare()
    _need_pip_that_installs_for_another_python()
    target = make_bundle.PLATFORMS[platform]
    with zipfile.ZipFile(bundles[platform]) as zf:
        wheels = [n for n in zf.namelist() if n.endswith(".whl")]
        zf.extractall(scratch, wheels)
    found = scratch / bundles[platform].stem / "wheels"
    version = make_bundle.version_of(next(found.glob("riskmap-*.whl")))
    command = [*make_bundle.pip_for(target, python), "install", "--dry-run", "--no-index", "--find-links"]
    command += [str(found), *make_bundle.target_options(target, python), "--target", str(scratch / "t")]
    command += ["--disable-pip-version-check", "--quiet", "--report", "-", f"riskmap=={version}"]
    done = _offline(command, _clean_env(), scratch)
    assert done.returncode == 0, done.stdout + done.stderr
    installed = {
        item["metadata"]["name"].lower().replace("_", "-") for item in json.loads(done.stdout)["install"]
    }
    assert {
        "riskmap",
        "geopandas",
        "pyogrio",
        "folium",
        "folium-offline",
        "python-docx",
        "rasterio",
    } <= installed
    assert ("colorama" in installed) == (platform == "win-amd64")  # click's, on Windows only
    assert ("exactextract" in installed) == (
        platform != "linux-aarch64"
    )  # no ARM64 wheel: shapely sums there
    size = bundles[platform].stat().st_size / 1e6
    print(f"{platform} Python {python}: {len(installed)} distributions resolve offline; bundle {size:.0f} MB")


def test_bundle_contents_and_scripts(bundles):
    for platform, bundle in bundles.items():
        with zipfile.ZipFile(bundle) as zf:
            names = zf.namelist()
            top = bundle.stem
            assert names == sorted(names) and all(n.startswith(top + "/") for n in names)
            assert all(info.date_time == make_bundle.ZIP_TIME for info in zf.infolist())
            (wheel,) = [n for n in names if "/wheels/riskmap-" in n]
            with zf.open(wheel) as f, zipfile.ZipFile(f) as inner:
                packaged = set(inner.namelist())
            notes = zf.read(f"{top}/安装说明.txt")
            if platform == "win-amd64":
                _check_windows(zf.read(f"{top}/install.bat"), notes)
            else:
                info = zf.getinfo(f"{top}/install.sh")
                assert (info.external_attr >> 16) & 0o111, "install.sh is not executable"
                assert b"--no-index" in zf.read(info) and notes.decode("utf-8").startswith("riskmap")
            for python in ("cp311", "cp312"):
                assert any(f"-{python}-" in n and "/numpy-" in n for n in names), (platform, python)
        # The report's template and the demo data travel inside riskmap's wheel.
        assert {"riskmap/_styles/report-template.docx", "riskmap/_data/demo/riskmap.toml"} <= packaged
        assert "riskmap/locale/zh_CN/LC_MESSAGES/riskmap.mo" in packaged


def _check_windows(bat: bytes, notes: bytes) -> None:
    text = bat.decode("gbk")  # cmd.exe reads the console's code page: 936 on a Chinese Windows
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    assert "--no-index" in text and "py -3.12" in text and "未找到" in text
    # A GBK character whose second byte is ^ or | would be an escape or a pipe to a non-Chinese cmd.exe.
    risky = [c for c in set(text) if ord(c) > 127 and c.encode("gbk")[1:2] in (b"^", b"|")]
    assert not risky, risky
    assert notes.startswith(b"\xef\xbb\xbf") and "勾选" in notes.decode("utf-8-sig")


def test_same_inputs_give_the_same_bundle(bundles, scratch):
    # The same wheels (the bundle's own, as the only index, offline) give the same bytes.
    with zipfile.ZipFile(bundles["win-amd64"]) as zf:
        zf.extractall(scratch / "in", [n for n in zf.namelist() if n.endswith(".whl")])
    wheels = scratch / "in" / bundles["win-amd64"].stem / "wheels"
    wheel = next(wheels.glob("riskmap-*.whl"))
    args = [
        sys.executable,
        str(SCRIPT),
        "--platform",
        "win-amd64",
        "--wheel",
        str(wheel),
        "--out",
        str(scratch),
    ]
    env = _clean_env(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels))
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    again = scratch / bundles["win-amd64"].name
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (bundles["win-amd64"], again)]
    assert digest[0] == digest[1]


def _one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    return done.stderr


def test_unknown_platform_is_one_line(tmp_path):
    args = [sys.executable, str(SCRIPT), "--platform", "mac-arm64", "--out", str(tmp_path)]
    done = subprocess.run(args, capture_output=True, text=True)
    line = _one_line_error(done)
    assert "unknown platform 'mac-arm64'" in line and "linux-aarch64" in line
    assert not list(tmp_path.iterdir())


def _tiny_wheel(dest: Path) -> Path:
    """A wheel named riskmap that needs geopandas: enough for pip to look for a dependency."""
    dest.mkdir()
    name = "riskmap-0.0.1.dist-info"
    wheel = dest / "riskmap-0.0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("riskmap/__init__.py", "")
        zf.writestr(
            f"{name}/METADATA",
            "Metadata-Version: 2.1\nName: riskmap\nVersion: 0.0.1\nRequires-Dist: geopandas>=1.0\n",
        )
        zf.writestr(
            f"{name}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        zf.writestr(f"{name}/RECORD", "")
    return wheel


def test_a_dependency_without_a_wheel_is_named(tmp_path):
    wheel = _tiny_wheel(tmp_path / "in")
    # An index that holds riskmap's wheel only: no wheel of geopandas for the platform.
    env = _clean_env(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheel.parent))
    args = [sys.executable, str(SCRIPT), "--platform", "win-amd64", "--python", "3.12", "--wheel", str(wheel)]
    done = subprocess.run([*args, "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env)
    line = _one_line_error(done)
    assert "no wheel of geopandas>=1.0 (needed by riskmap" in line and "win-amd64, Python 3.12" in line
    assert not (tmp_path / "out").exists()


def test_no_network_is_one_line(tmp_path):
    _need_unshare()
    wheel = _tiny_wheel(tmp_path / "in")
    args = [sys.executable, str(SCRIPT), "--platform", "linux-x86_64", "--wheel", str(wheel)]
    done = _offline([*args, "--out", str(tmp_path / "out")], _clean_env(PIP_RETRIES="0"), tmp_path)
    line = _one_line_error(done)
    assert "cannot reach the package index (no network?)" in line
    assert not (tmp_path / "out").exists()


def test_the_bundles_extras_are_the_projects(tmp_path):
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert set(make_bundle.EXTRAS) <= set(declared["optional-dependencies"])
    args = [
        sys.executable,
        str(SCRIPT),
        "--platform",
        "linux-x86_64",
        "--extras",
        "gui",
        "--out",
        str(tmp_path),
    ]
    line = _one_line_error(subprocess.run(args, capture_output=True, text=True))
    assert "unknown extra 'gui'" in line


def _other_python() -> str:
    """A real Python that is neither 3.11 nor 3.12 (pyenv's 3.13 or 3.10 on this machine), for install.sh's check."""
    import glob

    for candidate in sorted(glob.glob("/root/.pyenv/versions/3.1[03]*/bin/python3")) + [
        "/usr/bin/python3.13"
    ]:
        if Path(candidate).exists():
            return candidate
    pytest.skip("no Python other than 3.11/3.12 on this machine to offer install.sh")


def _install_sh(tmp_path: Path) -> Path:
    script = tmp_path / "install.sh"
    script.write_bytes(make_bundle.install_script(make_bundle.PLATFORMS["linux-x86_64"], "0.1.0", ()))
    return script


def test_install_sh_says_which_python_to_install(tmp_path):
    other = _other_python()
    env = _clean_env(PATH="/usr/bin:/bin", PYTHON=other)
    done = subprocess.run(
        ["sh", str(_install_sh(tmp_path)), str(tmp_path / "venv")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "未找到 Python 3.11 或 3.12" in done.stderr and "Python 3.11 or 3.12 not found" in done.stderr
    assert "python3-venv" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "venv").exists()


def test_install_sh_leaves_a_folder_that_is_not_a_venv_alone(tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "2025年报告.docx").write_bytes(b"mine")
    env = _clean_env(PATH="/usr/bin:/bin", PYTHON=SYSTEM_PYTHON)
    done = subprocess.run(
        ["sh", str(_install_sh(tmp_path)), str(tmp_path / "reports")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1 and "已存在且不是空目录" in done.stderr and "is not empty" in done.stderr
    assert [p.name for p in (tmp_path / "reports").iterdir()] == ["2025年报告.docx"]
