"""The one reader of a project's input files: facilities, zones, related tables, sensitive sites, roster.

The pipeline, ``riskmap validate`` (its file checks), the engines and the tests read a project through here,
so that a file is read one way and a problem with it is reported with one message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import geopandas as gpd
import pandas as pd

from riskmap.adjust import EVENT_TABLES
from riskmap.columns import FACILITY_ID, INSPECTIONS
from riskmap.config import Config
from riskmap.errors import InputError
from riskmap.i18n import Msg, tr
from riskmap.io.inputfiles import InputFile, check_unchanged, hash_inputs, read_hashed
from riskmap.io.postgis import is_database, read_postgis
from riskmap.io.raster import raster_warnings
from riskmap.io.tables import READ_WARNINGS, ROW, read_table
from riskmap.io.vector import VECTOR_SUFFIXES, read_vector
from riskmap.methods import METHODS
from riskmap.rejects import input_sources
from riskmap.zone_layers import load_zones

__all__ = [
    "ProjectInputs",
    "read_inputs",
    "read_facilities",
    "read_related",
    "read_decisions",
    "read_roster",
    "read_earlier_plans",
    "required_tables",
]


@dataclass
class ProjectInputs:
    """A project's inputs as read: text rows (with ``_row``) and zone layers, not yet validated."""

    #: Facility rows as read (``read_table`` text or ``read_vector`` features); see :meth:`take_facilities`.
    facilities: pd.DataFrame
    #: The facility file's name in the rejects (with the sheet when a related table shares the workbook).
    source: str
    #: Zone layers from :func:`riskmap.zone_layers.load_zones` (grids are made once facilities are known).
    zones: dict[str, gpd.GeoDataFrame]
    #: The related tables the configured methods read (inventory, risk points, deductions), by table name.
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: Hidden dangers, accidents and standardisation grades, when configured.
    events: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: Sensitive sites (schools, hospitals ...) as read, when configured.
    sites: pd.DataFrame | None = None
    #: The committee's decisions (``[decisions]``) as read, when configured.
    decisions: pd.DataFrame | None = None
    #: Every input file by key, hashed when it was read (the provenance in run.json).
    files: dict[str, InputFile] = field(default_factory=dict)
    #: Warnings from reading (repaired geometries, encodings, the district code ...), in reading order.
    warnings: list[str] = field(default_factory=list)
    #: Facility rows in the file: every one is scored or rejected.
    n_facilities: int = 0
    #: Rows of each related and event table as read, and its name in the rejects.
    table_rows: dict[str, int] = field(default_factory=dict)
    table_sources: dict[str, str] = field(default_factory=dict)

    @property
    def paths(self) -> dict[str, Path]:
        """Every input file's path, by key."""
        return {k: f.path for k, f in self.files.items()}

    def check_late_reads(self) -> None:
        """Stop if a file read after the load stage (the population raster) changed since it was hashed."""
        check_unchanged(self.files, ["population"])

    def take_facilities(self) -> pd.DataFrame:
        """The facility rows, handed over and forgotten here (hundreds of MB of text at province size)."""
        raw, self.facilities = self.facilities, self.facilities.iloc[:0]
        return raw

    def take_tables(self) -> dict[str, pd.DataFrame]:
        """The related tables, handed over and forgotten here (the engines free them once validated)."""
        tables, self.tables = self.tables, {}
        return tables


def required_tables(config: Config) -> dict[str, set[str]]:
    """The related tables the configured methods read, with the canonical columns each needs."""
    needs: dict[str, set[str]] = {}
    for name, method in METHODS.items():
        if method.table is not None and config.uses_method(name):
            needs.setdefault(method.table, set()).update(method.columns)
    return needs


def _read_any(
    path: Path,
    layer: str | list[str] | None,
    encoding: str,
    crs: str | None,
    where: str,
    expect: list[str] | None = None,
    warnings: list[str] | None = None,
    header_rows: int | None = None,
) -> pd.DataFrame:
    if path.suffix.lower() in VECTOR_SUFFIXES:
        if isinstance(layer, list):
            raise InputError(
                tr(
                    "{file}: {where}.layer: a list of sheets is for workbooks; name one layer",
                    file=path,
                    where=where,
                )
            )
        return read_vector(path, layer=layer, crs=crs, where=where, warnings=warnings)
    return read_table(path, sheet=layer, encoding=encoding, expect=expect, header_rows=header_rows)


def read_facilities(config: Config, warnings: list[str] | None = None) -> pd.DataFrame:
    """The facility rows as read: a table's text, or a vector layer's features (both with ``_row``)."""
    fc = config.facilities
    if is_database(fc):
        return read_postgis(fc, crs=fc.crs, where="facilities", warnings=warnings)
    path = config.resolve(fc.path)
    expect = [fc.id, fc.name, fc.sector]
    return _read_any(path, fc.layer, fc.encoding, fc.crs, "facilities", expect, warnings, fc.header_rows)


def read_related(config: Config, table: str) -> pd.DataFrame:
    """A related table (``inventory``, ``hidden_dangers`` ...) read as text, as the engines take it."""
    tcfg = getattr(config, table)
    if is_database(tcfg):
        return read_postgis(tcfg, crs=None, where=table)
    path = config.resolve(tcfg.path)
    return read_table(
        path,
        sheet=tcfg.layer,
        encoding=tcfg.encoding,
        expect=[tcfg.columns.get(FACILITY_ID, FACILITY_ID)],
        header_rows=tcfg.header_rows,
    )


def read_decisions(config: Config) -> pd.DataFrame:
    """The ``[decisions]`` table read as text (its columns are checked when it is validated)."""
    dcfg = config.decisions
    assert dcfg is not None
    if is_database(dcfg):
        return read_postgis(dcfg, crs=None, where="decisions")
    return read_table(
        config.resolve(dcfg.path),
        sheet=dcfg.layer,
        encoding=dcfg.encoding,
        expect=[dcfg.columns.get("target", "target")],
        header_rows=dcfg.header_rows,
    )


def _check_required(config: Config) -> list[str]:
    """The related tables the configured methods read; a missing one stops the run and names its users."""
    tables = required_tables(config)
    for table in tables:
        if getattr(config, table) is None:
            users = ", ".join(n for n, m in METHODS.items() if m.table == table and config.uses_method(n))
            raise InputError(
                tr(
                    "method {methods} needs the [{table}] table; add [{table}] path = ... to the project file",
                    methods=users,
                    table=table,
                )
            )
    return list(tables)


def _district_code_warnings(config: Config) -> list[str]:
    """``project.district_code`` is the 6-digit county code; anything else is a typo (it seeds the draw)."""
    code = config.project.district_code
    if code == "" or (len(code) == 6 and code.isascii() and code.isdigit()):
        return []
    return [
        tr(
            'project.district_code {code} is not a 6-digit county code (统计用区划代码, e.g. "320115"); it is part '
            "of the published random seed of the inspection draw",
            code=repr(code),
        )
    ]


#: The columns of riskmap's own inspection_plan.csv that ``plan --history`` reads.
PLAN_HISTORY_COLUMNS = (FACILITY_ID, "year", INSPECTIONS)


def _plan_files(folder: Path) -> list[Path]:
    """``inspection_plan*.csv`` and ``.xlsx``; a workbook beside a CSV of the same name holds the same plan."""
    csv = sorted(folder.glob("inspection_plan*.csv"))
    stems = {p.stem for p in csv}
    return sorted([*csv, *(p for p in folder.glob("inspection_plan*.xlsx") if p.stem not in stems)])


def _whole_numbers(df: pd.DataFrame, column: str, name: str, what: Msg) -> pd.Series:
    """A column of whole numbers; a cell that is not one stops with the file, row, field and value."""
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna() | (values % 1 != 0)
    if bad.any():
        first = df.loc[bad].iloc[0]
        params = {
            "file": name,
            "row": first[ROW],
            "field": column,
            "value": repr(first[column]),
            "what": what,
        }
        if bad.sum() > 1:
            raise InputError(
                tr(
                    '{file} row {row}, field "{field}": {value} is not {what} ({n} such rows); the files of '
                    "--history are the inspection_plan.csv riskmap wrote for earlier years: use them as written",
                    n=int(bad.sum()),
                    **params,
                )
            )
        raise InputError(
            tr(
                '{file} row {row}, field "{field}": {value} is not {what}; the files of --history are the '
                "inspection_plan.csv riskmap wrote for earlier years: use them as written",
                **params,
            )
        )
    return values


def read_earlier_plans(folder: Path, year: int) -> tuple[list[pd.DataFrame], dict[str, InputFile]]:
    """The plans of the years before ``year`` in ``folder`` (``plan --history``), and their files by input key.

    Each file is hashed as it is read (:func:`riskmap.io.inputfiles.read_hashed`), for run.json.

    Only riskmap's own plan tables are read (``inspection_plan*.csv`` or ``.xlsx``): pointed at an earlier
    output folder, its other tables are not plans. Each frame has ``facility_id``, ``year`` and
    ``inspections_per_year``; rows of ``year`` or later are left out (a plan for this year is not history).

    Raises
    ------
    InputError
        Not a directory, no plan files, a file without those columns or with a year or count that is not a
        whole number; the message names the file, row and value (no project-file key: these files are not in it).
    """
    if not folder.is_dir():
        raise InputError(
            tr("{folder}: --history must be a directory of earlier inspection_plan.csv files", folder=folder)
        )
    files = _plan_files(folder)
    if not files:
        raise InputError(
            tr("{folder}: no earlier plans (inspection_plan*.csv or .xlsx) in the directory", folder=folder)
        )
    frames: list[pd.DataFrame] = []
    hashed: dict[str, InputFile] = {}
    for f in files:
        read = partial(read_table, f, expect=list(PLAN_HISTORY_COLUMNS), configurable=False)
        df = read_hashed(f, read, hashed, f"history_{f.name}")
        missing = [c for c in PLAN_HISTORY_COLUMNS if c not in df.columns]
        if missing:
            shown = ", ".join(c for c in df.columns if c != ROW)
            raise InputError(
                tr(
                    "{file}: no column {missing}; --history reads the inspection_plan.csv files riskmap wrote for "
                    "earlier years (columns {columns}). Columns in the file: {found}.",
                    file=f.name,
                    missing=", ".join(missing),
                    columns=", ".join(PLAN_HISTORY_COLUMNS),
                    found=shown,
                )
            )
        df["year"] = _whole_numbers(df, "year", f.name, Msg("a year (e.g. 2026)"))
        _whole_numbers(df, INSPECTIONS, f.name, Msg("a number of inspections"))
        frames.append(df[df["year"] < year])
    return frames, hashed


def read_roster(config: Config, files: dict[str, InputFile] | None = None) -> list[str] | None:
    """The inspectors' names from ``supervision.roster`` (a table with a ``name`` column), sorted.

    ``files`` gets the roster file, hashed as it is read (key ``roster``).
    """
    if config.supervision.roster is None:
        return None
    path = config.resolve(config.supervision.roster)
    if not path.exists():
        raise InputError(
            tr(
                "{file}: file not found; check supervision.roster in the project file (relative to it)",
                file=path,
            )
        )
    # Only its path is a key of the project file: the messages name no encoding or sheet key to set.
    read = partial(read_table, path, expect=["name"], configurable=False)
    df = read_hashed(path, read, {} if files is None else files, "roster")
    if "name" not in df.columns:
        shown = ", ".join(c for c in df.columns if c != ROW)
        raise InputError(
            tr(
                '{file}: the roster (supervision.roster) needs a column "name", one inspector a row. Columns in the '
                "file: {found}.",
                file=path.name,
                found=shown,
            )
        )
    names = sorted({n for n in df["name"].astype(str).str.strip() if n})
    if not names:
        raise InputError(
            tr('{file}: the roster has no names; list the inspectors in a column "name"', file=path.name)
        )
    return names


def _read_sites(config: Config, warnings: list[str]) -> pd.DataFrame:
    sc = config.sensitive_sites
    assert sc is not None
    if is_database(sc):
        sites = read_postgis(sc, crs=sc.crs, where="sensitive_sites", warnings=warnings)
        warnings += sites.attrs.get(READ_WARNINGS, [])
        return sites
    path = config.resolve(sc.path)
    sites = _read_any(
        path, sc.layer, sc.encoding, sc.crs, "sensitive_sites", [sc.kind], warnings, sc.header_rows
    )
    warnings += sites.attrs.get(READ_WARNINGS, [])
    return sites


def _input_paths(config: Config, tables: list[str], events: list[str]) -> dict[str, Path]:
    """Every input file of ``config`` by key (a database table has no file to hash: run.json lists files)."""
    paths = {"facilities": config.resolve(config.facilities.path)}
    paths |= {f"zones_{zc.kind}": config.resolve(zc.path) for zc in config.zones if zc.path is not None}
    paths |= {t: config.resolve(getattr(config, t).path) for t in (*tables, *events)}
    if config.population is not None:
        paths["population"] = config.resolve(config.population.path)
    if config.sensitive_sites is not None:
        paths["sensitive_sites"] = config.resolve(config.sensitive_sites.path)
    if config.decisions is not None:
        paths["decisions"] = config.resolve(config.decisions.path)
    return {k: p for k, p in paths.items() if not p.name.startswith("pg:")}


def read_inputs(config: Config, progress: Callable[[str], None] | None = None) -> ProjectInputs:
    """Read every input file of ``config``: facilities, zones, related tables, events and sensitive sites.

    Each file is hashed as it is read (:mod:`riskmap.io.inputfiles`): run.json names the bytes this run used,
    even if a file is saved again while the run grades. ``progress`` is told the name of each input as its
    reading starts (the CLI shows it: a large register or ledger takes a while).

    Raises
    ------
    InputError
        A file that cannot be read, lacks a needed column, changed while it was read, or a method's table that
        is not configured.

    Examples
    --------
    >>> import riskmap
    >>> from riskmap.config import load_config
    >>> inputs = read_inputs(load_config(riskmap.demo_dir() / "riskmap.toml"))
    >>> len(inputs.facilities) == inputs.n_facilities, sorted(inputs.zones)
    (True, ['town', 'village'])
    """
    warnings: list[str] = []
    needed = _check_required(config)
    configured_events = [t for t in EVENT_TABLES if getattr(config, t) is not None]
    files = hash_inputs(_input_paths(config, needed, configured_events))

    def reading(section: str) -> None:
        if progress is None:
            return
        if section == "zones":
            names = dict.fromkeys(Path(zc.path).name for zc in config.zones if zc.path is not None)
            progress(", ".join(names) or "zones")
        else:
            progress(Path(getattr(config, section).path).name)

    reading("facilities")
    raw = read_facilities(config, warnings)
    warnings += raw.attrs.get(READ_WARNINGS, [])
    reading("zones")
    zones = load_zones(config, warnings)
    warnings += _district_code_warnings(config) + config.outputs.deprecated_keys()
    tables, events = {}, {}
    for table in needed:
        reading(table)
        tables[table] = read_related(config, table)
    for table in configured_events:
        reading(table)
        events[table] = read_related(config, table)
    for df in (*tables.values(), *events.values()):
        warnings += df.attrs.get(READ_WARNINGS, [])
    sources = input_sources(config)
    rows = {t: len(df) for t, df in (*tables.items(), *events.items())}
    inputs = ProjectInputs(
        raw,
        sources["facilities"],
        zones,
        tables,
        events,
        files=files,
        warnings=warnings,
        n_facilities=len(raw),
    )
    inputs.table_rows, inputs.table_sources = rows, {t: sources[t] for t in rows}
    if config.population is not None:  # cells that are no counts of persons: read as nodata, said once
        warnings += raster_warnings(config.resolve(config.population.path))
    if config.sensitive_sites is not None:
        reading("sensitive_sites")
        inputs.sites = _read_sites(config, warnings)
    if config.decisions is not None:
        reading("decisions")
        inputs.decisions = read_decisions(config)
        warnings += inputs.decisions.attrs.get(READ_WARNINGS, [])
    check_unchanged(files)
    return inputs
