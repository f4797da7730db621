"""Writers of riskmap's results: the interactive HTML map, figures, tables and GeoPackages."""
