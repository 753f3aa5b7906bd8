"""The built-in demo: small sample datasets and their index, built once in the data folder.

The index is built aside (``index.building.duckdb``) and renamed into place only when
every dataset has imported, so an interrupted first run never leaves a half-built demo;
the next run simply builds again. A version stamp rebuilds the demo when the sample
generator changes.

The demo also ships a small expression model (``resources/demo_model/``, trained on drawn
faces by ``packaging/make_demo_model.py``) with its card: it is copied to ``models/``
beside the demo's index, where the window looks for a model when none was chosen
(``gui.preferences.default_model``), so Model runs and Live work on the demo at once.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from faceexplorer.paths import demo_dir, resource_dir

#: Bump when the sample generator's output changes, so old demos are rebuilt.
DEMO_VERSION = 1


def demo_db_path(folder: Path | None = None) -> Path:
    return (folder or demo_dir()) / "index.duckdb"


def ensure_demo(
    folder: Path | None = None,
    rebuild: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Build the demo samples and index in ``folder`` unless already there; return the index."""
    from faceexplorer.datasets.registry import import_path
    from faceexplorer.samples.generate import SAMPLE_KINDS, write_samples

    folder = folder or demo_dir()
    db = demo_db_path(folder)
    stamp = folder / "demo.json"
    if not rebuild and db.exists() and _stamp_ok(stamp):
        install_demo_model(folder)
        return db
    say = progress or (lambda _msg: None)
    samples = folder / "samples"
    if samples.exists():
        shutil.rmtree(samples)
    say(f"Building the demo in {folder} (once) ...")
    written = write_samples(samples, scale="small", seed=0, progress=say)
    building = folder / "index.building.duckdb"
    for leftover in (building, building.with_name(building.name + ".wal")):
        leftover.unlink(missing_ok=True)
    for kind in SAMPLE_KINDS:
        say(f"importing {kind} ...")
        report = import_path(building, written.path(kind), kind)
        if report.skipped_total:
            say(f"  {report.skipped_total} rows skipped or repaired (see index info)")
    os.replace(building, db)
    install_demo_model(folder)
    stamp.write_text(json.dumps({"version": DEMO_VERSION}))
    return db


#: The demo's expression model and its card, in the package's resources.
DEMO_MODEL_FILES = ("demo_expression.onnx", "demo_expression.json")


def demo_model_path(folder: Path | None = None) -> Path:
    """Where the demo's model is put: ``models/`` beside the demo's index."""
    return (folder or demo_dir()) / "models" / DEMO_MODEL_FILES[0]


def install_demo_model(folder: Path | None = None) -> Path:
    """Copy the shipped demo model and its card into the demo folder (when changed)."""
    target = demo_model_path(folder).parent
    target.mkdir(parents=True, exist_ok=True)
    shipped = resource_dir() / "demo_model"
    for name in DEMO_MODEL_FILES:
        data = (shipped / name).read_bytes()
        out = target / name
        if not out.exists() or out.read_bytes() != data:
            tmp = out.with_name(out.name + ".part")
            tmp.write_bytes(data)
            os.replace(tmp, out)
    return target / DEMO_MODEL_FILES[0]


def _stamp_ok(stamp: Path) -> bool:
    try:
        return json.loads(stamp.read_text()).get("version") == DEMO_VERSION
    except (OSError, ValueError):
        return False
