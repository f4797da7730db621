"""The ``riskmap`` command: a thin shell over the library (argument handling, progress, summary)."""

from __future__ import annotations

import io
import json
import logging
import os
import platform
import shlex
import shutil
import sys
import traceback
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.table import Table

import riskmap.cli_help as cli_help
from riskmap.errors import OutputError, RiskmapError
from riskmap.i18n import LANGS, N_, current, language, locale_language, os_reason, set_language, tr
from riskmap.version import __version__

__all__ = ["app", "EXIT_INTERNAL", "CRASH_FILE"]

#: Exit status of an internal error (a bug in riskmap, not bad input): EX_SOFTWARE of sysexits.h.
EXIT_INTERNAL = 70
#: Where an internal error's traceback and context go: the output folder if known, else the current one.
CRASH_FILE = "riskmap-crash.txt"

#: What the command being run knows about its project and output folder, for the crash file.
_context: dict[str, Path | None] = {}


class _Guarded(typer.core.TyperGroup):
    """Every command runs under one guard: riskmap's errors are one line, anything else an internal error."""

    def main(self, args=None, *pargs, **kwargs):
        _context.clear()
        self._argv = list(args) if args is not None else sys.argv[1:]
        # Until the project is read: --lang, else the locale; the language of an earlier command (riskmap called
        # in-process, by a test or a notebook) never leaks into this one, nor this one's into the caller.
        with language(_lang_option(self._argv) or locale_language()):
            return super().main(args, *pargs, **kwargs)

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent, **extra)
        except (
            cli_help.click_errors.NoArgsIsHelpError
        ) as err:  # `riskmap` alone: its help, in the user's words
            out_console.print(cli_help.help_text(self, err.ctx), markup=False, highlight=False, end="")
            raise typer.Exit(2) from None
        except cli_help.click_errors.UsageError as err:
            _usage_failed(err)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except cli_help.click_errors.UsageError as err:
            _usage_failed(err)
        except BrokenPipeError:
            _reader_gone()
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException, KeyboardInterrupt):
            raise
        except RiskmapError as err:
            _fail(err)
        except Exception as err:
            full = _disk_full(err)
            if full is not None:
                _fail(full)
            _internal_error(err, getattr(self, "_argv", sys.argv[1:]))

    def format_help(self, ctx, formatter):
        formatter.write(cli_help.help_text(self, ctx))


class _Command(typer.core.TyperCommand):
    """A command whose help is in the user's language (typer's is English only)."""

    def format_help(self, ctx, formatter):
        formatter.write(cli_help.help_text(self, ctx))


def _reader_gone() -> None:
    """What riskmap printed went to a reader that has gone (``riskmap schema | head``): not a crash, nothing to report."""
    try:  # Python flushes stdout at exit: into nothing, not a second broken pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # no file descriptor (a test's captured output): nothing is left to flush
    raise typer.Exit(1)


def _usage_failed(err) -> None:
    """A command line riskmap cannot read: what is wrong, the usage, where the help is; exit status 2."""
    error = escape(_label(tr("error:")))
    console.print(f"[bold red]{error}[/]{escape(cli_help.usage_error_text(err))}", highlight=False)
    if err.ctx is not None:
        console.print(cli_help.usage_line(err.ctx), markup=False, highlight=False)
        console.print(cli_help.help_hint(err.ctx), markup=False, highlight=False)
    raise typer.Exit(2)


def _written(outputs: dict[str, Path]) -> None:
    """The files a command wrote, one per line (by their names in English; the path alone in Chinese)."""
    for name, path in outputs.items():
        shown = f"{name:<22} {path}" if current() == "en" else str(path)
        out_console.print(f"  {escape(shown)}", highlight=False)


def _lang_option(argv: list[str]) -> str | None:
    """The ``--lang`` of a command line, if it names a language (click says so of a wrong one)."""
    for i, arg in enumerate(argv):
        value = argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else arg.removeprefix("--lang=")
        if (arg == "--lang" or arg.startswith("--lang=")) and value in LANGS:
            return value
    return None


def _disk_full(err: Exception) -> OutputError | None:
    """A full disk met where no writer said so (a folder made, a file copied): one line, not a crash."""
    import errno

    if not isinstance(err, OSError) or err.errno not in (errno.ENOSPC, errno.EDQUOT):
        return None
    where = err.filename or _context.get("out") or tr("a file")
    return OutputError(
        tr("{file}: cannot write: the disk is full; free some space or choose another --out", file=where)
    )


def _crash_report(err: BaseException, argv: list[str]) -> str:
    """The crash file's text; passwords (a --postgis URL, a libpq message, PGPASSWORD's value) masked."""
    from riskmap.config.conninfo import mask_secrets

    lines = [
        tr("riskmap crash report: please send this file with a short description of what you ran."),
        tr("It may quote names or values from your data: look through it before sending."),
        "",
        f"time: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"command: riskmap {shlex.join(mask_secrets(a) for a in argv)}",
        f"riskmap: {__version__}",
        f"python: {sys.version.split()[0]} ({sys.executable})",
        f"platform: {platform.platform()}",
        f"project file: {_context.get('project') or '-'}",
        f"output folder: {_context.get('out') or '-'}",
        "",
        "".join(traceback.format_exception(err)),
    ]
    return mask_secrets("\n".join(lines))


def _crash_folders() -> list[Path]:
    """Where the crash file may go, in order: the output folder (if it exists), the current one, the temp one."""
    import tempfile

    folders = []
    out = _context.get("out")
    for where in (lambda: out if out is not None and out.is_dir() else None, Path.cwd, tempfile.gettempdir):
        try:
            folder = where()
        except (OSError, ValueError):  # a name too long, a current folder since removed
            continue
        if folder is not None:
            folders.append(Path(folder))
    return folders


def _write_crash_file(err: BaseException, argv: list[str]) -> tuple[Path | None, str]:
    """The crash file written (or None) and, if none could be, why not."""
    try:
        report = _crash_report(err, argv)
    except Exception as failed:  # noqa: BLE001 - the report is best effort; the exit status is not
        # No message: unmasked, it might hold a password.
        report = f"riskmap crash report (incomplete: {type(failed).__name__})\n\n{type(err).__name__}\n"
    why = tr("no folder to write it in")
    for folder in _crash_folders():
        try:
            (folder / CRASH_FILE).write_text(report, encoding="utf-8")
        except (OSError, ValueError) as failed:
            why = os_reason(failed)
            continue
        return folder / CRASH_FILE, ""
    return None, why


def _internal_error(err: BaseException, argv: list[str]) -> None:
    """One line on stderr, the traceback and context in riskmap-crash.txt, exit status 70.

    This never fails: a crash file that cannot be written is said in the same line, and the status is 70
    whatever happens here.
    """
    try:
        where, why = _write_crash_file(err, argv)
        try:
            from riskmap.config.conninfo import mask_secrets

            what = mask_secrets(" ".join(f"{type(err).__name__}: {err}".split()))
        except Exception:  # noqa: BLE001 - a str() that fails; a message that cannot be masked is not shown
            what = type(err).__name__
        what = what if len(what) <= 300 else what[:297] + "..."
        tail = (
            tr("please report it with {file}", file=where)
            if where
            else tr("please report it (the crash file could not be written: {why})", why=why)
        )
        prefix = escape(_label(tr("internal error:")))
        console.print(
            f"[bold red]{prefix}[/]{escape(what)} — {escape(tail)}",
            highlight=False,
            soft_wrap=True,
        )
    except Exception:  # noqa: BLE001, S110 - stderr itself failed: the exit status still says it
        pass
    raise typer.Exit(EXIT_INTERNAL)


app = typer.Typer(
    name="riskmap",
    help=N_("Work-safety risk zoning: four-colour risk maps (红橙黄蓝) and inspection plans."),
    cls=_Guarded,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
console = Console(stderr=True, soft_wrap=True)
out_console = Console(soft_wrap=True)

#: The progress line of each stage, translated where shown.
_STAGES = {
    "load": N_("loading"),
    "validate": N_("validating"),
    "score": N_("grading"),
    "adjust": N_("adjusting"),
    "zone": N_("zoning"),
    "supervise": N_("planning"),
    "write": N_("writing"),
    "map": N_("HTML map"),
    "figure": N_("figure"),
}


def _version(value: bool) -> None:
    if value:
        out_console.print(f"riskmap {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help=N_("Show the version and exit.")),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=N_("Show debug logging."))] = False,
) -> None:
    """riskmap: 安全风险四色分布图与差异化监管计划."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(_mask_log_record)


def _mask_log_record(record: logging.LogRecord) -> bool:
    """Logs go through the same password mask as messages (a library might log a connection string)."""
    from riskmap.config.conninfo import mask_secrets

    record.msg, record.args = mask_secrets(record.getMessage()), None
    return True


def _label(prefix: str) -> str:
    """A line's prefix (``error:``, ``警告：``) and the space after it: none after the full-width ``：``."""
    return prefix if prefix.endswith("：") else f"{prefix} "


def _fail(err: RiskmapError) -> None:
    from riskmap.config.conninfo import mask_secrets

    # Messages quote config sections such as [deductions]: escape them, or rich reads them as markup.
    error = escape(_label(tr("error:")))
    for line in mask_secrets(str(err)).splitlines() or [type(err).__name__]:
        console.print(f"[bold red]{error}[/]{escape(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _warn(warnings: list[str]) -> None:
    """The warnings of a command, one a line."""
    warning = escape(_label(tr("warning:")))
    for w in warnings:
        out_console.print(f"[yellow]{warning}[/]{escape(w)}")


def _as_of(value: str | None):
    """The --as-of date, parsed like the dates in the tables (2026-03-01, 2026/3/1, 2026年3月1日 ...)."""
    if value is None:
        return None
    from riskmap.adjust import parse_as_of

    try:
        return parse_as_of(value)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--as-of") from None


AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help=N_(
            "Evaluate dynamic adjustment (hidden dangers, accidents, standardisation) as of this date "
            "(default: adjustment.as_of, else today)."
        ),
        callback=_as_of,
    ),
]


Force = Annotated[
    bool,
    typer.Option(
        "--force",
        help=N_(
            "Overwrite files in the output directory that have riskmap's output names but that riskmap did "
            "not write (or that were changed since it did). Without it the run stops and names them."
        ),
    ),
]


def _where(project: Path | None = None, out: Path | None = None) -> None:
    """Remember the project file and output folder for a crash report."""
    if project is not None:
        _context["project"] = project.resolve()
    if out is not None:
        _context["out"] = out.resolve()


def _run_with_progress(config, out: Path | None, as_of=None, force: bool = False):
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from riskmap.pipeline import run

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("riskmap", total=None)

        def stage(name: str) -> None:
            if name.startswith("load:"):  # the input being read: a large workbook takes a while
                what = name.split(":", 1)[1]
                progress.update(task, description=tr("reading {what}", what=what))
            else:
                progress.update(task, description=tr(_STAGES[name]) if name in _STAGES else name)

        _where(out=out if out is not None else config.resolve(config.outputs.dir))
        return run(config, out, stage=stage, as_of=as_of, force=force)


def _plan_summary(s: dict) -> None:
    out_console.print(
        tr(
            "inspections planned for {year}: {planned} ({drawn} enterprises drawn by lot, seed {seed})",
            year=s["plan_year"],
            planned=s["inspections_planned"],
            drawn=s["enterprises_drawn_by_lot"],
            seed=s["draw_seed"],
        )
    )
    months = s.get("months") or []
    if months and months[0].get("capacity") is not None:
        t = Table(title=tr("monthly load"), show_lines=False)
        for col in (
            tr("month"),
            tr("planned"),
            tr("capacity"),
            tr("scheduled"),
            tr("shortfall (officer-days)"),
        ):
            t.add_column(col, justify="right")
        for m in months:
            t.add_row(
                str(m["month"]),
                str(m["planned"]),
                str(m["capacity"]),
                str(m["scheduled"]),
                f"{m['shortfall_officer_days']:g}",
            )
        out_console.print(t)
    elif months:
        per_month = " ".join(f"{_month(m['month'])} {m['planned']}" for m in months)
        out_console.print(tr("per month: {months}", months=per_month))


def _month(month: int) -> str:
    """A month as the plan's tables name it (3月, Mar)."""
    from riskmap.supervision import month_label

    return month_label(month, current())


def _rows_line(s: dict) -> str:
    """The accounting rule with the run's numbers: rows in = scored (+ not assessed, when any) + rejected."""
    if s["facilities_unassessed"]:
        return tr(
            "rows in {rows} = scored {scored} + not assessed {unassessed} + rejected {rejected}",
            rows=s["facilities_in"],
            scored=s["facilities_scored"],
            unassessed=s["facilities_unassessed"],
            rejected=s["facilities_rejected"],
        )
    return tr(
        "rows in {rows} = scored {scored} + rejected {rejected}",
        rows=s["facilities_in"],
        scored=s["facilities_scored"],
        rejected=s["facilities_rejected"],
    )


def _summary(result) -> None:
    from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED, label

    s = result.summary
    # 未评估 (not assessed) only when there is any: with unassessed = "grey", or a zone without graded facilities.
    shown = [*LEVEL_NAMES]
    if s["facilities_per_level"].get(NOT_ASSESSED) or any(
        c.get(NOT_ASSESSED) for c in s["zones_per_level"].values()
    ):
        shown.append(NOT_ASSESSED)
    t = Table(title=tr("riskmap summary"), show_lines=False)
    t.add_column("")
    for key in shown:
        t.add_column(label(key, current()), justify="right")
    t.add_row(tr("facilities"), *(str(s["facilities_per_level"].get(k, 0)) for k in shown))
    for kind, counts in s["zones_per_level"].items():
        t.add_row(escape(s.get("zone_labels", {}).get(kind) or kind), *(str(counts.get(k, 0)) for k in shown))
    out_console.print(t)
    out_console.print(_rows_line(s))
    if s["rejects_by_source"]:
        counts = tr("; ").join(f"{k} {v}" for k, v in s["rejects_by_source"].items())
        out_console.print(tr("rejects: {counts}", counts=counts), markup=False)
    adj = s.get("adjustment")
    if adj and adj["rules"]:
        moved = ", ".join(f"{name} {c['moved']}" for name, c in adj["rules"].items() if c["moved"])
        line = (
            tr(
                "dynamic adjustment as of {date}: {up} up, {down} down (moved by rule: {moved})",
                date=s["as_of"],
                up=adj["up"],
                down=adj["down"],
                moved=moved,
            )
            if moved
            else tr(
                "dynamic adjustment as of {date}: {up} up, {down} down",
                date=s["as_of"],
                up=adj["up"],
                down=adj["down"],
            )
        )
        out_console.print(line, highlight=False, markup=False)
    if s.get("decisions"):  # [decisions]: what the committee's table gave on the as-of date
        d = s["decisions"]
        out_console.print(
            tr(
                "expert decisions as of {date}: {applied} applied, {expired} expired, {future} not yet in force, "
                "{rejected} rejected (of {rows} rows)",
                date=s["as_of"],
                applied=d["applied"],
                expired=d["expired"],
                future=d["not_yet_in_force"],
                rejected=d["rejected"],
                rows=d["rows"],
            ),
            highlight=False,
            markup=False,
        )
    _plan_summary(s)
    _warn(result.warnings)
    _written(result.outputs)


Lang = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help=N_(
            "Language of the messages and outputs: zh or en; overrides [project] lang (default: the locale's)."
        ),
    ),
]
Embed = Annotated[
    bool,
    typer.Option(
        "--embed", help=N_("Fixed-size HTML map without full-page styling, for iframes and reports.")
    ),
]


class EngineName(StrEnum):
    memory = "memory"
    dask = "dask"


EngineOpt = Annotated[
    EngineName | None,
    typer.Option(
        "--engine",
        help=N_(
            "Where validation, zone assignment and scoring run: memory, or dask (needs riskmap[dask]); "
            "overrides [engine] name. Same results either way."
        ),
    ),
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help=N_(
            "Dask scheduler address (tcp://host:8786) for --engine dask; default: [engine] scheduler, else "
            "$DASK_SCHEDULER_ADDRESS, else a local cluster."
        ),
    ),
]


#: The options that set a key of the project file, and the key (:func:`riskmap.config.with_overrides`).
_OPTION_KEYS = {
    "--lang": "project.lang",
    "--embed": "outputs.embed",
    "--engine": "engine.name",
    "--scheduler": "engine.scheduler",
    "--postgis": "outputs.postgis",
    "--template": "outputs.report_template",
    "--cards": "outputs.report_cards",
    "--year": "supervision.year",
}


def _override(config, chosen: dict[str, object]):
    """The config with the options given on the command line (``None``: not given) set, validated again.

    A value the project file would not accept is the same error, naming the option: ``--year 1`` is
    "--year: supervision.year: 1 is outside the accepted range 2000 to 2100".
    """
    from riskmap.config import with_overrides

    given = {option: value for option, value in chosen.items() if value is not None}
    if "--scheduler" in given and given.get("--engine", config.engine.name) != "dask":
        raise typer.BadParameter(tr('--scheduler needs --engine dask (or [engine] name = "dask")'))
    if given:
        config = with_overrides(config, {_OPTION_KEYS[o]: v for o, v in given.items()}, ", ".join(given))
    set_language(config.project.lang)  # the project is read: its language from now on
    return config


def _options(lang=None, embed: bool = False, engine=None, scheduler=None, postgis=None) -> dict[str, object]:
    """The options of ``run`` and ``demo`` as :func:`_override` takes them."""
    return {
        "--lang": lang,
        "--embed": True if embed else None,
        "--engine": str(engine) if engine is not None else None,
        "--scheduler": scheduler,
        "--postgis": postgis,
    }


@app.command(
    cls=_Command, help=N_("Run the whole job on a project: grade, zone, plan, and write every output.")
)
def run(
    project: Annotated[Path, typer.Argument(help=N_("The project file (riskmap.toml)."))],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help=N_("Output directory (default: outputs.dir)."))
    ] = None,
    as_of: AsOf = None,
    lang: Lang = None,
    embed: Embed = False,
    engine: EngineOpt = None,
    scheduler: Scheduler = None,
    force: Force = False,
    postgis: Annotated[
        str | None,
        typer.Option(
            "--postgis",
            help=N_(
                'Also publish the result layers to PostGIS: "postgresql://user@host:5432/db" or "service=name" '
                "(password from PGPASSWORD, ~/.pgpass or the service file); see docs/postgis.md."
            ),
        ),
    ] = None,
) -> None:
    _run_project(project, out, as_of, lang, embed, engine, scheduler, force, postgis)


def _run_project(
    project: Path,
    out: Path | None,
    as_of,
    lang,
    embed,
    engine,
    scheduler,
    force: bool,
    postgis: str | None = None,
) -> None:
    """The body of ``run`` and ``demo``: load the project, run it with progress, show the summary."""
    from riskmap.config import load_config

    _where(project=project)
    try:
        config = _override(load_config(project), _options(lang, embed, engine, scheduler, postgis))
        result = _run_with_progress(config, out, as_of, force)
    except RiskmapError as err:
        _fail(err)
    _summary(result)


@app.command(
    cls=_Command, help=N_("Re-plan inspections (frequencies, draws, schedule) without re-rendering the maps.")
)
def plan(
    project: Annotated[Path, typer.Argument(help=N_("The project file (riskmap.toml)."))],
    year: Annotated[
        int | None, typer.Option("--year", help=N_("Plan year (default: supervision.year)."))
    ] = None,
    history: Annotated[
        Path | None,
        typer.Option(
            "--history", help=N_("Directory of earlier inspection_plan.csv files (coverage memory).")
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help=N_("Output directory (default: outputs.dir)."))
    ] = None,
    as_of: AsOf = None,
    engine: EngineOpt = None,
    scheduler: Scheduler = None,
    force: Force = False,
) -> None:
    from riskmap.config import load_config
    from riskmap.pipeline import plan as make_plan

    _where(project=project)
    try:
        chosen = {**_options(engine=engine, scheduler=scheduler), "--year": year}
        config = _override(load_config(project), chosen)
        _where(out=out if out is not None else config.resolve(config.outputs.dir))
        result = make_plan(config, out, history=history, as_of=as_of, force=force)
    except RiskmapError as err:
        _fail(err)
    _plan_summary(result.summary)
    _warn(result.warnings)
    _written(result.outputs)


@app.command(
    cls=_Command,
    help=N_(
        "How firm is each colour: re-grade and re-zone under each sensitivity variant of the project file."
    ),
)
def sensitivity(
    project: Annotated[
        Path, typer.Argument(help=N_("The project file (riskmap.toml), with [[sensitivity.variants]]."))
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help=N_("Output directory (default: outputs.dir)."))
    ] = None,
    as_of: AsOf = None,
    force: Force = False,
) -> None:
    from riskmap.config import load_config
    from riskmap.pipeline import sensitivity as assess
    from riskmap.sensitivity import CHANGED_BY

    _where(project=project)
    try:
        config = _override(load_config(project), {})
        _where(out=out if out is not None else config.resolve(config.outputs.dir))
        result = assess(config, out, as_of=as_of, force=force)
    except RiskmapError as err:
        _fail(err)
    firm = int((result.facilities[CHANGED_BY] == "").sum())
    out_console.print(
        tr(
            "facilities: {firm} of {count} keep their level under every variant",
            firm=firm,
            count=len(result.facilities),
        )
    )
    for kind, z in result.zones.items():
        zf = int((z[CHANGED_BY] == "").sum())
        out_console.print(
            tr(
                "zones ({kind}): {firm} of {count} keep their level under every variant",
                kind=kind,
                firm=zf,
                count=len(z),
            ),
            markup=False,
        )
    for row in result.variants.to_dict("records"):
        zones = ", ".join(
            f"{k[len('zones_changed_') :]} {v}" for k, v in row.items() if k.startswith("zones_changed_")
        )
        out_console.print(
            "  "
            + tr(
                "{variant}: {facilities} facilities, zones {zones}",
                variant=row["variant"],
                facilities=row["facilities_changed"],
                zones=zones,
            ),
            highlight=False,
            markup=False,
        )


@app.command(
    cls=_Command,
    help=N_("Run everything on the embedded demo district (滨江区, fictional) into the --out directory."),
)
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help=N_("Output directory."))] = Path("riskmap-demo"),
    as_of: AsOf = None,
    lang: Lang = None,
    embed: Embed = False,
    engine: EngineOpt = None,
    scheduler: Scheduler = None,
    force: Force = False,
) -> None:
    from riskmap._resources import demo_dir

    _run_project(demo_dir() / "riskmap.toml", out, as_of, lang, embed, engine, scheduler, force)


InitFrom = Annotated[
    Path | None,
    typer.Option(
        "--from",
        help=N_(
            "The enterprise register (CSV, XLSX/XLS, GeoPackage …): write a riskmap.toml for these files "
            "instead of copying the demo."
        ),
    ),
]
InitZones = Annotated[
    list[Path] | None,
    typer.Option(
        "--zones", help=N_("A zone file (villages, towns; every layer of a GeoPackage); repeat for several.")
    ),
]
InitTables = Annotated[
    list[str] | None,
    typer.Option(
        "--table",
        help=N_(
            "A related table as KIND=FILE (inventory, risk_points, deductions, hidden_dangers, accidents, "
            "standardisation, sensitive_sites, population); repeat for several."
        ),
    ),
]
InitHeaders = Annotated[
    Path | None,
    typer.Option(
        "--headers", help=N_("Your own header table (the shape of styles/starter_headers.toml), read first.")
    ),
]
InitForce = Annotated[
    bool,
    typer.Option("--force", help=N_("With --from: replace an existing riskmap.toml (and nothing else).")),
]


@app.command(
    cls=_Command,
    help=N_(
        "Write a working example project (the demo's), or with --from a riskmap.toml for your own files."
    ),
)
def init(
    directory: Annotated[
        Path, typer.Argument(help=N_("Directory for the new project (created; must be empty unless --from)."))
    ],
    register: InitFrom = None,
    zones: InitZones = None,
    tables: InitTables = None,
    headers: InitHeaders = None,
    force: InitForce = False,
    lang: Lang = None,
) -> None:
    if register is not None:
        _init_from(directory, register, zones or [], tables or [], headers, force)
        return
    if zones or tables or headers is not None:
        raise typer.BadParameter(tr("--zones, --table and --headers go with --from REGISTER"))
    from riskmap._resources import demo_dir

    try:
        if directory.exists() and not directory.is_dir():
            raise OutputError(
                tr(
                    "{directory}: is a file, not a directory; choose a new or empty directory",
                    directory=directory,
                )
            )
        if directory.exists() and any(directory.iterdir()):
            raise OutputError(
                tr("{directory} is not empty; choose a new or empty directory", directory=directory)
            )
        directory.mkdir(parents=True, exist_ok=True)
        for f in sorted(demo_dir().iterdir()):
            if f.is_file():
                shutil.copy2(f, directory / f.name)
    except OutputError as err:
        _fail(err)
    except OSError as err:
        _fail(
            OutputError(
                tr(
                    "{directory}: cannot write the example project there: {why}; choose another directory",
                    directory=directory,
                    why=os_reason(err),
                )
            )
        )
    out_console.print(tr("wrote an example project to {directory}", directory=directory), markup=False)
    out_console.print(tr("next: riskmap run {project}", project=directory / "riskmap.toml"), markup=False)


def _table_options(tables: list[str]) -> dict[str, Path]:
    """``--table KIND=FILE`` options as a mapping; a malformed one is a usage error."""
    found: dict[str, Path] = {}
    for option in tables:
        kind, sep, file = option.partition("=")
        if not sep or not kind.strip() or not file.strip():
            raise typer.BadParameter(
                tr("--table {option}: write KIND=FILE, e.g. --table inventory=危化品台账.xlsx", option=option)
            )
        found[kind.strip()] = Path(file.strip())
    return found


def _init_from(
    directory: Path, register: Path, zones: list[Path], tables: list[str], headers: Path | None, force: bool
) -> None:
    """``init --from``: write the project file, say what was recognised, guessed and is to check, validate it."""
    from riskmap.starter import PROJECT_FILE, refuse_existing, start_project, write_project

    _where(project=directory / PROJECT_FILE)
    try:
        refuse_existing(directory, force)  # before reading the files: the user's edits are never at risk
        project = start_project(directory, register, zones, _table_options(tables), headers)
        written = write_project(directory, project, force=force)
    except RiskmapError as err:
        _fail(err)
    out_console.print(tr("wrote {file}", file=written), markup=False, highlight=False)
    for title, notes in (
        (tr("recognised:"), project.recognised),
        (tr("guessed (check these):"), project.guessed),
        (tr("to check or decide (TODO lines in the file):"), project.to_check),
    ):
        if notes:
            out_console.print(f"[bold]{escape(title)}[/]")
            for note in notes:
                out_console.print(f"  {note}", markup=False, highlight=False)
    said = tr("riskmap validate {file}:", file=written)
    out_console.print(f"[bold]{escape(said)}[/]")
    try:
        validate(written, show=10, as_of=None, engine=None, scheduler=None, lang=None)
    except typer.Exit:
        pass  # the file is written; validate has said what the inputs hold


@app.command(
    cls=_Command,
    help=N_("Check the config and the inputs without writing outputs; list every problem; exit 1 if any."),
)
def validate(
    project: Annotated[Path, typer.Argument(help=N_("The project file (riskmap.toml)."))],
    show: Annotated[
        int,
        typer.Option("--show", help=N_("Problem rows listed per file (0: all); every row is in the counts.")),
    ] = 50,
    as_of: AsOf = None,
    engine: EngineOpt = None,
    scheduler: Scheduler = None,
    lang: Lang = None,
) -> None:
    from riskmap.config import load_config
    from riskmap.config.conninfo import mask_secrets
    from riskmap.pipeline import check, preflight
    from riskmap.rejects import localised_rejects

    _where(project=project)
    try:
        config = _override(load_config(project), _options(lang, engine=engine, scheduler=scheduler))
        problems = preflight(config)
        if problems:
            said = tr("{n} problem(s) with the input files:", n=len(problems))
            out_console.print(f"[bold]{escape(said)}[/]")
            for problem in problems:
                out_console.print(f"  {mask_secrets(problem)}", highlight=False, markup=False)
            raise typer.Exit(1)
        result = check(config, as_of=as_of)
    except RiskmapError as err:
        _fail(err)
    rejects = localised_rejects(result.rejects)  # the reasons in the command's language
    _warn(result.warnings)
    s = result.summary
    if rejects.empty:
        out_console.print(tr("ok: {n} facilities, no problems found", n=s["facilities_in"]))
        return
    said = tr("{n} problem row(s), most frequent first:", n=len(rejects))
    out_console.print(f"[bold]{escape(said)}[/]")
    for line in s["top_reject_reasons"]:
        out_console.print(f"  {line}", highlight=False, markup=False)
    for source, group in rejects.groupby("source", sort=True):
        said = tr("{source}: {n} problem row(s)", source=source, n=len(group))
        out_console.print(f"[bold]{escape(said)}[/]")
        shown = group if show <= 0 else group.head(show)
        empty = tr("(empty)")
        for r in shown.itertuples():
            line = tr(
                '{source} row {row}, field "{field}": {value} — {reason}',
                source=source,
                row=int(r.row) if r.row == r.row else "?",
                field=r.field,
                value=repr(r.value) if str(r.value) != "" else empty,
                reason=r.reason,
            )
            out_console.print(f"  {line}", highlight=False, markup=False)
        if len(shown) < len(group):
            more = tr("... {n} more (riskmap validate --show 0 lists all)", n=len(group) - len(shown))
            out_console.print(f"  {more}", highlight=False, markup=False)
    out_console.print(_rows_line(s))
    raise typer.Exit(1)


#: The kinds of change ``riskmap diff`` counts, translated where shown.
_CHANGES = {
    "up": N_("up"),
    "down": N_("down"),
    "new": N_("new"),
    "removed": N_("removed"),
    "unchanged": N_("unchanged"),
}

CompareAnyway = Annotated[
    bool,
    typer.Option(
        "--compare-anyway",
        help=N_(
            "Compare even when the two runs look like runs of different districts (another district_code, or "
            "almost no facility id in common); without it riskmap stops and says why."
        ),
    ),
]


@app.command(
    cls=_Command,
    help=N_("What changed between two runs: levels up or down, new and removed facilities, and why."),
)
def diff(
    old: Annotated[
        Path, typer.Argument(help=N_("The riskmap.gpkg of the earlier run (or its output folder)."))
    ],
    new: Annotated[
        Path, typer.Argument(help=N_("The riskmap.gpkg of the later run (or its output folder)."))
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help=N_("Write changes.gpkg, changes.csv, changes.xlsx and changes.html here.")
        ),
    ] = None,
    show: Annotated[int, typer.Option("--show", help=N_("Changed facilities listed (0: none)."))] = 20,
    force: Force = False,
    anyway: CompareAnyway = False,
) -> None:
    from riskmap.compare import CHANGE_KINDS, diff_runs

    _where(out=out)
    try:
        result = diff_runs(old, new, compare_anyway=anyway)
        written = {}
        if out is not None:
            from riskmap.outputs.changes import write_diff

            written = write_diff(result, out, force=force)
    except RiskmapError as err:
        _fail(err)
    from riskmap.levels import label

    t = Table(title=tr("changes"), show_lines=False)
    t.add_column(tr("layer"))
    for k in (*CHANGE_KINDS, "unchanged"):
        t.add_column(tr(_CHANGES[k]), justify="right")
    for layer, c in result.counts.items():
        t.add_row(escape(layer), *(str(c[k]) for k in (*CHANGE_KINDS, "unchanged")))
    out_console.print(t)
    fac = result.changes.get("facilities")
    if fac is not None and show > 0:
        lang = current()
        for r in fac.head(show).itertuples():
            why = r.reasons_added or r.reasons_removed
            before, after = (label(v, lang) if v else "—" for v in (r.level_old, r.level_new))
            change = tr(_CHANGES[r.change])
            line = f"  {change:<8} {r.id} {r.name}: {before} → {after}"
            line += f" [{r.decision}]" if r.decision else ""  # an expert decision made the change
            out_console.print(line + (f" ({why})" if why else ""), highlight=False, markup=False)
        if len(fac) > show:
            out_console.print(
                "  "
                + tr(
                    "... {count} more (--show 0 hides the list; --out writes them all)", count=len(fac) - show
                )
            )
    for name, path in written.items():
        out_console.print(f"  {name:<12} {escape(str(path))}", highlight=False)


class Cards(StrEnum):
    red_orange = "red-orange"
    all = "all"
    none = "none"


@app.command(
    cls=_Command,
    help=N_(
        "Write the district report (report.docx, editable in Word/WPS) and risk notification cards (cards.docx)."
    ),
)
def report(
    project: Annotated[Path, typer.Argument(help=N_("The project file (riskmap.toml)."))],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help=N_("Output directory (default: outputs.dir)."))
    ] = None,
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous", help=N_("An earlier run's output folder: adds what changed since (riskmap diff).")
        ),
    ] = None,
    template: Annotated[
        Path | None,
        typer.Option(
            "--template",
            help=N_("An office's .docx (styles, header/footer 红头); overrides outputs.report_template."),
        ),
    ] = None,
    cards: Annotated[
        Cards | None,
        typer.Option(
            "--cards", help=N_("Risk notification cards (cards.docx): red-orange (default), all or none.")
        ),
    ] = None,
    as_of: AsOf = None,
    lang: Lang = None,
    force: Force = False,
    anyway: CompareAnyway = False,
) -> None:
    from riskmap.config import load_config
    from riskmap.reporting import report as make_report

    _where(project=project)
    try:
        chosen = {
            **_options(lang),
            "--template": str(template.resolve()) if template is not None else None,
            "--cards": str(cards.value) if cards is not None else None,
        }
        config = _override(load_config(project), chosen)
        _where(out=out if out is not None else config.resolve(config.outputs.dir))
        result = make_report(config, out, previous=previous, as_of=as_of, force=force, compare_anyway=anyway)
    except RiskmapError as err:
        _fail(err)
    _warn(result.warnings)
    _written(result.outputs)


@app.command(cls=_Command, help=N_("Print the JSON Schema of the project file (for editor completion)."))
def schema() -> None:
    from riskmap.config import json_schema

    sys.stdout.write(json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n")
