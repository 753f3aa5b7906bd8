"""The "Model predictions" table of the detail panel: one row per stored run.

Each row names the model (in its series colour, the one the vote histogram and the VA
plane use), the predicted label, the JS divergence of its distribution to the crowd's
vote shares (``ImageDetail.divergence``; computed there, not here), the predicted valence
and arousal, and whether the prediction is valid (else why not). The cells are kept as
text in :attr:`ModelTable.rows` so tests read what is shown.

The label is never narrower than its table: squeezed, Qt's rich-text table wrote a long
(bold) model name over the next column; the card's scroll area scrolls it instead.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel, QWidget

from faceexplorer.gui.detail.vote_histogram import MODEL_COLOURS
from faceexplorer.reports.image_detail import ImageDetail

HEADER = ("model", "predicted", "JS", "valence", "arousal", "status")


def _num(x: float | None, signed: bool = False) -> str:
    if x is None or x != x:
        return "–"
    return (f"{x:+.2f}".replace("-", "−") if signed else f"{x:.3f}")


class ModelTable(QLabel):
    """A compact rich-text table of the image's model predictions."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelPredictions")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setWordWrap(True)
        self.setStyleSheet("background: white; color: #222222; padding: 4px;")
        #: The table's cells as shown, one tuple per run (``HEADER`` order).
        self.rows: list[tuple[str, ...]] = []

    def set_detail(self, detail: ImageDetail) -> None:
        """Show one row per prediction of ``detail`` (nothing when there are none)."""
        self.rows = []
        html = ["<table cellspacing='0' cellpadding='3'><tr>"]
        html += [f"<th align='left'>{h}</th>" for h in HEADER]
        html.append("</tr>")
        for r, p in enumerate(detail.predictions):
            status = "valid" if p.valid else f"invalid: {p.message or 'no reason stored'}"
            cells = (p.model_name or p.run_id, p.predicted or "–",
                     _num(detail.divergence(p)), _num(p.valence, True),
                     _num(p.arousal, True), status)
            self.rows.append(cells)
            colour = MODEL_COLOURS[r % len(MODEL_COLOURS)]
            html.append(
                f"<tr><td><span style='color:{colour}'>▬</span>&nbsp;<b>{escape(cells[0])}</b>"
                "</td>"
                + "".join(f"<td>{escape(c)}</td>" for c in cells[1:5])
                + f"<td style='color:{'#222' if p.valid else '#a00000'}'>"
                f"{escape(status)}</td></tr>")
        html.append("</table>")
        table = "".join(html)
        html.append("<span style='color:gray'>JS: Jensen-Shannon divergence (bits) "
                    "of the model's distribution to the vote shares</span>")
        self.setMinimumWidth(self.table_width(table))
        self.setText("".join(html))
        self.setToolTip("\n".join(f"{p.model_name}: run {p.run_id}" for p in detail.predictions))

    def table_width(self, table_html: str) -> int:
        """The width (px) the table needs unwrapped, with the label's padding."""
        doc = QTextDocument()
        doc.setDefaultFont(self.font())
        doc.setHtml(table_html)
        margins = self.contentsMargins()
        # + the 4 px stylesheet padding each side and a pixel of rounding
        return int(doc.idealWidth()) + margins.left() + margins.right() + 8 + 1
