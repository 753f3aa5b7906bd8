"""The Analyses tab: run a model over every frame of a video or image folder, see the result.

Top, the form (:mod:`~faceexplorer.gui.analyses.run_form`): the input, the model, the
face detector, the frame stride and the engine, Run and Cancel with a progress bar, and
a line on how this detection differs from Live's. Run queues
``inference.analyze.run_analysis`` as a write of the index session (on the task runner's
long-job thread; the window stays usable) and the analysis is stored in the index with
its table beside it (``<data folder>/analyses/*.parquet``). Cancel stops after the frame
in flight; running again resumes where it stopped.

Below, left: the stored analyses (newest first, the command line's and live recordings
too), the chosen one's inputs, and what else the index holds about that input
(:mod:`~faceexplorer.gui.analyses.shown_tracks`: other analyses of the same file, its
OpenFace rows, an HRM child's human labels), read off the GUI thread
(``index.video_tracks`` through ``session.read``). Middle: the timeline
(:mod:`~faceexplorer.gui.analyses.timeline`), the opened analysis first and the ticked
tracks under it on one frame axis. Right: the frame at the cursor with its face box.
Clicking the timeline moves the frame; the slider moves the cursor. Export writes the
analysis's table (CSV or Parquet) or every track of the timeline (PNG).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.vocab import HRM_AU22
from faceexplorer.gui.analyses.frames import BoxCanvas, ImageListFrames
from faceexplorer.gui.analyses.job import analysis_job
from faceexplorer.gui.analyses.run_form import RunForm
from faceexplorer.gui.analyses.shown_tracks import ShownTracks, choices
from faceexplorer.gui.analyses.timeline import AnalysisTimeline
from faceexplorer.gui.core.session import DatasetChange, IndexView, WriteHandle
from faceexplorer.gui.hrm.frame_loader import FrameLoader, Loaded
from faceexplorer.index import analysis_query as aq
from faceexplorer.index import video_tracks as vt
from faceexplorer.media.frames import Frame, VideoFrames

#: the kind a stored analysis is announced with (``DatasetChange.kinds``)
ANALYSES = "analyses"


class AnalysesView(QWidget, IndexView):
    """Every-frame analyses: run one, list them, see one input on a timeline.

    Signals
    -------
    analysis_finished(object)
        A run ended (its ``AnalysisResult``: finished or stopped).
    analysis_failed(str)
        A run could not start or broke off; the message shown.
    frame_shown(int)
        The frame at the cursor is on screen.
    tracks_shown(list)
        The timeline shows these tracks (titles, top to bottom), the other analyses,
        OpenFace and human labels of the input included.
    """

    analysis_finished = Signal(object)
    analysis_failed = Signal(str)
    frame_shown = Signal(int)
    tracks_shown = Signal(list)
    #: analyses and recordings, and the kinds whose tracks stack under them
    index_kinds = frozenset({ANALYSES, "live", "hrm", "openface"})

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run: WriteHandle | None = None
        self._stop = threading.Event()
        self.analyses: list[dict[str, Any]] = []
        self.inputs: list[aq.AnalysisInput] = []
        self.series: aq.InputSeries | None = None
        self._select_after: str | None = None
        self._shown: str | None = None       # the analysis whose inputs are listed
        self._source: Any = None
        self._request = 0
        self.tracks: vt.InputTracks | None = None
        self.loader = FrameLoader(self)
        self.loader.loaded.connect(self._on_loaded)
        self._build()

    # --- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        self.form = RunForm(self)
        f = self.form
        # the form's widgets, under the names the tests and preferences use
        (self.input_edit, self.model_edit, self.detector_box, self.stride_spin,
         self.engine_box, self.address_edit, self.run_button, self.cancel_button,
         self.progress, self.detection_note) = (
            f.input_edit, f.model_edit, f.detector_box, f.stride_spin, f.engine_box,
            f.address_edit, f.run_button, f.cancel_button, f.progress, f.detection_note)
        #: how Ray runs its workers ("inline": in this process, for tests)
        self.ray_pool = "ray"
        self.status = QLabel("Choose a video or an image folder and a model, then Run.")
        self.status.setWordWrap(True)

        self.list = QListWidget()
        self.list.setObjectName("analysesList")
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.input_box = QComboBox()
        self.shown_list = ShownTracks()
        self.export_table_button = QPushButton("Export table…")
        self.export_png_button = QPushButton("Export timeline…")
        left = QWidget()
        lay = QVBoxLayout(left)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("<b>Stored analyses</b>"))
        lay.addWidget(self.list, 3)
        lay.addWidget(QLabel("Input"))
        lay.addWidget(self.input_box)
        self.shown_label = QLabel("Also on the timeline")
        self.shown_label.setWordWrap(True)
        lay.addWidget(self.shown_label)
        lay.addWidget(self.shown_list, 2)
        lay.addWidget(self.export_table_button)
        lay.addWidget(self.export_png_button)

        self.canvas = BoxCanvas()
        self.frame_label = QLabel("")
        self.frame_label.setWordWrap(True)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.timeline = AnalysisTimeline()
        frame_panel = QWidget()
        fl = QVBoxLayout(frame_panel)
        fl.setContentsMargins(0, 0, 0, 0)
        fl.addWidget(self.canvas, 1)
        fl.addWidget(self.slider)
        fl.addWidget(self.frame_label)
        # the frame beside the tracks, not above them: the tracks get the tab's height
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.timeline)
        split.addWidget(frame_panel)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setStretchFactor(2, 0)
        split.setSizes([230, 800, 260])
        outer = QVBoxLayout(self)
        outer.addWidget(self.form)
        outer.addWidget(self.status)
        outer.addWidget(split, 1)

        self.run_button.clicked.connect(self.start_run)
        self.cancel_button.clicked.connect(self.cancel_run)
        self.list.currentRowChanged.connect(self._analysis_chosen)
        self.input_box.currentIndexChanged.connect(self._input_chosen)
        self.shown_list.changed.connect(self._draw_tracks)
        self.timeline.cursor_moved.connect(self.show_frame)
        self.slider.valueChanged.connect(self._slid)
        self.export_table_button.clicked.connect(self._ask_export_table)
        self.export_png_button.clicked.connect(self._ask_export_png)
        self._set_running(False)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    # --- the index ----------------------------------------------------------------------
    def show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """List the stored analyses of ``con`` (None: none); keeps the one chosen."""
        keep = self._select_after or self.current_analysis()
        self._select_after = None
        self.analyses = aq.analysis_list(con) if con is not None else []
        self.list.blockSignals(True)
        self.list.clear()
        for a in self.analyses:
            names = ", ".join(Path(s).name for s in a["sources"] if s) or "?"
            kinds = set(a.get("kinds") or ())
            unit = "images" if kinds == {"images"} else "frames"
            item = QListWidgetItem(
                f"{names}\n{a['model']} · {a['detector']} · face in {a['frames_with_face']:,} "
                f"of {a['frames']:,} {unit} · {a['finished_at']:%Y-%m-%d %H:%M}")
            item.setData(Qt.ItemDataRole.UserRole, a["analysis_id"])
            self.list.addItem(item)
        self.list.blockSignals(False)
        ids = [a["analysis_id"] for a in self.analyses]
        row = ids.index(keep) if keep in ids else (0 if ids else -1)
        if row >= 0:
            self.list.setCurrentRow(row)
            self._analysis_chosen(row)
        else:
            self._shown = None
            self._show_series(None)
            if con is not None and self.run is None:
                self.status.setText("No analysis stored yet: choose a video or an image "
                                    "folder and a model, then Run.")

    def current_analysis(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _analysis_chosen(self, row: int) -> None:
        con = self.con
        if con is None or row < 0 or row >= len(self.analyses):
            return
        analysis = self.analyses[row]["analysis_id"]
        if analysis == self._shown and self.series is not None:
            # the list was reread (a write): keep the input and frame; what else covers
            # the input may have changed (another analysis, an OpenFace or HRM import)
            self._read_tracks(analysis, self.series.source)
            return
        self._shown = analysis
        self.inputs = aq.analysis_inputs(con, analysis)
        self.input_box.blockSignals(True)
        self.input_box.clear()
        for i in self.inputs:
            self.input_box.addItem(f"{Path(i.source).name} ({i.kind}, {i.frames:,})")
        self.input_box.blockSignals(False)
        self._input_chosen(0)

    def _input_chosen(self, index: int) -> None:
        con, analysis = self.con, self.current_analysis()
        if con is None or analysis is None or not 0 <= index < len(self.inputs):
            self._show_series(None)
            return
        source = self.inputs[index].source
        self._show_series(aq.input_series(con, analysis, source), self.inputs[index].kind)
        self._read_tracks(analysis, source)

    # --- the other tracks of the input --------------------------------------------------
    def _read_tracks(self, analysis: str, source: str) -> None:
        """Read what else the index holds about ``source`` (off the GUI thread)."""
        self.tracks = None
        self._fill_shown_list()
        if self.session is None:
            return
        self.session.read(_tracks_job, analysis, source, key=(id(self), "tracks"),
                          name="analysis tracks", on_done=self._tracks_read,
                          on_error=self._tracks_failed)

    def _tracks_failed(self, message: str) -> None:
        self.status.setText(f"The other tracks of this input could not be read: {message}")
        self.tracks_shown.emit(self.timeline.titles)

    def _tracks_read(self, tracks: vt.InputTracks) -> None:
        if self.series is None or tracks.source != self.series.source:
            return                   # another input was chosen meanwhile
        self.tracks = tracks
        self._fill_shown_list()
        self._draw_tracks()

    def _fill_shown_list(self) -> None:
        self.shown_list.fill(choices(self.tracks))
        self.shown_label.setText(
            "Also on the timeline: nothing else in the index covers this input"
            if self.tracks is not None and not self.shown_list.count()
            else "Also on the timeline")

    def set_track_shown(self, key: str, shown: bool) -> None:
        """Tick or untick a track of the list (an analysis id, "openface" or "human")."""
        self.shown_list.set_shown(key, shown)

    def _opened_title(self) -> str:
        row = next((a for a in self.analyses if a["analysis_id"] == self._shown), None)
        if self.tracks is not None and self.tracks.analyses:
            return self.tracks.analyses[0].title
        return f"{row['model']} · {row['detector']}" if row else ""

    def _draw_tracks(self) -> None:
        """The opened analysis and the ticked tracks on the timeline; the cursor kept."""
        t, cursor = self.tracks, self.timeline.cursor
        shown = self.shown_list.shown()
        others = [] if t is None else [
            (c.title, t.series[c.analysis_id]) for c in t.analyses[1:]
            if c.analysis_id in shown]
        self.timeline.set_tracks(
            self.series, self._opened_title(), others,
            t.openface if t is not None and "openface" in shown else None,
            t.human if t is not None and "human" in shown else None, HRM_AU22)
        if cursor is not None:
            self.timeline.set_cursor(cursor)
        self.tracks_shown.emit(self.timeline.titles)

    def _show_series(self, series: aq.InputSeries | None, kind: str = "video") -> None:
        self.series = series
        self.timeline.set_series(series, self._opened_title())
        if self._source is not None:
            self._source = None
        self.canvas.clear()
        self.canvas.box = None
        if series is None or not len(series.frames):
            self.slider.setRange(0, 0)
            self.frame_label.setText("")
            return
        source = Path(series.source)
        if kind == "video":
            self._source = VideoFrames(source)
        elif kind == "images":
            self._source = ImageListFrames(source, dict(zip(series.frames.tolist(),
                                                            series.files, strict=True)))
        # else a live recording whose source is gone or was a camera: values only
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(series.frames) - 1)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.show_frame(int(series.frames[0]))

    # --- the frame at the cursor --------------------------------------------------------
    def show_frame(self, frame: int) -> None:
        """Show analysed frame ``frame`` with its face box; moves the cursor and slider."""
        if self.series is None:
            return
        where = np.flatnonzero(self.series.frames == frame)
        if not len(where):
            return
        i = int(where[0])
        self.timeline.set_cursor(frame)
        self.slider.blockSignals(True)
        self.slider.setValue(i)
        self.slider.blockSignals(False)
        box = self.series.boxes[i]
        self.canvas.box = None if np.isnan(box).any() else tuple(float(v) for v in box)
        top = int(self.series.top[i])
        label = self.series.labels[top] if top >= 0 else "no face"
        when = self.series.seconds[i]
        file = self.series.files[i]
        self.frame_label.setText(
            f"frame {frame}" + (f" · {when:.2f} s" if not np.isnan(when) else "")
            + (f" · {file}" if file else "") + f" · {label}"
            + (f" ({self.series.probabilities[top, i]:.2f})" if top >= 0 else "")
            + ("" if self._source is not None else " · recorded live: frames not kept"))
        if self._source is None:
            self.frame_shown.emit(frame)
            return
        self._request = self.loader.request(self._source, frame, self.canvas.fit_size())

    def _slid(self, index: int) -> None:
        if self.series is not None and 0 <= index < len(self.series.frames):
            self.show_frame(int(self.series.frames[index]))

    def _on_loaded(self, loaded: Loaded) -> None:
        if loaded.request != self._request:
            return
        if isinstance(loaded.result, Frame) and loaded.display is not None:
            self.canvas.show_frame(loaded.result.rgb, loaded.display)
        else:
            self.canvas.clear()
            self.frame_label.setText(f"{self.frame_label.text()} · {loaded.result.message}")
        self.frame_shown.emit(loaded.frame)

    # --- running ------------------------------------------------------------------------
    def use_preferences(self, prefs: Any, model: str) -> None:
        """Edit > Preferences: the default detector (YuNet with its file) and ``model``
        when none is chosen yet (not while a run uses the form)."""
        if self.run is None:
            self.form.use_preferences(prefs, model)

    def set_yunet(self, path: str) -> None:
        """Use YuNet from ``path`` (as the detector picker does)."""
        self.form.set_yunet(path)

    def output_for(self, inputs: list[str], model: str) -> Path:
        """Where the table goes: beside the index, named after the input and the model."""
        assert self.session is not None
        stem = f"{Path(inputs[0]).stem}-{Path(model).stem}-every{self.stride_spin.value()}"
        return self.session.db_path.parent / "analyses" / f"{stem}.parquet"

    def start_run(self) -> None:
        """Analyse the form's input with the form's model (a write of the session)."""
        text, model = self.input_edit.text().strip(), self.model_edit.text().strip()
        problem = None
        if not text:
            problem = "Choose a video file or a folder of images first."
        elif not Path(text).exists():
            problem = f"{text}: no such file or folder."
        elif not model:
            problem = "Choose a model file (.onnx) first."
        elif self.session is None:
            problem = "No index is open."
        if problem:
            self.status.setText(problem)
            self.analysis_failed.emit(problem)
            return
        assert self.session is not None
        detector = self.form.detector_choice()
        inputs = [text]
        if self.app_state is not None:
            self.app_state.set("model_path", model)
        self._stop = threading.Event()
        self.progress.setRange(0, 0)
        self.status.setText(f"Analysing every {self.stride_spin.value()} frame(s) of "
                            f"{Path(text).name} with {Path(model).name}…")
        self._set_running(True)
        engine = self.engine_box.currentData()
        if engine == "ray":
            self.status.setText(self.status.text() + " (starting Ray workers: this takes a "
                                "few seconds the first time)")
        self.run = self.session.write(
            analysis_job, model, inputs, self.output_for(inputs, model), detector,
            self.stride_spin.value(), self._stop, engine,
            self.address_edit.text().strip() or None, self.ray_pool,
            name=f"Analysis of {Path(text).name}",
            change=DatasetChange(frozenset({ANALYSES}), "analysis", text),
            on_done=self._run_done, on_error=self._run_failed,
            on_progress=self._run_progress, on_cancelled=self._run_cancelled)

    def cancel_run(self) -> None:
        """Stop after the frame in flight; what was analysed is kept for a resume."""
        if self.run is None or self.session is None:
            return
        if self.run.task is None:
            self.session.cancel_write(self.run)
        else:
            self._stop.set()
            self.status.setText("Stopping after the frame in flight…")

    @property
    def running(self) -> bool:
        return self.run is not None

    def _run_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(total, done, 1))
        self.progress.setValue(done)
        self.status.setText(f"{done:,}{f' / {total:,}' if total else ''} frames · {text}")

    def _run_done(self, result: Any) -> None:
        self.run = None
        self._set_running(False)
        sentences = "; ".join(f"{s.path.name}: {s.sentence()}" + (
            f" ({s.end_reason})" if "announced" in s.end_reason else "")  # a header that
            for s in result.inputs)       # over-counts: why the count is what it is
        engine = result.engine.get("name", "local") if isinstance(result.engine, dict) else ""
        if engine and engine != "local":
            sentences += f" (engine: {engine}, {result.engine.get('workers', '?')} workers)"
        frames = result.frames_kept
        if result.status == "finished":
            self.progress.setRange(0, max(frames, 1))
            self.progress.setValue(frames)
            text = (f"Finished ({result.frames_per_second:.1f} frames/s): {sentences}. "
                    f"Table: {result.output}")
        else:                                # the bar shows what is kept, not what ran
            self.progress.setValue(min(frames, self.progress.maximum()))
            text = f"Stopped: {sentences}. {_resume_note(result)}"
        self._select_after = result.analysis_id
        self._shown = None                   # its rows may have changed: read them again
        self.show_index(self.con)
        self.status.setText(text)            # after the list: an empty one has its own
        self.analysis_finished.emit(result)

    def _run_failed(self, message: str) -> None:
        self.run = None
        self._set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText(f"The analysis could not run: {message}")
        self.analysis_failed.emit(message)

    def _run_cancelled(self) -> None:
        self.run = None
        self._set_running(False)
        self.status.setText("Cancelled.")

    # --- export -------------------------------------------------------------------------
    def export_table(self, path: Path) -> int:
        """Write the chosen analysis's rows to ``path`` (.csv or .parquet)."""
        analysis = self.current_analysis()
        if self.con is None or analysis is None:
            raise ValueError("no analysis chosen")
        return aq.export_rows(self.con, analysis, path)

    def _ask_export_table(self) -> None:
        if self.current_analysis() is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export the analysis table", "",
                                              "CSV (*.csv);;Parquet (*.parquet)")
        if path:
            rows = self.export_table(Path(path))
            self.status.setText(f"Saved {rows:,} rows to {path}")

    def _ask_export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the timeline", "",
                                              "PNG image (*.png)")
        if path:
            path = path if path.lower().endswith(".png") else f"{path}.png"
            self.timeline.image().save(path)
            self.status.setText(f"Saved {path}")

    def close_workers(self) -> None:
        self.loader.close()

    def attach(self, session) -> None:  # noqa: ANN001 - IndexSession | None
        """Follow ``session``; frames decode on its task runner."""
        self.loader.use(session.tasks.spawn if session is not None else None)
        if self.app_state is not None and not self.model_edit.text():
            self.model_edit.setText(self.app_state.get("model_path"))
        IndexView.attach(self, session)


def _resume_note(result: Any) -> str:
    """What a stopped run keeps: frames are kept in blocks of ``PART_FRAMES``, so the
    frames analysed since the last whole block are analysed again by the next run (the
    progress bar had counted them)."""
    from faceexplorer.inference.analyze_table import PART_FRAMES

    redo = result.frames_to_redo
    if redo == 0:
        return "Run again to resume."
    return (f"Run again to resume; the {redo:,} frame(s) analysed since the last kept block "
            f"(frames are kept {PART_FRAMES} at a time) are analysed again.")


def _tracks_job(_ctx: Any, con: duckdb.DuckDBPyConnection, analysis: str,
                source: str) -> vt.InputTracks:
    """The index's other tracks of ``source`` (a read on the task runner)."""
    return vt.input_tracks(con, analysis, source)
