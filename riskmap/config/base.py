"""What every section of the project file shares: the strict, frozen base model and the level keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from riskmap.config.conninfo import mask_secrets
from riskmap.i18n import N_, tr

__all__ = ["ConfigModel", "LevelKey", "ZoneLevelKey", "values_at_least", "value_problem", "EXPECTED", "at"]

LevelKey = Literal["red", "orange", "yellow", "blue"]
ZoneLevelKey = Literal["red", "orange", "yellow", "blue", "none"]


class ConfigModel(BaseModel):
    """A section of the project file: unknown keys are errors, values cannot change after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_M = TypeVar("_M", bound=Mapping[str, float])


def values_at_least(values: _M, least: float, rule: str) -> _M:
    """``values`` unchanged when every value is at least ``least``; else ``ValueError("<rule>, got {bad ones}")``.

    For a field validator of a table keyed by level or grade.
    """
    bad = {k: v for k, v in values.items() if v < least}
    if bad:
        raise ValueError(tr("{rule}, got {bad}", rule=rule, bad=bad))
    return values


#: What a value pydantic refused should be, by pydantic's error ``type``; ``{...}`` names come from its ``ctx``.
#: An error type not here keeps pydantic's own (English) message.
EXPECTED: dict[str, str] = {
    "missing": N_("{where}: required key is missing"),
    "literal_error": N_("{where}: should be {expected} (got {value})"),
    "enum": N_("{where}: should be {expected} (got {value})"),
    "greater_than_equal": N_("{where}: should be at least {ge} (got {value})"),
    "greater_than": N_("{where}: should be greater than {gt} (got {value})"),
    "less_than_equal": N_("{where}: should be at most {le} (got {value})"),
    "less_than": N_("{where}: should be less than {lt} (got {value})"),
    "int_parsing": N_("{where}: should be a whole number (got {value})"),
    "int_type": N_("{where}: should be a whole number (got {value})"),
    "int_from_float": N_("{where}: should be a whole number (got {value})"),
    "float_parsing": N_("{where}: should be a number (got {value})"),
    "float_type": N_("{where}: should be a number (got {value})"),
    "finite_number": N_("{where}: should be a finite number (got {value})"),
    "bool_parsing": N_("{where}: should be true or false (got {value})"),
    "bool_type": N_("{where}: should be true or false (got {value})"),
    "string_type": N_('{where}: should be text in quotes, e.g. "..." (got {value})'),
    "string_too_short": N_("{where}: should have at least {min_length} characters (got {value})"),
    "string_too_long": N_("{where}: should have at most {max_length} characters (got {value})"),
    "string_pattern_mismatch": N_("{where}: should match the pattern {pattern} (got {value})"),
    "list_type": N_("{where}: should be a list [...] (got {value})"),
    "tuple_type": N_("{where}: should be a list [...] (got {value})"),
    "too_short": N_("{where}: should have at least {min_length} items (got {actual_length})"),
    "too_long": N_("{where}: should have at most {max_length} items (got {actual_length})"),
    "dict_type": N_("{where}: should be a table ([section] or {{ key = value }}) (got {value})"),
    "model_type": N_("{where}: should be a table ([section] or {{ key = value }}) (got {value})"),
    "model_attributes_type": N_("{where}: should be a table ([section] or {{ key = value }}) (got {value})"),
    "date_type": N_("{where}: should be a date such as 2026-03-01 (got {value})"),
    "date_parsing": N_("{where}: should be a date such as 2026-03-01 (got {value})"),
    "date_from_datetime_parsing": N_("{where}: should be a date such as 2026-03-01 (got {value})"),
    "path_type": N_("{where}: should be a path in quotes (got {value})"),
    "union_tag_invalid": N_("{where}: {discriminator} = {tag} is not accepted; use one of {expected_tags}"),
    "union_tag_not_found": N_("{where}: needs the key {discriminator}"),
}


def at(where: object, problem: str) -> str:
    """``problem`` said of ``where`` (a file, a key): ``where: problem``, ``where：problem`` in Chinese."""
    colon = tr(": ")
    return f"{where}{colon}{problem}"


def _number(value: Any) -> str:
    """A bound of pydantic's context as a reader writes it: 0, not 0.0."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _shown(value: Any) -> str:
    """A refused value as a message quotes it: a table is not echoed, nor a password in a wrong place."""
    return "{...}" if isinstance(value, dict) else mask_secrets(repr(value))


def value_problem(e: Any, where: str) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) at key ``where``, in the user's language.

    Translated by the error's ``type`` with the values of its ``ctx`` (:data:`EXPECTED`); riskmap's own checks
    (``value_error``) are already in the user's language; an unknown type keeps pydantic's English message.
    """
    kind, ctx = e["type"], {k: _number(v) for k, v in (e.get("ctx") or {}).items()}
    if kind in ("value_error", "assertion_error") and "error" in (e.get("ctx") or {}):
        problem = str(e["ctx"]["error"])
        return at(where, problem) if where else problem
    if kind in EXPECTED:
        if "expected" in ctx:  # pydantic's "'zh' or 'en'": the names, in any language
            ctx["expected"] = ctx["expected"].replace(" or ", ", ")
        return tr(EXPECTED[kind], **{**ctx, "where": where, "value": _shown(e.get("input"))})
    msg = e["msg"].removeprefix("Value error, ")
    got = f" (got {_shown(e.get('input'))})" if not isinstance(e.get("input"), dict) else ""
    return f"{where}: {msg}{got}" if where else f"{msg}{got}"  # pydantic's English, with English punctuation
