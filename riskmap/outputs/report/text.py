"""The report's words and how it writes a number.

The texts of the report, its sensitivity section and the cards are catalog messages (English, marked ``N_``) read
in the report's language: ``TEXT[lang][key]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from riskmap.i18n import N_, ByLanguage

__all__ = ["TEXT", "SENSITIVITY_TEXT", "CARD_TEXT", "INPUT_NAMES", "NUMERALS", "fmt"]

#: How a Chinese report numbers its sections (一、二、…); an English one writes 1., 2., ….
NUMERALS = "一二三四五六七八九十"

#: What each input of the project file is, in words (the provenance table names it so, its section beside it).
INPUT_NAMES = ByLanguage(
    {
        "facilities": N_("Enterprise register"),
        "inventory": N_("Hazardous chemical inventory"),
        "risk_points": N_("Risk points"),
        "deductions": N_("Deductions"),
        "hidden_dangers": N_("Hidden dangers"),
        "accidents": N_("Accidents"),
        "standardisation": N_("Safety standardisation"),
        "population": N_("Population raster"),
        "sensitive_sites": N_("Sensitive sites"),
        "roster": N_("Inspector roster"),
        "indicators": N_("Indicators"),
        "zones": N_("{kind} boundaries"),
    }
)

TEXT = ByLanguage(
    {
        "report": N_("Safety risk report"),
        "period": N_("{year}"),
        "unit": N_("Prepared by: {unit}"),
        "made": N_("Date: {date}"),
        "as_of": N_("Levels as of: {date}"),
        "h_summary": N_("1. Summary"),
        "h_figure": N_("2. Four-colour risk map"),
        "h_changes": N_("3. What changed since the previous run"),
        "h_plan": N_("{n}. Inspection plan"),
        "h_quality": N_("{n}. Data quality and methods"),
        "t_levels": N_("Table {n}. Enterprises and zones by risk level"),
        "t_zones": N_("Table {n}. Risk level of each {kind}"),
        "t_list": N_("Table {n}. {level} enterprises"),
        "t_changes": N_("Table {n}. Levels up and down"),
        "t_changed": N_("Table {n}. Level changes: {layer}"),
        "t_months": N_("Table {n}. Inspections per month and level"),
        "t_towns": N_("Table {n}. Inspection plan per {kind}"),
        "t_quality": N_("Table {n}. Rows processed"),
        "t_rejects": N_("Table {n}. Rejected rows by reason (top {k})"),
        "t_inputs": N_("Table {n}. Inputs and their SHA-256"),
        "t_sens_zones": N_("Table {n}. Zones ({kind}) whose level depends on the convention"),
        "fig": N_("Figure 1. {title} (four-colour risk map)"),
        "level": N_("Level"),
        "enterprises": N_("Number of enterprises"),
        "share": N_("Share"),
        "total": N_("Total"),
        "red_orange": N_("Major + considerable"),
        "code": N_("Code"),
        "name": N_("Name"),
        "n_total": N_("Enterprises in total"),
        "rule": N_("Rule"),
        "no": N_("No."),
        "ent_name": N_("Enterprise"),
        "credit": N_("Credit code"),
        "town": N_("Town"),
        "village": N_("Village"),
        "sector": N_("Sector"),
        "method": N_("Method"),
        "reasons": N_("Reasons"),
        "change": N_("Change"),
        "id": N_("Id"),
        "old": N_("Before"),
        "new": N_("Now"),
        "added": N_("Reasons added"),
        "removed": N_("Reasons no longer given"),
        "layer": N_("Layer"),
        "up": N_("Up"),
        "down": N_("Down"),
        "new_": N_("New"),
        "removed_": N_("Removed"),
        "unchanged": N_("Unchanged"),
        "month": N_("Month"),
        "planned": N_("Planned"),
        "capacity": N_("Capacity"),
        "scheduled": N_("Scheduled"),
        "shortfall": N_("Shortfall (officer-days)"),
        "inspections": N_("Inspections"),
        "drawn": N_("Drawn by lot"),
        "patrols": N_("Zone patrols a year"),
        "item": N_("Item"),
        "value": N_("Value"),
        "source": N_("File"),
        "field": N_("Field"),
        "reason": N_("Reason"),
        "rows": N_("Rows"),
        "input": N_("Input"),
        "path": N_("Path"),
        "per_year": N_("Inspections a year"),
        "rows_in": N_("Facility rows in"),
        "scored": N_("Enterprises graded"),
        "unassessed": N_("Enterprises not assessed (grey)"),
        "rejected": N_("Rows rejected"),
        "adj_up": N_("Raised by dynamic adjustment"),
        "adj_down": N_("Lowered by dynamic adjustment"),
        "incomplete": N_("Graded without some records"),
        "month_n": N_("{m}"),
        "facilities_layer": N_("Enterprises"),
        "h_annex": N_("Annex"),
        "annex_n": N_("Annex {n}"),
        "annex_file": N_("the annex {file}"),
        "annex_list": N_("Annex {n}. {level} enterprises"),
        "annex_rejects": N_("Annex {n}. Rejected rows"),
        "annex_changes": N_("Annex {n}. Level changes: {layer}"),
        "annex_sensitivity": N_("Annex {n}. Zones ({kind}) whose level depends on the convention"),
        "annex_more": N_("{n} rows: the table shows the first {k}; all of them are in {where}."),
        "t_rejects_all": N_("Table {n}. Rejected rows ({k})"),
        "sheet_red": N_("Major risk"),
        "sheet_orange": N_("Considerable risk"),
        "sheet_rejects": N_("Rejected rows"),
        "sheet_changes": N_("Changes {layer}"),
        "sheet_sensitivity": N_("Sensitivity {kind}"),
        "row": N_("Row"),
        "none_rows": N_("None."),
        "see_lists": N_("The lists of major and considerable risk enterprises are in {where}."),
        "see_rejects": N_("Every rejected row is in {where}."),
        "see_changes": N_("The changes in detail are in {where}."),
        "decisions_intro": N_(
            "An expert decision (committee) set the level of {n} enterprises or zones; the computed level is kept in "
            "the level_computed column, with the reason, who decided and when (riskmap.gpkg: decision_reason, "
            "decided_by, decided_on, valid_until)."
        ),
        "t_decisions": N_("Table {n}. Expert decisions"),
        "annex_decisions": N_("Annex {n}. Expert decisions"),
        "sheet_decisions": N_("Expert decisions"),
        "see_decisions": N_("The expert decisions are listed in {where}."),
        "target": N_("Target"),
        "computed": N_("Computed level"),
        "decided": N_("Decided level"),
        "decision_reason": N_("Reason of the decision"),
        "decided_by": N_("Decided by"),
        "decided_on": N_("Decided on"),
        "see_sensitivity": N_("The zones ({kind}) whose level depends on the convention are in {where}."),
        "h_scoring": N_("Grading the enterprises"),
        "h_adjustment": N_("Dynamic adjustment"),
        "h_supervision": N_("Inspection rules"),
        "zone_rules": N_("How zones are graded:"),
        "provenance": N_("Made by riskmap {version}; config hash {hash}."),
        "dash": N_("-"),
    }
)
#: The sensitivity section's texts (its own table: other sections' texts stay as they are).
SENSITIVITY_TEXT = ByLanguage(
    {
        "h": N_("{n}. How firm the levels are (alternative conventions)"),
        "firm": N_(
            "Under {v} accepted alternative conventions, {ff} of {nf} enterprises and {zf} "
            "of {nz} zones ({kind}) keep their level; {fc} enterprises and {zc} zones depend"
            " on the convention applied."
        ),
        "caption": N_("Table {t}. Enterprises and zones whose level each alternative convention changes"),
        "header": [N_("Convention"), N_("Settings changed"), N_("Enterprises"), N_("{kind}")],  # fmt: skip
        "zones_caption": N_("Table {t}. Zones ({kind}) whose level depends on the convention"),
        "zones_header": [
            N_("Name"),
            N_("Code"),
            N_("Level"),
            N_("Lowest"),
            N_("Highest"),
            N_("Changed by"),
        ],  # fmt: skip
        "decided": N_(
            "Besides, the levels of {df} enterprises and {dz} zones ({kind}) were set by an expert decision: they do "
            "not follow the conventions and are reported apart, not counted above."
        ),
    }
)
CARD_TEXT = ByLanguage(
    {
        "title": N_("Risk notification card"),
        "rows": (
            N_("Enterprise"),
            N_("Credit code"),
            N_("Town, village"),
            N_("Sector"),
            N_("Risk level"),
            N_("Reasons (main risk points)"),
            N_("Inspection frequency"),
            N_("Months"),
            N_("Inspectors"),
            N_("Levels as of"),
        ),  # fmt: skip
        "per_year": N_("{n} a year"),
        "foot": N_(
            "Made by riskmap from the risk grading; post it where it can be seen and update "
            "it when the level changes."
        ),
    }
)


def fmt(v: Any) -> str:
    """A number as the tables and the sentences both show it."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (float, np.floating)):
        return f"{v:g}"
    return str(v)
