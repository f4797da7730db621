"""``riskmap report``: run the stages and write the Word report (report.docx, cards.docx) as one output set.

The manifest is ``report.json``; ``riskmap run`` writes the same files into its own set when ``[outputs] report``
is true (:func:`riskmap.outputs.report.write_report_files`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from riskmap.config import Config
from riskmap.pipeline import RunResult, Stage, check

__all__ = ["report", "input_files"]

#: Related tables whose files are inputs when the project file names them.
_TABLES = ("inventory", "risk_points", "deductions", "hidden_dangers", "accidents", "standardisation")


def input_files(config: Config) -> dict[str, dict[str, str]]:
    """The project's input files with their SHA-256, paths relative to the project file (as in run.json)."""
    from riskmap.outputs.runfolder import input_provenance

    files: dict[str, Path] = {"facilities": config.resolve(config.facilities.path)}
    for zc in config.zones:
        if zc.path is not None:
            files[f"zones_{zc.kind}"] = config.resolve(zc.path)
    for table in _TABLES:
        tcfg = getattr(config, table, None)
        if tcfg is not None:
            files[table] = config.resolve(tcfg.path)
    for key, path in (
        ("population", config.population.path if config.population else None),
        ("sensitive_sites", config.sensitive_sites.path if config.sensitive_sites else None),
        ("roster", config.supervision.roster),
    ):
        if path is not None:
            files[key] = config.resolve(path)
    return input_provenance(config.base_dir, {key: p for key, p in files.items() if p.is_file()})


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
    from riskmap.outputs.run import manifest_doc, run_provenance, set_outputs
    from riskmap.outputs.runfolder import open_output_set

    say = stage or (lambda _s: None)
    started = datetime.now(UTC)
    result = check(config, say, as_of)
    say("write")
    provenance = run_provenance(config, input_files(config), started)
    out = Path(out_dir) if out_dir is not None else config.resolve(config.outputs.dir)
    with open_output_set(out, "report.json", force) as outset:
        staged = write_report_files(config, result, outset.staging, provenance, previous=previous)
        manifest = outset.commit(manifest_doc(result, provenance, staged))
    return set_outputs(result, outset, staged, "report_json", manifest)
