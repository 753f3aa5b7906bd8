"""Bugs found by reviewing the detail panel as a new user would, each pinned by a test.

The review drove the real window over a sample index at 1400x900, 1920x1080, 1366x768
(compact layout) and at a device pixel ratio of 2, and looked at every screenshot. Each
test below failed before its fix: the expression names of the histogram overlapped in
a short card, a bar's vote count was written over a model's longer bar, a V/A marker
under another one could not be read from its tooltip, and the face's toggles stayed
active for a row without landmarks or face box (clicking them did nothing).
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QApplication

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.gui.detail.face_view import FaceView
from faceexplorer.gui.detail.loader import FaceImage
from faceexplorer.gui.detail.va_plane import VAPlane
from faceexplorer.gui.detail.vote_histogram import VoteHistogram
from tests.gui.painted import shown

COUNTS = {"neutral": 6, "happy": 2, "sad": 2, "anger": 1, "contempt": 14}   # 25 votes


def test_expression_names_never_overlap_in_a_short_card(qtbot, shoot) -> None:
    # The compact layout at 1366x768 left the plot ~100 px for eight rows: each name
    # was drawn over its neighbours. The plot keeps at least one text line per row.
    h = shown(qtbot, VoteHistogram(), 240, 150)
    h.set_votes(COUNTS, "contempt", ("contempt",), "happy")
    QApplication.processEvents()
    line = QFontMetricsF(h.plot.font()).height()
    assert h.frame().scale_y() >= line, "rows closer than a line of text: names overlap"
    shoot(h, "review_histogram_short")


def test_vote_count_is_written_after_the_longest_bar_of_its_row(qtbot) -> None:
    h = shown(qtbot, VoteHistogram(), 300, 330)
    h.set_votes(COUNTS, "contempt", ("contempt",), "happy")
    # a model far more sure of "sad" than the crowd: its bar is longer than the votes'
    probs = dict.fromkeys(EXPRESSIONS, 0.02) | {"sad": 0.6, "happy": 0.26}
    h.set_models([("m", probs)], 25)
    fm = QFontMetricsF(h.plot.font())
    bars = h.model_bar_rects()[0]
    for k, (text, at) in enumerate(zip(h.count_texts, h.count_positions(), strict=True)):
        if not text:
            continue
        box = QRectF(at.x(), at.y() - fm.height() / 2, fm.horizontalAdvance(text),
                     fm.height())
        assert bars[k] is None or not box.intersects(bars[k]), EXPRESSIONS[k]
        assert box.left() >= h.bar_rects()[k].right()
    # the AffectNet marker still sits right of its row's count
    marker = h.affectnet_marker_pos()
    k = EXPRESSIONS.index("happy")
    assert marker.x() > h.count_positions()[k].x() + fm.horizontalAdvance(h.count_texts[k])


def test_va_tooltip_names_every_marker_under_the_cursor(qtbot) -> None:
    # Mean, AffectNet point, a model's star and a vote on one spot: the tooltip named
    # only the topmost, so the crowd mean (and the vote's annotators) could not be read.
    va = shown(qtbot, VAPlane(), 300, 400)
    va.set_votes([0.5, 0.5, -0.5], [0.0, 0.0, 0.5], (0.5, 0.02), (0.52, 0.0),
                 annotators=["set1/participant1", "set1/participant2", "set1/participant3"])
    va.set_models([("enet", 0.51, -0.01)], ["#c2185b"])
    text = va.tooltip_at(va.point_px(0.5, 0.0))
    assert text is not None
    for part in ("enet: valence", "AffectNet label", "crowd mean", "2 annotators",
                 "set1/participant1, set1/participant2"):
        assert part in text, (part, text)
    # alone, a vote still gives just its own text
    alone = va.tooltip_at(va.point_px(-0.5, 0.5))
    assert alone == "valence −0.50, arousal +0.50: 1 annotator\nset1/participant3"
    assert va.tooltip_at(QPointF(2, 2)) is None


def _image() -> FaceImage:
    return FaceImage(rgb=np.full((50, 100, 3), 90, np.uint8), width=200, height=100)


@pytest.mark.parametrize(("box", "landmarks"), [
    (None, None), ((40, 20, 100, 60), None), (None, np.zeros((68, 2)) + 50)])
def test_face_toggles_only_for_what_the_row_has(qtbot, box, landmarks) -> None:
    f = FaceView()
    qtbot.addWidget(f)
    f.resize(400, 400)
    f.show()
    f.set_face(_image(), box, landmarks, None)
    assert f.box_check.isEnabled() == (box is not None)
    assert f.zoom_button.isEnabled() == (box is not None)
    assert f.landmarks_check.isEnabled() == (landmarks is not None)
    # the next image has both again: usable again, with the user's choices kept
    f.set_face(_image(), (40, 20, 100, 60), np.zeros((68, 2)) + 50, None)
    assert f.box_check.isEnabled() and f.landmarks_check.isEnabled()
    assert f.zoom_button.isEnabled()
    assert f.box_check.isChecked() and f.landmarks_check.isChecked()


def _lines(label, width: int) -> list[str]:
    """The lines a word-wrapped rich-text ``label`` shows at ``width`` px."""
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setDefaultFont(label.font())
    doc.setHtml(label.text())
    doc.setTextWidth(width)
    doc.documentLayout()   # lay out
    out = []
    block = doc.begin()
    while block.isValid():
        layout = block.layout()
        for i in range(layout.lineCount()):
            line = layout.lineAt(i)
            out.append(block.text()[line.textStart():line.textStart() + line.textLength()])
        block = block.next()
    return out


def test_legends_wrap_between_entries_never_inside_one(qtbot) -> None:
    h, va = VoteHistogram(), VAPlane()
    for w in (h, va):
        qtbot.addWidget(w)
    h.set_models([("enet_b0_8_best_vgaf", dict.fromkeys(EXPRESSIONS, 0.125))], 25)
    va.set_models([("enet_b0_8_best_vgaf", 0.59, -0.06)], ["#c2185b"])
    nbsp = "\xa0"
    for label, whole in ((h.legend, f"tied{nbsp}(dashed)"),
                         (h.legend, f"AffectNet{nbsp}label"),
                         (h.model_legend, f"(probability{nbsp}×{nbsp}25{nbsp}votes)"),
                         (va.legend, f"votes{nbsp}(size,{nbsp}number:{nbsp}annotators)"),
                         (va.model_legend, f"(+0.59,{nbsp}−0.06)")):
        lines = _lines(label, 230)
        assert any(whole in line for line in lines), (whole, lines)


def test_small_va_plane_labels_fewer_valence_ticks(qtbot, shoot) -> None:
    va = shown(qtbot, VAPlane(), 200, 230)
    va.set_votes([0.25], [0.25], (0.25, 0.25), None)
    fm = QFontMetricsF(va.plot.font())
    f = va.frame()
    ticks = va.x_ticks()
    assert ticks[0] == -1.0 and ticks[-1] == 1.0 and 0.0 in ticks
    # neighbouring labels leave a gap between them
    step = min(b - a for a, b in zip(ticks, ticks[1:], strict=False))
    assert step * f.scale_x() >= fm.horizontalAdvance("−0.5") + 6
    shoot(va, "review_va_small")
    va.resize(320, 440)
    QApplication.processEvents()
    assert len(va.x_ticks()) == 5   # room enough: every half again


def test_model_table_is_never_squeezed_under_its_columns(qtbot, shoot) -> None:
    # In a narrow card the rich-text table shrank its columns below their text: a long
    # model name (bold) ran into the "predicted" column. It now scrolls instead.
    from types import SimpleNamespace

    from PySide6.QtGui import QTextDocument
    from PySide6.QtWidgets import QScrollArea

    from faceexplorer.gui.detail.model_predictions import ModelTable

    name = "enet_b0_8_best_vgaf_long_name"
    pred = SimpleNamespace(model_name=name, run_id="r1", predicted="surprise", valence=0.5,
                           arousal=-0.25, valid=True, message=None)
    detail = SimpleNamespace(predictions=(pred,), divergence=lambda p: 0.317)
    table = ModelTable()
    area = QScrollArea()
    qtbot.addWidget(area)
    area.setWidgetResizable(True)
    area.setWidget(table)
    area.resize(220, 150)
    area.show()
    qtbot.waitExposed(area)
    table.set_detail(detail)
    QApplication.processEvents()
    # laid out as the label lays it out, at its width: the name fits its cell, one line
    doc = QTextDocument()
    doc.setDefaultFont(table.font())
    doc.setHtml(table.text())
    doc.setTextWidth(table.contentsRect().width() - 8)   # the label's 4 px padding
    block = doc.begin()
    while name not in block.text():
        block = block.next()
    cell = doc.documentLayout().blockBoundingRect(block)
    assert block.layout().lineCount() == 1
    assert block.layout().lineAt(0).naturalTextWidth() <= cell.width()
    assert area.horizontalScrollBar().maximum() > 0   # the card scrolls it
    shoot(area, "review_model_table_narrow")
