"""Compare two riskmap output folders: are they the same results?

    python scripts/compare_outputs.py OLD_DIR NEW_DIR

CSV files byte for byte, every GeoPackage layer (attributes and geometries), the XLSX cell by cell, map.html
byte for byte, run.json less what differs between any two runs (times, the output manifest, input paths).
Prints one line per difference and exits 1 if there is any; a file present on one side only is a difference.
Used to check that a change which should not alter results (a refactor, a speed-up) does not.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd

# Reading a GeoPackage must not leave GDAL's .aux.xml side files in the folders compared.
os.environ.setdefault("GDAL_PAM_ENABLED", "NO")
import pyogrio  # noqa: E402

# run.json keys that differ between two runs of the same inputs.
_VOLATILE = {"started", "finished", "manifest", "run_id"}


def _strip(doc):
    if isinstance(doc, dict):
        return {k: _strip(v) for k, v in doc.items() if k not in _VOLATILE}
    if isinstance(doc, list):
        return [_strip(v) for v in doc]
    return doc


def _gpkg(old: Path, new: Path) -> list[str]:
    out = []
    layers_old = [name for name, _ in pyogrio.list_layers(old)]
    layers_new = [name for name, _ in pyogrio.list_layers(new)]
    if layers_old != layers_new:
        return [f"{new.name}: layers {layers_old} != {layers_new}"]
    for layer in layers_old:
        a = pyogrio.read_dataframe(old, layer=layer)
        b = pyogrio.read_dataframe(new, layer=layer)
        if list(a.columns) != list(b.columns):
            out.append(f"{new.name}:{layer}: columns differ: {list(a.columns)} != {list(b.columns)}")
            continue
        if len(a) != len(b):
            out.append(f"{new.name}:{layer}: {len(a)} != {len(b)} rows")
            continue
        for col in a.columns:
            if col == "update_time":  # layer_styles: when the style was written
                continue
            x, y = a[col], b[col]
            if col == "geometry":
                # Rows without a geometry (an enterprise of the plan without coordinates) on both sides are the
                # same; geom_equals_exact says False for two missing geometries.
                same = (x.geom_equals_exact(y, tolerance=0) | (x.isna() & y.isna())).all()
            else:
                same = x.astype(str).equals(y.astype(str))
            if not same:
                out.append(f"{new.name}:{layer}: column {col!r} differs")
    return out


def _xlsx(old: Path, new: Path) -> list[str]:
    from openpyxl import load_workbook

    a, b = load_workbook(old, read_only=True), load_workbook(new, read_only=True)
    if a.sheetnames != b.sheetnames:
        return [f"{new.name}: sheets {a.sheetnames} != {b.sheetnames}"]
    out = []
    for name in a.sheetnames:
        rows_a = list(a[name].iter_rows(values_only=True))
        rows_b = list(b[name].iter_rows(values_only=True))
        if rows_a != rows_b:
            first = next((i for i, (p, q) in enumerate(zip(rows_a, rows_b, strict=False)) if p != q), None)
            out.append(
                f"{new.name}:{name}: differs (first at row {first}; {len(rows_a)} vs {len(rows_b)} rows)"
            )
    return out


def _run_json(old: Path, new: Path) -> list[str]:
    a = _strip(json.loads(old.read_text(encoding="utf-8")))
    b = _strip(json.loads(new.read_text(encoding="utf-8")))
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            out.append(f"{new.name}: {key!r} differs")
    return out


def compare(old_dir: Path, new_dir: Path) -> list[str]:
    """Every difference between the result files of two output folders."""
    names_old = {
        p.relative_to(old_dir) for p in old_dir.rglob("*") if p.is_file() and not p.name.startswith(".")
    }
    names_new = {
        p.relative_to(new_dir) for p in new_dir.rglob("*") if p.is_file() and not p.name.startswith(".")
    }
    diffs = [f"only in {old_dir}: {n}" for n in sorted(names_old - names_new)]
    diffs += [f"only in {new_dir}: {n}" for n in sorted(names_new - names_old)]
    for name in sorted(names_old & names_new):
        a, b = old_dir / name, new_dir / name
        if a.suffix == ".gpkg":
            diffs += _gpkg(a, b)
        elif a.suffix == ".xlsx":
            diffs += _xlsx(a, b)
        elif a.name in ("run.json", "plan.json"):
            diffs += _run_json(a, b)
        elif a.suffix == ".parquet":
            if not pd.read_parquet(a).astype(str).equals(pd.read_parquet(b).astype(str)):
                diffs.append(f"{name}: differs")
        elif a.read_bytes() != b.read_bytes():
            diffs.append(f"{name}: bytes differ")
    return diffs


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    diffs = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    for d in diffs:
        print(d)
    print("identical" if not diffs else f"{len(diffs)} differences")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
