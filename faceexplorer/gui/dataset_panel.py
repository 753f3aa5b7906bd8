"""The left side of the window: imported datasets and the details of the selected one.

Each list entry shows the dataset's title, its headline counts and, when the import
left rows out, how many, in a warning colour: skipped rows are never hidden. The
details panel below lists every count, every skipped-row reason with its file and
first line, and the import's warnings.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.datasets.overview import DatasetOverview

OVERVIEW_ROLE = Qt.ItemDataRole.UserRole
WARNING_COLOR = QColor("#b35900")
#: Counts shown in the list entry itself; all of them are in the details panel.
HEADLINE_COUNTS = 2


def headline(ds: DatasetOverview) -> str:
    """The one-line counts summary of a list entry, e.g. ``2,400 images · 300 val``."""
    parts = [f"{v:,} {k.replace('_', ' ')}" for k, v in list(ds.counts.items())[:HEADLINE_COUNTS]]
    return " · ".join(parts) if parts else "no counts recorded"


def skipped_line(ds: DatasetOverview) -> str:
    """The list entry's skipped-rows line (empty when nothing was skipped)."""
    if not ds.skipped_total:
        return ""
    n = ds.skipped_total
    return f"⚠ {n:,} row{'s' if n != 1 else ''} skipped at import"


def details_html(ds: DatasetOverview) -> str:
    """Rich text of the details panel for ``ds``."""
    e = escape
    out = [f"<h3 style='margin:0'>{e(ds.title)}</h3>",
           f"<p style='margin-top:2px'><span style='color:gray'>kind</span> {e(ds.kind)}<br>"
           f"<span style='color:gray'>source</span> {e(ds.source)}<br>"
           f"<span style='color:gray'>imported</span> "
           f"{e(ds.imported_at.replace('T', ' '))} UTC</p>"]
    origin = "live from the index" if ds.counts_live else "as stored at import"
    out.append(f"<p style='margin-bottom:2px'><b>Counts</b> "
               f"<span style='color:gray'>({origin})</span></p>")
    if ds.counts:
        out.append("<table cellspacing='0' cellpadding='1'>" + "".join(
            f"<tr><td>{e(k.replace('_', ' '))}</td>"
            f"<td align='right' style='padding-left:12px'>{v:,}</td></tr>"
            for k, v in ds.counts.items()) + "</table>")
    else:
        out.append("<p>none recorded</p>")
    if ds.skipped:
        color = WARNING_COLOR.name()
        out.append(f"<p style='margin-bottom:2px;color:{color}'><b>Skipped rows: "
                   f"{ds.skipped_total:,}</b></p>")
        for s in ds.skipped:
            where = e(_relative(s.file, ds.source)) + (f", first at line {s.first_line:,}"
                                 if s.first_line is not None else "")
            out.append(f"<p style='margin:0 0 4px 8px'><b>{s.rows:,}</b> {e(s.reason)}<br>"
                       f"<span style='color:gray'>{where}</span></p>")
    else:
        out.append("<p>No rows skipped.</p>")
    if ds.warnings:
        out.append("<p style='margin-bottom:2px'><b>Warnings</b></p><ul style='margin-top:0'>"
                   + "".join(f"<li>{e(w)}</li>" for w in ds.warnings) + "</ul>")
    return "".join(out)


def _relative(file: str, source: str) -> str:
    # Skipped files sit inside the dataset folder shown just above: name them from there.
    try:
        return str(Path(file).relative_to(source))
    except ValueError:
        return file


def tooltip_text(ds: DatasetOverview) -> str:
    """Plain-text tooltip of a list entry: counts and skipped reasons."""
    lines = [f"{ds.title} ({ds.kind})", ds.source]
    lines += [f"{k.replace('_', ' ')}: {v:,}" for k, v in ds.counts.items()]
    lines += [f"skipped {s.rows:,}: {s.reason} — {s.file}" for s in ds.skipped]
    return "\n".join(lines)


class DatasetDelegate(QStyledItemDelegate):
    """Paints a list entry as a bold title, a counts line and a skipped-rows line."""

    PAD = 6

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        ds: DatasetOverview = index.data(OVERVIEW_ROLE)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        text_role = (QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        rect = opt.rect.adjusted(self.PAD + 2, self.PAD, -self.PAD, -self.PAD)
        painter.save()
        y = rect.top()
        for text, font, color in self._lines(ds, opt.font, opt.palette.color(text_role), selected):
            fm = QFontMetrics(font)
            painter.setFont(font)
            painter.setPen(color)
            elided = fm.elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
            painter.drawText(QRect(rect.left(), y, rect.width(), fm.height()),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                             elided)
            y += fm.height() + 1
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem,  # noqa: N802
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        ds: DatasetOverview = index.data(OVERVIEW_ROLE)
        lines = self._lines(ds, option.font, QColor(), False)
        height = sum(QFontMetrics(f).height() + 1 for _, f, _ in lines) + 2 * self.PAD
        return QSize(200, height)

    @staticmethod
    def _lines(ds: DatasetOverview, base: QFont, color: QColor,
               selected: bool) -> list[tuple[str, QFont, QColor]]:
        bold = QFont(base)
        bold.setBold(True)
        small = QFont(base)
        small.setPointSizeF(max(base.pointSizeF() * 0.9, 7.0))
        faint = QColor(color)
        if not selected:
            faint.setAlpha(170)
        lines = [(ds.title, bold, color), (headline(ds), small, faint)]
        if warn := skipped_line(ds):
            lines.append((warn, small, color if selected else WARNING_COLOR))
        return lines


class DatasetPanel(QWidget):
    """Dataset list over a details panel; emits :attr:`dataset_selected`."""

    dataset_selected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget(self)
        self.list.setObjectName("datasetList")
        self.list.setItemDelegate(DatasetDelegate(self.list))
        self.list.setUniformItemSizes(False)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.currentItemChanged.connect(self._on_current)

        self.details = QLabel(self)
        self.details.setObjectName("datasetDetails")
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setWordWrap(True)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setContentsMargins(8, 6, 8, 6)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.details)

        title = QLabel("Datasets", self)
        title.setStyleSheet("font-weight: bold; padding: 4px 2px;")
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.list)
        split.addWidget(scroll)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        # A handful of datasets needs little room; the details need more.
        split.setSizes([260, 440])
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(split)

    def set_datasets(self, datasets: list[DatasetOverview]) -> None:
        """Replace the list; selects the first dataset (emitting the signal)."""
        self.list.blockSignals(True)
        self.list.clear()
        for ds in datasets:
            item = QListWidgetItem(ds.title)
            item.setData(OVERVIEW_ROLE, ds)
            item.setToolTip(tooltip_text(ds))
            self.list.addItem(item)
        self.list.blockSignals(False)
        if datasets:
            self.list.setCurrentRow(0)
        else:
            self.details.clear()

    def select(self, kind: str) -> bool:
        """Select the dataset of ``kind``; False when it is not in the list."""
        for row in range(self.list.count()):
            if self.list.item(row).data(OVERVIEW_ROLE).kind == kind:
                self.list.setCurrentRow(row)
                return True
        return False

    def current(self) -> DatasetOverview | None:
        item = self.list.currentItem()
        return item.data(OVERVIEW_ROLE) if item is not None else None

    def _on_current(self, item: QListWidgetItem | None, _previous: Any) -> None:
        if item is None:
            return
        ds: DatasetOverview = item.data(OVERVIEW_ROLE)
        self.details.setText(details_html(ds))
        self.dataset_selected.emit(ds)
