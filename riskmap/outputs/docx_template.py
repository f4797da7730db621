"""An office's Word template (``--template``, ``outputs.report_template``) is checked before python-docx opens it.

A template comes from elsewhere (an office's 红头 document, a mail attachment): it is data, and is treated like
any other input file. Before python-docx (and lxml) see it, :func:`load_template` checks

- its size (:data:`MAX_BYTES`);
- its type: a Word document is a zip archive with ``[Content_Types].xml`` and ``word/document.xml`` (a .doc, a
  text file or an empty zip is named as such), and with no macros (.docm/.dotm content, ``vbaProject.bin``);
- what it unpacks to: at most :data:`MAX_UNPACKED` bytes in all, and no part that inflates more than
  :data:`MAX_RATIO` times from more than a mebibyte (a zip bomb);
- its XML parts: well-formed, and without a DTD (``<!DOCTYPE``): Word never writes one, and a DTD's entities
  either explode in memory (billion laughs) or, left unexpanded by python-docx, give a report.docx that is not
  well-formed XML (an external entity).

The template is read once into memory and python-docx opens those bytes, so the file checked is the file used.
A .dotx (a Word template proper) is opened as the document it describes.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from xml.parsers import expat

from riskmap.errors import InputError
from riskmap.i18n import os_reason, tr

__all__ = ["MAX_BYTES", "MAX_UNPACKED", "MAX_RATIO", "check_template", "load_template"]

#: A template file larger than this is refused (an office template with its letterhead images is a few MB).
MAX_BYTES = 64 << 20
#: What all the parts of a template may unpack to, in bytes.
MAX_UNPACKED = 256 << 20
#: The largest inflation of one part above a mebibyte (Word's XML deflates 5 to 40 times; a zip bomb 1000 times).
MAX_RATIO = 200
_RATIO_ABOVE = 1 << 20
_MAX_PARTS = 10_000

_MAIN = "/word/document.xml"
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_DOTX = "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"
_CONTENT_TYPES = "[Content_Types].xml"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word 97-2003 .doc (and .xls, .msg ...)
_WHERE = "--template (outputs.report_template)"


def _refuse(path: Path, what: str, fix: str) -> InputError:
    return InputError(tr("{file}: {what}; {fix}", file=path, what=what, fix=fix))


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise _refuse(path, tr("not a file"), tr("give {option} a .docx file", option=_WHERE))
        if size > MAX_BYTES:
            raise _refuse(
                path,
                tr(
                    "{size} MB; a report template is at most {most} MB",
                    size=f"{size / 2**20:.0f}",
                    most=MAX_BYTES >> 20,
                ),
                tr("remove large images from it or give another template"),
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise _refuse(path, tr("no such file"), tr("check {option}", option=_WHERE)) from None
    except OSError as err:
        raise _refuse(
            path,
            tr("cannot read the template: {why}", why=os_reason(err)),
            tr("check {option}", option=_WHERE),
        ) from None


def _archive(path: Path, data: bytes) -> zipfile.ZipFile:
    save_as = tr("open it in Word or WPS and save it as a Word document (.docx)")
    if data.startswith(_OLE):
        raise _refuse(
            path, tr("a Word 97-2003 document (.doc) or another old Office file, not a .docx"), save_as
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise _refuse(
            path, tr("not a Word document (a .docx is a zip archive; this is not one)"), save_as
        ) from None
    names = set(archive.namelist())
    if len(names) > _MAX_PARTS:
        raise _refuse(
            path, tr("{n} parts in the archive; a Word document has dozens", n=f"{len(names):,}"), save_as
        )
    missing = [n for n in (_CONTENT_TYPES, _MAIN.lstrip("/")) if n not in names]
    if missing:
        raise _refuse(
            path,
            tr("not a Word document (no {parts} in the archive)", parts=tr(" or ").join(missing)),
            save_as,
        )
    return archive


def _check_sizes(path: Path, archive: zipfile.ZipFile) -> None:
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if info.file_size > _RATIO_ABOVE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise _refuse(
                path,
                tr(
                    "{part} unpacks to {mb} MB from {kb} KB (a zip bomb?)",
                    part=info.filename,
                    mb=f"{info.file_size / 2**20:,.0f}",
                    kb=f"{info.compress_size / 2**10:,.0f}",
                ),
                tr("a Word document never does; give another template"),
            )
    if total > MAX_UNPACKED:
        raise _refuse(
            path,
            tr(
                "its parts unpack to {mb} MB; a report template may unpack to {most} MB",
                mb=f"{total / 2**20:,.0f}",
                most=MAX_UNPACKED >> 20,
            ),
            tr("remove large images from it or give another template"),
        )


def _check_no_macros(path: Path, archive: zipfile.ZipFile) -> None:
    macros = [n for n in archive.namelist() if n.lower().endswith(("vbaproject.bin", "vbadata.xml"))]
    text = archive.read(_CONTENT_TYPES)
    if macros or b"macroEnabled" in text or b"vbaProject" in text:
        raise _refuse(
            path,
            tr("a macro-enabled document (.docm/.dotm); riskmap does not open documents with macros"),
            tr("save it from Word or WPS as a Word document (.docx) without macros"),
        )


class _Doctype(Exception):
    """A DTD in an XML part (raised by the expat handler at its first line)."""


def _refuse_doctype(*_args: object) -> None:
    raise _Doctype


def _check_part(path: Path, archive: zipfile.ZipFile, name: str, xml: bool = True) -> None:
    """Unpack one part (its checksum verified); an XML part through expat, which a DTD stops at its first line.

    A part is unpacked to the size its header declares at most: one that holds more fails its checksum.
    """
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    try:
        with archive.open(name) as part:
            for block in iter(lambda: part.read(1 << 20), b""):
                if xml:
                    parser.Parse(block, False)
        if xml:
            parser.Parse(b"", True)
    except _Doctype:
        raise _refuse(
            path,
            tr(
                "{part} declares a DTD or entities (<!DOCTYPE ...>), which Word never writes: the file was made "
                "or altered by another program",
                part=name,
            ),
            tr("open it in Word or WPS and save it again as .docx, or give another template"),
        ) from None
    except expat.ExpatError as err:
        raise _refuse(
            path, tr("{part} is not well-formed XML ({why}, line {line})", part=name,
                     why=expat.errors.messages[err.code], line=err.lineno),
            tr("open it in Word or WPS and save it again as .docx, or give another template"),
        ) from None  # fmt: skip
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as err:
        raise _refuse(
            path,
            tr("{part} cannot be unpacked ({why})", part=name, why=err),
            tr("the file is damaged; give another template"),
        ) from None


def _content_types(archive: zipfile.ZipFile) -> tuple[dict[str, str], dict[str, str]]:
    """The content types of ``[Content_Types].xml``: by part name (Override) and by extension (Default)."""
    from lxml import etree

    # Parsed only once _check_part has passed it: no DTD, well-formed.
    root = etree.fromstring(archive.read(_CONTENT_TYPES), etree.XMLParser(resolve_entities=False))
    parts, defaults = {}, {}
    for el in root:
        if el.get("PartName"):
            parts[el.get("PartName", "").lstrip("/")] = el.get("ContentType") or ""
        elif el.get("Extension"):
            defaults[el.get("Extension", "").lower()] = el.get("ContentType") or ""
    return parts, defaults


def _xml_parts(archive: zipfile.ZipFile) -> list[str]:
    """Every part python-docx might parse as XML: by its content type, or by its name."""
    parts, defaults = _content_types(archive)
    found = []
    for name in archive.namelist():
        kind = parts.get(name) or defaults.get(name.rsplit(".", 1)[-1].lower(), "")
        if kind.endswith("xml") or name.lower().endswith((".xml", ".rels")):
            found.append(name)
    return found


def _as_document(data: bytes) -> bytes:
    """A .dotx rewritten as the .docx it describes (python-docx opens documents only); a .docx as it is."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    if _content_types(archive)[0].get(_MAIN.lstrip("/")) != _DOTX:
        return data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in archive.infolist():
            part = archive.read(info)
            if info.filename == _CONTENT_TYPES:
                part = part.replace(_DOTX.encode(), _DOCX.encode())
            z.writestr(info, part)
    return out.getvalue()


def check_template(path: str | Path) -> bytes:
    """Check a Word template for size, type, macros, what it unpacks to and DTDs; returns its bytes.

    Raises
    ------
    InputError
        One line naming the template, what is wrong and what to do (save as .docx, give another template).
    """
    p = Path(path)
    data = _read(p)
    archive = _archive(p, data)
    _check_sizes(p, archive)
    _check_part(p, archive, _CONTENT_TYPES)
    xml = set(_xml_parts(archive))
    for name in archive.namelist():
        if name != _CONTENT_TYPES:
            _check_part(p, archive, name, xml=name in xml)
    _check_no_macros(p, archive)
    main = _content_types(archive)[0].get(_MAIN.lstrip("/"), "")
    if main not in (_DOCX, _DOTX):
        raise _refuse(
            p,
            tr("word/document.xml is of type {kind}, not a Word document's", kind=repr(main or "none")),
            tr("open it in Word or WPS and save it as a Word document (.docx)"),
        )
    return data


def load_template(path: str | Path) -> io.BytesIO:
    """The checked template, for ``docx.Document`` (a .dotx as a .docx); see :func:`check_template`."""
    return io.BytesIO(_as_document(check_template(path)))
