"""A first project file from an office's own files: the library side of ``riskmap init --from``.

The register, the zone layers and the related tables are read as a run reads them (title rows, merged two-row
headers, every sheet of a workbook); their columns are recognised from the headers offices use
(``styles/starter_headers.toml``, extendable), the coordinate system is found by testing the enterprises against
the zone layer, the sectors are mapped through the alias table to the methods riskmap suggests
(``styles/starter_defaults.toml``), and what the files cannot tell is written as riskmap's recommended settings
or as a ``# TODO`` line. :func:`start_project` composes the text; :func:`write_project` writes it.
"""

from __future__ import annotations

import datetime
import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap._resources import styles_dir
from riskmap.coordinates import read_coordinates
from riskmap.errors import ConfigError, CRSError, InputError, OutputError
from riskmap.i18n import current, tr
from riskmap.io.atomic import atomic_write_text
from riskmap.io.crs import (
    bd09_to_wgs84,
    crs_spellings,
    gcj02_to_wgs84,
    spelling_key,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from riskmap.io.tables import ROW, read_table
from riskmap.io.vector import VECTOR_SUFFIXES, read_vector
from riskmap.io.workbook import WORKBOOK_SUFFIXES, read_sheets
from riskmap.sectors import SectorNames
from riskmap.validate import credit_code_valid, is_credit_code

__all__ = [
    "TABLE_KINDS",
    "StarterProject",
    "header_key",
    "load_headers",
    "match_headers",
    "refuse_existing",
    "start_project",
    "toml_string",
    "toml_value",
    "write_project",
]

#: The tables ``--table KIND=FILE`` takes: the related tables, the sensitive sites and the population raster.
TABLE_KINDS = (
    "inventory",
    "risk_points",
    "deductions",
    "hidden_dangers",
    "accidents",
    "standardisation",
    "sensitive_sites",
    "population",
)
#: The coordinate system of longitude/latitude as written when nothing says otherwise (CGCS2000 ~ WGS84).
AS_WRITTEN = "EPSG:4490"
PROJECT_FILE = "riskmap.toml"


# --- TOML written as data ------------------------------------------------------------------------------------


def toml_string(text: str) -> str:
    r"""``text`` as a TOML basic string: quotes, backslashes and control characters escaped.

    >>> print(toml_string('a"b]{{c}}'))
    "a\"b]{{c}}"
    """
    out = []
    for ch in str(text):
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif o < 0x20 or o == 0x7F:
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch, f"\\u{o:04X}"))
        elif 0xD800 <= o <= 0xDFFF:  # a lone surrogate cannot be written in UTF-8
            out.append("\\uFFFD")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_value(value: Any) -> str:
    """A Python value (text, number, date, list, mapping) as a TOML value on one line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return toml_string(str(value))


def _comment(text: str) -> str:
    """A comment's text on one line: no line break or control character can end it early."""
    return re.sub(r"[\x00-\x08\x0a-\x1f\x7f\u2028\u2029]", " ", str(text))


# --- headers -------------------------------------------------------------------------------------------------


def header_key(text: object) -> str:
    """How headers are compared: NFKC (full width as half width), no white space, case-folded.

    >>> header_key(" 经 度 "), header_key("ＬＯＮ"), header_key("村（社区）")
    ('经度', 'lon', '村(社区)')
    """
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text))).casefold()


def _without_brackets(text: str) -> str:
    return re.sub(r"[(\[【][^)\]】]*[)\]】]", "", header_key(text))


def load_headers(extra: Path | None = None) -> dict[str, dict[str, list[str]]]:
    """The header table: per table kind, riskmap's column -> the headers naming it (``extra``'s first).

    Raises
    ------
    ConfigError
        ``extra`` is not a TOML file of that shape.
    """
    table = _shipped_headers()
    if extra is None:
        return table
    try:
        with open(extra, "rb") as f:
            own = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(tr("{file}: cannot read the header table: {why}", file=extra, why=err)) from None
    merged = {kind: dict(keys) for kind, keys in table.items()}
    for kind, keys in own.items():
        if not isinstance(keys, dict) or not all(
            isinstance(v, list) and all(isinstance(s, str) for s in v) for v in keys.values()
        ):
            raise ConfigError(
                tr(
                    '{file}: [{kind}] must map riskmap columns to lists of headers, e.g. id = ["企业编码"]',
                    file=extra,
                    kind=kind,
                )
            )
        for key, spellings in keys.items():
            merged.setdefault(kind, {})[key] = [*spellings, *merged.get(kind, {}).get(key, [])]
    return merged


@cache
def _shipped_headers() -> dict[str, dict[str, list[str]]]:
    with open(styles_dir() / "starter_headers.toml", "rb") as f:
        return tomllib.load(f)


@cache
def _defaults() -> dict[str, Any]:
    with open(styles_dir() / "starter_defaults.toml", "rb") as f:
        return tomllib.load(f)


@dataclass(frozen=True)
class Match:
    """A column recognised for a riskmap key: the header, and whether only its unbracketed part matched."""

    column: str
    guessed: bool = False


def match_headers(columns: Sequence[str], spellings: Mapping[str, Sequence[str]]) -> dict[str, Match]:
    """Which column names each riskmap key: an exact header first, else one whose bracketed part is left out.

    >>> m = match_headers(["序号", "企业名称", "从业人员(人)", "lon"], {"name": ["企业名称"], "employees": ["从业人员"],
    ...                    "x": ["经度", "lon"]})
    >>> {k: (v.column, v.guessed) for k, v in m.items()}
    {'name': ('企业名称', False), 'x': ('lon', False), 'employees': ('从业人员(人)', True)}
    """
    found: dict[str, Match] = {}
    used: set[str] = set()
    for exact in (True, False):
        for key, names in spellings.items():
            if key in found:
                continue
            wanted = {header_key(n) for n in (key, *names)}
            for col in columns:
                shown = header_key(col) if exact else _without_brackets(col)
                if col not in used and col != ROW and shown in wanted:
                    found[key] = Match(col, guessed=not exact)
                    used.add(col)
                    break
    return found


# --- reading the files ---------------------------------------------------------------------------------------


@dataclass
class Table:
    """A table as read: its path, the sheet chosen (None: the first or a CSV), the frame, the columns matched."""

    path: Path
    sheet: str | None
    frame: pd.DataFrame
    matched: dict[str, Match]
    vector: bool = False


def read_for_kind(path: Path, spellings: Mapping[str, Sequence[str]]) -> Table:
    """Read a table (the sheet whose header names most riskmap columns) or a vector file, and match its headers."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise InputError(tr("{file}: file not found", file=path))
    if suffix in VECTOR_SUFFIXES:
        gdf = read_vector(path, where="facilities")
        return Table(path, None, gdf, match_headers(list(gdf.columns), spellings), vector=True)
    if suffix not in WORKBOOK_SUFFIXES:
        df = read_table(path)
        return Table(path, None, df, match_headers(list(df.columns), spellings))
    _, names = read_sheets(path, None)
    best: Table | None = None
    for i, name in enumerate(names):
        try:
            df = read_table(path, sheet=name)
        except InputError:
            continue  # an empty sheet (填表说明 left blank) is not the table
        table = Table(path, name if i else None, df, match_headers(list(df.columns), spellings))
        if best is None or len(table.matched) > len(best.matched):
            best = table
    if best is None:
        raise InputError(tr("{file}: no sheet holds a table", file=path))
    return best


@dataclass
class ZoneLayer:
    """A zone layer found in a file: where, its code and name fields, its kind, its polygons."""

    path: Path
    layer: str | None
    frame: gpd.GeoDataFrame
    code: str | None
    name: str | None
    kind: str | None
    #: Whether the names or codes said the kind (else it follows from the order of the layers).
    kind_decided: bool = False
    code_guessed: bool = False
    name_guessed: bool = False
    #: The file says no CRS: read as longitude/latitude in CGCS2000, to be checked.
    crs_missing: bool = False


_VILLAGE = re.compile(r"(?:村|社区|居委会|村委会|居民委员会|村民委员会)$")
_TOWN = re.compile(r"(?:镇|乡|街道|街道办事处|办事处|民族乡)$")


def _zone_layers(
    paths: Sequence[Path], spellings: Mapping[str, Sequence[str]], skipped: list[str]
) -> list[ZoneLayer]:
    """The zone layers of the files, finest first (villages, then towns, then by number of zones).

    Of a file with several polygon layers, those of villages and towns (by names or codes) are taken, the others
    (a county outline, a chemical park) listed in ``skipped``; a file none of whose layers says is taken whole.
    """
    import pyogrio

    layers = []
    for path in paths:
        if not path.exists():
            raise InputError(tr("{file}: file not found", file=path))
        listed = pyogrio.list_layers(path)
        polygonal = [str(n) for n, g in listed if g is None or "POLYGON" in str(g).upper()]
        found = [_zone_layer(path, name if len(listed) > 1 else None, spellings) for name in polygonal]
        kept = [z for z in found if z.kind is not None] or found
        layers += kept
        skipped += [_shown(z) for z in found if z not in kept]
    order = {"village": 0, "town": 1}
    layers.sort(key=lambda z: (order.get(z.kind or "", 2), -len(z.frame)))
    used: set[str] = set()
    fallback = ("village", "town", "county", "district")
    for z in layers:  # a kind said twice, or not at all: the next free one by the order of the layers
        if z.kind is None or z.kind in used:
            z.kind, z.kind_decided = next(k for k in fallback if k not in used), False
        used.add(z.kind)
    return layers


def _texts(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str).str.strip().str.replace(r"\.0$", "", regex=True)


def _zone_layer(path: Path, layer: str | None, spellings: Mapping[str, Sequence[str]]) -> ZoneLayer:
    try:
        gdf, crs_missing = read_vector(path, layer=layer, where="zones"), False
    except CRSError:  # a shapefile without .prj: longitude/latitude in CGCS2000 is the usual case
        gdf, crs_missing = read_vector(path, layer=layer, crs=AS_WRITTEN, where="zones"), True
    columns = [c for c in gdf.columns if c not in (ROW, gdf.geometry.name)]
    matched = match_headers(columns, spellings)
    code = matched["code"].column if "code" in matched else None
    code_guessed = False
    if code is None:
        digits = [c for c in columns if _texts(gdf[c]).str.fullmatch(r"\d{6,12}").mean() > 0.9]
        code, code_guessed = (digits[0], True) if digits else (None, False)
    name = matched["name"].column if "name" in matched else None
    name_guessed = False
    if name is None:
        texts = [
            c
            for c in columns
            if c != code and (gdf[c].dtype == object or pd.api.types.is_string_dtype(gdf[c]))
        ]
        if texts:
            name = max(texts, key=lambda c: _suffix_share(gdf[c]))
            name_guessed = True
    kind = _zone_kind(gdf, code, name)
    return ZoneLayer(
        path, layer, gdf, code, name, kind, kind is not None, code_guessed, name_guessed, crs_missing
    )


def _suffix_share(names: pd.Series) -> float:
    text = names.fillna("").astype(str).str.strip()
    return float((text.str.contains(_VILLAGE) | text.str.contains(_TOWN)).mean())


def _zone_kind(gdf: gpd.GeoDataFrame, code: str | None, name: str | None) -> str | None:
    """Village or town: by the names' suffixes (村/社区 vs 镇/乡/街道), else by 12-digit codes ending in 000."""
    if name is not None:
        text = gdf[name].fillna("").astype(str).str.strip()
        if text.str.contains(_VILLAGE).mean() > 0.5:
            return "village"
        if text.str.contains(_TOWN).mean() > 0.5:
            return "town"
    if code is not None:
        codes = _texts(gdf[code])
        if len(codes) and codes.str.fullmatch(r"\d{6}(?!000)\d{3}(?:000)?").all():
            return "town"  # 9 digits, or 12 ending in 000: a town's statistical division code
        if len(codes) and codes.str.fullmatch(r"\d{9}(?!000)\d{3}").all():
            return "village"
    return None


# --- the coordinate system -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One way to read the points against the zones: the facilities' ``crs`` and the zones' ``crs``."""

    facilities: str
    zones: str | None

    def label(self) -> str:
        if self.zones is not None:
            return tr("zone layers in {system}", system=self.zones)
        if self.facilities == AS_WRITTEN:
            return "CGCS2000/WGS84"
        return self.facilities

    def move(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The points where this reading puts them, in the zone layer's frame as read from its file."""
        if self.zones == "GCJ-02":
            return wgs84_to_gcj02(lon, lat)
        if self.zones == "BD-09":
            return wgs84_to_bd09(lon, lat)
        if self.facilities == "GCJ-02":
            return gcj02_to_wgs84(lon, lat)
        if self.facilities == "BD-09":
            return bd09_to_wgs84(lon, lat)
        return lon, lat


#: The readings tested: as written first (it wins a tie), then points or zones in a map app's system.
READINGS = (
    Reading(AS_WRITTEN, None),
    Reading("GCJ-02", None),
    Reading("BD-09", None),
    Reading(AS_WRITTEN, "GCJ-02"),
    Reading(AS_WRITTEN, "BD-09"),
)


@dataclass
class SystemFound:
    """The reading chosen (None: undecided), and the share of points inside a zone under each reading."""

    reading: Reading | None
    shares: dict[Reading, float]
    points: int
    #: Per reading, which of the points (all of them, in their order) fall inside a zone.
    inside: dict[Reading, np.ndarray] = field(default_factory=dict)
    #: How many more points the chosen reading puts inside than the reading as written.
    gained: int = 0
    #: Whether so few points decide that the choice is to be checked.
    weak: bool = False


def detect_system(lon: np.ndarray, lat: np.ndarray, zones: gpd.GeoDataFrame) -> SystemFound:
    """The reading that puts most points inside the zones: as written unless another puts more inside.

    Only points near the edge of the zones tell the readings apart (~0.5 km for GCJ-02, ~1 km for BD-09): when
    fewer than 2 points (or 1 %) make the difference the choice is marked ``weak``. Two map-app readings that
    tie above the others leave it undecided, as does a layer no reading puts any point in.
    """
    ok = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    polygons = (
        zones.to_crs("EPSG:4326").geometry.to_numpy() if zones.crs is not None else zones.geometry.values
    )
    tree = shapely.STRtree(polygons)
    inside, counts = {}, {}
    for reading in READINGS:
        x, y = reading.move(lon[ok], lat[ok])
        mask = np.zeros(len(lon), dtype=bool)
        mask[ok[tree.query(shapely.points(x, y), predicate="within")[0]]] = True
        inside[reading], counts[reading] = mask, int(mask.sum())
    n = len(ok)
    shares = {r: (c / n if n else 0.0) for r, c in counts.items()}
    base, best = counts[READINGS[0]], max(counts.values())
    if n == 0 or best == 0:
        return SystemFound(None, shares, n, inside)
    if best == base:
        return SystemFound(READINGS[0], shares, n, inside)
    winners = [r for r in READINGS[1:] if counts[r] == best]
    weak = best - base < max(2, 0.01 * n)
    return SystemFound(winners[0] if len(winners) == 1 else None, shares, n, inside, best - base, weak)


# --- the project file ----------------------------------------------------------------------------------------


@dataclass
class StarterProject:
    """The text of the project file, and what was recognised, guessed and is left to check (in the language)."""

    text: str
    recognised: list[str] = field(default_factory=list)
    guessed: list[str] = field(default_factory=list)
    to_check: list[str] = field(default_factory=list)


class _Draft:
    """The lines of the project file being written, and the notes of the summary."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.lines: list[str] = []
        self.project = StarterProject("")
        #: The register's rows that land in a zone (None: not tested): only they need a grade.
        self.placed: np.ndarray | None = None

    def line(self, text: str = "") -> None:
        self.lines.append(text)

    def comment(self, text: str) -> None:
        self.lines.append("# " + _comment(text))

    def key(self, key: str, value: Any, note: str | None = None) -> None:
        self.lines.append(f"{key} = {toml_value(value)}" + (f"   # {_comment(note)}" if note else ""))

    def todo(self, text: str) -> None:
        self.lines.append("# TODO: " + _comment(text))
        self.project.to_check.append(text)

    def path(self, path: Path) -> str:
        """A path as the project file writes it: relative inside the project's folder, else absolute."""
        full, home = path.resolve(), self.directory.resolve()
        return full.relative_to(home).as_posix() if full.is_relative_to(home) else full.as_posix()

    def header(self, key: str, match: Match, what: str) -> None:
        """A column taken from a header: a recognised header, or a guess by its unbracketed part."""
        if match.guessed:
            note = tr('guessed from the header "{header}"', header=match.column)
            self.project.guessed.append(
                tr("{what}: {key} = {header}", what=what, key=key, header=match.column)
            )
        else:
            note = tr('header "{header}"', header=match.column)
            self.project.recognised.append(
                tr("{what}: {key} = {header}", what=what, key=key, header=match.column)
            )
        self.key(key, match.column, note)


def _facilities_section(draft: _Draft, reg: Table, zones: list[ZoneLayer]) -> Reading | None:
    """``[facilities]``: the register's path, sheet, columns and coordinate system; the reading of the zones."""
    draft.line("# " + _comment(tr("Enterprises: the register.")))
    draft.line("[facilities]")
    draft.key("path", draft.path(reg.path))
    if reg.sheet is not None:
        draft.key("layer", reg.sheet, tr("the sheet whose header names most register columns"))
        draft.project.guessed.append(tr("register: the sheet {sheet}", sheet=reg.sheet))
    needed = ("id", "name", "sector") if reg.vector else ("id", "name", "sector", "x", "y")
    for key in needed:
        if key in reg.matched:
            draft.header(key, reg.matched[key], tr("register"))
        else:
            draft.todo(
                tr(
                    'no header names the register\'s {key}; set {key} = "…" (headers: {headers})',
                    key=key,
                    headers=", ".join(c for c in reg.frame.columns if c != ROW)[:300],
                )
            )
    for key in ("zone_column", "town_column"):
        if key in reg.matched:
            draft.header(key, reg.matched[key], tr("register"))
    if reg.vector:
        return _vector_system(draft, reg, zones)
    if "crs_column" in reg.matched:
        _crs_column(draft, reg)
        return None
    return _table_system(draft, reg, zones)


def _crs_column(draft: _Draft, reg: Table) -> None:
    """Each row's system from its 坐标系 cell; the spellings the shipped table lacks are listed to decide."""
    match = reg.matched["crs_column"]
    draft.header("crs_column", match, tr("register"))
    draft.key("crs", AS_WRITTEN, tr("rows with an empty {column} cell", column=match.column))
    known = {spelling_key(k) for k in crs_spellings()}
    values = reg.frame[match.column].fillna("").astype(str).str.strip()
    unknown = sorted({v for v in values if v and spelling_key(v) not in known})
    if unknown:
        draft.todo(
            tr(
                "{column} values riskmap does not know; say which system each is in crs_values (until then "
                "their rows are rejected): {values}",
                column=match.column,
                values=", ".join(unknown[:20]),
            )
        )
        draft.comment("crs_values = " + toml_value({v: "EPSG:4490" for v in unknown[:20]}))


def _coordinates(reg: Table) -> tuple[np.ndarray, np.ndarray]:
    if "x" not in reg.matched or "y" not in reg.matched:
        return np.array([]), np.array([])
    xy = read_coordinates(reg.frame[reg.matched["x"].column], reg.frame[reg.matched["y"].column])
    return xy["x"].to_numpy(dtype=float), xy["y"].to_numpy(dtype=float)


def _table_system(draft: _Draft, reg: Table, zones: list[ZoneLayer]) -> Reading | None:
    """The register's ``crs`` from the points against the finest zone layer, with the shares as the reason."""
    lon, lat = _coordinates(reg)
    finite = np.isfinite(lon) & np.isfinite(lat)
    if finite.any() and not ((np.abs(lon[finite]) <= 180) & (np.abs(lat[finite]) <= 90)).mean() > 0.9:
        draft.key("crs", AS_WRITTEN)
        draft.todo(
            tr("the coordinates are not longitude/latitude: set crs to their projected system (EPSG code)")
        )
        return None
    if not zones:
        draft.key("crs", AS_WRITTEN)
        draft.todo(
            tr("no zone layer to test the coordinates against: check crs (GCJ-02 for Gaode, BD-09 for Baidu)")
        )
        return None
    found = detect_system(lon, lat, zones[0].frame)
    if found.reading is not None:
        draft.placed = found.inside[found.reading]
    shares = "; ".join(
        f"{r.label()} {round(s * found.points)}/{found.points}" for r, s in found.shares.items()
    )
    said = tr("points inside a {kind} zone: {shares}", kind=zones[0].kind or "zone", shares=shares)
    if found.reading is None:
        draft.key("crs", AS_WRITTEN)
        draft.todo(tr("the coordinate system could not be told from the zones ({shares})", shares=said))
        return None
    draft.key("crs", found.reading.facilities, said)
    draft.project.guessed.append(
        tr("coordinate system: {system} ({shares})", system=found.reading.label(), shares=said)
    )
    if found.weak:
        draft.todo(
            tr(
                "only {n} enterprise(s) tell the coordinate systems apart ({system} puts them inside the zones): "
                "check the systems of the register and of the zone layers",
                n=found.gained,
                system=found.reading.label(),
            )
        )
    return found.reading


def _vector_system(draft: _Draft, reg: Table, zones: list[ZoneLayer]) -> Reading | None:
    """A register as a vector file keeps its own CRS unless its points fit the zones better shifted."""
    if not zones:
        return None
    pts = reg.frame.geometry.to_crs("EPSG:4326").representative_point()
    found = detect_system(pts.x.to_numpy(), pts.y.to_numpy(), zones[0].frame)
    if found.reading is not None and found.reading != READINGS[0]:
        if found.reading.zones is None:
            draft.key("crs", found.reading.facilities, found.reading.label())
        draft.project.guessed.append(tr("coordinate system: {system}", system=found.reading.label()))
    return found.reading


#: The columns each related table must have (one group of ``risk_points`` is enough).
_REQUIRED = {
    "inventory": (("facility_id", "substance", "quantity_t"),),
    "risk_points": (("facility_id", "likelihood", "severity"), ("facility_id", "lec_l", "lec_e", "lec_c")),
    "deductions": (("facility_id", "item", "points"),),
    "hidden_dangers": (("facility_id", "grade", "found_date"),),
    "accidents": (("facility_id", "date", "class"),),
    "standardisation": (("facility_id", "grade", "valid_until"),),
    "sensitive_sites": (("kind", "x", "y"),),
}


def _table_section(draft: _Draft, kind: str, table: Table, facilities_crs: str) -> None:
    """A related table: its path and sheet, and ``columns.<key>`` for each header that is not riskmap's own."""
    draft.line(f"[{kind}]")
    draft.key("path", draft.path(table.path))
    if table.sheet is not None:
        draft.key("layer", table.sheet, tr("the sheet whose header names most of its columns"))
    own = []
    for key, match in table.matched.items():
        if key == "name" and "facility_id" in table.matched:
            continue  # the id joins; the name is only for rows without one (match_by_name)
        if match.column == key:
            own.append(key)
        elif kind == "sensitive_sites":
            draft.header(key, match, kind)
        else:
            draft.header(f"columns.{key}", match, kind)
    if own:
        draft.comment(tr("riskmap's own column names: {columns}", columns=", ".join(own)))
        draft.project.recognised.append(tr("{what}: {columns}", what=kind, columns=", ".join(own)))
    if kind == "sensitive_sites":
        draft.key("crs", facilities_crs)
    groups = _REQUIRED.get(kind, ())
    if groups and not any(all(k in table.matched for k in g) for g in groups):
        missing = [k for k in groups[0] if k not in table.matched]
        draft.todo(
            tr(
                "{table}: no header names {columns}; map them with columns = {{ … }} (headers: {headers})",
                table=kind,
                columns=", ".join(missing),
                headers=", ".join(c for c in table.frame.columns if c != ROW)[:300],
            )
        )
    draft.line()


def _standardisation_in_register(draft: _Draft, reg: Table) -> bool:
    """Grades kept as register columns (标准化等级, 有效期): the register is the standardisation table."""
    if not all(k in reg.matched for k in ("id", "grade", "valid_until")) or reg.vector:
        return False
    draft.line("[standardisation]")
    draft.key("path", draft.path(reg.path))
    if reg.sheet is not None:
        draft.key("layer", reg.sheet)
    draft.key("columns.facility_id", reg.matched["id"].column)
    draft.header("columns.grade", reg.matched["grade"], "standardisation")
    draft.header("columns.valid_until", reg.matched["valid_until"], "standardisation")
    draft.line()
    return True


def _zones_section(draft: _Draft, zones: list[ZoneLayer], reading: Reading | None) -> None:
    """``[[zones]]`` from finest to coarsest: kind, file, layer, code and name fields, CRS when shifted."""
    if not zones:
        draft.todo(tr("no zone layer given (--zones): add a [[zones]] layer of villages and one of towns"))
        return
    draft.comment(tr("Zone layers from finest to coarsest."))
    for z in zones:
        kind = str(z.kind)
        draft.line("[[zones]]")
        if z.kind_decided:
            draft.key("kind", kind, tr("by the names (村/社区, 镇/乡/街道) or the division codes"))
            draft.project.guessed.append(tr("{file}: {kind} layer", file=_shown(z), kind=kind))
        else:
            draft.key("kind", kind)
            draft.todo(
                tr(
                    "{file}: is this layer of {kind}? (its names and codes do not say)",
                    file=_shown(z),
                    kind=kind,
                )
            )
        draft.key("path", draft.path(z.path))
        if z.layer is not None:
            draft.key("layer", z.layer)
        for key, column, guessed in (("code", z.code, z.code_guessed), ("name", z.name, z.name_guessed)):
            if column is None:
                draft.todo(tr("{file}: no field holds the zone {key}", file=_shown(z), key=key))
            else:
                draft.header(key, Match(column, guessed), _shown(z))
        if z.crs_missing:
            draft.key("crs", AS_WRITTEN)
            draft.todo(tr("{file}: the file says no coordinate system; check crs", file=_shown(z)))
        elif reading is not None and reading.zones is not None:
            draft.key(
                "crs",
                reading.zones,
                tr("the enterprises fit these zones read as {system}", system=reading.zones),
            )
        draft.line()


def _shown(z: ZoneLayer) -> str:
    return f"{z.path.name}:{z.layer}" if z.layer else z.path.name


def _ids(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str).str.normalize("NFKC").str.replace(r"\s+", "", regex=True).str.upper()


def _method_ids(reg: Table, tables: Mapping[str, Table]) -> dict[str, set[str]]:
    """The ids of the enterprises each method has records for, among the methods whose data was given."""
    found: dict[str, set[str]] = {}

    def ids_of(kind: str, needs: Sequence[str]) -> set[str] | None:
        t = tables.get(kind)
        if t is None or not all(k in t.matched for k in ("facility_id", *needs)):
            return None
        return set(_ids(t.frame[t.matched["facility_id"].column]))

    for method, kind, needs in (
        ("gb18218", "inventory", ("substance", "quantity_t")),
        ("chem2018", "deductions", ("item", "points")),
        ("ls_matrix", "risk_points", ("likelihood", "severity")),
        ("lec", "risk_points", ("lec_l", "lec_e", "lec_c")),
    ):
        ids = ids_of(kind, needs)
        if ids is not None:
            found[method] = ids
    indicators = [reg.matched[k].column for k in _defaults()["indicators"] if k in reg.matched]
    if indicators and "id" in reg.matched:
        filled = (reg.frame[indicators].fillna("").astype(str).apply(lambda c: c.str.strip()) != "").any(
            axis=1
        )
        found["indicator"] = set(_ids(reg.frame.loc[filled, reg.matched["id"].column]))
    return found


@dataclass
class Sectors:
    """The register's sectors: each known sector with its spellings and rows, and the unknown spellings."""

    known: dict[str, dict[str, int]]
    unknown: dict[str, int]
    of_row: pd.Series  # each row's known sector ("" when unknown or empty)


def _sectors(reg: Table) -> Sectors:
    if "sector" not in reg.matched:
        return Sectors({}, {}, pd.Series("", index=reg.frame.index))
    spelt = reg.frame[reg.matched["sector"].column].fillna("").astype(str).str.strip()
    names = SectorNames(list(_defaults()["sectors"]))
    resolved = {s: names.resolve(s) or "" for s in spelt.unique()}
    known: dict[str, dict[str, int]] = {}
    unknown: dict[str, int] = {}
    for s, n in spelt[spelt != ""].value_counts(sort=True).items():
        if resolved[s]:
            known.setdefault(resolved[s], {})[str(s)] = int(n)
        else:
            unknown[str(s)] = int(n)
    return Sectors(known, unknown, spelt.map(resolved))


def _gradable(ids: pd.Series, placed: np.ndarray | None) -> np.ndarray:
    """The rows a run would grade: an id (a valid one, when shaped as a credit code) and a place in a zone."""
    keys = ids.to_numpy(dtype=object)
    shaped = np.array([is_credit_code(k) for k in keys], dtype=bool)
    valid = np.array(
        [credit_code_valid(k) if s else True for k, s in zip(keys, shaped, strict=True)], dtype=bool
    )
    ok = (ids != "").to_numpy() & valid
    return ok & placed if placed is not None and len(placed) == len(ok) else ok


def _scoring_section(draft: _Draft, reg: Table, tables: Mapping[str, Table]) -> dict[str, list[str]]:
    """``[scoring]``: the sectors found with their counts, the suggested methods, the unknown sectors to decide."""
    sectors = _sectors(reg)
    by_method = _method_ids(reg, tables)
    ids = _ids(reg.frame[reg.matched["id"].column]) if "id" in reg.matched else pd.Series(dtype=str)
    graded = _gradable(ids, draft.placed)
    chosen: dict[str, list[str]] = {}
    for sector in sectors.known:
        methods = [m for m in _defaults()["sectors"][sector]["methods"] if m in by_method]
        covered = set().union(*(by_method[m] for m in methods)) if methods else set()
        rows = ids[(sectors.of_row == sector).to_numpy() & graded] if len(ids) else pd.Series(dtype=str)
        if not methods or not rows.isin(covered).all():
            methods = ["baseline", *methods]  # some enterprises have no record: the register grades them
        chosen[sector] = methods
    draft.line("[scoring]")
    aliases = {
        spelling: sector
        for sector, spellings in sectors.known.items()
        for spelling in spellings
        if header_key(spelling) != header_key(sector)
    }
    if aliases:
        draft.key("sector_aliases", aliases, tr("the register's spellings of known sectors"))
    draft.line()
    draft.comment(
        tr("Methods per sector: those riskmap suggests whose data was given (styles/starter_defaults.toml).")
    )
    draft.line("[scoring.sectors]")
    for sector, methods in chosen.items():
        counts = ", ".join(f"{s} {n}" for s, n in sectors.known[sector].items())
        draft.key(toml_string(sector), methods, tr("rows: {counts}", counts=counts))
        draft.project.recognised.append(
            tr(
                "sector {sector} ({counts}): {methods}",
                sector=sector,
                counts=counts,
                methods=", ".join(methods),
            )
        )
    if sectors.unknown:
        draft.todo(
            tr(
                "sectors riskmap does not know: give each its methods or map it in sector_aliases; until then "
                "their rows are rejected"
            )
        )
        for spelling, n in sectors.unknown.items():
            rows = tr("rows: {counts}", counts=n)
            draft.comment(f"{toml_string(spelling)} = {toml_value(['ls_matrix'])}   # {rows}")
    draft.line()
    return chosen


def _methods_section(draft: _Draft, reg: Table, chosen: Mapping[str, list[str]]) -> None:
    """The register's own methods: ``baseline`` levels and rules, and the ``indicator`` indicators."""
    defaults = _defaults()
    baseline = [s for s, m in chosen.items() if "baseline" in m]
    unused = {s: defaults["sectors"][s]["baseline"] for s in chosen if s not in baseline}
    if unused:  # the suggestion for the other sectors too: "baseline" first in a sector's list uses it
        draft.comment(
            tr('Inherent levels riskmap suggests for the other sectors (list "baseline" first to use them):')
        )
        draft.comment("[methods.baseline] levels = " + toml_value(unused))
        draft.line()
    if baseline:
        draft.comment(
            tr(
                "Inherent levels from the register (a local convention: check them against your province's list)."
            )
        )
        draft.line("[methods.baseline]")
        draft.key("levels", {s: defaults["sectors"][s]["baseline"] for s in baseline})
        draft.project.to_check.append(
            tr("inherent levels (baseline) of {sectors}: riskmap's suggestion", sectors=", ".join(baseline))
        )
        for key, flag in defaults["flags"].items():
            if key in reg.matched:
                draft.line()
                draft.line("[[methods.baseline.rules]]")
                draft.key(
                    "when",
                    {"column": reg.matched[key].column, "in": flag["yes"]},
                    tr('header "{header}"', header=reg.matched[key].column),
                )
                draft.key("level", flag["level"])
                draft.project.to_check.append(
                    tr(
                        "{header} = yes: at least {level}",
                        header=reg.matched[key].column,
                        level=flag["level"],
                    )
                )
        draft.line()
    if any("indicator" in m for m in chosen.values()):
        for key, spec in defaults["indicators"].items():
            if key in reg.matched:
                draft.line(f"[methods.indicator.indicators.{key}]")
                draft.header("column", reg.matched[key], f"methods.indicator.{key}")
                for k, v in spec.items():
                    draft.key(k, v)
                draft.line()


def _as_of(tables: Mapping[str, Table]) -> datetime.date | None:
    """The day the event records are a snapshot of: their latest found, closed or accident date, not after today.

    Dates are read as a run reads them (``adjust.parse_dates``: 2026/3/1, 2026年3月1日, Excel serials ...).
    """
    from riskmap.adjust import parse_dates

    dates = []
    for kind, keys in (("hidden_dangers", ("found_date", "closed_date")), ("accidents", ("date",))):
        t = tables.get(kind)
        if t is None:
            continue
        for key in (k for k in keys if k in t.matched):
            dates.append(parse_dates(t.frame[t.matched[key].column].fillna("").astype(str)))
    if not dates:
        return None
    found = pd.to_datetime(pd.concat(dates), errors="coerce")
    found = found[found.notna() & (found <= pd.Timestamp(datetime.date.today()))]
    return found.max().date() if len(found) else None


def _adjustment_section(draft: _Draft, tables: Mapping[str, Table], sectors: Sequence[str]) -> None:
    """The recommended adjustment rules whose tables were given, as of the records' latest day."""
    rules = [r for r in _defaults()["adjustment"] if r["needs"] in tables]
    if not rules:
        return
    draft.comment(tr("Dynamic adjustment: riskmap's recommended rules for the tables given."))
    draft.line("[adjustment]")
    as_of = _as_of(tables)
    if as_of is not None:
        draft.key(
            "as_of", as_of, tr("the latest date of the records; delete to grade as of the day of the run")
        )
        draft.project.guessed.append(
            tr("as of {date}: the latest date of the records", date=as_of.isoformat())
        )
    for rule in rules:
        rule = {k: v for k, v in rule.items() if k not in ("needs", "comment")} | {
            "_comment": rule["comment"]
        }
        if "sectors" in rule:
            rule["sectors"] = [s for s in rule["sectors"] if s in sectors]
            if not rule["sectors"]:
                continue
        draft.line()
        draft.line("[[adjustment.rules]]   # " + _comment(rule.pop("_comment")))
        for k, v in rule.items():
            draft.key(k, v)
    draft.line()


def _zoning_section(draft: _Draft, tables: Mapping[str, Path], zones: list[ZoneLayer]) -> None:
    """Villages by their highest level; spillover near major hazards; towns by the index with population."""
    defaults = _defaults()
    draft.line("[zoning]")
    draft.key("rule", "max", tr("a zone takes the highest level of its enterprises"))
    if "inventory" in tables:
        draft.line()
        draft.line("[zoning.spillover]")
        for k, v in defaults["spillover"].items():
            draft.key(k, v)
    kinds = [z.kind for z in zones]
    if "population" in tables and "town" in kinds and kinds.index("town") > 0:
        draft.line()
        draft.line("[zoning.by_layer.town]")
        draft.key(
            "rule", defaults["town_index"]["rule"], tr("hazard, exposure (population) and vulnerability")
        )
    draft.line()


def _project_section(draft: _Draft, reg: Table, zones: list[ZoneLayer], sources: Sequence[Path]) -> None:
    draft.comment(
        tr(
            "riskmap project file written by riskmap init --from, from: {files}.",
            files=", ".join(p.name for p in sources),
        )
    )
    draft.comment(
        tr("Each guess names the header or the test it came from; lines marked TODO are left to you.")
    )
    draft.comment(tr("docs/config.md explains every key; riskmap validate checks the file and the inputs."))
    draft.line()
    draft.line("[project]")
    draft.comment(tr('name = "…"   the title of the map and the reports'))
    codes = pd.concat(
        [_texts(z.frame[z.code]) for z in zones if z.code is not None] or [pd.Series(dtype=str)]
    )
    prefixes = codes[codes.str.fullmatch(r"\d{9,12}")].str[:6].unique()
    if len(prefixes) == 1:
        draft.key("district_code", str(prefixes[0]), tr("the zones' division codes"))
    else:
        draft.todo(tr("district_code: the 6-digit county code (part of the published random seed)"))
    draft.key("lang", current())
    draft.line()


def start_project(
    directory: Path,
    register: Path,
    zones: Sequence[Path] = (),
    tables: Mapping[str, Path] | None = None,
    headers: Path | None = None,
) -> StarterProject:
    """The text of a project file for an office's own files, and what was recognised, guessed and to check.

    ``register`` is the enterprise register (any table or vector format riskmap reads), ``zones`` the zone
    files (each polygon layer of a GeoPackage is a layer), ``tables`` the related tables by kind
    (:data:`TABLE_KINDS`), ``headers`` a header table of the office's own (``styles/starter_headers.toml``'s
    shape). Paths in the text are relative to ``directory``. Nothing is written.

    Raises
    ------
    ConfigError
        An unknown table kind, or a header table of the wrong shape.
    InputError
        A file that cannot be read.
    """
    tables = dict(tables or {})
    unknown = sorted(set(tables) - set(TABLE_KINDS))
    if unknown:
        raise ConfigError(
            tr(
                "--table {kind}=…: unknown table kind; use one of {kinds}",
                kind=unknown[0],
                kinds=", ".join(TABLE_KINDS),
            )
        )
    spellings = load_headers(headers)
    reg = read_for_kind(register, spellings.get("facilities", {}))
    skipped: list[str] = []
    layers = _zone_layers(list(zones), spellings.get("zones", {}), skipped)
    related = {
        kind: read_for_kind(path, spellings.get(kind, {}))
        for kind, path in tables.items()
        if kind != "population"
    }
    draft = _Draft(directory)
    _project_section(draft, reg, layers, [register, *zones, *tables.values()])
    reading = _facilities_section(draft, reg, layers)
    draft.line()
    for kind in TABLE_KINDS:
        if kind in related:
            _table_section(draft, kind, related[kind], AS_WRITTEN)
        elif kind == "population" and kind in tables:
            draft.line("[population]")
            draft.key("path", draft.path(tables[kind]))
            draft.line()
    if "standardisation" not in related and _standardisation_in_register(draft, reg):
        related["standardisation"] = reg
    _zones_section(draft, layers, reading)
    for shown in skipped:
        draft.todo(
            tr(
                "{layer}: not a layer of villages or towns; not used (add a [[zones]] for it if it is)",
                layer=shown,
            )
        )
    chosen = _scoring_section(draft, reg, related)
    _methods_section(draft, reg, chosen)
    _adjustment_section(draft, related, list(chosen))
    _zoning_section(draft, tables, layers)
    draft.project.text = "\n".join(draft.lines).rstrip() + "\n"
    return draft.project


def write_project(directory: Path, project: StarterProject, force: bool = False) -> Path:
    """Write ``directory/riskmap.toml``; an existing one only with ``force`` (nothing else is touched).

    Raises
    ------
    OutputError
        The file exists and ``force`` is false, or it cannot be written.
    """
    target = refuse_existing(directory, force)
    if directory.exists() and not directory.is_dir():
        raise OutputError(
            tr(
                "{directory}: is a file, not a directory; choose a new or empty directory",
                directory=directory,
            )
        )
    directory.mkdir(parents=True, exist_ok=True)
    tomllib.loads(project.text)  # written as data: a header or a sector cannot break the file
    return atomic_write_text(target, project.text)


def refuse_existing(directory: Path, force: bool = False) -> Path:
    """The project file to write; an existing one stops here unless ``force``.

    Raises
    ------
    OutputError
        ``directory/riskmap.toml`` exists and ``force`` is false.
    """
    target = directory / PROJECT_FILE
    if target.exists() and not force:
        raise OutputError(
            tr(
                "{file} exists: riskmap init does not overwrite a project file; add --force to replace it "
                "(only riskmap.toml is replaced)",
                file=target,
            )
        )
    return target
