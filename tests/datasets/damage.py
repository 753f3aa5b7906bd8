"""Random damage to a valid CSV text, for the importers' hypothesis tests.

A mutation is ``(kind, position, character)``: ``delete``, ``insert`` or ``replace`` one
character, ``cut`` the text there (a truncated file), or ``dup_line`` (a repeated row).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hypothesis import strategies as st

JUNK = list(",\n\r0123456789.-x\" \x00")


def mutations(kinds: Sequence[str]) -> st.SearchStrategy[tuple[str, int, str]]:
    """One mutation of one of ``kinds`` at any position, with a CSV-ish character."""
    return st.tuples(st.sampled_from(list(kinds)), st.integers(0, 10_000),
                     st.sampled_from(JUNK))


def apply_damage(text: str, edits: Iterable[tuple[str, int, str]]) -> str:
    """``text`` with every mutation applied in turn (positions wrap around the text)."""
    for kind, pos, char in edits:
        i = pos % (len(text) + 1)
        if kind == "delete":
            text = text[:i] + text[i + 1:]
        elif kind == "insert":
            text = text[:i] + char + text[i:]
        elif kind == "replace":
            text = text[:i] + char + text[i + 1:]
        elif kind == "cut":
            text = text[:i]
        elif kind == "dup_line":
            lines = text.splitlines(keepends=True)
            k = pos % max(len(lines), 1)
            text = "".join(lines[: k + 1] + lines[k:])
        else:
            raise ValueError(f"unknown mutation {kind!r}")
    return text
