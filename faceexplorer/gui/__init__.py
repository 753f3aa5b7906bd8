"""The desktop window: the only package that imports PySide6 (and later pyqtgraph).

Views read the index through :mod:`faceexplorer.index.browse` only, never SQL, and keep
one page of rows at a time. ``app.run`` is the entry point the CLI calls.
"""
