"""The data an HTML map carries, decoded in Python: what compact_map.js reads, read without a browser.

The page calls ``riskmapCompact(map, meta, "<base64 gzip>", texts, control)``; :func:`read_map` finds that call
in the file and decodes the packed columns the way the page does (``html_compact.pack`` wrote them): a
little-endian array per name at the offset the layout gives, ``Zig32`` arrays as zigzag-coded int32 steps
stored byte plane by byte plane, text columns as NUL-separated UTF-8 (a dictionary of values and a code per
row, or one blob of every row). Tests read the page's facilities and zones from it: the names exactly as they
travel, the coordinates, the levels, the placed enterprises of a zone.

Usage::

    from mapdata import read_map

    data = read_map(path.read_text(encoding="utf-8"))
    fac = data.facilities()          # a DataFrame: lat, lon, level and every text field of the popup
    villages = data.zones(0)         # the finest layer: name, code, level, its props
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MapData", "read_map", "LEVEL_KEYS"]

#: Level codes of the page, in code order (html_compact.LEVEL_ORDER): red = 0 ... not assessed = 4.
LEVEL_KEYS = ("red", "orange", "yellow", "blue", "none")
_CALL = re.compile(r"riskmapCompact\((map_\w+), \{")
_KINDS = {
    "Uint8": "<u1",
    "Uint16": "<u2",
    "Uint32": "<u4",
    "Int32": "<i4",
    "Float32": "<f4",
    "Float64": "<f8",
}


@dataclass
class MapData:
    """The page's description (``meta``), its labels (``texts``) and the inflated bytes of its columns."""

    map_name: str
    meta: dict[str, Any]
    texts: dict[str, str]
    raw: bytes
    b64: str

    def array(self, name: str) -> np.ndarray:
        """One packed column, as the page's typed array of it."""
        kind, offset, n = self.meta["layout"][name]
        if kind == "Zig32":
            planes = np.frombuffer(self.raw, dtype=np.uint8, count=4 * n, offset=offset).reshape(4, n)
            u = planes.T.copy().view("<u4").reshape(-1).astype(np.int64)
            return ((u >> 1) ^ -(u & 1)).astype(np.int32)
        return np.frombuffer(self.raw, dtype=_KINDS[kind], count=n, offset=offset)

    def text(self, spec: dict[str, str]) -> list[str]:
        """A text column, one string a row."""
        if spec["kind"] == "dict":
            table = self.array(spec["table"]).tobytes().decode("utf-8").split("\0")
            return [table[c] for c in self.array(spec["codes"])]
        return self.array(spec["blob"]).tobytes().decode("utf-8").split("\0")

    def facilities(self) -> pd.DataFrame:
        """Every facility in the page's order: lat, lon (degrees), level (key), its text fields, town (name)."""
        f = self.meta["facilities"]
        out = pd.DataFrame(
            {
                "lat": np.cumsum(self.array("f.lat").astype(np.int64)) / 1e6 if f["n"] else [],
                "lon": np.cumsum(self.array("f.lon").astype(np.int64)) / 1e6 if f["n"] else [],
                "level": [LEVEL_KEYS[c] for c in self.array("f.level")],
            }
        )
        for field, spec in f["fields"].items():
            out[field] = self.text(spec)
        if "f.town" in self.meta["layout"]:
            out["town"] = [f["towns"][c] for c in self.array("f.town")]
        return out

    def zones(self, k: int) -> pd.DataFrame:
        """Zone layer ``k`` (0 = the finest): level (key) and every property the tooltip shows."""
        z = self.meta["zones"][k]
        out = pd.DataFrame({"level": [LEVEL_KEYS[c] for c in self.array(f"{z['prefix']}.level")]})
        for prop, spec in z["props"].items():
            out[prop] = self.text(spec)
        return out

    def rings(self, k: int, zone: int, simplification: int = 0) -> list[np.ndarray]:
        """The rings of one zone of layer ``k`` as (lon, lat) arrays in degrees, from a copy of the outlines."""
        s = self.meta["zones"][k]["sets"][simplification]
        xy = np.cumsum(self.array(s["xy"]).astype(np.int64).reshape(-1, 2), axis=0) / 1e6
        rings, feats = self.array(s["rings"]), self.array(s["feats"])
        return [xy[rings[r] : rings[r + 1]] for r in range(feats[zone], feats[zone + 1])]

    def changed_zones(self) -> list[int]:
        """Indices (into the finest layer) of the zones the sensitivity layer outlines dashed."""
        return self.array("s.zones").tolist() if self.meta.get("sensitivity") else []


def read_map(page: str) -> MapData:
    """The map data of an HTML page riskmap wrote (AssertionError if it carries none)."""
    call = _CALL.search(page)
    assert call, "no riskmapCompact(...) call in the page"
    decoder = json.JSONDecoder()
    meta, at = decoder.raw_decode(page, call.end() - 1)
    assert page.startswith(', "', at), page[at : at + 20]
    end = page.index('"', at + 3)
    b64 = page[at + 3 : end]
    assert page.startswith(", ", end + 1)
    texts, _ = decoder.raw_decode(page, end + 3)
    return MapData(call.group(1), meta, texts, gzip.decompress(base64.b64decode(b64, validate=True)), b64)
