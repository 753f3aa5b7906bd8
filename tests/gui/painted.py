"""Helpers of the painted-widget tests: show a widget, read its painted pixels back."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor


def pixel(widget, point: QPointF) -> QColor:
    """The colour painted at ``point`` (widget coordinates) of ``widget``."""
    image = widget.grab().toImage()
    ratio = image.devicePixelRatio()
    return image.pixelColor(int(point.x() * ratio), int(point.y() * ratio))


def close_to(c: QColor, ref: QColor, tol: int = 40) -> bool:
    """Each of red, green and blue within ``tol`` of ``ref``'s."""
    return all(abs(a - b) <= tol for a, b in ((c.red(), ref.red()), (c.green(), ref.green()),
                                              (c.blue(), ref.blue())))


def shown(qtbot, widget, width: int, height: int):
    """``widget`` owned by the test, resized and shown on screen; returned for chaining."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget
