"""The expression votes of one image as horizontal bars in canonical order.

Bars are coloured by role: the crowd majority dark blue, expressions tied with it
lighter blue with a dashed outline (a tie is shown as a tie, not hidden behind the
winner the pandas rule picks), the rest grey. The official AffectNet label gets an
orange outline and an orange marker beside its bar. Every bar carries its vote count,
written after the longest bar of its row (a model's may outrun the votes'). The plot
keeps a line of text per row at least, so the expression names never overlap.

Model predictions (one series per stored run) are thin coloured bars over the vote bars,
each run at its own offset inside the row: probability x the number of votes, so a model
that agrees with the crowd lines up with the vote counts.

Drawn with QPainter on a :class:`~faceexplorer.gui.detail.canvas.PlotCanvas` (the range
is fixed and there is no mouse interaction, so pyqtgraph's scene only cost time). Where
things land in widget pixels is computed by pure methods (:meth:`VoteHistogram.frame`,
:meth:`~VoteHistogram.bar_rects`, ...) that the paint and the tests share. Hovering a row
tells its votes, share and the models' probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QVBoxLayout, QWidget

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.gui.detail import canvas, plotting

BAR_WIDTH = 0.72
#: Thickness of one model series' bars (rows of the plot).
MODEL_BAR = 0.16
#: Colours of the model series, by run (cycled).
MODEL_COLOURS = ("#c2185b", "#2e7d32", "#6a1b9a", "#00838f")
#: Rows shown: a little room above the first bar and below the last.
Y_RANGE = (-0.6, len(EXPRESSIONS) - 0.4)
MARKER = 13.0   # AffectNet marker size (px)

_BRUSHES = {"majority": QBrush(plotting.MAJORITY), "tied": QBrush(plotting.TIED),
            "other": QBrush(plotting.OTHER_BAR)}
_PENS = {"affectnet": QPen(plotting.AFFECTNET, 3),
         "tied": QPen(QColor("#0d3a6e"), 2, Qt.PenStyle.DashLine),
         "other": QPen(QColor("#6d7f94"), 1)}


def x_top_for(n_votes: int) -> float:
    """The votes axis' end for ``n_votes``: room right of a bar of all the votes.

    Depends on the number of votes only (21..25 votes: one range), so the axis stays put
    from image to image and bar lengths compare across images at a glance.
    """
    votes = 5 * math.ceil(max(n_votes, 1) / 5)
    return max(5.0 * math.ceil(votes * 1.3 / 5.0), 10.0)


class VoteHistogram(QWidget):
    """Bars of votes per expression with the majority, ties and AffectNet label marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = canvas.PlotCanvas(self._draw_background, self._draw, self.tooltip_at,
                                      lambda: self._x_top, self)
        self.legend = plotting.legend_label([
            ("■", plotting.MAJORITY, "majority"),
            ("■", plotting.TIED, "tied (dashed)"),
            ("◀", plotting.AFFECTNET, "AffectNet label")], self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.legend)
        self.model_legend = plotting.legend_label([], self)
        self.model_legend.hide()
        layout.addWidget(self.model_legend)
        #: Drawn lengths of each model series (probability x votes), canonical order.
        self.model_heights: list[tuple[float, ...]] = []
        #: The model series' names, as in the legend.
        self.model_names: list[str] = []

        self.heights: tuple[int, ...] = (0,) * len(EXPRESSIONS)
        self.majority_index: int | None = None
        self.tied_indices: tuple[int, ...] = ()
        self.affectnet_index: int | None = None
        #: The count written right of each bar ("12", "12 tie", "" for none), as shown.
        self.count_texts: tuple[str, ...] = ("",) * len(EXPRESSIONS)
        self._x_top = 10.0
        self._model_votes = 0
        self._frame: tuple[tuple, canvas.Frame] | None = None
        # At least a line of text per row: a shorter plot (the compact layout at
        # 1366x768 left ~100 px) wrote the eight expression names over each other.
        self.plot.setMinimumHeight(self.minimum_plot_height())

    def minimum_plot_height(self) -> int:
        """The plot's height at which each row is one line of its font high."""
        line = QFontMetricsF(self.plot.font()).height()
        rows = Y_RANGE[1] - Y_RANGE[0]
        return math.ceil(8 + rows * line + canvas.bottom_margin(self.plot.font(), True))

    # --- state ----------------------------------------------------------------------------
    def set_votes(self, counts: Mapping[str, int], majority: str | None,
                  tied_labels: tuple[str, ...] = (), affectnet_label: str | None = None) -> None:
        """Show ``counts`` (by expression); mark ``majority``, the ties and AffectNet's label.

        ``tied_labels`` are the expressions sharing the top count (the majority among them);
        with one entry there is no tie. An AffectNet label outside the 8 expressions (none,
        uncertain, no-face) has no bar and is not marked here.
        """
        heights = tuple(int(counts.get(e, 0)) for e in EXPRESSIONS)
        self.heights = heights
        self.majority_index = EXPRESSIONS.index(majority) if majority in EXPRESSIONS else None
        tied = tuple(EXPRESSIONS.index(t) for t in tied_labels if t in EXPRESSIONS)
        self.tied_indices = tuple(sorted(tied)) if len(tied) > 1 else ()
        self.affectnet_index = (EXPRESSIONS.index(affectnet_label)
                                if affectnet_label in EXPRESSIONS else None)
        self.count_texts = tuple((str(n) if n else "") + (" tie" if k in self.tied_indices
                                                          else "")
                                 for k, n in enumerate(heights))
        self._x_top = x_top_for(sum(heights))
        self.plot.update()

    def set_models(self, series: list[tuple[str, dict[str, float]]], n_votes: int) -> None:
        """Draw each ``(model name, probabilities by expression)`` as thin bars.

        A bar's length is probability x ``n_votes`` (the crowd's votes), on the votes axis.
        Expressions a model lacks get no bar. Call after :meth:`set_votes`.
        """
        self.model_names = [name for name, _ in series]
        self._model_votes = n_votes
        self.model_heights = [tuple(float(probs.get(e, float("nan"))) * n_votes
                                    for e in EXPRESSIONS) for _, probs in series]
        longest = max((v for h in self.model_heights for v in h if math.isfinite(v)),
                      default=0.0)
        if longest > self._x_top:  # a confident model may outgrow the votes' range
            self._x_top = 5.0 * math.ceil(longest * 1.05 / 5.0)
        self.model_legend.setText(plotting.ENTRY_GAP.join(
            f"<span style='color:{MODEL_COLOURS[r % len(MODEL_COLOURS)]}; font-size:13pt'>"
            f"▬</span>&nbsp;{escape(name)}" for r, (name, _) in enumerate(series))
            + plotting.ENTRY_GAP + "<span style='color:gray'>(probability&nbsp;×&nbsp;"
            f"{n_votes}&nbsp;votes)</span>")
        self.model_legend.setVisible(bool(series))
        self.plot.update()

    @property
    def x_range(self) -> tuple[float, float]:
        """The votes axis as shown."""
        return 0.0, self._x_top

    # --- geometry (widget pixels of ``self.plot``) ------------------------------------------
    def frame(self, size: QSize | None = None) -> canvas.Frame:
        """Where the plot's data area lies in the plot widget, and its ranges."""
        size = size or self.plot.size()
        # Memoised: every geometry method asks for it, several times per paint.
        key = (size.width(), size.height(), self._x_top, self.plot.font_generation)
        if self._frame is None or self._frame[0] != key:
            fm = QFontMetricsF(self.plot.font())
            left = (max(fm.horizontalAdvance(e) for e in EXPRESSIONS)
                    + canvas.TICK + canvas.GAP + 6)
            bottom = canvas.bottom_margin(self.plot.font(), titled=True)
            rect = QRectF(left, 8, max(size.width() - left - 10, 10),
                          max(size.height() - 8 - bottom, 10))
            self._frame = (key, canvas.Frame(rect, self.x_range, Y_RANGE, invert_y=True))
        return self._frame[1]

    def bar_rects(self, size: QSize | None = None) -> list[QRectF]:
        """Each expression's vote bar (canonical order); zero votes: zero width."""
        f = self.frame(size)
        half = BAR_WIDTH / 2 * f.scale_y()
        return [QRectF(f.px_x(0), f.px_y(k) - half, n * f.scale_x(), 2 * half)
                for k, n in enumerate(self.heights)]

    def model_bar_rects(self, size: QSize | None = None) -> list[list[QRectF | None]]:
        """Per model series, its bar per expression (None where it has no probability)."""
        f = self.frame(size)
        n = len(self.model_heights)
        thick = MODEL_BAR * f.scale_y()
        out = []
        for r, lengths in enumerate(self.model_heights):
            # runs side by side inside the row, centred on the vote bar
            offset = (r - (n - 1) / 2) * MODEL_BAR * 1.15
            out.append([QRectF(f.px_x(0), f.px_y(k + offset) - thick / 2,
                               v * f.scale_x(), thick) if math.isfinite(v) else None
                        for k, v in enumerate(lengths)])
        return out

    def count_positions(self, size: QSize | None = None) -> list[QPointF]:
        """The left-middle point of each row's count text, a small gap after its bar.

        After the longest bar of the row, the models' included: written at the end of
        the vote bar, a count sat on a model's longer bar and could not be read.
        """
        f = self.frame(size)
        top = max(max(self.heights), 1)
        ends = list(self.heights)
        for lengths in self.model_heights:
            ends = [max(e, v) if math.isfinite(v) else e
                    for e, v in zip(ends, lengths, strict=True)]
        return [QPointF(f.px_x(n + 0.01 * top) + 4, f.px_y(k)) for k, n in enumerate(ends)]

    def affectnet_marker_pos(self, size: QSize | None = None) -> QPointF | None:
        """Centre of the AffectNet marker: right of its bar's count (None: no marker)."""
        k = self.affectnet_index
        if k is None:
            return None
        f = self.frame(size)
        start = self.count_positions(size)[k]
        text_end = start.x() + QFontMetricsF(self.plot.font()).horizontalAdvance(
            self.count_texts[k])
        x = max(f.px_x(self.heights[k] + 0.2 * self._x_top), text_end + 4 + MARKER / 2)
        return QPointF(x, start.y())

    def row_at(self, pos: QPointF) -> int | None:
        """The expression row under ``pos`` (its band across the plot and name), or None."""
        f = self.frame()
        if not (f.rect.top() <= pos.y() <= f.rect.bottom()) or pos.x() > f.rect.right():
            return None
        k = round(Y_RANGE[0] + (pos.y() - f.rect.top()) / f.scale_y())
        return k if 0 <= k < len(EXPRESSIONS) else None

    def tooltip_at(self, pos: QPointF) -> str | None:
        """``happy: 12 of 25 votes (48%)``, its role, and the models' probabilities."""
        k = self.row_at(pos)
        if k is None:
            return None
        total = sum(self.heights)
        n = self.heights[k]
        share = f" ({n / total:.0%})" if total else ""
        lines = [f"{EXPRESSIONS[k]}: {n} of {total} votes{share}"]
        roles = [("crowd majority", k == self.majority_index),
                 ("tied for the top count", k in self.tied_indices),
                 ("AffectNet label", k == self.affectnet_index)]
        lines += [role for role, on in roles if on]
        for name, lengths in zip(self.model_names, self.model_heights, strict=True):
            if math.isfinite(lengths[k]) and self._model_votes:
                lines.append(f"{name}: p = {lengths[k] / self._model_votes:.2f}")
        return "\n".join(lines)

    # --- painting -------------------------------------------------------------------------
    def x_ticks(self) -> list[tuple[float, str]]:
        """The votes axis' ticks: up to the number of votes (25), not past it; the
        range's room beyond is for the counts and the AffectNet marker."""
        step = 5 if self._x_top <= 60 else 10 * math.ceil(self._x_top / 60)
        votes = max(sum(self.heights), 1)
        end = min(int(self._x_top), step * math.ceil(votes / step))
        return [(float(x), str(x)) for x in range(0, end + 1, step)]

    def _draw_background(self, p: QPainter, size: QSize) -> None:
        f = self.frame(size)
        canvas.draw_axes(p, f, self.plot.font(), self.x_ticks(), list(enumerate(EXPRESSIONS)),
                         x_title="votes", x_grid=True)

    def _draw(self, p: QPainter, size: QSize) -> None:
        f = self.frame(size)
        p.setClipRect(f.rect.adjusted(-2, -2, 12, 2))
        for k, rect in enumerate(self.bar_rects(size)):
            role = ("majority" if k == self.majority_index else
                    "tied" if k in self.tied_indices else "other")
            outline = ("affectnet" if k == self.affectnet_index else
                       "tied" if k in self.tied_indices else "other")
            # an empty bar is drawn only for the AffectNet label (its outline at 0)
            if self.heights[k] or outline == "affectnet":
                p.setBrush(_BRUSHES[role])
                p.setPen(_PENS[outline])
                p.drawRect(rect)
        p.setPen(QPen(Qt.GlobalColor.white, 1))
        for r, rects in enumerate(self.model_bar_rects(size)):
            p.setBrush(QColor(MODEL_COLOURS[r % len(MODEL_COLOURS)]))
            for rect in rects:
                if rect is not None and rect.width() > 0:
                    p.drawRect(rect)
        p.setClipping(False)
        fm = QFontMetricsF(self.plot.font())
        p.setFont(self.plot.font())
        p.setPen(plotting.TEXT)
        for text, at in zip(self.count_texts, self.count_positions(size), strict=True):
            if text:
                p.drawText(QPointF(at.x(), at.y() + (fm.ascent() - fm.descent()) / 2), text)
        marker = self.affectnet_marker_pos(size)
        if marker is not None:
            p.setPen(QPen(QColor("#8a3b00"), 1))
            p.setBrush(plotting.AFFECTNET)
            p.drawPath(canvas.left_triangle(MARKER).translated(marker))
