"""The libraries FaceExplorer ships with, their licences, and where the full texts are.

Help > About lists them (``gui/help.py``); ``packaging/pyinstaller.spec`` copies the texts
into the frozen app, which has no ``site-packages`` to find them in. A text is looked for:

1. in a frozen app, in its ``licenses/<distribution>/`` folder (the spec put it there);
2. otherwise in the files the installed distribution recorded (``LICENSE``, ``COPYING``,
   ``.txt``/``.md``; the shallowest, i.e. the package's own rather than a vendored one's).

PySide6's wheels install no licence file: the spec then bundles the build machine's
system copy of the LGPL-3.0 and the GPL-3.0 it amends (Debian's
``/usr/share/common-licenses``), and About also gives the licence's address.
No Qt here: the spec imports this module at build time.
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import sys
from dataclasses import dataclass
from pathlib import Path

#: The folder of a frozen app that holds one folder of licence texts per distribution.
FROZEN_FOLDER = "licenses"


@dataclass(frozen=True)
class BundledLibrary:
    """A library FaceExplorer ships with, its licence and its distribution's name."""

    name: str
    licence: str
    distribution: str


BUNDLED_LIBRARIES: tuple[BundledLibrary, ...] = (
    BundledLibrary("Qt 6 and PySide6", "LGPL-3.0", "PySide6_Essentials"),
    BundledLibrary("pyqtgraph", "MIT", "pyqtgraph"),
    BundledLibrary("NumPy", "BSD-3-Clause", "numpy"),
    BundledLibrary("pandas", "BSD-3-Clause", "pandas"),
    BundledLibrary("OpenCV (opencv-python-headless)", "Apache-2.0", "opencv-python-headless"),
    BundledLibrary("ONNX Runtime", "MIT", "onnxruntime"),
    BundledLibrary("DuckDB", "MIT", "duckdb"),
)
#: Where the full text is when a package installs none (PySide6's wheels carry none).
LICENCE_TEXTS = {"LGPL-3.0": "https://www.gnu.org/licenses/lgpl-3.0.html"}
#: System copies of a licence's text (Debian and derivatives), for the frozen app's build.
SYSTEM_TEXTS = {"LGPL-3.0": ("/usr/share/common-licenses/LGPL-3",
                             "/usr/share/common-licenses/GPL-3")}
_NAMED = re.compile(r"(LICEN[CS]E|COPYING)(\.txt|\.md)?$", re.IGNORECASE)


def frozen_root() -> Path | None:
    """The frozen app's bundle folder (PyInstaller's ``sys._MEIPASS``), else None."""
    root = getattr(sys, "_MEIPASS", None)
    return Path(root) if getattr(sys, "frozen", False) and root else None


def licence_files(distribution: str) -> tuple[str, list[Path]]:
    """The installed version of ``distribution`` and the licence files of it found here."""
    try:
        version = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        version = ""
    root = frozen_root()
    if root is not None:
        folder = root / FROZEN_FOLDER / distribution
        files = sorted(folder.iterdir()) if folder.is_dir() else []
        return version, [f for f in files if f.is_file()]
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return "", []
    named = sorted((f for f in (dist.files or []) if _NAMED.match(f.name)),
                   key=lambda f: len(f.parts))       # the package's own, not a vendored one
    files = [Path(str(dist.locate_file(f))) for f in named]
    return version, [f for f in files if f.is_file()][:1]


def texts_to_bundle() -> list[tuple[str, str]]:
    """``(source file, folder in the bundle)`` of every licence text the frozen app ships."""
    out: list[tuple[str, str]] = []
    for lib in BUNDLED_LIBRARIES:
        _, files = licence_files(lib.distribution)
        if not files:
            files = [Path(p) for p in SYSTEM_TEXTS.get(lib.licence, ()) if Path(p).is_file()]
        out += [(str(f), f"{FROZEN_FOLDER}/{lib.distribution}") for f in files]
    return out
