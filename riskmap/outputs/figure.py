"""Static figure for printed reports: four-colour zones, legend with counts, scale bar, north arrow, CJK text."""

from __future__ import annotations

import logging
import warnings as pywarnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd

from riskmap.columns import LEVEL, ZONE_NAME
from riskmap.errors import ConfigError, OutputError
from riskmap.i18n import tr
from riskmap.io.atomic import atomic_path
from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED, color, label, outline
from riskmap.zone_kinds import KindLabels, kind_count_phrase, project_kind_labels

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from riskmap.config import Config
    from riskmap.results import RunResult

__all__ = [
    "render_figure",
    "render_run_figure",
    "cjk_font",
    "font_file_family",
    "CJK_FONT_FILES",
    "MAX_FACILITY_DOTS",
]

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

#: Above this many facilities only the red and orange ones are drawn: thousands of dots hide the zones.
MAX_FACILITY_DOTS = 2000

_MARKER_SIZE = {"red": 16.0, "orange": 11.0, "yellow": 5.0, "blue": 5.0, NOT_ASSESSED: 4.0}


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


#: A character every Chinese font has: a font file without it cannot write the figure's Chinese.
_CJK_PROBE = "图"


def font_file_family(path: str | Path, where: str = "[outputs] font") -> str:
    """Register the font file ``path`` with matplotlib (ahead of installed fonts); its family name.

    An office without a CJK font installed gives one it has (``simhei.ttf`` copied from a Windows PC):
    ``[outputs] font``. The same name is the Word report's East-Asian font.

    Raises
    ------
    ConfigError
        The file does not exist or is not a font matplotlib (FreeType) can read; the message names ``where``.
    """
    from matplotlib import font_manager, ft2font

    file = Path(path)
    if not file.is_file():
        raise ConfigError(tr("{where}: {file}: no such font file", where=where, file=str(file)))
    try:
        family = font_manager.ttfFontProperty(ft2font.FT2Font(str(file))).name
        _register_first(file)
    except (OSError, RuntimeError, ValueError) as err:
        raise ConfigError(
            tr("{where}: {file} is not a font file riskmap can read ({error})", where=where, file=str(file),
               error=err)
        ) from err  # fmt: skip
    return family


@cache
def _register_first(file: Path) -> None:
    """Add ``file``'s faces to matplotlib's font list in front: of two fonts of one family, the given one wins."""
    from matplotlib import font_manager

    fm = font_manager.fontManager
    fm.addfont(str(file))
    ours = [f for f in fm.ttflist if Path(f.fname) == file]
    fm.ttflist = ours + [f for f in fm.ttflist if Path(f.fname) != file]
    fm._findfont_cached.cache_clear()  # type: ignore[attr-defined]


def _writes_chinese(family: str) -> bool:
    """Whether the font matplotlib picks for ``family`` has Chinese characters."""
    from matplotlib import font_manager

    try:
        found = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    except ValueError:
        return False
    return font_manager.get_font(found).get_char_index(ord(_CJK_PROBE)) != 0


def _rc(family: str | None) -> dict[str, Any]:
    return {
        # DejaVu Sans after the CJK font: matplotlib falls back glyph by glyph, so Latin text stays in DejaVu.
        "font.family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"],
        "axes.unicode_minus": False,
        # TrueType (Type 42) in PDF/PS: text stays selectable, searchable text in the CJK font, not Type 3
        # bitmaps-by-another-name. SVG keeps glyphs as paths so the file renders without the font installed.
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.fonttype": "path",
    }


def _nice_length(width_m: float) -> float:
    target = width_m / 5
    for step in (100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000):
        if step >= target:
            return float(step)
    return 200000.0


def _label_layer(zones: Mapping[str, gpd.GeoDataFrame]) -> str | None:
    """Which zone layer gets name labels: the first coarser one (towns), or a small finest layer alone."""
    kinds = list(zones)
    for kind in kinds[1:2]:
        if ZONE_NAME in zones[kind].columns and len(zones[kind]) <= 200:
            return kind
    if ZONE_NAME in zones[kinds[0]].columns and len(zones[kinds[0]]) <= 60:
        return kinds[0]
    return None


def _scale_bar(ax: Axes, x0: float, x1: float, y0: float, y1: float) -> None:
    from matplotlib.patches import Rectangle

    length = _nice_length(x1 - x0)
    bx, by = x1 - (x1 - x0) * 0.04 - length, y0 + (y1 - y0) * 0.03
    h = (y1 - y0) * 0.008
    for i in range(4):
        ax.add_patch(
            Rectangle(
                (bx + i * length / 4, by),
                length / 4,
                h,
                facecolor="black" if i % 2 == 0 else "white",
                edgecolor="black",
                lw=0.6,
                zorder=6,
            )
        )

    def unit(v: float) -> str:
        return f"{v / 1000:g} km" if length >= 1000 else f"{v:g} m"

    for frac, text in ((0.0, "0"), (0.5, unit(length / 2).split()[0]), (1.0, unit(length))):
        ax.text(bx + frac * length, by + h * 1.6, text, ha="center", va="bottom", fontsize=8, zorder=6)


def _north_arrow(ax: Axes) -> None:
    # Outside the map frame, under the legend: it can never cover the district. Projected maps keep north up.
    ax.annotate(
        "",
        xy=(1.09, 0.17),
        xytext=(1.09, 0.04),
        xycoords="axes fraction",
        arrowprops={"arrowstyle": "-|>,head_length=1.2,head_width=0.5", "lw": 2.2, "color": "black"},
        annotation_clip=False,
    )
    ax.text(1.09, 0.18, "N", transform=ax.transAxes, ha="center", va="bottom", fontsize=13)


@dataclass(frozen=True)
class _Sheet:
    """What the figure says around the map: title, legend language, source line, dates, zone-kind labels."""

    title: str
    source_note: str
    lang: str
    map_date: date | None
    cjk: bool = True
    kind_labels: KindLabels | None = None
    as_of: date | None = None

    @property
    def zh(self) -> bool:
        return self.lang == "zh"


def _draw(
    zones: Mapping[str, gpd.GeoDataFrame],
    facilities: gpd.GeoDataFrame | None,
    sheet: _Sheet,
    facility_levels: Sequence[str],
) -> Figure:
    """The figure: zones filled and outlined, facility dots of ``facility_levels``, names, legend, scale, note."""
    import matplotlib.pyplot as plt

    finest = zones[next(iter(zones))]
    crs = finest.estimate_utm_crs() if finest.crs and finest.crs.is_geographic else finest.crs
    fig, ax = plt.subplots(figsize=(10, 8.5))
    fz = _fill_zones(ax, zones, crs)
    shown = _draw_facilities(ax, facilities, crs, facility_levels)
    _name_zones(ax, zones, crs, sheet.cjk)
    _frame(ax, fz, sheet.title)
    _legend(ax, fz, facilities, shown, sheet, next(iter(zones)))
    if crs is not None and len(fz):
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        _scale_bar(ax, x0, x1, y0, y1)
    _north_arrow(ax)
    _source_line(ax, sheet)
    return fig


def _fill_zones(ax: Axes, zones: Mapping[str, gpd.GeoDataFrame], crs: Any) -> gpd.GeoDataFrame:
    """The finest layer filled in the four colours, coarser ones and the district outlined; the finest, in ``crs``."""
    kinds = list(zones)
    fz = zones[kinds[0]].to_crs(crs)
    fz.plot(
        ax=ax,
        color=[color(k) for k in fz[LEVEL]],
        edgecolor=[outline(k) for k in fz[LEVEL]],
        linewidth=0.25,
        alpha=0.85,
        zorder=1,
    )
    for i, kind in enumerate(kinds[1:]):
        zones[kind].to_crs(crs).boundary.plot(ax=ax, color="#222222", linewidth=1.0 + 0.4 * i, zorder=2)
    if len(fz):
        gpd.GeoSeries([fz.union_all()], crs=crs).boundary.plot(ax=ax, color="black", linewidth=1.6, zorder=2)
    return fz


def _shown_levels(
    facilities: gpd.GeoDataFrame | None, show_facilities: bool, facility_levels: Sequence[str] | None
) -> Sequence[str]:
    """The levels whose facilities are drawn: as asked, else all, or red and orange only above the dot limit."""
    n_fac = 0 if facilities is None else len(facilities)
    if not show_facilities or not n_fac:
        return ()
    if facility_levels is not None:
        return facility_levels
    return (*LEVEL_NAMES, NOT_ASSESSED) if n_fac <= MAX_FACILITY_DOTS else LEVEL_NAMES[:2]


def _draw_facilities(
    ax: Axes, facilities: gpd.GeoDataFrame | None, crs: Any, facility_levels: Sequence[str]
) -> list[str]:
    """Facility dots of the given levels, red on top; the levels that had dots to draw."""
    shown: list[str] = []
    if facilities is None or not facility_levels:
        return shown
    f = facilities.to_crs(crs)
    for key in reversed([*LEVEL_NAMES, NOT_ASSESSED]):  # red drawn last, on top
        if key not in facility_levels:
            continue
        sub = f[f[LEVEL] == key]
        if len(sub):
            shown.append(key)
            # A dark edge keeps a red dot visible on a red zone.
            sub.plot(
                ax=ax,
                color=color(key),
                edgecolor="#1a1a1a",
                linewidth=0.4,
                markersize=_MARKER_SIZE[key],
                zorder=4,
            )
    return shown


def _name_zones(ax: Axes, zones: Mapping[str, gpd.GeoDataFrame], crs: Any, cjk: bool) -> None:
    """The names of the labelled layer's zones (towns), white-haloed; non-Latin names only with a CJK font."""
    from matplotlib import patheffects

    labelled = _label_layer(zones)
    if labelled is None:
        return
    lz = zones[labelled].to_crs(crs)
    size = 9 if len(lz) <= 30 else 7 if len(lz) <= 80 else 5.5
    halo = [patheffects.withStroke(linewidth=2.4, foreground="white")]
    for name, pt in zip(lz[ZONE_NAME], lz.representative_point(), strict=True):
        if isinstance(name, str) and name and (cjk or name.isascii()) and not pt.is_empty:
            ax.text(pt.x, pt.y, name, ha="center", va="center", fontsize=size, path_effects=halo, zorder=5,
                    parse_math=False)  # fmt: skip


def _frame(ax: Axes, fz: gpd.GeoDataFrame, title: str) -> None:
    """No axes, equal scale, the district's extent with a strip under it, and the title."""
    ax.set_axis_off()
    ax.set_aspect("equal")
    if len(fz):
        minx, miny, maxx, maxy = fz.total_bounds
        w, h = maxx - minx, maxy - miny
        # A strip under the district for the scale bar, so the bar never covers a zone.
        ax.set_xlim(minx - 0.02 * w, maxx + 0.02 * w)
        ax.set_ylim(miny - 0.09 * h, maxy + 0.02 * h)
    ax.set_title(title, fontsize=18, pad=12, parse_math=False)


def _legend(
    ax: Axes,
    fz: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame | None,
    shown: list[str],
    sheet: _Sheet,
    finest_kind: str,
) -> None:
    """The legend: per level the zones and facilities counted, the drawn dots, and how many are not drawn."""
    from matplotlib.patches import Patch

    n_fac = 0 if facilities is None else len(facilities)
    counts_zone = fz[LEVEL].value_counts()
    counts_fac = facilities[LEVEL].value_counts() if facilities is not None and n_fac else None
    handles: list[Any] = []
    for key in [*LEVEL_NAMES, NOT_ASSESSED]:
        nz = int(counts_zone.get(key, 0))
        nf = int(counts_fac.get(key, 0)) if counts_fac is not None else 0
        if key == NOT_ASSESSED and nz == 0 and nf == 0:
            continue
        text = f"{label(key, sheet.lang)}  {nz} / {nf}"
        handles.append(Patch(facecolor=color(key), edgecolor=outline(key), label=text))
    handles += [_dot_handle(key, sheet) for key in reversed(shown)]
    hidden = n_fac - sum(int(counts_fac.get(k, 0)) for k in shown) if counts_fac is not None else 0
    if shown and hidden:
        text = f"其余 {hidden} 家企业未绘出" if sheet.zh else f"{hidden} other facilities not drawn"
        handles.append(Patch(facecolor="none", edgecolor="none", label=text))
    zones_counted = kind_count_phrase(finest_kind, "zh" if sheet.zh else "en", sheet.kind_labels)
    legend_title = (
        f"风险等级\n{zones_counted} / 企业数" if sheet.zh else f"Risk level\n{zones_counted} / facilities"
    )
    legend = ax.legend(
        handles=handles,
        title=legend_title,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
        frameon=True,
        fontsize=9,
        title_fontsize=10,
    )
    for shown_text in [legend.get_title(), *legend.get_texts()]:
        shown_text.set_parse_math(False)


def _dot_handle(key: str, sheet: _Sheet) -> Any:
    """The legend entry of the facility dots of one level."""
    from matplotlib.lines import Line2D

    return Line2D(
        [],
        [],
        linestyle="none",
        marker="o",
        markersize=_MARKER_SIZE[key] ** 0.5,
        markerfacecolor=color(key),
        markeredgecolor="#1a1a1a",
        markeredgewidth=0.4,
        label=f"{'企业' if sheet.zh else 'Facility'}: {label(key, sheet.lang)}",
    )


def _source_line(ax: Axes, sheet: _Sheet) -> None:
    """The source, the date the data are as of (数据截至) and the date the map was drawn, under the map."""
    note = sheet.source_note or tr("Source: riskmap", lang=sheet.lang)
    drawn = tr(
        "Drawn on {date}", lang=sheet.lang, date=_written_date(sheet.map_date or date.today(), sheet.lang)
    )
    parts = [note]
    if sheet.as_of is not None:
        parts.append(tr("Data as of {date}", lang=sheet.lang, date=_written_date(sheet.as_of, sheet.lang)))
    ax.annotate(
        "    ".join([*parts, drawn]),
        xy=(0.0, -0.01),
        xycoords="axes fraction",
        va="top",
        fontsize=8,
        color="#444444",
        parse_math=False,
    )


def _written_date(day: date, lang: str) -> str:
    """A date as a reader of ``lang`` writes it on a map: 2026年3月9日, or 2026-03-09."""
    return f"{day.year}年{day.month}月{day.day}日" if lang == "zh" else day.isoformat()


def render_figure(
    zones: Mapping[str, gpd.GeoDataFrame],
    facilities: gpd.GeoDataFrame | None,
    paths: Sequence[str | Path],
    *,
    title: str,
    source_note: str = "",
    lang: str = "zh",
    show_facilities: bool = True,
    facility_levels: Sequence[str] | None = None,
    map_date: date | None = None,
    dpi: int = 300,
    kind_labels: KindLabels | None = None,
    as_of: date | str | None = None,
    font: str | Path | None = None,
    warnings: list[str] | None = None,
) -> list[Path]:
    """Draw the finest zone layer in the four colours, coarser layers as outlines, and write each path.

    Parameters
    ----------
    zones
        Zone layers from finest to coarsest (``kind -> frame`` with ``level`` and ``zone_name``). The finest
        is filled; coarser ones are outlined and the first coarser one (towns) is labelled by name.
    facilities
        Scored facilities (``level``), drawn as dots; ``None`` for none.
    paths
        Output files; the format follows each suffix (``.png``, ``.svg``, ``.pdf``).
    title, source_note
        Title above the map; source line under it (default "数据来源: riskmap").
    lang
        ``zh`` or ``en`` legend text.
    show_facilities, facility_levels
        Whether to draw facilities, and which levels. By default all of them, or only red and orange when
        there are more than :data:`MAX_FACILITY_DOTS`; the legend says which are shown.
    map_date
        Date the map is drawn (制图日期), printed under the map (default today).
    dpi
        Resolution of raster formats (PNG).
    kind_labels
        The project's own labels of zone kinds (``{kind: {"zh": ..., "en": ...}}``); known kinds are labelled
        from ``styles/zone_kinds.toml`` (see :mod:`riskmap.zone_kinds`).
    as_of
        Date the levels are as of (数据截至; a date or ISO text), printed under the map unless ``None``.
    font
        A font file to write with (``[outputs] font``: e.g. ``simhei.ttf``) instead of an installed CJK font.
    warnings
        The run's warnings, told that no Chinese font was found; ``None``: a Python ``UserWarning``.

    Returns
    -------
    list of Path
        The files written, each atomically.

    Notes
    -----
    Chinese text needs a CJK font (Debian ``fonts-noto-cjk`` or ``fonts-wqy-microhei``, Windows SimHei or
    Microsoft YaHei, or ``font``); without one a warning says which to install and the labels fall back to
    English. PDFs embed the font as TrueType (Type 42) so the text stays
    text; SVGs carry the glyphs as paths so they render anywhere.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family, cjk = _figure_font(title, font, warnings)
    lang = lang if cjk else "en"
    as_of = date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    sheet = _Sheet(title, source_note, lang, map_date, cjk, kind_labels, as_of)
    with plt.rc_context(_rc(family)), pywarnings.catch_warnings():  # type: ignore[arg-type]
        if not cjk:  # said once above; not once per missing glyph
            pywarnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        fig = _draw(zones, facilities, sheet, _shown_levels(facilities, show_facilities, facility_levels))
        try:
            written = _save(fig, paths, dpi)
        finally:
            plt.close(fig)
    logger.debug("figure font: %s", family)
    return written


def render_run_figure(config: Config, result: RunResult, paths: Sequence[str | Path]) -> list[Path]:
    """A run's figure: map.png of ``riskmap run``, the report's map.

    The project's title, language, zone-kind labels and font (``[outputs] font``), the run's as-of date; a
    missing Chinese font is one of the run's warnings.
    """
    from riskmap.version import __version__

    font = config.outputs.font
    return render_figure(
        result.zones, result.facilities, paths, title=config.project.name, lang=config.project.lang,
        source_note=f"riskmap {__version__}", kind_labels=project_kind_labels(config),
        as_of=result.summary.get("as_of"), font=config.resolve(font) if font else None, warnings=result.warnings,
    )  # fmt: skip


def _figure_font(title: str, font: str | Path | None, warnings: list[str] | None) -> tuple[str | None, bool]:
    """The font family the figure writes with (``font``'s, else an installed CJK font's); whether it writes Chinese.

    When it does not, a warning says what to install.
    """
    family = font_file_family(font) if font is not None else cjk_font()
    cjk = family is not None and _writes_chinese(family)
    if not cjk:
        _say(_no_chinese_font(title, font, family), warnings)
    return family, cjk


def _no_chinese_font(title: str, font: str | Path | None, family: str | None) -> str:
    """The warning of a figure drawn without a Chinese font: what it lacks, and which font to install."""
    if font is not None:
        return tr(
            "[outputs] font: {file} ({family}) has no Chinese characters: the figure uses English labels and "
            "leaves out non-Latin zone names; give a Chinese font file (simhei.ttf, msyh.ttc, "
            "NotoSansCJK-Regular.ttc)", file=str(font), family=family,
        )  # fmt: skip
    if title.isascii():
        return tr(
            "no CJK font found: the figure uses English labels and leaves out non-Latin zone names; install "
            "one (Debian/Ubuntu: apt install fonts-noto-cjk; Windows: SimHei or Microsoft YaHei) or give a "
            'font file in the project file: [outputs] font = "path/to/font.ttf"'
        )
    return tr(
        "no CJK font found: the figure uses English labels, leaves out non-Latin zone names and shows the "
        "Chinese characters of the title as boxes; install one (Debian/Ubuntu: apt install fonts-noto-cjk; "
        "Windows: SimHei or Microsoft YaHei) or give a font file in the project file: [outputs] font = "
        '"path/to/font.ttf"'
    )


def _say(warning: str, warnings: list[str] | None) -> None:
    """A warning into the run's list (the CLI shows it, run.json keeps it), else as a Python warning."""
    if warnings is not None:
        if warning not in warnings:  # the report's own figure (no map.png) would say it again
            warnings.append(warning)
    else:
        pywarnings.warn(warning, stacklevel=4)  # the caller of render_figure


def _save(fig: Figure, paths: Sequence[str | Path], dpi: int) -> list[Path]:
    """Write the figure to each path, atomically, in the format of its suffix."""
    written = []
    try:
        for p in paths:
            target = Path(p)
            with atomic_path(target) as tmp:
                fig.savefig(
                    tmp,
                    dpi=dpi,
                    format=target.suffix.lstrip(".").lower(),
                    bbox_inches="tight",
                    pad_inches=0.15,
                    facecolor="white",
                )
            written.append(target)
    except OutputError:
        raise  # a full or read-only disk, said by atomic_path
    except (OSError, ValueError) as err:
        raise OutputError(f"cannot write the figure: {err}") from err
    return written
