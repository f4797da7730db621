"""riskmap: work-safety risk zoning (红橙黄蓝四色安全风险空间分布图) and differentiated supervision.

>>> import riskmap
>>> config = riskmap.load_config(riskmap.demo_dir() / "riskmap.toml")   # doctest: +SKIP
>>> result = riskmap.run(config, "out")                                  # doctest: +SKIP
"""

from __future__ import annotations

from riskmap._resources import demo_dir
from riskmap.config import Config, load_config
from riskmap.errors import ConfigError, CRSError, InputError, OutputError, RiskmapError, ScoringError
from riskmap.levels import Level
from riskmap.pipeline import RunResult, check, run
from riskmap.version import __version__

__all__ = [
    "__version__",
    "Config",
    "ConfigError",
    "CRSError",
    "InputError",
    "Level",
    "OutputError",
    "RiskmapError",
    "RunResult",
    "ScoringError",
    "check",
    "demo_dir",
    "load_config",
    "run",
]
