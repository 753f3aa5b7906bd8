"""Sample writers A: the files are in the real layouts and say exactly what they hold.

One small sample is written per module (AffectNet with a few drawn images per split, C25,
AffectNet-D, RaFD-D); each test reads the files back as an importer would.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from faceexplorer.core.vocab import (
    AFFECTNET_CODES,
    C25_CODES,
    DEPTH_CLASSES,
    HRM_AU_COLUMNS,
    RAFD_ANGLES,
    RAFD_EMOTIONS,
)
from faceexplorer.samples.affectnet import HEADER, write_affectnet
from faceexplorer.samples.affectnet_c25 import write_c25
from faceexplorer.samples.depth import rafd_model, write_affectnet_d, write_rafd_d
from faceexplorer.samples.drawing import (
    draw_depth,
    draw_face,
    normals_from_depth,
    params_for_aus,
    params_for_expression,
)

DRAWN = 40  # images drawn per split: enough to check, quick enough for the test budget
PATH_RE = re.compile(r"^\d+/[0-9a-f]{56}\.(jpg|png|JPG|jpeg|PNG)$")
RAFD_RE = re.compile(r"^Rafd(000|045|090|135|180)_(\d\d)_(Caucasian|Moroccan|Kid)_"
                     r"(male|female)_([a-z]+)_(left|frontal|right)$")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("samples_a")
    rng = np.random.default_rng(11)
    an = write_affectnet(root, "small", rng, image_rows=DRAWN)
    c25 = write_c25(root, an, rng)
    depth = write_affectnet_d(root, an, "small", rng)
    rafd = write_rafd_d(root, "small", rng)
    return root, an, c25, depth, rafd


def _read_training(an) -> pd.DataFrame:
    return pd.read_csv(an.training.csv, dtype=str, keep_default_na=False)


def test_affectnet_header_counts_and_dirty_rows(sample):
    _, an, *_ = sample
    for split in (an.training, an.validation):
        assert split.csv.read_text().splitlines()[0] == HEADER
        df = pd.read_csv(split.csv, dtype=str, keep_default_na=False)
        assert len(df) == split.rows
        assert df["expression"].astype(int).value_counts().to_dict() == {
            c: n for c, n in split.per_code.items() if n}
        null = (df == "NULL").any(axis=1)
        assert null.sum() == split.null_rows
        assert (df.loc[~null, "face_width"].astype(int) == 0).sum() == split.zero_width_rows
        missing = (df["valence"] == "-2") & (df["arousal"] == "-2")
        assert missing.sum() == split.missing_va_rows
        assert set(df.loc[missing, "expression"].astype(int)) == {9, 10}
        va = df.loc[~missing, ["valence", "arousal"]].astype(float)
        assert va.abs().le(1).all().all()
        assert df["subDirectory_filePath"].str.match(PATH_RE).all()
    assert an.training.rows == 2400 and an.validation.rows == 300
    names = [p.rsplit("/", 1)[1] for p in an.training.paths + an.validation.paths]
    assert len(set(names)) == len(names)


def test_landmarks_on_the_drawn_face(sample):
    _, an, *_ = sample
    df = _read_training(an)
    checked = 0
    for row in df.head(DRAWN).itertuples():
        image = cv2.imread(str(an.image_dir / row.subDirectory_filePath))
        assert image is not None, row.subDirectory_filePath
        if "NULL" in (row.face_x, row.facial_landmarks) or int(row.face_width) == 0:
            continue
        x, y, w, h = (int(v) for v in (row.face_x, row.face_y, row.face_width, row.face_height))
        pts = np.array(row.facial_landmarks.split(";"), float).reshape(68, 2)
        assert all(len(v.split(".")[1]) == 2 for v in row.facial_landmarks.split(";"))
        assert 0 <= x and 0 <= y and x + w < image.shape[1] and y + h < image.shape[0]
        assert (pts[:, 0] >= x).all() and (pts[:, 0] <= x + w).all()
        assert (pts[:, 1] >= y).all() and (pts[:, 1] <= y + h).all()
        checked += 1
    assert checked > DRAWN * 0.8


def test_c25_files_point_at_the_right_rows(sample):
    _, an, c25, *_ = sample
    train = _read_training(an)
    header = "index,filename," + ",".join(f"participant{i}" for i in range(25))
    for s in (1, 2):
        frames = {}
        for kind in ("expression", "valence", "arousal"):
            raw = c25.files[(kind, s)].read_bytes()
            assert raw.count(b"\r\n") == raw.count(b"\n") == 801  # CRLF on every line
            assert raw.split(b"\r\n", 1)[0].decode() == header
            frames[kind] = pd.read_csv(c25.files[(kind, s)])
        e = frames["expression"]
        for kind in ("valence", "arousal"):
            assert (frames[kind][["index", "filename"]] == e[["index", "filename"]]).all().all()
            votes = frames[kind].iloc[:, 2:].to_numpy()
            assert set(np.unique(votes)) <= set(np.arange(-4, 5) / 4)
        assert len(e) == c25.rows[s] == 800
        assert tuple(e["index"]) == c25.indices[s]
        rows = train.iloc[e["index"]]
        assert (rows["subDirectory_filePath"].str.rsplit("/", n=1).str[1].to_numpy()
                == e["filename"].to_numpy()).all()
        labels = [AFFECTNET_CODES[int(c)] for c in rows["expression"]]
        # 8 blocks of 100, one per label in alphabetical order, sorted by name inside
        assert labels == [lab for lab in sorted(DEPTH_CLASSES) for _ in range(100)]
        for b in range(8):
            block = e["filename"].iloc[100 * b:100 * b + 100].tolist()
            assert block == sorted(block)
        assert an.training.clean[e["index"]].all()
        votes = e.iloc[:, 2:].to_numpy()
        assert votes.min() >= 0 and votes.max() <= 7
        counts = np.stack([np.bincount(r, minlength=8) for r in votes])
        ties = int(((counts == counts.max(1, keepdims=True)).sum(1) > 1).sum())
        assert ties == c25.ties[s] and 10 <= ties <= 80
        majority = counts.argmax(1)  # = pandas mode(axis=1)[0]: smallest code on ties
        label_c25 = [next(k for k, v in C25_CODES.items() if v == lab) for lab in labels]
        assert int((majority != np.array(label_c25)).sum()) == c25.majority_differs[s]
    assert set(c25.indices[1]).isdisjoint(c25.indices[2])


def test_affectnet_d_classes_formats_and_matching(sample):
    root, an, _, depth, _ = sample
    files = sorted((root / "AffectNet-D" / "depth").rglob("*.*"))
    assert len(files) == depth.files == 8 * 30 + 2
    assert Counter(f.parent.name for f in files if f not in depth.unmatched) == depth.per_class
    suffixes = Counter(f.suffix for f in files)
    assert suffixes[".npy"] == depth.formats["npy"] and suffixes[".jpg"] == depth.formats["jpg"]
    assert depth.formats["png16"] > 0 and depth.formats["jpg"] > 0
    sixteen = [f for f in files if f.suffix == ".png"
               and cv2.imread(str(f), cv2.IMREAD_UNCHANGED).dtype == np.uint16]
    assert len(sixteen) == depth.formats["png16"]
    by_stem = {p.rsplit("/", 1)[1].rsplit(".", 1)[0]: (p, int(c))
               for p, c in zip(an.training.paths, an.training.codes, strict=True)}
    for f in files:
        if f in depth.unmatched:
            assert f.stem not in by_stem
            continue
        assert AFFECTNET_CODES[by_stem[f.stem][1]] == f.parent.name
    assert len(list((root / "AffectNet-D" / "normal").rglob("*.png"))) == depth.normals
    # a drawn face and its depth map show the same face: same place, same size
    drawn = [f for f in files if f.suffix == ".png" and f.stem in by_stem
             and by_stem[f.stem][0].rsplit("/", 1)[1] in an.faces]
    assert drawn, "no depth map of a drawn face"
    train = _read_training(an).set_index("subDirectory_filePath")
    for f in drawn[:5]:
        d = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        row = train.loc[by_stem[f.stem][0]]
        x, y, w, h = cv2.boundingRect((d > 0).astype(np.uint8))
        box = [int(row[k]) for k in ("face_x", "face_y", "face_width", "face_height")]
        assert np.allclose([x, y, w, h], box, atol=3)


def test_rafd_names_and_pairs(sample):
    root, *_, rafd = sample
    rgb = {p.stem for p in (root / "RaFD").glob("*.jpg")}
    deep = {p.stem: p.parent.name for p in (root / "RaFD-D" / "depth").rglob("*.png")}
    for stem in rgb | set(deep):
        m = RAFD_RE.match(stem)
        assert m, stem
        angle, model, ethnicity, gender, emotion, _ = m.groups()
        assert angle in RAFD_ANGLES and emotion in RAFD_EMOTIONS
        assert rafd_model(int(model)) == (ethnicity, gender)
        if stem in deep:
            assert RAFD_EMOTIONS[emotion] == deep[stem]
    assert Counter(deep.values()) == rafd.per_class == dict.fromkeys(DEPTH_CLASSES, 10)
    assert sorted(rgb - set(deep)) == sorted(rafd.rgb_only) and len(rafd.rgb_only) == 2
    assert sorted(set(deep) - rgb) == sorted(rafd.depth_only) and len(rafd.depth_only) == 1
    assert len(rgb) == rafd.rgb_images
    assert len(list((root / "RaFD-D" / "normal").rglob("*.png"))) == rafd.normals > 0


def test_a_seed_reproduces_the_same_bytes(tmp_path: Path):
    for name in ("a", "b"):
        rng = np.random.default_rng(3)
        an = write_affectnet(tmp_path / name, "small", rng, image_rows=3)
        write_c25(tmp_path / name, an, rng)
    for rel in ("AffectNet/Manually_Annotated/training.csv",
                "AffectNet/Manually_Annotated/validation.csv",
                "AffectNetC25/expression_set2_C25.csv", "AffectNetC25/arousal_set1_C25.csv"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    images = sorted((tmp_path / "a").rglob("Manually_Annotated_Images/*/*"))
    assert len(images) == 6
    for f in images:
        assert f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes()


def test_drawing_depth_and_action_units():
    rng = np.random.default_rng(0)
    face = draw_face(params_for_expression("surprise", 1.0, rng), rng, (200, 180))
    assert face.image.shape == (200, 180, 3) and face.landmarks.shape == (68, 2)
    d8, d16 = draw_depth(face), draw_depth(face.params, (200, 180), 16)
    assert d8.dtype == np.uint8 and d16.dtype == np.uint16
    assert np.array_equal(d8 > 0, d16 > 0) and d8[0, 0] == 0
    # nearer is brighter: the nose tip stands out of the cheek beside it
    nose, cheek = face.landmarks[30].astype(int), face.landmarks[2].astype(int) + [10, 0]
    assert d8[nose[1], nose[0]] > d8[cheek[1], cheek[0]]
    normals = normals_from_depth(d8)
    assert normals.shape == (200, 180, 3) and normals[0, 0].tolist() == [0, 0, 0]
    # a left-only smile moves the subject's left (image right) corner alone
    plain = params_for_aus(dict.fromkeys(HRM_AU_COLUMNS, 0), np.random.default_rng(1))
    left = params_for_aus({"AU12": 2}, np.random.default_rng(1))
    a = draw_face(plain, rng, (200, 200)).landmarks
    b = draw_face(left, rng, (200, 200)).landmarks
    assert ("lip_corner_pull", "left") in left.one_sided and left.child
    assert np.abs(b[54] - a[54]).max() > 2 > np.abs(b[48] - a[48]).max()
    with pytest.raises(ValueError, match="unknown expression"):
        params_for_expression("joy", 1.0, rng)
