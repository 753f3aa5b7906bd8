"""The items of a batch run: what to predict, read from the index in a fixed order.

One ``Item`` per AffectNet row (with its face box and 68 landmarks), per HRM labelled
frame (its image in the child's frames folder, else the frame of the child's video) or
per RaFD RGB image. The order (AffectNet train then val by row; HRM by child then frame;
RaFD by stem) is what ``--limit`` cuts and what a resumed run continues; item keys are
the ``predictions.item`` keys. HRM runs can be narrowed to some children (one child's
model rows for its timeline) without becoming a different run.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.index.store import table_exists
from faceexplorer.inference import BATCH_DATASETS as DATASETS


@dataclass(frozen=True)
class Item:
    """One thing to predict: an image (or video frame), where it sits in its dataset."""

    key: str
    image: str | None
    split: str | None = None
    row_index: int | None = None
    child: str | None = None
    frame: int | None = None
    box: tuple[float, float, float, float] | None = None
    landmarks68: tuple[float, ...] | None = None
    video: str | None = None



def _affectnet_items(con: Any, c25_only: bool, limit: str) -> list[Item]:
    if not table_exists(con, "affectnet_images"):
        raise FaceExplorerError("no AffectNet rows in the index: import AffectNet first "
                                "(faceexplorer index add affectnet PATH)")
    join = ""
    if c25_only:
        if not table_exists(con, "c25_images"):
            raise FaceExplorerError("no AffectNetC25 images in the index: import them first "
                                    "(faceexplorer index add affectnet-c25 PATH)")
        join = ("JOIN (SELECT DISTINCT image_index FROM c25_images) c "
                "ON a.split = 'train' AND a.row_index = c.image_index")
    rows = con.execute(
        "SELECT a.split, a.row_index, a.image_root, a.sub_path, a.face_x, a.face_y, a.face_w, "
        f"a.face_h, a.landmarks FROM affectnet_images a {join} "
        f"ORDER BY a.split = 'val', a.row_index {limit}").fetchall()
    items = []
    for split, idx, root, sub, x, y, w, h, lm in rows:
        box = None if None in (x, y, w, h) or not w or not h else (float(x), float(y),
                                                                 float(w), float(h))
        # os.path.join: pathlib costs ~0.1 ms per row, seconds over 420k rows
        items.append(Item(key=f"{split}/{idx}", image=os.path.join(root, sub), split=split,
                          row_index=int(idx), box=box,
                          landmarks68=tuple(lm) if lm is not None else None))
    return items


def _hrm_items(con: Any, limit: str, children: Sequence[str] | None) -> list[Item]:
    if not table_exists(con, "hrm_frames"):
        raise FaceExplorerError("no HRM children in the index: import HRM first "
                                "(faceexplorer index add hrm PATH)")
    where, params = "", []
    if children is not None:
        known = {r[0] for r in con.execute("SELECT child FROM hrm_children").fetchall()}
        unknown = sorted(set(children) - known)
        if unknown or not children:
            raise FaceExplorerError(
                f"no HRM child {', '.join(map(repr, unknown)) or '(none given)'} in the "
                f"index; its children are {', '.join(sorted(known, key=_child_order))}")
        where, params = "WHERE f.child IN (SELECT unnest(?))", [list(children)]
    rows = con.execute(
        "SELECT f.child, f.frame, c.frames_dir, c.video_path FROM hrm_frames f "
        f"JOIN hrm_children c USING (child) {where} ORDER BY f.child, f.frame {limit}",
        params).fetchall()
    items = []
    for child, frame, frames_dir, video in rows:
        image = str(Path(frames_dir) / f"{frame}_0.jpg") if frames_dir else None
        items.append(Item(key=f"{child}/{frame}", image=image, child=child, frame=int(frame),
                          video=None if image else video))
    return items


def _child_order(child: str) -> tuple[int, str]:
    """S2 before S10 in messages (the run itself goes in plain text order)."""
    digits = "".join(c for c in child if c.isdigit())
    return (int(digits) if digits else 0, child)


def _rafd_items(con: Any, limit: str) -> list[Item]:
    if not table_exists(con, "rafd_images"):
        raise FaceExplorerError("no RaFD RGB images in the index: import RaFD-D with its RGB "
                                "folder (faceexplorer index add rafd-d PATH images=DIR)")
    return [Item(key=stem, image=path) for stem, path in con.execute(
        f"SELECT stem, path FROM rafd_images ORDER BY stem {limit}").fetchall()]


def dataset_items(con: Any, dataset: str, limit: int | None = None,
                  children: Sequence[str] | None = None) -> list[Item]:
    """The items of ``dataset`` in run order (the first ``limit`` only, if given).

    ``children`` (HRM only) keeps the frames of those children: one child's model rows
    for its timeline without running the whole dataset.

    Raises
    ------
    FaceExplorerError
        Unknown dataset or child, a negative limit, or the dataset is not in the index.
    """
    if dataset not in DATASETS:
        raise FaceExplorerError(f"cannot run a model on {dataset!r}: expected one of "
                                f"{', '.join(DATASETS)}")
    if limit is not None and int(limit) < 0:
        raise FaceExplorerError(f"the item limit must be 0 or more, not {limit}")
    if children is not None and dataset != "hrm":
        raise FaceExplorerError(f"only HRM runs can be limited to children, not {dataset!r}")
    sql_limit = "" if limit is None else f"LIMIT {int(limit)}"
    if dataset == "affectnet":
        return _affectnet_items(con, False, sql_limit)
    if dataset == "affectnet-c25":
        return _affectnet_items(con, True, sql_limit)
    if dataset == "hrm":
        return _hrm_items(con, sql_limit, children)
    return _rafd_items(con, sql_limit)
