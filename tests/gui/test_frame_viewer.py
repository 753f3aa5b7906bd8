"""The HRM frame viewer driven as a user would: keys, buttons, scrubbing, playback, absences."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QObject, Qt, Signal

from faceexplorer.datasets.registry import import_path
from faceexplorer.gui.hrm.frame_viewer import FrameViewer, format_time
from faceexplorer.index import hrm_query
from faceexplorer.index.store import connect
from faceexplorer.samples.hrm import HRMSample, write_hrm


@pytest.fixture(scope="module")
def hrm(tmp_path_factory: pytest.TempPathFactory) -> tuple[HRMSample, Path]:
    root = tmp_path_factory.mktemp("hrm-viewer")
    sample = write_hrm(root, "small", np.random.default_rng(7), images=True)
    db = root / "index.duckdb"
    import_path(db, sample.root, "hrm")
    return sample, db


@pytest.fixture
def con(hrm):
    con = connect(hrm[1], read_only=True)
    yield con
    con.close()


@pytest.fixture
def viewer(sessions, qtbot, con):
    """A shown viewer on the sample index; ``viewer.displayed`` lists frames drawn."""
    v = FrameViewer()
    qtbot.addWidget(v)
    v.resize(560, 520)
    v.displayed = []
    v.frame_displayed.connect(v.displayed.append)
    v.shown = []
    v.frame_shown.connect(v.shown.append)
    v.attach(sessions(con))
    v.show()
    qtbot.waitExposed(v)
    return v


def wait_displayed(qtbot, viewer: FrameViewer, frame: int) -> None:
    qtbot.waitUntil(lambda: bool(viewer.displayed) and viewer.displayed[-1] == frame, timeout=5000)


def jpeg(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_opens_a_child_on_its_first_labelled_frame(qtbot, viewer, hrm, shoot) -> None:
    sample = hrm[0]
    child = sample.child("S1")
    viewer.load_child("S1")
    first = child.segments[0][0]
    wait_displayed(qtbot, viewer, first)
    assert viewer.frame == first and viewer.slider.value() == first
    assert viewer.slider.minimum() == 0 and viewer.slider.maximum() == child.video_frames - 1
    assert np.array_equal(viewer.canvas.rgb, jpeg(child.frames_dir / f"{first}_0.jpg"))
    assert viewer.stack.currentWidget() is viewer.canvas
    assert viewer.title.text() == "S1 (ASD)"
    text = viewer.position.text()
    assert f"frame {first}" in text and "0:00.48" in text and "segment 1 of 6" in text
    assert viewer.origin.text() == "from the frames folder"
    assert not viewer.notice.isVisible()
    # The worker scaled the frame for the canvas as it is now (after the first layout).
    qtbot.waitUntil(viewer.canvas.is_sharp, timeout=5000)
    shoot(viewer, "frame_viewer_S1")


def test_keys_and_buttons_step_and_tell_the_timeline(qtbot, viewer, hrm) -> None:
    child = hrm[0].child("S1")
    viewer.load_child("S1")
    start = child.segments[0][0]
    wait_displayed(qtbot, viewer, start)
    viewer.setFocus()
    qtbot.keyClick(viewer, Qt.Key.Key_Right)
    assert viewer.frame == start + 1 and viewer.shown == [start + 1]
    qtbot.keyClick(viewer, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert viewer.frame == start + 11
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    assert viewer.frame == start + 10
    viewer.n_spin.setValue(25)
    qtbot.mouseClick(viewer.fwd_n, Qt.MouseButton.LeftButton)
    assert viewer.frame == start + 35
    qtbot.mouseClick(viewer.back_1, Qt.MouseButton.LeftButton)
    assert viewer.frame == start + 34
    qtbot.keyClick(viewer, Qt.Key.Key_End)
    assert viewer.frame == child.video_frames - 1
    qtbot.keyClick(viewer, Qt.Key.Key_Home)
    assert viewer.frame == 0
    assert viewer.shown == [start + 1, start + 11, start + 10, start + 35, start + 34,
                            child.video_frames - 1, 0]
    wait_displayed(qtbot, viewer, 0)
    # Frame 0 comes before the first segment: the video shows it.
    assert "before segment 1" in viewer.position.text()
    assert viewer.origin.text() == "from the video"
    # The slider moved by the user tells the timeline too; set_frame (from it) does not.
    viewer.slider.setValue(70)
    assert viewer.frame == 70 and viewer.shown[-1] == 70
    viewer.set_frame(90)
    assert viewer.frame == 90 and viewer.shown[-1] == 70 and viewer.slider.value() == 90


class StandInTimeline(QObject):
    """The timeline's contract: ``cursor_moved`` out, ``set_cursor`` in (never emits)."""

    cursor_moved = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.cursor: int | None = None

    def set_cursor(self, frame: int) -> None:
        self.cursor = frame


def test_syncs_both_ways_with_the_timeline(qtbot, viewer) -> None:
    timeline = StandInTimeline()
    timeline.cursor_moved.connect(viewer.set_frame)
    viewer.frame_shown.connect(timeline.set_cursor)
    viewer.load_child("S2")
    timeline.cursor_moved.emit(150)
    assert viewer.frame == 150 and viewer.slider.value() == 150
    wait_displayed(qtbot, viewer, 150)
    viewer.step(3)
    assert timeline.cursor == 153


def test_scrubbing_decodes_only_the_newest_request(qtbot, viewer, hrm) -> None:
    child = hrm[0].child("S3")
    viewer.load_child("S3")
    wait_displayed(qtbot, viewer, child.segments[0][0])
    requests, decodes = viewer.loader.requests, viewer.loader.decodes
    wanted = list(range(5, 305))
    for frame in wanted:            # as fast as a mouse drag can ask: no event loop between
        viewer.set_frame(frame)
    last = wanted[-1]
    wait_displayed(qtbot, viewer, last)
    made = viewer.loader.decodes - decodes
    # (a resize may add one request of its own: the frame again, at the new size)
    assert 300 <= viewer.loader.requests - requests <= 302
    assert made < 60, f"{made} decodes for 300 requests"
    assert viewer.frame == last
    # What is on screen is frame 304 itself.
    expected = viewer.source.frame(last)
    assert np.array_equal(viewer.canvas.rgb, expected.rgb)
    qtbot.wait(100)
    assert viewer.displayed[-1] == last


def test_play_advances_and_pause_stops(qtbot, viewer) -> None:
    viewer.load_child("S67")
    start = viewer.frame
    wait_displayed(qtbot, viewer, start)
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    assert viewer.playing and viewer.timer.interval() == 40
    assert viewer.play_button.text() == "⏸ Pause"
    qtbot.waitUntil(lambda: viewer.frame >= start + 8, timeout=5000)
    assert viewer.shown and viewer.shown == sorted(viewer.shown)
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    assert not viewer.playing
    stopped = viewer.frame
    qtbot.wait(250)
    assert viewer.frame == stopped
    # A step pauses playback too.
    viewer.play()
    qtbot.waitUntil(lambda: viewer.frame > stopped, timeout=5000)
    viewer.step(1)
    assert not viewer.playing


def test_child_without_media_names_what_is_missing(qtbot, viewer, shoot) -> None:
    viewer.load_child("S68")
    qtbot.waitUntil(lambda: bool(viewer.displayed), timeout=5000)
    assert viewer.stack.currentWidget() is viewer.placeholder
    assert viewer.placeholder.text() == ("S68 has no frames folder (origin/S68/) and no video "
                                         "(S68.mp4) in the index")
    assert "segment 1 of 6" in viewer.position.text()
    shoot(viewer, "frame_viewer_S68_no_media")


def test_moved_frames_folder_and_video_are_named(qtbot, viewer, con, tmp_path, shoot) -> None:
    tl = hrm_query.child_timeline(con, "S1", aus=(), openface=False)
    folder, video = tmp_path / "origin" / "S1", tmp_path / "videos" / "S1.mp4"
    viewer.set_timeline(dataclasses.replace(tl, frames_dir=str(folder), video_path=str(video)))
    wait_displayed(qtbot, viewer, tl.first_frame)
    text = viewer.placeholder.text()
    assert f"frames folder not found: {folder}" in text and f"video not found: {video}" in text
    assert viewer.isEnabled() and viewer.slider.isEnabled()
    # Only the video gone: labelled frames still come from the folder, gaps name the file.
    viewer.displayed.clear()
    viewer.set_timeline(dataclasses.replace(tl, video_path=str(video)))
    wait_displayed(qtbot, viewer, tl.first_frame)
    assert viewer.stack.currentWidget() is viewer.canvas
    gap = tl.segments[0][1] + 1
    viewer.set_frame(gap)
    wait_displayed(qtbot, viewer, gap)
    assert viewer.stack.currentWidget() is viewer.placeholder
    assert f"{Path(tl.frames_dir) / f'{gap}_0.jpg'} is missing" in viewer.placeholder.text()
    shoot(viewer, "frame_viewer_missing_file")


def test_labels_beyond_the_video_are_flagged(qtbot, viewer, con, hrm, shoot) -> None:
    child = hrm[0].child("S4")
    viewer.load_child("S4")
    end = child.video_frames
    assert viewer.slider.maximum() == child.last_frame
    viewer.set_frame(end - 1)
    wait_displayed(qtbot, viewer, end - 1)
    assert not viewer.notice.isVisible()
    viewer.set_frame(child.last_frame)
    wait_displayed(qtbot, viewer, child.last_frame)
    assert viewer.notice.isVisible()
    assert viewer.notice.text().startswith(
        f"Frame {child.last_frame} is beyond the end of the video ({end} frames)")
    # The coders' JPEG still shows; the flag says the video has no such frame.
    assert viewer.stack.currentWidget() is viewer.canvas
    shoot(viewer, "frame_viewer_S4_beyond_video")
    tl = hrm_query.child_timeline(con, "S4", aus=(), openface=False)
    viewer.displayed.clear()
    viewer.set_timeline(dataclasses.replace(tl, frames_dir=None))
    viewer.set_frame(child.last_frame)
    wait_displayed(qtbot, viewer, child.last_frame)
    assert viewer.placeholder.text().startswith(
        f"frame {child.last_frame} is beyond the end of the video ({end} frames)")
    shoot(viewer, "frame_viewer_S4_beyond_video_only")


def test_video_first_and_closing_the_index(qtbot, viewer) -> None:
    viewer.load_child("S2")
    frame = viewer.frame
    wait_displayed(qtbot, viewer, frame)
    viewer.displayed.clear()
    viewer.prefer.setCurrentIndex(1)
    wait_displayed(qtbot, viewer, frame)
    assert viewer.frame == frame and viewer.origin.text() == "from the video"
    viewer.attach(None)
    assert viewer.placeholder.text() == "No Hugging Rain Man data in this index."
    assert not viewer.play_button.isEnabled() and viewer.timeline is None
    viewer.set_frame(12)                    # a stale timeline signal: ignored
    assert viewer.frame is None


def test_the_video_is_opened_by_the_worker(qtbot, viewer, hrm, monkeypatch) -> None:
    """Opening a child leaves the video's open (probe + decodes) to the loader's worker (a
    thread of the window's task runner, not the GUI thread);
    a frame rate other than HRM's 25 fps corrects the time shown once it is known."""
    import threading

    from faceexplorer.gui.hrm import frame_loader
    from faceexplorer.media.frames import ChildFrames

    opened_on: list[str] = []

    class FiftyFps(ChildFrames):
        def __init__(self, *args, **kwargs) -> None:
            opened_on.append(threading.current_thread().name)
            super().__init__(*args, **kwargs)
            self.fps = 50.0

    monkeypatch.setattr(frame_loader, "ChildFrames", FiftyFps)
    viewer.prefer.setCurrentIndex(1)        # video first
    viewer.load_child("S2")
    frame = viewer.frame
    assert frame > 0            # so that 25 and 50 fps give different times
    # described before the worker could answer: at HRM's 25 fps, not yet the video's
    assert f"frame {frame}  ·  {format_time(frame / 25.0)}" in viewer.position.text()
    wait_displayed(qtbot, viewer, frame)
    assert len(opened_on) == 1 and opened_on[0] != threading.main_thread().name
    assert opened_on[0].startswith("faceexplorer-task")
    assert viewer.origin.text() == "from the video"
    assert viewer.source.fps == 50.0
    assert f"frame {frame}  ·  {format_time(frame / 50.0)}" in viewer.position.text()
