"""Atomic writes: a failed run never leaves a half-written file where a good one stood."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from riskmap.errors import OutputError, RiskmapError
from riskmap.i18n import tr

__all__ = [
    "TEMP_PREFIX",
    "atomic_path",
    "atomic_write_text",
    "atomic_write_bytes",
    "disk_full",
    "write_error",
]

#: Every temporary file or folder riskmap makes starts with this; only such names are ever cleaned up (a user's
#: ``.minutes.tmp.docx`` is not riskmap's).
TEMP_PREFIX = ".riskmap-tmp-"

#: Errors of a full disk (or a full quota, or a file larger than the file system takes).
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
#: Below this much free space after a failed write the disk is taken to be full: GDAL and SQLite report a full
#: disk in their own words ("database or disk is full", even "cannot rollback - no transaction is active").
_NEARLY_FULL = 1 << 20


def _free(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def disk_full(folder: Path, err: BaseException) -> bool:
    """Whether ``err``, raised while writing into ``folder``, came from a full disk."""
    if isinstance(err, OSError) and err.errno in _FULL:
        return True
    free = _free(folder)
    return free is not None and free < _NEARLY_FULL


def _shown(target: Path) -> tuple[Path, Path]:
    """The file and folder a user knows: the output folder, not riskmap's staging folder inside it."""
    folder = target.parent
    if folder.name.startswith(TEMP_PREFIX):
        folder = folder.parent
    return folder / target.name, folder


def write_error(target: Path, err: BaseException) -> OutputError | None:
    """A one-line error for a write of ``target`` that failed for a reason a user can act on, else None.

    A full disk, a read-only file system and a denied permission say so and name the file and its folder.
    """
    if isinstance(err, OutputError):
        return err
    shown, folder = _shown(target)
    if disk_full(target.parent, err):
        free = _free(target.parent)
        if free is None:
            return OutputError(
                tr(
                    "{file}: cannot write: the disk is full; free some space on the disk of {folder} or choose "
                    "another --out",
                    file=shown,
                    folder=folder,
                )
            )
        return OutputError(
            tr(
                "{file}: cannot write: the disk is full ({left} MB left); free some space on the disk of {folder} "
                "or choose another --out",
                file=shown,
                left=f"{free / 1e6:.1f}",
                folder=folder,
            )
        )
    if isinstance(err, OSError) and err.errno == errno.EROFS:
        return OutputError(
            tr(
                "{file}: cannot write: {folder} is on a read-only disk; choose another --out",
                file=shown,
                folder=folder,
            )
        )
    if isinstance(err, OSError) and err.errno in (errno.EACCES, errno.EPERM):
        return OutputError(
            tr(
                "{file}: cannot write: permission denied; choose another --out or ask for write access to {folder}",
                file=shown,
                folder=folder,
            )
        )
    return None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary file lives in the same directory so that the final ``os.replace`` is atomic on POSIX and
    Windows. On any exception the temporary file is removed and ``path`` is left as it was.

    Raises
    ------
    OutputError
        The write failed because the disk is full (whatever the writer called it), read-only, or not ours to
        write: one line naming the file and the way out.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("ok")
    >>> (d / "a.txt").read_text()
    'ok'
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            prefix=f"{TEMP_PREFIX}{target.name}.", suffix=target.suffix, dir=target.parent
        )
        os.close(fd)
    except OSError as err:
        known = write_error(target, err)
        if known is None:
            raise
        raise known from err
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
    except Exception as err:
        # Judged before the partial file goes: removing it frees the space a full disk lacked.
        known = None if isinstance(err, RiskmapError) else write_error(target, err)
        if known is None:
            raise
        raise known from err
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
