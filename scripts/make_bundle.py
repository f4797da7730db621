"""Offline bundles: riskmap and every dependency as wheels for one platform, with an install script.

    python scripts/make_bundle.py --platform linux-x86_64|linux-aarch64|win-amd64 [--python 3.11 --python 3.12]
                                  [--extras postgis,dask] [--wheel dist/riskmap-X-py3-none-any.whl] [--out dist]

writes ``<out>/riskmap-<version>-<platform>.zip`` holding one folder ``riskmap-<version>-<platform>/`` with
``wheels/`` (riskmap's wheel, which carries the demo data and the Word template, and every dependency as a wheel
for that platform), ``install.sh`` (Linux) or ``install.bat`` (Windows), and ``安装说明.txt`` (Chinese and English).
A district office's machine has no internet: the install script makes a venv with the machine's Python and runs
``pip install --no-index --find-links wheels riskmap``.

One zip per platform holds the wheels for Python 3.11 and 3.12 (the default): a clerk hands over one file and the
office installs with whichever of the two its machine has; ``--python 3.11`` makes a zip about half the size.

This machine's pip does the downloading (the index and mirrors of its pip.conf apply), with
``--only-binary=:all: --platform ... --python-version ... --implementation cp``. pip evaluates environment markers
(``colorama; platform_system == "Windows"``, click's) against the interpreter running it, not the target, so
pip runs here with the target's marker environment (:data:`BOOTSTRAP`); else a Windows bundle built on Linux
would lack colorama and fail to install.

The zip is deterministic: entries sorted, fixed timestamps and permissions, so the same wheels give the same
bytes. Errors (an unknown platform, no wheel of a dependency for the platform, no network) are one line on
stderr and exit 1.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHONS = ("3.11", "3.12")
#: The oldest glibc the Linux bundles serve (Kylin V10 and UOS 20 ship 2.28); pyarrow, pyproj, rasterio and
#: pyogrio publish manylinux_2_28 wheels only.
GLIBC = (2, 28)
#: Extras a bundle may add to riskmap's own dependencies (the map, GeoPackage and Word report are in those).
EXTRAS = ("postgis", "dask", "parquet")
#: Fixed time of every zip entry (as hatchling's reproducible wheels do).
ZIP_TIME = (2020, 2, 2, 0, 0, 0)


@dataclass(frozen=True)
class Platform:
    """A target: pip's platform tags, the marker environment its Python reports, its install script."""

    name: str
    tags: tuple[str, ...]
    markers: dict[str, str]
    script: str
    machine: str


def _manylinux(arch: str) -> tuple[str, ...]:
    # pip does not widen manylinux_2_28 to the older tags a glibc 2.28 system also runs: list them all.
    return tuple(f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC[1], 16, -1)) + (
        f"manylinux2014_{arch}",
    )


_LINUX = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"}
PLATFORMS = {
    "linux-x86_64": Platform(
        "linux-x86_64", _manylinux("x86_64"), {**_LINUX, "platform_machine": "x86_64"}, "install.sh", "x86_64"
    ),
    "linux-aarch64": Platform(
        "linux-aarch64",
        _manylinux("aarch64"),
        {**_LINUX, "platform_machine": "aarch64"},
        "install.sh",
        "aarch64",
    ),
    "win-amd64": Platform(
        "win-amd64",
        ("win_amd64",),
        {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt", "platform_machine": "AMD64"},
        "install.bat",
        "AMD64",
    ),
}

#: Runs pip with the target's marker environment: argv[1] is a JSON object of marker values, the rest pip's
#: arguments. pip's vendored packaging looks default_environment() up at each evaluation.
BOOTSTRAP = """
import json, sys
import pip._vendor.packaging.markers as markers
target = json.loads(sys.argv[1])
here = markers.default_environment
markers.default_environment = lambda: {**here(), **target}
from pip._internal.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


class BundleError(Exception):
    """A bundle cannot be made; the message is the one line the user reads."""


def marker_environment(platform: Platform, python: str) -> dict[str, str]:
    """Marker values of CPython ``python`` on ``platform`` (what pip would see running there)."""
    return {
        **platform.markers,
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "implementation_version": f"{python}.0",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_version": "",
    }


def pip_for(platform: Platform, python: str) -> list[str]:
    """The command that runs this interpreter's pip as if on ``platform`` with CPython ``python``."""
    env = json.dumps(marker_environment(platform, python))
    return [sys.executable, "-c", BOOTSTRAP, env]


def target_options(platform: Platform, python: str) -> list[str]:
    """pip's options selecting binary wheels for the target."""
    tags = [arg for tag in platform.tags for arg in ("--platform", tag)]
    return ["--only-binary=:all:", *tags, "--python-version", python, "--implementation", "cp"]


_NETWORK = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution|"
    r"Name or service not known|Network is unreachable|No route to host|ConnectTimeout|ProxyError|"
    r"Connection refused|nodename nor servname"
)
_NO_VERSION = re.compile(
    r"Could not find a version that satisfies the requirement (\S+)(?: \(from ([^)]+)\))?"
)


def explain(output: str, target: str) -> str:
    """The one line that says why pip failed, from its output (``-vv``: a failed connection shows only there)."""
    if _NETWORK.search(output):
        return (
            "cannot reach the package index (no network?): a bundle is made on a machine with internet "
            "access (or a PyPI mirror in pip.conf), then carried to the office"
        )
    missing = _NO_VERSION.search(output)
    if missing:
        name, parent = missing.group(1), missing.group(2)
        needed = f" (needed by {parent})" if parent else ""
        return (
            f"no wheel of {name}{needed} for {target} on the package index: a bundle holds wheels only; that "
            "package must be built for that platform first, or riskmap made independent of it there"
        )
    lines = [line for line in output.splitlines() if line.startswith("ERROR:")]
    return f"pip failed ({target}): " + (lines[-1] if lines else "see pip's output")


def run_pip(command: list[str], target: str) -> None:
    """Run pip; on failure raise :class:`BundleError` with the line :func:`explain` gives."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BundleError(explain(done.stdout + done.stderr, target))


def build_wheel(dest: Path) -> Path:
    """riskmap's own wheel (pure Python, with data/ and styles/ inside), built from this checkout."""
    command = [sys.executable, "-m", "pip", "wheel", "-vv", "--no-deps", "-w", str(dest), str(ROOT)]
    run_pip(command, "building riskmap's wheel")
    return _one_wheel(dest)


def _one_wheel(folder: Path) -> Path:
    wheels = sorted(folder.glob("riskmap-*.whl"))
    if len(wheels) != 1:
        raise BundleError(f"expected one riskmap wheel in {folder}, found {len(wheels)}")
    return wheels[0]


def requirement(wheel: Path, extras: tuple[str, ...]) -> str:
    """``riskmap[extras] @ file:///...whl``: pip resolves the wheel's own dependencies."""
    chosen = f"[{','.join(extras)}]" if extras else ""
    return f"riskmap{chosen} @ {wheel.resolve().as_uri()}"


def download(
    wheel: Path, platform: Platform, pythons: tuple[str, ...], extras: tuple[str, ...], dest: Path
) -> None:
    """riskmap's wheel and every dependency as wheels for ``platform``, each Python of ``pythons``."""
    for python in pythons:
        command = [*pip_for(platform, python), "download", "-vv", "--disable-pip-version-check"]
        command += [*target_options(platform, python), "-d", str(dest), requirement(wheel, extras)]
        run_pip(command, f"{platform.name}, Python {python}")


def version_of(wheel: Path) -> str:
    """The version in a wheel's file name."""
    return wheel.name.split("-")[1]


def _template(name: str) -> str:
    return (ROOT / "scripts" / "bundle" / name).read_text(encoding="utf-8")


def install_script(platform: Platform, version: str, extras: tuple[str, ...]) -> bytes:
    """install.sh (UTF-8, LF) or install.bat (GBK, CRLF: cmd.exe reads a batch file in the console's code page,
    936 on a Chinese Windows), filled in for this bundle."""
    chosen = f"[{','.join(extras)}]" if extras else ""
    text = (
        _template(platform.script)
        .replace("@VERSION@", version)
        .replace("@REQUIREMENT@", f"riskmap{chosen}=={version}")
        .replace("@PLATFORM@", platform.name)
        .replace("@MACHINE@", platform.machine)
        .replace("@GLIBC@", ".".join(map(str, GLIBC)))
    )
    if platform.script.endswith(".bat"):
        return text.replace("\n", "\r\n").encode("gbk")
    return text.encode("utf-8")


def instructions(platform: Platform, version: str, size_mb: float) -> bytes:
    """安装说明.txt: UTF-8 with a BOM and CRLF for Windows (Notepad before Windows 10 1903 takes BOM-less UTF-8
    for ANSI/GBK; every Notepad since reads both), plain UTF-8 for Linux (its editors and ``cat`` expect that)."""
    name = "install_windows.txt" if platform.script.endswith(".bat") else "install_linux.txt"
    text = _template(name).replace("@VERSION@", version).replace("@PLATFORM@", platform.name)
    text = text.replace("@SIZE@", f"{size_mb:.0f}")
    if platform.script.endswith(".bat"):
        return b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")
    return text.encode("utf-8")


def write_zip(path: Path, entries: dict[str, bytes | Path], executable: set[str]) -> None:
    """A zip whose bytes depend only on the entries: sorted names, fixed times and permissions.

    Wheels are stored (they are zips already: deflating them again costs minutes for a few per cent).
    """
    tmp = path.with_suffix(".part")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3  # Unix, so that the permissions below are honoured by unzip
            info.external_attr = (0o100755 if name in executable else 0o100644) << 16
            whl = name.endswith(".whl")
            info.compress_type = zipfile.ZIP_STORED if whl else zipfile.ZIP_DEFLATED
            content = entries[name]
            if isinstance(content, Path):
                with content.open("rb") as src, zf.open(info, "w") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
            else:
                zf.writestr(info, content, compresslevel=9)
    tmp.replace(path)


def make_bundle(
    platform_name: str,
    out: Path,
    pythons: tuple[str, ...] = PYTHONS,
    extras: tuple[str, ...] = (),
    wheel: Path | None = None,
) -> Path:
    """Write ``out/riskmap-<version>-<platform>.zip`` and return its path."""
    platform = check_choices(platform_name, pythons, extras)
    with tempfile.TemporaryDirectory(prefix="riskmap-bundle-") as tmp:
        wheels = Path(tmp) / "wheels"
        built = wheel if wheel is not None else build_wheel(Path(tmp) / "build")
        if not built.is_file():
            raise BundleError(f"{built}: no such wheel")
        download(built, platform, pythons, extras, wheels)
        version = version_of(built)
        top = f"riskmap-{version}-{platform.name}"
        entries: dict[str, bytes | Path] = {f"{top}/wheels/{w.name}": w for w in sorted(wheels.glob("*.whl"))}
        size_mb = sum(p.stat().st_size for p in wheels.glob("*.whl")) / 1e6
        entries[f"{top}/{platform.script}"] = install_script(platform, version, extras)
        entries[f"{top}/安装说明.txt"] = instructions(platform, version, size_mb)
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{top}.zip"
        write_zip(path, entries, executable={f"{top}/install.sh"})
    return path


def check_choices(platform_name: str, pythons: tuple[str, ...], extras: tuple[str, ...]) -> Platform:
    """The platform asked for; a clear error for an unknown platform, Python or extra."""
    if platform_name not in PLATFORMS:
        raise BundleError(f"unknown platform {platform_name!r}: choose one of {', '.join(PLATFORMS)}")
    for python in pythons:
        if python not in PYTHONS:
            raise BundleError(f"unsupported Python {python!r}: choose {' or '.join(PYTHONS)}")
    for extra in extras:
        if extra not in EXTRAS:
            raise BundleError(f"unknown extra {extra!r}: choose among {', '.join(EXTRAS)}")
    return PLATFORMS[platform_name]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", required=True, help=" | ".join(PLATFORMS))
    parser.add_argument(
        "--python", action="append", help="3.11 and/or 3.12 (repeat the option); default both"
    )
    parser.add_argument("--extras", default="", help=f"comma-separated, among {', '.join(EXTRAS)}")
    parser.add_argument("--wheel", type=Path, help="riskmap's wheel (default: build it from this checkout)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="folder of the zip (default dist/)")
    args = parser.parse_args(argv)
    extras = tuple(e.strip() for e in args.extras.split(",") if e.strip())
    pythons = tuple(dict.fromkeys(args.python)) if args.python else PYTHONS
    try:
        path = make_bundle(args.platform, args.out, pythons, extras, args.wheel)
    except BundleError as err:
        print(f"make_bundle: {err}", file=sys.stderr)
        return 1
    print(f"{path} ({path.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
