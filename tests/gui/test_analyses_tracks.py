"""The Analyses tab stacks every track of one video: models, OpenFace, the human labels.

An HRM child's video (S1 of the small sample, its 435 frames drawn with a real face
photograph, faceless at ``FACELESS``) is analysed by two models, the second every 2nd
frame; the child's OpenFace CSV and HRM labels are imported. The real main window opens
the Analyses tab; what each track SHOWS (its image pixels, its rows, its title) is
compared with the analyses' own Parquet tables, the OpenFace rows and the HRM labels read
independently (DuckDB over the files, pandas over the CSV).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPointF, Qt

from faceexplorer.core.vocab import HRM_AU22
from faceexplorer.datasets.registry import import_path
from faceexplorer.gui.hrm import raster
from faceexplorer.gui.main_window import MainWindow
from faceexplorer.inference.analyze import run_analysis
from faceexplorer.inference.analyze_input import FrameRange
from faceexplorer.samples.hrm import write_hrm
from faceexplorer.samples.openface import write_openface
from tests.gui.windows import show_window
from tests.inference.conftest import build_model
from tests.inference.videos import blank_frame, face_frame

FACELESS = tuple(range(100, 112))
TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class VideoIndex:
    db: Path
    video: Path
    labels: Path                 # S1's HRM label CSV
    openface: Path               # S1's OpenFace CSV
    tables: dict[str, Path]      # model file stem -> its analysis table


def _mp4(path: Path, n: int) -> Path:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (320, 240))
    assert out.isOpened()
    for i in range(n):
        out.write(blank_frame(i) if i in FACELESS else face_frame(i % 60))
    out.release()
    return path


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> VideoIndex:
    root = tmp_path_factory.mktemp("tracks")
    sample = write_hrm(root, "small", np.random.default_rng(7), images=False)
    child = sample.child("S1")
    video = _mp4(sample.root / "videos" / "S1.mp4", child.last_frame + 1)
    openface = write_openface(root, sample, "small", np.random.default_rng(8))
    of_file = next((f.path for f in openface.files if f.child == "S1"), None)
    if of_file is None:           # S1 not drawn for OpenFace: give it one (same writer)
        pytest.skip("the OpenFace sample has no S1 file")
    db = root / "data" / "index.duckdb"
    import_path(db, sample.root, "hrm")
    import_path(db, openface.root, "openface")
    tables = {}
    for name, widths, stride in (("enet_b0_8_va_mtl", (10,), 1),
                                 ("enet_b0_8_best_afew", (8,), 2)):
        model = build_model(root / f"{name}.onnx", widths=widths)
        out = root / "out" / f"{name}.parquet"
        result = run_analysis(model, [video], out, frames=FrameRange(stride=stride),
                              db_path=db)
        assert result.status == "finished" and result.stored_rows
        tables[name] = out
    return VideoIndex(db, video, child.csv, of_file, tables)


@pytest.fixture
def window(qtbot, index: VideoIndex):
    w = show_window(qtbot, index.db, (1366, 768), testing=True)
    yield w
    w.close()


def _open(qtbot, window: MainWindow, model: str):
    """The Analyses tab with ``model``'s analysis chosen; waits for every track."""
    view = window.analyses_view
    window.show_view(view)
    with qtbot.waitSignal(view.tracks_shown, timeout=TIMEOUT_MS) as got:
        rows = [view.list.item(i).text() for i in range(view.list.count())]
        row = next(i for i, text in enumerate(rows) if model in text)
        if view.list.currentRow() == row:
            view._shown = None
            view._analysis_chosen(row)
        else:
            view.list.setCurrentRow(row)
    return view, got.args[0]


def _pixels(plot) -> np.ndarray:
    item = next(i for i in plot.items if type(i).__name__ == "ImageItem")
    return np.asarray(item.image)


def test_two_models_openface_and_human_labels_on_one_axis(qtbot, window, index: VideoIndex,
                                                         shoot) -> None:
    view, titles = _open(qtbot, window, "enet_b0_8_va_mtl")
    assert titles == ["HSEmotion enet_b0_8_va_mtl · Haar",
                      "HSEmotion enet_b0_8_best_afew · Haar · every 2 frames",
                      "OpenFace (S1)", "Human labels (HRM S1)"]
    choices = [view.shown_list.item(i).text() for i in range(view.shown_list.count())]
    assert choices == titles[1:]
    tl = view.timeline
    first, second, openface, human = tl.tracks
    # the opened model: one raster column per frame, grey where no face was found
    table = duckdb.sql(f"SELECT frame_index, face_found FROM read_parquet("
                       f"'{index.tables['enet_b0_8_va_mtl']}') ORDER BY frame_index").df()
    strip = _pixels(first.plots[-1])[0]
    assert strip.shape[0] == len(table)
    green = (strip[:, :3] == (60, 170, 90)).all(axis=1)
    assert green.tolist() == table["face_found"].tolist()
    assert not green[list(FACELESS)].any()
    # the second model, every 2nd frame: its columns are 2 frames wide, on the same axis
    rows2 = duckdb.sql(f"SELECT frame_index, face_found FROM read_parquet("
                       f"'{index.tables['enet_b0_8_best_afew']}') ORDER BY frame_index").df()
    assert rows2["frame_index"].tolist() == list(range(0, len(table), 2))
    strip2 = _pixels(second.plots[-1])[0]
    assert len(strip2) == len(rows2)
    assert ((strip2[:, :3] == (60, 170, 90)).all(axis=1)).tolist() == \
        rows2["face_found"].tolist()
    item = next(i for i in second.plots[-1].items if type(i).__name__ == "ImageItem")
    rect = item.mapRectToParent(item.boundingRect())
    assert (rect.left(), rect.width()) == (-0.5, 2 * len(rows2))
    # OpenFace: its _r rows, black = 5, read from its CSV (OpenFace frame 1 = frame 0)
    csv = pd.read_csv(index.openface, skipinitialspace=True)
    csv.columns = [c.strip() for c in csv.columns]
    ticks = [t[1] for t in openface.plots[0].getAxis("left")._tickLevels[0]]
    assert ticks[:3] == ["AU01_r", "AU02_r", "AU04_r"]
    au12 = ticks.index("AU12_r")
    grey = _pixels(openface.plots[0])[au12 * raster.SUB + 2, :, 0].astype(float)
    ok = csv["success"].to_numpy() == 1
    expect = np.rint(255 * (1 - np.clip(csv["AU12_r"].to_numpy() / 5, 0, 1)))
    np.testing.assert_array_equal(grey[ok], expect[ok])
    assert (csv["frame"].to_numpy() - 1 == np.arange(len(csv))).all()
    # the human labels: the child's codes, drawn by the HRM tab's raster, per frame
    labels = pd.read_csv(index.labels).sort_values("frame")
    codes_plot = human.plots[0]
    assert [t[1] for t in codes_plot.getAxis("left")._tickLevels[0]] == list(HRM_AU22)
    image = _pixels(codes_plot)
    item = next(i for i in codes_plot.items if type(i).__name__ == "ImageItem")
    x0 = item.mapRectToParent(item.boundingRect()).left()
    assert x0 == labels["frame"].iloc[0] - 0.5
    row = HRM_AU22.index("AU12")
    fill = image[row * raster.SUB + 2, labels["frame"].to_numpy() - labels["frame"].iloc[0]]
    present = labels["AU12"].to_numpy() == 1
    assert (fill[present, :3] == raster.CODE_COLOURS[1][:3]).all()
    assert (fill[labels["AU12"].to_numpy() == 0, :3] == 255).all()
    # one cursor through all tracks: the slider moves it, the frame follows
    with qtbot.waitSignal(view.frame_shown, timeout=10_000):
        view.slider.setValue(200)
    assert tl.cursor == 200 and all(line.value() == 200 for line in tl.cursors)
    assert len(tl.cursors) == len(tl.plots)
    # a click on the human labels puts the one cursor on that frame; the frame follows
    bar = tl.scroll.verticalScrollBar()
    bar.setValue(bar.maximum())
    qtbot.wait(50)
    codes_plot = human.plots[0]
    scene = codes_plot.vb.mapViewToScene(QPointF(300, 3.5))
    where = tl.graphics.mapFromScene(scene)
    with qtbot.waitSignal(view.frame_shown, timeout=10_000) as shown:
        qtbot.mouseClick(tl.graphics.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert shown.args[0] == tl.cursor and abs(tl.cursor - 300) <= 1
    assert view.slider.value() == int(np.flatnonzero(view.series.frames == tl.cursor)[0])
    bar.setValue(0)
    with qtbot.waitSignal(view.frame_shown, timeout=10_000):
        view.slider.setValue(200)
    shoot(window, "analyses_tracks_window")
    # the PNG export draws every track, also those scrolled out of view
    image = tl.image()
    assert image.height() >= tl.graphics.minimumHeight() > tl.scroll.viewport().height()
    # ... with the colour legend under them, as the tab shows it (the PNG had none)
    assert tl.legend.isVisible()
    assert image.height() == tl.graphics.height() + tl.legend.height()
    legend = tl.legend.grab().toImage().convertToFormat(image.format())
    assert image.copy(0, tl.graphics.height(), legend.width(), legend.height()) == legend
    bar = tl.scroll.verticalScrollBar()
    bar.setValue(bar.maximum())             # the tracks below the fold: none clipped
    shoot(window, "analyses_tracks_window_bottom")
    path = Path(shoot(view.timeline.graphics, "analyses_tracks_all"))
    assert path.exists()


def test_the_user_chooses_the_tracks(qtbot, window, index: VideoIndex) -> None:
    view, titles = _open(qtbot, window, "enet_b0_8_best_afew")
    assert titles[0] == "HSEmotion enet_b0_8_best_afew · Haar · every 2 frames"
    assert titles[1] == "HSEmotion enet_b0_8_va_mtl · Haar"
    with qtbot.waitSignal(view.tracks_shown) as got:
        view.set_track_shown("openface", False)
    assert got.args[0] == [titles[0], titles[1], "Human labels (HRM S1)"]
    item = next(view.shown_list.item(i) for i in range(view.shown_list.count())
                if view.shown_list.item(i).text() == "OpenFace (S1)")
    assert item.checkState() == Qt.CheckState.Unchecked
    with qtbot.waitSignal(view.tracks_shown) as got:
        view.set_track_shown("human", False)
    assert got.args[0] == titles[:2]
    # the choice holds when another analysis of the same video is opened
    view2, again = _open(qtbot, window, "enet_b0_8_va_mtl")
    assert again == [titles[1], titles[0]]
    view2.set_track_shown("openface", True)
    view2.set_track_shown("human", True)
    # an import of OpenFace or HRM data (here announced only) reads the tracks again
    from faceexplorer.gui.core.session import DatasetChange

    with qtbot.waitSignal(view2.tracks_shown, timeout=TIMEOUT_MS) as got:
        window.session.changed.emit(DatasetChange(frozenset({"openface"}), "import"))
    assert got.args[0] == [titles[1], titles[0], "OpenFace (S1)", "Human labels (HRM S1)"]


def test_a_demo_childs_video_run_in_the_tab_shows_the_human_labels(qtbot, tmp_path: Path,
                                                                    shoot) -> None:
    """As the demo is built (``demo.ensure_demo``: small samples with drawn videos and
    OpenFace, the shipped demo model): analysing S1's video from the tab stacks the
    child's OpenFace rows and human labels under the model."""
    from faceexplorer.demo import DEMO_MODEL_FILES
    from faceexplorer.paths import resource_dir
    from faceexplorer.samples.generate import write_samples

    written = write_samples(tmp_path / "samples", "small", only=["openface"])
    db = tmp_path / "data" / "index.duckdb"
    for kind in ("hrm", "openface"):
        import_path(db, written.path(kind), kind)
    child = written.written["hrm"].child("S1")
    w = MainWindow(db)
    w.testing = True
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    view = w.analyses_view
    w.show_view(view)
    view.input_edit.setText(str(child.video))
    view.model_edit.setText(str(resource_dir() / "demo_model" / DEMO_MODEL_FILES[0]))
    with qtbot.waitSignal(view.tracks_shown, timeout=TIMEOUT_MS,
                          check_params_cb=lambda titles: len(titles) == 3) as got:
        qtbot.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
    assert got.args[0][1:] == ["OpenFace (S1)", "Human labels (HRM S1)"]
    assert "face found in" in view.status.text()
    human = view.timeline.tracks[2]
    labels = pd.read_csv(child.csv).sort_values("frame")
    image = _pixels(human.plots[0])
    row = HRM_AU22.index("AU25")
    fill = image[row * raster.SUB + 2, labels["frame"].to_numpy() - labels["frame"].iloc[0]]
    assert ((fill[:, :3] == raster.CODE_COLOURS[1][:3]).all(axis=1)
            == (labels["AU25"].to_numpy() == 1)).all()
    with qtbot.waitSignal(view.frame_shown, timeout=10_000):
        view.slider.setValue(60)
    shoot(w, "analyses_demo_child")
    w.close()


def test_an_au_model_gets_its_au_rows(qtbot) -> None:
    """A model with AU outputs: its probabilities in the HRM tab's grey model rows."""
    from faceexplorer.gui.analyses.timeline import AnalysisTimeline
    from faceexplorer.index.analysis_query import InputSeries

    n = 20
    frames = np.arange(n)
    aus = np.linspace(0, 1, 2 * n).reshape(2, n)
    aus[:, 5] = np.nan                                  # no face at frame 5
    series = InputSeries("v.mp4", frames, frames / 25, np.arange(n) != 5, (), np.empty((0, n)),
                         np.full(n, np.nan), np.full(n, np.nan), np.full((n, 4), np.nan),
                         (None,) * n, ("AU12", "AU1"), aus)
    timeline = AnalysisTimeline()
    qtbot.addWidget(timeline)
    timeline.set_tracks(series, "au model")
    rows_plot, face_plot = timeline.tracks[0].plots
    assert [t[1] for t in rows_plot.getAxis("left")._tickLevels[0]] == ["AU12", "AU1"]
    grey = _pixels(rows_plot)[raster.SUB + 2, :, 0].astype(float)     # AU1's fill row
    ok = np.arange(n) != 5
    np.testing.assert_array_equal(grey[ok], np.rint(255 * (1 - aus[1, ok])))
    assert tuple(_pixels(rows_plot)[raster.SUB + 2, 5]) == raster.NO_PREDICTION
    assert timeline.face_plot is face_plot and timeline.va_plot is None


def test_a_long_title_keeps_its_counts_and_its_end_in_view(qtbot) -> None:
    """A model card's long name no longer cuts the title at the timeline's edge (the
    faces found and the date that tells two runs apart were lost): the name is
    shortened in its middle, the whole title stays the tooltip."""
    from faceexplorer.gui.analyses import track_plots as tp
    from faceexplorer.gui.pg_setup import pg
    from faceexplorer.index.analysis_query import InputSeries

    n = 50
    series = InputSeries("v.mp4", np.arange(n), np.arange(n) / 25, np.ones(n, bool),
                         ("happy", "sad"), np.full((2, n), 0.5), np.full(n, np.nan),
                         np.full(n, np.nan), np.zeros((n, 4)), (None,) * n)
    widget = pg.GraphicsLayoutWidget()
    qtbot.addWidget(widget)
    widget.resize(420, 300)
    name = ("FaceExplorer demo expression CNN (drawn faces, 8 expressions) · Haar · "
            "2026-12-06 16:10")
    track = tp.model_plots(widget.ci, series, name)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(lambda: "…" in track.label.text, timeout=5_000)
    text = track.label.text
    assert text.endswith(f" · face in {n}/{n}") and "2026-12-06 16:10</b>" in text
    assert text.startswith("<b>FaceExplorer demo")
    shown = track.label.item.mapRectToScene(track.label.item.boundingRect())
    assert shown.right() <= widget.width()
    assert track.label.toolTip().startswith(name)
    widget.resize(1600, 300)                 # room again: the whole name comes back
    qtbot.waitUntil(lambda: track.label.text == f"<b>{name}</b> · face in {n}/{n}",
                    timeout=5_000)
