"""DASS-21 scoring against the published manual's rule and band table (written out by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from faceexplorer.stats import dass21

# Lovibond & Lovibond (1995) severity table on the 0..42 scale, as published:
# D 0-9/10-13/14-20/21-27/28+, A 0-7/8-9/10-14/15-19/20+, S 0-14/15-18/19-25/26-33/34+.
BOUNDARIES = {
    "depression": [(0, "Normal"), (9, "Normal"), (10, "Mild"), (13, "Mild"), (14, "Moderate"),
                   (20, "Moderate"), (21, "Severe"), (27, "Severe"),
                   (28, "Extremely severe"), (42, "Extremely severe")],
    "anxiety": [(0, "Normal"), (7, "Normal"), (8, "Mild"), (9, "Mild"), (10, "Moderate"),
                (14, "Moderate"), (15, "Severe"), (19, "Severe"), (20, "Extremely severe"),
                (42, "Extremely severe")],
    "stress": [(0, "Normal"), (14, "Normal"), (15, "Mild"), (18, "Mild"), (19, "Moderate"),
               (25, "Moderate"), (26, "Severe"), (33, "Severe"), (34, "Extremely severe"),
               (42, "Extremely severe")],
}


@pytest.mark.parametrize("subscale", list(BOUNDARIES))
def test_every_band_boundary(subscale: str) -> None:
    for value, expected in BOUNDARIES[subscale]:
        assert dass21.band(value, subscale) == expected, (subscale, value)
    values = [v for v, _ in BOUNDARIES[subscale]]
    got = dass21.bands(pd.Series(values), subscale).tolist()
    assert got == [b for _, b in BOUNDARIES[subscale]]


def test_missing_score_has_no_band() -> None:
    assert dass21.band(None, "stress") is None
    assert dass21.bands(pd.Series([None, 10], dtype="Float64"), "anxiety").isna().tolist() == [
        True, False]


def test_item_to_subscale_mapping() -> None:
    # The DASS-21 key: D 3,5,10,13,16,17,21; A 2,4,7,9,15,19,20; S 1,6,8,11,12,14,18.
    key = {3: "D", 5: "D", 10: "D", 13: "D", 16: "D", 17: "D", 21: "D",
           2: "A", 4: "A", 7: "A", 9: "A", 15: "A", 19: "A", 20: "A",
           1: "S", 6: "S", 8: "S", 11: "S", 12: "S", 14: "S", 18: "S"}
    names = {"D": "depression", "A": "anxiety", "S": "stress"}
    for item, letter in key.items():
        assert dass21.subscale_of(item) == names[letter]
    assert sorted(key) == list(range(1, 22))
    with pytest.raises(ValueError):
        dass21.subscale_of(22)


def _respondent(values: dict[int, int]) -> pd.DataFrame:
    return pd.DataFrame([{f"dass_{i}": values.get(i, 0) for i in range(1, 22)}])


def test_worked_example_doubling_rule() -> None:
    # Manual rule: sum each scale's 7 items, multiply by 2, then read the 42-item table.
    # Respondent answering "1" (applied to me to some degree) on every item:
    # each sum 7 -> 14: depression 14 Moderate, anxiety 14 Moderate, stress 14 Normal.
    scored = dass21.score(_respondent(dict.fromkeys(range(1, 22), 1))).iloc[0]
    assert (scored["depression_raw"], scored["anxiety_raw"], scored["stress_raw"]) == (7, 7, 7)
    assert (scored["depression"], scored["anxiety"], scored["stress"]) == (14, 14, 14)
    assert scored["depression_band"] == "Moderate"
    assert scored["anxiety_band"] == "Moderate"
    assert scored["stress_band"] == "Normal"


def test_worked_example_mixed_answers() -> None:
    # D items 3,5,10 = 3 and 13 = 2 -> sum 11 -> 22 Severe; A item 2 = 3, 4 = 1 -> 4 -> 8
    # Mild; S items 1,6,8 = 3, 11 = 1 -> 10 -> 20 Moderate.
    answers = {3: 3, 5: 3, 10: 3, 13: 2, 2: 3, 4: 1, 1: 3, 6: 3, 8: 3, 11: 1}
    scored = dass21.score(_respondent(answers)).iloc[0]
    assert (scored["depression"], scored["depression_band"]) == (22, "Severe")
    assert (scored["anxiety"], scored["anxiety_band"]) == (8, "Mild")
    assert (scored["stress"], scored["stress_band"]) == (20, "Moderate")


def test_missing_item_leaves_only_its_subscale_empty() -> None:
    frame = _respondent({})
    frame["dass_3"] = frame["dass_3"].astype("Int64")
    frame.loc[0, "dass_3"] = pd.NA
    raw = dass21.raw_scores(frame).iloc[0]
    assert pd.isna(raw["depression_raw"])
    assert raw["anxiety_raw"] == 0 and raw["stress_raw"] == 0


def test_standard_scores_range() -> None:
    rng = np.random.default_rng(1)
    items = pd.DataFrame(rng.integers(0, 4, size=(500, 21)), columns=dass21.ITEM_COLUMNS)
    std = dass21.standard_scores(dass21.raw_scores(items))
    assert list(std.columns) == ["depression", "anxiety", "stress"]
    assert std.min().min() >= 0 and std.max().max() <= 42
    assert (std % 2 == 0).all().all()


@pytest.mark.parametrize(("stored", "raw", "rule"), [
    (14, 7, "doubled"), (7, 7, "undoubled"), (0, 0, "ambiguous"), (9, 7, "neither"),
    (3, 0, "neither"), (None, 4, "missing"), (8, None, "missing"), (float("nan"), 1, "missing"),
])
def test_stored_total_rule(stored: float | None, raw: float | None, rule: str) -> None:
    assert dass21.stored_total_rule(stored, raw) == rule
    vector = dass21.stored_total_rules(pd.Series([stored], dtype="Float64"),
                                       pd.Series([raw], dtype="Float64"))
    assert vector.tolist() == [rule]


@pytest.mark.parametrize(("rules", "verdict"), [
    (["doubled", "ambiguous", "doubled"], "doubled"),
    (["undoubled", "missing"], "undoubled"),
    (["doubled", "undoubled"], "mixed"),
    (["doubled", "neither"], "mixed"),
    (["neither"], "neither"),
    (["ambiguous", "ambiguous"], "ambiguous"),
    (["missing"], "absent"),
    ([], "absent"),
])
def test_file_verdict(rules: list[str], verdict: str) -> None:
    assert dass21.file_verdict(rules) == verdict
