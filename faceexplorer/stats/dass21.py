"""DASS-21 scoring: subscale sums, standard (doubled) scores, severity bands, stored totals.

The DASS-21 has 21 items scored 0..3, seven per subscale (``vocab.DASS_SUBSCALES``).
Lovibond & Lovibond (1995) define the severity bands on the 42-item scale, so DASS-21
subscale sums are multiplied by 2 (0..42) before the cutoffs (``vocab.DASS_CUTOFFS``) apply.
Datasets sometimes ship precomputed totals that may or may not have been doubled (the
FACES scripts band un-doubled sums); :func:`stored_total_rule` says which rule a stored
total follows so nothing is guessed silently. Pure numpy/pandas: the index computes the
same scores in SQL and the tests check both agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
import pandas as pd

from faceexplorer.core.vocab import DASS_BANDS, DASS_CUTOFFS, DASS_SUBSCALES

#: Item column names as FACES' dass21.csv spells them.
ITEM_COLUMNS: tuple[str, ...] = tuple(f"dass_{i}" for i in range(1, 22))
SUBSCALES: tuple[str, ...] = tuple(DASS_SUBSCALES)
#: Stored-total rules, in the order a report lists them.
RULES: tuple[str, ...] = ("doubled", "undoubled", "ambiguous", "neither", "missing")


def subscale_of(item: int) -> str:
    """The subscale item number ``item`` (1..21) belongs to.

    Raises
    ------
    ValueError
        ``item`` is not a DASS-21 item number.
    """
    for name, items in DASS_SUBSCALES.items():
        if item in items:
            return name
    raise ValueError(f"DASS-21 has items 1..21, not {item!r}")


def subscale_columns(subscale: str) -> list[str]:
    """The item columns (``dass_<n>``) of ``subscale``."""
    return [f"dass_{i}" for i in DASS_SUBSCALES[subscale]]


def raw_scores(items: pd.DataFrame) -> pd.DataFrame:
    """Subscale sums of the seven items (0..21), one column ``<subscale>_raw`` each.

    Parameters
    ----------
    items
        One row per respondent with columns ``dass_1`` .. ``dass_21`` (0..3).

    Returns
    -------
    pandas.DataFrame
        Nullable integer sums; a respondent with any of a subscale's items missing gets
        a missing sum for that subscale (prorating is not part of the standard rule).
    """
    missing = [c for c in ITEM_COLUMNS if c not in items.columns]
    if missing:
        raise KeyError(f"missing DASS-21 item columns: {', '.join(missing)}")
    out = {}
    for name in SUBSCALES:
        block = items[subscale_columns(name)].astype("Float64")
        total = block.sum(axis=1, skipna=False)
        out[f"{name}_raw"] = total.astype("Int64")
    return pd.DataFrame(out, index=items.index)


def standard_scores(raw: pd.DataFrame) -> pd.DataFrame:
    """Standard scores: raw subscale sums x 2, the DASS-42 scale (0..42) the norms use.

    ``raw`` has columns ``<subscale>_raw`` (as :func:`raw_scores` returns); the result
    has one column ``<subscale>`` each.
    """
    return pd.DataFrame(
        {c.removesuffix("_raw"): raw[c] * 2 for c in raw.columns}, index=raw.index)


def band(score: float | int | None, subscale: str) -> str | None:
    """Severity band of one standard (doubled) score; None when the score is missing."""
    if score is None or pd.isna(score):
        return None
    level = int(np.searchsorted(DASS_CUTOFFS[subscale], score, side="right"))
    return DASS_BANDS[level]


def bands(scores: pd.Series | Iterable[float], subscale: str) -> pd.Series:
    """Severity bands of standard (doubled) scores, as a string Series (missing stays NA)."""
    values = pd.Series(scores, dtype="Float64")
    level = np.searchsorted(DASS_CUTOFFS[subscale], values.fillna(0).to_numpy(float),
                            side="right")
    out = pd.Series(np.asarray(DASS_BANDS, dtype=object)[level], index=values.index,
                    dtype="string")
    out[values.isna()] = pd.NA
    return out


def score(items: pd.DataFrame) -> pd.DataFrame:
    """Raw sums, standard scores and bands of every subscale.

    Returns
    -------
    pandas.DataFrame
        Columns ``<subscale>_raw`` (0..21), ``<subscale>`` (0..42) and
        ``<subscale>_band`` for depression, anxiety and stress.
    """
    raw = raw_scores(items)
    out = raw.copy()
    for name in SUBSCALES:
        out[name] = raw[f"{name}_raw"] * 2
        out[f"{name}_band"] = bands(out[name], name)
    return out


def stored_total_rule(stored: float | int | None, raw_sum: float | int | None) -> str:
    """Which scoring rule a dataset's stored subscale total follows.

    Parameters
    ----------
    stored
        The total the dataset ships.
    raw_sum
        The sum of the subscale's seven items, scored from the items.

    Returns
    -------
    str
        ``'doubled'`` (stored = 2 x raw), ``'undoubled'`` (stored = raw), ``'ambiguous'``
        (both are 0, so either rule fits), ``'neither'``, or ``'missing'`` when either
        value is absent.
    """
    if stored is None or raw_sum is None or pd.isna(stored) or pd.isna(raw_sum):
        return "missing"
    if raw_sum == 0 and stored == 0:
        return "ambiguous"
    if stored == 2 * raw_sum:
        return "doubled"
    if stored == raw_sum:
        return "undoubled"
    return "neither"


def stored_total_rules(stored: pd.Series, raw_sum: pd.Series) -> pd.Series:
    """:func:`stored_total_rule` for every respondent (vectorised, same index)."""
    s = pd.Series(stored, dtype="Float64")
    r = pd.Series(raw_sum, dtype="Float64").set_axis(s.index)
    rule = np.select(
        [(s.isna() | r.isna()).to_numpy(bool),
         ((r == 0) & (s == 0)).fillna(False).to_numpy(bool),
         (s == 2 * r).fillna(False).to_numpy(bool),
         (s == r).fillna(False).to_numpy(bool)],
        ["missing", "ambiguous", "doubled", "undoubled"], default="neither")
    return pd.Series(rule, index=s.index, dtype="string")


def file_verdict(rules: Iterable[str]) -> str:
    """One verdict for a whole file's stored totals of one subscale.

    ``'doubled'`` or ``'undoubled'`` (or ``'neither'``) when every decisive row agrees;
    rows that fit both rules (``'ambiguous'``) or have no total (``'missing'``) do not
    vote. ``'mixed'`` when decisive rows disagree, ``'ambiguous'`` when no row decides,
    ``'absent'`` when the file stores no totals at all.
    """
    counts = Counter(rules)
    decisive = {r for r in counts if r not in {"ambiguous", "missing"}}
    if len(decisive) == 1:
        return decisive.pop()
    if len(decisive) > 1:
        return "mixed"
    return "ambiguous" if counts.get("ambiguous") else "absent"
