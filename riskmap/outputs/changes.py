"""Writing a run comparison: a GeoPackage of changes, CSV/XLSX tables and a small HTML page."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from riskmap.compare import CHANGE_KINDS, RunDiff
from riskmap.io.atomic import atomic_write_text
from riskmap.levels import color
from riskmap.outputs.gpkg import write_geopackage
from riskmap.outputs.tables import write_csv, write_xlsx

__all__ = ["write_diff", "render_diff_html"]

_KIND_ZH = {"up": "升级", "down": "降级", "new": "新增", "removed": "移除"}


def _summary_table(diff: RunDiff) -> pd.DataFrame:
    rows = [{"layer": layer, **counts} for layer, counts in diff.counts.items()]
    return pd.DataFrame(rows, columns=["layer", *CHANGE_KINDS, "unchanged"])


def render_diff_html(diff: RunDiff, title: str = "风险等级变化 / level changes") -> str:
    """A self-contained page: counts per layer, then every change with both levels and the reasons that moved.

    Every value is HTML-escaped (names and reasons are user data).
    """
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>body{{font-family:sans-serif;margin:1.5em}}"
        "table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #999;padding:2px 6px;"
        "vertical-align:top;font-size:13px}th{background:#eee}.lv{font-weight:bold;text-shadow:0 0 2px #fff}"
        "</style></head><body>",
        f"<h1>{esc(title)}</h1><table><tr><th>layer</th>"
        + "".join(f"<th>{esc(_KIND_ZH[k])} {k}</th>" for k in CHANGE_KINDS)
        + "<th>不变 unchanged</th></tr>",
    ]
    for layer, c in diff.counts.items():
        cells = "".join(f"<td>{c[k]}</td>" for k in (*CHANGE_KINDS, "unchanged"))
        parts.append(f"<tr><td>{esc(layer)}</td>{cells}</tr>")
    parts.append("</table>")

    def level_cell(key: str, label: str) -> str:
        if not key:
            return "<td></td>"
        try:
            bg = color(key)
        except KeyError:
            bg = "#ffffff"
        return f"<td class='lv' style='background:{esc(bg)}'>{esc(label)}</td>"

    for layer, changes in diff.changes.items():
        if not len(changes):
            continue
        parts.append(
            f"<h2>{esc(layer)}</h2><table><tr><th>change</th><th>id</th><th>name</th><th>old</th><th>new</th>"
            "<th>研判 decision</th><th>reasons added</th><th>reasons removed</th></tr>"
        )
        for r in changes.itertuples():
            parts.append(
                f"<tr><td>{esc(_KIND_ZH[str(r.change)])}</td><td>{esc(str(r.id))}</td><td>{esc(str(r.name))}</td>"
                + level_cell(str(r.level_old), str(r.level_old_zh))
                + level_cell(str(r.level_new), str(r.level_new_zh))
                + f"<td>{esc(str(r.decision))}</td>"
                + f"<td>{esc(str(r.reasons_added))}</td><td>{esc(str(r.reasons_removed))}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _plain_counts(diff: RunDiff) -> dict[str, dict[str, int]]:
    return {layer: {k: int(v) for k, v in c.items()} for layer, c in diff.counts.items()}


def write_diff(diff: RunDiff, out_dir: str | Path, force: bool = False) -> dict[str, Path]:
    """Write ``changes.gpkg`` (a ``changes_<layer>`` layer each), ``changes.csv``, ``changes.xlsx``, ``changes.html``.

    The GeoPackage layers carry ``level`` (the new level, or the old one of a removed facility), so QGIS opens
    them in the four colours. The files are written as one set, ``changes.json`` last with the counts and the
    manifest of the files (see :mod:`riskmap.outputs.runfolder`); ``force`` overwrites files of the same names
    that riskmap did not write.
    """
    from riskmap.outputs.runfolder import open_output_set

    with open_output_set(out_dir, "changes.json", force) as outset:
        out = outset.staging
        table = diff.table()
        staged = {
            "geopackage": write_geopackage(
                out / "changes.gpkg", {f"changes_{k}": v for k, v in diff.changes.items()}
            ),
            "csv": write_csv(table, out / "changes.csv"),
            "xlsx": write_xlsx(
                {
                    "summary": _summary_table(diff),
                    **{k: pd.DataFrame(v.drop(columns=v.geometry.name)) for k, v in diff.changes.items()},
                },
                out / "changes.xlsx",
            ),
            "html": atomic_write_text(out / "changes.html", render_diff_html(diff)),
        }
        manifest = outset.commit({"counts": _plain_counts(diff), "warnings": []})
    written = {k: outset.final(p) for k, p in staged.items()}
    written["json"] = manifest
    return written
