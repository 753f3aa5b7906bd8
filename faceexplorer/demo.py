"""The built-in demo: small sample datasets and their index, built once in the data folder.

The index is built aside (``index.building.duckdb``) and renamed into place only when
every dataset has imported, so an interrupted first run never leaves a half-built demo;
the next run simply builds again. A version stamp rebuilds the demo when the sample
generator changes.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from faceexplorer.paths import demo_dir

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
    stamp.write_text(json.dumps({"version": DEMO_VERSION}))
    return db


def _stamp_ok(stamp: Path) -> bool:
    try:
        return json.loads(stamp.read_text()).get("version") == DEMO_VERSION
    except (OSError, ValueError):
        return False
