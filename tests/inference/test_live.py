"""Live sessions: a video standing in for the camera, newest-frame model, recording, bad input."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import cv2
import duckdb
import numpy as np
import pytest

from faceexplorer.core import vocab
from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.inference.detect import DetectorUnavailable, HaarFaceDetector
from faceexplorer.inference.live import LiveSession, open_live
from faceexplorer.inference.overlay import BOX, draw_overlay
from faceexplorer.inference.pipeline import Pipeline
from faceexplorer.inference.recording import columns_for, import_recording, read_recording
from faceexplorer.inference.session import ModelLoadError, open_model
from faceexplorer.inference.sources import CameraSource, CameraUnavailable, VideoFileSource
from faceexplorer.samples.drawing import draw_face, params_for_expression

N_FRAMES = 24


def write_face_video(path: Path, n: int = N_FRAMES, fps: float = 25.0) -> Path:
    """MJPEG video of one drawn face Haar finds, shifted a little each frame."""
    rng = np.random.default_rng(3)
    face = None
    for _ in range(20):
        face = draw_face(params_for_expression("happy", 0.8, rng), rng).image
        if HaarFaceDetector().detect(face):
            break
    assert face is not None
    h, w = face.shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w + 40, h))
    for i in range(n):
        frame = np.full((h, w + 40, 3), 90, np.uint8)
        x = i % 40
        frame[:, x:x + w] = face
        out.write(frame)
    out.release()
    return path


@pytest.fixture(scope="module")
def face_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_face_video(tmp_path_factory.mktemp("live") / "face.avi")


class SlowSession:
    """An onnxruntime session that sleeps before each run (a model slower than the video)."""

    def __init__(self, inner, delay_s: float, fail_after: int | None = None) -> None:
        self.inner, self.delay_s, self.fail_after, self.runs = inner, delay_s, fail_after, 0

    def run(self, names, feed):
        self.runs += 1
        if self.fail_after is not None and self.runs > self.fail_after:
            raise RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : simulated")
        time.sleep(self.delay_s)
        return self.inner.run(names, feed)


def _collect(session: LiveSession) -> tuple[list, list, list]:
    frames, preds, ends = [], [], []
    session.on_frame, session.on_prediction, session.on_end = \
        frames.append, preds.append, ends.append
    return frames, preds, ends


def test_camera_rate_display_and_every_prediction_drawn(models: dict[str, Path],
                                                        face_video: Path) -> None:
    cam = CameraSource(0, retry_s=0.001, opener=lambda _i: cv2.VideoCapture(str(face_video)))
    session = open_live(cam, models["va"], detector="haar", lockstep=True)
    frames, preds, ends = _collect(session)
    session.start()
    assert session.join(timeout=30)
    assert len(frames) == N_FRAMES and session.stats.frames_modelled == N_FRAMES
    assert session.stats.dropped == 0 and len(ends) == 1
    assert "camera 0 stopped delivering frames after 24" in ends[0]
    found = [p for p in preds if p.predictions]
    assert len(found) >= N_FRAMES - 2
    last = found[-1].predictions[0]
    assert set(last.expression) == set(vocab.EXPRESSIONS) and last.valence is not None
    # What is shown is the frame with the newest prediction drawn by draw_overlay.
    shown = frames[-1]
    expected = draw_overlay(shown.frame.image, shown.prediction.predictions)
    assert np.array_equal(shown.overlay, expected)
    x, y, w, h = (int(round(v)) for v in shown.prediction.predictions[0].box)
    assert tuple(shown.overlay[y + h // 2, x]) == BOX  # left edge of the box
    # Nothing is drawn over the face: inside the box the frame is as it was read (the
    # bars, V-A and AUs are in the window's panel); one small label sits above the box.
    inside = (slice(y + 3, y + h - 2), slice(x + 3, x + w - 2))
    assert np.array_equal(shown.overlay[inside], shown.frame.image[inside])


def test_slow_model_takes_only_newest_frames(models: dict[str, Path], face_video: Path) -> None:
    model = open_model(models["logits8"])
    model.session = SlowSession(model.session, delay_s=0.15)
    session = LiveSession(VideoFileSource(face_video), Pipeline(model, HaarFaceDetector()))
    frames, preds, _ = _collect(session)
    session.start()
    assert session.join(timeout=30)
    stats = session.stats
    # 24 frames at 25 fps take ~1 s; a 150 ms model can answer only a handful of them.
    assert len(frames) == N_FRAMES == stats.frames_read
    assert stats.frames_modelled <= N_FRAMES // 3
    assert stats.dropped == stats.frames_read - stats.frames_modelled
    indices = [p.frame_index for p in preds]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    assert indices[0] == 0
    # Boxes lag: a frame shows the prediction of an earlier (or the same) frame.
    assert all(f.prediction is None or f.prediction.frame_index <= f.frame.index
               for f in frames)
    assert session.end_reason == f"end of video ({N_FRAMES} frames)"


def test_recording_csv_kept_after_model_error(models: dict[str, Path], face_video: Path,
                                              tmp_path: Path) -> None:
    model = open_model(models["va"])
    model.session = SlowSession(model.session, delay_s=0.0, fail_after=5)
    session = LiveSession(VideoFileSource(face_video), Pipeline(model, HaarFaceDetector()),
                          lockstep=True, pace=False)
    _, preds, ends = _collect(session)
    csv_path = session.start_recording(tmp_path / "rec" / "session1.csv")
    session.start()
    assert session.join(timeout=30)
    assert ends[0].startswith("the model failed at frame 5:")
    assert "simulated" in ends[0] and "predictions recorded so far are kept" in ends[0]
    with csv_path.open() as f:
        rows = list(csv.DictReader(f))
    recorded = [p for lp in preds for p in lp.predictions]
    assert len(rows) == len(recorded) == len(session.recorded) > 0
    assert list(rows[0]) == columns_for(model.card)
    for row, p in zip(rows, recorded, strict=True):
        assert int(row["frame_index"]) == p.frame_index
        assert float(row["valence"]) == pytest.approx(p.valence, rel=1e-5)
        assert float(row["expr_happy"]) == pytest.approx(p.expression["happy"], rel=1e-5)
    meta = json.loads(csv_path.with_suffix(".json").read_text())
    assert meta["model_sha256"] == model.sha256 and meta["predictions"] == len(rows)
    assert meta["end_reason"] == ends[0]
    # The source is stored as what it is: the video's path (the Analyses tab shows its
    # frames again), and what the window called it.
    assert meta["source"] == str(face_video.resolve())
    assert meta["source_label"] == "Video: face.avi (25.0 fps)" and meta["every_frame"]
    # ... and into the index as a session of its own.
    db = tmp_path / "index.duckdb"
    assert import_recording(db, csv_path) == len(rows)
    assert import_recording(db, csv_path) == len(rows)  # re-import replaces
    con = duckdb.connect(str(db), read_only=True)
    n, happy = con.execute("SELECT count(*), avg(expression['happy']) FROM live_predictions "
                           "WHERE session_id = 'session1'").fetchone()
    sha, end = con.execute("SELECT model_sha256, end_reason FROM live_sessions").fetchone()
    con.close()
    assert n == len(rows) and sha == model.sha256 and end == ends[0]
    assert happy == pytest.approx(np.mean([p.expression["happy"] for p in recorded]), rel=1e-5)


def test_crash_cut_recording_still_reads(tmp_path: Path, models: dict[str, Path],
                                         face_video: Path) -> None:
    session = open_live(face_video, models["logits8"], detector="none", lockstep=True,
                        pace=False)
    path = session.start_recording(tmp_path / "cut.csv")
    session.start()
    assert session.join(timeout=30)
    text = path.read_text()
    path.write_text(text[: len(text) - 40])  # as if the process died mid-row
    meta, rows = read_recording(path)
    assert 0 < len(rows) < len(session.recorded)
    assert any("incomplete row" in w for w in meta.get("warnings", []))


def test_truncated_video_ends_with_reason(models: dict[str, Path], tmp_path: Path) -> None:
    full = write_face_video(tmp_path / "full.avi", n=40)
    data = full.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) * 6 // 10])
    try:
        session = open_live(cut, models["logits8"], detector="none", lockstep=True,
                            pace=False)
    except FaceExplorerError as err:  # some OpenCV builds refuse the cut index outright
        assert "cut.avi" in str(err)
        return
    frames, _, ends = _collect(session)
    session.start()
    assert session.join(timeout=30)
    assert 0 < len(frames) < 40 and len(ends) == 1
    assert "cut.avi" in ends[0] or "end of video" in ends[0]


@pytest.mark.parametrize("index", range(4))
def test_no_camera(models: dict[str, Path], index: int) -> None:
    probe = cv2.VideoCapture(index)
    present = probe.isOpened()
    probe.release()
    if present:
        pytest.skip(f"a camera exists at index {index}")
    with pytest.raises(CameraUnavailable, match=f"No camera at index {index}: "):
        open_live(index, models["logits8"])


def test_bad_model_and_snapshot(models: dict[str, Path], face_video: Path,
                                tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="onnxruntime cannot load"):
        open_live(face_video, models["broken"])
    session = open_live(face_video, models["nan"], detector="none", lockstep=True,
                        pace=False)
    with pytest.raises(FaceExplorerError, match="nothing to snapshot"):
        session.snapshot(tmp_path / "none.png")
    frames, preds, _ = _collect(session)
    session.start()
    assert session.join(timeout=30)
    assert any(p.predictions and not p.predictions[0].valid for p in preds)
    png = session.snapshot(tmp_path / "snap.png")
    assert np.array_equal(cv2.imread(str(png)), frames[-1].overlay)


def test_stop_and_timeline(models: dict[str, Path], face_video: Path) -> None:
    session = open_live(face_video, models["au22"], lockstep=True)
    session.start()
    deadline = time.monotonic() + 10
    while session.stats.frames_modelled < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    session.stop()
    assert session.join(timeout=10)
    assert "stopped by the user" in (session.end_reason or "")
    t, series = session.timeline(5.0, kind="au", top=3)
    assert len(series) == 3 and all(len(v) == len(t) for v in series.values())
    means = {k: np.mean([p.aus[k] for p in session.history]) for k in session.history[0].aus}
    assert list(series) == sorted(means, key=lambda k: -means[k])[:3]


class FailingDetector:
    """A detector that breaks at one frame, as a wrong YuNet file does."""

    name, gives_landmarks = "failing", False

    def __init__(self, fail_at: int) -> None:
        self.calls, self.fail_at, self.inner = 0, fail_at, HaarFaceDetector()

    def detect(self, frame: np.ndarray) -> list:
        self.calls += 1
        if self.calls > self.fail_at:
            raise DetectorUnavailable("simulated: this ONNX file does not work as YuNet")
        return self.inner.detect(frame)


def test_detector_failure_on_the_detect_thread_ends_the_session(
        models: dict[str, Path], face_video: Path, tmp_path: Path) -> None:
    session = LiveSession(VideoFileSource(face_video),
                          Pipeline(open_model(models["va"]), FailingDetector(4)),
                          lockstep=True, pace=False)
    frames, preds, ends = _collect(session)
    session.start_recording(tmp_path / "rec.csv")
    session.start()
    assert session.join(timeout=30) and not session.running
    assert len(ends) == 1 and ends[0].startswith("the model failed at frame 4:")
    assert "simulated" in ends[0]
    # frames 0-3 were detected and modelled before the failure, and their rows are kept
    assert [p.frame_index for p in preds] == [0, 1, 2, 3]
    assert len(session.recorded) == 4 and session.last_recording is not None


def test_free_mode_counts_every_frame_once(models: dict[str, Path], face_video: Path) -> None:
    """Three threads, two slots: each frame read is either modelled or dropped."""
    model = open_model(models["logits8"])
    model.session = SlowSession(model.session, delay_s=0.05)
    session = open_live(face_video, models["logits8"], pace=False)
    session.pipeline.model = model
    frames, preds, _ = _collect(session)
    session.start()
    assert session.join(timeout=30)
    s = session.stats
    assert s.frames_read == len(frames) == N_FRAMES
    assert s.frames_modelled == len(preds) and s.dropped == s.frames_read - s.frames_modelled
    assert s.dropped > 0 and [p.frame_index for p in preds] == sorted({p.frame_index
                                                                       for p in preds})


def test_every_frame_reads_a_video_in_lockstep_and_refuses_a_camera(
        models: dict[str, Path], face_video: Path) -> None:
    session = open_live(str(face_video), models["va"], every_frame=True)
    assert session.lockstep and not session.pace and session.every_frame
    model = session.pipeline.model
    model.session = SlowSession(model.session, delay_s=0.02)  # slower than 25 fps
    frames, preds, ends = _collect(session)
    session.start()
    assert session.join(timeout=60)
    assert session.stats.frames_read == session.stats.frames_modelled == N_FRAMES
    # It ends showing the last frame with its own boxes (the display ran ahead).
    last = frames[-1]
    assert last.frame.index == last.prediction.frame_index == N_FRAMES - 1
    assert session.stats.dropped == 0 and [p.frame_index for p in preds] == \
        list(range(N_FRAMES))
    assert ends == [f"end of video ({N_FRAMES} frames)"]
    for spec in (0, "3"):
        with pytest.raises(FaceExplorerError, match="cannot be read frame by frame"):
            open_live(spec, models["va"], every_frame=True)
    cam = CameraSource(0, opener=lambda _i: cv2.VideoCapture(str(face_video)))
    with pytest.raises(FaceExplorerError, match="cannot wait for the model"):
        open_live(cam, models["va"], every_frame=True)


def test_every_frame_recording_has_a_row_for_a_faceless_frame(models: dict[str, Path],
                                                              tmp_path: Path) -> None:
    """"Record every frame": a frame the model saw without a face has its row (empty face
    and box, valid 0, "no face found"), as in faceexplorer analyze; it was missing, so
    rows != frames and the index said "face in 20 of 20 frames" for 24."""
    from tests.inference.videos import blank_frame, face_frame, write_video

    faceless = (3, 4, 10, 11)
    video = write_video(tmp_path / "gaps.avi", [blank_frame(i) if i in faceless
                                                else face_frame(i) for i in range(N_FRAMES)])
    session = open_live(video, models["logits8"], lockstep=True, pace=False)
    path = session.start_recording(tmp_path / "gaps.csv")
    session.start()
    assert session.join(timeout=60)
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["frame_index"]) for r in rows] == list(range(N_FRAMES))
    empty = [r for r in rows if r["face_index"] == ""]
    with_face = {p.frame_index for p in session.recorded}
    no_face = [i for i in range(N_FRAMES) if i not in with_face]
    assert set(faceless) <= set(no_face) and len(no_face) < N_FRAMES // 2
    assert [int(r["frame_index"]) for r in empty] == no_face
    assert all(r["valid"] == "0" and r["message"] == "no face found" and r["box_x"] == ""
               and r["expr_happy"] == "" for r in empty)
    assert len(rows) == len(session.recorded) + len(no_face)   # recorded: predictions only
    meta = json.loads(path.with_suffix(".json").read_text())
    assert (meta["rows"], meta["predictions"]) == (N_FRAMES, len(session.recorded))
    db = tmp_path / "index.duckdb"
    assert import_recording(db, path) == len(session.recorded)   # predictions
    from faceexplorer.index import analysis_query as aq

    con = duckdb.connect(str(db), read_only=True)
    listed = next(a for a in aq.analysis_list(con) if a["analysis_id"] == "live:gaps")
    series = aq.input_series(con, "live:gaps", listed["sources"][0])
    con.close()
    assert (listed["frames"], listed["frames_with_face"]) == (N_FRAMES, len(with_face))
    assert listed["kinds"] == ["video"]
    assert (~series.face_found).nonzero()[0].tolist() == no_face


def test_a_recordings_kind_is_its_sources(tmp_path: Path) -> None:
    """A recording of an image folder (or of one image) counts images, of a video frames;
    a camera's, or a file no longer there, has no frames to show again."""
    from faceexplorer.index.analysis_query import live_kind

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"x")
    (tmp_path / "clip.mp4").write_bytes(b"x")
    assert live_kind(str(folder)) == "images"
    assert live_kind(str(folder / "a.jpg")) == "images"
    assert live_kind(str(tmp_path / "clip.mp4")) == "video"
    assert live_kind(f"video {tmp_path / 'clip.mp4'}") == "video"      # older recordings
    assert live_kind("camera 0") == live_kind(str(tmp_path / "gone.mp4")) == "live"
