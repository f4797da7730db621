"""The project file (``riskmap.toml``): pydantic models, loading and the JSON Schema.

Config is data, never code: every value is validated here, unknown keys are errors that suggest the closest
valid key, and paths are resolved relative to the project file.

One module per section (:mod:`~riskmap.config.inputs`, :mod:`~riskmap.config.scoring`,
:mod:`~riskmap.config.adjustment`, :mod:`~riskmap.config.zoning`, :mod:`~riskmap.config.supervision`,
:mod:`~riskmap.config.outputs`, :mod:`~riskmap.config.engine`); this module holds the whole project
(:class:`Config`), the checks across sections, loading and the schema. The package is a leaf: it imports nothing
of riskmap but :mod:`riskmap.errors`, :mod:`riskmap.levels` and :mod:`riskmap.vocabulary` (a test checks it),
so that every stage may import its own section.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import annotated_types
from pydantic import BaseModel, Field, ValidationError, model_validator

from riskmap.config.adjustment import (
    CONDITIONS,
    AccidentCondition,
    AdjustmentConfig,
    AdjustmentRule,
    Condition,
    OpenHiddenDanger,
    OpenMajorHiddenDanger,
    OverdueHiddenDanger,
    StandardisationCondition,
)
from riskmap.config.base import ConfigModel, LevelKey, ZoneLevelKey, at, value_problem
from riskmap.config.engine import EngineConfig
from riskmap.config.inputs import (
    DECISION_TABLE_COLUMNS,
    TABLE_COLUMNS,
    DecisionsConfig,
    FacilitiesConfig,
    GridConfig,
    HiddenDangersConfig,
    InventoryConfig,
    RasterConfig,
    SitesConfig,
    TableConfig,
    ZoneLayerConfig,
)
from riskmap.config.outputs import OutputsConfig
from riskmap.config.project import ProjectInfo
from riskmap.config.scoring import (
    LS_PRESETS,
    METHOD_NAMES,
    BaselineCondition,
    BaselineParams,
    BaselineRule,
    Chem2018Params,
    GB18218Params,
    Indicator,
    IndicatorParams,
    LECParams,
    LSMatrixParams,
    MethodName,
    MethodParams,
    PointAggregation,
    ScoringConfig,
    unknown_method,
    unknown_sector,
)
from riskmap.config.sensitivity import VARIANT_SECTIONS, SensitivityConfig, Variant
from riskmap.config.supervision import (
    UNASSESSED_FREQUENCY,
    CapacityConfig,
    CapRule,
    SamplingConfig,
    SupervisionConfig,
)
from riskmap.config.zoning import Clause, IndexConfig, LayerRule, SpilloverConfig, ZoningConfig
from riskmap.errors import ConfigError
from riskmap.i18n import os_reason, tr

__all__ = [
    "Config",
    "FacilitiesConfig",
    "TableConfig",
    "DecisionsConfig",
    "DECISION_TABLE_COLUMNS",
    "InventoryConfig",
    "HiddenDangersConfig",
    "ZoneLayerConfig",
    "RasterConfig",
    "ScoringConfig",
    "GB18218Params",
    "LSMatrixParams",
    "ZoningConfig",
    "SupervisionConfig",
    "OutputsConfig",
    "AdjustmentConfig",
    "AdjustmentRule",
    "BaselineCondition",
    "BaselineRule",
    "BaselineParams",
    "CONDITIONS",
    "load_config",
    "config_from_dict",
    "json_schema",
    "config_hash",
    "with_overrides",
    "TABLE_COLUMNS",
    # and every other section model, for the stages that take one section
    "ConfigModel",
    "LevelKey",
    "ZoneLevelKey",
    "ProjectInfo",
    "GridConfig",
    "SitesConfig",
    "MethodName",
    "METHOD_NAMES",
    "LS_PRESETS",
    "PointAggregation",
    "LECParams",
    "Chem2018Params",
    "Indicator",
    "IndicatorParams",
    "MethodParams",
    "Clause",
    "IndexConfig",
    "SpilloverConfig",
    "LayerRule",
    "UNASSESSED_FREQUENCY",
    "SamplingConfig",
    "CapRule",
    "CapacityConfig",
    "EngineConfig",
    "Condition",
    "OpenHiddenDanger",
    "OpenMajorHiddenDanger",
    "OverdueHiddenDanger",
    "AccidentCondition",
    "StandardisationCondition",
    "SensitivityConfig",
    "Variant",
    "VARIANT_SECTIONS",
]


class Config(ConfigModel):
    """A riskmap project (``riskmap.toml``)."""

    project: ProjectInfo = ProjectInfo()
    facilities: FacilitiesConfig
    inventory: InventoryConfig | None = Field(None, description="Chemical inventories (GB 18218).")
    risk_points: TableConfig | None = Field(None, description="Risk points (风险点) for LS/LEC.")
    deductions: TableConfig | None = Field(
        None,
        description="Deduction items of the 2018 chemical-enterprise guide (chem2018), one row per item.",
    )
    hidden_dangers: HiddenDangersConfig | None = Field(None, description="Hidden-danger records (隐患).")
    accidents: TableConfig | None = Field(None, description="Accident records.")
    standardisation: TableConfig | None = Field(
        None, description="Safety standardisation grades (安全生产标准化): facility_id, grade, valid_until."
    )
    decisions: DecisionsConfig | None = Field(
        None,
        description="Decisions of the committee (专家研判): levels set by experts over the computed ones, with the "
        "reason, who decided and when; the computed level is kept beside (level_computed).",
    )
    zones: Annotated[list[ZoneLayerConfig], Field(min_length=1)] = Field(
        description="Zone layers from finest to coarsest (village, then town)."
    )
    population: RasterConfig | None = Field(None, description="Population raster (persons per cell).")
    sensitive_sites: SitesConfig | None = Field(
        None, description="Schools, hospitals and other sensitive sites, counted per zone."
    )
    scoring: ScoringConfig = ScoringConfig()
    methods: MethodParams = MethodParams()
    adjustment: AdjustmentConfig = AdjustmentConfig()
    zoning: ZoningConfig = ZoningConfig()
    supervision: SupervisionConfig = SupervisionConfig()
    outputs: OutputsConfig = OutputsConfig()
    engine: EngineConfig = EngineConfig()
    sensitivity: SensitivityConfig | None = Field(
        None, description="Alternative conventions to re-grade under (riskmap sensitivity)."
    )

    #: Directory of the project file; paths are relative to it. Not part of the file.
    base_dir: Path = Field(Path("."), exclude=True, json_schema_extra={"hidden": True})

    @model_validator(mode="after")
    def _check(self) -> Config:
        kinds = [z.kind for z in self.zones]
        if len(set(kinds)) != len(kinds):
            raise ValueError(tr("zones: each layer needs its own kind, got {kinds}", kinds=kinds))
        return self

    @model_validator(mode="after")
    def _check_sensitivity(self) -> Config:
        if self.outputs.sensitivity and not (self.sensitivity and self.sensitivity.variants):
            raise ValueError(
                tr(
                    "outputs.sensitivity = true needs variants: add [[sensitivity.variants]] name = ..., set = {...}"
                )
            )
        if self.outputs.sensitivity and self.engine.name != "memory":
            raise ValueError(tr('outputs.sensitivity = true runs with [engine] name = "memory" only'))
        for variant in self.sensitivity.variants if self.sensitivity else []:
            # A bad key or value is an error of the project file, found at once.
            with_overrides(self, variant.as_overrides(), variant.where)
        return self

    @model_validator(mode="after")
    def _check_adjustment(self) -> Config:
        names = [r.name for r in self.adjustment.rules if r.name]
        if len(set(names)) != len(names):
            raise ValueError(tr("adjustment.rules: each rule needs its own name, got {names}", names=names))
        sectors = list(self.scoring.sectors)
        for i, (name, rule) in enumerate(self.adjustment.named_rules()):
            where = f"adjustment.rules[{i}] ({name})"
            for sector in rule.sectors or []:
                if sector not in self.scoring.sectors:
                    raise ValueError(unknown_sector(sector, sectors, where))
            table = type(rule.when).table
            if getattr(self, table) is None:
                raise ValueError(
                    tr(
                        "{where}: condition {condition!r} reads the [{table}] table; add [{table}] path = ... to "
                        "the project file",
                        where=where,
                        condition=rule.when.condition,
                        table=table,
                    )
                )
        return self

    @model_validator(mode="after")
    def _check_baseline(self) -> Config:
        sectors = list(self.scoring.sectors)

        def known(sector: str, where: str) -> None:
            if sector not in self.scoring.sectors:
                raise ValueError(unknown_sector(sector, sectors, where))

        baseline = self.methods.baseline
        # With baseline in scoring.default any sector may have a level; otherwise a sector not listed is a typo.
        if "baseline" not in (self.scoring.default or []):
            for sector in baseline.levels:
                known(sector, "methods.baseline.levels")
        for i, rule in enumerate(baseline.rules):
            for sector in rule.sectors or []:
                known(sector, f"methods.baseline.rules[{i}].sectors")
        return self

    def resolve(self, path: Path) -> Path:
        """A path from the project file, made absolute against the project directory."""
        return path if path.is_absolute() else (self.base_dir / path)

    def uses_method(self, name: str) -> bool:
        """Whether any sector (or the default) is graded by method ``name``."""
        lists = [*self.scoring.sectors.values(), self.scoring.default or []]
        return any(name in methods for methods in lists)


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model class that holds the field at ``loc`` (for suggesting key names)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


#: pydantic's error types of a number beyond an inclusive bound (``ge``, ``le``).
_BOUND_ERRORS = {"greater_than_equal", "less_than_equal"}


def _accepted_range(loc: tuple[int | str, ...]) -> tuple[object, object] | None:
    """``(2000, 2100)`` for a field with both inclusive bounds (``supervision.year``); else ``None``.

    pydantic names only the bound a value crossed; a user choosing another value wants the whole range.
    """
    holder = _model_at(Config, loc)
    field = holder.model_fields.get(str(loc[-1])) if holder is not None and loc else None
    if field is None:
        return None
    lo = next((m.ge for m in field.metadata if isinstance(m, annotated_types.Ge)), None)
    hi = next((m.le for m in field.metadata if isinstance(m, annotated_types.Le)), None)
    return (lo, hi) if lo is not None and hi is not None else None


def _method_problem(loc: tuple[int | str, ...], value: Any) -> str | None:
    """For a name in ``[scoring]`` that is not a method, a message suggesting the closest name; else ``None``.

    The ``Literal`` check alone would list the valid names without the closest one.
    """
    if not isinstance(value, str) or loc[:1] != ("scoring",):
        return None
    if len(loc) == 4 and loc[1] == "sectors":
        return unknown_method(value, str(loc[2]))
    if len(loc) == 3 and loc[1] == "default":
        return unknown_method(value, "(default)")
    return None


def _unknown_key(source: str, loc: tuple[int | str, ...], where: str) -> str:
    holder = _model_at(Config, loc)
    fields = holder.model_fields if holder else {}
    # Keys as written in the file: a field's alias (`set`, `in`), not its Python name.
    valid = ", ".join(f.alias or n for n, f in fields.items() if n != "base_dir")
    close = difflib.get_close_matches(str(loc[-1]), valid.split(", "), n=1, cutoff=0.5)
    if close:
        return tr(
            "{source}: unknown key {key!r}; did you mean {close!r}? (valid keys here: {valid})",
            source=source,
            key=where,
            close=close[0],
            valid=valid,
        )
    return tr(
        "{source}: unknown key {key!r} (valid keys here: {valid})", source=source, key=where, valid=valid
    )


def _format_error(e: Any, source: str) -> str:
    """One pydantic error as a line of the user's language, by the error's ``type`` and its ``ctx``."""
    loc = tuple(e["loc"])
    where = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
    kind = e["type"]
    if kind == "extra_forbidden":
        return _unknown_key(source, loc, where)
    if kind == "literal_error" and (problem := _method_problem(loc, e.get("input"))):
        return at(source, problem)
    if kind in _BOUND_ERRORS and (bounds := _accepted_range(loc)) is not None:
        return tr(
            "{source}: {where}: {value} is outside the accepted range {low} to {high}",
            source=source,
            where=where,
            value=e.get("input"),
            low=bounds[0],
            high=bounds[1],
        )
    return at(source, value_problem(e, where))


def _format_errors(err: ValidationError, source: str) -> str:
    return "\n".join(_format_error(e, source) for e in err.errors())


#: Tables and arrays inside each other a project file may hold. The deepest riskmap needs is a 5×5 LS matrix in a
#: sensitivity variant (sensitivity.variants[0].set.<key>[row][column]: 6); a file nested deeper is not a project
#: file, and validating or printing it would exhaust Python's recursion limit.
MAX_NESTING = 32


def _too_deep(data: Any) -> str | None:
    """The key path of the first value nested more than :data:`MAX_NESTING` levels deep, or None.

    Walked with an explicit stack: a recursive walk would itself fail on the files it is meant to catch.

    >>> _too_deep({"a": [[1]]}) is None
    True
    >>> deep: list = [1]
    >>> for _ in range(MAX_NESTING):
    ...     deep = [deep]
    >>> _too_deep({"a": deep})[:12]
    'a[0][0][0][0'
    """
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    while stack:
        node, depth, where = stack.pop()
        if depth > MAX_NESTING:
            return where
        if isinstance(node, dict):
            stack += [(v, depth + 1, f"{where}.{k}" if where else str(k)) for k, v in node.items()]
        elif isinstance(node, list):
            stack += [(v, depth + 1, f"{where}[{i}]") for i, v in enumerate(node)]
    return None


def config_from_dict(data: dict[str, Any], base_dir: Path | str = ".", source: str = "config") -> Config:
    """Validate a config mapping; raise :class:`ConfigError` listing every problem."""
    deep = _too_deep(data)
    if deep is not None:
        shown = deep if len(deep) <= 80 else deep[:80] + "..."
        raise ConfigError(
            tr(
                "{source}: {key}: values nested more than {levels} levels deep (arrays or tables inside each "
                "other); a project file needs a few levels: check this key",
                source=source,
                key=shown,
                levels=MAX_NESTING,
            )
        )
    try:
        return Config.model_validate({**data, "base_dir": Path(base_dir)})
    except ValidationError as err:
        raise ConfigError(_format_errors(err, source)) from None


def load_config(path: str | Path) -> Config:
    """Read and validate a project file.

    Raises
    ------
    ConfigError
        The file is missing, is not TOML, or has invalid or unknown keys (the message names each).
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise ConfigError(
            tr("{file}: cannot read the project file ({why})", file=p, why=os_reason(err))
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(tr("{file}: the project file must be UTF-8 text", file=p)) from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ConfigError(
            tr(
                "{file}: arrays or tables nested too deeply to read (hundreds of [ or {{ inside each other); a "
                "project file needs a few levels: check the file",
                file=p.name,
            )
        ) from None
    except tomllib.TOMLDecodeError as err:
        # tomllib's own words say what it met and where (line, column); they are English.
        raise ConfigError(tr("{file}: not valid TOML: {why}", file=p, why=err)) from None
    if "base_dir" in data:
        raise ConfigError(tr("{source}: unknown key {key!r} (valid keys here: {valid})", source=p, key="base_dir",
                             valid=", ".join(k for k in Config.model_fields if k != "base_dir")))  # fmt: skip
    return config_from_dict(data, base_dir=p.resolve().parent, source=p.name)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the project file, for editors."""
    schema = Config.model_json_schema(mode="validation")
    schema.get("properties", {}).pop("base_dir", None)
    schema["title"] = "riskmap project file (riskmap.toml)"
    return schema


def config_hash(config: Config) -> str:
    """SHA-256 of the validated config (paths as written), for provenance.

    ``[engine]`` is left out: where the stages ran does not change the results (run.json records it); so are
    the Word report's settings (``outputs.report*``), which change only report.docx's layout, and the PostGIS
    target (``outputs.postgis*``), which changes only where the layers are published.
    """
    report_keys = {k for k in OutputsConfig.model_fields if k.startswith("report") or k.startswith("postgis")}
    # Sensitivity settings, when absent or off, leave the hash of a project as it was before they existed.
    if not config.outputs.sensitivity:
        report_keys.add("sensitivity")
    exclude: dict[str, Any] = {"base_dir": True, "engine": True, "outputs": report_keys}
    if config.sensitivity is None:
        exclude["sensitivity"] = True
    dumped = config.model_dump(mode="json", exclude=exclude)
    # A file input's unset database keys (database, service, sql, key) leave its hash as before they existed.
    for section in [dumped.get(k) for k in dumped] + list(dumped.get("zones") or []):
        if isinstance(section, dict) and "database" in section and "sql" in section:
            for k in ("database", "service", "sql", "key"):
                if section.get(k) is None:
                    section.pop(k, None)
    return hashlib.sha256(json.dumps(dumped, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _item(node: list[Any], part: str, where: str) -> int:
    """Position of a list item addressed by its name (or its index)."""
    for i, item in enumerate(node):
        if isinstance(item, dict) and item.get("name") == part:
            return i
    if part.isdigit() and int(part) < len(node):
        return int(part)
    names = [str(item.get("name")) for item in node if isinstance(item, dict) and item.get("name")]
    close = difflib.get_close_matches(part, names, n=1)
    listed = ", ".join(names) or tr("none")
    if close:
        raise ConfigError(
            tr(
                "{where}: no item named {name!r}; did you mean {close!r}? (names: {names})",
                where=where,
                name=part,
                close=close[0],
                names=listed,
            )
        )
    raise ConfigError(
        tr("{where}: no item named {name!r} (names: {names})", where=where, name=part, names=listed)
    )


def _set_key(data: dict[str, Any], key: str, value: Any, where: str) -> None:
    """Set dotted ``key`` of the project mapping ``data`` to ``value``; ``false`` removes a named list item."""
    parts = key.split(".")
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            i = _item(node, part, tr("{where}: key {key!r}", where=where, key=".".join(parts[: depth + 1])))
            if last:
                if value is False:
                    del node[i]
                else:
                    node[i] = value
                return
            node = node[i]
            continue
        if not isinstance(node, dict):
            raise ConfigError(
                tr(
                    "{where}: key {key!r}: {holder!r} holds a value, not a section",
                    where=where,
                    key=key,
                    holder=".".join(parts[:depth]),
                )
            )
        if last:
            node[part] = value
            return
        if node.get(part) is None:  # a section not in the file: its defaults, then the key set
            node[part] = {}
        node = node[part]


def _file_keys(config: Config, exclude: dict[str, Any]) -> dict[str, Any]:
    """The project as the mapping of a project file: keys as written (aliases such as ``set``), only those set.

    Validating it again gives the same project; without the aliases it would not (a variant's ``set`` came
    back as ``overrides``, an unknown key).
    """
    return config.model_dump(mode="python", exclude=exclude, exclude_unset=True, by_alias=True)


def with_overrides(config: Config, overrides: dict[str, Any], source: str | None = None) -> Config:
    """The project with some dotted keys of its file set to other values, validated again.

    The one way a validated project changes: the command line's options (``--lang``, ``--year`` ...),
    ``plan(year=...)`` and each ``[sensitivity]`` variant (:meth:`Variant.as_overrides`) go through here, so a
    value is checked as it would be in the project file, with the same message. A named list item is addressed
    by its name (``adjustment.rules.standardisation``); ``false`` removes it.

    Raises
    ------
    ConfigError
        A key that is not in the project file (with the closest valid key) or a value it does not accept; the
        message names ``source`` (the options, or the variant).

    Examples
    --------
    >>> import riskmap
    >>> base = load_config(riskmap.demo_dir() / "riskmap.toml")
    >>> with_overrides(base, {"project.lang": "en", "outputs.embed": True}).project.lang
    'en'
    >>> upper = Variant(name="LEC upper", set={"methods.lec.boundary": "upper"})
    >>> base.methods.lec.boundary, with_overrides(base, upper.as_overrides(), upper.where).methods.lec.boundary
    ('lower', 'upper')
    >>> with_overrides(base, {"supervision.year": 1}, "--year")
    Traceback (most recent call last):
    riskmap.errors.ConfigError: --year: supervision.year: 1 is outside the accepted range 2000 to 2100
    """
    data = _file_keys(config, {"base_dir": True})
    source = source or tr("the command line")
    for key, value in overrides.items():
        _set_key(data, key, value, source)
    return config_from_dict(data, base_dir=config.base_dir, source=source)
