"""Per-image crowd statistics as text, and the "who voted what" table.

Every figure comes from :class:`faceexplorer.index.image_detail.CrowdVotes` (computed by
``stats.crowd``); this module only formats it. The majority line says plainly when the
top count is shared and how the tie was resolved (the AffectNetC25 authors' pandas
``mode`` rule: the smallest C25 code wins), so a tie is never mistaken for a clear vote.
"""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QTableView,
    QTextBrowser,
    QWidget,
)

from faceexplorer.gui.detail import plotting
from faceexplorer.index.image_detail import CrowdVotes, SpreadStats, Vote

TIE_RULE = "tie: resolved as pandas mode (smallest C25 code)"
SORT_ROLE = Qt.ItemDataRole.UserRole


def _num(x: float | None, digits: int = 2, signed: bool = True) -> str:
    if x is None:
        return "–"
    text = f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"
    return text.replace("-", "−")  # a real minus sign lines numbers up


def spread_text(s: SpreadStats) -> str:
    """One line of V or A statistics: centre, spread and the authors' agreement."""
    return (f"mean {_num(s.mean)} · median {_num(s.median)} · SD {_num(s.std, signed=False)}"
            f" · IQR {_num(s.iqr, signed=False)}<br><span style='color:gray'>"
            f"{s.agreement} of {s.n_votes} within ±0.25 of the mode {_num(s.majority)}</span>")


def soft_label_text(soft: dict[str, float]) -> str:
    """Non-zero vote shares, largest first: ``anger 64% · neutral 20% · …``."""
    shares = sorted(((p, e) for e, p in soft.items() if p > 0), key=lambda t: (-t[0], t[1]))
    return " · ".join(f"{escape(e)} {p:.0%}" for p, e in shares) or "–"


#: The statistics' rows in order: key and the title shown left of the value.
STAT_ROWS = (("majority", "Majority"), ("tie", ""), ("affectnet", "AffectNet"),
             ("agreement", "Agreement"), ("plurality", "Plurality share"),
             ("entropy", "Normalised entropy"), ("soft", "Soft label"),
             ("valence", "Valence"), ("arousal", "Arousal"))


class CrowdStats(QTextBrowser):
    """The per-image statistics block of a C25 image: one read-only rich-text table.

    One text view rather than a label per statistic: the panel lays out and paints one
    text document per image, at the view's width, and a new text never asks the panel
    for a new layout (nine word-wrapped labels in a form layout cost ~5 ms of
    height-for-width passes per image; one label with them, ~10 ms). It scrolls
    when the card is short.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crowdStats")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setOpenLinks(False)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        #: Each shown statistic's value as HTML, by key (``STAT_ROWS``); a tie-free
        #: image has no "tie" entry.
        self.values: dict[str, str] = {}

    def text(self, key: str) -> str:  # type: ignore[override]
        """The plain text a statistic shows (for tests and copy); '' when not shown."""
        from PySide6.QtGui import QTextDocument

        doc = QTextDocument()
        doc.setHtml(self.values.get(key, ""))
        return doc.toPlainText()

    def shown(self, key: str) -> bool:
        """Whether the statistic ``key`` is part of the block."""
        return key in self.values

    def set_crowd(self, c: CrowdVotes, affectnet_label: str | None) -> None:
        """Show the statistics of ``c``; compare with the AffectNet label when given."""
        n = c.n_votes
        top = max(c.counts.values()) if c.counts else 0
        values: dict[str, str] = {}
        values["majority"] = f"<b>{escape(c.majority or '–')}</b> ({top} of {n} votes)"
        if c.tie:
            tied = " = ".join(escape(t) for t in c.tied_labels)
            values["tie"] = (f"<span style='color:{plotting.WARNING.name()}'>⚠ {TIE_RULE}"
                             f"<br>{tied}, {top} votes each</span>")
        if affectnet_label is None:
            values["affectnet"] = "<span style='color:gray'>not linked</span>"
        elif affectnet_label == c.majority:
            values["affectnet"] = f"{escape(affectnet_label)} (= crowd majority)"
        else:
            values["affectnet"] = (
                f"<span style='color:{plotting.AFFECTNET.name()}'><b>"
                f"{escape(affectnet_label)}</b> (differs from the crowd majority)</span>")
        values["agreement"] = f"{c.agreement} of {n} annotators chose the majority"
        values["plurality"] = "–" if c.plurality_share is None else f"{c.plurality_share:.0%}"
        entropy = "–" if c.entropy is None else f"{c.entropy:.3f}"
        values["entropy"] = f"{entropy} <span style='color:gray'>(0 unanimous, 1 uniform)</span>"
        values["soft"] = soft_label_text(c.soft_label)
        values["valence"] = spread_text(c.valence)
        values["arousal"] = spread_text(c.arousal)
        self.values = values
        # Paragraphs, not an HTML table: QTextDocument lays a table out ~4x slower.
        self.setHtml("".join(
            f"<p style='margin:0 0 4px 0'><span style='color:#555555'>{title}</span>"
            f"{'&nbsp; ' if title else ''}{values[key]}</p>"
            for key, title in STAT_ROWS if key in values))


class VotesModel(QAbstractTableModel):
    """Annotator, expression, valence and arousal vote per row; majority votes in blue."""

    HEADERS = ("annotator", "expression", "valence", "arousal")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.votes: tuple[Vote, ...] = ()
        self.majority: str | None = None
        self._bold = QFont()
        self._bold.setBold(True)
        self._blue = QBrush(plotting.MAJORITY)

    def set_votes(self, votes: tuple[Vote, ...], majority: str | None) -> None:
        if votes and [v.annotator for v in votes] == [v.annotator for v in self.votes]:
            # The same annotators (the next image of a set): new cells, same rows. A
            # reset would make the sorting proxy rebuild and re-sort its whole mapping.
            self.votes, self.majority = votes, majority
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(votes) - 1, len(self.HEADERS) - 1))
            return
        self.beginResetModel()
        self.votes, self.majority = votes, majority
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.votes)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        v = self.votes[index.row()]
        col = index.column()
        value: Any = (v.annotator, v.expression, v.valence, v.arousal)[col]
        if role == Qt.ItemDataRole.DisplayRole:
            if col >= 2:
                return _num(value)
            return value if value is not None else "–"
        if role == SORT_ROLE:
            if col == 0:
                # participant10 after participant9: sort by the number, not the text
                tail = v.annotator.rsplit("participant", 1)[-1]
                return int(tail) if tail.isdigit() else v.annotator
            return value if value is not None else ""
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if col == 1 and value is not None and value == self.majority:
            if role == Qt.ItemDataRole.ForegroundRole:
                return self._blue
            if role == Qt.ItemDataRole.FontRole:
                return self._bold
        return None


def votes_table(model: VotesModel, parent: QWidget | None = None) -> QTableView:
    """A compact sortable read-only view of ``model``."""
    from PySide6.QtCore import QSortFilterProxyModel

    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    view = QTableView(parent)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(20)
    header = view.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    # Fixed widths from the font, not ResizeToContents: that asks every cell for its
    # size hint on each new image, which costs more than painting the table.
    fm = view.fontMetrics()
    for col, sample in ((1, "surprise__"), (2, "−0.75___"), (3, "−0.75___")):
        header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(col, max(fm.horizontalAdvance(sample),
                                      fm.horizontalAdvance(VotesModel.HEADERS[col]) + 24))
    return view
