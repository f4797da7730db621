"""Where the packaged data/ and styles/ folders are, in a checkout and in an installed wheel."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["data_dir", "styles_dir", "demo_dir", "reference_dir"]


def _find(name: str) -> Path:
    # In a wheel the folders are shipped inside the package (riskmap/_data, riskmap/_styles, see pyproject);
    # in a checkout they stand at the top level beside riskmap/.
    packaged = Path(str(resources.files("riskmap"))) / f"_{name}"
    if packaged.is_dir():
        return packaged
    top = Path(__file__).resolve().parent.parent / name
    if top.is_dir():
        return top
    raise FileNotFoundError(f"riskmap's {name}/ folder is missing from the installation ({packaged}, {top})")


def data_dir() -> Path:
    """The packaged ``data/`` folder."""
    return _find("data")


def styles_dir() -> Path:
    """The packaged ``styles/`` folder."""
    return _find("styles")


def demo_dir() -> Path:
    """The embedded demo district's inputs."""
    return data_dir() / "demo"


def reference_dir() -> Path:
    """Reference tables (GB 18218-2018 ...)."""
    return data_dir() / "reference"
