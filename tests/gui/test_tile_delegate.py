"""The AffectNet grid's selected tile: framed in the highlight colour, the face untinted."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QPalette, QPixmap, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QListView

from faceexplorer.gui.browser.tile_delegate import TileDelegate

SKIN = QColor(222, 184, 150)


def _grid(qtbot, delegate: bool) -> QListView:
    model = QStandardItemModel()
    for text in ("happy", "sad"):
        pixmap = QPixmap(96, 96)
        pixmap.fill(SKIN)
        model.appendRow(QStandardItem(pixmap, text))
    view = QListView()
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setIconSize(QSize(96, 96))
    view.setGridSize(QSize(112, 122))
    view.setModel(model)
    view._model = model  # keep it alive with the view
    if delegate:
        view.setItemDelegate(TileDelegate(view))
    qtbot.addWidget(view)
    view.resize(300, 160)
    view.show()
    qtbot.waitExposed(view)
    view.setCurrentIndex(model.index(0, 0))
    return view


def _centre_and_edge(view: QListView) -> tuple[QColor, QColor]:
    image = view.viewport().grab().toImage()
    rect = view.visualRect(view.model().index(0, 0))
    centre_x = rect.center().x()
    top = next(y for y in range(rect.top(), rect.bottom())    # the picture's first row
               if QColor(image.pixel(centre_x, y)) not in (QColor("white"),))
    return (QColor(image.pixel(centre_x, top + 48)),
            QColor(image.pixel(centre_x - 48 - 2, top + 48)))


def test_selected_tile_is_framed_not_tinted(qtbot, shoot) -> None:
    tinted, _ = _centre_and_edge(_grid(qtbot, delegate=False))
    assert tinted != SKIN            # Qt's own drawing blends the face with the highlight
    view = _grid(qtbot, delegate=True)
    face, edge = _centre_and_edge(view)
    assert face == SKIN
    assert edge == view.palette().color(QPalette.ColorRole.Highlight)
    assert view.selectionModel().isSelected(view.model().index(0, 0))
    shoot(view, "grid_selected_tile")
    assert Qt.ItemDataRole.DecorationRole  # the model's pixmaps are drawn as given
