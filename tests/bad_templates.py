"""Word templates that are not what they claim, made from riskmap's own template (tests/test_bad_inputs.py and
tests/test_outputs_report.py): a .docm, a .doc, plain text, an empty zip, entity bombs, an external entity, a
zip bomb."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

from riskmap.outputs.report import default_template

_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_DOCM = "application/vnd.ms-word.document.macroEnabled.main+xml"
_DOTX = "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"

#: Billion laughs: ten levels of ten references, 10⁹ "lol"s once expanded.
LAUGHS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + "]>\n"
)
#: An external entity: the text of a local file pasted into the document (or left as an undefined reference).
EXTERNAL = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>\n'
)


def _rewrite(dst: Path, edit: Callable[[dict[str, bytes]], dict[str, bytes]]) -> Path:
    with zipfile.ZipFile(default_template()) as zin:
        parts = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in edit(parts).items():
            zout.writestr(name, data)
    return dst


def _with_prolog(part: str, prolog: str, entity: str) -> Callable[[dict[str, bytes]], dict[str, bytes]]:
    """``part`` with a DTD before its root element, and a reference to ``entity`` in the body text."""

    def edit(parts: dict[str, bytes]) -> dict[str, bytes]:
        text = parts[part].decode("utf-8")
        root = text.index("<", text.index("?>") + 2)
        text = prolog + text[root:]
        if part == "word/document.xml":
            text = text.replace("<w:body>", f"<w:body><w:p><w:r><w:t>&{entity};</w:t></w:r></w:p>", 1)
        parts[part] = text.encode("utf-8")
        return parts

    return edit


def _docm(parts: dict[str, bytes]) -> dict[str, bytes]:
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(_DOCX.encode(), _DOCM.encode())
    parts["word/vbaProject.bin"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 Sub AutoOpen() ... End Sub"
    return parts


def _dotx(parts: dict[str, bytes]) -> dict[str, bytes]:
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(_DOCX.encode(), _DOTX.encode())
    return parts


def _zip_bomb(dst: Path, mib: int = 64) -> Path:
    """The template with word/document.xml padded by ``mib`` MiB of spaces (a thousand to one)."""
    with zipfile.ZipFile(default_template()) as zin:
        parts = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    body = parts.pop("word/document.xml")
    at = body.index(b"<w:body>") + len(b"<w:body>")
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts.items():
            zout.writestr(name, data)
        with zout.open("word/document.xml", "w", force_zip64=True) as f:
            f.write(body[:at])
            block = b" " * (1 << 20)
            for _ in range(mib):
                f.write(block)
            f.write(body[at:])
    return dst


def _empty_zip(dst: Path) -> Path:
    with zipfile.ZipFile(dst, "w"):
        pass
    return dst


#: name -> a function writing that template into the path it is given.
BAD_TEMPLATES: dict[str, Callable[[Path], Path]] = {
    "docm": lambda p: _rewrite(p, _docm),
    "doc": lambda p: (p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096), p)[1],
    "text": lambda p: (p.write_text("红头文件\n", encoding="utf-8"), p)[1],
    "empty zip": _empty_zip,
    "laughs in document.xml": lambda p: _rewrite(p, _with_prolog("word/document.xml", LAUGHS, "lol9")),
    "laughs in styles.xml": lambda p: _rewrite(p, _with_prolog("word/styles.xml", LAUGHS, "lol9")),
    "external entity": lambda p: _rewrite(p, _with_prolog("word/document.xml", EXTERNAL, "xxe")),
    "zip bomb": _zip_bomb,
}


def dotx(dst: Path) -> Path:
    """A Word template proper (.dotx) made from riskmap's own template: a good one."""
    return _rewrite(dst, _dotx)


def lying_zip_bomb(dst: Path) -> Path:
    """word/styles.xml inflates to 8 MiB but its headers say 2,000 bytes (a bomb that lies about its size)."""
    import struct

    with zipfile.ZipFile(default_template()) as zin:
        parts = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    styles = parts["word/styles.xml"]
    parts["word/styles.xml"] = styles[:-20] + b" " * (8 << 20) + styles[-20:]
    _rewrite_parts(dst, parts)
    data = bytearray(dst.read_bytes())
    real = struct.pack("<I", len(parts["word/styles.xml"]))
    name = b"word/styles.xml"
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        while at >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                assert data[at + size_at : at + size_at + 4] == real
                data[at + size_at : at + size_at + 4] = struct.pack("<I", 2000)
            at = data.find(signature, at + 4)
    dst.write_bytes(bytes(data))
    return dst


def _rewrite_parts(dst: Path, parts: dict[str, bytes]) -> None:
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts.items():
            zout.writestr(name, data)
