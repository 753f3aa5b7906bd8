"""The detail panel's caption lines: the official label and what the face card draws.

Plain functions of the typed row (``reports.image_detail``) returning short HTML or text,
so the panel only places them and tests read them without a window.
"""

from __future__ import annotations

from html import escape

from faceexplorer.reports.image_detail import LANDMARK_POINTS, AffectNetRow


def _signed(x: float | None) -> str:
    return "missing" if x is None else f"{x:+.2f}".replace("-", "−")


def affectnet_html(a: AffectNetRow | None) -> str:
    """The official-label line under the title."""
    if a is None:
        return "<span style='color:gray'>AffectNet row not in the index</span>"
    where = a.source_file.replace("\\", "/").rsplit("/", 1)[-1]
    line = f", line {a.source_line:,}" if a.source_line is not None else ""
    return (f"AffectNet label <b>{escape(a.expression)}</b> (code {a.expression_raw}) · "
            f"valence {_signed(a.valence)} · arousal {_signed(a.arousal)} "
            f"<span style='color:gray'>· {escape(where)}{line}</span>")


def face_title(a: AffectNetRow | None) -> str:
    """The face card's title: what the row gives to draw over the image."""
    if a is None:
        return "Face"
    parts = [p for p, there in (("box", a.face_box is not None),
                                (f"{LANDMARK_POINTS} landmarks", a.landmarks is not None))
             if there]
    if not parts:
        return "Face · no box or landmarks in the row"
    missing = ("" if len(parts) == 2 else
               " (no landmarks in the row)" if a.landmarks is None else " (no box in the row)")
    return "Face · " + " and ".join(parts) + missing
