"""The sensitivity tables: levels under the project's settings and their range over the ``[sensitivity]`` variants.

Layers ``sensitivity_facilities`` (points), ``sensitivity_zones_<kind>`` (polygons) and ``sensitivity_variants``
(one row per variant), in the GeoPackage and as CSV: by ``riskmap run`` with ``[outputs] sensitivity = true``
(into riskmap.gpkg) and by ``riskmap sensitivity`` (into sensitivity.gpkg, ``sensitivity.json`` last).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from riskmap.config import Config, config_hash
from riskmap.io.inputfiles import InputFile
from riskmap.outputs.runfolder import open_output_set
from riskmap.sensitivity import CHANGED_BY, SensitivityResult
from riskmap.version import __version__

__all__ = ["sensitivity_layers", "sensitivity_summary", "write_sensitivity_tables", "write_sensitivity"]


def sensitivity_layers(result: SensitivityResult) -> dict[str, pd.DataFrame]:
    """The GeoPackage layers (and CSV tables) of a sensitivity result, by name."""
    layers: dict[str, pd.DataFrame] = {"sensitivity_facilities": result.facilities}
    for kind, z in result.zones.items():
        layers[f"sensitivity_zones_{kind}"] = z
    layers["sensitivity_variants"] = result.variants
    return layers


def sensitivity_summary(result: SensitivityResult) -> dict[str, Any]:
    """How many facilities and zones keep their level under every variant, and how many change."""

    def counts(df: pd.DataFrame) -> dict[str, int]:
        changed = int((df[CHANGED_BY] != "").sum())
        return {"firm": len(df) - changed, "changed": changed}

    return {
        "facilities": counts(result.facilities),
        "zones": {kind: counts(z) for kind, z in result.zones.items()},
        "variants": result.variants.to_dict("records"),
    }


def write_sensitivity_tables(result: SensitivityResult, out: Path) -> dict[str, Path]:
    """Each sensitivity layer as CSV (without geometry) in ``out``; the paths by output key."""
    from riskmap.outputs.tables import write_csv

    outputs = {}
    for name, df in sensitivity_layers(result).items():
        table = pd.DataFrame(df.drop(columns="geometry")) if "geometry" in df.columns else df
        outputs[f"{name}_csv"] = write_csv(table, out / f"{name}.csv")
    return outputs


def write_sensitivity(
    config: Config,
    result: SensitivityResult,
    inputs: Mapping[str, InputFile | Path],
    out_dir: str | Path | None = None,
    force: bool = False,
) -> dict[str, Path]:
    """Write sensitivity.gpkg, the CSV tables and ``sensitivity.json`` (their manifest, last) as one set."""
    from riskmap.outputs.gpkg import write_geopackage
    from riskmap.outputs.runfolder import input_provenance

    started = datetime.now(UTC).isoformat(timespec="seconds")
    provenance: dict[str, Any] = {
        "riskmap_version": __version__,
        "config_hash": config_hash(config),
        "inputs": input_provenance(config.base_dir, inputs),
        "started": started,
    }
    out = Path(out_dir) if out_dir is not None else config.resolve(config.outputs.dir)
    with open_output_set(out, "sensitivity.json", force) as outset:
        staged = {
            "geopackage": write_geopackage(
                outset.staging / "sensitivity.gpkg",
                sensitivity_layers(result),
                metadata={"riskmap_version": __version__, "config_hash": provenance["config_hash"]},
                lang=config.project.lang,
            )
        }
        staged |= write_sensitivity_tables(result, outset.staging)
        doc = {
            "summary": sensitivity_summary(result),
            "provenance": {**provenance, "finished": datetime.now(UTC).isoformat(timespec="seconds")},
            "outputs": {k: p.name for k, p in staged.items()},
        }
        manifest = outset.commit(doc)
    paths = {k: outset.final(p) for k, p in staged.items()}
    paths["sensitivity_json"] = manifest
    return paths
