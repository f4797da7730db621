"""``riskmap report``: run the stages and write the Word report (report.docx, cards.docx) as one output set.

The manifest is ``report.json``; ``riskmap run`` writes the same files into its own set when ``[outputs] report``
is true (:func:`riskmap.outputs.report.write_report_files`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from riskmap.config import Config, config_hash
from riskmap.pipeline import RunResult, Stage, check
from riskmap.version import __version__

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
        A config, input or output problem.
    """
    from riskmap.outputs.report import write_report_files
    from riskmap.outputs.runfolder import open_output_set, provenance_inputs

    say = stage or (lambda _s: None)
    started = datetime.now(UTC)
    result = check(config, say, as_of)
    say("write")
    provenance: dict[str, Any] = {
        "riskmap_version": __version__,
        "config_hash": config_hash(config),
        "engine": config.engine.name,
        "inputs": provenance_inputs(config.base_dir, result.inputs),
        "started": started.isoformat(timespec="seconds"),
    }
    out = Path(out_dir) if out_dir is not None else config.resolve(config.outputs.dir)
    with open_output_set(out, "report.json", force) as outset:
        staged = write_report_files(config, result, outset.staging, provenance, previous=previous)
        doc = {
            "summary": result.summary,
            "warnings": result.warnings,
            "provenance": {**provenance, "finished": datetime.now(UTC).isoformat(timespec="seconds")},
            "outputs": {k: p.name for k, p in staged.items()},
        }
        manifest = outset.commit(doc)
    result.warnings.extend(outset.warnings)
    result.outputs = {k: outset.final(p) for k, p in staged.items()}
    result.outputs["report_json"] = manifest
    return result
