"""Where FaceExplorer keeps its own files: the user's data folder, never the dataset folders.

``FACEEXPLORER_HOME`` moves the whole data folder; ``FACEEXPLORER_DB`` (or ``--db``) names
the index file alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def user_data_dir() -> Path:
    """The per-user data folder (created on demand by the callers that write there)."""
    if home := os.environ.get("FACEEXPLORER_HOME"):
        return Path(home)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "FaceExplorer"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "FaceExplorer"
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "faceexplorer"


def default_db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The index file: ``explicit`` if given, else ``$FACEEXPLORER_DB``, else the data folder's."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get("FACEEXPLORER_DB"):
        return Path(env)
    return user_data_dir() / "index.duckdb"


def demo_dir() -> Path:
    """Where ``faceexplorer demo`` writes its sample datasets and index."""
    return user_data_dir() / "demo"


def resource_dir() -> Path:
    """The shipped resources (model cards, the selftest model), wherever FaceExplorer runs from.

    They live in the top-level ``resources/`` folder of the source tree, beside
    ``faceexplorer/``. The wheel installs that folder as ``faceexplorer/resources``
    (``setup.py`` maps it into the package) and the frozen app bundles it at the same place
    (``packaging/pyinstaller.spec``); an editable install or a checkout on ``PYTHONPATH``
    reads it where it is. A folder counts only if it holds the model cards.
    """
    package = Path(__file__).resolve().parent
    installed = package / "resources"
    if (installed / "model_cards").is_dir():
        return installed
    return package.parent / "resources"
