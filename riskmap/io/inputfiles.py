"""Input files as read: each is hashed when riskmap reads it, so that run.json names the bytes a run used.

A register re-saved while a run grades (an office colleague, a sync client) must not be recorded as the input
of that run. Each file is hashed just before it is read and its identity (inode, size, modification time) is
compared after: a file that changed in between stops the run (the bytes read may not be the bytes hashed). A
file read in a later stage (the population raster) is compared again when the stages end.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from riskmap.errors import InputError
from riskmap.i18n import tr

__all__ = ["InputFile", "sha256", "hash_inputs", "check_unchanged", "read_hashed"]

T = TypeVar("T")


def sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _state(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns


@dataclass(frozen=True)
class InputFile:
    """One input file: its path, and its SHA-256 and identity when it was read."""

    path: Path
    sha256: str
    #: Inode, size and modification time (ns) when hashed: a file whose identity differs is not the one hashed.
    state: tuple[int, int, int]

    @classmethod
    def hash(cls, path: Path) -> InputFile:
        """Hash ``path`` now (its identity taken first, so that a change while hashing is seen afterwards)."""
        state = _state(path)
        return cls(path, sha256(path), state)

    def changed(self) -> bool:
        """Whether the file was replaced, removed or written since it was hashed."""
        try:
            return _state(self.path) != self.state
        except OSError:
            return True


def hash_inputs(paths: Mapping[str, Path]) -> dict[str, InputFile]:
    """Hash each file that exists (a missing one is left to its reader, which names it); keys kept."""
    files = {}
    for key, path in paths.items():
        try:
            files[key] = InputFile.hash(path)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
    return files


def check_unchanged(files: Mapping[str, InputFile], keys: list[str] | None = None) -> None:
    """Stop if a file changed after it was hashed: the bytes read may not be the bytes run.json would name.

    Raises
    ------
    InputError
        Naming the file that changed.
    """
    for key in keys if keys is not None else list(files):
        f = files.get(key)
        if f is not None and f.changed():
            raise InputError(
                tr(
                    "{file}: the file changed while riskmap was reading it (saved, replaced or removed during the "
                    "run); run again once it is saved and closed",
                    file=f.path,
                )
            )


def read_hashed(path: Path, read: Callable[[], T], files: dict[str, InputFile], key: str) -> T:
    """Hash ``path``, read it with ``read``, check it did not change meanwhile; records it in ``files[key]``."""
    files |= hash_inputs({key: path})
    value = read()
    check_unchanged(files, [key])
    return value
