"""Atomic writes: a failed run never leaves a half-written file where a good one stood."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["TEMP_PREFIX", "atomic_path", "atomic_write_text", "atomic_write_bytes"]

#: Every temporary file or folder riskmap makes starts with this; only such names are ever cleaned up (a user's
#: ``.minutes.tmp.docx`` is not riskmap's).
TEMP_PREFIX = ".riskmap-tmp-"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary file lives in the same directory so that the final ``os.replace`` is atomic on POSIX and
    Windows. On any exception the temporary file is removed and ``path`` is left as it was.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("ok")
    >>> (d / "a.txt").read_text()
    'ok'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        prefix=f"{TEMP_PREFIX}{target.name}.", suffix=target.suffix, dir=target.parent
    )
    os.close(fd)
    tmp = Path(name)
    # Writers such as GDAL refuse to create over an existing (empty) file; give them a free name.
    tmp.unlink()
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to {tmp} for {target}")
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)
