"""The plots of one track of the Analyses timeline, added to a pyqtgraph layout.

Every track is a few stacked plots on the input's frame numbers; a frame's column spans
``frame - 0.5`` to ``frame + stride - 0.5``, so tracks of different strides, OpenFace's
and the human labels' line up under one cursor (``x = frame``). Three kinds:

- **a model** (:func:`model_plots`): its expression probabilities as a raster (viridis,
  one row per label in the model's order; white mark: most probable; light grey: no face),
  its AU probabilities in the HRM tab's grey model rows (white 0, black 1) when it has
  AUs, valence/arousal curves when it has them, and the face-found strip;
- **OpenFace** (:func:`openface_plots`): its ``_r`` intensities in the same grey rows
  (black = 5) and a strip whose green is the frame's ``confidence`` (pale red where
  ``success`` is 0);
- **human labels** (:func:`human_plots`): an HRM child's AU codes drawn by the HRM tab's
  own raster (``gui.hrm.raster``: colours per code, hatched frames not labelled) and its
  ASD flag strip.

Images are built here as RGBA arrays (explicit colours, never auto-levels). Each plot
is at least ``ROW_PX`` pixels per row, so labels never overlap (the timeline scrolls);
rasters and curves may grow to ``GROW`` times that when the tab has room, strips do not.
Each track's title is a :class:`TrackTitle` row that never widens the layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from html import escape

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetricsF, QTextDocument

from faceexplorer.gui.hrm import raster
from faceexplorer.gui.pg_setup import pg
from faceexplorer.index.analysis_query import InputSeries
from faceexplorer.index.hrm_query import Timeline
from faceexplorer.index.video_tracks import OpenFaceSeries
from faceexplorer.media.depth import colormap_lut

#: Pixels per raster row and per strip; left axis width (all x axes line up).
ROW_PX = 10
STRIP_PX = 12
VA_PX = 52
TITLE_PX = 18
#: How much taller than its minimum a raster or curve plot may grow to fill the tab.
GROW = 3
LEFT_AXIS = 84
NO_FACE = (205, 205, 205, 255)
FACE = (60, 170, 90, 255)
LOST = (250, 214, 214, 255)
VIRIDIS = colormap_lut("viridis")


@dataclass
class TrackPlots:
    """The plots of one track, top to bottom."""

    title: str
    plots: list[pg.PlotItem]
    label: TrackTitle


@cache
def _tick_font() -> QFont:
    """One font for every row label, kept alive here: a temporary QFont handed to the
    axis was freed while the axis still painted with it (a crash)."""
    font = QFont()
    font.setPointSize(7)
    return font


class TrackTitle(pg.LabelItem):
    """A track's one-line title that never widens the layout: when it is wider than the
    timeline, the bold name is shortened in its middle ("…") so that what follows it
    (faces found, frames labelled) and its end (detector, stride, date) stay in view;
    the whole text is the tooltip."""

    def __init__(self, name: str, rest: str, tip: str) -> None:
        self.name, self.rest = name, rest
        super().__init__(self._html(name), size="9pt", justify="left", color="#202020")
        self.setToolTip(tip)
        self.setFlag(self.GraphicsItemFlag.ItemClipsChildrenToShape)
        self.setFixedHeight(TITLE_PX)

    def _html(self, name: str) -> str:
        return f"<b>{escape(name)}</b>{escape(self.rest)}"

    def updateMin(self) -> None:  # noqa: N802 (pyqtgraph's name)
        self.setMinimumWidth(0)
        self._sizeHint = {Qt.SizeHint.MinimumSize: (0, TITLE_PX),
                          Qt.SizeHint.PreferredSize: (0, TITLE_PX),
                          Qt.SizeHint.MaximumSize: (-1, TITLE_PX),
                          Qt.SizeHint.MinimumDescent: (0, 0)}

    def resizeEvent(self, ev) -> None:  # noqa: ANN001, N802 (pyqtgraph's name)
        width = self.rect().width()
        if width > 0 and not getattr(self, "_eliding", False):
            html = self._html(self._fitted(width))
            if html != self.text:
                self._eliding = True
                try:
                    self.setText(html)      # lays the label out again (resizeEvent)
                finally:
                    self._eliding = False
                return
        super().resizeEvent(ev)

    def _fitted(self, width: float) -> str:
        """The name, shortened in its middle as much as the title overflows ``width``."""
        doc = QTextDocument()
        doc.setDefaultFont(self.item.font())
        doc.setDocumentMargin(self.item.document().documentMargin())
        doc.setHtml(f"<span style='font-size: 9pt'>{self._html(self.name)}</span>")
        over = doc.size().width() - width + 4
        if over <= 0:
            return self.name
        font = QFont(self.item.font())
        font.setPointSizeF(9)
        font.setBold(True)
        metrics = QFontMetricsF(font)
        keep = max(metrics.horizontalAdvance(self.name) - over, metrics.horizontalAdvance("…"))
        return metrics.elidedText(self.name, Qt.TextElideMode.ElideMiddle, keep)


def _title(layout: pg.GraphicsLayout, name: str, rest: str, tip: str) -> TrackTitle:
    label = TrackTitle(name, rest, tip)
    layout.addItem(label)
    layout.nextRow()
    return label


def _plot(layout: pg.GraphicsLayout, height: int, grows: bool = True) -> pg.PlotItem:
    """A plot of at least ``height`` pixels; rasters and curves (``grows``) take up to
    ``GROW`` times that when the tab has room, strips never."""
    plot = layout.addPlot(enableMenu=False)     # no context menu: a third of its cost
    layout.nextRow()
    plot.hideButtons()
    plot.setMouseEnabled(x=True, y=False)
    plot.hideAxis("bottom")
    left = plot.getAxis("left")
    left.setWidth(LEFT_AXIS)
    left.setTickFont(_tick_font())
    left.enableAutoSIPrefix(False)
    plot.getViewBox().setDefaultPadding(0)
    plot.disableAutoRange()
    plot.setMinimumHeight(height)
    plot.setMaximumHeight(height * GROW if grows else height)
    return plot


def _rows(plot: pg.PlotItem, names: Sequence[str]) -> None:
    plot.invertY(True)
    plot.getAxis("left").setTicks([[(i + 0.5, n) for i, n in enumerate(names)], []])
    plot.setLimits(yMin=0, yMax=max(len(names), 1))
    plot.setYRange(0, max(len(names), 1), padding=0)


def _image(plot: pg.PlotItem, rgba: np.ndarray, x0: float, width: float, rows: int) -> None:
    item = pg.ImageItem(np.ascontiguousarray(rgba), autoLevels=False)
    plot.addItem(item)
    item.setRect(x0, 0, width, rows)


def columns(frames: np.ndarray) -> tuple[int, int, int, np.ndarray]:
    """(first frame, stride, columns, column of each frame) of a possibly strided axis."""
    if len(frames) == 0:
        return 0, 1, 0, np.empty(0, dtype=np.intp)
    step = max(int(np.median(np.diff(frames))), 1) if len(frames) > 1 else 1
    first = int(frames[0])
    cols = ((np.asarray(frames) - first) // step).astype(np.intp)
    return first, step, int(cols[-1]) + 1, cols


def viridis_rows(values: np.ndarray, cols: np.ndarray, width: int) -> np.ndarray:
    """RGBA (rows, width, 4): 0..1 through viridis; light grey where NaN or not analysed."""
    out = np.empty((values.shape[0], width, 4), dtype=np.uint8)
    out[:] = NO_FACE
    idx = np.clip(np.rint(np.nan_to_num(values) * 255), 0, 255).astype(np.intp)
    rgb = VIRIDIS[idx]
    finite = np.isfinite(values)
    block = out[:, cols]
    block[finite, :3] = rgb[finite]
    out[:, cols] = block
    return out


def expression_raster(series: InputSeries, cols: np.ndarray, width: int) -> np.ndarray:
    """RGBA (labels * 3, width, 4): each label row three pixels tall, viridis, with the
    most probable label's middle pixel white (one image, not a scatter of 15,000 dots)."""
    image = np.repeat(viridis_rows(series.probabilities, cols, width), 3, axis=0)
    top = series.top
    has = top >= 0
    image[top[has] * 3 + 1, cols[has]] = (255, 255, 255, 255)
    return image


def model_plots(layout: pg.GraphicsLayout, series: InputSeries, title: str) -> TrackPlots:
    """Expression raster, AU rows, valence/arousal and face strip of one model."""
    frames = series.frames
    first, step, width, cols = columns(frames)
    x0, span = first - 0.5, width * step
    found = int(series.face_found.sum())
    label = _title(layout, title, f" · face in {found}/{len(frames)}",
                   f"{title}: face found in {found} of {len(frames)} analysed frames")
    plots: list[pg.PlotItem] = []
    if series.labels:
        expr = _plot(layout, ROW_PX * len(series.labels))
        _rows(expr, series.labels)
        _image(expr, expression_raster(series, cols, width), x0, span, len(series.labels))
        plots.append(expr)
    if series.aus:
        aus = _plot(layout, ROW_PX * len(series.aus))
        _rows(aus, series.aus)
        image = raster.probability_raster(series.au_probabilities, frames)
        _image(aus, image, x0, int(frames[-1]) - first + 1, len(series.aus))
        plots.append(aus)
    if not (np.isnan(series.valence).all() and np.isnan(series.arousal).all()):
        va = _plot(layout, VA_PX)
        va.setYRange(-1, 1, padding=0.05)
        va.getAxis("left").setTicks([[(-1, "-1"), (0, "V/A 0"), (1, "1")], []])
        va.addLine(y=0, pen=pg.mkPen((170, 170, 170), width=1))
        for values, colour in ((series.valence, (31, 119, 180)), (series.arousal,
                                                                   (214, 39, 40))):
            # peak-downsampled to the pixels and clipped to the view, without antialiasing:
            # a 10-minute video's 15,000 points stroked whole took a second per paint
            curve = va.plot(frames, values, pen=pg.mkPen(colour, width=1),
                            connect="finite", antialias=False)
            curve.setClipToView(True)
            curve.setDownsampling(auto=True, method="peak")
        plots.append(va)
    face = _plot(layout, STRIP_PX, grows=False)
    strip = np.empty((1, width, 4), dtype=np.uint8)
    strip[:] = (255, 255, 255, 255)
    strip[0, cols] = np.where(series.face_found[:, None], FACE, NO_FACE)
    _rows(face, ["face"])
    _image(face, strip, x0, span, 1)
    plots.append(face)
    return TrackPlots(title, plots, label)


def openface_plots(layout: pg.GraphicsLayout, of: OpenFaceSeries) -> TrackPlots:
    """OpenFace's ``_r`` rows and its success/confidence strip."""
    title = f"OpenFace ({of.source})"
    frames = of.frames
    tracked = int(of.success.sum())
    label = _title(layout, title, " · _r white 0, black 5 · success "
                   f"{tracked}/{len(frames)}",
                   f"{title}: AU intensities (_r, 0-5, black = 5) of the most confident "
                   f"face; the strip is green by confidence where OpenFace succeeded "
                   f"({tracked} of {len(frames)} frames), pale red where it failed")
    first, width, cols = raster.frame_columns(frames)
    plots: list[pg.PlotItem] = []
    if of.aus and len(frames):
        rows = _plot(layout, ROW_PX * len(of.aus))
        _rows(rows, [f"{au}_r" for au in of.aus])
        _image(rows, raster.probability_raster(np.clip(of.intensity / 5.0, 0, 1), frames),
               first - 0.5, width, len(of.aus))
        plots.append(rows)
    strip = np.empty((1, width, 4), dtype=np.uint8)
    strip[:] = (255, 255, 255, 255)
    conf = np.clip(np.nan_to_num(of.confidence), 0, 1)
    green = np.array(FACE[:3], dtype=np.float64)
    colour = np.rint(255 - (255 - green)[None, :] * conf[:, None]).astype(np.uint8)
    strip[0, cols, :3] = np.where(of.success[:, None], colour, np.array(LOST[:3], np.uint8))
    strip[0, cols, 3] = 255
    conf_plot = _plot(layout, STRIP_PX, grows=False)
    _rows(conf_plot, ["success"])
    _image(conf_plot, strip, first - 0.5, width, 1)
    plots.append(conf_plot)
    return TrackPlots(title, plots, label)


def human_plots(layout: pg.GraphicsLayout, tl: Timeline, aus: Sequence[str]) -> TrackPlots:
    """The HRM child's AU codes (rows ``aus``) and ASD flag, as the HRM tab draws them."""
    title = f"Human labels (HRM {tl.child})"
    label = _title(layout, title, f" · {len(tl.frames):,} frames labelled",
                   f"{title}: the coders' AU codes, {len(tl.frames):,} labelled frames in "
                   f"{len(tl.segments)} segments (hatched: not labelled)")
    first, width, _ = raster.frame_columns(tl.frames)
    codes = _plot(layout, ROW_PX * len(aus))
    _rows(codes, aus)
    _image(codes, raster.au_raster(tl.rows(aus), tl.frames), first - 0.5, width, len(aus))
    asd = _plot(layout, STRIP_PX, grows=False)
    _rows(asd, ["ASD flag"])
    _image(asd, raster.flag_strip(tl.asd, tl.frames), first - 0.5, width, 1)
    return TrackPlots(title, [codes, asd], label)


def legend() -> str:
    """The human rows' colours, one short line (the HRM tab's codes), as HTML."""
    def swatch(rgba: tuple[int, ...], name: str) -> str:
        return (f"<span style='color:#{rgba[0]:02x}{rgba[1]:02x}{rgba[2]:02x}'>&#9632;</span>"
                f"&nbsp;{name}")
    parts = [swatch(raster.CODE_COLOURS[c], raster.CODE_NAMES[c].split(" (")[0])
             for c in range(1, 6)]
    return ("Human labels: " + " ".join(parts + [swatch(raster.GAP_DARK, "not labelled")])
            + " · expressions: viridis 0–1, white mark the most probable · a model's AU "
            "rows: white 0, black 1 · OpenFace _r: white 0, black 5")
