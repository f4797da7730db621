"""``riskmap report``: run the stages and write the Word report (report.docx, cards.docx) as one output set.

The manifest is ``report.json``; ``riskmap run`` writes the same files into its own set when ``[outputs] report``
is true (:func:`riskmap.outputs.report.write_report_files`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from riskmap.columns import FACILITY_ID
from riskmap.config import Config
from riskmap.i18n import in_project_language, tr
from riskmap.pipeline import RunResult, Stage, check

__all__ = ["report"]


@in_project_language
def report(
    config: Config,
    out_dir: str | Path | None = None,
    previous: Path | None = None,
    stage: Stage | None = None,
    as_of: date | str | None = None,
    force: bool = False,
    compare_anyway: bool = False,
) -> RunResult:
    """Run every stage (no maps) and write report.docx and cards.docx into ``out_dir`` (default ``outputs.dir``).

    ``previous`` is an earlier run's output folder (or its riskmap.gpkg): the report gets a what-changed section
    (as ``riskmap diff``). It is read before grading, so a damaged file stops the command at once; a run of
    another district (its ``district_code``, or almost no facility id in common) is refused unless
    ``compare_anyway``. The files are written as one set with ``report.json`` (summary, warnings, provenance,
    manifest) last.

    Raises
    ------
    RiskmapError
        A config, input or output problem; a previous run that cannot be read or is of another district.
        The output folder, the template and ``previous`` are checked before the stages run.
    """
    from riskmap.compare import check_same_district, open_run
    from riskmap.outputs.report import write_report_files
    from riskmap.outputs.run import check_outputs, manifest_doc, run_provenance, set_outputs
    from riskmap.outputs.runfolder import input_provenance, open_output_set

    say = stage or (lambda _s: None)
    started = datetime.now(UTC)
    # Before minutes of grading: the output folder and the template can be used, the earlier run read.
    out = check_outputs(config, out_dir, report=True)
    prior = open_run(previous) if previous is not None else None
    code = config.project.district_code
    if prior is not None and not compare_anyway:
        check_same_district(prior, tr("this run"), code)  # the district codes: before minutes of grading
    result = check(config, say, as_of)
    if prior is not None and not compare_anyway:
        check_same_district(prior, tr("this run"), code, result.facilities[FACILITY_ID])
    say("write")
    provenance = run_provenance(config, input_provenance(config.base_dir, result.inputs), started)
    with open_output_set(out, "report.json", force) as outset:
        staged = write_report_files(config, result, outset.staging, provenance, previous=prior)
        manifest = outset.commit(manifest_doc(result, provenance, staged))
    return set_outputs(result, outset, staged, "report_json", manifest)
