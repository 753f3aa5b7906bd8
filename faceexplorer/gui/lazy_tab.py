"""A tab page that builds its view the first time the view is needed.

The main window has nine views; building them all (and importing pyqtgraph, pandas and
their plot modules for each) before the window appears cost seconds at start-up, for
tabs most sessions never open. Each tab page is a :class:`LazyTab` holding a factory:
the view is made, wired and handed the index connection when its tab is first shown
(or when code asks for it through :meth:`LazyTab.view`), never before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QVBoxLayout, QWidget


class LazyTab(QWidget):
    """An empty page until :meth:`view` is first called; then it holds the view.

    Parameters
    ----------
    factory
        Makes the view (with this page as its parent) and wires its signals.
    """

    def __init__(self, factory: Callable[[QWidget], QWidget],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._view: QWidget | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    @property
    def built(self) -> bool:
        """Whether the view exists yet."""
        return self._view is not None

    def view(self) -> QWidget:
        """The view, built now if it was not yet."""
        if self._view is None:
            self._view = self._factory(self)
            self.layout().addWidget(self._view)
        return self._view

    def built_view(self) -> QWidget | None:
        """The view if it was built, else None (never builds it)."""
        return self._view


class LazyView:
    """Class attribute giving the view of the owner's ``_pages[name]``, built on access.

    ``window.hrm_view`` then reads like a plain attribute while the HRM tab stays
    unbuilt until someone (the user's click, a test, a signal) needs it.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return obj._pages[self.name].view()
