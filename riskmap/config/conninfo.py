r"""PostgreSQL connection strings read as libpq reads them, and passwords kept out of every text riskmap writes.

libpq takes two forms (https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING):
``key = value`` pairs separated by whitespace (spaces around ``=`` allowed, values single-quoted with ``\'`` and
``\\`` escapes, or bare with backslash escapes), and URLs ``postgresql://user:password@host:port/db?key=value``
(``postgres://`` too). The password rule of the project file must see a password wherever libpq would find
one, so :func:`parse_conninfo` follows libpq's grammar (``fe-connect.c``, ``conninfo_parse`` and
``conninfo_uri_parse``); it needs no psycopg, which is optional. riskmap also reads the URL scheme in any case
(``POSTGRESQL://``): libpq does not, so :func:`normalise_conninfo` writes it in lower case for libpq.

:func:`mask_secrets` hides passwords in free text (a libpq message, a traceback, a command line) by token: the
value of a ``password`` key, the password of a URL, and ``PGPASSWORD``'s value where it stands as a token of
its own, never as part of another word.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from urllib.parse import unquote

__all__ = [
    "MASK",
    "conninfo_password",
    "is_database_url",
    "mask_secrets",
    "normalise_conninfo",
    "parse_conninfo",
    "quote_value",
]

#: What a hidden password is shown as.
MASK = "***"

_URL_SCHEME = re.compile(r"(?i)^(postgres(?:ql)?)://")


class ConninfoSyntaxError(ValueError):
    """A connection string libpq would refuse (the message never quotes a value)."""


def is_database_url(text: str) -> bool:
    """Whether ``text`` is a PostgreSQL URL (``postgresql://`` or ``postgres://``, in any case)."""
    return _URL_SCHEME.match(text) is not None


def normalise_conninfo(text: str) -> str:
    """The connection string with its URL scheme in lower case (libpq knows no other spelling)."""
    return _URL_SCHEME.sub(lambda m: f"{m.group(1).lower()}://", text, count=1)


def quote_value(value: str) -> str:
    """``value`` as one libpq ``key=value`` value, quoted: spaces, quotes and ``=`` stay inside it.

    >>> quote_value("gis password=x"), parse_conninfo("service=" + quote_value("it's"))
    ("'gis password=x'", {'service': "it's"})
    """
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def parse_conninfo(text: str) -> dict[str, str]:
    """The parameters of a connection string, as libpq's ``PQconninfoParse`` finds them.

    Unknown keys are kept (libpq refuses them later, when connecting); a syntax libpq refuses raises
    :class:`ConninfoSyntaxError`.

    >>> parse_conninfo("host=gis password = 'se cret'")
    {'host': 'gis', 'password': 'se cret'}
    >>> parse_conninfo("POSTGRESQL://reader@gis:5432/platform?sslmode=require")
    {'user': 'reader', 'host': 'gis', 'port': '5432', 'dbname': 'platform', 'sslmode': 'require'}
    """
    if is_database_url(text):
        return _parse_url(text)
    return _parse_pairs(text)


def _parse_pairs(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return params
        start = i
        while i < n and text[i] != "=" and not text[i].isspace():
            i += 1
        key = text[start:i]
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != "=":
            raise ConninfoSyntaxError(f'missing "=" after the key {key!r} in the connection string')
        i += 1
        while i < n and text[i].isspace():
            i += 1
        value, i = _quoted(text, i) if i < n and text[i] == "'" else _bare(text, i)
        params[key] = value


def _bare(text: str, i: int) -> tuple[str, int]:
    out = []
    while i < len(text) and not text[i].isspace():
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out), i


def _quoted(text: str, i: int) -> tuple[str, int]:
    out, i = [], i + 1
    while True:
        if i >= len(text):
            raise ConninfoSyntaxError("unterminated quoted value in the connection string")
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if text[i] == "'":
            return "".join(out), i + 1
        out.append(text[i])
        i += 1


def _parse_url(text: str) -> dict[str, str]:
    rest = _URL_SCHEME.sub("", text, count=1)
    params: dict[str, str] = {}
    # libpq: user credentials are what comes before an "@" that precedes any "/".
    authority_end = min((p for p in (rest.find("@"), rest.find("/")) if p >= 0), default=-1)
    if authority_end >= 0 and rest[authority_end] == "@":
        user, colon, password = rest[:authority_end].partition(":")
        if user:
            params["user"] = unquote(user)
        if colon and password:  # libpq keeps no empty password from a URL
            params["password"] = unquote(password)
        rest = rest[authority_end + 1 :]
    location, _, query = rest.partition("?")
    hostport, slash, dbname = location.partition("/")
    host, port = _host_port(hostport)
    if host:
        params["host"] = unquote(host)
    if port:
        params["port"] = unquote(port)
    if slash and dbname:
        params["dbname"] = unquote(dbname)
    for pair in query.split("&") if query else []:
        key, eq, value = pair.partition("=")
        if not eq:
            raise ConninfoSyntaxError("a URL query parameter without '=' in the connection string")
        params[unquote(key)] = unquote(value)
    return params


def _host_port(hostport: str) -> tuple[str, str]:
    """``h1:5432,[::1]:5433`` -> (``h1,::1``, ``5432,5433``), as libpq lists several hosts."""
    hosts, ports = [], []
    for item in hostport.split(","):
        if item.startswith("["):  # [IPv6]:port
            host, _, tail = item[1:].partition("]")
            port = tail.removeprefix(":")
        else:
            host, _, port = item.partition(":")
        hosts.append(host)
        ports.append(port)
    return ",".join(hosts).strip(","), ",".join(ports).strip(",")


def conninfo_password(conninfo: str) -> bool:
    """Whether a PostgreSQL URL or ``key=value`` connection string holds a password.

    A string libpq cannot parse counts as holding one when the word ``password`` is in it: the rule errs on
    the side of the secret.

    >>> conninfo_password("host=gis password = secret"), conninfo_password("service=gis")
    (True, False)
    """
    try:
        return "password" in parse_conninfo(conninfo)
    except ConninfoSyntaxError:
        return "password" in conninfo.lower()


# The password of a URL (up to the "@" of its user credentials), a ?password= / &password= of a URL, and the
# value of a password key (quoted, or bare up to whitespace), libpq's grammar each.
_URL_PASSWORD = re.compile(r"(?i)(postgres(?:ql)?://[^\s:/@]*:)([^@/\n]*)(?=@)")
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)([^&\s]*)")
_KEY_PASSWORD = re.compile(r"(?i)(?<![?&\w])((?:pg)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|(?:[^\s\\]|\\.)+)")


def mask_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every password hidden: connection-string passwords and the given or PGPASSWORD's values.

    A secret value is hidden where it stands as a token (not inside a longer word): a password ``x`` hides
    ``user "x"`` but leaves ``expired`` alone.

    >>> print(mask_secrets("postgresql://reader:s3cret@gis/db; password = 's e'; expired", ["x"]))
    postgresql://reader:***@gis/db; password = ***; expired
    """
    text = _URL_PASSWORD.sub(rf"\g<1>{MASK}", text)
    text = _QUERY_PASSWORD.sub(rf"\g<1>{MASK}", text)
    text = _KEY_PASSWORD.sub(lambda m: m.group(1) + (MASK if m.group(2) != MASK else m.group(2)), text)
    values = [*secrets, os.environ.get("PGPASSWORD") or ""]
    for value in sorted({v for v in values if v}, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", MASK, text)
    return text
