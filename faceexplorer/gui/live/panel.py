"""The predictions beside the live video: bars per expression, valence/arousal, AUs.

The frame itself carries only the face boxes (``inference.overlay``): bars and discs drawn
over the face hid its eyes and brows. This panel shows one face - the largest of the
newest prediction, the one the timeline follows too - as

- the top expression in words ("happy 87 %") and one horizontal bar per expression of
  the model's card, in the card's order (the top one highlighted);
- valence (x) and arousal (y) as a point in the unit disc, with the numbers;
- one bar per AU for AU models (present AUs, over the card's threshold, highlighted;
  named under the heading when the model has no expressions).

Each part shows only when the model has that output; on a frame without a face the
bars and the point go empty under "No face found". ``show_prediction(latest)`` is cheap
(bar lengths and one point are set, nothing is rebuilt unless the labels change: 0.5 ms
of CPU with its repaint), so the view calls it with the prediction drawn on each frame it
paints, whenever that changes: the panel and the boxes on the frame always agree.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from faceexplorer.gui.pg_setup import pg
from faceexplorer.inference.live import LatestPrediction
from faceexplorer.inference.postprocess import Prediction

BAR = "#9bb7d4"
TOP = "#e8710a"
WIDTH = 300


def _plot(height: int) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(False, False)
    plot.hideButtons()
    plot.setFixedHeight(height)
    return plot


class PredictionPanel(QWidget):
    """The newest prediction of one face, beside the video (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedWidth(WIDTH)
        self.values: dict[str, float] = {}   # the expression bars shown, label -> p
        self.aus: dict[str, float] = {}
        self.va: tuple[float, float] | None = None
        self.shown: LatestPrediction | None = None   # what the panel shows now
        self.heading = QLabel("No prediction yet")
        self.heading.setStyleSheet("font-size: 15pt; font-weight: bold;")
        self.heading.setWordWrap(True)
        self.detail = QLabel("")
        self.detail.setStyleSheet("color: #555;")
        self.detail.setWordWrap(True)
        self.bars = _plot(175)
        self.bars.setXRange(0, 1, padding=0.02)
        self.bars.getViewBox().invertY(True)
        self.bars.setLabel("bottom", "probability")
        self.bar_item = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[], brushes=[])
        self.bars.addItem(self.bar_item)
        self.va_plot = _plot(150)
        self.va_plot.setAspectLocked(True)
        self.va_plot.setXRange(-1.05, 1.05, padding=0)
        self.va_plot.setYRange(-1.05, 1.05, padding=0)
        self.va_plot.setLabel("bottom", "valence")
        self.va_plot.setLabel("left", "arousal")
        disc = pg.QtWidgets.QGraphicsEllipseItem(-1, -1, 2, 2)
        disc.setPen(pg.mkPen("#999"))
        self.va_plot.addItem(disc)
        self.va_plot.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen("#ccc")))
        self.va_plot.addItem(pg.InfiniteLine(0, angle=90, pen=pg.mkPen("#ccc")))
        self.va_point = pg.ScatterPlotItem(size=12, brush=pg.mkBrush(TOP), pen=None)
        self.va_plot.addItem(self.va_point)
        self.va_text = QLabel("")
        self.au_plot = _plot(140)
        self.au_plot.setXRange(0, 1, padding=0.02)
        self.au_plot.getViewBox().invertY(True)
        self.au_item = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[], brushes=[])
        self.au_plot.addItem(self.au_item)
        self.au_plot.setLabel("bottom", "AU probability")
        self.au_plot.setToolTip("Present AUs (over the card's threshold) are highlighted")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        for w in (self.heading, self.detail, self.bars, self.va_plot, self.va_text,
                  self.au_plot):
            layout.addWidget(w)
        layout.addStretch(1)
        self._labels: tuple[str, ...] = ()
        self._au_labels: tuple[str, ...] = ()
        self.clear()

    def clear(self, text: str = "No prediction yet") -> None:
        """Nothing to show (before the first prediction, or a new session)."""
        self.heading.setText(text)
        self.detail.setText("")
        self.values, self.aus, self.va, self.shown = {}, {}, None, None
        for w in (self.bars, self.va_plot, self.va_text, self.au_plot):
            w.setVisible(False)

    def show_prediction(self, latest: LatestPrediction) -> None:
        """Show the largest valid face of ``latest`` (or say there is none)."""
        self.shown = latest
        faces = [p for p in latest.predictions if p.valid]
        if not faces:
            bad = len(latest.predictions) - len(faces)
            self.heading.setText("Model output NaN/Inf" if bad else "No face found")
            self.detail.setText(f"frame {latest.frame_index}")
            self._empty()
            return
        face = max(faces, key=lambda p: p.box[2] * p.box[3])
        others = f" · largest of {len(faces)} faces" if len(faces) > 1 else ""
        self.detail.setText(f"frame {latest.frame_index} · model {latest.model_ms:.0f} ms"
                            + others)
        self._expressions(face)
        self._valence_arousal(face)
        self._aus(face)

    def _empty(self) -> None:
        """No face on this frame: the bars and the point go empty (the plots stay, so the
        panel does not jump); the last face's values stayed under "No face found"."""
        self.values, self.aus, self.va = {}, {}, None
        for item, labels in ((self.bar_item, self._labels), (self.au_item, self._au_labels)):
            item.setOpts(x0=[0.0] * len(labels), y=list(range(len(labels))),
                         width=[0.0] * len(labels), brushes=[BAR] * len(labels))
        self.va_point.setData([], [])
        self.va_text.setText("valence - · arousal -")

    def _expressions(self, face: Prediction) -> None:
        self.bars.setVisible(bool(face.expression))
        if not face.expression:
            self.heading.setText(f"Face {face.face_index + 1}")
            return
        labels = tuple(face.expression)
        if labels != self._labels:
            self._labels = labels
            self.bars.getAxis("left").setTicks([list(enumerate(labels))])
            self.bars.setYRange(-0.5, len(labels) - 0.5, padding=0.02)
        top = face.top_expression
        self.values = dict(face.expression)
        self.heading.setText(f"{top} {100 * self.values[top]:.0f}%")
        self.bar_item.setOpts(x0=[0.0] * len(labels), y=list(range(len(labels))),
                              width=[min(max(self.values[k], 0.0), 1.0) for k in labels],
                              brushes=[TOP if k == top else BAR for k in labels])

    def _valence_arousal(self, face: Prediction) -> None:
        has = face.valence is not None and face.arousal is not None
        self.va_plot.setVisible(has)
        self.va_text.setVisible(has)
        if not has:
            self.va = None
            return
        self.va = (float(face.valence), float(face.arousal))  # type: ignore[arg-type]
        self.va_point.setData([max(-1.0, min(1.0, self.va[0]))],
                              [max(-1.0, min(1.0, self.va[1]))])
        self.va_text.setText(f"valence {self.va[0]:+.2f} · arousal {self.va[1]:+.2f}")

    def _aus(self, face: Prediction) -> None:
        self.au_plot.setVisible(bool(face.aus))
        if not face.aus:
            self.aus = {}
            return
        labels = tuple(face.aus)
        if labels != self._au_labels:   # one row per AU, as the expressions
            self._au_labels = labels
            self.au_plot.getAxis("left").setTicks([list(enumerate(labels))])
            self.au_plot.setYRange(-0.5, len(labels) - 0.5, padding=0.02)
            self.au_plot.setFixedHeight(max(140, 13 * len(labels) + 45))
        self.aus = dict(face.aus)
        self.au_item.setOpts(x0=[0.0] * len(labels), y=list(range(len(labels))),
                             width=[min(max(self.aus[k], 0.0), 1.0) for k in labels],
                             brushes=[TOP if face.aus_present.get(k) else BAR
                                      for k in labels])
        if not face.expression:
            present = [k for k in labels if face.aus_present.get(k)]
            self.heading.setText(f"{len(present)} of {len(labels)} AUs present")
            self.detail.setText(self.detail.text() + "\n" + (", ".join(present) or "none"))
