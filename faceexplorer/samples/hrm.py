"""Synthetic Hugging Rain Man: per-frame AU/AD labels, atypicality ratings, frames, videos.

Three steps, each seeded by the caller's generator:

1. a *frame plan* (:func:`plan_frames`) fixes every child's labelled segments; at full
   scale its totals are exactly the published 98 children, 131,758 frames, 1,535 segments;
2. labels: each AU is an on/off sequence with an *exact* number of "on" frames laid out in
   runs (so AUs persist like real expressions and the full-scale counts hit the published
   distribution exactly); AU6 lives inside AU12 runs and AU2X inside AU25 runs, as smiles
   and jaw drops do; the raters score a smooth latent atypicality, higher for ASD children;
3. media (small scale, or when asked): one drawn face per labelled frame and an mp4 whose
   frame ``k`` shows label frame ``k``.

Deliberate quirks, as real files have them: one child's rows are not sorted by frame, one
child's file has CRLF line ends, one video ends before the last labelled frame, one child
has neither video nor frames folder.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import numpy as np

from faceexplorer.core import vocab

FPS: Final[int] = 25
#: Frame size (height, width): child-sized faces filling most of the frame.
FRAME_SIZE: Final[tuple[int, int]] = (160, 160)
#: Name of the rater-mean column (the real name is not documented).
AVERAGE_COLUMN: Final[str] = "average"
HEADER: Final[tuple[str, ...]] = (*vocab.HRM_LABEL_HEADER, *vocab.HRM_RATERS, AVERAGE_COLUMN)

#: Frames per AU over the whole dataset. AU25, AU2X, AU12, AU7, AD36 and AD33 are the
#: published figures; the others are made up to look like the same long-tailed chart.
FULL_AU_COUNTS: Final[dict[str, int]] = {
    "AU1": 9_800, "AU2": 8_900, "AU4": 7_600, "AU5": 3_100, "AU6": 14_200, "AU7": 19_733,
    "AU43": 4_300, "AU8": 420, "AU9": 1_150, "AU10": 6_800, "AU12": 31_623, "AU13": 210,
    "AU14": 5_900, "AU15": 2_400, "AU16": 3_300, "AU17": 6_200, "AU18": 1_900, "AD19": 2_600,
    "AU20": 1_700, "AU21": 160, "AU22": 380, "AU23": 2_100, "AU24": 3_400, "AU25": 80_683,
    "AU2X": 51_182, "AU28": 1_300, "AD29": 240, "AD30": 520, "AU31": 90, "AD32": 1_100,
    "AD33": 31, "AD34": 140, "AD35": 110, "AD36": 63, "AD37": 680,
}
#: AUs that only occur while another is on (the child AU's runs live inside the parent's).
_NESTED: Final[dict[str, str]] = {"AU6": "AU12", "AU2X": "AU25"}
#: Mean run length in frames (25 fps); default 25, i.e. one second.
_MEAN_RUN: Final[dict[str, int]] = {
    "AU25": 45, "AU2X": 30, "AU12": 50, "AU6": 35, "AU43": 8, "AD19": 12, "AD33": 8,
    "AD36": 9, "AU31": 10,
}
#: Cell value probabilities (values 1..5) for AUs labelled with laterality.
_LATERALITY: Final[dict[str, tuple[float, float, float, float, float]]] = {
    "AU2": (0.8, 0.1, 0.1, 0.0, 0.0), "AU12": (0.8, 0.1, 0.1, 0.0, 0.0),
    "AU14": (0.6, 0.2, 0.2, 0.0, 0.0), "AU10": (0.85, 0.08, 0.07, 0.0, 0.0),
    "AU28": (0.6, 0.0, 0.0, 0.2, 0.2), "AD32": (0.5, 0.0, 0.0, 0.25, 0.25),
}
_RATER_BIAS: Final[tuple[float, ...]] = (-0.2, 0.1, 0.0, 0.3, -0.15)
_SMALL_CHILDREN: Final[tuple[str, ...]] = ("S1", "S2", "S3", "S4", "S67", "S68")
#: Quirks, at both scales: unsorted rows, CRLF, short video, no media at all.
UNSORTED_CHILD: Final[str] = "S2"
CRLF_CHILD: Final[str] = "S3"
SHORT_VIDEO_CHILD: Final[str] = "S4"
NO_MEDIA_CHILD: Final[str] = "S68"


@dataclass(frozen=True)
class ChildPlan:
    """A child's labelled frames: ``segments`` are (first, last) frame, inclusive, sorted."""

    name: str
    group: str
    segments: tuple[tuple[int, int], ...]

    @property
    def frames(self) -> np.ndarray:
        return np.concatenate([np.arange(a, b + 1) for a, b in self.segments])

    @property
    def n_frames(self) -> int:
        return sum(b - a + 1 for a, b in self.segments)


@dataclass(frozen=True)
class HRMChild:
    """What was written for one child."""

    name: str
    group: str
    csv: Path
    n_frames: int
    segments: tuple[tuple[int, int], ...]
    asd_frames: int
    rows_sorted: bool
    crlf: bool
    video: Path | None
    video_frames: int
    frames_dir: Path | None
    #: The 68 landmarks (pixels) of the child's drawn face with no AU; None without media.
    face_landmarks: np.ndarray | None = None

    @property
    def last_frame(self) -> int:
        return self.segments[-1][1]


@dataclass(frozen=True)
class HRMSample:
    """What :func:`write_hrm` wrote: per-child records and dataset totals."""

    root: Path
    scale: str
    children: tuple[HRMChild, ...]
    au_counts: dict[str, int]
    asd_frames: int

    @property
    def total_frames(self) -> int:
        return sum(c.n_frames for c in self.children)

    @property
    def total_segments(self) -> int:
        return sum(len(c.segments) for c in self.children)

    def child(self, name: str) -> HRMChild:
        return next(c for c in self.children if c.name == name)


def _split(total: int, parts: int, minimum: int, rng: np.random.Generator,
           sigma: float = 0.8) -> np.ndarray:
    """``parts`` integers >= ``minimum`` summing to exactly ``total``, lognormally uneven."""
    weights = rng.lognormal(0.0, sigma, parts)
    return minimum + rng.multinomial(total - minimum * parts, weights / weights.sum())


def plan_frames(scale: str, rng: np.random.Generator) -> tuple[ChildPlan, ...]:
    """Every child's labelled segments, with gaps between them so segments are found.

    Full scale: 98 children, exactly ``vocab.HRM_FRAMES`` frames in ``vocab.HRM_SEGMENTS``
    segments. Small scale: 6 children (4 ASD, 2 TD), 150-400 frames each in 3-6 segments.
    """
    if scale == "full":
        n_children = vocab.HRM_CHILDREN_ASD + vocab.HRM_CHILDREN_TD
        names = [f"S{i}" for i in range(1, n_children + 1)]
        seg_counts = 1 + rng.multinomial(vocab.HRM_SEGMENTS - n_children,
                                         rng.dirichlet(np.full(n_children, 3.0)))
        lengths = _split(vocab.HRM_FRAMES, vocab.HRM_SEGMENTS, 5, rng)
        max_gap, max_start = 250, 60
    elif scale == "small":
        names = list(_SMALL_CHILDREN)
        seg_counts = rng.integers(3, 7, len(names))
        lengths = np.concatenate([
            _split(int(rng.integers(150, 401)), int(k), 10, rng, sigma=0.5) for k in seg_counts])
        max_gap, max_start = 25, 15
    else:
        raise ValueError(f"scale must be 'small' or 'full', not {scale!r}")
    plans, used = [], 0
    for name, k in zip(names, seg_counts, strict=True):
        start = int(rng.integers(0, max_start + 1))
        segments = []
        for length in lengths[used:used + k]:
            segments.append((start, start + int(length) - 1))
            # A gap of at least one unlabelled frame is what makes the next segment.
            start += int(length) + int(rng.integers(1, max_gap + 1))
        used += k
        group = "ASD" if int(name[1:]) <= vocab.HRM_CHILDREN_ASD else "TD"
        plans.append(ChildPlan(name, group, tuple(segments)))
    return tuple(plans)


def exact_runs(n: int, on: int, mean_run: float, rng: np.random.Generator) -> np.ndarray:
    """Run index (0..R-1) of each of ``n`` frames, -1 when off; exactly ``on`` frames on."""
    if on <= 0:
        return np.full(n, -1)
    runs = int(np.clip(round(on / mean_run), 1, min(on, n - on + 1)))
    on_len = 1 + rng.multinomial(on - runs, rng.dirichlet(np.ones(runs)))
    # Off stretches between runs need at least one frame; the two ends may be empty.
    off_len = rng.multinomial(n - on - (runs - 1), rng.dirichlet(np.ones(runs + 1)))
    off_len[1:-1] += 1
    lengths = np.empty(2 * runs + 1, dtype=np.int64)
    lengths[0::2], lengths[1::2] = off_len, on_len
    labels = np.full(2 * runs + 1, -1)
    labels[1::2] = np.arange(runs)
    return np.repeat(labels, lengths)


def make_au_labels(n: int, rng: np.random.Generator) -> np.ndarray:
    """AU/AD cells (n, 36) in ``vocab.HRM_AU_COLUMNS`` order over a timeline of ``n`` frames.

    Counts are ``FULL_AU_COUNTS`` scaled to ``n`` (exact at full scale); AU0 is 1 exactly
    on the frames where no other AU is on.
    """
    cols = {name: i for i, name in enumerate(vocab.HRM_AU_COLUMNS)}
    cells = np.zeros((n, len(cols)), dtype=np.int8)
    # Parents first, so nested AUs can be placed inside their runs.
    order = sorted(FULL_AU_COUNTS, key=lambda a: a in _NESTED)
    for au in order:
        on = round(FULL_AU_COUNTS[au] * n / vocab.HRM_FRAMES)
        where = (np.flatnonzero(cells[:, cols[_NESTED[au]]]) if au in _NESTED
                 else np.arange(n))
        run = exact_runs(len(where), min(on, len(where)), _MEAN_RUN.get(au, 25), rng)
        n_runs = int(run.max()) + 1
        if n_runs == 0:
            continue
        probs = _LATERALITY.get(au, (1.0, 0.0, 0.0, 0.0, 0.0))
        run_value = rng.choice(np.arange(1, 6), size=n_runs, p=probs).astype(np.int8)
        hit = run >= 0
        cells[where[hit], cols[au]] = run_value[run[hit]]
    cells[:, cols["AU0"]] = (cells.any(axis=1) == 0).astype(np.int8)
    return cells


def smooth_noise(n: int, rng: np.random.Generator, sigma: float = 40.0) -> np.ndarray:
    """Unit-variance noise smoothed over ~``sigma`` frames (atypicality drifts slowly)."""
    half = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    raw = rng.standard_normal(n + 2 * half)
    smooth = np.convolve(raw, kernel, mode="valid")
    return smooth / np.sqrt((kernel ** 2).sum())


def make_ratings(n: int, group: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(latent atypicality (n,), five raters' levels (n, 5)) of one child's frames."""
    if group == "ASD":
        latent = rng.normal(1.6, 0.3) + 0.7 * smooth_noise(n, rng)
    else:
        latent = rng.normal(-1.0, 0.3) + 0.5 * smooth_noise(n, rng)
    latent = np.clip(latent, 0.0, 4.0)
    noise = rng.normal(0.0, 0.4, (n, len(_RATER_BIAS)))
    raters = np.clip(np.rint(latent[:, None] + np.array(_RATER_BIAS) + noise), 0, 4)
    return latent, raters.astype(np.int8)


def _write_csv(path: Path, frames: np.ndarray, cells: np.ndarray, asd: np.ndarray,
               raters: np.ndarray, crlf: bool) -> None:
    import pandas as pd

    table = pd.DataFrame(cells, columns=list(vocab.HRM_AU_COLUMNS))
    table.insert(0, "frame", frames)
    table["ASD"] = asd
    for i, rater in enumerate(vocab.HRM_RATERS):
        table[rater] = raters[:, i]
    table[AVERAGE_COLUMN] = raters.mean(axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, float_format="%.2f", lineterminator="\r\n" if crlf else "\n")


def _write_media(video: Path, frames_dir: Path, frames: np.ndarray, cells: np.ndarray,
                 n_video: int, rng: np.random.Generator) -> np.ndarray:
    """Draw one child's labelled frames as JPEGs and all frames ``0..n_video-1`` as an mp4.

    A child keeps one look throughout; each distinct AU state is drawn once (drawing is
    slow and AUs persist over runs), and frames in the gaps show the face with no AU.
    Returns the 68 landmarks of that no-AU face, for the OpenFace sample to sit on.
    """
    import cv2

    from faceexplorer.samples import drawing

    look = drawing.random_appearance(rng, child=True)
    drawn: dict[bytes, drawing.DrawnFace] = {}

    def image(state: np.ndarray) -> np.ndarray:
        key = state.tobytes()
        if key not in drawn:
            aus = {au: int(v) for au, v in zip(vocab.HRM_AU_COLUMNS, state, strict=True)
                   if v and au != "AU0"}
            params = replace(drawing.params_for_aus(aus, rng), **look)
            drawn[key] = drawing.draw_face(params, rng, size=FRAME_SIZE)
        return drawn[key].image

    frames_dir.mkdir(parents=True, exist_ok=True)
    by_frame = {}
    for frame, state in zip(frames.tolist(), cells, strict=True):
        by_frame[frame] = img = image(state)
        cv2.imwrite(str(frames_dir / f"{frame}_0.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    no_au = np.zeros(len(vocab.HRM_AU_COLUMNS), dtype=np.int8)
    neutral, neutral_key = image(no_au), no_au.tobytes()
    video.parent.mkdir(parents=True, exist_ok=True)
    height, width = FRAME_SIZE
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write mp4v video {video}")
    try:
        for k in range(n_video):
            writer.write(by_frame.get(k, neutral))
    finally:
        writer.release()
    return np.asarray(drawn[neutral_key].landmarks, dtype=np.float64)


def write_hrm(root: Path, scale: str, rng: np.random.Generator,
              images: bool | None = None) -> HRMSample:
    """Write ``root/HRM``: label CSVs per child, and frames and videos when ``images``.

    Parameters
    ----------
    root
        Sample root; files go under ``root/HRM``.
    scale
        ``"small"`` (6 children) or ``"full"`` (98 children, the published totals).
    rng
        Source of all randomness: a seed reproduces the same bytes.
    images
        Draw frames and videos; default: yes at small scale, no at full scale.

    Returns
    -------
    HRMSample
        Paths, per-child frames and segments, AU counts, and the quirks planted.
    """
    images = scale == "small" if images is None else images
    base = Path(root) / "HRM"
    plans = plan_frames(scale, rng)
    total = sum(p.n_frames for p in plans)
    cells = make_au_labels(total, rng)
    # Media draws from its own streams, so the CSVs are the same bytes with or without media.
    media_rngs = rng.spawn(len(plans))
    children, used, asd_total = [], 0, 0
    for plan, media_rng in zip(plans, media_rngs, strict=True):
        n = plan.n_frames
        frames, child_cells = plan.frames, cells[used:used + n]
        used += n
        latent, raters = make_ratings(n, plan.group, rng)
        # The per-frame ASD flag marks clearly atypical moments of ASD children only.
        asd = ((latent > 2.0) & (plan.group == "ASD")).astype(np.int8)
        order = np.arange(n)
        if plan.name == UNSORTED_CHILD and len(plan.segments) > 1:
            # Real files may list segments out of order: write the segment blocks reversed.
            bounds = np.cumsum([0] + [b - a + 1 for a, b in plan.segments])
            order = np.concatenate([np.arange(bounds[i], bounds[i + 1])
                                    for i in reversed(range(len(plan.segments)))])
        csv = base / plan.group / f"{plan.name}.csv"
        crlf = plan.name == CRLF_CHILD
        _write_csv(csv, frames[order], child_cells[order], asd[order], raters[order], crlf)
        video, video_frames, frames_dir, landmarks = None, 0, None, None
        if images and plan.name != NO_MEDIA_CHILD:
            last = plan.segments[-1][1]
            # One video stops short so importers can warn about labels beyond the video.
            n_video = last - 19 if plan.name == SHORT_VIDEO_CHILD else last + 1
            video = base / "videos" / f"{plan.name}.mp4"
            frames_dir = base / "origin" / plan.name
            video_frames = n_video
            landmarks = _write_media(video, frames_dir, frames, child_cells, n_video, media_rng)
        asd_total += int(asd.sum())
        children.append(HRMChild(
            name=plan.name, group=plan.group, csv=csv, n_frames=n, segments=plan.segments,
            asd_frames=int(asd.sum()), rows_sorted=bool((np.diff(frames[order]) > 0).all()),
            crlf=crlf, video=video, video_frames=video_frames, frames_dir=frames_dir,
            face_landmarks=landmarks))
    counts = {au: int(np.count_nonzero(cells[:, i]))
              for i, au in enumerate(vocab.HRM_AU_COLUMNS)}
    return HRMSample(root=base, scale=scale, children=tuple(children), au_counts=counts,
                     asd_frames=asd_total)
