"""Synthetic FACES / ANRFC 2023: OpenFace feature statistics, DASS-21 items, demographics.

Each subject gets a latent level per OpenFace column (landmarks, pose, gaze, AUs) and a
per-frame spread; the 12 statistics are derived from those two so every row is internally
consistent (min <= q25 <= median <= q75 <= max, range = max - min, iqr = q75 - q25,
var = std**2, AU intensities in 0..5, presences in 0..1 with exact Bernoulli moments).
DASS-21 items come from correlated subscale latents thresholded into mostly low scores.
A few real effects (``EFFECTS``) tie feature latents to the subscale scores, so a feature
ranking has something true to find. The ~1 GB full feature file is written in row chunks
by the vectorised formatter of :mod:`faceexplorer.samples.openface`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from faceexplorer.core import vocab
from faceexplorer.samples.openface import EYE_TEMPLATE, FACE_DEPTH, FACE_TEMPLATE, format_rows

FEATURE_SOURCES: Final[tuple[str, ...]] = vocab.openface_columns()[5:]
FEATURE_COLUMNS: Final[tuple[str, ...]] = tuple(
    f"{c}_{s}" for c in FEATURE_SOURCES for s in vocab.FACES_STATS)
GRADE_NAMES: Final[dict[int, str]] = {
    1: "一年级", 2: "二年级", 3: "三年级", 4: "四年级", 5: "五年级", 6: "六年级",
    7: "初一", 8: "初二", 9: "初三", 10: "高一", 11: "高二", 12: "高三",
}
#: Grades 4..12 (ages ~10-18) and their share of subjects.
_GRADE_SHARE: Final[dict[int, float]] = {
    4: 0.03, 5: 0.05, 6: 0.07, 7: 0.14, 8: 0.14, 9: 0.13, 10: 0.16, 11: 0.15, 12: 0.13}
#: The survey's school year starts in September of this year (grade 1 = age 6 by Sept 1).
SCHOOL_YEAR: Final[int] = 2022
_FRAMES_PER_SUBJECT: Final[int] = 1800
#: Feature rows generated and formatted at a time: bounds memory (part of the seed's bytes).
_CHUNK_ROWS: Final[int] = 128
_AU_R_MEAN: Final[dict[str, float]] = {
    "AU01": 0.35, "AU02": 0.2, "AU04": 0.6, "AU05": 0.15, "AU06": 0.35, "AU07": 0.8,
    "AU09": 0.1, "AU10": 0.5, "AU12": 0.45, "AU14": 0.6, "AU15": 0.25, "AU17": 0.5,
    "AU20": 0.2, "AU23": 0.15, "AU25": 0.5, "AU26": 0.4, "AU45": 0.3,
}


@dataclass(frozen=True)
class PlantedEffect:
    """A true association: ``feature`` moves with ``subscale`` (correlation ~ sign*strength).

    The effect sits on the subject's latent level of the source column, so the column's
    other location statistics (and, for AUs, the ``_c`` presence) follow it too.
    """

    feature: str
    subscale: str
    sign: int
    strength: float


EFFECTS: Final[tuple[PlantedEffect, ...]] = (
    PlantedEffect("AU12_r_mean", "depression", -1, 0.45),
    PlantedEffect("AU06_r_mean", "depression", -1, 0.35),
    PlantedEffect("AU15_r_mean", "depression", +1, 0.35),
    PlantedEffect("gaze_angle_y_mean", "depression", +1, 0.3),
    PlantedEffect("AU04_r_mean", "stress", +1, 0.45),
    PlantedEffect("AU07_r_mean", "stress", +1, 0.3),
    PlantedEffect("AU45_r_mean", "anxiety", +1, 0.4),
    PlantedEffect("pose_Rx_std", "anxiety", +1, 0.35),
)


@dataclass(frozen=True)
class FacesSample:
    """What :func:`write_faces` wrote.

    ``features.csv`` and ``dass21.csv`` each hold ``n_subjects`` rows; ``baseinfo.csv``
    holds everyone in either. Subjects in ``only_in_dass`` have items but no features,
    those in ``only_in_features`` the reverse (their baseinfo totals are empty).
    baseinfo ``gender`` is 男/女; totals are un-doubled item sums.
    """

    root: Path
    features: Path
    dass21: Path
    baseinfo: Path
    n_subjects: int
    n_baseinfo: int
    only_in_dass: tuple[int, ...]
    only_in_features: tuple[int, ...]
    effects: tuple[PlantedEffect, ...]
    features_seconds: float

    @property
    def n_feature_columns(self) -> int:
        return len(FEATURE_COLUMNS)


@dataclass(frozen=True)
class _Profile:
    """Per source column: population centre, between- and within-subject spread, kind."""

    centre: np.ndarray
    between: np.ndarray
    within: np.ndarray
    kind: np.ndarray      # 0 continuous, 1 AU intensity (0..5), 2 AU presence (0..1)


def _profile() -> _Profile:
    """Typical values of a webcam recording (640x480, face half-width ~110 px, ~45 cm)."""
    cx, cy, px, focal, dist = 320.0, 250.0, 110.0, 500.0, 450.0
    face = FACE_TEMPLATE * px + [cx, cy]
    eye_half = 0.17 * px
    eyes = np.r_[EYE_TEMPLATE * eye_half + [cx - 0.42 * px, cy - 0.35 * px],
                 EYE_TEMPLATE * eye_half + [cx + 0.42 * px, cy - 0.35 * px]]
    rows: dict[str, tuple[float, float, float, int]] = {}
    for e in (0, 1):
        for axis, c in zip("xyz", (0.05 - 0.1 * e, 0.15, -0.97), strict=True):
            rows[f"gaze_{e}_{axis}"] = (c, 0.06, 0.08, 0)
    rows["gaze_angle_x"], rows["gaze_angle_y"] = (0.0, 0.08, 0.1, 0), (0.15, 0.08, 0.1, 0)
    for points, prefix, depth in ((eyes, "eye_lmk_", np.full(56, -8.0)), (face, "", FACE_DEPTH)):
        for i, ((x, y), z) in enumerate(zip(points, depth, strict=True)):
            rows[f"{prefix}x_{i}"], rows[f"{prefix}y_{i}"] = (x, 25, 8, 0), (y, 25, 8, 0)
            rows[f"{prefix}X_{i}"] = ((x - cx) * dist / focal, 20, 6, 0)
            rows[f"{prefix}Y_{i}"] = ((y - cy) * dist / focal, 20, 6, 0)
            rows[f"{prefix}Z_{i}"] = (dist + z, 60, 20, 0)
    for name, c, b, w in (("Tx", 0, 30, 10), ("Ty", 30, 25, 10), ("Tz", dist, 60, 20),
                          ("Rx", 0.1, 0.08, 0.06), ("Ry", 0, 0.08, 0.06), ("Rz", 0, 0.08, 0.06)):
        rows[f"pose_{name}"] = (c, b, w, 0)
        if name.startswith("R"):
            rows[f"p_{name.lower()}"] = (c, b, w, 0)
    rows["p_scale"], rows["p_tx"], rows["p_ty"] = (2.4, 0.4, 0.1, 0), (cx, 25, 8, 0), (cy, 25, 8, 0)
    for i in range(34):
        rows[f"p_{i}"] = (0.0, 12 / (1 + i / 3), 6 / (1 + i / 3), 0)
    for au, level in _AU_R_MEAN.items():
        rows[f"{au}_r"] = (level, 0.6, 1.1, 1)
    for au in vocab.OPENFACE_AU_C:
        rows[f"{au}_c"] = (min(0.1 + 0.4 * _AU_R_MEAN.get(au, 0.1), 0.45), 0.8, 0.0, 2)
    table = np.array([rows[c] for c in FEATURE_SOURCES])
    return _Profile(table[:, 0], table[:, 1], table[:, 2], table[:, 3].astype(int))


def make_dass(n: int, female: np.ndarray, grade: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
    """DASS-21 items (n, 21), 0..3: correlated subscales, skewed to low scores."""
    general = rng.standard_normal(n) + 0.15 * female + 0.04 * (grade - 8)
    items = np.zeros((n, 21), dtype=np.int64)
    for scale in vocab.DASS_SUBSCALES.values():
        latent = 0.8 * general + 0.6 * rng.standard_normal(n)
        for item in scale:
            y = 0.7 * latent + 0.71 * rng.standard_normal(n) + rng.normal(0, 0.25)
            items[:, item - 1] = (y > 0.35).astype(int) + (y > 1.1) + (y > 1.8)
    return items


def _subscale_z(items: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for name, scale in vocab.DASS_SUBSCALES.items():
        total = items[:, [i - 1 for i in scale]].sum(axis=1).astype(float)
        out[name] = (total - total.mean()) / (total.std() or 1.0)
    return out


def feature_stats(prof: _Profile, z: dict[str, np.ndarray],
                  rng: np.random.Generator) -> np.ndarray:
    """The 12 statistics (n, 709, 12) of ``len(z[...])`` subjects, planted effects included."""
    n, k = len(next(iter(z.values()))), len(prof.centre)
    index = {c: i for i, c in enumerate(FEATURE_SOURCES)}
    level, spread = rng.standard_normal((n, k)), rng.standard_normal((n, k))
    for eff in EFFECTS:
        source, stat = eff.feature.rsplit("_", 1)
        target = level if stat == "mean" else spread
        i = index[source]
        rho = eff.strength
        target[:, i] = eff.sign * rho * z[eff.subscale] + np.sqrt(1 - rho**2) * target[:, i]
    # A subject's AU presence follows their AU intensity.
    for au in vocab.OPENFACE_AU_R:
        if f"{au}_c" in index:
            level[:, index[f"{au}_c"]] = (0.9 * level[:, index[f"{au}_r"]]
                                          + 0.44 * level[:, index[f"{au}_c"]])
    cont, au_r, au_c = prof.kind == 0, prof.kind == 1, prof.kind == 2
    mean = np.where(cont, prof.centre + prof.between * level,
                    prof.centre * np.exp(prof.between * level - prof.between**2 / 2))
    within = np.where(au_r, mean * prof.within + 0.05, prof.within) * np.exp(0.25 * spread)
    skew = np.where(au_r, np.clip(rng.normal(1.8, 0.5, (n, k)), 0.3, None),
                    rng.normal(0.0, 0.35, (n, k)))
    median = mean - 0.12 * skew * within
    q25 = median - 0.674 * within * np.exp(-0.1 * skew + rng.normal(0, 0.08, (n, k)))
    q75 = median + 0.674 * within * np.exp(0.1 * skew + rng.normal(0, 0.08, (n, k)))
    low = q25 - within * (1.9 + np.abs(rng.normal(0, 0.5, (n, k)))) * np.exp(-0.2 * skew)
    high = q75 + within * (1.9 + np.abs(rng.normal(0, 0.5, (n, k))) + 0.6 * np.maximum(skew, 0))
    kurt = skew**2 - 0.5 + rng.gamma(2.0, 0.6, (n, k))
    # AU intensities live in 0..5: clipping is monotone, so the order of stats survives.
    clip = np.where(au_r, 0.0, -np.inf), np.where(au_r, 5.0, np.inf)
    mean, median, q25, q75, low, high = (np.clip(a, *clip) for a in
                                         (mean, median, q25, q75, low, high))
    std = np.minimum(within, (high - low) / 2)
    # Presences are 0/1 per frame: their moments are the Bernoulli ones, exactly.
    centre, slope = np.where(au_c, prof.centre, 0.5), np.where(au_c, prof.between, 0.0)
    p = 1 / (1 + np.exp(-(np.log(centre / (1 - centre)) + slope * level)))
    pq = p * (1 - p)
    frames = _FRAMES_PER_SUBJECT
    bern = {
        "mean": p, "median": (p > 0.5) * 1.0, "max": np.ones_like(p), "min": np.zeros_like(p),
        "std": np.sqrt(pq * frames / (frames - 1)), "q25": (p > 0.75) * 1.0,
        "q75": (p > 0.25) * 1.0, "skew": (1 - 2 * p) / np.sqrt(pq), "kurtosis": (1 - 6 * pq) / pq,
    }
    cols = {"mean": mean, "median": median, "max": high, "min": low, "std": std, "q25": q25,
            "q75": q75, "skew": skew, "kurtosis": kurt}
    for name, value in bern.items():
        cols[name] = np.where(au_c, value, cols[name])
    cols["var"] = cols["std"] ** 2
    cols["range"] = cols["max"] - cols["min"]
    cols["iqr"] = cols["q75"] - cols["q25"]
    return np.stack([cols[s] for s in vocab.FACES_STATS], axis=-1)


def _significant(values: np.ndarray, digits: int = 5) -> np.ndarray:
    """Decimals giving ``digits`` significant digits (0..6), per value."""
    with np.errstate(divide="ignore"):
        magnitude = np.floor(np.log10(np.abs(values)))
    magnitude[~np.isfinite(magnitude)] = 0
    return np.clip(digits - 1 - magnitude, 0, 6).astype(np.int8)


def _birthdays(grade: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """YYYYMMDD ints: grade g was born Sept 1 (SCHOOL_YEAR-g-6) .. Aug 31 (SCHOOL_YEAR-g-5)."""
    start = np.array([f"{SCHOOL_YEAR - g - 6}-09-01" for g in grade], dtype="datetime64[D]")
    end = np.array([f"{SCHOOL_YEAR - g - 5}-09-01" for g in grade], dtype="datetime64[D]")
    days = start + (rng.random(len(grade)) * (end - start).astype(int)).astype(int)
    return np.char.replace(np.datetime_as_string(days), "-", "").astype(np.int64)


def write_faces(root: Path, scale: str, rng: np.random.Generator) -> FacesSample:
    """Write ``root/FACES/features.csv``, ``dass21.csv`` and ``baseinfo.csv``.

    Parameters
    ----------
    root
        Sample root; files go under ``root/FACES``.
    scale
        ``"small"`` (300 subjects) or ``"full"`` (11,427 subjects, a ~1 GB feature file).
    rng
        Source of all randomness: a seed reproduces the same bytes.

    Returns
    -------
    FacesSample
        Paths, row counts, the subjects present in only one file, and the planted effects.
    """
    import pandas as pd

    if scale not in ("small", "full"):
        raise ValueError(f"scale must be 'small' or 'full', not {scale!r}")
    n = 11_427 if scale == "full" else 300
    extra = 11 if scale == "full" else 3
    base = Path(root) / "FACES"
    base.mkdir(parents=True, exist_ok=True)
    everyone = n + extra
    ids = 20_230_000 + np.sort(rng.choice(900_000, everyone, replace=False))
    odd = rng.choice(everyone, 2 * extra, replace=False)
    only_dass, only_features = np.sort(odd[:extra]), np.sort(odd[extra:])
    grades = np.array(sorted(_GRADE_SHARE))
    grade = rng.choice(grades, everyone, p=[_GRADE_SHARE[g] for g in grades])
    female = rng.random(everyone) < 0.5
    items = make_dass(everyone, female, grade, rng)
    z = _subscale_z(items)

    with_items = np.setdiff1d(np.arange(everyone), only_features)
    dass = pd.DataFrame(items, columns=[f"dass_{i}" for i in range(1, 22)])
    dass.insert(0, "cust_id", ids)
    # Survey exports are not in ID order: the join has to do the work.
    dass.iloc[rng.permutation(with_items)].to_csv(base / "dass21.csv", index=False)
    info = pd.DataFrame({
        "cust_id": ids, "gender": np.where(female, "女", "男"),
        "birthday": _birthdays(grade, rng), "grade_name": [GRADE_NAMES[g] for g in grade],
        "school_id": rng.integers(1, 41, everyone) + 3100,
        "only_child": (rng.random(everyone) < 0.45).astype(int)})
    for name in ("depression", "anxiety", "stress"):
        total = items[:, [i - 1 for i in vocab.DASS_SUBSCALES[name]]].sum(axis=1)
        info[name.capitalize()] = pd.array(total, dtype="Int64")
        info.loc[only_features, name.capitalize()] = pd.NA
    info.iloc[rng.permutation(everyone)].to_csv(base / "baseinfo.csv", index=False)

    start = time.perf_counter()
    prof = _profile()
    rows = np.setdiff1d(np.arange(everyone), only_dass)
    features = base / "features.csv"
    with features.open("wb") as fh:
        fh.write((",".join(("ID", *FEATURE_COLUMNS)) + "\n").encode())
        for lo in range(0, len(rows), _CHUNK_ROWS):
            chunk = rows[lo:lo + _CHUNK_ROWS]
            stats = feature_stats(prof, {k: v[chunk] for k, v in z.items()}, rng)
            table = np.c_[ids[chunk], stats.reshape(len(chunk), -1)]
            fh.write(format_rows(table, _significant(table), strip_zeros=True))
    return FacesSample(
        root=base, features=features, dass21=base / "dass21.csv", baseinfo=base / "baseinfo.csv",
        n_subjects=n, n_baseinfo=everyone, only_in_dass=tuple(int(i) for i in ids[only_dass]),
        only_in_features=tuple(int(i) for i in ids[only_features]), effects=EFFECTS,
        features_seconds=time.perf_counter() - start)
