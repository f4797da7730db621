"""riskmap's exceptions: one root, a few kinds, each also a built-in where one fits.

A message names the file, the row or feature, the field, the bad value and the way out, e.g.
``facilities.csv row 17, field "lon": "abc" is not a number``.
"""

from __future__ import annotations

__all__ = [
    "RiskmapError",
    "ConfigError",
    "InputError",
    "CRSError",
    "ScoringError",
    "OutputError",
]


class RiskmapError(Exception):
    """Root of every error riskmap raises on purpose; the CLI prints it as one line and exits 1."""


class ConfigError(RiskmapError, ValueError):
    """The project file (riskmap.toml) is missing, unreadable or invalid."""


class InputError(RiskmapError, ValueError):
    """An input file or one of its columns cannot be used."""


class CRSError(InputError):
    """A coordinate reference system is missing, unknown or inconsistent."""


class ScoringError(RiskmapError, ValueError):
    """A grading method cannot be applied (unknown substance, bad parameter)."""


class OutputError(RiskmapError, OSError):
    """An output cannot be written."""
