"""The face view's message banner: wraps long paths, re-lays out only when its height changes."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from faceexplorer.gui.detail.banner import Banner


class LayoutRequests(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.LayoutRequest:
            self.n += 1
        return False


def test_banner_wraps_and_relays_out_only_on_height_change(qtbot, shoot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    banner = Banner(host, max_lines=2)
    layout.addWidget(banner)
    layout.addStretch(1)
    host.resize(320, 300)
    host.show()
    qtbot.waitExposed(host)
    banner.setText("Image file not found: /data/a.jpg")
    QApplication.sendPostedEvents()
    one_line = banner.height()
    assert banner.text() == "Image file not found: /data/a.jpg"
    assert banner.toolTip() == banner.text()

    requests = LayoutRequests()
    host.installEventFilter(requests)
    banner.setText("Image file not found: /data/b.jpg")   # same height: no re-layout
    QApplication.sendPostedEvents()
    assert requests.n == 0 and banner.height() == one_line

    two = "Image file not found: /" + "/".join(["Manually_Annotated_Images"] * 2)
    banner.setText(two)                                    # wraps inside the path
    QApplication.sendPostedEvents()
    assert requests.n >= 1 and banner.shown_text() == two
    two_lines = banner.height()
    assert two_lines >= one_line + banner.fontMetrics().height() - 2
    assert banner.height() == banner.heightForWidth(banner.width())

    # Longer: at most two lines, the middle elided; the root and the file name stay.
    long_path = ("Image file not found: /data/" + "/".join(["Manually_Annotated_Images"] * 6)
                 + "/608/7d27663.jpg")
    banner.setText(long_path)
    QApplication.sendPostedEvents()
    shown = banner.shown_text()
    assert banner.height() == two_lines and banner.text() == long_path
    assert "…" in shown and shown.startswith("Image file not found: /data/")
    assert shown.endswith("7d27663.jpg")
    shoot(host, "banner_long_path")

    # the whole message can be copied (the context menu's action)
    QGuiApplication.clipboard().setText("")
    banner.setText("Cannot read the image: /x.jpg")
    banner.copy()
    assert QGuiApplication.clipboard().text() == "Cannot read the image: /x.jpg"
