"""FaceExplorer: a desktop explorer for facial-affect datasets on a local DuckDB index.

Data flows one way: dataset files -> importers (``faceexplorer.datasets``) -> the DuckDB
index (``faceexplorer.index``) -> queries and statistics -> views (``faceexplorer.gui``,
the only package that imports Qt).
"""

__version__ = "0.1.0"
