"""The detail panel: one image, its official label and, for C25 images, the crowd.

Layout, left to right: the face (with its box and landmarks); the vote histogram above
the valence-arousal plane; the statistics block above the "who voted what" table. Below
``COMPACT_WIDTH`` (a laptop window, where three columns left the tables ~100 px wide) the
tables column moves under the face instead: two columns of ~half the panel each. The
arrangement changes only on a resize, never per image (one reparenting of one splitter;
each plot still paints once per shown image). The
crowd columns are hidden, not left empty, for an image without C25 votes and for an
index without C25 data. Stored model predictions add a "Model predictions" table above
the statistics, their distributions as thin bars on the vote histogram and their V/A as
stars on the plane; all hidden when no run predicted the image.
:meth:`DetailPanel.show_image` hands the query and the image decoding to a worker
(``loader``) and paints when the newest answer arrives; the ``shown`` signal says when
the panel has been painted (the bench times that).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from html import escape

import duckdb
from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.gui.core.session import IndexView
from faceexplorer.gui.detail import plotting
from faceexplorer.gui.detail.captions import affectnet_html, face_title
from faceexplorer.gui.detail.crowd_stats import CrowdStats, VotesModel, votes_table
from faceexplorer.gui.detail.face_view import FaceView
from faceexplorer.gui.detail.loader import DetailLoader, Loaded
from faceexplorer.gui.detail.model_predictions import ModelTable
from faceexplorer.gui.detail.read_ahead import DetailReadAhead
from faceexplorer.gui.detail.va_plane import VAPlane
from faceexplorer.gui.detail.vote_histogram import MODEL_COLOURS, VoteHistogram
from faceexplorer.reports.image_detail import (
    ImageDetail,
    LazyC25Names,
    image_detail,
    index_tables,
)

#: The page is read ahead once the user has left it alone this long (ms): a click made
#: sooner (paging on, or picking an image at once) is not slowed by the read-ahead.
READ_AHEAD_IDLE_MS = 250

#: Below this panel width the statistics and votes go under the face (two columns);
#: from it on they get a third column (~30 % of the width, >= ~300 px).
COMPACT_WIDTH = 1000


def _known(detail: ImageDetail) -> ImageDetail:
    return detail


class DetailPanel(QWidget, IndexView):
    """Everything about one image. Standalone: ``attach(session)``, then ``show_image``."""

    #: Emitted after the panel shows a new image (its ImageDetail, or None on failure).
    shown = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._tables: frozenset[str] = frozenset()
        self._c25_names: Mapping[int, dict[int, str | None]] = {}
        self._request = 0
        self.current: ImageDetail | None = None
        self.loader = DetailLoader(self)
        self.loader.loaded.connect(self._on_loaded)
        #: The details of the browser's page, read ahead (``read_ahead.py``); per connection.
        self.read_ahead: DetailReadAhead | None = None
        self._read_ahead_keys: list[tuple[str, int]] = []
        self._read_ahead_timer = QTimer(self)
        self._read_ahead_timer.setSingleShot(True)
        self._read_ahead_timer.setInterval(READ_AHEAD_IDLE_MS)
        self._read_ahead_timer.timeout.connect(self._start_read_ahead)

        self.title = QLabel(self)
        self.title.setObjectName("detailTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setStyleSheet("font-size: 12pt;")
        # Text lines must not set the panel's minimum width: a longer file name would
        # make the Faces splitter re-share its width (and re-lay out the whole tab).
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.subtitle = QLabel(self)
        self.subtitle.setObjectName("detailAffectNet")
        self.subtitle.setTextFormat(Qt.TextFormat.RichText)
        self.subtitle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.notice = QLabel(self)
        self.notice.setObjectName("detailNotice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(f"color: {plotting.WARNING.name()};")
        self.notice.hide()

        self.face = FaceView(self)
        self.face_card = plotting.PlotCard("Face · box and 68 landmarks", self.face, "face",
                                           self, export=self.face.graphics)

        self.histogram = VoteHistogram(self)
        self.histogram_card = plotting.PlotCard("Expression votes", self.histogram,
                                                "expression_votes", self)
        self.histogram_card.setMinimumHeight(250)
        self.va = VAPlane(self)
        self.va_card = plotting.PlotCard("Valence · arousal votes", self.va, "va_votes", self)
        self.va_card.setMinimumSize(240, 280)
        self.stats = CrowdStats(self)   # scrolls itself when the card is short
        self.stats_card = plotting.PlotCard("Per-image statistics", self.stats,
                                            "image_stats", self)
        self.votes_model = VotesModel(self)
        self.votes_view = votes_table(self.votes_model, self)
        self.votes_card = plotting.PlotCard("Who voted what", self.votes_view, "votes", self)
        self.models = ModelTable(self)
        self.models_scroll = QScrollArea(self)
        self.models_scroll.setWidgetResizable(True)
        self.models_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.models_scroll.setWidget(self.models)
        self.models_card = plotting.PlotCard("Model predictions", self.models_scroll,
                                             "model_predictions", self, export=self.models)

        self.crowd = QSplitter(Qt.Orientation.Horizontal, self)
        self.crowd.setObjectName("crowdPanels")
        self.plots = plots = QSplitter(Qt.Orientation.Vertical, self.crowd)
        plots.addWidget(self.histogram_card)
        plots.addWidget(self.va_card)
        plots.setStretchFactor(0, 2)
        plots.setStretchFactor(1, 3)
        self.tables = tables = QSplitter(Qt.Orientation.Vertical, self.crowd)
        tables.setObjectName("crowdTables")
        tables.addWidget(self.models_card)
        tables.addWidget(self.stats_card)
        tables.addWidget(self.votes_card)
        tables.setStretchFactor(2, 1)
        tables.setSizes([150, 300, 470])
        self.crowd.addWidget(plots)
        self.crowd.addWidget(tables)
        self.crowd.setStretchFactor(0, 1)
        self.crowd.setStretchFactor(1, 1)

        self.body = QSplitter(Qt.Orientation.Horizontal, self)
        # the face's column; in the compact arrangement the tables sit under the face
        self.left = QSplitter(Qt.Orientation.Vertical, self.body)
        self.left.setObjectName("faceColumn")
        self.left.addWidget(self.face_card)
        self.left.setChildrenCollapsible(False)
        self.compact = False
        self._parts = (False, False, False)
        self.body.addWidget(self.left)
        self.body.addWidget(self.crowd)
        self.body.setStretchFactor(0, 2)
        self.body.setStretchFactor(1, 3)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.notice)
        layout.addWidget(self.body, 1)
        self._min_width = 0
        self._show_message("No image selected")

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.set_compact(event.size().width() < COMPACT_WIDTH)

    def set_compact(self, compact: bool) -> None:
        """Tables under the face (``True``) or in their own column beside the plots."""
        if compact == self.compact:
            return
        self.compact = compact
        width = max(self.body.width(), self.width() - 12, 400)
        if compact:
            self.left.addWidget(self.tables)
            self.left.setStretchFactor(0, 2)
            self.left.setStretchFactor(1, 3)
            self.tables.setStretchFactor(1, 2)
            self.tables.setStretchFactor(2, 3)
            # face 2 : tables 3; the votes table gets more of the tables than the text
            height = max(self.left.height(), 400)
            self.left.setSizes([height * 2 // 5, height - height * 2 // 5])
            rest = height - height * 2 // 5
            self.tables.setSizes([120, rest * 2 // 5, rest - rest * 2 // 5])
        else:
            self.crowd.addWidget(self.tables)
            self.crowd.setStretchFactor(1, 1)
        self._set_parts_visible(*self._parts, force=True)
        # compact: two equal columns; wide: face 2 : crowd 3, the crowd's halves equal
        face = width // 2 if compact else width * 2 // 5
        self.body.setSizes([face, width - face])
        if not compact:
            half = (width - face) // 2
            self.crowd.setSizes([half, width - face - half])

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        # The widest minimum seen so far (votes shown): a minimum that shrank again for an
        # image without votes made the Faces splitter re-share its width, re-laying out
        # and repainting the whole tab, at every switch between the two kinds of image.
        hint = super().minimumSizeHint()
        self._min_width = max(self._min_width, hint.width())
        return QSize(self._min_width, hint.height())

    # --- public API ---------------------------------------------------------------------
    def hold_cursors(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Give the loader and the read-ahead cursors of ``con`` (None: close them, as the
        session asks before it switches the connection's mode)."""
        self._request += 1  # whatever is in flight belongs to the old connection
        self.loader.wait_idle()
        self._read_ahead_timer.stop()
        if self.read_ahead is not None:   # its cursor belongs to the old connection
            self.read_ahead.close()
            self.read_ahead = None
        if self._cursor is not None:
            self._cursor.close()
        names = self._c25_names
        if isinstance(names, LazyC25Names) and not names.loaded:
            names.close()                 # its cursor belongs to the old connection
            names = self._c25_names = {}
        if con is not None and "c25_images" in self._tables and not names:
            self._c25_names = LazyC25Names(con)   # read on a worker when first needed
        # The worker thread needs its own cursor: DuckDB connections are not thread-safe.
        self._cursor = con.cursor() if con is not None else None
        spawn = self.session.tasks.spawn if self.session is not None else None
        self.loader.use(spawn)
        if con is not None:
            self.read_ahead = DetailReadAhead(con, self._tables, self._c25_names,
                                              spawn=spawn)

    def show_index(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Show images of ``con``'s index, or none (None: it is closing)."""
        # Read once per opening or write of the index.
        self._tables = index_tables(con) if con is not None else frozenset()
        if isinstance(self._c25_names, LazyC25Names):
            self._c25_names.close()
        self._c25_names = {}               # hold_cursors reads them anew (lazily)
        self.hold_cursors(con)
        self._show_message("No image selected" if con is not None else "No index open")

    def read_ahead_page(self, keys: list[tuple[str, int]]) -> None:
        """Read the details of ``keys`` (the browser's page) ahead, so clicks only paint.

        Started after ``READ_AHEAD_IDLE_MS`` without another page: the page and its first
        image are painted by then, and a user paging on never waits for pages left behind.
        """
        self._read_ahead_keys = list(keys)
        self._read_ahead_timer.start()

    def background_settled(self) -> bool:
        """No detail being read or read ahead (benchmarks wait for this off the clock)."""
        return (self.loader.idle() and not self._read_ahead_timer.isActive()
                and (self.read_ahead is None or self.read_ahead.idle()))

    def close_workers(self) -> None:
        """Stop the read-ahead (at shutdown; ``hold_cursors`` makes a new one)."""
        self._read_ahead_timer.stop()
        if self.read_ahead is not None:
            self.read_ahead.close()
            self.read_ahead = None

    def _start_read_ahead(self) -> None:
        if self.read_ahead is not None and self._read_ahead_keys:
            self.read_ahead.request(self._read_ahead_keys)

    def show_image(self, split: str, row_index: int, c25_set: int | None = None) -> None:
        """Show the image ``(split, row_index)`` as soon as it is read (``shown`` follows)."""
        self._request += 1
        if self._cursor is None:
            self._show_message("No index open")
            self.shown.emit(None)
            return
        known = None
        if self.read_ahead is not None:
            self.read_ahead.pause()   # this click first (resumed once painted)
            known = self.read_ahead.get((split, int(row_index)))
        if known is not None and c25_set in (None, known.crowd and known.crowd.c25_set):
            # read ahead with its page: the worker only reads the image file
            self.loader.request(self._request, partial(_known, known))
            return
        self.loader.request(self._request, partial(
            image_detail, self._cursor, split, int(row_index), c25_set, self._tables,
            self._c25_names))

    def clear(self) -> None:
        """Show nothing (e.g. the browser's selection became empty)."""
        self._request += 1   # the click in flight will not be painted: nothing to wait for
        if self.read_ahead is not None:
            self.read_ahead.resume()
        self._show_message("No image selected")

    # --- painting -----------------------------------------------------------------------
    def _on_loaded(self, result: Loaded) -> None:
        if result.request != self._request:
            return  # an older request answered after a newer one was made
        try:
            self._show_loaded(result)
        finally:
            if self.read_ahead is not None:
                self.read_ahead.resume()   # painted: the read-ahead may go on

    def _show_loaded(self, result: Loaded) -> None:
        if result.detail is None:
            self._show_message("Cannot show this image", result.error)
            self.shown.emit(None)
            return
        # Every part changes at once, then the panel paints once: with updates off, the
        # re-layouts the new texts and parts ask for run first. Left to the event loop,
        # they came in separate passes, each painting the panel again.
        self.setUpdatesEnabled(False)
        try:
            self.paint(result)
            # The statistics' text is laid out now, not during the paint: its size change
            # queues the view's scroll-bar update (a MetaCall), whose re-layout would
            # otherwise come after the paint and paint the panel again.
            self.stats.document().size()
            QApplication.sendPostedEvents(self.stats, QEvent.Type.MetaCall)
            QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        finally:
            self.setUpdatesEnabled(True)
        # Qt would post the paint at low priority, after other queued work: paint now, so
        # "shown" means painted (the bench times select -> shown).
        self.repaint()
        self.shown.emit(result.detail)

    def paint(self, result: Loaded) -> None:
        """Update every part for ``result`` (items are reused, never rebuilt)."""
        d = result.detail
        assert d is not None
        self.current = d
        a, c = d.affectnet, d.crowd
        name = a.filename if a is not None else (c.filename if c is not None else "")
        badge = ""
        if c is not None:
            badge = (f" <span style='background:#e3edf9;color:#0d3a6e'>&nbsp;AffectNetC25 "
                     f"set {c.c25_set}&nbsp;</span>")
        # The badge before the file name: a long (hashed) name is what gets cut at the
        # panel's edge, and reads in full in the tooltip.
        self.title.setText(f"<b>{escape(d.split)} · row {d.row_index:,}</b>{badge} "
                           f"<span style='color:gray'>{escape(name or '')}</span>")
        self.title.setToolTip(name or "")
        self.subtitle.setText(affectnet_html(a))
        self.subtitle.show()
        problem = d.link_problem
        self.notice.setText(f"⚠ {problem}" if problem else "")
        self.notice.setVisible(bool(problem))
        self.face.set_face(result.image, a.face_box if a else None,
                           a.landmarks if a else None, result.image_problem)
        self.face_card.set_title(face_title(a))
        self._set_parts_visible(True, c is not None, bool(d.predictions))
        if d.predictions:
            self.models.set_detail(d)
            n = len(d.predictions)
            self.models_card.set_title(f"Model predictions · {n} run{'s' * (n > 1)}")
        if c is None:
            return
        label = a.expression if a is not None and not problem else None
        self.histogram.set_votes(c.counts, c.majority, c.tied_labels, label)
        top = max(c.counts.values()) if c.counts else 0
        if c.tie:
            tied = " = ".join(escape(t) for t in c.tied_labels)
            state = (f"<span style='color:{plotting.WARNING.name()}'>tie</span> {tied} "
                     f"({top} each) → {escape(c.majority or '')}")
        else:
            state = f"majority <b>{escape(c.majority or '–')}</b> ({top} of {c.n_votes})"
        self.histogram_card.set_title(f"Expression votes · {state}")
        va = (a.valence, a.arousal) if a is not None and not problem else None
        self.va.set_votes([v.valence for v in c.votes], [v.arousal for v in c.votes],
                          (c.valence.mean, c.arousal.mean), va,
                          annotators=[v.annotator for v in c.votes])
        self.stats.set_crowd(c, label)
        self.votes_model.set_votes(c.votes, c.majority)
        self.votes_card.set_title(f"Who voted what · {len(c.votes)} annotators")
        preds = [p for p in d.predictions if p.valid]
        self.histogram.set_models([(p.model_name or p.run_id, p.expression) for p in preds],
                                  c.n_votes)
        self.va.set_models([(p.model_name or p.run_id, p.valence, p.arousal) for p in preds],
                           MODEL_COLOURS)

    def _show_message(self, title: str, detail: str | None = None) -> None:
        self.current = None
        self.title.setText(f"<b>{escape(title)}</b>")
        self.subtitle.setText(escape(detail or ""))
        self.subtitle.setVisible(bool(detail))
        self.notice.hide()
        self.face.set_face(None, None, None, None)
        self._set_parts_visible(False, False, False)

    def _set_parts_visible(self, face: bool, crowd: bool, models: bool,
                           force: bool = False) -> None:
        self._parts = (face, crowd, models)
        right = crowd or models
        changed = (face, right) != (self.face_card.isVisibleTo(self),
                                    self.crowd.isVisibleTo(self))
        self.face_card.setVisible(face)
        if self.compact:
            # the plots' column holds only the plots; the tables follow the face column
            self.crowd.setVisible(crowd)
            self.tables.setVisible(right)
            self.left.setVisible(face or right)
        else:
            self.crowd.setVisible(right)
            self.tables.setVisible(True)
            self.left.setVisible(face)
        if right or force:
            # without votes the model table stands alone on the right; a splitter gives a
            # part shown again no width, so the crowd's halves are shared out anew
            reshown = crowd and not self.plots.isVisibleTo(self)
            for card in (self.plots, self.stats_card, self.votes_card):
                card.setVisible(crowd)
            self.models_card.setVisible(models)
            if reshown and not self.compact:
                half = max(self.crowd.width(), 400) // 2
                self.crowd.setSizes([half, half])
        if changed and face and right:
            # A splitter re-shares its width when a part reappears; restore 2 : 3 rather
            # than let the face banner's text decide (the user's own drag is kept while
            # the parts stay visible).
            width = max(self.body.width(), 600)
            face_width = width // 2 if self.compact else width * 2 // 5
            self.body.setSizes([face_width, width - face_width])
