"""AffectNet-D: depth maps of 87,106 AffectNet images, matched to AffectNet by file stem.

The depth maps are indexed by the shared scanner (:mod:`faceexplorer.datasets.depth`);
their stem is the AffectNet image's basename without extension. The match is a live
query against ``affectnet_images`` (never stored), so it is right whichever of the two
datasets is imported first, and ``unmatched`` lists the maps that found no image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.datasets import depth
from faceexplorer.index.report import ImportReport

KIND = "affectnet-d"
TITLE = "AffectNet-D (depth maps of AffectNet)"
TABLES: tuple[str, ...] = ("depth_maps",)


def detect(path: Path) -> bool:
    """A folder named like AffectNet-D, or with a ``depth`` folder of non-RaFD images."""
    return depth.looks_like_depth(path, rafd=False)


def load(con: duckdb.DuckDBPyConnection, path: Path, report: ImportReport,
         **unknown: Any) -> None:
    """Index the AffectNet-D depth maps (and normal maps) under ``path``."""
    if unknown:
        raise FaceExplorerError(f"affectnet-d: unknown option(s) {', '.join(unknown)}")
    skips = depth.load_depth(con, path, report, KIND)
    skips.report(report)
    report.counts = summary(con)
    if report.counts["depth_without_rgb"] and report.counts["matched_rgb"] == 0:
        report.warn("no depth map matched an AffectNet image yet (import AffectNet to match "
                    "them; the match is live, so the order of imports does not matter)")


def summary(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Depth maps per class, normal maps, and how many match an AffectNet image."""
    counts = depth.match_counts(con, KIND)
    return depth.class_counts(con, KIND) | {
        "matched_rgb": counts["matched_rgb"], "depth_without_rgb": counts["depth_without_rgb"]}


def unmatched(con: duckdb.DuckDBPyConnection, limit: int | None = None) -> list[dict[str, Any]]:
    """Depth maps without an AffectNet image, then AffectNet images without a depth map."""
    return depth.unmatched(con, KIND, limit)
