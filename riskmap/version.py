"""riskmap's version, in a leaf module: the outputs stamp it without importing the package (and its pipeline)."""

__all__ = ["__version__"]

__version__ = "0.1.0"
