#!/usr/bin/env bash
# Install what the tests need and run them: Debian packages (Chromium for the HTML tests, GDAL's ogrinfo for the
# GeoPackage tests, a CJK font for the figure, QGIS's Python bindings for the layer-style test), a virtual
# environment in .venv with riskmap and its test extras, then pytest. Extra arguments go to pytest.
# python3-qgis is imported by Debian's /usr/bin/python3 only: its test runs QGIS there, in a subprocess (~100 MB
# download, ~930 MB installed without recommends, ~2 min to install on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(chromium gdal-bin python3-gdal fonts-wqy-microhei libreoffice-writer-nogui poppler-utils postgresql-15 postgresql-15-postgis-3 python3-qgis)
if command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
.venv/bin/python -m pytest "$@"
