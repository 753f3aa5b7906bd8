"""The detail panel's face view, painted with QPainter: geometry, pixels, mouse, tooltips, PNG.

A known image (200 x 100 original pixels, given downscaled to 100 x 50 as the loader does
for large files) with a known box and 68 landmarks on a grid. The geometry methods (where
the image, the box and the points land in widget pixels) are checked against the numbers
worked out here, then the painted pixels at those places, so a paint that ignored them
would fail. Mouse tests drive the widget with real Qt events.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QHelpEvent, QImage, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from faceexplorer.gui.detail import plotting
from faceexplorer.gui.detail.face_canvas import BACKGROUND, region
from faceexplorer.gui.detail.face_view import FACE_MARGIN, FaceView
from faceexplorer.gui.detail.loader import FaceImage
from faceexplorer.gui.detail.plotting import save_png
from tests.gui.painted import close_to, pixel, shown

GREEN = QColor(0, 160, 0)
WIDTH, HEIGHT = 200, 100                       # original pixels
BOX = (40, 20, 100, 60)
#: 68 points on a 17 x 4 grid inside the box, 5 px apart along x.
LANDMARKS = np.array([(50 + (i % 17) * 5.0, 30 + (i // 17) * 10.0 + 0.25) for i in range(68)])


def green_image() -> FaceImage:
    rgb = np.zeros((HEIGHT // 2, WIDTH // 2, 3), np.uint8)   # downscaled by 2
    rgb[...] = (GREEN.red(), GREEN.green(), GREEN.blue())
    return FaceImage(rgb=rgb, width=WIDTH, height=HEIGHT)


@pytest.fixture
def face(qtbot):
    f = shown(qtbot, FaceView(), 420, 460)
    f.set_face(green_image(), BOX, LANDMARKS, None)
    QApplication.processEvents()
    return f




def send_mouse(widget, kind: QEvent.Type, pos: QPointF, button: Qt.MouseButton,
               buttons: Qt.MouseButton) -> None:
    glob = QPointF(widget.mapToGlobal(pos.toPoint()))
    QApplication.sendEvent(widget, QMouseEvent(kind, pos, glob, button, buttons,
                                               Qt.KeyboardModifier.NoModifier))


def test_image_box_and_landmarks_land_where_computed(face) -> None:
    g = face.graphics
    w, h = g.width(), g.height()
    k = min(w / WIDTH, h / HEIGHT)               # the whole image fits, aspect kept
    left, top = (w - WIDTH * k) / 2, (h - HEIGHT * k) / 2
    assert g.scale() == pytest.approx(k)
    assert g.image_rect_px().getRect() == pytest.approx((left, top, WIDTH * k, HEIGHT * k))
    x, y, bw, bh = BOX
    assert g.box_rect_px().getRect() == pytest.approx(
        (left + x * k, top + y * k, bw * k, bh * k))
    expected = np.column_stack([left + LANDMARKS[:, 0] * k, top + LANDMARKS[:, 1] * k])
    np.testing.assert_allclose(g.landmarks_px(), expected)
    # and the paint follows: the image (stretched from 100 x 50), the margin, box, points
    inside = g.image_rect_px().adjusted(4, 4, -4, -4)
    assert close_to(pixel(g, inside.topLeft()), GREEN)
    assert close_to(pixel(g, QPointF(w / 2, top / 2)), BACKGROUND, 2)   # above the image
    b = g.box_rect_px()
    assert close_to(pixel(g, QPointF(b.left() - 0.5, b.center().y())), plotting.BOX)
    for px, py in expected[::11]:
        assert close_to(pixel(g, QPointF(px, py)), plotting.LANDMARK, 60)


def test_large_image_shown_small_is_averaged_not_aliased(face) -> None:
    """1 px black/white stripes shrunk ~4x: grey as averaged; at 1:1 the stripes again."""
    rgb = np.zeros((1200, 1600, 3), np.uint8)
    rgb[:, ::2] = 255
    face.set_face(FaceImage(rgb=rgb, width=1600, height=1200), None, None, None)
    g = face.graphics
    inside = g.image_rect_px().adjusted(10, 10, -10, -10)
    image = g.grab().toImage()
    ratio = image.devicePixelRatio()
    row = [image.pixelColor(int(x * ratio), int(inside.center().y() * ratio)).red()
           for x in np.linspace(inside.left(), inside.right(), 40)]
    assert all(abs(v - 127.5) < 25 for v in row), row
    assert min(g._levels) >= 1 and 0 not in g._levels   # full size never converted
    # zoomed to one image pixel per screen pixel: the stripes themselves
    g.zoom(g.scale(), QPointF(g.width() / 2, g.height() / 2))   # view shrinks by k
    assert g.scale() == pytest.approx(1.0)
    image = g.grab().toImage()
    y = int(g.height() / 2 * image.devicePixelRatio())
    values = {image.pixelColor(x, y).red() for x in range(100, 140)}
    assert min(values) < 40 and max(values) > 215 and 0 in g._levels


def test_toggles_hide_their_parts(face, qtbot) -> None:
    g = face.graphics
    b = g.box_rect_px()
    edge = QPointF(b.left() - 0.5, b.center().y())
    point = QPointF(*g.landmarks_px()[20])
    qtbot.mouseClick(face.box_check, Qt.MouseButton.LeftButton)
    assert not face.box_visible and face.landmarks_visible
    assert close_to(pixel(g, edge), GREEN)
    assert close_to(pixel(g, point), plotting.LANDMARK, 60)
    qtbot.mouseClick(face.landmarks_check, Qt.MouseButton.LeftButton)
    assert not face.landmarks_visible
    assert close_to(pixel(g, point), GREEN)
    qtbot.mouseClick(face.box_check, Qt.MouseButton.LeftButton)
    assert face.box_visible and close_to(pixel(g, edge), plotting.BOX)


def test_zoom_to_face_shows_the_box_with_its_margin(face, qtbot) -> None:
    g = face.graphics
    qtbot.mouseClick(face.zoom_button, Qt.MouseButton.LeftButton)
    x, y, bw, bh = BOX
    m = FACE_MARGIN * max(bw, bh)
    target = QRectF(x - m, y - m, bw + 2 * m, bh + 2 * m)
    assert face.target_rect() == target and g.view_rect == target
    # fitted: the tighter side exactly, centred, the other side shows more
    k = min(g.width() / target.width(), g.height() / target.height())
    assert g.scale() == pytest.approx(k)
    centre = g.to_px(target.center().x(), target.center().y())
    assert (centre.x(), centre.y()) == pytest.approx((g.width() / 2, g.height() / 2))
    shown = g.visible_rect()
    assert shown.contains(target.adjusted(0.01, 0.01, -0.01, -0.01))
    # back to the whole image
    qtbot.mouseClick(face.zoom_button, Qt.MouseButton.LeftButton)
    assert g.view_rect == QRectF(0, 0, WIDTH, HEIGHT)


def test_wheel_zooms_about_the_cursor(face) -> None:
    g = face.graphics
    at = QPointF(130.0, 170.0)
    before, k = g.to_data(at), g.scale()
    event = QWheelEvent(at, QPointF(g.mapToGlobal(at.toPoint())), QPoint(0, 0),
                        QPoint(0, 120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(g, event)
    assert g.scale() > k * 1.2                    # zoomed in
    after = g.to_data(at)
    assert (after.x(), after.y()) == pytest.approx((before.x(), before.y()))
    # and back out by the same notch: the same view again
    event = QWheelEvent(at, QPointF(g.mapToGlobal(at.toPoint())), QPoint(0, 0),
                        QPoint(0, -120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(g, event)
    assert g.scale() == pytest.approx(k)
    assert g.view_rect.getRect() == pytest.approx((0, 0, WIDTH, HEIGHT))


def test_drag_pans_and_double_click_resets(face, qtbot) -> None:
    g = face.graphics
    k = g.scale()
    start, end = QPointF(100, 150), QPointF(160, 120)
    left = Qt.MouseButton.LeftButton
    send_mouse(g, QEvent.Type.MouseButtonPress, start, left, left)
    send_mouse(g, QEvent.Type.MouseMove, QPointF(130, 135), Qt.MouseButton.NoButton, left)
    send_mouse(g, QEvent.Type.MouseMove, end, Qt.MouseButton.NoButton, left)
    send_mouse(g, QEvent.Type.MouseButtonRelease, end, left, Qt.MouseButton.NoButton)
    # the data under the press follows the cursor: the view moved by -60/k, +30/k
    assert g.view_rect.getRect() == pytest.approx((-60 / k, 30 / k, WIDTH, HEIGHT))
    image = g.image_rect_px()
    assert (image.left(), image.top()) == pytest.approx(
        (g.to_px(0, 0).x(), g.to_px(0, 0).y()))
    moved = g.to_px(*LANDMARKS[0])
    # a move without the button held does not pan
    send_mouse(g, QEvent.Type.MouseMove, QPointF(10, 10), Qt.MouseButton.NoButton,
               Qt.MouseButton.NoButton)
    assert g.to_px(*LANDMARKS[0]) == moved
    qtbot.mouseDClick(g, left, pos=QPoint(50, 50))
    assert g.view_rect == face.target_rect() == QRectF(0, 0, WIDTH, HEIGHT)


def test_new_image_resets_the_view(face) -> None:
    g = face.graphics
    g.zoom(0.5, QPointF(20, 20))
    assert g.view_rect != face.target_rect()
    face.set_face(green_image(), BOX, LANDMARKS + 1, None)
    assert g.view_rect == face.target_rect()


def test_landmark_tooltip_names_the_point(face, qtbot, monkeypatch) -> None:
    g = face.graphics
    i = 36                                       # 0-based: iBUG point 37
    px, py = g.landmarks_px()[i]
    x, y = LANDMARKS[i]
    text = f"landmark 37 (right eye): x {x:.1f}, y {y:.1f}"
    assert region(i) == "right eye" and region(0) == "jaw" and region(67) == "inner lips"
    assert g.tip(QPointF(px + 1.5, py - 1.5)) == text
    assert g.tip(QPointF(2, 2)) is None
    shown: list[str] = []
    monkeypatch.setattr("faceexplorer.gui.detail.canvas.QToolTip.showText",
                        lambda _pos, t, *_a: shown.append(t))
    at = QPoint(round(px), round(py))
    QApplication.sendEvent(g, QHelpEvent(QEvent.Type.ToolTip, at, g.mapToGlobal(at)))
    assert shown == [text]
    qtbot.mouseClick(face.landmarks_check, Qt.MouseButton.LeftButton)
    assert g.tip(QPointF(px, py)) is None        # hidden points have no tooltip


def test_overlay_without_image_and_nothing_at_all(face) -> None:
    g = face.graphics
    face.set_face(None, BOX, LANDMARKS, "No file at /data/x.jpg")
    assert face.placeholder.isVisibleTo(face) and g.isVisibleTo(face)
    assert not face.has_image and g.image_rect_px() is None
    target = face.target_rect()                  # the overlays with a margin
    assert target.contains(QRectF(*BOX)) and g.view_rect == target
    assert close_to(pixel(g, QPointF(*g.landmarks_px()[5])), plotting.LANDMARK, 60)
    assert close_to(pixel(g, QPointF(3, 3)), BACKGROUND, 2)
    face.set_face(None, None, None, "not in the index")
    assert not g.isVisibleTo(face) and not face.tools.isVisibleTo(face)


def test_png_export_is_the_drawing(face, tmp_path, shoot) -> None:
    out = save_png(face.graphics, tmp_path / "face")
    image = QImage(str(out))
    assert not image.isNull() and image.width() >= face.graphics.width()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7)
               for y in range(0, image.height(), 7)}
    assert len(colours) > 3                      # background, image, box, points
    shoot(face, "face_view_grid")
