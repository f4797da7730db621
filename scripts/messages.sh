#!/usr/bin/env bash
# The message catalogs (riskmap/i18n.py): extract every marked message from the code, bring the Chinese
# catalog up to date, and compile it. Run after changing a message; then translate the new entries
# (msgstr "") in riskmap/locale/zh_CN/LC_MESSAGES/riskmap.po and run again to compile.
#   scripts/messages.sh          extract, update, compile
#   scripts/messages.sh compile  compile only
# tests/test_messages.py fails on a message with no translation and on a .mo older than its .po.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
po=riskmap/locale/zh_CN/LC_MESSAGES/riskmap.po
if [ "${1:-}" != compile ]; then
  pot=$(mktemp --suffix .pot)
  trap 'rm -f "$pot"' EXIT
  "$py" -m babel.messages.frontend --quiet extract --no-location --sort-output \
    -k tr -k Msg -k N_ -k both --project riskmap -o "$pot" riskmap
  if [ -f "$po" ]; then
    "$py" -m babel.messages.frontend --quiet update --no-fuzzy-matching --ignore-obsolete \
      -i "$pot" -o "$po" -l zh_CN
  else
    "$py" -m babel.messages.frontend --quiet init -i "$pot" -o "$po" -l zh_CN
  fi
  # No dates in the header: a catalog changes when a message does, not when the script runs.
  sed -i '/^"POT-Creation-Date: /d; /^"PO-Revision-Date: /d' "$po"
fi
"$py" -m babel.messages.frontend --quiet compile --statistics -i "$po" -o "${po%.po}.mo" -l zh_CN
