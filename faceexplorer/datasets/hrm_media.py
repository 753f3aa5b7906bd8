"""Finding the Hugging Rain Man media that belong to each child, cheaply.

Frames live in ``origin/<child>/<frame>_0.jpg``: 131k files at full scale, so the import
never lists them; it only checks that the child's folder exists and stores it. Videos
(``<child>.mp4``) may sit anywhere under the root (``videos/``, next to the CSVs, ...):
one walk finds them, pruned of ``origin/`` and limited in depth so that pointing at a big
folder stays quick. The frame count comes from the container header (OpenCV's
``CAP_PROP_FRAME_COUNT``), which costs one open, not a decode.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from faceexplorer.datasets import paths
from faceexplorer.datasets.paths import os_problem, shown
from faceexplorer.index.report import ImportReport

#: Folders below the root searched for videos; deeper ones are not HRM's layout.
_MAX_DEPTH = 3
_FRAMES_FOLDER = "origin"


@dataclass(frozen=True)
class ChildMedia:
    """Where one child's frames and video are, and how many frames the video holds."""

    frames_dir: str | None
    video_path: str | None
    video_frames: int | None


def find_videos(root: Path, children: Iterable[str], report: ImportReport) -> dict[str, Path]:
    """``<child>.mp4`` anywhere under ``root`` (skipping ``origin/``), by child id.

    A child with two videos keeps the first in sorted path order, with a warning.
    """
    wanted = set(children)
    found: dict[str, Path] = {}
    doubles: list[str] = []
    unusable: list[str] = []
    unreadable: list[str] = []
    base_depth = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: unreadable.append(
            f"{shown(e.filename)} ({os_problem(e)})")):
        here = Path(dirpath)
        if len(here.parts) - base_depth >= _MAX_DEPTH:
            dirnames[:] = []
        # origin/ holds one folder of frame images per child: never list it
        dirnames[:] = sorted(d for d in dirnames if d.lower() != _FRAMES_FOLDER)
        if odd := [d for d in dirnames if not paths.utf8_name(d)]:
            unreadable.extend(f"{shown(here / d)} (name not UTF-8)" for d in odd)
            dirnames[:] = [d for d in dirnames if d not in odd]
        for name in sorted(filenames):
            stem, ext = os.path.splitext(name)
            if ext.lower() != ".mp4" or stem not in wanted:
                continue
            if not (here / name).is_file():  # a FIFO would block the video reader
                unusable.append(shown(here / name))
                continue
            if stem in found:
                doubles.append(f"{stem} ({found[stem]} kept, {here / name} ignored)")
                continue
            found[stem] = here / name
    if doubles:
        report.warn(f"{len(doubles)} children have more than one video: " + "; ".join(doubles[:5])
                    + (" ..." if len(doubles) > 5 else ""))
    for items, what in ((unusable, "videos are not regular files (not opened)"),
                        (unreadable, "folders could not be searched for videos")):
        if items:
            report.warn(f"{len(items)} {what}: " + ", ".join(items[:5])
                        + (" ..." if len(items) > 5 else ""))
    return found


def video_frame_count(path: Path) -> int | None:
    """Frames in the video according to its container, or None when it cannot be opened."""
    import cv2  # lazy: the import costs ~0.1 s and only HRM with videos needs it

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return None
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()
    return count if count > 0 else None


def child_media(root: Path, children: Iterable[str], report: ImportReport) -> dict[str, ChildMedia]:
    """Frames folder, video and video length of every child (None where absent)."""
    children = list(children)
    videos = find_videos(root, children, report)
    frames_root = _frames_root(root)
    unreadable: list[str] = []
    media: dict[str, ChildMedia] = {}
    for child in children:
        frames_dir = None
        if frames_root is not None and (frames_root / child).is_dir():
            frames_dir = str(frames_root / child) + os.sep
        video = videos.get(child)
        n_video = video_frame_count(video) if video is not None else None
        if video is not None and n_video is None:
            unreadable.append(str(video))
        media[child] = ChildMedia(frames_dir, str(video) if video else None, n_video)
    if unreadable:
        report.warn(f"{len(unreadable)} videos could not be opened to count their frames "
                    "(video_frames left empty): " + ", ".join(unreadable[:5])
                    + (" ..." if len(unreadable) > 5 else ""))
    _warn_absent(root, frames_root, media, report)
    return media


def _warn_absent(root: Path, frames_root: Path | None, media: dict[str, ChildMedia],
                 report: ImportReport) -> None:
    """Frames and videos are optional: say which children have none, never silently."""
    if frames_root is None:
        report.warn(f"no {_FRAMES_FOLDER}/ frames folder under {shown(root)}: children "
                    "imported without frames")
    elif no_frames := sorted(c for c, m in media.items() if m.frames_dir is None):
        report.warn(f"{len(no_frames)} of {len(media)} children have no frames folder in "
                    f"{shown(frames_root)}: " + ", ".join(no_frames[:8])
                    + (" ..." if len(no_frames) > 8 else ""))
    no_video = sorted(c for c, m in media.items() if m.video_path is None)
    if no_video:
        report.warn(f"{len(no_video)} of {len(media)} children have no video (<child>.mp4 "
                    f"under {shown(root)}): " + ", ".join(no_video[:8])
                    + (" ..." if len(no_video) > 8 else ""))


def _frames_root(root: Path) -> Path | None:
    """``origin/`` under the root, matched case-insensitively (Windows copies vary).

    An ``origin`` that is there but cannot be listed is an error naming it: the frames
    must not silently vanish.
    """
    for entry in paths.entries_named(root, lambda n: n.lower() == _FRAMES_FOLDER):
        if os.path.lexists(entry):
            return paths.require_folder(entry, "the folder of per-child frame folders")
    return None
