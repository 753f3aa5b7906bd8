"""Per-image crowd statistics as text, and the "who voted what" table.

Every figure comes from :class:`faceexplorer.reports.image_detail.CrowdVotes` (computed by
``stats.crowd``); this module only formats it. The majority line says plainly when the
top count is shared and how the tie was resolved (the AffectNetC25 authors' pandas
``mode`` rule: the smallest C25 code wins), so a tie is never mistaken for a clear vote.
"""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QBrush,
    QFont,
    QPainter,
    QPixmap,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QTableView,
    QTextBrowser,
    QWidget,
)

from faceexplorer.gui.detail import plotting
from faceexplorer.reports.image_detail import CrowdVotes, SpreadStats, Vote

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

    def export_pixmap(self) -> QPixmap:
        """All the statistics as shown (at the view's width), scrolled-out lines too."""
        doc = self.document()
        width = self.viewport().width()
        height = max(1, int(doc.size().height()) + 1)
        pixmap = QPixmap(width, height)
        pixmap.fill(self.palette().color(self.viewport().backgroundRole()))
        painter = QPainter(pixmap)
        try:
            doc.drawContents(painter)
        finally:
            painter.end()
        return pixmap

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
        # The scroll bar stays while the text is replaced: setHtml empties the document
        # first, which hid a needed bar and showed it again, each time re-laying out the
        # view (and, after the panel's paint, the panel once more).
        bar_shown = self.verticalScrollBar().isVisibleTo(self)
        if bar_shown:
            self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        # Paragraphs, not an HTML table: QTextDocument lays a table out ~4x slower.
        self.setHtml("".join(
            f"<p style='margin:0 0 4px 0'><span style='color:#555555'>{title}</span>"
            f"{'&nbsp; ' if title else ''}{values[key]}</p>"
            for key, title in STAT_ROWS if key in values))
        if bar_shown:
            self.document().size()   # laid out at the view's width before the bar may go
            self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)


class VotesModel(QStandardItemModel):
    """Annotator, expression, valence and arousal vote per row; majority votes in blue.

    A standard item model, so the table's paint reads its cells in C++: the Python
    ``data()`` of a custom model was called ~800 times per paint of this small table
    (several roles per cell, row and column counts), ~3 ms per image. Items are kept and
    updated in place; rows are made anew only when the number of annotators changes.
    """

    HEADERS = ("annotator", "expression", "valence", "arousal")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(0, len(self.HEADERS), parent)
        self.setHorizontalHeaderLabels(list(self.HEADERS))
        self.votes: tuple[Vote, ...] = ()
        self.majority: str | None = None
        self._bold = QFont()
        self._bold.setBold(True)
        self._blue = QBrush(plotting.MAJORITY)
        self._items: list[list[QStandardItem]] = []
        self._right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def set_votes(self, votes: tuple[Vote, ...], majority: str | None) -> None:
        same_names = [v.annotator for v in votes] == [v.annotator for v in self.votes]
        self.votes, self.majority = votes, majority
        if len(votes) != len(self._items):
            self._set_rows(len(votes))
            same_names = False
        if not votes:
            return
        display, sort_role = Qt.ItemDataRole.DisplayRole, SORT_ROLE
        fg, font = Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.FontRole
        # Items are updated in place, with one dataChanged for the block instead of one
        # per cell and role (each reaches the sorting proxy and the view); the proxy
        # re-sorts on it when the sorted column changed.
        self.blockSignals(True)
        try:
            for items, v in zip(self._items, votes, strict=True):
                if not same_names:
                    items[0].setData(v.annotator, display)
                    # the column elides the middle of a long id: the whole one on hover
                    items[0].setData(v.annotator, Qt.ItemDataRole.ToolTipRole)
                    # participant10 after participant9: sort by the number, not the text
                    tail = v.annotator.rsplit("participant", 1)[-1]
                    items[0].setData(int(tail) if tail.isdigit() else v.annotator,
                                     sort_role)
                expression = items[1]
                expression.setData(v.expression if v.expression is not None else "–",
                                   display)
                expression.setData(v.expression if v.expression is not None else "",
                                   sort_role)
                is_majority = v.expression is not None and v.expression == majority
                expression.setData(self._blue if is_majority else None, fg)
                expression.setData(self._bold if is_majority else None, font)
                for item, value in ((items[2], v.valence), (items[3], v.arousal)):
                    item.setData(_num(value), display)
                    item.setData(value if value is not None else "", sort_role)
        finally:
            self.blockSignals(False)
        self.dataChanged.emit(self.index(0, 1 if same_names else 0),
                              self.index(len(votes) - 1, len(self.HEADERS) - 1))

    def _set_rows(self, n: int) -> None:
        """``n`` rows of items (another set of annotators: another number of them)."""
        self.setRowCount(0)
        self._items = []
        for _ in range(n):
            row = [QStandardItem() for _ in self.HEADERS]
            for item in row:
                item.setEditable(False)
            for item in row[2:]:
                item.setData(self._right, Qt.ItemDataRole.TextAlignmentRole)
            self._items.append(row)
            self.appendRow(row)


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
    # "set1/…ant12": the set and the annotator's number stay readable in a narrow column
    # (one line per cell: with word wrap, Qt breaks the id at "/" and elides the end)
    view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    view.setWordWrap(False)
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
    # The annotator column stretches; the view's minimum width keeps room for
    # "set1/…ant12" beside the three vote columns (the card asks its column for that).
    annotator = fm.horizontalAdvance("set1/…ant12") + 12
    header.setMinimumSectionSize(min(header.minimumSectionSize(), annotator))
    view.setMinimumWidth(annotator + sum(header.sectionSize(col) for col in (1, 2, 3))
                         + view.style().pixelMetric(view.style().PixelMetric.PM_ScrollBarExtent)
                         + 2 * view.frameWidth())
    return view
