"""Report builders: SQL-backed figures that join index queries and pure statistics.

The layer between the index and the views (see ``docs/architecture.md`` and the
import-linter contracts in ``pyproject.toml``): a module here reads the index with SQL
(``faceexplorer.index`` queries or its own ``SELECT``), hands arrays and frames to the
pure maths of ``faceexplorer.stats`` and returns typed values or JSON-ready dicts that a
view, the terminal or a bench only lays out. ``stats`` never reads the index, and
``index`` imports neither ``stats`` nor this package.
"""
