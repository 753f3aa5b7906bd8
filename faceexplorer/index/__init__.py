"""The DuckDB index: schema of the shared tables, atomic imports, typed queries.

Imports neither :mod:`faceexplorer.stats`, :mod:`faceexplorer.reports` nor the importers
(:mod:`faceexplorer.datasets`): what needs an importer or a statistic sits above it.
"""
