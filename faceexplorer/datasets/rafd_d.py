"""RaFD-D: depth maps of the Radboud Faces Database, matched to the RaFD RGB images.

RaFD names carry everything: ``Rafd<angle>_<model>_<ethnicity>_<gender>_<emotion>_<gaze>``
(e.g. ``Rafd090_01_Caucasian_female_angry_frontal``). Depth maps are indexed by the shared
scanner (:mod:`faceexplorer.datasets.depth`), their name fields parsed; the RGB images
come from option ``images=DIR`` or a sibling folder named ``RaFD`` and go to
``rafd_images``. Matching depth to RGB is by stem, in live queries.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from faceexplorer.core.errors import DatasetFormatError, FaceExplorerError
from faceexplorer.core.vocab import RAFD_ANGLES, RAFD_EMOTIONS
from faceexplorer.datasets import depth, paths
from faceexplorer.index.report import ImportReport

KIND = "rafd-d"
TITLE = "RaFD-D (depth maps of RaFD)"
TABLES: tuple[str, ...] = ("depth_maps", "rafd_images")

RGB_SCHEMA = """
CREATE TABLE IF NOT EXISTS rafd_images (
    stem      VARCHAR NOT NULL PRIMARY KEY,
    path      VARCHAR NOT NULL,
    angle     VARCHAR NOT NULL,   -- camera code 000/045/090/135/180
    yaw       SMALLINT NOT NULL,  -- head yaw in degrees (-90..90)
    model     SMALLINT NOT NULL,  -- 1..73
    ethnicity VARCHAR NOT NULL,
    gender    VARCHAR NOT NULL,
    emotion   VARCHAR NOT NULL,   -- canonical expression
    gaze      VARCHAR NOT NULL
);
"""
ETHNICITIES = {"caucasian": "Caucasian", "moroccan": "Moroccan", "kid": "Kid"}
GENDERS = ("male", "female")
GAZES = ("left", "frontal", "right")
_NAME = re.compile(r"^rafd(\d{3})_(\d{1,2})_([a-z]+)_([a-z]+)_([a-z]+)_([a-z]+)$", re.IGNORECASE)
_CONVENTION = "Rafd<angle>_<model>_<ethnicity>_<gender>_<emotion>_<gaze>"


def parse_rafd_name(stem: str) -> dict[str, Any] | str:
    """The fields of a RaFD file stem, or a string saying why it does not parse.

    Examples
    --------
    >>> parse_rafd_name("Rafd090_01_Caucasian_female_angry_frontal")["emotion"]
    'anger'
    """
    match = _NAME.match(stem)
    if not match:
        return f"name does not follow the RaFD convention {_CONVENTION}"
    angle, model, ethnicity, gender, emotion, gaze = match.groups()
    problems = []
    if angle not in RAFD_ANGLES:
        problems.append(f"angle {angle} (expected {'/'.join(RAFD_ANGLES)})")
    if not 1 <= int(model) <= 73:
        problems.append(f"model {model} (expected 01..73)")
    if ethnicity.lower() not in ETHNICITIES:
        problems.append(f"ethnicity {ethnicity} (expected Caucasian/Moroccan/Kid)")
    if gender.lower() not in GENDERS:
        problems.append(f"gender {gender} (expected male/female)")
    if emotion.lower() not in RAFD_EMOTIONS:
        problems.append(f"emotion {emotion} (expected {'/'.join(RAFD_EMOTIONS)})")
    if gaze.lower() not in GAZES:
        problems.append(f"gaze {gaze} (expected left/frontal/right)")
    if problems:
        return "RaFD name with unknown " + problems[0]
    return {"angle": angle, "yaw": RAFD_ANGLES[angle], "model": int(model),
            "ethnicity": ETHNICITIES[ethnicity.lower()], "gender": gender.lower(),
            "emotion": RAFD_EMOTIONS[emotion.lower()], "gaze": gaze.lower()}


def detect(path: Path) -> bool:
    """A folder named like RaFD-D, or with a ``depth`` folder of RaFD-named images."""
    return depth.looks_like_depth(path, rafd=True)


def rgb_folder(root: Path, images: Path | str | None) -> Path | None:
    """The RaFD RGB folder: ``images`` if given, else a sibling of ``root`` named RaFD."""
    if images is not None:
        return paths.require_folder(Path(images), "option images= to name the folder of "
                                    "RaFD RGB images, Rafd*.jpg")
    try:
        siblings = paths.entries_named(root.resolve().parent, lambda n: n.lower() == "rafd")
    except DatasetFormatError:  # a parent we may not list: no sibling found (warned)
        return None
    return paths.require_folder(siblings[0], "the RaFD RGB images") if siblings else None


def load(con: duckdb.DuckDBPyConnection, path: Path, report: ImportReport,
         images: Path | str | None = None, **unknown: Any) -> None:
    """Index RaFD-D depth maps under ``path`` and the RaFD RGB images they match.

    Parameters
    ----------
    images
        Folder of the RaFD RGB images; default: a sibling folder of ``path`` named RaFD
        (any case). Without one, depth maps are indexed and reported unmatched.
    """
    if unknown:
        raise FaceExplorerError(f"rafd-d: unknown option(s) {', '.join(unknown)} "
                                "(known: images=DIR)")
    skips = depth.load_depth(con, path, report, KIND, parse_rafd_name)
    folder = rgb_folder(Path(path), images)
    con.execute(RGB_SCHEMA)
    con.execute("DELETE FROM rafd_images")
    if folder is None:
        report.warn(f"no RaFD RGB folder beside {path} (a sibling named RaFD); depth maps "
                    "are indexed unmatched: import again with images=DIR to match them")
    else:
        _load_rgb(con, folder, report)
    skips.report(report)
    report.counts = summary(con)


def _load_rgb(con: duckdb.DuckDBPyConnection, folder: Path, report: ImportReport) -> None:
    skips = depth.Skips(folder)
    rows: dict[str, dict[str, Any]] = {}
    suffixes = {k: v for k, v in depth.IMAGE_SUFFIXES.items() if v != "npy"}
    for found in depth.walk_images(folder, skips, suffixes):
        # RGB stems are taken whole: a `_normal`-like suffix is not part of RaFD's scheme.
        stem = Path(found.path).stem
        parsed = parse_rafd_name(stem)
        if isinstance(parsed, str):
            skips.add(found.path, parsed)
        elif stem in rows:
            skips.add(found.path, "second RGB image of the same stem (first one kept)")
        else:
            rows[stem] = {"stem": stem, "path": found.path, **parsed}
    skips.report(report)
    if not rows:
        report.warn(f"{folder}: no RaFD RGB image found (expected {_CONVENTION}.jpg)")
        return
    frame = pd.DataFrame(list(rows.values()))
    con.register("_rafd_rows", frame)
    try:
        con.execute("INSERT INTO rafd_images BY NAME SELECT * FROM _rafd_rows")
    finally:
        con.unregister("_rafd_rows")


def summary(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Depth maps per class, normal maps, RGB images, and matches both ways."""
    return depth.class_counts(con, KIND) | depth.match_counts(con, KIND)


def unmatched(con: duckdb.DuckDBPyConnection, limit: int | None = None) -> list[dict[str, Any]]:
    """RaFD-D depth maps without an RGB image and RGB images without a depth map."""
    return depth.unmatched(con, KIND, limit)
