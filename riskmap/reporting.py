"""``riskmap report``: run the stages and write the Word report (report.docx, cards.docx) as one output set.

The manifest is ``report.json``; ``riskmap run`` writes the same files into its own set when ``[outputs] report``
is true (:func:`riskmap.outputs.report.write_report_files`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from riskmap.config import Config
from riskmap.pipeline import RunResult, Stage, check

__all__ = ["report"]


def report(
    config: Config,
    out_dir: str | Path | None = None,
    previous: Path | None = None,
    stage: Stage | None = None,
    as_of: date | str | None = None,
    force: bool = False,
) -> RunResult:
    """Run every stage (no maps) and write report.docx and cards.docx into ``out_dir`` (default ``outputs.dir``).

    ``previous`` is an earlier run's output folder: the report gets a what-changed section (as ``riskmap diff``).
    The files are written as one set with ``report.json`` (summary, warnings, provenance, manifest) last.

    Raises
    ------
    RiskmapError
        A config, input or output problem; the output folder, the template and ``previous`` are checked
        before the stages run.
    """
    from riskmap.outputs.report import write_report_files
    from riskmap.outputs.run import check_outputs, manifest_doc, run_provenance, set_outputs
    from riskmap.outputs.runfolder import input_provenance, open_output_set

    say = stage or (lambda _s: None)
    started = datetime.now(UTC)
    # Before minutes of grading: the output folder, the template and the earlier run can be used.
    out = check_outputs(config, out_dir, report=True, previous=previous)
    result = check(config, say, as_of)
    say("write")
    provenance = run_provenance(config, input_provenance(config.base_dir, result.inputs), started)
    with open_output_set(out, "report.json", force) as outset:
        staged = write_report_files(config, result, outset.staging, provenance, previous=previous)
        manifest = outset.commit(manifest_doc(result, provenance, staged))
    return set_outputs(result, outset, staged, "report_json", manifest)
