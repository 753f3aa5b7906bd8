"""AffectNet-D / RaFD-D importers: header reading, layouts, matching, bad input."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import duckdb
import numpy as np
import pytest

from faceexplorer.core.errors import DatasetFormatError, FaceExplorerError
from faceexplorer.datasets import affectnet_d, depth, rafd_d, registry

GREY = np.linspace(0, 255, 48 * 40).reshape(48, 40).astype(np.uint8)


def _png(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return path


def _rafd(angle: str = "090", model: int = 1, eth: str = "Caucasian", gender: str = "female",
          emotion: str = "angry", gaze: str = "frontal") -> str:
    return f"Rafd{angle}_{model:02d}_{eth}_{gender}_{emotion}_{gaze}"


# --- headers ----------------------------------------------------------------------------
def test_headers_agree_with_decoding(tmp_path: Path) -> None:
    files = {
        _png(tmp_path / "a.png", GREY): ("png8", 1),
        _png(tmp_path / "b.png", GREY.astype(np.uint16) * 257): ("png16", 1),
        _png(tmp_path / "c.png", np.dstack([GREY] * 3)): ("png8", 3),
        _png(tmp_path / "d.jpg", GREY): ("jpg", 1),
        _png(tmp_path / "e.jpeg", np.dstack([GREY] * 3)): ("jpg", 3),
    }
    for path, (fmt, channels) in files.items():
        decoded = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        header = depth.read_header(path)
        assert (header.format, header.channels) == (fmt, channels), path
        assert (header.height, header.width) == decoded.shape[:2]


def test_jpeg_frame_header_after_large_app_segments(tmp_path: Path) -> None:
    ok, encoded = cv2.imencode(".jpg", GREY)
    data = encoded.tobytes()
    app = b"\xff\xe1" + struct.pack(">H", 60_002) + bytes(60_000)  # EXIF-sized segments
    path = tmp_path / "exif.jpg"
    path.write_bytes(data[:2] + app + app + data[2:])
    assert depth.read_header(path) == depth.ImageHeader("jpg", 40, 48, 1)


@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
def test_npy_headers(tmp_path: Path, version: tuple[int, int]) -> None:
    for shape, channels in (((30, 20), 1), ((30, 20, 3), 3)):
        path = tmp_path / f"x{len(shape)}.npy"
        with path.open("wb") as fh:
            np.lib.format.write_array(fh, np.zeros(shape, np.float32), version=version)
        assert depth.read_header(path) == depth.ImageHeader("npy", 20, 30, channels)


@pytest.mark.parametrize(("name", "content"), [
    ("trunc.png", b"\x89PNG\r\n\x1a\n\x00\x00"),
    ("text.png", b"hello world, not an image at all......"),
    ("empty.jpg", b""),
    ("trunc.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF"),
    ("bad.npy", b"\x93NUMPY\x01\x00\x05\x00{'de"),
    ("vector.npy", None),
    ("x.bmp", b"BM"),
])
def test_bad_headers_raise_header_error(tmp_path: Path, name: str, content: bytes | None) -> None:
    path = tmp_path / name
    if content is None:
        np.save(path, np.zeros(5))
    else:
        path.write_bytes(content)
    with pytest.raises(depth.HeaderError):
        depth.read_header(path)


# --- AffectNet-D --------------------------------------------------------------------------
@pytest.fixture
def affectnet_d_root(tmp_path: Path) -> Path:
    root = tmp_path / "AffectNet-D"
    _png(root / "depth" / "happy" / "aa01.png", GREY)
    _png(root / "depth" / "happy" / "aa02.png", GREY.astype(np.uint16) * 200)
    _png(root / "depth" / "anger" / "bb01.jpg", GREY)
    (root / "depth" / "sad").mkdir(parents=True)
    np.save(root / "depth" / "sad" / "cc01.npy", np.zeros((30, 20), np.float32))
    _png(root / "normal" / "happy" / "aa01.png", np.dstack([GREY] * 3))
    _png(root / "normal" / "happy" / "zz99.png", np.dstack([GREY] * 3))  # no depth map
    _png(root / "flat" / "dd01.png", GREY)                               # class unknown
    _png(root / "flat" / "dd01_normal.png", np.dstack([GREY] * 3))
    (root / "depth" / "happy" / "broken.png").write_bytes(b"\x89PNG\r\n")
    (root / "README.txt").write_text("depth maps")
    return root


def test_affectnet_d_layout_counts_and_skips(tmp_path: Path, affectnet_d_root: Path) -> None:
    db = tmp_path / "index.duckdb"
    report = registry.import_path(db, affectnet_d_root, "affectnet-d")
    counts = report.counts
    assert counts["depth_maps"] == 5
    assert (counts["depth_happy"], counts["depth_anger"], counts["depth_sad"]) == (2, 1, 1)
    assert counts["depth_unknown_class"] == 1
    assert counts["normal_maps"] == 2
    assert counts["matched_rgb"] == 0 and counts["depth_without_rgb"] == 5
    skipped = {s.reason.split(" (")[0].split(":")[0]: (s.rows, s.file) for s in report.skipped}
    assert skipped["unsupported file type"] == (1, "README.txt")
    assert skipped["unreadable image header"][0] == 1
    assert skipped["normal map with no depth map of the same stem"] == (
        1, str(Path("normal/happy/zz99.png")))
    with duckdb.connect(str(db), read_only=True) as con:
        rows = {r[0]: r[1:] for r in con.execute(
            "SELECT stem, class, format, width, height, channels, normal_path IS NOT NULL "
            "FROM depth_maps").fetchall()}
        assert rows["aa01"] == ("happy", "png8", 40, 48, 1, True)
        assert rows["aa02"][1] == "png16"
        assert rows["bb01"][:2] == ("anger", "jpg")
        assert rows["cc01"][:4] == ("sad", "npy", 20, 30)
        assert rows["dd01"] == (None, "png8", 40, 48, 1, True)
        assert affectnet_d.summary(con) == counts


def _fake_affectnet(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    # Only the columns the live match reads; the AffectNet importer owns the real table.
    con.execute("CREATE TABLE affectnet_images (sub_path VARCHAR, filename VARCHAR, "
                "image_root VARCHAR, expression VARCHAR)")
    con.executemany("INSERT INTO affectnet_images VALUES (?, ?, '/imgs', 'happy')",
                    [[f"1/{n}", n] for n in names])


def test_affectnet_match_is_live_whichever_comes_first(
        tmp_path: Path, affectnet_d_root: Path) -> None:
    db = tmp_path / "index.duckdb"
    registry.import_path(db, affectnet_d_root, "affectnet-d")
    with duckdb.connect(str(db)) as con:
        _fake_affectnet(con, ["aa01.jpg", "bb01.png", "ee01.jpg"])
        counts = affectnet_d.summary(con)
        assert (counts["matched_rgb"], counts["depth_without_rgb"]) == (2, 3)
        missing = affectnet_d.unmatched(con)
        assert [(m["side"], m["stem"]) for m in missing] == [
            ("depth", "aa02"), ("depth", "cc01"), ("depth", "dd01"), ("rgb", "ee01")]
        assert missing[-1]["path"] == "/imgs/1/ee01.jpg"
        assert len(affectnet_d.unmatched(con, limit=2)) == 2
    report = registry.import_path(db, affectnet_d_root, "affectnet-d")  # RGB first, then depth
    assert report.counts["matched_rgb"] == 2


# --- RaFD-D ---------------------------------------------------------------------------
@pytest.fixture
def rafd_roots(tmp_path: Path) -> tuple[Path, Path]:
    depth_root, rgb_root = tmp_path / "RaFD-D", tmp_path / "rafd"
    _png(depth_root / "depth" / "anger" / f"{_rafd()}.png", GREY)
    _png(depth_root / "depth" / "anger" / f"{_rafd(model=2, emotion='happy')}.png", GREY)
    _png(depth_root / "normal" / "anger" / f"{_rafd()}.png", np.dstack([GREY] * 3))
    _png(depth_root / "depth" / f"{_rafd('045', 3, 'Kid', 'male', 'fearful', 'left')}.png", GREY)
    _png(depth_root / "depth" / "anger" / "Rafd090_99_Caucasian_female_angry_frontal.png", GREY)
    _png(depth_root / "depth" / "anger" / "IMG_0001.png", GREY)
    for stem in (_rafd(), _rafd("180", 5, "Moroccan", "male", "sad", "right"),
                 _rafd("045", 3, "Kid", "male", "fearful", "left")):
        _png(rgb_root / f"{stem}.jpg", np.dstack([GREY] * 3))
    (rgb_root / "notes.txt").write_text("x")
    return depth_root, rgb_root


def test_rafd_name_parsing() -> None:
    fields = rafd_d.parse_rafd_name("Rafd000_73_Moroccan_male_contemptuous_right")
    assert fields == {"angle": "000", "yaw": -90, "model": 73, "ethnicity": "Moroccan",
                      "gender": "male", "emotion": "contempt", "gaze": "right"}
    assert rafd_d.parse_rafd_name(_rafd("135"))["yaw"] == 45  # type: ignore[index]
    for bad in ("Rafd091_01_Caucasian_female_angry_frontal", "Rafd090_74_Kid_male_sad_left",
                "Rafd090_01_Martian_male_sad_left", "Rafd090_01_Kid_male_bored_left",
                "Rafd090_01_Kid_male_sad_up", "IMG_0001"):
        assert isinstance(rafd_d.parse_rafd_name(bad), str), bad


def test_rafd_d_sibling_rgb_folder(tmp_path: Path, rafd_roots: tuple[Path, Path]) -> None:
    depth_root, _ = rafd_roots
    db = tmp_path / "index.duckdb"
    report = registry.import_path(db, depth_root, "rafd-d")
    c = report.counts
    assert (c["depth_maps"], c["depth_anger"], c["depth_fear"], c["normal_maps"]) == (3, 2, 1, 1)
    assert (c["rgb_images"], c["matched_rgb"], c["depth_without_rgb"],
            c["rgb_without_depth"]) == (3, 2, 1, 1)
    reasons = " | ".join(s.reason for s in report.skipped)
    assert "model 99" in reasons and "RaFD convention" in reasons
    assert "unsupported file type" in reasons  # notes.txt beside the RGB images
    assert any("disagrees" in w for w in report.warnings)
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("SELECT class, emotion, yaw, model, ethnicity FROM depth_maps "
                          "WHERE stem LIKE '%_02_%'").fetchone()
        assert row == ("anger", "happy", 0, 2, "Caucasian")
        flat = con.execute("SELECT class FROM depth_maps WHERE gaze = 'left'").fetchone()
        assert flat == ("fear",)  # flat folder: class from the name's emotion
        sides = [(m["side"], m["stem"]) for m in rafd_d.unmatched(con)]
        assert sides == [("depth", _rafd(model=2, emotion="happy")),
                         ("rgb", _rafd("180", 5, "Moroccan", "male", "sad", "right"))]


def test_rafd_d_images_option_and_missing_rgb(tmp_path: Path,
                                              rafd_roots: tuple[Path, Path]) -> None:
    depth_root, rgb_root = rafd_roots
    moved = tmp_path / "elsewhere" / "photos"
    moved.parent.mkdir()
    rgb_root.rename(moved)
    db = tmp_path / "index.duckdb"
    report = registry.import_path(db, depth_root, "rafd-d")
    assert report.counts["rgb_images"] == 0 and report.counts["depth_without_rgb"] == 3
    assert any("images=DIR" in w for w in report.warnings)
    report = registry.import_path(db, depth_root, "rafd-d", images=moved)
    assert report.counts["matched_rgb"] == 2
    with pytest.raises(DatasetFormatError, match="images="):
        registry.import_path(db, depth_root, "rafd-d", images=tmp_path / "nowhere")
    with pytest.raises(FaceExplorerError, match="unknown option"):
        registry.import_path(db, depth_root, "rafd-d", image=moved)


def test_detect(rafd_roots: tuple[Path, Path], affectnet_d_root: Path, tmp_path: Path) -> None:
    depth_root, rgb_root = rafd_roots
    assert rafd_d.detect(depth_root) and not affectnet_d.detect(depth_root)
    assert affectnet_d.detect(affectnet_d_root) and not rafd_d.detect(affectnet_d_root)
    assert not rafd_d.detect(rgb_root) and not affectnet_d.detect(rgb_root)
    renamed = tmp_path / "my_depth_set"
    affectnet_d_root.rename(renamed)  # by content: a depth/ folder of non-RaFD names
    assert affectnet_d.detect(renamed) and not rafd_d.detect(renamed)


# --- bad input: clear errors, index untouched ----------------------------------------------
def _snapshot(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT dataset, stem, path FROM depth_maps ORDER BY ALL").fetchall()


@pytest.mark.parametrize("case", ["file", "empty", "binary", "truncated", "unsupported"])
def test_bad_input_leaves_index_unchanged(tmp_path: Path, affectnet_d_root: Path,
                                          rafd_roots: tuple[Path, Path], case: str) -> None:
    db = tmp_path / "index.duckdb"
    registry.import_path(db, affectnet_d_root, "affectnet-d")
    registry.import_path(db, rafd_roots[0], "rafd-d")
    before = _snapshot(db)
    bad = tmp_path / "bad"
    bad.mkdir()
    if case == "file":
        bad = bad / "depth.png"
        _png(bad, GREY)
    elif case == "binary":
        (bad / "a.png").write_bytes(bytes(range(256)) * 4)
        (bad / "b.npy").write_bytes(b"\x00\x01" * 100)
    elif case == "truncated":
        (bad / "a.png").write_bytes(_png(tmp_path / "ok.png", GREY).read_bytes()[:20])
    elif case == "unsupported":
        (bad / "a.tif").write_bytes(b"II*\x00")
    with pytest.raises(DatasetFormatError) as err:
        registry.import_path(db, bad, "affectnet-d")
    assert str(bad.resolve()) in str(err.value) or str(bad) in str(err.value)
    assert "expected" in str(err.value)
    assert _snapshot(db) == before


@pytest.mark.slow
def test_sample_writer_rafd_d_imports(tmp_path: Path) -> None:
    samples = pytest.importorskip("faceexplorer.samples.depth",
                                  reason="sample writer (another helper's) not there yet")
    samples.write_rafd_d(tmp_path, "small", np.random.default_rng(0))
    report = registry.import_path(tmp_path / "index.duckdb", tmp_path / "RaFD-D", "rafd-d")
    c = report.counts
    assert all(c[f"depth_{cls}"] > 0 for cls in depth.DEPTH_CLASSES)
    assert c["rgb_images"] > 0 and c["matched_rgb"] > 0 and c["normal_maps"] > 0
    assert report.skipped_total == 0
