"""HRM navigator and AU timeline driven as a clinician would; what they show vs pandas."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from faceexplorer.core.vocab import HRM_AU22, HRM_AU_COLUMNS, HRM_RATERS
from faceexplorer.gui.hrm import raster
from faceexplorer.gui.hrm.navigator import HRMNavigator
from faceexplorer.gui.hrm.timeline import TimelineWidget
from faceexplorer.gui.hrm.tracks import RATER_OFFSETS, openface_row_y
from tests.test_hrm_query import HRMIndex, build_hrm_index, read_child_csv


@pytest.fixture(scope="module")
def hrm(tmp_path_factory: pytest.TempPathFactory) -> HRMIndex:
    return build_hrm_index(tmp_path_factory.mktemp("hrm_gui"))


@pytest.fixture(scope="module")
def con(hrm: HRMIndex):
    connection = duckdb.connect(str(hrm.db), read_only=True)
    yield connection
    connection.close()


@pytest.fixture
def timeline(sessions, qtbot, con) -> TimelineWidget:
    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.resize(1400, 900)
    widget.show()
    qtbot.waitExposed(widget)
    widget.attach(sessions(con))
    return widget


def settle() -> None:
    from PySide6.QtWidgets import QApplication

    QApplication.sendPostedEvents()
    QApplication.processEvents()


def screen_pixel(widget: TimelineWidget, plot, x: float, y: float) -> tuple[int, int, int]:
    """RGB the user sees at data point (x, y) of ``plot``."""
    settle()
    scene = plot.vb.mapViewToScene(QPointF(x, y))
    at = widget.view.mapFromScene(scene)
    image = widget.view.grab().toImage()
    colour = image.pixelColor(at)
    return colour.red(), colour.green(), colour.blue()


def step_value(curve, frames):
    """The level a step curve (two points per run, from its given data) holds at frames."""
    x, y = curve.xData, curve.yData
    run = np.searchsorted(x[0::2], np.asarray(frames, dtype=float), side="right") - 1
    return y[0::2][run]


def click_frame(qtbot, widget: TimelineWidget, frame: float, plot=None) -> None:
    plot = plot or widget.view.au_plot
    settle()
    scene = plot.vb.mapViewToScene(QPointF(frame, 1.5))
    qtbot.mouseClick(widget.view.viewport(), Qt.MouseButton.LeftButton,
                     pos=widget.view.mapFromScene(scene))


def test_raster_shows_the_coded_cells(qtbot, timeline, hrm, shoot) -> None:
    # the child whose file has the most lateral codes among the 22 AUs
    tables = {c.name: read_child_csv(hrm.sample, c.name) for c in hrm.sample.children}
    child = max(tables, key=lambda c: (tables[c][list(HRM_AU22)] >= 2).to_numpy().sum())
    t = tables[child]
    timeline.load_child(child)
    assert timeline.rows == HRM_AU22
    labels = [text for _, text in timeline.view.au_plot.getAxis("left")._tickLevels[0]]
    assert labels == list(HRM_AU22)
    cells = t[list(HRM_AU22)].to_numpy()
    checked = 0
    for code in (1, 2, 3, 4, 5):
        hits = np.argwhere(cells == code)
        if not len(hits):
            continue
        k, row = hits[len(hits) // 2]
        frame = int(t["frame"].iloc[k])
        timeline.zoom_to(frame - 6, frame + 6)  # cells many pixels wide
        upper = screen_pixel(timeline, timeline.view.au_plot, frame, row + 0.35)
        lower = screen_pixel(timeline, timeline.view.au_plot, frame, row + 0.85)
        colour = raster.CODE_COLOURS[code][:3]
        white = raster.WHITE[:3]
        expect = {1: (colour, colour), 2: (colour, colour), 3: (colour, colour),
                  4: (colour, white), 5: (white, colour)}[code]
        assert (upper, lower) == expect, (code, HRM_AU22[row], frame)
        checked += 1
    assert checked >= 3
    absent = np.argwhere(cells == 0)[len(cells) // 2]
    frame = int(t["frame"].iloc[absent[0]])
    timeline.zoom_to(frame - 6, frame + 6)
    assert screen_pixel(timeline, timeline.view.au_plot, frame, absent[1] + 0.6) == raster.WHITE[:3]
    timeline.zoom_all()
    shoot(timeline, f"hrm_timeline_{child}")


def test_gaps_edges_raters_and_flag(timeline, hrm) -> None:
    # curves are checked on the data they were given (xData/yData): getData() is the
    # part clipped to the view and downsampled
    t = read_child_csv(hrm.sample, "S2")  # rows written out of frame order
    timeline.load_child("S2")
    segs = t.groupby("segment")["frame"].agg(["min", "max"])
    edges = sorted({v for a, b in segs.itertuples(index=False) for v in (a - 0.5, b + 0.5)})
    for item in timeline.view.edges[:1] + timeline.view.edges[2:]:
        x = item.xData
        assert sorted(set(x.tolist())) == edges
    # a gap column is hatched grey on screen, in the middle of the first gap
    gap = (segs["max"].iloc[0] + segs["min"].iloc[1]) / 2
    timeline.zoom_to(int(gap) - 3, int(gap) + 3)
    shown = screen_pixel(timeline, timeline.view.au_plot, int(gap), 0.6)
    assert shown in {raster.GAP_LIGHT[:3], raster.GAP_DARK[:3]}
    # rater step curves hold each rater's level over its frame (drawn a little apart)
    mid = t.iloc[len(t) // 3]
    for j, (curve, rater) in enumerate(zip(timeline.view.rater_curves, HRM_RATERS, strict=True)):
        assert step_value(curve, mid["frame"]) == pytest.approx(mid[rater] + RATER_OFFSETS[j])
    mean = step_value(timeline.view.mean_curve, t["frame"].to_numpy())
    np.testing.assert_allclose(mean, t["atypicality"])
    gaps = np.setdiff1d(np.arange(t["frame"].min(), t["frame"].max() + 1), t["frame"])
    assert len(gaps) and np.isnan(step_value(timeline.view.mean_curve, gaps)).all()
    # ASD flag strip: dark where the file's ASD column is 1
    flag = timeline.view.asd_image.image[2]
    cols = t["frame"] - t["frame"].min()
    on = np.all(flag[cols] == raster.ASD_ON, axis=1)
    np.testing.assert_array_equal(on, t["ASD"] == 1)


def test_click_drag_keys_move_the_cursor(qtbot, timeline, hrm) -> None:
    timeline.load_child("S1")
    t = read_child_csv(hrm.sample, "S1")
    target = int(t["frame"].iloc[100])
    timeline.zoom_to(target - 20, target + 20)
    with qtbot.waitSignal(timeline.cursor_moved, timeout=2000) as blocker:
        click_frame(qtbot, timeline, target)
    assert blocker.args == [target] and timeline.cursor == target
    assert all(line.value() == target for line in timeline.view.cursors)
    assert timeline.readout.text().startswith(f"Frame {target} · segment ")
    # clicks in the tracks below move it too
    with qtbot.waitSignal(timeline.cursor_moved, timeout=2000) as blocker:
        click_frame(qtbot, timeline, target + 3, timeline.view.atyp_plot)
    assert blocker.args == [target + 3]
    # following the frame viewer never echoes back
    with qtbot.assertNotEmitted(timeline.cursor_moved):
        timeline.set_cursor(target + 7)
    assert timeline.cursor == target + 7
    timeline.setFocus()
    with qtbot.waitSignal(timeline.cursor_moved, timeout=2000) as blocker:
        qtbot.keyClick(timeline, Qt.Key.Key_Right)
    assert blocker.args == [target + 8]
    with qtbot.waitSignal(timeline.cursor_moved, timeout=2000) as blocker:
        qtbot.keyClick(timeline, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert blocker.args == [target - 2]
    # dragging the cursor line emits the newest frame, rate-limited
    with qtbot.waitSignal(timeline.cursor_moved, timeout=2000) as blocker:
        for f in range(target, target + 6):
            timeline.view.cursors[0].setValue(f)
    assert blocker.args == [target + 5]
    # a cursor set outside the view scrolls the view to it
    far = int(t["frame"].iloc[-5])
    timeline.set_cursor(far)
    lo, hi = timeline.visible_frames()
    assert lo <= far <= hi


def test_toggles_and_zoom(timeline, hrm, shoot) -> None:
    timeline.load_child("S1")
    assert timeline.view.au_image.image.shape[0] == len(HRM_AU22) * raster.SUB
    timeline.all_aus.click()
    assert timeline.rows == HRM_AU_COLUMNS
    assert timeline.view.au_image.image.shape[0] == len(HRM_AU_COLUMNS) * raster.SUB
    labels = [text for _, text in timeline.view.au_plot.getAxis("left")._tickLevels[0]]
    assert labels == list(HRM_AU_COLUMNS)
    settle()
    assert timeline.view.au_plot.viewRange()[1] == [0, len(HRM_AU_COLUMNS)]  # every row
    n_of = len(timeline.view.of_rows)
    assert "AU5" in timeline.view.of_rows and timeline.view.of_plot.viewRange()[1] == [0, n_of]
    shoot(timeline, "hrm_timeline_36")
    timeline.all_aus.click()
    assert timeline.rows == HRM_AU22
    start, end = hrm.sample.child("S1").segments[1]
    timeline.zoom_to(start, end)
    lo, hi = timeline.visible_frames()
    assert lo <= start - 0.5 < start + 1 and end - 1 < end + 0.5 <= hi
    assert hi - lo < 1.1 * (end - start + 1)


def test_openface_curves_under_the_rows(timeline, hrm) -> None:
    of = hrm.openface.files[0]
    timeline.load_child(of.child)
    assert timeline.openface_box.isEnabled() and timeline.view.of_plot.isVisible()
    raw = pd.read_csv(of.path, skipinitialspace=True)
    rows = timeline.view.of_rows
    assert rows == tuple(a for a in HRM_AU22 if a in {"AU1", "AU2", "AU4", "AU6", "AU7", "AU9",
                                                      "AU10", "AU12", "AU14", "AU15", "AU17",
                                                      "AU20", "AU23", "AU25", "AU2X"})
    n = len(rows)
    ok = raw["success"].to_numpy() == 1
    for au, of_name in (("AU12", "AU12"), ("AU2X", "AU26")):
        item = timeline.view.of_curves[au]
        assert item.isVisible()
        expect = openface_row_y(raw[f"{of_name}_r"].to_numpy(), n - 1 - rows.index(au))
        np.testing.assert_allclose(item.yData[ok], expect[ok], err_msg=au)
        assert np.isnan(item.yData[~ok]).all()
        np.testing.assert_array_equal(item.xData, raw["frame"] - 1)
    assert not timeline.view.of_curves["AU5"].isVisible()  # AU5 is not among the 22
    timeline.openface_box.click()
    assert not timeline.view.of_plot.isVisible()
    no_of = next(c.name for c in hrm.sample.children
                 if c.name not in {f.child for f in hrm.openface.files})
    timeline.load_child(no_of)
    assert not timeline.openface_box.isEnabled() and not timeline.view.of_plot.isVisible()


def test_child_without_media_and_beyond_video(timeline, hrm, shoot) -> None:
    timeline.load_child("S68")
    assert timeline.scroll.isVisible() and not timeline.message.isVisible()
    assert "No video and no frames folder" in timeline.notice.text()
    assert timeline.view.au_image.image.shape[1] == (hrm.sample.child("S68").last_frame
                                                - hrm.sample.child("S68").segments[0][0] + 1)
    shoot(timeline, "hrm_timeline_no_media")
    timeline.load_child("S4")
    t = read_child_csv(hrm.sample, "S4")
    video = hrm.sample.child("S4").last_frame + 1 - 19
    beyond = int((t["frame"] >= video).sum())
    assert f"{beyond} labelled frames lie beyond the video's {video} frames" in (
        timeline.notice.text())
    assert all(r.isVisible() for r in timeline.view.beyond)
    assert timeline.view.beyond[0].getRegion() == (video - 0.5, t["frame"].max() + 0.5)
    timeline.set_cursor(int(t["frame"].max()))
    assert timeline.readout.text().endswith("beyond the video")
    shoot(timeline, "hrm_timeline_beyond_video")


def test_empty_and_unknown(sessions, qtbot, tmp_path) -> None:
    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.attach(None)
    assert "Import it with" in widget.message.text()
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    widget.attach(sessions(con))
    assert "faceexplorer index add hrm" in widget.message.text()
    con.close()


# --- navigator -----------------------------------------------------------------------

@pytest.fixture
def navigator(sessions, qtbot, con) -> HRMNavigator:
    widget = HRMNavigator()
    qtbot.addWidget(widget)
    widget.resize(520, 800)
    widget.show()
    qtbot.waitExposed(widget)
    widget.attach(sessions(con))
    return widget


def test_navigator_children_and_segments(qtbot, navigator, hrm) -> None:
    tables = {c.name: read_child_csv(hrm.sample, c.name) for c in hrm.sample.children}
    for grp, children in (("ASD", ["S1", "S2", "S3", "S4"]), ("TD", ["S67", "S68"])):
        top = navigator.group_item(grp)
        assert top is not None and top.text(0) == f"{grp} ({len(children)} children)"
        assert [top.child(i).text(0) for i in range(top.childCount())] == children
        assert top.text(1) == f"{sum(len(tables[c]) for c in children):,}"
        assert top.text(2) == str(sum(tables[c]["segment"].max() for c in children))
    item = navigator.child_item("S4")
    assert item.text(1) == f"{len(tables['S4']):,}"
    assert item.text(3) == f"{tables['S4']['atypicality'].mean():.2f}"
    assert "beyond video" in item.text(4)
    assert navigator.child_item("S68").text(4) == "none"
    rect = navigator.tree.visualItemRect(navigator.child_item("S2"))
    with qtbot.waitSignal(navigator.child_selected, timeout=2000) as blocker:
        qtbot.mouseClick(navigator.tree.viewport(), Qt.MouseButton.LeftButton,
                         pos=rect.center())
    assert blocker.args == ["S2"]
    t = tables["S2"]
    segs = t.groupby("segment")["frame"].agg(["min", "max", "size"])
    model = navigator.segment_model
    assert model.rowCount() == len(segs)
    assert [model.data(model.index(r, 1)) for r in range(len(segs))] == [
        f"{v:,}" for v in segs["min"]]
    table = navigator.segment_table
    rect = table.visualRect(model.index(1, 0))
    with qtbot.waitSignal(navigator.segment_selected, timeout=2000) as blocker:
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == ["S2", int(segs["min"].iloc[1]), int(segs["max"].iloc[1])]


def test_navigator_segment_search(qtbot, navigator, hrm, shoot) -> None:
    tables = {c.name: read_child_csv(hrm.sample, c.name) for c in hrm.sample.children}
    total = sum(t["segment"].max() for t in tables.values())
    assert navigator.hits_label.text() == f"{total} of {total} segments"
    navigator.tabs.setCurrentIndex(1)
    navigator.group_combo.setCurrentText("ASD")
    for i in range(navigator.au_list.count()):
        if navigator.au_list.item(i).text() in ("AU12", "AU43"):
            navigator.au_list.item(i).setCheckState(Qt.CheckState.Checked)
    navigator.min_atyp.setValue(1.0)
    navigator.min_len.setValue(30)
    qtbot.waitUntil(lambda: not navigator._filter_timer.isActive(), timeout=2000)
    expect = []
    for child, t in tables.items():
        if child in ("S67", "S68"):
            continue
        g = t.groupby("segment")
        seg = pd.DataFrame({"start": g["frame"].min(), "n": g.size(),
                            "atyp": g["atypicality"].mean(),
                            "au": (t[["AU12", "AU43"]] != 0).any(axis=1).groupby(
                                t["segment"]).any()})
        keep = seg[(seg["au"]) & (seg["atyp"] >= 1.0) & (seg["n"] >= 30)]
        expect += [(child, int(s)) for s in keep["start"]]
    model = navigator.hit_model
    assert sorted((s.child, s.start_frame) for s in model.segments) == sorted(expect)
    assert navigator.hits_label.text() == f"{len(expect)} of {total} segments"
    assert expect, "the filter should leave something to click"
    shoot(navigator, "hrm_navigator_search")
    rect = navigator.hit_table.visualRect(model.index(0, 0))
    first = model.segments[0]
    with qtbot.waitSignal(navigator.segment_selected, timeout=2000) as blocker:
        qtbot.mouseClick(navigator.hit_table.viewport(), Qt.MouseButton.LeftButton,
                         pos=rect.center())
    assert blocker.args == [first.child, first.start_frame, first.end_frame]
    assert navigator.child == first.child


def test_navigator_drives_the_timeline(sessions, qtbot, con, hrm, shoot) -> None:
    """Wired as the main window will wire them: child -> load, segment -> zoom."""
    box = QWidget()
    qtbot.addWidget(box)
    nav, tl = HRMNavigator(box), TimelineWidget(box)
    layout = QHBoxLayout(box)
    layout.addWidget(nav, 1)
    layout.addWidget(tl, 3)
    nav.child_selected.connect(tl.load_child)
    nav.segment_selected.connect(lambda child, a, b: (tl.zoom_to(a, b), tl.set_cursor(a)))
    box.resize(1800, 950)
    box.show()
    qtbot.waitExposed(box)
    nav.attach(sessions(con))
    tl.attach(sessions(con))
    nav.select_child("S3")
    assert tl.timeline is not None and tl.timeline.child == "S3"
    start, end = hrm.sample.child("S3").segments[2]
    table = nav.segment_table
    rect = table.visualRect(nav.segment_model.index(2, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    lo, hi = tl.visible_frames()
    assert lo < start < end < hi and tl.cursor == start
    qtbot.mouseClick(tl.view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(5, 5))
    shoot(box, "hrm_navigator_and_timeline")


def test_model_rows_under_the_coders(sessions, qtbot, hrm, tmp_path, shoot) -> None:
    """A stored AU run for S1: its raster cells, the toggle and F1/kappa vs pandas."""
    import shutil

    from faceexplorer.index import predictions as pr

    db = tmp_path / "runs.duckdb"
    shutil.copy(hrm.db, db)
    labels = ("AU1", "AU12", "AU25", "AU99")  # AU99: no HRM column
    t = read_child_csv(hrm.sample, "S1").sort_values("frame").reset_index(drop=True)
    rng = np.random.default_rng(5)
    # noisy copies of the coders' cells, so F1 and kappa are neither 0 nor 1
    probs = pd.DataFrame({a: np.clip((t[a] != 0) * 0.4 + rng.uniform(0, 0.6, len(t)), 0, 1)
                          for a in labels[:3]})
    probs["AU99"] = 0.3
    skipped = set(t["frame"].iloc[::7])  # frames without a prediction
    rows = [{"dataset": "hrm", "item": f"S1/{f}", "child": "S1", "frame": int(f),
             "valid": True, "aus": [float(probs.loc[k, a]) for a in labels]}
            for k, f in enumerate(t["frame"]) if f not in skipped]
    con = duckdb.connect(str(db))
    run_id, _ = pr.start_run(con, "ab" * 32, "/models/tiny-au.onnx",
                             {"name": "tiny-au", "outputs": [{"kind": "au", "threshold": 0.5}]},
                             "hrm", labels, len(rows))
    pr.write_chunk(con, run_id, [dict(r, run_id=run_id) for r in rows])
    con.close()
    ro = duckdb.connect(str(db), read_only=True)
    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.resize(1400, 1000)
    widget.show()
    qtbot.waitExposed(widget)
    try:
        widget.attach(sessions(ro))
        widget.load_child("S1")
        view = widget.view
        assert view.model_plot.isVisible() and widget.model_table.isVisible()
        assert view.model_rows == ("AU1", "AU12", "AU25")  # the coders' order, AU99 left out
        first = int(t["frame"].iloc[0])
        image = view.model_image.image
        for au in view.model_rows:
            r = view.model_rows.index(au)
            for k in (1, 2, 7, len(t) // 2):
                f = int(t["frame"].iloc[k])
                cell = image[r * raster.SUB + 2, f - first]
                if f in skipped:
                    assert tuple(cell) == raster.NO_PREDICTION
                else:
                    grey = round(255 * (1 - probs.loc[k, au]))
                    assert tuple(cell[:3]) == (grey,) * 3
        # F1 and kappa recomputed with pandas over the predicted frames
        kept = ~t["frame"].isin(skipped)
        for au in view.model_rows:
            h, m = (t.loc[kept, au] != 0), (probs.loc[kept, au] >= 0.5)
            tp, fp = int((h & m).sum()), int((~h & m).sum())
            fn, tn = int((h & ~m).sum()), int((~h & ~m).sum())
            n = tp + fp + fn + tn
            f1 = 2 * tp / (2 * tp + fp + fn)
            po = (tp + tn) / n
            pe = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / n ** 2
            kappa = (po - pe) / (1 - pe)
            assert widget.agreement_cells[au] == (f"{f1:.2f}", f"{kappa:.2f}")
        assert f"{int(kept.sum()):,} frames compared" in widget.model_table.text()
        shoot(widget, "hrm_timeline_model_rows")
        # thresholded: present blue where p >= 0.5
        widget.threshold_box.setChecked(True)
        k = next(k for k in range(len(t)) if t["frame"].iloc[k] not in skipped
                 and probs.loc[k, "AU12"] >= 0.5)
        cell = view.model_image.image[1 * raster.SUB + 2, int(t["frame"].iloc[k]) - first]
        assert tuple(cell) == raster.CODE_COLOURS[1]
        widget.model_box.setChecked(False)
        assert not view.model_plot.isVisible()
        # a child the run does not cover: no model controls
        widget.load_child("S4")
        assert not view.model_plot.isVisible() and not widget.model_table.isVisible()
        assert not widget.model_box.isVisible()
    finally:
        widget.attach(None)
        ro.close()
