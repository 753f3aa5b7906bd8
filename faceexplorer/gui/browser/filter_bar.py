"""The browser's filter bar: widgets in, one ``ImageFilter`` out.

Discrete choices (expression menu, split, set, votes, "differs") apply at once; typed
text and spin boxes apply after a short pause, so typing a number does not run a query
per key. The crowd widgets hide when the index has no AffectNetC25 data.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from faceexplorer.core.vocab import EXPRESSION_LABELS
from faceexplorer.index.faces_query import ImageFilter

#: Milliseconds of quiet before typed text or a spin box applies.
DEBOUNCE_MS = 250


class RangeBox(QWidget):
    """``lo – hi`` spin boxes; the full range means "no condition"."""

    changed = Signal()

    def __init__(self, label: str, lo: float, hi: float, step: float, decimals: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.full = (lo, hi)
        self.lo = QDoubleSpinBox(self) if decimals else QSpinBox(self)
        self.hi = QDoubleSpinBox(self) if decimals else QSpinBox(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(label, self))
        for box, value in ((self.lo, lo), (self.hi, hi)):
            if decimals:
                box.setDecimals(decimals)
            box.setRange(lo, hi)
            box.setSingleStep(step)
            box.setValue(value)
            box.valueChanged.connect(self.changed)
            layout.addWidget(box)
            if box is self.lo:
                layout.addWidget(QLabel("–", self))

    def value(self) -> tuple[float, float] | None:
        lo, hi = self.lo.value(), self.hi.value()
        if (lo, hi) == self.full:
            return None
        return (min(lo, hi), max(lo, hi))

    def set_value(self, rng: tuple[float, float] | None) -> None:
        lo, hi = rng if rng is not None else self.full
        self.lo.setValue(lo)
        self.hi.setValue(hi)


class FilterBar(QWidget):
    """Every browser filter; ``changed`` fires when the filter to apply changes."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.changed)

        self.search = QLineEdit(self)
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search filename or row index")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._later)

        self.expression_button = QToolButton(self)
        self.expression_button.setObjectName("expressionFilter")
        self.expression_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.expression_menu = QMenu(self)
        self.expression_actions = {}
        for label in EXPRESSION_LABELS:
            action = self.expression_menu.addAction(label)
            action.setCheckable(True)
            action.toggled.connect(self._expressions_changed)
            self.expression_actions[label] = action
        self.expression_button.setMenu(self.expression_menu)
        self._update_expression_text()

        self.split = QComboBox(self)
        self.split.addItems(["all splits", "train", "val"])
        self.c25_set = QComboBox(self)
        self.c25_set.addItems(["any C25 set", "set 1", "set 2"])
        self.votes = QComboBox(self)
        self.votes.addItems(["with or without votes", "has crowd votes", "no crowd votes"])
        self.differs = QCheckBox("majority ≠ AffectNet", self)
        self.differs.setToolTip("Crowd majority differs from the AffectNet label")
        for combo in (self.split, self.c25_set, self.votes):
            combo.currentIndexChanged.connect(self.changed)
        self.differs.toggled.connect(self.changed)

        self.valence = RangeBox("V", -1.0, 1.0, 0.1, 2, self)
        self.arousal = RangeBox("A", -1.0, 1.0, 0.1, 2, self)
        self.agreement = RangeBox("agreement", 0, 25, 1, 0, self)
        for box in (self.valence, self.arousal, self.agreement):
            box.changed.connect(self._later)
        self.reset_button = QPushButton("Reset", self)
        self.reset_button.clicked.connect(self.reset)

        # Three short lines rather than two long ones: the bar sets the browser's minimum
        # width, and at a laptop's 1366 px the detail panel beside it needs the room.
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(3)
        row1 = [self.search, self.expression_button, self.split, self.votes]
        row2 = [self.c25_set, self.agreement, self.differs]
        for col, w in enumerate(row1):
            grid.addWidget(w, 0, col)
        line2 = QHBoxLayout()
        for w in row2:
            line2.addWidget(w)
        line2.addStretch(1)
        grid.addLayout(line2, 1, 0, 1, len(row1))
        line3 = QHBoxLayout()
        for w in (self.valence, self.arousal, self.reset_button):
            line3.addWidget(w)
        line3.addStretch(1)
        grid.addLayout(line3, 2, 0, 1, len(row1))
        grid.setColumnStretch(0, 1)
        self.crowd_widgets = [self.c25_set, self.votes, self.differs, self.agreement]

    def _later(self) -> None:
        self._debounce.start()

    def _expressions_changed(self) -> None:
        self._update_expression_text()
        self.changed.emit()

    def _update_expression_text(self) -> None:
        chosen = self.expressions()
        text = "all expressions" if not chosen else (
            ", ".join(chosen) if len(chosen) <= 2 else f"{len(chosen)} expressions")
        self.expression_button.setText(text)

    def expressions(self) -> tuple[str, ...]:
        return tuple(e for e, a in self.expression_actions.items() if a.isChecked())

    def set_crowd_available(self, available: bool, sets: list[int] | None = None) -> None:
        """Show the crowd filters only when C25 data is there (and list its sets)."""
        for w in self.crowd_widgets:
            w.setVisible(available)
        if sets:
            self.c25_set.blockSignals(True)
            self.c25_set.clear()
            self.c25_set.addItems(["any C25 set", *(f"set {s}" for s in sets)])
            self.c25_set.blockSignals(False)

    def set_affectnet_available(self, available: bool) -> None:
        for w in (self.expression_button, self.split, self.valence, self.arousal):
            w.setVisible(available)
        self.differs.setEnabled(available)

    def flush(self) -> None:
        """Apply pending typed input now (what pressing Enter does)."""
        if self._debounce.isActive():
            self._debounce.stop()
            self.changed.emit()

    def reset(self) -> None:
        """Clear every filter (one ``changed``)."""
        self.blockSignals(True)
        self.search.clear()
        for action in self.expression_actions.values():
            action.setChecked(False)
        for combo in (self.split, self.c25_set, self.votes):
            combo.setCurrentIndex(0)
        self.differs.setChecked(False)
        for box in (self.valence, self.arousal, self.agreement):
            box.set_value(None)
        self.blockSignals(False)
        self._debounce.stop()
        self.changed.emit()

    def set_filter(self, flt: ImageFilter) -> None:
        """Show ``flt`` in the widgets (one ``changed``); what the widgets cannot show
        (a C25 set this index lacks) is left out."""
        was_blocked = self.blockSignals(True)
        self.search.setText(flt.search)
        for label, action in self.expression_actions.items():
            action.setChecked(label in flt.expressions)
        self.split.setCurrentIndex(max(0, self.split.findText(flt.splits[0]))
                                   if len(flt.splits) == 1 else 0)
        self.c25_set.setCurrentIndex(max(0, self.c25_set.findText(f"set {flt.c25_set}"))
                                     if flt.c25_set is not None else 0)
        self.votes.setCurrentIndex({True: 1, False: 2}.get(flt.has_votes, 0))
        self.differs.setChecked(bool(flt.majority_differs))
        self.valence.set_value(flt.valence)
        self.arousal.set_value(flt.arousal)
        self.agreement.set_value(flt.agreement)
        self.blockSignals(was_blocked)
        self._update_expression_text()
        self._debounce.stop()
        self.changed.emit()     # blocked when the caller blocked the bar's signals

    def current_filter(self) -> ImageFilter:
        """The filter the widgets describe (hidden crowd widgets add nothing)."""
        crowd = not self.votes.isHidden()
        split = self.split.currentText() if self.split.currentIndex() > 0 else None
        c25_text = self.c25_set.currentText()
        c25_set = int(c25_text.split()[-1]) if self.c25_set.currentIndex() > 0 else None
        votes = {1: True, 2: False}.get(self.votes.currentIndex())
        agreement = self.agreement.value()
        return ImageFilter(
            expressions=self.expressions(),
            valence=self.valence.value(),
            arousal=self.arousal.value(),
            splits=(split,) if split else (),
            c25_set=c25_set if crowd else None,
            has_votes=votes if crowd else None,
            agreement=(int(agreement[0]), int(agreement[1])) if agreement and crowd else None,
            majority_differs=True if self.differs.isChecked() and crowd else None,
            search=self.search.text(),
        )
