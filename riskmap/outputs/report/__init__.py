"""The district report (report.docx, 一图一表) and the risk notification cards (cards.docx), editable in Word/WPS.

A report writer hands the document in as it is: a body of at most ~15 pages (一图一表: title, a summary in
sentences, the four-colour figure with the zone table, what changed since the previous run, the inspection plan,
the data quality and the rules in sentences) and an annex (附件: the major/considerable-risk enterprise lists,
every rejected row), after a section break or as report-annex.xlsx. Every number in the summary comes from the
same values as a table of the document.

The package by job: ``text`` (the zh/en words), ``wordml`` (writing WordprocessingML: fonts, tables, sections),
``numbers`` (the values every sentence and table reads), ``sections`` (the body, section by section), ``annex``
and ``cards``; here, the report files of an output set. The rules' sentences are :mod:`riskmap.outputs.rules`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskmap.outputs.report.annex import ANNEX_XLSX, write_annex_xlsx
from riskmap.outputs.report.cards import write_cards
from riskmap.outputs.report.numbers import report_numbers
from riskmap.outputs.report.sections import write_report
from riskmap.outputs.report.wordml import default_template

if TYPE_CHECKING:
    from riskmap.compare import RunDiff, SavedRun
    from riskmap.config import Config
    from riskmap.results import RunResult

__all__ = ["write_report", "write_cards", "write_report_files", "default_template", "report_numbers"]


def _changes_since(previous: SavedRun, result: RunResult, lang: str) -> RunDiff:
    """What changed from the ``previous`` run to this one (riskmap diff's comparison, in ``lang``)."""
    from riskmap.compare import compare_runs

    old = previous.layers
    new = {"facilities": result.facilities, **{f"zones_{k}": z for k, z in result.zones.items()}}
    if (
        lang == "en"
    ):  # compare the English reasons where both runs have them (older runs' zones lack reason_en)

        def english(layers: dict[str, Any]) -> dict[str, Any]:
            out = {}
            for name, g in layers.items():
                col, en = ("reasons", "reasons_en") if name == "facilities" else ("reason", "reason_en")
                if en in g:
                    out[name] = g.assign(**{col: g[en]})
                elif f"{col}_zh" not in g:  # an English run's layers have it in col already (and col_zh)
                    out[name] = g.assign(**{col: ""})
                else:
                    out[name] = g
            return out

        old, new = english(old), english(new)
    return compare_runs(old, new)


def write_report_files(
    config: Config,
    result: RunResult,
    out: Path,
    provenance: dict[str, Any],
    figure: Path | None = None,
    previous: SavedRun | None = None,
) -> dict[str, Path]:
    """Write report.docx (and cards.docx per ``outputs.report_cards``) into ``out``, a staging folder.

    The annex (the red and orange lists, every rejected row) goes into report.docx after a section break, or with
    ``[outputs] report_annex = "xlsx"`` into report-annex.xlsx beside it (output key ``report_annex_xlsx``).

    ``figure`` is the run's map.png; without one the same figure is drawn into a temporary folder. ``previous``
    is an earlier run (:func:`riskmap.compare.open_run`): the report gets a what-changed section.
    Returns the paths by output key (``report_docx``, ``report_annex_xlsx``, ``cards_docx``).
    """
    import tempfile

    lang = config.project.lang
    template = config.resolve(config.outputs.report_template) if config.outputs.report_template else None
    changes = _changes_since(previous, result, lang) if previous is not None else None
    written: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="riskmap-report-") as tmp:
        if figure is None:
            from riskmap.outputs.figure import render_run_figure

            figure = render_run_figure(config, result, [Path(tmp) / "map.png"])[0]
        annex_mode = config.outputs.report_annex
        annex = write_report(
            result, out / "report.docx", config=config, provenance=provenance, figure=figure, changes=changes,
            lang=lang, template=template, annex_mode=annex_mode,
        )  # fmt: skip
        written["report_docx"] = out / "report.docx"
        if annex_mode == "xlsx":
            written["report_annex_xlsx"] = write_annex_xlsx(annex, out / ANNEX_XLSX)
    cards = write_cards(
        result,
        out / "cards.docx",
        config=config,
        which=config.outputs.report_cards,
        lang=lang,
        template=template,
    )
    if cards is not None:
        written["cards_docx"] = cards
    return written
