"""FaceExplorer: a desktop explorer for facial-affect datasets on a local DuckDB index.

Data flows one way: dataset files -> importers (``faceexplorer.datasets``) -> the DuckDB
index (``faceexplorer.index``) -> report builders (``faceexplorer.reports``, SQL joined with
the pure maths of ``faceexplorer.stats``) -> views (``faceexplorer.gui``, the only package
that imports Qt, and which runs no SQL of its own). The imports follow the same order,
enforced by the import-linter contracts in pyproject.toml (tests/test_layers.py).
"""

__version__ = "0.1.0"
