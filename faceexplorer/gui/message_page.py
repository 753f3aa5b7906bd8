"""The main window's two message states: an empty index and one that cannot be opened.

A centred icon, a title, an explanation (rich text, wrapped at a fixed width so its
height is exact) and one button; :func:`how_to_fill` is the explanation an empty index
shows: the commands that put datasets into it.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStyle, QVBoxLayout, QWidget

from faceexplorer.datasets.registry import IMPORTERS


class MessagePage(QWidget):
    """A centred icon, title, explanation and one button: the empty and error states."""

    def __init__(self, object_name: str, icon: QStyle.StandardPixmap, button_text: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.icon = QLabel(self)
        self.icon.setPixmap(self.style().standardIcon(icon).pixmap(48, 48))
        self.title = QLabel(self)
        self.title.setObjectName(f"{object_name}Title")
        self.title.setStyleSheet("font-size: 16pt; font-weight: bold;")
        self.body = QLabel(self)
        self.body.setObjectName(f"{object_name}Body")
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setWordWrap(True)
        # A fixed width makes the wrapped height exact; a centred word-wrapped label
        # otherwise guesses its width and clips its last paragraphs.
        self.body.setFixedWidth(600)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton(button_text, self)
        self.button.setMaximumWidth(160)
        #: more actions beside the button (``add_button``)
        self.more = QHBoxLayout()
        self.more.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        for w in (self.icon, self.title, self.body):
            layout.addWidget(w, 0, Qt.AlignmentFlag.AlignHCenter)
            layout.addSpacing(6)
        layout.addLayout(self.more)
        self.more.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)

    def add_button(self, text: str, object_name: str) -> QPushButton:
        """Another action beside the main button (e.g. a tab that needs no data)."""
        button = QPushButton(text, self)
        button.setObjectName(object_name)
        self.more.addWidget(button)
        return button

    def show_message(self, title: str, body_html: str) -> None:
        self.title.setText(title)
        self.body.setText(body_html)
        # Layouts size an aligned label by its minimum hint; reserve the wrapped height.
        self.body.setMinimumHeight(self.body.heightForWidth(self.body.width()))


def how_to_fill(db_path: Path, button: str) -> str:
    """The commands that put datasets into an index, as the empty states show them."""
    return (
        f"<p>Press <b>{escape(button)}</b> (or File &gt; Add dataset…) and choose the folder "
        "of a dataset you have; the window stays usable while it imports.</p>"
        f"<p>Kinds it knows: {', '.join(IMPORTERS)}. From a terminal (with this window "
        "closed) the same import is:</p>"
        "<pre>    faceexplorer index add KIND PATH</pre>"
        "<p>Or explore synthetic sample datasets written in the real formats:</p>"
        "<pre>    faceexplorer demo</pre>"
        f"<p style='color:gray'>Index: {escape(str(db_path))}</p>")
