"""Face tracking for live mode: search near the last boxes, the whole frame now and then.

A full-frame Haar search of a 640x480 frame costs 50-80 ms of CPU, more than the model.
Webcam faces move little between frames, so ``TrackingFaceDetector`` searches the whole
frame only to find faces (the first frame, every ``redetect_every`` frames so newcomers
appear, and whenever a tracked face is not found again), and otherwise searches a small
region around each face's previous box: the box grown by ``margin`` x its size on every
side, scaled so the face is ``face_px`` pixels, for faces of 0.7-1.4x the previous size.
That is a ~100x100 image instead of 640x480: 3-4 ms of CPU per face instead of 50-80.

Each tracked face keeps its own region, so two faces are followed independently; hits
from overlapping regions are merged (the larger score wins). If any tracked face is not
found in its region, the frame is searched whole at once (the face may have jumped or
left); a face that really left is then dropped. The detector keeps state between calls,
so one instance serves one stream of frames, on one thread; ``reset()`` forgets it.
"""

from __future__ import annotations

import numpy as np

from faceexplorer.inference.detect import Box, Detection, HaarFaceDetector, _gray

#: Scale range, relative to the previous box, searched around a tracked face.
SIZE_RANGE = (0.7, 1.4)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


class TrackingFaceDetector:
    """A Haar detector that follows found faces in small regions (see the module docstring).

    Parameters
    ----------
    base : HaarFaceDetector, optional
        Does the full-frame searches and gives the cascade and its settings
        (default: ``HaarFaceDetector(min_face_px=40)``, the live-mode settings).
    redetect_every : int
        Frames between full-frame searches while faces are tracked (new faces appear
        within this many modelled frames: half a second at 25 fps with 12).
    margin : float
        How far a face may move between two searched frames, as a fraction of its size.
    face_px : int
        Size a tracked face is scaled to for its region search (the cascade's window is
        24; 48 keeps the boxes within a few pixels of a full-resolution search).
    """

    gives_landmarks = False

    def __init__(self, base: HaarFaceDetector | None = None, redetect_every: int = 12,
                 margin: float = 0.5, face_px: int = 48) -> None:
        self.base = base if base is not None else HaarFaceDetector(min_face_px=40)
        self.name = f"{self.base.name}, tracking"
        self.redetect_every, self.margin, self.face_px = redetect_every, margin, face_px
        self.full_searches = self.region_searches = 0  # counts, for tests and the bench
        self.reset()

    def reset(self) -> None:
        """Forget the tracked faces (a new source); the next frame is searched whole."""
        self._tracks: list[Detection] = []
        self._since_full = 0

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """Faces in a BGR frame, largest first."""
        gray = _gray(frame)
        if self._tracks and self._since_full + 1 < self.redetect_every:
            found = [self._follow(gray, t) for t in self._tracks]
            if all(d is not None for d in found):
                self._since_full += 1
                self._tracks = _merge([d for d in found if d is not None])
                return list(self._tracks)
        self.full_searches += 1
        self._since_full = 0
        self._tracks = self.base.detect(gray)
        return list(self._tracks)

    def _follow(self, gray: np.ndarray, track: Detection) -> Detection | None:
        """The face near ``track`` in this frame, or None."""
        self.region_searches += 1
        x, y, w, h = track.box
        side = max(w, h)
        grow = self.margin * side
        height, width = gray.shape[:2]
        x0, y0 = max(0, int(x - grow)), max(0, int(y - grow))
        x1, y1 = min(width, int(np.ceil(x + w + grow))), min(height, int(np.ceil(y + h + grow)))
        f = min(1.0, self.face_px / side)
        lo, hi = (max(20, int(round(side * f * s))) for s in SIZE_RANGE)
        if min(x1 - x0, y1 - y0) * f < lo:
            return None  # the face is (nearly) out of the frame
        roi = np.ascontiguousarray(gray[y0:y1, x0:x1])
        hits = self.base.search(roi, f, lo, max(hi, lo + 1), offset=(x0, y0))
        if not hits:
            return None
        cx, cy = x + w / 2, y + h / 2
        # The hit nearest the previous centre: a second face at the region's edge must
        # not capture this track.
        return min(hits, key=lambda d: (d.box[0] + d.box[2] / 2 - cx) ** 2
                   + (d.box[1] + d.box[3] / 2 - cy) ** 2)


def _merge(found: list[Detection], overlap: float = 0.3) -> list[Detection]:
    """Drop boxes that overlap a higher-scored one (two tracks that met), largest first."""
    kept: list[Detection] = []
    for d in sorted(found, key=lambda d: -d.score):
        if all(iou(d.box, k.box) <= overlap for k in kept):
            kept.append(d)
    return sorted(kept, key=lambda d: -d.box[2] * d.box[3])


