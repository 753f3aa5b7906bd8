"""Synthetic OpenFace 2.x FeatureExtraction CSVs of HRM children's videos.

Each file covers every frame of a child's video (``frame`` = video index + 1, as OpenFace
counts from 1). AU intensities follow that frame's human HRM label through
``vocab.OPENFACE_TO_HRM``, with drift, misses and false alarms, so machine/human agreement
is good but imperfect; presences (``_c``) come from the intensity plus classifier noise.
Landmarks sit on the child's drawn face when the frames were drawn (else on a template
face in the frame), move with the head and open with the mouth. A few short runs of frames
fail (``success`` 0, low confidence, all outputs 0), as OpenFace writes them.

Linux builds write ``,``; Windows release builds write ``", "`` (so the header names get a
leading space) and CRLF line ends: both styles are written. Numbers are formatted by
:func:`format_rows`, a vectorised fixed-decimal formatter also used for the FACES file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

from faceexplorer.core import vocab
from faceexplorer.samples.hrm import FPS, FRAME_SIZE, exact_runs, smooth_noise

if TYPE_CHECKING:
    from faceexplorer.samples.hrm import HRMChild, HRMSample

COLUMNS: Final[tuple[str, ...]] = vocab.openface_columns()
_MAX_DIGITS: Final[int] = 12
_POW10: Final[np.ndarray] = 10.0 ** np.arange(16)


def format_rows(values: np.ndarray, decimals: np.ndarray | int, sep: str = ",",
                newline: str = "\n", strip_zeros: bool = False) -> bytes:
    """CSV text of a float table, every value fixed-point, built with numpy alone.

    Parameters
    ----------
    values
        (rows, columns) finite floats.
    decimals
        Digits after the point, per value (broadcast to ``values``), 0 for integers.
    sep, newline
        Field separator and line end.
    strip_zeros
        Drop trailing fraction zeros (and a bare point), as ``%g`` would.

    Returns
    -------
    bytes
        ASCII lines, one per row, each ending with ``newline``.
    """
    values = np.asarray(values, dtype=np.float64)
    n, m = values.shape
    dec = np.broadcast_to(np.asarray(decimals, dtype=np.int8), (n, m))
    scaled = np.rint(values * _POW10[dec])
    if not np.isfinite(scaled).all() or np.abs(scaled).max(initial=0) >= 10.0 ** _MAX_DIGITS:
        raise ValueError("values must be finite and below 10**12 once scaled")
    # int32 arithmetic is ~3x faster than int64 for the digit loop below.
    mag = np.abs(scaled).astype(np.int32 if np.abs(scaled).max(initial=0) < 2**31 else np.int64)
    neg = scaled < 0
    # Only as many digit planes as the largest value needs: the slot loop below is the cost.
    width = max(len(str(int(mag.max(initial=0)))), int(dec.max(initial=0)) + 1)
    planes = np.empty((width, n, m), dtype=np.uint8)  # digit k of each value
    rest = mag
    n_digits = np.ones((n, m), dtype=np.int8)
    for k in range(width):
        quotient = rest // 10
        planes[k] = rest - quotient * 10
        rest = quotient
        if k:
            n_digits += planes[k:].any(axis=0) if k == width - 1 else (mag >= 10 ** k)
    n_digits = np.maximum(n_digits, dec + 1)  # "0.05", not ".05"
    zeros = np.zeros((n, m), dtype=np.int8)
    if strip_zeros:
        # Trailing zero digits, up to the number of decimals.
        run = np.ones((n, m), dtype=bool)
        for k in range(int(dec.max(initial=0))):
            run &= (planes[k] == 0) & (k < dec)
            zeros += run
    has_dec = dec > 0
    sign_at = n_digits + has_dec          # slots counted from the number's right end
    # What is kept of each number is one contiguous run of slots: [first, stop).
    first = np.where(zeros < dec, zeros, dec + has_dec)
    stop = sign_at + neg
    ends = [sep.encode()] * (m - 1) + [newline.encode()]
    tail = max(len(e) for e in ends)
    slots = 1 + width + 1          # sign, digits, point
    # Slot-major while filling (contiguous writes), number-major when compacting.
    chars = np.empty((slots + tail, n, m), dtype=np.uint8)
    for p in range(slots):
        shifted = has_dec & (dec < p)    # the point sits to the right: digit p - 1 is here
        char = np.where(shifted, planes[min(max(p - 1, 0), width - 1)],
                        planes[min(p, width - 1)]) + np.uint8(ord("0"))
        if p:
            char = np.where(dec == p, np.uint8(ord(".")), char)
        chars[slots - 1 - p] = np.where(sign_at == p, np.uint8(ord("-")), char)
    distance = np.arange(slots - 1, -1, -1, dtype=np.int8)[:, None, None]
    keep = np.empty((slots + tail, n, m), dtype=bool)
    keep[:slots] = (distance >= first) & (distance < stop)
    for j, end in enumerate(ends):
        code = np.frombuffer(end.ljust(tail, b"\0"), dtype=np.uint8)
        chars[slots:, :, j] = code[:, None]
        keep[slots:, :, j] = (np.arange(tail) < len(end))[:, None]
    out, keep = chars.transpose(1, 2, 0), keep.transpose(1, 2, 0)
    return out[keep].tobytes()


def _template() -> tuple[np.ndarray, np.ndarray]:
    """A 68-point iBUG face (half-width 1, y down, nose tip near 0) and each point's depth."""
    t = np.linspace(0, np.pi, 17)
    jaw = np.c_[-np.cos(t), -0.25 + 1.15 * np.sin(t)]
    brow = np.c_[np.linspace(-0.8, -0.18, 5), -0.62 - 0.08 * np.sin(np.linspace(0, np.pi, 5))]
    brows = np.r_[brow, brow[::-1] * [-1, 1]]
    bridge = np.c_[np.zeros(4), np.linspace(-0.45, 0.05, 4)]
    nostrils = np.c_[np.linspace(-0.2, 0.2, 5), [0.18, 0.21, 0.23, 0.21, 0.18]]
    a = np.linspace(0, 2 * np.pi, 7)[:-1]
    eye = np.c_[-0.17 * np.cos(a), -0.07 * np.sin(a)]
    eyes = np.r_[eye + [-0.42, -0.35], eye + [0.42, -0.35]]
    b = np.linspace(0, 2 * np.pi, 13)[:-1]
    outer = np.c_[-0.4 * np.cos(b), -0.14 * np.sin(b)] + [0, 0.52]
    c = np.linspace(0, 2 * np.pi, 9)[:-1]
    inner = np.c_[-0.27 * np.cos(c), -0.04 * np.sin(c)] + [0, 0.52]
    points = np.r_[jaw, brows, bridge, nostrils, eyes, outer, inner]
    depth = 25.0 * (np.abs(points[:, 0]) ** 2) - 18.0 * np.exp(-8 * (points ** 2).sum(axis=1))
    return points, depth


FACE_TEMPLATE, FACE_DEPTH = _template()
#: Per eye: 8 eyelid, 12 iris and 8 pupil points (OpenFace's 28), relative to the eye centre
#: in units of the eye's half-width.
_a8, _a12 = np.linspace(0, 2 * np.pi, 9)[:-1], np.linspace(0, 2 * np.pi, 13)[:-1]
EYE_TEMPLATE: Final[np.ndarray] = np.r_[
    np.c_[np.cos(_a8), 0.45 * np.sin(_a8)], 0.42 * np.c_[np.cos(_a12), np.sin(_a12)],
    0.18 * np.c_[np.cos(_a8), np.sin(_a8)]]


def _decimals() -> np.ndarray:
    """Digits after the point per column, like OpenFace's own output."""
    rules = (("frame", 0), ("face_id", 0), ("success", 0), ("timestamp", 3),
             ("confidence", 2), ("gaze_angle", 3), ("gaze_", 6), ("eye_lmk_", 1),
             ("pose_T", 1), ("pose_R", 3), ("p_", 3), ("AU", 2))
    out = []
    for col in COLUMNS:
        out.append(next((d for prefix, d in rules if col.startswith(prefix)), 1))
    return np.array(out)


@dataclass(frozen=True)
class OpenFaceFile:
    """One written per-frame CSV."""

    child: str
    style: str            # "comma" or "comma_space"
    path: Path
    n_rows: int
    failed_frames: int
    #: Per-frame agreement of ``_c`` with the HRM label, over labelled frames and mapped AUs.
    agreement: float


@dataclass(frozen=True)
class OpenFaceSample:
    """What :func:`write_openface` wrote."""

    root: Path
    files: tuple[OpenFaceFile, ...]


def _labels(child: HRMChild, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(cells (n_frames, 36) by video frame, labelled mask) from the child's HRM CSV."""
    import pandas as pd

    table = pd.read_csv(child.csv)
    frames = table["frame"].to_numpy()
    inside = frames < n_frames
    cells = np.zeros((n_frames, len(vocab.HRM_AU_COLUMNS)), dtype=np.int8)
    cells[frames[inside]] = table[list(vocab.HRM_AU_COLUMNS)].to_numpy()[inside]
    labelled = np.zeros(n_frames, dtype=bool)
    labelled[frames[inside]] = True
    return cells, labelled


def _intensity(on: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An OpenFace-like ``_r`` track for one AU: high on labelled frames, with errors."""
    n = len(on)
    level = rng.uniform(1.5, 2.8) + 0.5 * smooth_noise(n, rng, 6.0)
    quiet = 0.3 * np.maximum(smooth_noise(n, rng, 4.0), 0.0)
    errors = smooth_noise(n, rng, 5.0)
    r = np.where(on, level, quiet)
    r = np.where(on & (errors < -1.3), 0.35 * r, r)       # missed stretches
    r = np.where(~on & (errors > 1.9), 1.4 + 0.3 * errors, r)  # false alarms
    return np.clip(r + rng.normal(0, 0.06, n), 0.0, 5.0)


def frame_table(child: HRMChild, n_frames: int, rng: np.random.Generator
                ) -> tuple[np.ndarray, int, float]:
    """One child's OpenFace rows: (values (n_frames, 714), failed frames, agreement)."""
    col = {c: i for i, c in enumerate(COLUMNS)}
    hrm_col = {c: i for i, c in enumerate(vocab.HRM_AU_COLUMNS)}
    cells, labelled = _labels(child, n_frames)
    k = np.arange(n_frames)
    v = np.zeros((n_frames, len(COLUMNS)))
    v[:, col["frame"]], v[:, col["timestamp"]] = k + 1, k / FPS
    failed = exact_runs(n_frames, int(0.02 * n_frames), 4, rng) >= 0
    v[:, col["success"]] = ~failed
    v[:, col["confidence"]] = np.where(failed, rng.uniform(0, 0.3, n_frames),
                                       np.clip(rng.normal(0.96, 0.02, n_frames), 0.8, 0.99))
    # Intensities and presences.
    r = {}
    for au in vocab.OPENFACE_AU_R:
        src = vocab.OPENFACE_TO_HRM.get(au)
        on = cells[:, hrm_col[src]] > 0 if src else exact_runs(n_frames, n_frames // 25, 4,
                                                                rng) >= 0
        if au == "AU45":  # blinks, and eyes closed (AU43) read as a long blink
            on |= cells[:, hrm_col["AU43"]] > 0
        r[au] = _intensity(on, rng)
        v[:, col[f"{au}_r"]] = r[au]
    for au in vocab.OPENFACE_AU_C:
        if au in r:
            v[:, col[f"{au}_c"]] = r[au] + rng.normal(0, 0.35, n_frames) > 1.0
        else:  # AU28 has no intensity: a presence classifier with 85% hit rate
            on = cells[:, hrm_col["AU28"]] > 0
            v[:, col[f"{au}_c"]] = np.where(on, rng.random(n_frames) < 0.85,
                                            rng.random(n_frames) < 0.01)
    # Head pose (mm, radians), slowly drifting.
    pose = {"pose_Tx": 5.0, "pose_Ty": 10.0, "pose_Tz": 600.0, "pose_Rx": 0.1}
    for name in ("pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"):
        spread = 20.0 if name.startswith("pose_T") else 0.06
        v[:, col[name]] = pose.get(name, 0.0) + spread * smooth_noise(n_frames, rng, 30.0)
    # 2D landmarks: the drawn face, nudged by head motion and mouth opening.
    h, w = FRAME_SIZE
    base = child.face_landmarks
    if base is None:
        base = FACE_TEMPLATE * 0.3 * w + [w / 2, h / 2]
    half = (base[16, 0] - base[0, 0]) / 2
    shift = np.c_[(v[:, col["pose_Tx"]] - 5.0) * 0.05, (v[:, col["pose_Ty"]] - 10.0) * 0.05]
    pts = base[None] + shift[:, None] + rng.normal(0, 0.4, (n_frames, 68, 2))
    opening = 0.04 * half * (r["AU25"] + 2 * r["AU26"])
    pts[:, [6, 7, 8, 9, 10, 55, 56, 57, 58, 59, 65, 66, 67], 1] += opening[:, None]
    pts[:, [48, 60], 0] -= 0.03 * half * r["AU12"][:, None]
    pts[:, [54, 64], 0] += 0.03 * half * r["AU12"][:, None]
    focal = 2.0 * w
    depth = v[:, col["pose_Tz"], None] + FACE_DEPTH[None]
    for i in range(68):
        v[:, col[f"x_{i}"]], v[:, col[f"y_{i}"]] = pts[:, i, 0], pts[:, i, 1]
        v[:, col[f"X_{i}"]] = (pts[:, i, 0] - w / 2) * depth[:, i] / focal
        v[:, col[f"Y_{i}"]] = (pts[:, i, 1] - h / 2) * depth[:, i] / focal
        v[:, col[f"Z_{i}"]] = depth[:, i]
    # Gaze and the 56 eye landmarks (28 per eye) around each eye's centre.
    ax, ay = 0.12 * smooth_noise(n_frames, rng, 10.0), 0.1 + 0.08 * smooth_noise(
        n_frames, rng, 10.0)
    v[:, col["gaze_angle_x"]], v[:, col["gaze_angle_y"]] = ax, ay
    gaze = np.c_[np.sin(ax), np.sin(ay), -np.cos(ax) * np.cos(ay)]
    for e, (lo, hi) in enumerate(((36, 42), (42, 48))):
        for a, axis in enumerate("xyz"):
            v[:, col[f"gaze_{e}_{axis}"]] = gaze[:, a]
        centre = pts[:, lo:hi].mean(axis=1)
        radius = np.abs(pts[:, lo + 3, 0] - pts[:, lo, 0])[:, None] / 2
        ring = centre[:, None] + radius[..., None] * EYE_TEMPLATE[None]
        ring[:, 8:] += np.c_[ax, ay][:, None] * radius[..., None] * 1.5  # iris follows gaze
        z = v[:, col["pose_Tz"], None] - 8.0
        for j in range(28):
            i = 28 * e + j
            v[:, col[f"eye_lmk_x_{i}"]], v[:, col[f"eye_lmk_y_{i}"]] = ring[:, j].T
            v[:, col[f"eye_lmk_X_{i}"]] = (ring[:, j, 0] - w / 2) * z[:, 0] / focal
            v[:, col[f"eye_lmk_Y_{i}"]] = (ring[:, j, 1] - h / 2) * z[:, 0] / focal
            v[:, col[f"eye_lmk_Z_{i}"]] = z[:, 0]
    # Rigid and non-rigid shape parameters of OpenFace's point distribution model.
    v[:, col["p_scale"]] = half / 45.0 + rng.normal(0, 0.005, n_frames)
    for p_name, pose_name in (("p_rx", "pose_Rx"), ("p_ry", "pose_Ry"), ("p_rz", "pose_Rz")):
        v[:, col[p_name]] = v[:, col[pose_name]]
    v[:, col["p_tx"]], v[:, col["p_ty"]] = pts[:, :, 0].mean(axis=1), pts[:, :, 1].mean(axis=1)
    for i in range(34):
        v[:, col[f"p_{i}"]] = 12.0 / (1 + i / 3) * (0.5 * rng.standard_normal()
                                                    + smooth_noise(n_frames, rng, 15.0) * 0.5)
    v[failed, col["gaze_0_x"]:] = 0.0  # OpenFace writes zeros where tracking failed
    mapped = [au for au in vocab.OPENFACE_AU_C if au in vocab.OPENFACE_TO_HRM]
    human = np.stack([cells[:, hrm_col[vocab.OPENFACE_TO_HRM[a]]] > 0 for a in mapped], axis=1)
    machine = np.stack([v[:, col[f"{a}_c"]] > 0 for a in mapped], axis=1)
    use = labelled & ~failed
    agreement = float((human[use] == machine[use]).mean()) if use.any() else float("nan")
    return v, int(failed.sum()), agreement


def write_openface(root: Path, hrm: HRMSample, scale: str,
                   rng: np.random.Generator) -> OpenFaceSample:
    """Write ``root/OpenFace/{comma,comma_space}/<child>.csv`` for some HRM children.

    Parameters
    ----------
    root
        Sample root; files go under ``root/OpenFace``.
    hrm
        The HRM sample the videos and labels come from.
    scale
        ``"small"`` or ``"full"``: 4 children either way, half in each style.
    rng
        Source of all randomness.

    Returns
    -------
    OpenFaceSample
        Every file written, with its child, style, rows, failed frames and agreement.
    """
    del scale  # four children at both scales: the files are per child, not per dataset
    base = Path(root) / "OpenFace"
    # Only children whose video covers all their labelled frames (OpenFace reads videos).
    eligible = [c for c in hrm.children
                if c.video is not None and c.video_frames > c.last_frame] or list(hrm.children)
    chosen = [eligible[i] for i in sorted(rng.permutation(len(eligible))[:4])]
    decimals = _decimals()
    files = []
    for i, child in enumerate(chosen):
        style = "comma" if i % 2 == 0 else "comma_space"
        sep, newline = (",", "\n") if style == "comma" else (", ", "\r\n")
        n_frames = child.video_frames if child.video is not None else child.last_frame + 1
        values, failed, agreement = frame_table(child, n_frames, rng)
        path = base / style / f"{child.name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            fh.write((sep.join(COLUMNS) + newline).encode())
            fh.write(format_rows(values, decimals, sep=sep, newline=newline))
        files.append(OpenFaceFile(child.name, style, path, n_frames, failed, agreement))
    return OpenFaceSample(root=base, files=tuple(files))
