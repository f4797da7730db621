"""The output folder is the user's: a run writes a whole set into a staging folder, then moves it into place.

How a command writes its outputs (``riskmap run``, ``plan``, ``diff --out``):

1. :func:`open_output_set` takes the folder's lock (``.riskmap-lock``, holding the pid; a dead process's lock is
   taken over), removes staging folders of dead runs (``.riskmap-tmp-*``, names only riskmap uses) and makes this
   run's staging folder. The writers write every file there.
2. :meth:`OutputSet.commit` hashes the staged files, checks that every name it will replace is riskmap's (some
   manifest in the folder lists it with its current SHA-256) or free, moves the files into place (a rename on
   the same file system), removes the files of the command's previous set that this run no longer writes (only
   if unchanged since) and writes the manifest file (``run.json``, ``plan.json``, ``changes.json``, ``report.json``) last.

Only plain relative names inside the output folder are ever replaced or removed: a manifest that lists anything
else (``../x``, an absolute path, a drive, a backslash, NUL, a folder, a link leading out) makes the folder "not
riskmap's" and the command stops (:func:`read_manifests`); a folder is never replaced, and every name is checked
before the first move, with or without ``--force``. :func:`check_output_folder` runs the checks that need no
outputs before a command starts its work, so that an unusable folder is known at once.

A crash before the moves leaves the previous set untouched. A crash during the moves (milliseconds) leaves the
previous manifest marked with the hashes being moved in (``"replacing"``), so the next run still knows every file
beside it as riskmap's.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskmap.errors import OutputError
from riskmap.i18n import os_reason, tr
from riskmap.io.atomic import TEMP_PREFIX, atomic_write_text, write_error
from riskmap.io.inputfiles import InputFile, sha256

__all__ = [
    "MANIFEST_FILES",
    "STAGING_PREFIX",
    "LOCK_NAME",
    "OutputSet",
    "open_output_set",
    "check_output_folder",
    "sha256",
    "input_provenance",
    "read_manifests",
]

#: One manifest file per command; a file is riskmap's if any of them lists it with its current hash.
MANIFEST_FILES = ("run.json", "plan.json", "changes.json", "report.json", "sensitivity.json")
#: Staging folders: ``.riskmap-tmp-<run id>/`` (and atomic writes' temporary files: ``.riskmap-tmp-<name>...``);
#: nothing else in the output folder is ever cleaned.
STAGING_PREFIX = TEMP_PREFIX
LOCK_NAME = ".riskmap-lock"
#: Test hook: a point name (``staged``, ``moved-1``, ...) at which the writer waits while the file named by
#: ``RISKMAP_TEST_HOLD_FILE`` exists (it first writes ``<that file>.reached``). Lets tests kill or race a run
#: at a known moment.
_HOLD_AT = "RISKMAP_TEST_HOLD_AT"
_HOLD_FILE = "RISKMAP_TEST_HOLD_FILE"


def input_provenance(base_dir: Path, files: Mapping[str, InputFile | Path]) -> dict[str, dict[str, str]]:
    """Input files by key, sorted, with their SHA-256 and their paths relative to the project folder.

    The hash is the one taken when the file was read (:class:`riskmap.io.inputfiles.InputFile`), so that a file
    saved again during the run is not recorded as its input; a plain path is hashed now. A file outside the
    project folder is shown by its name only: published files should not reveal a server's directory layout.
    """
    base = base_dir.resolve()
    out = {}
    for key, f in sorted(files.items()):
        p = f.path if isinstance(f, InputFile) else Path(f)
        try:
            shown = str(p.resolve().relative_to(base))
        except ValueError:
            shown = p.name
        out[key] = {"path": shown, "sha256": f.sha256 if isinstance(f, InputFile) else sha256(p)}
    return out


def _hold(point: str) -> None:
    if os.environ.get(_HOLD_AT) != point or not os.environ.get(_HOLD_FILE):
        return
    hold = Path(os.environ[_HOLD_FILE])
    Path(f"{hold}.reached").write_text(str(os.getpid()))
    deadline = time.monotonic() + 120
    while hold.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


#: The test hook, for writers outside the output folder (the PostGIS publication).
hold_point = _hold


def _read_doc(path: Path) -> dict[str, Any] | None:
    """A manifest file's content, or None if it is missing or not riskmap's JSON."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _is_manifest(doc: dict[str, Any] | None) -> bool:
    return doc is not None and any(isinstance(doc.get(k), dict) for k in ("manifest", "replacing"))


def _plain(rel: str) -> bool:
    """A name riskmap could have written: a relative path of plain names (``map.html``, ``geoparquet/x.parquet``).

    Never ``..``, ``.``, an absolute path, a drive (``C:``), a backslash, a control character (NUL), or one of
    riskmap's own bookkeeping names (a manifest, the lock, a staging folder).
    """
    if not rel or rel.startswith("/") or any(c in rel for c in "\\:") or any(ord(c) < 32 for c in rel):
        return False
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return False
    return parts[0] not in (*MANIFEST_FILES, LOCK_NAME) and not parts[0].startswith(STAGING_PREFIX)


def _outside(out: Path, rel: str) -> str | None:
    """Why the plain name ``rel`` is not a file of ``out`` on disk (a folder, a link out), or None."""
    path = out / rel
    try:
        if not path.resolve().is_relative_to(out.resolve()):
            return tr("a link leading out of the folder")
        if path.is_dir():
            return tr("a folder")
    except (OSError, RuntimeError) as err:  # a link loop, a name too long
        return tr("unreadable: {why}", why=os_reason(err))
    return None


def _not_riskmaps(out: Path, manifest: str, rel: str, why: str) -> OutputError:
    return OutputError(
        tr(
            "{out}: not riskmap's output folder: {manifest} lists {name!r} ({why}), and riskmap only ever writes "
            "plain files inside its output folder; {manifest} was edited or copied from elsewhere: choose another "
            "--out, or move {manifest} away if the folder is yours to reuse",
            out=out,
            manifest=manifest,
            name=rel,
            why=why,
        )
    )


def read_manifests(out: Path) -> dict[str, set[str]]:
    """Every name any manifest in ``out`` lists, with the hashes it may have (entries being moved in, too).

    Raises
    ------
    OutputError
        A manifest lists a name riskmap never writes (``../x``, an absolute path, a drive, a backslash, NUL) or
        one that is a folder or a link leading out of ``out`` on disk: the folder is not riskmap's to touch.
    """
    known: dict[str, set[str]] = {}
    for name in MANIFEST_FILES:
        doc = _read_doc(out / name)
        for key in ("manifest", "replacing"):
            entries = doc.get(key) if doc else None
            if not isinstance(entries, dict):
                continue
            for rel, entry in entries.items():
                why = tr("not a plain file name inside the folder") if not _plain(rel) else _outside(out, rel)
                if why is not None:
                    raise _not_riskmaps(out, name, rel, why)
                if isinstance(entry, dict) and isinstance(entry.get("sha256"), str):
                    known.setdefault(rel, set()).add(entry["sha256"])
    return known


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return False
    return True


#: Folders this process holds the lock of (a stale lock may carry our own, reused pid).
_HELD: set[Path] = set()


def _holder(out: Path) -> int | None:
    """The pid of the live run holding ``out``'s lock, or None (no lock, or a dead run's).

    Raises
    ------
    OutputError
        ``.riskmap-lock`` is a folder (riskmap keeps its lock file under that name).
    """
    lock = out / LOCK_NAME
    if lock.is_dir() and not lock.is_symlink():
        raise OutputError(
            tr(
                "{lock}: is a folder; riskmap keeps its lock file under that name: rename or remove the folder, or "
                "choose another --out",
                lock=lock,
            )
        )
    try:
        pid = int(lock.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None  # missing, unreadable or half-written by a run killed at once: nobody holds it
    return pid if _alive(pid) and (pid != os.getpid() or out.resolve() in _HELD) else None


def _busy(out: Path, pid: int) -> OutputError:
    return OutputError(
        tr(
            "{out}: another riskmap run is writing here (pid {pid}); wait for it to finish, or remove {lock} if no "
            "riskmap is running",
            out=out,
            pid=pid,
            lock=LOCK_NAME,
        )
    )


def _lock(out: Path) -> Path:
    """Take ``out``'s lock or stop naming the live run that holds it; a dead process's lock is taken over."""
    lock = out / LOCK_NAME
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid = _holder(out)
            if pid is not None:
                raise _busy(out, pid) from None
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
            continue
        except OSError as err:
            raise write_error(lock, err) or OutputError(
                tr("{out}: cannot write in the output directory: {why}", out=out, why=os_reason(err))
            ) from None
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(f"{os.getpid()}\n")
        _HELD.add(out.resolve())
        return lock
    raise OutputError(
        tr("{out}: cannot take {lock}; another riskmap run keeps taking it", out=out, lock=LOCK_NAME)
    )


def _unlock(out: Path, lock: Path) -> None:
    _HELD.discard(out.resolve())
    with contextlib.suppress(FileNotFoundError):
        lock.unlink()


def _usable(out: Path) -> Path:
    """Check that ``out`` is, or can be made, a folder riskmap can write in; the nearest existing folder.

    Writes nothing: a folder that does not exist yet is judged by the nearest one above it that does.
    """
    try:
        if out.exists() and not out.is_dir():
            raise OutputError(
                tr(
                    "{out}: is a file, not a directory; give --out a directory (it is created if missing)",
                    out=out,
                )
            )
        here = out.absolute()
        while not here.exists():
            here = here.parent
        if not here.is_dir():
            raise OutputError(
                tr("{out}: {here} is a file, not a directory; give --out a directory", out=out, here=here)
            )
        if _too_long(here, out.absolute()):
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))
    except OSError as err:
        if isinstance(err, OutputError):
            raise
        raise OutputError(
            tr(
                "{out}: cannot be the output directory: {why}; choose another --out",
                out=out,
                why=os_reason(err),
            )
        ) from None
    if not os.access(here, os.W_OK | os.X_OK):
        raise OutputError(
            tr(
                "{out}: cannot write in {here} (permission denied or a read-only disk); choose another --out",
                out=out,
                here=here,
            )
        )
    return here


def _too_long(here: Path, out: Path) -> bool:
    """Whether a folder to be made under ``here`` has a name (or a path) longer than its file system takes."""
    try:
        name_max = os.pathconf(here, "PC_NAME_MAX")
        path_max = os.pathconf(here, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows): mkdir will say
        return False
    names = out.relative_to(here).parts
    return any(len(os.fsencode(n)) > name_max for n in names) or len(os.fsencode(out)) >= path_max


def _output_folder(out: Path) -> Path:
    _usable(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise write_error(out, err) or OutputError(
            tr(
                "{out}: cannot create the output directory: {why}; choose another --out",
                out=out,
                why=os_reason(err),
            )
        ) from None
    return out


def check_output_folder(out: str | os.PathLike[str]) -> None:
    """Whether a set can be written into ``out``, before any work is done for it; writes nothing.

    The checks of :func:`open_output_set` and :meth:`OutputSet.commit` that need no outputs: ``out`` is (or can
    be made) a folder riskmap can write in, its lock is not a folder nor held by a live run, and every manifest
    in it names only riskmap's plain files. The same checks run again when the set is written.

    Raises
    ------
    OutputError
        What stops a run from writing there, in one line.
    """
    folder = Path(out)
    _usable(folder)
    if folder.is_dir():
        pid = _holder(folder)
        if pid is not None:
            raise _busy(folder, pid)
        read_manifests(folder)


def _blocked(out: Path, names: list[str]) -> list[str]:
    """The names that cannot be moved into ``out``: a folder has the name, or a file or link sits on the way."""
    found = []
    for rel in names:
        parts = rel.split("/")
        for i in range(1, len(parts)):  # geoparquet/ must be a plain folder (or not yet there)
            up = out.joinpath(*parts[:i])
            if up.is_symlink() or (up.exists() and not up.is_dir()):
                on_the_way = "/".join(parts[:i])
                found.append(
                    tr("{name} (a link where riskmap puts a folder)", name=on_the_way)
                    if up.is_symlink()
                    else tr("{name} (a file where riskmap puts a folder)", name=on_the_way)
                )
                break
        else:
            dest = out / rel
            if dest.is_dir() and not dest.is_symlink():
                found.append(tr("{name} (a folder)", name=rel))
    return sorted(set(found))


def _staged_files(staging: Path) -> list[str]:
    return sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())


@dataclass
class OutputSet:
    """One run's outputs on their way into ``out``: write them into :attr:`staging`, then :meth:`commit`."""

    out: Path
    staging: Path
    manifest_name: str
    force: bool = False
    warnings: list[str] = field(default_factory=list)

    def final(self, path: Path) -> Path:
        """Where a file written into the staging folder ends up."""
        return self.out / Path(path).relative_to(self.staging)

    def _check_targets(
        self, names: list[str], known: dict[str, set[str]], ours: Callable[[str], bool]
    ) -> None:
        """Check every name this set takes before the first move.

        A folder (or a link or file on the way) stops it, and so does a file riskmap did not write, unless
        ``force`` (then a warning names it).
        """
        blocked = _blocked(self.out, [*names, self.manifest_name])
        if blocked:  # even with --force
            raise OutputError(
                tr(
                    "{out}: cannot put the new files in place: {names}; riskmap never replaces a folder nor writes "
                    "through a link: rename or move it, or choose another --out",
                    out=self.out,
                    names=", ".join(blocked),
                )
            )
        taken = [rel for rel in names if os.path.lexists(self.out / rel) and not ours(rel)]
        target = self.out / self.manifest_name
        if target.exists() and not _is_manifest(_read_doc(target)):
            taken.append(self.manifest_name)  # the user's file, or an older riskmap's that kept no manifest
        if taken and not self.force:
            shown = ", ".join(
                tr("{name} (changed since riskmap wrote it)", name=rel)
                if rel in known
                else tr("{name} (not written by riskmap)", name=rel)
                for rel in taken
            )
            raise OutputError(
                tr(
                    "{out}: would overwrite files riskmap did not write: {names}; move them away, choose another "
                    "--out, or pass --force to overwrite them",
                    out=self.out,
                    names=shown,
                )
            )
        if taken:
            self.warnings.append(tr("--force: overwrote {names}", names=", ".join(taken)))

    def commit(self, doc: dict[str, Any], also_replaces: Iterable[str] = ()) -> Path:
        """Move the staged files into place and write the manifest file (``doc`` + ``manifest``) last.

        Files of this command's previous manifest (and ``also_replaces``, names other commands wrote that this
        one now owns) that this run did not write are removed if unchanged since riskmap wrote them, and kept
        with a warning otherwise. ``doc["warnings"]`` gets the warnings.

        Raises
        ------
        OutputError
            A name this run writes is taken by a file riskmap did not write (or that was edited since), and
            ``force`` is not set; or a folder (or a link or file where riskmap puts a folder) has the name of a
            file this run writes, with or without ``force``; or a manifest in the folder names anything but
            riskmap's plain files (:func:`read_manifests`). Nothing was moved.
        """
        names = _staged_files(self.staging)
        manifest = {
            rel: {"sha256": sha256(self.staging / rel), "size": (self.staging / rel).stat().st_size}
            for rel in names
        }
        known = read_manifests(self.out)
        previous = (_read_doc(self.out / self.manifest_name) or {}).get("manifest") or {}

        def ours(rel: str) -> bool:
            p = self.out / rel
            return rel in known and p.is_file() and not p.is_symlink() and sha256(p) in known[rel]

        target = self.out / self.manifest_name
        self._check_targets(names, known, ours)
        removed: list[str] = []
        kept: list[str] = []
        for rel in sorted({*previous, *also_replaces} - set(names)):
            p = self.out / rel
            if not p.is_file():
                continue
            (removed if ours(rel) else kept).append(rel)
        if removed:
            self.warnings.append(
                tr(
                    "removed outputs of an earlier run that this run did not write: {names}",
                    names=", ".join(removed),
                )
            )
        if kept:
            self.warnings.append(
                tr(
                    "kept {names}: changed since riskmap wrote them (this run does not write them)",
                    names=", ".join(kept),
                )
            )
        doc = {**doc, "warnings": [*doc.get("warnings", []), *self.warnings], "manifest": manifest}
        # Before the first move: the previous manifest also names what is moving in, so that a crash in the
        # middle still leaves every file beside it known as riskmap's.
        marked = {**(_read_doc(target) or {}), "replacing": manifest}
        atomic_write_text(target, json.dumps(marked, ensure_ascii=False, indent=2, default=str))
        _hold("staged")
        for i, rel in enumerate(names, 1):
            dest = self.out / rel
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.staging / rel, dest)
            except OSError as err:  # the files moved so far are named by "replacing"
                raise OutputError(
                    tr("{file}: cannot move the new file into place: {why}", file=dest, why=os_reason(err))
                ) from None
            _hold(f"moved-{i}")
        for rel in removed:
            (self.out / rel).unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # a folder riskmap made (geoparquet/) once it is empty
                if (self.out / rel).parent != self.out:
                    (self.out / rel).parent.rmdir()
        atomic_write_text(target, json.dumps(doc, ensure_ascii=False, indent=2, default=str))
        return target


@contextlib.contextmanager
def open_output_set(
    out: str | os.PathLike[str], manifest_name: str, force: bool = False
) -> Iterator[OutputSet]:
    """Lock ``out``, clean dead runs' staging folders and yield an :class:`OutputSet` to write into.

    The staging folder is removed and the lock released however the block ends.

    Raises
    ------
    OutputError
        ``out`` is a file, cannot be created, or another live riskmap run is writing into it.
    """
    folder = _output_folder(Path(out))
    lock = _lock(folder)
    try:
        # Only a run holding the lock writes: every staging folder or temporary file here is a dead run's.
        for stale in folder.glob(f"{STAGING_PREFIX}*"):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
        staging = folder / f"{STAGING_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            yield OutputSet(folder, staging, manifest_name, force)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        _unlock(folder, lock)
