"""The core stays headless: no module outside ``faceexplorer.gui`` pulls in Qt."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import importlib, pkgutil, sys
import faceexplorer

def walk(path, prefix):
    # walk_packages would import every package it enters, faceexplorer.gui included
    for m in pkgutil.iter_modules(path, prefix):
        if m.name in ("faceexplorer.gui", "faceexplorer.__main__"):
            continue
        yield m.name
        if m.ispkg:
            yield from walk(importlib.import_module(m.name).__path__, m.name + ".")

names = list(walk(faceexplorer.__path__, "faceexplorer."))
for name in names:
    importlib.import_module(name)
qt = sorted(m for m in sys.modules if m.split(".")[0] in {"PySide6", "pyqtgraph", "shiboken6"})
print(len(names), qt)
sys.exit(1 if qt else 0)
"""


def test_core_imports_no_qt() -> None:
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
