"""Static figure for printed reports: four-colour zones, legend with counts, scale bar, north arrow, CJK text."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd

from riskmap.errors import OutputError
from riskmap.io.atomic import atomic_path
from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED, color, label, outline

__all__ = ["render_figure", "cjk_font", "CJK_FONT_FILES"]

logger = logging.getLogger(__name__)

#: Where Debian's CJK font packages put their files (fonts-noto-cjk, fonts-wqy-microhei, fonts-wqy-zenhei).
CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Source Han Sans SC",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)


@cache
def cjk_font() -> str | None:
    """The family name of an installed CJK font, registered with matplotlib; ``None`` when there is none.

    matplotlib's font cache predates fonts installed later, so known font files are added explicitly.
    """
    from matplotlib import font_manager

    for f in CJK_FONT_FILES:
        if Path(f).exists():
            try:
                font_manager.fontManager.addfont(f)
            except (OSError, RuntimeError):  # pragma: no cover - unreadable font file
                continue
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for family in _CJK_FAMILIES:
        if family in installed:
            return family
    return None


def _nice_length(width_m: float) -> float:
    target = width_m / 5
    for step in (100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000):
        if step >= target:
            return float(step)
    return 200000.0


def render_figure(
    zones: Mapping[str, gpd.GeoDataFrame],
    facilities: gpd.GeoDataFrame | None,
    paths: Sequence[str | Path],
    *,
    title: str,
    source_note: str = "",
    lang: str = "zh",
    show_facilities: bool = True,
    dpi: int = 300,
) -> list[Path]:
    """Draw the finest zone layer in the four colours, coarser layers as outlines, and write each path.

    The format follows each path's suffix (.png, .svg, .pdf). Chinese text needs a CJK font (Debian
    ``fonts-noto-cjk`` or ``fonts-wqy-microhei``); without one a warning says so and labels fall back to English.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrow, Patch, Rectangle

    family = cjk_font()
    if family is None and lang == "zh":
        warnings.warn(
            "no CJK font found (install Debian fonts-noto-cjk or fonts-wqy-microhei); the figure uses English "
            "labels",
            stacklevel=2,
        )
        lang = "en"
    rc: dict[str, Any] = {
        "font.family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"],
        "axes.unicode_minus": False,
    }
    kinds = list(zones)
    finest = zones[kinds[0]]
    crs = finest.estimate_utm_crs() if finest.crs and finest.crs.is_geographic else finest.crs
    with plt.rc_context(rc):  # type: ignore[arg-type]
        fig, ax = plt.subplots(figsize=(11, 9))
        fz = finest.to_crs(crs)
        fz.plot(
            ax=ax,
            color=[color(k) for k in fz["level"]],
            edgecolor=[outline(k) for k in fz["level"]],
            linewidth=0.3,
            alpha=0.85,
        )
        for kind in kinds[1:]:
            zones[kind].to_crs(crs).boundary.plot(ax=ax, color="#333333", linewidth=1.1)
        if show_facilities and facilities is not None and len(facilities):
            f = facilities.to_crs(crs)
            for key in reversed(LEVEL_NAMES):  # red drawn last, on top
                sub = f[f["level"] == key]
                if len(sub):
                    sub.plot(
                        ax=ax,
                        color=color(key),
                        edgecolor="#222222",
                        linewidth=0.3,
                        markersize=6 if key in ("red", "orange") else 3,
                        zorder=3,
                    )
        ax.set_axis_off()
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=18, pad=14)

        counts_zone = fz["level"].value_counts()
        counts_fac = facilities["level"].value_counts() if facilities is not None and len(facilities) else {}
        handles = []
        for key in [*LEVEL_NAMES, NOT_ASSESSED]:
            nz = int(counts_zone.get(key, 0))
            if key == NOT_ASSESSED and nz == 0:
                continue
            nf = int(counts_fac.get(key, 0)) if len(counts_fac) else 0
            text = (
                f"{label(key, lang)}  区域 {nz} / 企业 {nf}"
                if lang == "zh"
                else f"{label(key, lang)}  zones {nz} / facilities {nf}"
            )
            handles.append(Patch(facecolor=color(key), edgecolor=outline(key), label=text))
        ax.legend(
            handles=handles,
            title="图例" if lang == "zh" else "Legend",
            loc="lower left",
            frameon=True,
            fontsize=9,
            title_fontsize=10,
        )

        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        length = _nice_length(x1 - x0)
        bx, by = x1 - (x1 - x0) * 0.05 - length, y0 + (y1 - y0) * 0.04
        h = (y1 - y0) * 0.008
        for i in range(2):
            ax.add_patch(
                Rectangle(
                    (bx + i * length / 2, by),
                    length / 2,
                    h,
                    facecolor="black" if i == 0 else "white",
                    edgecolor="black",
                    lw=0.6,
                    zorder=5,
                )
            )
        ax.text(bx, by + h * 1.8, "0", ha="center", fontsize=8)
        unit = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
        ax.text(bx + length, by + h * 1.8, unit, ha="center", fontsize=8)
        ax_x, ax_y = x1 - (x1 - x0) * 0.06, y1 - (y1 - y0) * 0.12
        ax.add_patch(
            FancyArrow(
                ax_x,
                ax_y,
                0,
                (y1 - y0) * 0.06,
                width=(x1 - x0) * 0.008,
                head_width=(x1 - x0) * 0.025,
                head_length=(y1 - y0) * 0.025,
                color="black",
                zorder=5,
            )
        )
        ax.text(ax_x, ax_y + (y1 - y0) * 0.09, "N", ha="center", fontsize=13)
        note = source_note or ("数据来源: riskmap" if lang == "zh" else "Source: riskmap")
        fig.text(0.01, 0.01, f"{note}    {date.today().isoformat()}", fontsize=8, color="#444444")
        fig.tight_layout()
        written = []
        try:
            for p in paths:
                target = Path(p)
                with atomic_path(target) as tmp:
                    fig.savefig(tmp, dpi=dpi, format=target.suffix.lstrip(".").lower(), bbox_inches="tight")
                written.append(target)
        except (OSError, ValueError) as err:
            raise OutputError(f"cannot write the figure: {err}") from err
        finally:
            plt.close(fig)
    logger.debug("figure font: %s", family)
    return written
