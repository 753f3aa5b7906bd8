"""The desktop window: the only package that imports PySide6 (and later pyqtgraph).

Views read the index through typed functions of :mod:`faceexplorer.index` (queries) and
:mod:`faceexplorer.reports` (figures), never with SQL of their own (tests/test_layers.py
checks), and keep one page of rows at a time. ``app.run`` is the entry point the CLI calls.

The large non-Qt libraries are imported here, before any module of this package can
import PySide6: once loaded, PySide6 hooks every later import (its "feature" support)
and reads each new module's source to see whether it uses Qt. pandas alone costs
~0.2 s more CPU when imported after PySide6 than before; every view needs these
libraries anyway, so loading them first is free.
"""

import duckdb  # noqa: F401
import numpy  # noqa: F401
import pandas  # noqa: F401
