"""The valence-arousal votes of one image on the circumplex plane.

Valence on x, arousal on y, both in [-1, 1], with the unit circle and the two axes. C25
votes sit on a 0.25 grid, so many coincide: each distinct point is drawn once, its area
proportional to the number of annotators who chose it (larger ones first, so a small
point is never hidden under a large one), and the count is written on it. The crowd mean
is a red cross, the official AffectNet point an orange diamond. Model predictions are
stars, one colour per run (the histogram's), named in a second legend line.

Drawn with QPainter on a square :class:`~faceexplorer.gui.detail.canvas.PlotCanvas`
(fixed ranges, no mouse interaction: pyqtgraph's scene only cost time); the frame, the
circle and the axes are cached per size. Pixel positions come from pure methods
(:meth:`VAPlane.frame`, :meth:`~VAPlane.point_px`, :meth:`~VAPlane.marker_rects`) shared
by the paint and the tests. Hovering a point names its V/A, its annotators (their ids when
given) and what it is; where markers overlap, every one under the cursor is named.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QVBoxLayout, QWidget

from faceexplorer.gui.detail import canvas, plotting

LIMIT = 1.18
#: Marker diameter (px) of a point chosen by one annotator; area grows with the count.
BASE_SIZE = 11.0
TICKS = (-1.0, -0.5, 0.0, 0.5, 1.0)
MEAN_SIZE, AFFECTNET_SIZE, STAR_SIZE = 18.0, 15.0, 17.0
#: Annotator ids per line of a point's tooltip.
IDS_PER_LINE = 3


def marker_size(count: int | np.ndarray) -> np.ndarray:
    """Diameter of a point chosen by ``count`` annotators: area proportional to count."""
    return BASE_SIZE * np.sqrt(np.asarray(count, dtype=float))


def coincident_votes(valence: Sequence[float | None], arousal: Sequence[float | None]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (valence, arousal) points and how many annotators chose each.

    Votes missing either value are left out. Returns x, y, counts (sorted by x, y).
    """
    v = np.array([np.nan if x is None else x for x in valence], dtype=float)
    a = np.array([np.nan if x is None else x for x in arousal], dtype=float)
    ok = ~(np.isnan(v) | np.isnan(a))
    if not ok.any():
        empty = np.empty(0)
        return empty, empty, np.empty(0, dtype=int)
    points, counts = np.unique(np.column_stack([v[ok], a[ok]]), axis=0, return_counts=True)
    return points[:, 0], points[:, 1], counts


class VAPlane(QWidget):
    """Votes (size = count), their mean and the AffectNet point on the V-A plane."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = canvas.PlotCanvas(self._draw_background, self._draw, self.tooltip_at,
                                      lambda: None, self)
        self._count_font = QFont(self.plot.font())
        self._count_font.setPointSizeF(7.5)
        self._count_font.setBold(True)
        self.legend = plotting.legend_label([
            ("●", plotting.VOTE, "votes (size, number: annotators)"),
            ("✖", plotting.MEAN, "mean"),
            ("◆", plotting.AFFECTNET, "AffectNet")], self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.legend)
        self.model_legend = plotting.legend_label([], self)
        self.model_legend.hide()
        layout.addWidget(self.model_legend)
        #: The models' (name, valence, arousal) as drawn.
        self.model_points: tuple[tuple[str, float, float], ...] = ()
        #: Their colours, in the same order.
        self.model_colours: tuple[str, ...] = ()

        self.points: tuple[tuple[float, float, int], ...] = ()
        #: The annotators of each point (empty tuples when not given to set_votes).
        self.point_annotators: tuple[tuple[str, ...], ...] = ()
        self.mean_point: tuple[float, float] | None = None
        self.affectnet_point: tuple[float, float] | None = None
        self._frame: tuple[tuple, canvas.Frame] | None = None

    @property
    def sizes(self) -> np.ndarray:
        """Marker diameters as drawn (px), in the order of :attr:`points`."""
        return marker_size(np.array([c for _, _, c in self.points], dtype=float))

    @property
    def count_texts(self) -> list[str]:
        """The count written on each point (empty for single votes), as shown."""
        return [str(c) if c > 1 else "" for _, _, c in self.points]

    def set_votes(self, valence: Sequence[float | None], arousal: Sequence[float | None],
                  mean: tuple[float | None, float | None],
                  affectnet: tuple[float | None, float | None] | None,
                  annotators: Sequence[str] | None = None) -> None:
        """Show the annotators' votes, their ``mean`` and the ``affectnet`` point (or None).

        ``annotators`` (optional, one per vote) name who chose each point in its tooltip.
        """
        x, y, counts = coincident_votes(valence, arousal)
        self.points = tuple((float(a), float(b), int(c)) for a, b, c in zip(x, y, counts,
                                                                            strict=True))
        who: dict[tuple[float, float], list[str]] = {}
        if annotators is not None:
            for name, v, a in zip(annotators, valence, arousal, strict=True):
                if v is not None and a is not None and not (np.isnan(v) or np.isnan(a)):
                    who.setdefault((float(v), float(a)), []).append(name)
        self.point_annotators = tuple(tuple(who.get((px, py), ())) for px, py, _ in self.points)
        self.mean_point = _point(mean)
        self.affectnet_point = _point(affectnet) if affectnet is not None else None
        self.plot.update()

    def set_models(self, points: Sequence[tuple[str, float | None, float | None]],
                   colours: Sequence[str]) -> None:
        """Draw each model's predicted ``(name, valence, arousal)`` as a star.

        ``colours`` are the runs' colours (cycled); models without V/A are left out.
        """
        shown = [(name, float(v), float(a), colours[r % len(colours)])
                 for r, (name, v, a) in enumerate(points) if v is not None and a is not None]
        self.model_points = tuple((n, v, a) for n, v, a, _ in shown)
        self.model_colours = tuple(c for *_, c in shown)
        # breaks between runs or before a run's values, never inside "(+0.59, −0.06)"
        self.model_legend.setText(plotting.ENTRY_GAP.join(
            f"<span style='color:{c}; font-size:13pt'>★</span>&nbsp;{escape(n)} "
            f"({_signed(v)},&nbsp;{_signed(a)})" for n, v, a, c in shown))
        self.model_legend.setVisible(bool(shown))
        self.plot.update()

    # --- geometry (widget pixels of ``self.plot``) ------------------------------------------
    def frame(self, size: QSize | None = None) -> canvas.Frame:
        """The square data area, centred in the room the axes leave."""
        size = size or self.plot.size()
        key = (size.width(), size.height(), self.plot.font_generation)
        if self._frame is not None and self._frame[0] == key:
            return self._frame[1]
        fm = QFontMetricsF(self.plot.font())
        left = (fm.height() + 2 * canvas.GAP + canvas.TICK
                + max(fm.horizontalAdvance(_tick(t)) for t in TICKS))
        top, right = 8.0, 10.0
        bottom = canvas.bottom_margin(self.plot.font(), titled=True)
        room_w = size.width() - left - right
        room_h = size.height() - top - bottom
        side = max(min(room_w, room_h), 10.0)
        rect = QRectF(left + max(room_w - side, 0) / 2, top + max(room_h - side, 0) / 2,
                      side, side)
        self._frame = (key, canvas.Frame(rect, (-LIMIT, LIMIT), (-LIMIT, LIMIT)))
        return self._frame[1]

    def point_px(self, valence: float, arousal: float, size: QSize | None = None) -> QPointF:
        """Where ``(valence, arousal)`` is drawn."""
        return self.frame(size).px(valence, arousal)

    def marker_rects(self, size: QSize | None = None) -> list[QRectF]:
        """Each vote point's marker (its bounding square), in the order of :attr:`points`."""
        f = self.frame(size)
        return [QRectF(f.px_x(v) - d / 2, f.px_y(a) - d / 2, d, d)
                for (v, a, _), d in zip(self.points, self.sizes, strict=True)]

    def tooltip_at(self, pos: QPointF) -> str | None:
        """Everything under ``pos``, topmost first: model stars, AffectNet, mean, votes.

        All of them, not only the topmost: the mean, the AffectNet point and a model's
        star often land on one spot (or on a vote), and each hides the others' marker.
        """
        f = self.frame()

        def near(v: float, a: float, diameter: float) -> bool:
            c = f.px(v, a)
            return (c.x() - pos.x()) ** 2 + (c.y() - pos.y()) ** 2 <= max(diameter / 2, 6) ** 2

        parts = [f"{name}: valence {_signed(v)}, arousal {_signed(a)}"
                 for name, v, a in self.model_points if near(v, a, STAR_SIZE)]
        if self.affectnet_point and near(*self.affectnet_point, AFFECTNET_SIZE):
            parts.append("AffectNet label: valence {}, arousal {}".format(
                *map(_signed, self.affectnet_point)))
        if self.mean_point and near(*self.mean_point, MEAN_SIZE):
            parts.append("crowd mean: valence {}, arousal {}".format(
                *map(_signed, self.mean_point)))
        # the smallest vote first (drawn last, on top)
        for k in np.argsort(self.sizes, kind="stable"):
            v, a, n = self.points[k]
            if near(v, a, float(self.sizes[k])):
                text = (f"valence {_signed(v)}, arousal {_signed(a)}: "
                        f"{n} annotator{'s' * (n != 1)}")
                ids = self.point_annotators[k] if self.point_annotators else ()
                lines = [", ".join(ids[i:i + IDS_PER_LINE])
                         for i in range(0, len(ids), IDS_PER_LINE)]
                parts.append("\n".join([text, *lines]))
        return "\n".join(parts) if parts else None

    # --- painting -------------------------------------------------------------------------
    def _draw_background(self, p: QPainter, size: QSize) -> None:
        f = self.frame(size)
        p.setPen(QPen(QColor("#bdbdbd"), 1))
        p.drawLine(f.px(-LIMIT, 0), f.px(LIMIT, 0))
        p.drawLine(f.px(0, -LIMIT), f.px(0, LIMIT))
        p.setPen(QPen(QColor("#9e9e9e"), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        radius = f.scale_x()
        p.drawEllipse(f.px(0, 0), radius, radius)
        ticks = [(t, _tick(t)) for t in TICKS]
        x_ticks = [(t, _tick(t)) for t in self.x_ticks(size)]
        canvas.draw_axes(p, f, self.plot.font(), x_ticks, ticks, "valence", "arousal")

    def x_ticks(self, size: QSize | None = None) -> tuple[float, ...]:
        """The valence ticks labelled: every half, or only −1, 0, 1 when a small plane
        would write "−0.5 0 0.5" into each other (the compact layout at 1366x768)."""
        f = self.frame(size)
        fm = QFontMetricsF(self.plot.font())
        widest = max(fm.horizontalAdvance(_tick(t)) for t in TICKS)
        return TICKS if 0.5 * f.scale_x() >= widest + 6 else (-1.0, 0.0, 1.0)

    def _draw(self, p: QPainter, size: QSize) -> None:
        f = self.frame(size)
        p.setClipRect(f.rect)
        rects = self.marker_rects(size)
        order = sorted(range(len(rects)), key=lambda k: -rects[k].width())
        p.setPen(QPen(QColor("#0d3a6e"), 1))
        p.setBrush(plotting.VOTE)
        for k in order:
            p.drawEllipse(rects[k])
        if self.mean_point is not None:
            p.setPen(QPen(Qt.GlobalColor.white, 1.5))
            p.setBrush(plotting.MEAN)
            p.drawPath(canvas.cross(MEAN_SIZE).translated(f.px(*self.mean_point)))
        if self.affectnet_point is not None:
            p.setPen(QPen(QColor("#8a3b00"), 1))
            p.setBrush(plotting.AFFECTNET)
            p.drawPath(canvas.diamond(AFFECTNET_SIZE).translated(f.px(*self.affectnet_point)))
        p.setPen(QPen(Qt.GlobalColor.white, 1))
        for (_, v, a), colour in zip(self.model_points, self.model_colours, strict=True):
            p.setBrush(QColor(colour))
            p.drawPath(canvas.star(STAR_SIZE).translated(f.px(v, a)))
        p.setFont(self._count_font)
        p.setPen(Qt.GlobalColor.white)
        for text, rect in zip(self.count_texts, rects, strict=True):
            if text:
                p.drawText(rect.adjusted(-10, -10, 10, 10), Qt.AlignmentFlag.AlignCenter, text)


def _point(p: tuple[float | None, float | None]) -> tuple[float, float] | None:
    return None if p[0] is None or p[1] is None else (float(p[0]), float(p[1]))


def _tick(t: float) -> str:
    return f"{t:g}".replace("-", "−")


def _signed(x: float) -> str:
    return f"{x:+.2f}".replace("-", "−")
