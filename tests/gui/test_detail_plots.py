"""The detail panel's two crowd plots, drawn with QPainter: geometry, pixels, tooltips, PNG.

The geometry methods (where a bar or a point lands, in widget pixels) are what the paint
uses; these tests check them against the data (bar length proportional to the votes on
the shown axis, a V/A point at its pixel, marker area proportional to the count) and then
check the painted pixels at those places, so a paint that ignored them would fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF
from PySide6.QtGui import QColor, QHelpEvent, QImage
from PySide6.QtWidgets import QToolTip

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.gui.detail import plotting
from faceexplorer.gui.detail.va_plane import LIMIT, VAPlane, marker_size
from faceexplorer.gui.detail.vote_histogram import MODEL_COLOURS, VoteHistogram, x_top_for
from tests.gui.painted import close_to, pixel, shown

COUNTS = {"neutral": 2, "happy": 9, "sad": 9, "surprise": 1, "anger": 4}   # 25 votes


@pytest.fixture
def histogram(qtbot):
    h = shown(qtbot, VoteHistogram(), 285, 325)
    h.set_votes(COUNTS, "happy", ("happy", "sad"), "anger")
    return h


@pytest.fixture
def plane(qtbot):
    va = shown(qtbot, VAPlane(), 285, 447)
    valence = [0.25, 0.25, 0.25, -0.5, -0.5, 1.0, None]
    arousal = [-0.5, -0.5, -0.5, 0.75, 0.75, 0.0, 0.5]
    va.set_votes(valence, arousal, (0.0, 0.0), (0.6, 0.6),
                 annotators=[f"set1/participant{k}" for k in range(7)])
    return va




def test_bar_length_is_proportional_to_votes_on_the_shown_axis(histogram) -> None:
    h = histogram
    f = h.frame()
    rects = h.bar_rects()
    assert h.heights == tuple(COUNTS.get(e, 0) for e in EXPRESSIONS)
    for rect, n in zip(rects, h.heights, strict=True):
        assert rect.left() == pytest.approx(f.px_x(0))
        assert rect.width() == pytest.approx(n * f.rect.width() / h.x_range[1])
    # canonical order top to bottom, equal thickness, inside the plot
    centres = [r.center().y() for r in rects]
    assert centres == sorted(centres) and len({round(r.height(), 6) for r in rects}) == 1
    assert all(f.rect.contains(r.center()) for r in rects)
    # the range depends on the number of votes only: bars compare across images
    assert h.x_range == (0.0, x_top_for(25)) == (0.0, 35.0)
    # the axis is numbered up to the 25 votes, not to the range's end (issue 14)
    assert [t for _, t in h.x_ticks()] == ["0", "5", "10", "15", "20", "25"]
    before = h.frame().rect
    h.set_votes({"fear": 25}, "fear")
    assert h.x_range == (0.0, 35.0) and h.frame().rect == before


def test_histogram_roles_counts_and_marker(histogram) -> None:
    h = histogram
    k_happy, k_sad, k_anger = (EXPRESSIONS.index(e) for e in ("happy", "sad", "anger"))
    assert h.majority_index == k_happy and h.tied_indices == (k_happy, k_sad)
    assert h.count_texts[k_happy] == "9 tie" and h.count_texts[k_anger] == "4"
    assert h.count_texts[EXPRESSIONS.index("fear")] == ""
    rects = h.bar_rects()
    # colours by role, painted where the geometry says
    assert close_to(pixel(h.plot, rects[k_happy].center()), plotting.MAJORITY)
    assert close_to(pixel(h.plot, rects[k_sad].center()), plotting.TIED)
    assert close_to(pixel(h.plot, rects[EXPRESSIONS.index("neutral")].center()),
                    plotting.OTHER_BAR)
    # AffectNet: orange outline and a marker right of the bar's count
    edge = QPointF(rects[k_anger].right(), rects[k_anger].center().y())
    assert close_to(pixel(h.plot, edge), plotting.AFFECTNET, 60)
    marker = h.affectnet_marker_pos()
    assert marker is not None and marker.x() > h.count_positions()[k_anger].x() + 5
    assert abs(marker.y() - rects[k_anger].center().y()) < 1e-6
    assert close_to(pixel(h.plot, marker + QPointF(2, 0)), plotting.AFFECTNET, 60)
    h.set_votes(COUNTS, "happy", ("happy", "sad"), "no-face")
    assert h.affectnet_index is None and h.affectnet_marker_pos() is None


def test_model_bars_and_histogram_tooltip(histogram) -> None:
    h = histogram
    probs = {e: p for e, p in zip(EXPRESSIONS, (0.05, 0.5, 0.2, 0.0, 0.0, 0.05, 0.2, 0.0),
                                  strict=True)}
    h.set_models([("net-a", probs), ("net-b", {"happy": 0.9})], 25)
    scale = h.frame().scale_x()
    a, b = h.model_bar_rects()
    assert [r.width() / scale for r in a] == pytest.approx([probs[e] * 25 for e in EXPRESSIONS])
    assert [r is None for r in b] == [e != "happy" for e in EXPRESSIONS]
    k = EXPRESSIONS.index("happy")
    assert b[k].width() / scale == pytest.approx(22.5)
    assert b[k].center().y() > a[k].center().y()   # side by side in the row
    assert close_to(pixel(h.plot, b[k].center()), QColor(MODEL_COLOURS[1]), 60)
    tip = h.tooltip_at(h.bar_rects()[k].center())
    assert tip is not None and tip.splitlines()[0] == "happy: 9 of 25 votes (36%)"
    assert "tied for the top count" in tip and "net-b: p = 0.90" in tip
    assert h.tooltip_at(QPointF(h.frame().rect.right() + 5, 5)) is None
    assert "net-a" in h.model_legend.text() and h.model_legend.isVisible()
    h.set_models([], 25)
    assert h.model_bar_rects() == [] and not h.model_legend.isVisible()


def test_va_points_land_at_their_pixels(plane) -> None:
    va = plane
    f = va.frame()
    assert f.rect.width() == pytest.approx(f.rect.height())   # square aspect
    assert f.x_range == f.y_range == (-LIMIT, LIMIT)
    centre = va.point_px(0, 0)
    assert centre.x() == pytest.approx(f.rect.center().x())
    assert centre.y() == pytest.approx(f.rect.center().y())
    unit = f.rect.width() / (2 * LIMIT)
    p = va.point_px(0.25, -0.5)
    assert (p.x() - centre.x(), p.y() - centre.y()) == pytest.approx((0.25 * unit, 0.5 * unit))
    # three annotators at (0.25, -0.5), two at (-0.5, 0.75), one at (1, 0); none missing
    assert {(v, a): n for v, a, n in va.points} == {(0.25, -0.5): 3, (-0.5, 0.75): 2,
                                                   (1.0, 0.0): 1}
    assert va.count_texts == [str(n) if n > 1 else "" for _, _, n in va.points]
    for rect, (v, a, _) in zip(va.marker_rects(), va.points, strict=True):
        assert rect.center() == va.point_px(v, a)
        assert close_to(pixel(va.plot, rect.center() + QPointF(rect.width() / 3, 0)),
                        QColor(133, 164, 205), 50)   # VOTE blended on white
    assert close_to(pixel(va.plot, va.point_px(0.6, 0.6)), plotting.AFFECTNET, 60)
    assert pixel(va.plot, va.point_px(-0.9, -0.9)) == QColor("white")


def test_marker_area_is_proportional_to_count(plane) -> None:
    va = plane
    counts = np.array([n for _, _, n in va.points], dtype=float)
    np.testing.assert_allclose(va.sizes, marker_size(counts))
    areas = np.array([r.width() * r.height() for r in va.marker_rects()])
    np.testing.assert_allclose(areas / areas[0], counts / counts[0])
    assert marker_size(4) == pytest.approx(2 * marker_size(1))


def test_va_tooltips_name_the_annotators(plane, qtbot) -> None:
    va = plane
    tip = va.tooltip_at(va.point_px(0.25, -0.5))
    assert tip is not None
    assert tip.startswith("valence +0.25, arousal −0.50: 3 annotators")
    assert "set1/participant0, set1/participant1, set1/participant2" in tip
    assert va.tooltip_at(va.point_px(1.0, 0.0)).endswith("set1/participant5")
    assert va.tooltip_at(va.point_px(0.6, 0.6)).startswith("AffectNet label")
    assert va.tooltip_at(va.point_px(0.0, 0.0)).startswith("crowd mean")
    assert va.tooltip_at(va.point_px(-1.0, -1.0)) is None
    va.set_models([("net-a", -0.9, 0.9), ("no-va", None, None)], MODEL_COLOURS)
    assert va.model_points == (("net-a", -0.9, 0.9),)
    assert va.tooltip_at(va.point_px(-0.9, 0.9)) == "net-a: valence −0.90, arousal +0.90"
    # a real hover event shows the text
    where = va.point_px(-0.5, 0.75).toPoint()
    event = QHelpEvent(QEvent.Type.ToolTip, where, va.plot.mapToGlobal(where))
    va.plot.event(event)
    qtbot.waitUntil(lambda: QToolTip.isVisible(), timeout=2000)
    assert QToolTip.text().startswith("valence −0.50, arousal +0.75: 2 annotators")
    QToolTip.hideText()


@pytest.mark.parametrize("size", [(285, 325), (285, 447), (180, 200)])
def test_plots_fit_any_size(qtbot, size) -> None:
    h, va = VoteHistogram(), VAPlane()
    for w in (h, va):
        qtbot.addWidget(w)
        w.resize(*size)
        w.show()
    h.set_votes(COUNTS, "happy", ("happy", "sad"), "anger")
    va.set_votes([0.25], [0.25], (0.25, 0.25), None)
    for w in (h, va):
        qtbot.waitExposed(w)
        rect = w.frame().rect
        assert rect.left() > 0 and rect.top() >= 0
        assert rect.right() <= w.plot.width() and rect.bottom() <= w.plot.height()
    assert math.isclose(va.frame().rect.width(), va.frame().rect.height())


def test_save_png_of_each_card(qtbot, tmp_path) -> None:
    h, va = VoteHistogram(), VAPlane()
    h.set_votes(COUNTS, "happy", ("happy", "sad"), "anger")
    va.set_votes([0.25, 0.25, -0.5], [-0.5, -0.5, 0.75], (0.0, 0.0), (0.6, 0.6))
    for body, stem in ((h, "hist"), (va, "va")):
        card = plotting.PlotCard("title", body, stem)   # the card owns the plot
        qtbot.addWidget(card)
        card.resize(300, 480)
        card.show()
        qtbot.waitExposed(card)
        out = plotting.save_png(card.export, tmp_path / stem)
        img = QImage(str(out))
        ratio = card.export.devicePixelRatioF()
        assert (img.width(), img.height()) == (round(body.width() * ratio),
                                               round(body.height() * ratio))
        # not blank: many dark pixels (bars, axes, text) in the plot area
        plot = img.copy(0, 0, img.width(), round(body.plot.height() * ratio))
        plot = plot.convertToFormat(QImage.Format.Format_RGB888)
        data = np.frombuffer(plot.constBits(), dtype=np.uint8)
        assert (data < 200).sum() > 2000
        assert img.pixelColor(QPoint(2, 2)) == QColor("white")
