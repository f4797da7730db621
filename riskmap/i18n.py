"""Messages in the user's language: gettext catalogs, the language of a run, messages in both languages.

Every text a user reads (an error, a warning, a reject reason, a plan reason, a sentence of the report) is
written in English in the code and translated through the gettext catalog ``riskmap/locale/<locale>/LC_MESSAGES/
riskmap.po`` (babel extracts and compiles it: ``scripts/messages.sh``). English is the source language, so it
is complete by construction; ``tests/test_messages.py`` fails on a message with no Chinese translation.

- :func:`tr` translates and formats at once, in the current language: ``tr("{file}: no such file", file=p)``.
- :class:`Msg` keeps a message unrendered, for text needed in both languages (rejects.csv carries the reason in
  the run's language and the other in a second column): ``Msg(...).render("en")``.
- :func:`N_` marks a text for the catalog where it is defined (a table of texts) and translated later.

The language is ``--lang``, then ``[project] lang``, then the locale (``LANGUAGE``, ``LC_ALL``,
``LC_MESSAGES``, ``LANG``; on Windows the system's), then Chinese: riskmap's users read Chinese first.
:func:`language` sets it for a block (a run sets its project's), :func:`set_language` for a command.

Never call these inside an f-string (babel does not see a message there): render first, then format.
Placeholders are ``str.format`` names (``{file}``); a message without parameters is not formatted, so its
braces stay as written. A parameter that is a :class:`Msg` is rendered in the same language.

>>> tr("error:", lang="zh")
'错误：'
>>> Msg("{file}: no such file", file="a.csv").render("en")
'a.csv: no such file'
"""

from __future__ import annotations

import errno
import gettext
import locale
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, wraps
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar, get_args

__all__ = [
    "Lang",
    "LANGS",
    "DOMAIN",
    "LOCALE_DIR",
    "CATALOG_LOCALES",
    "N_",
    "Msg",
    "ByLanguage",
    "per_row",
    "Written",
    "message_of",
    "rendered",
    "tr",
    "both",
    "current",
    "language",
    "set_language",
    "in_project_language",
    "locale_language",
    "resolve_language",
    "other_language",
    "os_reason",
]

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = get_args(Lang)
#: The gettext domain, and the folder of its catalogs (inside the package: wheels carry it).
DOMAIN = "riskmap"
LOCALE_DIR = Path(__file__).parent / "locale"
#: The catalog of each translated language (English is the source: no catalog).
CATALOG_LOCALES: dict[str, str] = {"zh": "zh_CN"}

_current: ContextVar[str | None] = ContextVar("riskmap_language", default=None)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog and return it as is (it is translated where it is shown)."""
    return message


def locale_language(environ: Mapping[str, str] | None = None) -> Lang:
    """The language the user's locale asks for: ``en`` for English, else ``zh``.

    The variables are read as gettext reads them: the first one set decides (``LANGUAGE`` is a list, its first
    known language wins); ``C``/``POSIX`` say nothing, so riskmap speaks Chinese.
    """
    env = os.environ if environ is None else environ
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if not value:
            continue
        for code in value.split(":"):
            found = _language_of(code)
            if found is not None:
                return found
        if var != "LANGUAGE":  # LC_ALL=C: the user set the locale; it names no language of ours
            return "zh"
    if (
        environ is None and os.name == "nt"
    ):  # Windows sets no LANG: ask the system ("Chinese (Simplified)_China")
        found = _language_of(locale.getlocale()[0] or "")
        if found is not None:
            return found
    return "zh"


def _language_of(code: str) -> Lang | None:
    code = code.strip().lower()
    if code.startswith(("zh", "chinese")):
        return "zh"
    if code.startswith(("en", "english")):
        return "en"
    return None


def resolve_language(option: str | None = None, project: str | None = None) -> Lang:
    """The language of a command: ``--lang``, then ``[project] lang``, then the locale."""
    for given in (option, project):
        if given:
            if given not in LANGS:
                raise ValueError(f"unknown language {given!r}: riskmap speaks {' and '.join(LANGS)}")
            return given
    return locale_language()


def current() -> Lang:
    """The language messages are written in now: the run's or command's, else the locale's."""
    return _current.get() or locale_language()  # type: ignore[return-value]


def other_language(lang: str | None = None) -> Lang:
    """The language that is not ``lang`` (the current one): rejects.csv's second reason column."""
    return "en" if (lang or current()) == "zh" else "zh"


@contextmanager
def language(lang: str | None) -> Iterator[None]:
    """Write messages in ``lang`` inside the block (``None``: leave the language as it is)."""
    if lang is None:
        yield
        return
    token = _current.set(resolve_language(lang))
    try:
        yield
    finally:
        _current.reset(token)


def set_language(lang: str | None) -> None:
    """Write messages in ``lang`` from now on (the command line, once it knows the language)."""
    _current.set(resolve_language(lang) if lang else None)


P = ParamSpec("P")
R = TypeVar("R")


def in_project_language(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn(config, ...)`` with messages in its project's language (``config.project.lang``)."""

    @wraps(fn)
    def speaking(*args: P.args, **kwargs: P.kwargs) -> R:
        config: Any = args[0] if args else kwargs.get("config")
        with language(getattr(getattr(config, "project", None), "lang", None)):
            return fn(*args, **kwargs)

    return speaking


@cache
def _catalog(lang: str) -> gettext.NullTranslations:
    if lang not in CATALOG_LOCALES:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[CATALOG_LOCALES[lang]])


def _render(message: str, params: Mapping[str, object], lang: str) -> str:
    text = _catalog(lang).gettext(message)
    if not params:
        return text
    return text.format(**{k: v.render(lang) if isinstance(v, Msg) else v for k, v in params.items()})


class ByLanguage(Mapping[str, Mapping[str, Any]]):
    """A table of texts written in English (each marked :func:`N_`) read in a language.

    ``TEXT = ByLanguage({"title": N_("Risk report"), "header": [N_("Name"), N_("Level")]})``;
    ``TEXT["zh"]["title"]`` is the catalog's translation, not formatted (the caller formats it, as it formats the
    English); a list or tuple of texts is translated item by item.
    """

    def __init__(self, texts: Mapping[str, Any]) -> None:
        self._texts = dict(texts)
        self._read: dict[str, dict[str, Any]] = {}

    def __getitem__(self, lang: str) -> dict[str, Any]:
        if lang not in LANGS:
            raise KeyError(lang)
        if lang not in self._read:
            catalog = _catalog(lang)
            self._read[lang] = {k: _translated(v, catalog) for k, v in self._texts.items()}
        return self._read[lang]

    def __iter__(self) -> Iterator[str]:
        return iter(LANGS)

    def __len__(self) -> int:
        return len(LANGS)


def _translated(value: Any, catalog: gettext.NullTranslations) -> Any:
    if isinstance(value, str):
        return catalog.gettext(value) if value else value
    return type(value)(catalog.gettext(v) for v in value)


class Msg:
    """A message and its parameters, rendered in a language when shown (``str()``: the current one).

    Equal messages (same text, same parameters) compare equal, so that a table of them can be grouped.
    """

    __slots__ = ("message", "params")

    def __init__(self, message: str, /, **params: object) -> None:
        self.message = message
        self.params = params

    def render(self, lang: str | None = None) -> str:
        """The message in ``lang`` (default: the current language)."""
        return _render(self.message, self.params, lang or current())

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Msg({self.message!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and (self.message, self.params) == (other.message, other.params)

    def __hash__(self) -> int:
        return hash((self.message, tuple(sorted((k, str(v)) for k, v in self.params.items()))))


class Written(Msg):
    """A text the code writes in both languages itself (a method's reasons): each language's as it is.

    A parameter that quotes such a text in a message: ``Msg("no method could grade this facility: {why}",
    why=Written(en, zh))``.
    """

    __slots__ = ()

    def __init__(self, en: str, zh: str) -> None:
        super().__init__("{en}", en=en, zh=zh)

    def render(self, lang: str | None = None) -> str:
        """The text in ``lang`` (default: the current language)."""
        return str(self.params["zh" if (lang or current()) == "zh" else "en"])


def per_row(message: str, /, **params: Any) -> Any:
    """A :class:`Msg` per row (a pandas Series): ``message`` with each row's ``params`` (Series, arrays or scalars).

    One Msg is made per distinct combination of the parameters, never per row; the index is the first Series
    parameter's. Mark the message where it is written: ``per_row(N_("... {row}"), row=first_rows)``.

    >>> import pandas as pd
    >>> [m.render("en") for m in per_row("first seen at row {row}", row=pd.Series([2, 2, 5]))]
    ['first seen at row 2', 'first seen at row 2', 'first seen at row 5']
    """
    import numpy as np
    import pandas as pd

    rows = {k: v for k, v in params.items() if isinstance(v, (pd.Series, np.ndarray, list))}
    fixed = {k: v for k, v in params.items() if k not in rows}
    if not rows:
        raise TypeError("per_row needs at least one parameter per row (a Series or an array)")
    first = next((v for v in rows.values() if isinstance(v, pd.Series)), None)
    n = len(next(iter(rows.values())))
    index = first.index if first is not None else pd.RangeIndex(n)
    if n == 0:
        return pd.Series([], index=index, dtype=object)
    frame = pd.DataFrame({k: np.asarray(v, dtype=object) for k, v in rows.items()}, index=index)
    codes, distinct = pd.MultiIndex.from_frame(frame).factorize()
    made = np.empty(len(distinct), dtype=object)
    made[:] = [Msg(message, **fixed, **dict(zip(frame.columns, key, strict=True))) for key in distinct]
    return pd.Series(made[codes], index=index, dtype=object)


def rendered(values: Any, lang: str | None = None) -> Any:
    """Each value of ``values`` as text in ``lang``: a :class:`Msg` rendered, anything else as ``str``.

    For a reason quoted inside a text written per language. Per distinct value.

    >>> rendered([Msg("error:"), "", Msg("error:")], "en").tolist()
    ['error:', '', 'error:']
    """
    import numpy as np
    import pandas as pd

    lang = lang or current()
    codes, distinct = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    found = np.array(
        [v.render(lang) if isinstance(v, Msg) else str(v) for v in distinct] + [""], dtype=object
    )
    return found[codes]


def message_of(values: Any) -> Any:
    """The message (its English source text) of each :class:`Msg` of ``values``, ``""`` for anything else.

    Code that must tell reasons apart asks which message a reason is, never how it reads. Per distinct value.

    >>> message_of([Msg("{x} is empty", x=1), "", Msg("{x} is empty", x=2)]).tolist()
    ['{x} is empty', '', '{x} is empty']
    """
    import numpy as np
    import pandas as pd

    codes, distinct = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    found = np.array([v.message if isinstance(v, Msg) else "" for v in distinct] + [""], dtype=object)
    return found[codes]


def tr(message: str, /, *, lang: str | None = None, **params: object) -> str:
    """``message`` in ``lang`` (default: the current language), its ``{placeholders}`` filled from ``params``."""
    return _render(message, params, lang or current())


def both(message: str, /, **params: object) -> dict[str, str]:
    """``message`` in every language: ``{"zh": ..., "en": ...}``."""
    return {lang: _render(message, params, lang) for lang in LANGS}


#: The OS's reasons a user meets most, in the catalog (``err.strerror`` is the OS's English on Linux).
_OS_REASONS: dict[int, str] = {
    errno.ENOENT: N_("no such file or directory"),
    errno.EACCES: N_("permission denied"),
    errno.EPERM: N_("operation not permitted"),
    errno.ENOSPC: N_("the disk is full"),
    errno.EISDIR: N_("is a directory"),
    errno.ENOTDIR: N_("not a directory"),
    errno.EROFS: N_("read-only file system"),
    errno.EEXIST: N_("file exists"),
    errno.ENAMETOOLONG: N_("file name too long"),
}


def os_reason(err: BaseException) -> str:
    """Why an OS call failed, in the current language: ``err.strerror`` for the common ``errno`` values.

    Another errno keeps the OS's own text (``strerror``), else the exception's.

    >>> with language("zh"):
    ...     os_reason(PermissionError(errno.EACCES, "Permission denied"))
    '权限不足'
    >>> with language("en"):
    ...     os_reason(OSError(errno.ELOOP, "Too many levels of symbolic links"))
    'Too many levels of symbolic links'
    """
    code = getattr(err, "errno", None)
    if code in _OS_REASONS:
        return tr(_OS_REASONS[code])
    return getattr(err, "strerror", None) or str(err)
