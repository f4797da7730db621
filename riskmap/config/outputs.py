"""``[outputs]``: which outputs to write, and where."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from riskmap.config.base import ConfigModel
from riskmap.config.conninfo import conninfo_password, normalise_conninfo

__all__ = ["OutputsConfig", "ReportFonts", "DEPRECATED"]

#: Keys of ``[outputs]`` still accepted (older project files load) that no longer do anything: what to say.
DEPRECATED: dict[str, str] = {
    "cluster_above": "no longer does anything: every HTML map is the canvas map of compressed columns, whatever "
    "its size; remove the key from the project file",
}


class ReportFonts(ConfigModel):
    """Fonts of the Word report (report.docx); East-Asian fonts go into w:eastAsia of every run."""

    body: str = Field("宋体", description="Chinese font of body text and tables (宋体, 仿宋 ...).")
    heading: str = Field("黑体", description="Chinese font of the headings and the title.")
    latin: str = Field("Times New Roman", description="Font of Latin letters and digits.")


class OutputsConfig(ConfigModel):
    """Which outputs to write."""

    dir: Path = Field(Path("riskmap-out"), description="Output directory, relative to the project file.")
    html: bool = True
    embed: bool = Field(
        False,
        description="HTML map of fixed size without full-page styling, for an <iframe> or a report page.",
    )
    geoparquet: bool = Field(
        False,
        description="Also write the facility, zone and plan layers as GeoParquet (facilities.parquet, "
        "zones_<kind>.parquet, inspection_plan.parquet): how large results move to other tools.",
    )
    cluster_above: int = Field(
        5000,
        ge=0,
        description="Deprecated, does nothing: every HTML map now carries its facilities and zones as compressed "
        "columns drawn on canvas, whatever its size (this chose the facility count above which it did). "
        "Accepted with a warning; remove it from the project file.",
        json_schema_extra={"deprecated": True},
    )
    figure: bool = True
    sensitivity: bool = Field(
        False,
        description="riskmap run also re-grades under each [sensitivity] variant: sensitivity tables, a map layer "
        "of the zones whose colour changes, a report section.",
    )
    figure_formats: list[Literal["png", "svg", "pdf"]] = Field(default=["png"])
    tiles: Literal["none", "openstreetmap", "tianditu", "gaode"] = Field(
        "none",
        description="Base tiles of the HTML map: none works offline; tianditu reads its key from the TIANDITU_KEY "
        "environment variable (never put it in the project file); gaode shows the data shifted to GCJ-02.",
    )
    # The Word report (riskmap report; riskmap run too when report = true).
    report: bool = Field(False, description="riskmap run also writes report.docx (and cards.docx).")
    report_unit: str = Field("", description="Issuing unit on the report's title page (e.g. XX县应急管理局).")
    report_template: Path | None = Field(
        None, description="A .docx whose styles, header and footer (红头) the report uses; default: styles/."
    )
    report_cards: Literal["red-orange", "all", "none"] = Field(
        "red-orange", description="Risk notification cards (风险告知卡, cards.docx): for which enterprises."
    )
    report_annex: Literal["docx", "xlsx"] = Field(
        "docx",
        description="Where the report's annex goes (附件: the red and orange lists, every rejected row): docx, in "
        "report.docx after a section break; xlsx, as report-annex.xlsx beside it.",
    )
    report_fonts: ReportFonts = Field(default_factory=ReportFonts)
    font: Path | None = Field(
        None,
        description="A font file (.ttf/.ttc/.otf, e.g. simhei.ttf copied from a Windows PC), relative to the "
        "project file: the figure writes with it and the Word report names it as its Chinese (East-Asian) font. "
        "Default: an installed CJK font (Debian fonts-noto-cjk or fonts-wqy-microhei).",
    )
    # Publishing the result layers to PostGIS (riskmap run --postgis), for a city's GIS server.
    postgis: str | None = Field(
        None,
        description='Publish the result layers to PostGIS: a URL without password ("postgresql://user@host:5432/'
        'db") or a libpq string ("service=gis"); the password comes from PGPASSWORD, ~/.pgpass or the service '
        "file.",
    )
    postgis_schema: str = Field(
        "riskmap",
        pattern=r"^[a-z_][a-z0-9_]{0,39}$",
        description="Schema the result layers are published to (replaced as a whole by each run).",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: Any) -> Any:
        # A model (not field) validator: a field's error message would show the value, password and all.
        value = data.get("postgis") if isinstance(data, dict) else None
        if isinstance(value, str) and conninfo_password(value):
            raise ValueError(
                "postgis: a password in the project file is not allowed; give it through PGPASSWORD, "
                "~/.pgpass or the service file (pg_service.conf)"
            )
        if isinstance(value, str):  # libpq reads postgresql:// in lower case only
            return {**data, "postgis": normalise_conninfo(value)}
        return data

    def deprecated_keys(self) -> list[str]:
        """A warning for each key of :data:`DEPRECATED` the project file sets (each once)."""
        return [f"[outputs] {key} {why}" for key, why in DEPRECATED.items() if key in self.model_fields_set]
