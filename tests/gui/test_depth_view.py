"""The depth view driven as a user would, checked against the sample files on disk.

Facet counts shown in the combos are compared with counts taken from the file system
(class folders, RaFD name fields), the overlay's pixels with the RGB file and the
colour map, and the unmatched list with what the sample writer left unpaired.
Screenshots go to /tmp/shots.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from faceexplorer.core.vocab import DEPTH_CLASSES
from faceexplorer.datasets import registry
from faceexplorer.gui.depth import DepthView
from faceexplorer.media.depth import colorize, paste, read_depth
from faceexplorer.media.images import read_image
from faceexplorer.samples.affectnet import write_affectnet
from faceexplorer.samples.depth import write_affectnet_d, write_rafd_d


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("depth_sample")
    rng = np.random.default_rng(11)
    an = write_affectnet(root, "small", rng, image_rows=30)
    ad = write_affectnet_d(root, an, "small", rng)
    rd = write_rafd_d(root, "small", rng, images=True)
    db = root / "index.duckdb"
    registry.import_path(db, root / "AffectNet", "affectnet")
    registry.import_path(db, root / "AffectNet-D", "affectnet-d")
    registry.import_path(db, root / "RaFD-D", "rafd-d")
    return {"root": root, "db": db, "affectnet_d": ad, "rafd_d": rd}


@pytest.fixture
def view(qtbot, sample, sessions):
    v = DepthView()
    qtbot.addWidget(v)
    v.resize(1400, 900)
    v.attach(sessions(sample["db"]))
    v.show()
    qtbot.waitExposed(v)
    yield v
    v.stats.wait_until_idle(20)


def _disk_counts(folder: Path) -> Counter:
    """Depth files per class folder, from the file system."""
    counts: Counter = Counter()
    for cls in DEPTH_CLASSES:
        d = folder / "depth" / cls
        counts[cls] = sum(1 for f in os.listdir(d) if f.rsplit(".", 1)[-1] in
                          ("png", "jpg", "npy")) if d.is_dir() else 0
    return counts


def _combo_counts(box) -> dict[str, int]:
    out = {}
    for i in range(1, box.count()):
        out[box.itemData(i)] = int(box.itemText(i).rsplit("(", 1)[1].rstrip(")"))
    return out


def test_facet_counts_match_the_file_system(qtbot, view, sample, shoot) -> None:
    ad = _disk_counts(sample["affectnet_d"].folder)
    assert _combo_counts(view.facet_boxes["class"]) == dict(ad)
    with qtbot.waitSignal(view.stats.ready, timeout=30_000):
        pass
    # the profiles' legend beside the plots, whole, not over the curves; a colour bar
    # for the tiles (issue 14)
    stats = view.stats
    qtbot.wait(50)
    legend = stats.legend.sceneBoundingRect()
    assert len(stats.legend.items) == sum(1 for n in ad.values() if n)
    for plot in (stats.vertical, stats.horizontal):
        assert not legend.intersects(plot.vb.sceneBoundingRect())
    assert stats.graphics.sceneRect().contains(legend)
    assert stats.colour_bar.values == (0, 1)
    shoot(view, "depth_affectnet_blend")
    view.dataset.setCurrentIndex(1)
    rafd_root = sample["rafd_d"].depth_folder
    assert _combo_counts(view.facet_boxes["class"]) == dict(_disk_counts(rafd_root))
    stems = [f.rsplit(".", 1)[0] for cls in DEPTH_CLASSES
             for f in os.listdir(rafd_root / "depth" / cls)]
    genders = Counter(s.split("_")[3] for s in stems)
    gazes = Counter(s.split("_")[5] for s in stems)
    assert _combo_counts(view.facet_boxes["gender"]) == dict(genders)
    assert _combo_counts(view.facet_boxes["gaze"]) == dict(gazes)
    # a filter narrows the list and the other facets
    view.set_filter("gender", "female")
    assert view.total == genders["female"] == view.maps.count()
    females = Counter(s.split("_")[5] for s in stems if s.split("_")[3] == "female")
    assert _combo_counts(view.facet_boxes["gaze"]) == dict(females)
    assert all("_female_" in view.maps.item(i).text() for i in range(view.maps.count()))
    shoot(view, "depth_rafd_female")


def test_unmatched_are_listed(view, sample) -> None:
    texts = [view.unmatched.item(i).text() for i in range(view.unmatched.count())]
    for path in sample["affectnet_d"].unmatched:
        assert any(t.startswith("depth, no RGB") and path.stem in t for t in texts)
    view.dataset.setCurrentIndex(1)
    texts = [view.unmatched.item(i).text() for i in range(view.unmatched.count())]
    rd = sample["rafd_d"]
    for stem in rd.rgb_only:
        assert any(t.startswith("RGB, no depth") and stem in t for t in texts)
    for stem in rd.depth_only:
        assert any(t.startswith("depth, no RGB") and stem in t for t in texts)


def test_overlay_modes_show_the_files(qtbot, view, sample, shoot) -> None:
    view.dataset.setCurrentIndex(1)  # RaFD: every pair has its RGB image drawn
    row = next(i for i, it in enumerate(view.items) if it.rgb_path)
    with qtbot.waitSignal(view.shown, timeout=10_000):
        view.maps.setCurrentRow(row if row else 1)
        if row == 0:
            view.maps.setCurrentRow(0)
    item = view.items[view.maps.currentRow()]
    rgb = read_image(item.rgb_path)
    depth = read_depth(item.path)
    where = view.overlay.scene.placement
    colour = paste(colorize(depth), rgb.shape[:2], where)
    ov = view.overlay
    ov.mode.setCurrentText("Blend")
    ov.blend.setValue(0)
    assert np.array_equal(ov.shown(), rgb)
    ov.blend.setValue(100)
    assert np.array_equal(ov.shown(), colour)
    ov.blend.setValue(40)
    expect = np.rint(rgb * 0.6 + colour.astype(np.float32) * 0.4)
    assert np.abs(ov.shown().astype(int) - expect).max() <= 1
    shoot(view, "depth_rafd_blend40")
    for mode, name in (("Side by side", "side"), ("Normal shading", "shading"),
                       ("Depth colour map", "colour")):
        ov.mode.setCurrentText(mode)
        shoot(ov, f"depth_overlay_{name}")
    ov.mode.setCurrentText("Side by side")
    assert ov.shown().shape == (rgb.shape[0], 2 * rgb.shape[1], 3)


def test_affectnet_landmarks_and_supplied_normals(qtbot, view, sample, shoot) -> None:
    drawn = [i for i, it in enumerate(view.items) if it.rgb_path and Path(it.rgb_path).is_file()]
    normals = [i for i, it in enumerate(view.items) if it.normal_path]
    assert drawn and normals, "the sample pairs some maps with drawn faces and normal maps"
    ov = view.overlay
    with qtbot.waitSignal(view.shown, timeout=10_000):
        view.maps.setCurrentRow(normals[0])
    assert ov.scene.normals_from == "supplied normal map"
    with qtbot.waitSignal(view.shown, timeout=10_000):
        view.maps.setCurrentRow(drawn[0])
    item = view.items[drawn[0]]
    xs, ys = ov.points.getData()
    lm = np.asarray(item.landmarks).reshape(-1, 2)
    assert np.allclose(xs, lm[:, 0]) and np.allclose(ys, lm[:, 1])
    ov.mode.setCurrentText("Normal shading")
    shoot(view, "depth_affectnet_shading_landmarks")
    ov.landmarks.setChecked(False)
    assert len(ov.points.getData()[0]) == 0


def test_empty_index_says_so(qtbot, tmp_path) -> None:
    v = DepthView()
    qtbot.addWidget(v)
    v.attach(None)
    assert "No AffectNet-D depth maps" in v.count_label.text()
    assert v.maps.count() == 0
