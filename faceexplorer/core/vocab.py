"""Canonical vocabularies and the code maps of each source.

Three expression code orders exist in this field (AffectNet's own, the AffectNetC25
CSVs', and HSEmotion's alphabetical one). The index stores one canonical vocabulary,
``EXPRESSIONS`` (AffectNet's order, which EmoNet and DAN share), plus every source's raw
code, so nothing is lost and any view can show either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: Canonical expression names, in AffectNet's code order (codes 0..7).
EXPRESSIONS: Final[tuple[str, ...]] = (
    "neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt",
)
#: AffectNet's extra codes 8..10: not expressions, but labels a row may carry.
AFFECTNET_EXTRA: Final[tuple[str, ...]] = ("none", "uncertain", "no-face")
#: Every label the index may hold in its canonical ``expression`` column.
EXPRESSION_LABELS: Final[tuple[str, ...]] = EXPRESSIONS + AFFECTNET_EXTRA

#: AffectNet training.csv code -> canonical label (0..10).
AFFECTNET_CODES: Final[dict[int, str]] = dict(enumerate(EXPRESSION_LABELS))
#: AffectNetC25 CSV code -> canonical label.
C25_CODES: Final[dict[int, str]] = dict(enumerate(
    ("happy", "sad", "surprise", "fear", "disgust", "anger", "contempt", "neutral")
))
#: HSEmotion ONNX output index -> canonical label (alphabetical; ``_7`` models drop contempt).
HSEMOTION_8: Final[tuple[str, ...]] = (
    "anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise",
)
HSEMOTION_7: Final[tuple[str, ...]] = tuple(e for e in HSEMOTION_8 if e != "contempt")

#: RaFD file-name emotion words and AffectNet-D/RaFD-D class folders -> canonical label.
RAFD_EMOTIONS: Final[dict[str, str]] = {
    "angry": "anger", "contemptuous": "contempt", "disgusted": "disgust", "fearful": "fear",
    "happy": "happy", "neutral": "neutral", "sad": "sad", "surprised": "surprise",
}
DEPTH_CLASSES: Final[tuple[str, ...]] = (
    "anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise",
)
#: RaFD camera angle code -> head yaw in degrees.
RAFD_ANGLES: Final[dict[str, int]] = {"000": -90, "045": -45, "090": 0, "135": 45, "180": 90}

#: Published per-class counts (DEPTH_CLASSES order) of the depth datasets.
AFFECTNET_D_COUNTS: Final[dict[str, int]] = dict(zip(
    DEPTH_CLASSES, (15000, 3703, 3726, 6073, 15000, 15000, 15000, 13604), strict=True))
RAFD_D_COUNTS: Final[dict[str, int]] = dict(zip(
    DEPTH_CLASSES, (564, 580, 576, 548, 557, 585, 569, 515), strict=True))

# --- Hugging Rain Man --------------------------------------------------------------
#: The 36 AU/AD label columns of an HRM CSV, in file order (``frame`` first, ``ASD`` last).
HRM_AU_COLUMNS: Final[tuple[str, ...]] = (
    "AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU43", "AU8", "AU9", "AU10", "AU12", "AU13",
    "AU14", "AU15", "AU16", "AU17", "AU18", "AD19", "AU20", "AU21", "AU22", "AU23", "AU24",
    "AU25", "AU2X", "AU28", "AD29", "AD30", "AU31", "AD32", "AD33", "AD34", "AD35", "AD36",
    "AD37", "AU0",
)
HRM_LABEL_HEADER: Final[tuple[str, ...]] = ("frame", *HRM_AU_COLUMNS, "ASD")
#: The five atypicality raters' columns (levels 0..4); a sixth column, their mean, follows.
HRM_RATERS: Final[tuple[str, ...]] = (
    "Abnormal-j", "Abnormal-jie", "Abnormal-y", "Abnormal-z", "Abnormal-w",
)
#: The 22 AUs of the published HRM models, in their output order.
HRM_AU22: Final[tuple[str, ...]] = (
    "AU1", "AU2", "AU4", "AU6", "AU7", "AU9", "AU10", "AU12", "AU14", "AU15", "AU16", "AU17",
    "AU18", "AD19", "AU20", "AU23", "AU24", "AU25", "AU2X", "AU28", "AD32", "AU43",
)
HRM_AU17: Final[tuple[str, ...]] = tuple(
    a for a in HRM_AU22 if a not in {"AU18", "AD19", "AU28", "AD32", "AU43"})
#: HRM cell values: 0 absent, 1 present (bilateral), 2..5 present with laterality.
HRM_CELL: Final[dict[int, str]] = {
    0: "absent", 1: "present", 2: "left", 3: "right", 4: "top", 5: "bottom",
}
#: Whole-dataset figures of HRM, as published.
HRM_CHILDREN_ASD: Final[int] = 66
HRM_CHILDREN_TD: Final[int] = 32
HRM_FRAMES: Final[int] = 131_758
HRM_SEGMENTS: Final[int] = 1_535

# --- OpenFace 2.x -------------------------------------------------------------------
OPENFACE_AU_R: Final[tuple[str, ...]] = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14", "AU15",
    "AU17", "AU20", "AU23", "AU25", "AU26", "AU45",
)
OPENFACE_AU_C: Final[tuple[str, ...]] = (*OPENFACE_AU_R[:-1], "AU28", "AU45")


def openface_columns() -> tuple[str, ...]:
    """All 714 columns FeatureExtraction writes with every output on, in file order."""
    cols: list[str] = ["frame", "face_id", "timestamp", "confidence", "success"]
    cols += [f"gaze_{e}_{a}" for e in (0, 1) for a in "xyz"] + ["gaze_angle_x", "gaze_angle_y"]
    for axis in ("x", "y", "X", "Y", "Z"):
        cols += [f"eye_lmk_{axis}_{i}" for i in range(56)]
    cols += ["pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"]
    for axis in ("x", "y", "X", "Y", "Z"):
        cols += [f"{axis}_{i}" for i in range(68)]
    cols += ["p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"] + [f"p_{i}" for i in range(34)]
    cols += [f"{au}_r" for au in OPENFACE_AU_R] + [f"{au}_c" for au in OPENFACE_AU_C]
    return tuple(cols)


#: OpenFace AU name -> HRM column it corresponds to (AU26 and AU27 are one HRM column).
OPENFACE_TO_HRM: Final[dict[str, str]] = {
    "AU01": "AU1", "AU02": "AU2", "AU04": "AU4", "AU05": "AU5", "AU06": "AU6", "AU07": "AU7",
    "AU09": "AU9", "AU10": "AU10", "AU12": "AU12", "AU14": "AU14", "AU15": "AU15",
    "AU17": "AU17", "AU20": "AU20", "AU23": "AU23", "AU25": "AU25", "AU26": "AU2X",
    "AU28": "AU28",
}

# --- FACES / DASS-21 ----------------------------------------------------------------
#: FACES feature statistics, in the order the feature file uses.
FACES_STATS: Final[tuple[str, ...]] = (
    "mean", "median", "max", "min", "std", "var", "range", "q25", "q75", "iqr", "skew",
    "kurtosis",
)
DASS_SUBSCALES: Final[dict[str, tuple[int, ...]]] = {
    "depression": (3, 5, 10, 13, 16, 17, 21),
    "anxiety": (2, 4, 7, 9, 15, 19, 20),
    "stress": (1, 6, 8, 11, 12, 14, 18),
}
DASS_BANDS: Final[tuple[str, ...]] = (
    "Normal", "Mild", "Moderate", "Severe", "Extremely severe",
)
#: Lower bound of each band above Normal, on the standard doubled (0..42) scale.
DASS_CUTOFFS: Final[dict[str, tuple[int, int, int, int]]] = {
    "depression": (10, 14, 21, 28),
    "anxiety": (8, 10, 15, 20),
    "stress": (15, 19, 26, 34),
}

#: File name endings read as images (image folders, single images) by the analysers.
IMAGE_EXTENSIONS: Final[tuple[str, ...]] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff",
                                           ".webp")


def source_kind(path: Path) -> str | None:
    """What an analysed source is: ``"images"`` (a folder, or an image file by its name's
    ending), ``"video"`` (any other file), None (nothing there)."""
    if path.is_dir():
        return "images"
    if not path.exists():
        return None
    return "images" if path.suffix.lower() in IMAGE_EXTENSIONS else "video"
