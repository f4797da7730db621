"""riskmap: work-safety risk zoning (红橙黄蓝四色安全风险空间分布图) and differentiated supervision."""

from __future__ import annotations

__version__ = "0.1.0"
