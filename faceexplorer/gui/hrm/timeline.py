"""The AU timeline of one HRM child: the widget a clinician drives.

The plots themselves (AU raster, OpenFace rows, raters, ASD flag) are
:class:`.tracks.TimelinePlots`; this widget adds the header (child, notices, the 22/36 and
OpenFace toggles, a legend), the readout of the cursor's frame, and the user's actions.

The cursor is a red line in every plot. A click or a drag of the cursor, or the arrow
keys, move it and emit ``cursor_moved(frame)`` (drags rate-limited to the newest frame
every ``DRAG_INTERVAL_MS``); ``set_cursor(frame)`` moves it silently, so following the
frame viewer never echoes back. All data come from ``hrm_query.child_timeline`` once per
child (one query, which the HRM tab shares with the navigator and the frame viewer:
``show_timeline``); the toggles only redraw. When a stored AU model run covers the child
(``reports.model_aus``), its rows follow the coders' with a run chooser, a "thresholded"
toggle and a small table of per-AU F1 and kappa against the coders; all hidden otherwise.
"""

from __future__ import annotations

import duckdb
import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.kinds import DatasetKind
from faceexplorer.core.vocab import HRM_AU22, HRM_AU_COLUMNS, HRM_CELL
from faceexplorer.gui.core.session import IndexView
from faceexplorer.gui.fit import ElidedLabel, compact_buttons
from faceexplorer.gui.hrm.tracks import RATER_NAMES, TimelinePlots, legend_html
from faceexplorer.gui.hrm.widgets import Cover
from faceexplorer.gui.pg_setup import pg
from faceexplorer.index import hrm_query
from faceexplorer.index.hrm_query import Timeline
from faceexplorer.reports.model_aus import ChildModelAUs, au_runs_of_child, child_model_aus

DRAG_INTERVAL_MS = 30


class TimelineWidget(QWidget, IndexView):
    """ELAN-like timeline of one child's frames.

    Signals
    -------
    cursor_moved(int)
        The user put the cursor on a frame (click, drag, keys).
    child_loaded(str)
        A child's timeline is drawn.
    """

    index_kinds = frozenset({DatasetKind.HRM})

    cursor_moved = Signal(int)
    child_loaded = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.timeline: Timeline | None = None
        self.rows: tuple[str, ...] = HRM_AU22
        self.cursor: int | None = None
        self._pending: int | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._build_header()
        self._build_plots()
        self._drag_timer = QTimer(self, singleShot=True, interval=DRAG_INTERVAL_MS)
        self._drag_timer.timeout.connect(self._emit_pending)
        self._show_message("No child open: choose one in the navigator.")

    # --- construction -------------------------------------------------------------------
    def _build_header(self) -> None:
        # the title and the readout end in "…" (whole text in the tooltip) rather than
        # setting the window's minimum width (1719 px once, for a long readout)
        self.title = ElidedLabel("", self)
        self.title.setObjectName("timelineTitle")
        self.title.setStyleSheet("font-size: 12pt; font-weight: bold;")
        self.notice = QLabel(self)
        self.notice.setObjectName("timelineNotice")
        self.notice.setStyleSheet("color: #a00000;")
        self.notice.setMinimumHeight(self.notice.fontMetrics().height())
        self.all_aus = QCheckBox("All 36 AU/AD columns", self)
        self.all_aus.setToolTip("Off: the 22 AUs of the published HRM models")
        self.all_aus.toggled.connect(self._redraw)
        self.openface_box = QCheckBox("OpenFace curves", self)
        self.openface_box.setChecked(True)
        self.openface_box.setEnabled(False)
        self.openface_box.toggled.connect(self._redraw)
        self.model_box = QCheckBox("Model rows", self)
        self.model_box.setChecked(True)
        self.model_box.toggled.connect(self._redraw)
        self.threshold_box = QCheckBox("thresholded", self)
        self.threshold_box.setToolTip("Off: probabilities in grey (black = 1); on: present "
                                      "where the probability reaches the run's threshold")
        self.threshold_box.toggled.connect(self._redraw)
        self.run_chooser = QComboBox(self)
        self.run_chooser.setObjectName("modelRunChooser")
        self.run_chooser.currentIndexChanged.connect(self._run_chosen)
        self.model_table = QLabel(self)
        self.model_table.setObjectName("modelAgreement")
        self.model_table.setTextFormat(Qt.TextFormat.RichText)
        self.model_table.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_runs: list = []
        self.model: ChildModelAUs | None = None
        #: The agreement table's cells as shown: AU -> (F1 text, kappa text).
        self.agreement_cells: dict[str, tuple[str, str]] = {}
        self.fit_button = QPushButton("Show all frames", self)
        self.fit_button.clicked.connect(self.zoom_all)
        self.legend = QLabel(legend_html(), self)
        self.legend.setObjectName("timelineLegend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.readout = ElidedLabel("", self)
        self.readout.setObjectName("timelineReadout")

    def _build_plots(self) -> None:
        self.view = TimelinePlots(self)
        self.view.reserve_rows(self.rows)    # the first child then keeps this layout
        self.view.cursors[0].sigPositionChanged.connect(self._cursor_dragged)
        self.view.scene().sigMouseClicked.connect(self._clicked)
        self.message = QLabel(self)
        self.message.setObjectName("timelineMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        for w in (self.all_aus, self.model_box, self.run_chooser, self.threshold_box,
                  self.openface_box, self.fit_button):
            top.addWidget(w)
        compact_buttons(self.fit_button)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addLayout(top)
        box.addWidget(self.notice)
        box.addWidget(self.legend)
        box.addWidget(self.model_table)
        # Rows keep a readable height; when 36 AUs and OpenFace do not fit, the plots
        # scroll vertically (as ELAN's tiers do) rather than squeezing the labels.
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.view)
        # The message covers the plots rather than replacing them: hidden plots would get
        # their first layout (~25 ms, and a second paint) inside the first child's open;
        # shown from the start, they are laid out with the window.
        self.message.setAutoFillBackground(True)
        box.addWidget(Cover(self.scroll, self.message, self), 1)
        box.addWidget(self.readout)

    # --- connection and child -----------------------------------------------------------
    def show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Use ``con`` (None: no index); the open child is reloaded if it still exists."""
        child = self.timeline.child if self.timeline else None
        self.timeline = None
        if not hrm_query.has_hrm(con):
            self._show_message("No Hugging Rain Man data in this index. Import it with: "
                               "faceexplorer index add hrm PATH")
            return
        if child is not None:
            self.load_child(child)
        else:
            self._show_message("No child open: choose one in the navigator.")
            QTimer.singleShot(0, self, self._warm_up)

    def _warm_up(self) -> None:
        """Paint the (covered) plots once while idle: their axes' pictures, text sizes and
        glyphs are then ready, and the first child's open paints once, not twice."""
        if self.timeline is None and self.isVisible():
            self.view.grab()

    @Slot(str)
    def load_child(self, child: str) -> None:
        """Read ``child``'s timeline from the index and draw it over all its frames."""
        if self.con is None:
            self._show_message("No index open.")
            return
        try:
            tl = hrm_query.child_timeline(self.con, child)
        except FaceExplorerError as exc:
            self.show_error(str(exc))
            return
        self.show_timeline(tl)

    def show_error(self, text: str) -> None:
        """No timeline: say why (a child the index does not hold, no HRM data...)."""
        self.timeline = None
        self._show_message(text)

    def show_timeline(self, tl: Timeline) -> None:
        """Draw ``tl`` (a child the caller already read) over all its frames."""
        self.timeline = tl
        self.cursor = None
        self.openface_box.setEnabled(tl.openface is not None)
        self.message.hide()
        self._describe(tl)
        self._load_model_runs(tl.child)
        self.view.draw_child(tl)     # which also shows all of the child's frames
        self._redraw()
        self.set_cursor(tl.first_frame)
        # Move the plots' contents to the new ranges now: pyqtgraph does it when the paint
        # starts, which dirties the scene and so costs a second paint of every plot.
        self.view.scene().prepareForPaint()
        self.child_loaded.emit(tl.child)

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()
        self.message.raise_()
        for w in (self.model_box, self.threshold_box, self.run_chooser, self.model_table):
            w.hide()
        self.title.setText("AU timeline")
        self.notice.clear()
        self.readout.clear()

    def _describe(self, tl: Timeline) -> None:
        group = f" · {tl.grp}" if tl.grp else ""
        video = (f" · video {tl.video_frames:,} frames" if tl.video_frames else "")
        self.title.setText(f"{tl.child}{group} · {len(tl.frames):,} labelled frames "
                           f"({tl.first_frame}–{tl.last_frame}) in {len(tl.segments)} "
                           f"segments{video}")
        notes = []
        if tl.beyond_video:
            notes.append(f"{tl.beyond_video} labelled frames lie beyond the video's "
                         f"{tl.video_frames} frames (shaded red).")
        if tl.video_path is None and tl.frames_dir is None:
            notes.append("No video and no frames folder for this child: labels only.")
        if not np.isfinite(tl.rating_mean).any():
            notes.append("No atypicality ratings in this child's file.")
        # always shown (empty or not): a line appearing would re-lay out and repaint twice
        self.notice.setText(" ".join(notes))

    @Slot()
    def _redraw(self) -> None:
        """Rows (22 or 36) and the OpenFace rows: the toggles' part of the drawing."""
        if self.timeline is None:
            return
        self.rows = HRM_AU_COLUMNS if self.all_aus.isChecked() else HRM_AU22
        self.view.draw_rows(self.timeline, self.rows, self.openface_box.isChecked())
        model = self.model if self.model_box.isChecked() else None
        self.view.draw_model(self.timeline, model, self.threshold_box.isChecked())
        self._show_agreement()
        self._update_readout()

    # --- model rows ---------------------------------------------------------------------
    def _load_model_runs(self, child: str) -> None:
        """The AU runs covering ``child``; the controls show only when there is one."""
        self.model_runs = au_runs_of_child(self.con, child)
        self.run_chooser.blockSignals(True)
        self.run_chooser.clear()
        for run in self.model_runs:
            self.run_chooser.addItem(f"Model ({run.model_name or run.model_path})", run.run_id)
        self.run_chooser.blockSignals(False)
        self.model = (child_model_aus(self.con, self.model_runs[0], child)
                      if self.model_runs and self.con is not None else None)
        has = self.model is not None
        for w in (self.model_box, self.threshold_box):
            w.setVisible(has)
        self.run_chooser.setVisible(len(self.model_runs) > 1)
        self.model_table.setVisible(has)

    @Slot(int)
    def _run_chosen(self, index: int) -> None:
        if self.timeline is None or self.con is None or not 0 <= index < len(self.model_runs):
            return
        self.model = child_model_aus(self.con, self.model_runs[index], self.timeline.child)
        self._redraw()

    def _show_agreement(self) -> None:
        """One column per drawn model AU: F1 and kappa against the coders."""
        m = self.model
        rows = self.view.model_rows
        self.agreement_cells = {}
        if m is None or not self.model_box.isChecked():
            self.model_table.setVisible(m is not None)
            self.model_table.setText(f"Model ({m.model_name}) rows hidden" if m else "")
            return
        for au in rows:
            j = m.aus.index(au)
            self.agreement_cells[au] = tuple(  # type: ignore[assignment]
                "–" if not np.isfinite(v) else f"{v:.2f}" for v in (m.f1[j], m.kappa[j]))
        head = "".join(f"<th>{au}</th>" for au in rows)
        f1 = "".join(f"<td align='right'>{c[0]}</td>" for c in self.agreement_cells.values())
        kappa = "".join(f"<td align='right'>{c[1]}</td>"
                        for c in self.agreement_cells.values())
        hidden = len(m.aus) - len(rows)
        note = (f" · {hidden} more with all 36 columns" if hidden else "") + (
            f" · model AUs HRM does not label: {', '.join(m.unmatched)}" if m.unmatched else "")
        self.model_table.setText(
            f"<b>Model ({m.model_name})</b> vs coders: probability ≥ {m.threshold:g}, "
            f"{m.frames_compared:,} frames compared{note}"
            f"<table cellspacing='0' cellpadding='2'><tr><th></th>{head}</tr>"
            f"<tr><th align='left'>F1</th>{f1}</tr><tr><th align='left'>κ</th>{kappa}</tr>"
            "</table>")
        self.model_table.setVisible(True)

    # --- zoom and cursor ------------------------------------------------------------------
    @Slot()
    def zoom_all(self) -> None:
        """Show every labelled frame of the child."""
        if self.timeline is not None:
            self.zoom_to(self.timeline.first_frame, self.timeline.last_frame)

    @Slot(int, int)
    def zoom_to(self, start: int, end: int) -> None:
        """Show frames ``start``..``end`` (a segment) across the whole width."""
        self.view.zoom_to(start, end)

    def visible_frames(self) -> tuple[float, float]:
        """The x range on screen (frame numbers)."""
        return self.view.visible_frames()

    @Slot(int)
    def set_cursor(self, frame: int) -> None:
        """Put the cursor on ``frame`` without emitting; scroll when it left the view."""
        frame = int(frame)
        if self.timeline is None or frame == self.cursor:
            return
        self.cursor = frame
        lo, hi = self.visible_frames()
        if not lo <= frame <= hi:
            span = hi - lo
            self.view.au_plot.setXRange(frame - 0.1 * span, frame + 0.9 * span, padding=0)
        self.view.show_cursor(frame)
        self._update_readout()

    def _move_cursor(self, frame: int) -> None:
        tl = self.timeline
        if tl is None:
            return
        frame = int(np.clip(frame, tl.first_frame, tl.last_frame))
        if frame != self.cursor:
            self.set_cursor(frame)
            self.cursor_moved.emit(frame)

    def _clicked(self, event) -> None:  # pg.GraphicsScene.MouseClickEvent
        if event.button() != Qt.MouseButton.LeftButton or self.timeline is None:
            return
        pos: QPointF = event.scenePos()
        for plot in self.view.plots:
            if plot.isVisible() and plot.vb.sceneBoundingRect().contains(pos):
                self._move_cursor(int(round(plot.vb.mapSceneToView(pos).x())))
                event.accept()
                return

    def _cursor_dragged(self, line: pg.InfiniteLine) -> None:
        tl = self.timeline
        if tl is None:
            return
        frame = int(np.clip(round(line.value()), tl.first_frame, tl.last_frame))
        self.view.show_cursor(frame, lines=False)
        if frame != self.cursor:
            self.cursor = frame
            self._pending = frame
            self._update_readout()
            if not self._drag_timer.isActive():
                self._drag_timer.start()

    def _emit_pending(self) -> None:
        if self._pending is not None:
            frame, self._pending = self._pending, None
            self.cursor_moved.emit(frame)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt name)
        """Left/Right: one frame; with Shift: ten; Home/End: first/last labelled frame."""
        tl, key = self.timeline, event.key()
        if tl is None or self.cursor is None:
            super().keyPressEvent(event)
            return
        step = 10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
        moves = {Qt.Key.Key_Left: self.cursor - step, Qt.Key.Key_Right: self.cursor + step,
                 Qt.Key.Key_Home: tl.first_frame, Qt.Key.Key_End: tl.last_frame}
        if key in moves:
            self._move_cursor(moves[key])
        else:
            super().keyPressEvent(event)

    # --- the readout under the plots --------------------------------------------------
    def frame_summary(self, frame: int) -> str:
        """What the coders and raters said about ``frame``, in one line."""
        tl = self.timeline
        if tl is None:
            return ""
        k = int(np.searchsorted(tl.frames, frame))
        beyond = (" · beyond the video" if tl.video_frames and frame >= tl.video_frames
                  else "")
        if k >= len(tl.frames) or tl.frames[k] != frame:
            return f"Frame {frame}: not labelled (between segments){beyond}"
        aus = [a if tl.au[i, k] == 1 else f"{a} ({HRM_CELL[int(tl.au[i, k])]})"
               for i, a in enumerate(tl.aus) if tl.au[i, k] and a != "AU0"]
        if np.isfinite(tl.rating_mean[k]):
            levels = " ".join(f"{n} {int(v)}" for n, v in zip(RATER_NAMES, tl.raters[:, k],
                                                              strict=True))
            rating = f"atypicality {tl.rating_mean[k]:.2f} ({levels})"
        else:
            rating = "no ratings"
        return (f"Frame {frame} · segment {tl.segment[k]} of {len(tl.segments)} · "
                f"ASD flag {int(tl.asd[k])} · {rating} · AUs: {', '.join(aus) or 'none'}"
                f"{beyond}")

    def _update_readout(self) -> None:
        if self.cursor is not None:
            self.readout.setText(self.frame_summary(self.cursor))
