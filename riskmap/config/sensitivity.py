"""``[sensitivity]``: the accepted alternative conventions a project's levels are checked against.

Each variant is a name and a few dotted keys of the project file set to another value
(``set = { "methods.lec.boundary" = "upper" }``). The keys are checked when a sensitivity run applies them to
the validated project (:func:`riskmap.config.with_overrides`), with the same messages as the rest of the file.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from riskmap.config.base import ConfigModel
from riskmap.i18n import N_, tr

__all__ = ["SensitivityConfig", "Variant", "VARIANT_SECTIONS"]

#: The sections whose keys may change a level; a variant setting anything else would change nothing.
VARIANT_SECTIONS = ("methods", "scoring", "adjustment", "zoning")
#: Keys of those sections that are not conventions: every variant is evaluated on the run's one as-of date.
_NOT_CONVENTIONS = {
    "adjustment.as_of": N_(
        "variant {name!r}: adjustment.as_of is the date the rules are evaluated on, not a convention: every "
        "variant is graded on the run's date; to compare dates, run riskmap sensitivity (or diff two runs) "
        "with --as-of"
    ),
}


class Variant(ConfigModel):
    """One alternative convention: a name and the keys it sets."""

    name: str = Field(min_length=1, description="Shown in the outputs (changed_by) and the report.")
    overrides: dict[str, Any] = Field(
        alias="set",
        min_length=1,
        description='Dotted keys of the project file and their values, e.g. { "methods.lec.boundary" = "upper" }; '
        'a named adjustment rule is addressed by its name ("adjustment.rules.standardisation"), and set to false '
        "to turn it off.",
    )

    @model_validator(mode="after")
    def _sections(self) -> Variant:
        for key in self.overrides:
            if key.split(".")[0] not in VARIANT_SECTIONS:
                raise ValueError(
                    tr(
                        "variant {name!r}: key {key!r} does not change any level; a variant sets keys under "
                        "{sections}",
                        name=self.name,
                        key=key,
                        sections=", ".join(VARIANT_SECTIONS),
                    )
                )
            if key in _NOT_CONVENTIONS:
                raise ValueError(tr(_NOT_CONVENTIONS[key], name=self.name))
        return self

    @property
    def where(self) -> str:
        """How messages name the variant."""
        return tr("[sensitivity] variant {name!r}", name=self.name)

    def as_overrides(self) -> dict[str, Any]:
        """The keys to set on the project (:func:`riskmap.config.with_overrides`) to grade under this variant.

        The project's own ``[sensitivity]`` is left out: a variant has no variants (and validating them again
        from each variant would never end).
        """
        return {"sensitivity": None, "outputs.sensitivity": False, **self.overrides}


class SensitivityConfig(ConfigModel):
    """The alternative conventions of ``riskmap sensitivity`` (and ``[outputs] sensitivity = true``)."""

    variants: list[Variant] = Field(
        default_factory=list, description="Named alternatives, each a few keys set to another value."
    )

    @model_validator(mode="after")
    def _unique(self) -> SensitivityConfig:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(tr("each variant needs its own name, got {names}", names=names))
        return self
