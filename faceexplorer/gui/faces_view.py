"""The Faces tab: the image browser beside the detail panel of the selected image.

Only wiring lives here: the browser's ``image_selected`` drives the detail panel. Both
panels take the window's read-only connection through ``set_connection``.
"""

from __future__ import annotations

import duckdb
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QWidget

from faceexplorer.gui.browser.browser import ImageBrowser
from faceexplorer.gui.detail.panel import DetailPanel


class FacesView(QSplitter):
    """AffectNet / AffectNetC25 images: filter, sort and page on the left, detail on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("facesView")
        self.browser = ImageBrowser(self)
        self.detail = DetailPanel(self)
        self.addWidget(self.browser)
        self.addWidget(self.detail)
        self.setStretchFactor(0, 1)
        self.setStretchFactor(1, 1)
        self.setChildrenCollapsible(False)
        self.browser.image_selected.connect(self.detail.show_image)

    def set_connection(self, con: duckdb.DuckDBPyConnection | None) -> None:
        # the detail panel's worker holds a cursor: release it before the browser's
        self.detail.set_connection(con)
        self.browser.set_connection(con)

    def close_workers(self) -> None:
        self.browser.close_loader()
