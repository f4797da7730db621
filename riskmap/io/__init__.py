"""Readers and writers: everything that touches the disk on the input side, plus atomic file replacement.

Coordinate systems live here too: ``io/crs.py`` (EPSG codes, the GCJ-02/BD-09 transforms) and ``io/shifts.py``
(which layer is in a map app's shifted system).
"""

import pyogrio as _pyogrio

# GDAL writes a PAM sidecar (riskmap.gpkg.aux.xml, a copy of the dataset metadata) next to a GeoPackage with
# dataset metadata whenever it reads one. riskmap never needs PAM, so its own reads leave no litter behind.
_pyogrio.set_gdal_config_options({"GDAL_PAM_ENABLED": "NO"})
