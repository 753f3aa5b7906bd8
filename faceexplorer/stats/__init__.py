"""Pure statistics on arrays and frames: crowd agreement, AU metrics, DASS-21, correlation, models.

numpy and pandas only: no SQL, no DuckDB, no index. The report builders of
:mod:`faceexplorer.reports` read the index and call these (pyproject.toml's import
contracts, checked by tests/test_layers.py, keep it so).
"""
