"""The message catalogs: every message in the code has its Chinese, the compiled catalog is the .po's."""

from __future__ import annotations

import ast
import re
import string
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import riskmap.i18n as i18n

ROOT = Path(__file__).resolve().parents[1]
PO = i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "riskmap.po"
KEYWORDS = {"tr": None, "Msg": None, "N_": None, "both": None}
CJK = re.compile(r"[\u3400-\u9fff]")


@cache
def _code_messages() -> dict[str, str]:
    """Every marked message of riskmap's code -> where it is (file:line)."""
    found: dict[str, str] = {}
    for path, line, message, _comments, _context in extract_from_dir(
        str(ROOT / "riskmap"), keywords=KEYWORDS, comment_tags=()
    ):
        text = message if isinstance(message, str) else message[0]
        if text:
            found.setdefault(text, f"riskmap/{path}:{line}")
    return found


def _marked_in_code() -> dict[str, str]:
    """Every literal given to tr/Msg/N_/both, found with ast (babel misses a call nested in another's arguments)."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "riskmap").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in KEYWORDS and isinstance(node.args[0].value, str) and node.args[0].value:
                found.setdefault(node.args[0].value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_babel_sees_every_marked_message():
    missed = {m: where for m, where in _marked_in_code().items() if m not in _code_messages()}
    assert not missed, (
        "babel does not extract these (hoist the call out of the f-string or nested call):\n"
        + ("\n".join(f"{where}: {m!r}" for m, where in missed.items()))
    )


def _catalog():
    with PO.open("rb") as f:
        return read_po(f, locale="zh_CN")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_message_in_the_code_has_its_chinese():
    catalog = _catalog()
    missing = [
        f"{where}: {message!r}"
        for message, where in sorted(_code_messages().items(), key=lambda kv: kv[1])
        if message not in catalog or not catalog[message].string or catalog[message].fuzzy
    ]
    assert not missing, (
        f"{len(missing)} messages have no Chinese translation (run scripts/messages.sh, translate the new "
        f"entries of {PO.relative_to(ROOT)}, run it again):\n" + "\n".join(missing[:40])
    )


def test_every_translation_is_chinese_and_keeps_the_placeholders():
    wrong = []
    for m in _catalog():
        if not m.id or not m.string:
            continue
        words = re.sub(r"\{\w*(?:![rsa])?(?::[^}]*)?\}", "", m.id)  # the text but its placeholders
        if not CJK.search(m.string) and CJK.search(m.id) is None and re.search(r"[A-Za-z]{3}", words):
            wrong.append(f"{m.id!r}: no Chinese in {m.string!r}")
        elif _fields(m.id) != _fields(m.string):
            wrong.append(f"{m.id!r}: placeholders {sorted(_fields(m.id))} != {sorted(_fields(m.string))}")
    assert not wrong, "\n".join(wrong)


def _translations(catalog) -> dict[str, str]:
    """A catalog's translations, header aside (babel stamps the time it compiled into the .mo's)."""
    return {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}


def test_the_compiled_catalog_is_the_po():
    with PO.with_suffix(".mo").open("rb") as f:
        compiled = read_mo(f)
    assert _translations(compiled) == _translations(_catalog()), "run scripts/messages.sh compile"


def test_no_message_is_left_in_the_catalog_that_the_code_no_longer_has():
    stale = sorted(m.id for m in _catalog() if m.id and m.id not in _code_messages())
    assert not stale, "run scripts/messages.sh to drop them:\n" + "\n".join(stale[:20])


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "C.UTF-8"}, "zh"),
        ({}, "zh"),
        ({"LANGUAGE": "fr:en", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LC_ALL": "C", "LANG": "en_US.UTF-8"}, "zh"),
        ({"LC_MESSAGES": "en_GB", "LANG": "zh_CN.UTF-8"}, "en"),
    ],
)
def test_the_locale_chooses_the_language(environ, expected):
    assert i18n.locale_language(environ) == expected


def test_the_option_then_the_project_then_the_locale(monkeypatch):
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    assert i18n.resolve_language("zh", "en") == "zh"
    assert i18n.resolve_language(None, "zh") == "zh"
    assert i18n.resolve_language(None, None) == "en"
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        i18n.resolve_language("fr")


def test_a_message_renders_in_each_language_and_nests():
    inner = i18n.Msg("{file}: cannot read the project file ({why})", file="a.toml", why="x")
    assert inner.render("en") == "a.toml: cannot read the project file (x)"
    assert CJK.search(inner.render("zh"))
    with i18n.language("en"):
        assert str(inner).startswith("a.toml: cannot read")
        with i18n.language("zh"):
            assert CJK.search(str(inner))
    assert i18n.both("error:")["en"] == "error:" and CJK.search(i18n.both("error:")["zh"])
