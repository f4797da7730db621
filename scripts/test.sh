#!/usr/bin/env bash
# Install what the tests need and run them: Debian packages (Chromium for the HTML tests, GDAL's ogrinfo for the
# GeoPackage tests, a CJK font for the figure, QGIS's Python bindings for the layer-style test), a virtual
# environment in .venv with riskmap and its test extras, then pytest. Extra arguments go to pytest. Before pytest:
# Node.js and npm (apt, unless on PATH), the eslint that package-lock.json pins (npm ci), eslint and the unit tests
# of the map's JavaScript (node --test tests/js).
# python3-qgis is imported by Debian's /usr/bin/python3 only: its test runs QGIS there, in a subprocess (~100 MB
# download, ~930 MB installed without recommends, ~2 min to install on 2 cores).
# python3-venv: tests/test_bundle.py installs the offline bundle with Debian's python3, as an office would.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(chromium gdal-bin python3-gdal fonts-wqy-microhei libreoffice-writer-nogui poppler-utils postgresql-15 postgresql-15-postgis-3 python3-qgis python3-venv)
if command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  # Any node (>= 18.18) and npm on PATH will do (NodeSource's node brings npm without Debian's npm package).
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if ((${#missing[@]})); then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
npm ci --no-audit --no-fund --loglevel=error
npx --no-install eslint
node --test tests/js/*.test.js
.venv/bin/python -m pytest "$@"
