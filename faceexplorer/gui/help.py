"""The Help menu: the user guide, the keyboard shortcuts and About.

:func:`install_help_menu` adds the menu to a main window (one call in its ``_make_menu``).

- **User guide** (F1): ``user_guide.md`` shipped with the package's resources, rendered by
  a :class:`QTextBrowser` (Qt's own Markdown reader), with its sections listed beside it.
  It lives in the top-level ``resources/guide/`` and is found with
  :func:`faceexplorer.paths.resource_dir`, as the model cards and the selftest model are:
  the source tree, the wheel (``setup.py`` installs ``resources/`` into the package) and
  the frozen app (``pyinstaller.spec`` bundles it at the same place) all find it.
- **Keyboard shortcuts**: read from the window as it is when the dialog opens: every
  QAction and button with a shortcut (menus and the views built so far) and the image
  browser's paging keys from its key handler's docstring. Nothing is typed twice, so the
  list cannot drift from what the keys do.
- **About**: version, the data folder, the index and the settings file, and the licences
  of the bundled libraries with where their full texts are on this machine (the licence
  files the packages installed, or the frozen app bundled: :mod:`faceexplorer.licences`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QListWidget,
    QMenu,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from faceexplorer import __version__
from faceexplorer.licences import BUNDLED_LIBRARIES, LICENCE_TEXTS, licence_files
from faceexplorer.paths import resource_dir, user_data_dir

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow

GUIDE_FILE = "user_guide.md"


def guide_path() -> Path:
    """The shipped user guide (``resources/guide/user_guide.md``)."""
    return resource_dir() / "guide" / GUIDE_FILE


def guide_sections(markdown: str) -> list[tuple[int, str]]:
    """The guide's headings as ``(level, title)``, in order (fenced code skipped)."""
    out: list[tuple[int, str]] = []
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"^(#{1,3})\s+(.*\S)", line)):
            out.append((len(m.group(1)), m.group(2)))
    return out


# --- licences ---------------------------------------------------------------------------

def _licences_html() -> str:
    rows = []
    for lib in BUNDLED_LIBRARIES:
        version, files = licence_files(lib.distribution)
        if files:
            where = "<br>".join(f"<code>{escape(str(f))}</code>" for f in files)
        elif lib.licence in LICENCE_TEXTS:
            where = (f"not installed with the package; the text: "
                     f"{escape(LICENCE_TEXTS[lib.licence])}")
        else:
            where = "not installed with the package"
        rows.append(f"<tr><td>{escape(lib.name)} {escape(version)}</td>"
                    f"<td>{escape(lib.licence)}</td><td>{where}</td></tr>")
    return ("<table cellspacing='0' cellpadding='3'><tr><th align='left'>library</th>"
            "<th align='left'>licence</th><th align='left'>full text</th></tr>"
            + "".join(rows) + "</table>")


# --- dialogs ----------------------------------------------------------------------------

def _closing_buttons(dialog: QDialog) -> QDialogButtonBox:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.reject)
    return buttons


class AboutDialog(QDialog):
    """Version, where FaceExplorer keeps its files, and the bundled libraries' licences."""

    def __init__(self, db_path: Path, settings_path: Path | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About FaceExplorer")
        data = user_data_dir()
        settings = f"<br>Settings: <code>{escape(str(settings_path))}</code>" \
            if settings_path else ""
        self.text = QLabel(
            f"<h2>FaceExplorer {escape(__version__)}</h2>"
            "<p>Explore facial-affect datasets, their human labels and models' predictions "
            "on a local index. Nothing is downloaded; your dataset folders are only read."
            "</p>"
            f"<p>Data folder: <code>{escape(str(data))}</code><br>"
            f"Index: <code>{escape(str(db_path))}</code>{settings}<br>"
            "<span style='color:gray'>Set FACEEXPLORER_HOME to move the data folder, "
            "or start with --db FILE for another index.</span></p>"
            "<h3>Bundled libraries</h3>" + _licences_html(), self)
        self.text.setObjectName("aboutText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(_closing_buttons(self))
        self.resize(760, 520)


class GuideDialog(QDialog):
    """The user guide: its sections on the left, the text on the right."""

    def __init__(self, parent: QWidget | None = None, path: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("guideDialog")
        self.setWindowTitle("FaceExplorer user guide")
        self.path = path or guide_path()
        try:
            self.markdown = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            self.markdown = (f"# The user guide is missing\n\nIt should be at `{self.path}` "
                             f"({exc.strerror or exc}). Reinstall FaceExplorer.")
        self.sections = guide_sections(self.markdown)
        self.contents = QListWidget(self)
        self.contents.setObjectName("guideContents")
        for level, title in self.sections:
            self.contents.addItem(("    " * (level - 1)) + title)
        self.browser = QTextBrowser(self)
        self.browser.setObjectName("guideText")
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._link)
        self.browser.setMarkdown(self.markdown)
        self.contents.currentRowChanged.connect(self.show_section)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.contents)
        split.addWidget(self.browser)
        split.setStretchFactor(1, 1)
        split.setSizes([230, 700])
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addWidget(_closing_buttons(self))
        self.resize(980, 640)

    def show_section(self, row: int) -> None:
        """Scroll the text to section ``row`` of :attr:`sections`."""
        if not 0 <= row < len(self.sections):
            return
        title = self.sections[row][1]
        doc = self.browser.document()
        block = doc.begin()
        while block.isValid():
            if block.blockFormat().headingLevel() and block.text().strip() == title:
                cursor = self.browser.textCursor()
                cursor.setPosition(block.position())
                self.browser.setTextCursor(cursor)
                # put the heading at the top, not just into view
                bar = self.browser.verticalScrollBar()
                bar.setValue(bar.maximum())
                self.browser.ensureCursorVisible()
                return
            block = block.next()

    def _link(self, url: QUrl) -> None:
        if url.scheme() in ("http", "https", "file"):
            QDesktopServices.openUrl(url)


@dataclass(frozen=True)
class Shortcut:
    """One key of the window: where it acts, what it does, the keys."""

    where: str
    what: str
    keys: str


def _clean(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("….").strip()


def _menu_path(action: QAction) -> str:
    for widget in action.associatedObjects():
        if isinstance(widget, QMenu):
            return _clean(widget.title()) + " menu"
    return ""


def window_shortcuts(window: QMainWindow) -> list[Shortcut]:
    """Every shortcut the window has now: its actions' and its buttons'."""
    found: list[Shortcut] = []
    seen: set[tuple[str, str]] = set()

    def add(where: str, what: str, sequences: list[QKeySequence]) -> None:
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText)
                         for s in sequences if not s.isEmpty())
        if keys and (what, keys) not in seen:
            seen.add((what, keys))
            found.append(Shortcut(where, what, keys))

    for action in window.findChildren(QAction):
        if action.text() and not action.isSeparator():
            add(_menu_path(action) or "Window", _clean(action.text()), action.shortcuts())
    for button in window.findChildren(QAbstractButton):
        if not button.shortcut().isEmpty():
            where = _view_title(window, button)
            tip = re.sub(r"\s*\([^)]*\)$", "", button.toolTip())    # "(Ctrl+End)" is the keys
            what = _clean(tip or button.text()) or button.objectName()
            add(where, what, [button.shortcut()])
    return found


def _view_title(window: QMainWindow, widget: QWidget) -> str:
    """The title of the tab holding ``widget`` (or "Window")."""
    tabs = getattr(window, "views", None)
    page: QWidget | None = widget
    while page is not None and tabs is not None:
        index = tabs.indexOf(page)
        if index >= 0:
            return tabs.tabText(index) + " tab"
        page = page.parentWidget()
    return "Window"


def browser_keys() -> str:
    """The image browser's keys, as its key handler's docstring states them."""
    from faceexplorer.gui.browser import keys

    paragraphs = (keys.__doc__ or "").strip().split("\n\n")
    return " ".join(paragraphs[-1].split()) if len(paragraphs) > 1 else ""


class ShortcutsDialog(QDialog):
    """The window's keyboard shortcuts in a table (see :func:`window_shortcuts`)."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.shortcuts = window_shortcuts(window)
        self.table = QTableWidget(len(self.shortcuts), 3, self)
        self.table.setObjectName("shortcutsTable")
        self.table.setHorizontalHeaderLabels(["Keys", "Action", "Where"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, s in enumerate(self.shortcuts):
            for col, text in enumerate((s.keys, s.what, s.where)):
                self.table.setItem(row, col, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.note = QLabel(
            "<b>AffectNet tab, image grid and table:</b> " + escape(browser_keys())
            + "<br><span style='color:gray'>Shortcuts of tabs not opened yet appear here "
              "once their tab has been shown.</span>", self)
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        layout.addWidget(_closing_buttons(self))
        self.resize(620, 460)


# --- the menu ---------------------------------------------------------------------------

class HelpMenu:
    """The Help menu's actions and the dialogs they open (kept for tests)."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.menu = window.menuBar().addMenu("&Help")
        self.menu.setObjectName("helpMenu")
        self.guide_action = self._action("&User guide", self.show_guide,
                                         QKeySequence(QKeySequence.StandardKey.HelpContents),
                                         "How to read each view and its statistics")
        self.shortcuts_action = self._action("&Keyboard shortcuts", self.show_shortcuts)
        self.menu.addSeparator()
        self.about_action = self._action("&About FaceExplorer", self.show_about)
        self.dialog: QDialog | None = None

    def _action(self, text: str, slot, keys: QKeySequence | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self.window)
        if keys is not None:
            action.setShortcut(keys)
        if tip:
            action.setToolTip(tip)
        action.triggered.connect(slot)
        self.menu.addAction(action)
        self.window.addAction(action)   # its key works wherever the focus is in the window
        return action

    def _show(self, dialog: QDialog) -> QDialog:
        if self.dialog is not None:
            self.dialog.close()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.dialog = dialog
        dialog.show()
        dialog.raise_()
        return dialog

    def show_guide(self) -> QDialog:
        return self._show(GuideDialog(self.window))

    def show_shortcuts(self) -> QDialog:
        return self._show(ShortcutsDialog(self.window))

    def show_about(self) -> QDialog:
        settings = getattr(self.window, "settings", None)
        return self._show(AboutDialog(Path(getattr(self.window, "db_path", "")),
                                      getattr(settings, "path", None), self.window))


def install_help_menu(window: QMainWindow) -> HelpMenu:
    """Add the Help menu to ``window``; kept as ``window.help_menu``."""
    menu = HelpMenu(window)
    window.help_menu = menu  # type: ignore[attr-defined]
    return menu
