"""``[adjustment]``: dynamic-adjustment rules and the fixed vocabulary of their conditions.

The condition models are data only; :mod:`riskmap.adjust` maps each condition class to its evaluator.
"""

from __future__ import annotations

import difflib
from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from riskmap.config.base import ConfigModel, LevelKey, value_problem
from riskmap.i18n import tr
from riskmap.vocabulary import (
    ACCIDENT_CLASSES,
    STANDARDISATION_GRADES,
    AccidentClass,
    HiddenDangerGrade,
    StandardisationGrade,
)

__all__ = [
    "OpenHiddenDanger",
    "OpenMajorHiddenDanger",
    "OverdueHiddenDanger",
    "AccidentCondition",
    "StandardisationCondition",
    "CONDITIONS",
    "Condition",
    "AdjustmentRule",
    "AdjustmentConfig",
]

#: A hidden-danger grade a condition counts, or any.
HiddenDangerFilter = Literal[HiddenDangerGrade, "any"]


class OpenHiddenDanger(ConfigModel):
    """Open (not yet closed, 未销号) hidden dangers found on or before the as-of date."""

    #: Adverse conditions may only raise a level; favourable ones only lower it.
    direction: ClassVar[str] = "raise"
    table: ClassVar[str] = "hidden_dangers"

    condition: Literal["open_hidden_danger"]
    grade: HiddenDangerFilter = Field("any", description="一般, 重大 or any.")
    min_count: int = Field(1, ge=1, description="Open hidden dangers needed for the condition to hold.")


class OpenMajorHiddenDanger(ConfigModel):
    """An open major hidden danger (重大事故隐患 not yet 销号)."""

    direction: ClassVar[str] = "raise"
    table: ClassVar[str] = "hidden_dangers"

    condition: Literal["open_major_hidden_danger"]
    min_count: int = Field(1, ge=1, description="Open major hidden dangers needed.")


class OverdueHiddenDanger(ConfigModel):
    """Open hidden dangers past their rectification deadline (the deadline day itself is not overdue)."""

    direction: ClassVar[str] = "raise"
    table: ClassVar[str] = "hidden_dangers"

    condition: Literal["overdue_hidden_danger"]
    grade: HiddenDangerFilter = Field("any", description="一般, 重大 or any.")
    min_count: int = Field(1, ge=1, description="Overdue hidden dangers needed.")
    min_days: int = Field(1, ge=1, description="Days past the deadline before one counts as overdue.")


class AccidentCondition(ConfigModel):
    """Accidents within the last ``within_months`` months (the day exactly that many months ago is outside)."""

    direction: ClassVar[str] = "raise"
    table: ClassVar[str] = "accidents"

    condition: Literal["accident"]
    classes: list[AccidentClass] = Field(
        default_factory=lambda: list(ACCIDENT_CLASSES),
        description="Accident classes counted (all by default).",
    )
    within_months: int = Field(12, ge=1, le=240, description="Length of the window ending on the as-of date.")
    min_count: int = Field(1, ge=1, description="Accidents needed in the window.")
    min_deaths: int = Field(0, ge=0, description="Deaths an accident needs to count (1: fatal accidents).")


class StandardisationCondition(ConfigModel):
    """A safety standardisation grade (安全生产标准化) valid on the as-of date."""

    direction: ClassVar[str] = "lower"
    table: ClassVar[str] = "standardisation"

    condition: Literal["standardisation"]
    grades: list[StandardisationGrade] = Field(
        default_factory=lambda: list(STANDARDISATION_GRADES), description="Grades that count."
    )


#: The fixed vocabulary of adjustment conditions, by name.
CONDITIONS: dict[str, type[ConfigModel]] = {
    "open_major_hidden_danger": OpenMajorHiddenDanger,
    "open_hidden_danger": OpenHiddenDanger,
    "overdue_hidden_danger": OverdueHiddenDanger,
    "accident": AccidentCondition,
    "standardisation": StandardisationCondition,
}

Condition = Annotated[
    OpenMajorHiddenDanger
    | OpenHiddenDanger
    | OverdueHiddenDanger
    | AccidentCondition
    | StandardisationCondition,
    Field(discriminator="condition"),
]


def _unknown_condition_key(key: str, name: str, keys: list[str]) -> str:
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.5)
    valid = ", ".join(keys) or tr("none")
    if close:
        return tr(
            "unknown key {key!r} for condition {name!r}; did you mean {close!r}? (valid: {valid})",
            key=key,
            name=name,
            close=close[0],
            valid=valid,
        )
    return tr("unknown key {key!r} for condition {name!r} (valid: {valid})", key=key, name=name, valid=valid)


def _condition(value: Any) -> Any:
    """Pick the condition model by name, with messages that list the valid names and keys."""
    if not isinstance(value, dict):
        return value
    name = value.get("condition")
    valid = ", ".join(CONDITIONS)
    if name is None:
        raise ValueError(tr("needs condition = one of {valid}", valid=valid))
    model = CONDITIONS.get(str(name))
    if model is None:
        close = difflib.get_close_matches(str(name), list(CONDITIONS), n=1)
        if close:
            raise ValueError(
                tr(
                    "unknown condition {name!r}; did you mean {close!r}? (valid: {valid})",
                    name=name,
                    close=close[0],
                    valid=valid,
                )
            )
        raise ValueError(tr("unknown condition {name!r} (valid: {valid})", name=name, valid=valid))
    try:
        return model.model_validate(value)
    except ValidationError as err:
        keys = [k for k in model.model_fields if k != "condition"]
        problems = []
        for e in err.errors():
            key = ".".join(str(p) for p in e["loc"])
            if e["type"] == "extra_forbidden":
                problems.append(_unknown_condition_key(key, str(name), keys))
            else:
                problems.append(value_problem(e, key))
        raise ValueError("; ".join(problems)) from None


class AdjustmentRule(ConfigModel):
    """One dynamic-adjustment rule: when a condition holds for a facility in scope, change its level."""

    name: str | None = Field(
        None, description="Name in outputs and the summary; default: the condition name."
    )
    when: Condition = Field(description='The condition, e.g. { condition = "accident", within_months = 12 }.')
    raise_to: LevelKey | None = Field(None, description="Raise to at least this level.")
    raise_by: int | None = Field(None, ge=1, le=3, description="Raise by this many levels (up to `ceiling`).")
    lower_to: LevelKey | None = Field(None, description="Lower to at most this level.")
    lower_by: int | None = Field(None, ge=1, le=3, description="Lower by this many levels (down to `floor`).")
    floor: LevelKey | None = Field(None, description="With lower_by: never lower below this level.")
    ceiling: LevelKey | None = Field(None, description="With raise_by: never raise above this level.")
    sectors: list[str] | None = Field(
        None, description="Sectors the rule applies to (keys of [scoring.sectors]); default: all."
    )

    @field_validator("when", mode="before")
    @classmethod
    def _when(cls, v: Any) -> Any:
        return _condition(v)

    @model_validator(mode="after")
    def _effect(self) -> AdjustmentRule:
        effects = {
            k: v
            for k, v in (
                ("raise_to", self.raise_to),
                ("raise_by", self.raise_by),
                ("lower_to", self.lower_to),
                ("lower_by", self.lower_by),
            )
            if v is not None
        }
        if len(effects) != 1:
            raise ValueError(
                tr(
                    "needs exactly one effect of raise_to, raise_by, lower_to, lower_by (got {effects})",
                    effects=", ".join(effects) or tr("none"),
                )
            )
        effect = next(iter(effects))
        if self.floor is not None and effect != "lower_by":
            raise ValueError(tr("floor goes with lower_by (lower_to already says how low)"))
        if self.ceiling is not None and effect != "raise_by":
            raise ValueError(tr("ceiling goes with raise_by (raise_to already says how high)"))
        direction = type(self.when).direction
        if not effect.startswith(direction):
            message = (
                tr(
                    "condition {condition!r} with {effect}: an adverse event can only raise a level (use raise_to "
                    "or raise_by)",
                    condition=self.when.condition,
                    effect=effect,
                )
                if direction == "raise"
                else tr(
                    "condition {condition!r} with {effect}: a standardisation grade can only lower a level (use "
                    "lower_to or lower_by)",
                    condition=self.when.condition,
                    effect=effect,
                )
            )
            raise ValueError(message)
        return self

    @property
    def effect(self) -> tuple[str, int | str]:
        """The effect as ``(name, value)``, e.g. ``("raise_to", "red")``."""
        for k in ("raise_to", "raise_by", "lower_to", "lower_by"):
            v = getattr(self, k)
            if v is not None:
                return k, v
        raise AssertionError("validated rules have one effect")


class AdjustmentConfig(ConfigModel):
    """Dynamic adjustment (动态调整): rules applied to the method levels, evaluated as of a date."""

    as_of: date | None = Field(
        None,
        description="Date the rules are evaluated on (a TOML date, 2026-11-24); --as-of overrides it; "
        "default: today.",
    )
    rules: list[AdjustmentRule] = Field(
        default_factory=list,
        description="Lowering rules apply first, then raising rules; within each group the strongest wins.",
    )

    def named_rules(self) -> list[tuple[str, AdjustmentRule]]:
        """Rules with their names: ``name``, else the condition name (``_2``, ``_3`` for repeats)."""
        out: list[tuple[str, AdjustmentRule]] = []
        seen: dict[str, int] = {}
        for rule in self.rules:
            base = rule.name or rule.when.condition
            seen[base] = seen.get(base, 0) + 1
            out.append((base if seen[base] == 1 or rule.name else f"{base}_{seen[base]}", rule))
        return out
