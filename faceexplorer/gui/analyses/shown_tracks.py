"""The Analyses tab's choice of tracks: what else the index holds about the open input.

One checkable row per track that can go under the opened analysis (:func:`choices`):
each other stored analysis of the same file (its model, detector and stride), the
OpenFace source of the video, and the human labels of the HRM child whose video it is.
All are ticked at first; what the user unticks (by key: an analysis id, ``"openface"``,
``"human"``) stays unticked when another analysis or input is opened, so a researcher
comparing two models keeps the same choice while going through the videos.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from faceexplorer.index.video_tracks import InputTracks


def choices(tracks: InputTracks | None) -> list[tuple[str, str]]:
    """(key, label) of each track ``tracks`` can show besides the opened analysis."""
    if tracks is None:
        return []
    found = [(c.analysis_id, c.title) for c in tracks.analyses[1:]]
    if tracks.openface is not None:
        found.append(("openface", f"OpenFace ({tracks.openface.source})"))
    if tracks.human is not None:
        found.append(("human", f"Human labels (HRM {tracks.child})"))
    return found


class ShownTracks(QListWidget):
    """The checkable list (see the module docstring); ``changed`` when a tick changes."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shownTracks")
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setToolTip("Other analyses of the same file, its OpenFace rows and its human "
                        "labels: tick those to stack under it")
        #: keys the user unticked, kept across inputs
        self.hidden: set[str] = set()
        self.itemChanged.connect(self._item_changed)

    def fill(self, rows: list[tuple[str, str]]) -> None:
        """Show ``rows`` (key, label), ticked unless the user unticked the key before."""
        self.blockSignals(True)
        self.clear()
        for key, label in rows:
            item = QListWidgetItem(label)
            item.setToolTip(label)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if key in self.hidden
                               else Qt.CheckState.Checked)
            self.addItem(item)
        self.blockSignals(False)

    def shown(self) -> set[str]:
        """The keys ticked."""
        return {self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())
                if self.item(i).checkState() == Qt.CheckState.Checked}

    def set_shown(self, key: str, shown: bool) -> None:
        """Tick or untick ``key``'s row (as a click does)."""
        for i in range(self.count()):
            item = self.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == key:
                item.setCheckState(Qt.CheckState.Checked if shown
                                   else Qt.CheckState.Unchecked)

    def _item_changed(self, item: QListWidgetItem) -> None:
        key = item.data(Qt.ItemDataRole.UserRole)
        if item.checkState() == Qt.CheckState.Checked:
            self.hidden.discard(key)
        else:
            self.hidden.add(key)
        self.changed.emit()
