"""The FACES explorer driven as a user would; what it shows checked against references.

References are computed here from the sample's raw CSV files with pandas and scipy
(``scipy.stats.spearmanr``; the Fisher-z interval with the Bonett-Wright SE written out),
never through the app's own statistics code. Screenshots go to /tmp/shots.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt
from scipy import stats as sps

from faceexplorer.core.vocab import DASS_BANDS, DASS_CUTOFFS, DASS_SUBSCALES
from faceexplorer.datasets.registry import import_path
from faceexplorer.gui.faces_explorer import FacesExplorerView
from faceexplorer.gui.faces_explorer.subjects import PAGE_ROWS
from faceexplorer.reports import faces_stats
from faceexplorer.reports.faces_stats import rank_all_with_progress
from faceexplorer.samples.faces import FacesSample, write_faces
from faceexplorer.stats.faces_views import grade_label
from tests.gui.windows import show_window

TIMEOUT_MS = 60_000
SUBSCALES = tuple(DASS_SUBSCALES)


# --- fixtures ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, FacesSample]:
    root = tmp_path_factory.mktemp("faces")
    written = write_faces(root, "small", np.random.default_rng(5))
    db = root / "index.duckdb"
    import_path(db, written.root, "faces")
    return db, written


@pytest.fixture(scope="module")
def reference(sample) -> pd.DataFrame:
    """Per subject from the raw files: doubled scores, bands, stored totals, AU12_r_mean."""
    _, written = sample
    dass = pd.read_csv(written.dass21)
    for s, items in DASS_SUBSCALES.items():
        raw = dass[[f"dass_{i}" for i in items]].sum(axis=1)
        dass[f"{s}_raw"] = raw
        dass[s] = raw * 2
        dass[f"{s}_band"] = pd.cut(dass[s], [-1, *(c - 0.5 for c in DASS_CUTOFFS[s]), 99],
                                   labels=DASS_BANDS).astype(str)
    info = pd.read_csv(written.baseinfo)
    feats = pd.read_csv(written.features, usecols=["ID", "AU12_r_mean"])
    out = info.merge(dass, on="cust_id", how="left").merge(
        feats, left_on="cust_id", right_on="ID", how="left")
    return out


@pytest.fixture
def view(sessions, qtbot, sample):
    db, _ = sample
    con = duckdb.connect(str(db), read_only=True)
    widget = FacesExplorerView()
    qtbot.addWidget(widget)
    widget.resize(1400, 900)
    widget.show()
    widget.attach(sessions(con))
    qtbot.waitUntil(lambda: bool(widget.features.names), timeout=TIMEOUT_MS)
    yield widget
    widget.close_workers()
    widget.attach(None)
    con.close()


def _bonett_wright(rho: float, n: int) -> tuple[float, float]:
    se = math.sqrt((1 + rho * rho / 2) / (n - 3))
    z = math.atanh(rho)
    return math.tanh(z - 1.959963984540054 * se), math.tanh(z + 1.959963984540054 * se)


# --- subjects and DASS ------------------------------------------------------------------
def test_subjects_table_shows_demographics_and_filters(view, reference, qtbot, shoot):
    pane = view.subjects
    everyone = reference["cust_id"].nunique()
    assert f"of {everyone:,}" in pane.page_label.text()
    assert pane.model.rowCount() == min(PAGE_ROWS, everyone)
    # one row against the raw files: grade name mapped to its school grade, bands
    first = pane.model.frame.iloc[0]
    ref = reference.set_index(reference["cust_id"].astype(str)).loc[first["subject_id"]]
    texts = [pane.model.text(0, c) for c in range(pane.model.columnCount())]
    grade_of = {"四年级": 4, "五年级": 5, "六年级": 6, "初一": 7, "初二": 8, "初三": 9,
                "高一": 10, "高二": 11, "高三": 12}
    assert texts[3].startswith(ref["grade_name"] + " (") and texts[4] == str(
        grade_of[ref["grade_name"]])
    # grade names read in English too, as gender does (issue 14)
    assert grade_label("高三") == "高三 (senior high year 3)"
    assert grade_label("初二") == grade_label("八年级").replace("八年级", "初二") == (
        "初二 (junior high year 2)")
    assert grade_label("四年级") == "四年级 (primary year 4)"
    assert grade_label("kindergarten") == "kindergarten" and grade_label(None) == ""
    words = {"四年级": "primary year 4", "五年级": "primary year 5", "六年级": "primary year 6",
             "初一": "junior high year 1", "初二": "junior high year 2",
             "初三": "junior high year 3", "高一": "senior high year 1",
             "高二": "senior high year 2", "高三": "senior high year 3"}
    assert texts[3] == f"{ref['grade_name']} ({words[ref['grade_name']]})"
    grades = [pane.grade_combo.itemText(i) for i in range(1, pane.grade_combo.count())]
    assert all(" · " in g and "year" in g for g in grades), grades
    assert texts[1].startswith(ref["gender"])
    for k, s in enumerate(SUBSCALES):
        assert texts[5 + 2 * k] == str(int(ref[s])) and texts[6 + 2 * k] == ref[f"{s}_band"]
    # filter: girls in grade 8 with severe anxiety, counted independently
    pane.gender_combo.setCurrentIndex(pane.gender_combo.findData("女"))
    pane.grade_combo.setCurrentIndex(pane.grade_combo.findData(8))
    pane.subscale_combo.setCurrentIndex(SUBSCALES.index("anxiety"))
    pane.band_combo.setCurrentText("Severe")
    expected = ((reference["gender"] == "女") & (reference["grade_name"] == "初二")
                & (reference["anxiety_band"] == "Severe")).sum()
    assert pane.model.rowCount() == expected
    assert f"of {expected:,} " in pane.page_label.text()
    pane.band_combo.setCurrentText("any")
    pane.grade_combo.setCurrentIndex(0)
    # a header click sorts all filtered subjects, not just the page
    pane.table.horizontalHeader().setSortIndicator(5, Qt.SortOrder.DescendingOrder)
    girls = reference[reference["gender"] == "女"]
    assert pane.model.text(0, 5) == str(int(girls["depression"].max()))
    assert pane.page_label.text().startswith(f"Subjects 1–{PAGE_ROWS} of {len(girls):,}")
    shoot(view, "faces_explorer_subjects")


def test_dass_band_counts_and_stored_total_verdict(view, reference, sample, shoot):
    view.tabs.setCurrentWidget(view.dass)
    table = view.dass.band_table
    for j, s in enumerate(SUBSCALES):
        counts = reference.loc[reference[s].notna(), f"{s}_band"].value_counts()
        for i, band in enumerate(DASS_BANDS):
            assert table.item(i, j).text().split(" ")[0] == f"{counts.get(band, 0):,}"
        # the histogram's bars are the counts of each doubled score
        heights = view.dass.histograms[s].bars.opts["height"]
        ref = reference[s].dropna().value_counts()
        assert list(heights) == [ref.get(x, 0) for x in range(0, 43, 2)]
    # stored totals: the sample stores un-doubled sums
    text = view.dass.verdict.text()
    _, written = sample
    answered = set(pd.read_csv(written.dass21)["cust_id"].astype(str))
    everyone = (set(pd.read_csv(written.baseinfo)["cust_id"].astype(str))
                | set(pd.read_csv(written.features, usecols=["ID"])["ID"].astype(str))
                | answered)
    no_answers = len(everyone - answered)
    for s in SUBSCALES:
        stored, raw = reference[s.capitalize()], reference[f"{s}_raw"]
        both = stored.notna() & raw.notna()
        undoubled = int((both & (stored == raw) & (raw != 0)).sum())
        zero = int((both & (stored == 0) & (raw == 0)).sum())
        assert int((both & (stored == 2 * raw) & (raw != 0)).sum()) == 0
        assert f"{s}: stored totals match the UNDOUBLED item sums" in text
        line = next(li for li in text.split("<li>") if li.startswith(f"{s}:"))
        assert f"{undoubled:,} subjects: total = item sum; {zero:,}: total and items " \
               "all 0 (either rule fits)" in line
        # the subjects not compared, in words; those not scored are the table's count
        not_scored = table.item(len(DASS_BANDS), SUBSCALES.index(s)).text()
        assert (f"{not_scored} not scored (items missing)" in line) == (not_scored != "0")
        assert (f"{no_answers:,} without DASS-21 answers" in line) == (no_answers > 0)
    shoot(view, "faces_explorer_dass")


# --- one feature ------------------------------------------------------------------------
def test_search_completes_and_feature_view_matches_scipy(view, reference, qtbot, shoot,
                                                         tmp_path):
    pane = view.features
    view.tabs.setCurrentWidget(pane)
    assert "AU12_r_mean" in pane.completions("AU12_r_me")
    assert "AU12_r_mean" in pane.completions("au12_R_ME")
    qtbot.keyClicks(pane.search, "AU12_r_mean")
    with qtbot.waitSignal(view.feature_shown, timeout=TIMEOUT_MS) as shown:
        qtbot.keyClick(pane.search, Qt.Key.Key_Return)
    assert shown.args == ["AU12_r_mean"]
    for s in SUBSCALES:
        both = reference[["AU12_r_mean", s]].dropna()
        rho, p = sps.spearmanr(both["AU12_r_mean"], both[s])
        low, high = _bonett_wright(rho, len(both))
        assert pane.scatter_cards[s].title_text == (
            f"rho = {rho:.3f} [95% CI {low:.3f}, {high:.3f}], p = {p:.2g}, "
            f"n = {len(both):,}")
        assert len(pane.scatter_cards[s].points.data) == len(both)
    # box plot per depression band: medians and counts against pandas
    both = reference[["AU12_r_mean", "depression_band"]].dropna()
    boxes = {b["band"]: b for b in pane.box_card.summary}
    for band, values in both.groupby("depression_band")["AU12_r_mean"]:
        assert boxes[band]["n"] == len(values)
        assert boxes[band]["median"] == pytest.approx(values.median(), rel=1e-12)
        assert boxes[band]["q3"] == pytest.approx(values.quantile(0.75), rel=1e-12)
    assert view.last_feature_ms > 0
    print(f"\none feature's view: {view.last_feature_ms:.0f} ms (request to shown)")
    shoot(view, "faces_explorer_feature")
    with qtbot.waitSignal(pane.box_card.saved) as saved:
        pane.box_card.save_png(tmp_path / "box")
    assert Path(saved.args[0]).stat().st_size > 0


def test_unknown_feature_says_so(view, qtbot):
    pane = view.features
    pane.request("AU12_r_meen")
    qtbot.waitUntil(lambda: "no FACES feature" in pane.status.text(), timeout=TIMEOUT_MS)
    assert "AU12_r_mean" in pane.status.text()  # suggested


# --- ranking ----------------------------------------------------------------------------
def test_ranking_puts_planted_effects_on_top_and_exports(view, sample, qtbot, tmp_path,
                                                         shoot):
    db, written = sample
    with qtbot.waitSignal(view.ranking_ready, timeout=TIMEOUT_MS):
        view.tabs.setCurrentWidget(view.ranking)
    print(f"\nranking of {written.n_feature_columns:,} features x 3 subscales: "
          f"{view.last_ranking_s:.2f} s")
    pane = view.ranking
    assert "from the ranks stored at import" in pane.status.text()
    planted = {e.feature.split("_")[0] if e.feature.startswith("AU")
               else e.feature.rsplit("_", 1)[0] for e in written.effects}
    for k, s in enumerate(SUBSCALES):
        pane.subscale_combo.setCurrentIndex(k)
        assert pane.model.rowCount() == written.n_feature_columns
        top = [pane.model.text(r, 0) for r in range(20)]
        assert all(any(t.startswith(src) for src in planted) for t in top), top
        mine = [e.feature for e in written.effects if e.subscale == s]
        shown = [pane.model.text(r, 0) for r in range(pane.model.rowCount())]
        strongest = max((e for e in written.effects if e.subscale == s),
                        key=lambda e: e.strength).feature
        assert shown.index(strongest) < 3
        for feature in mine:
            row = shown.index(feature)
            assert float(pane.model.text(row, 7)) < 0.05, feature  # BH q
    # rho / CI / n of the top row against scipy on the raw files
    pane.subscale_combo.setCurrentIndex(0)
    name = pane.model.text(0, 0)
    feats = pd.read_csv(written.features, usecols=["ID", name])
    dass = pd.read_csv(written.dass21)
    dep = dass[[f"dass_{i}" for i in DASS_SUBSCALES["depression"]]].sum(axis=1) * 2
    both = feats.merge(dass.assign(d=dep), left_on="ID", right_on="cust_id").dropna()
    rho, _ = sps.spearmanr(both[name], both["d"])
    assert pane.model.text(0, 3) == f"{rho:.3f}"
    assert pane.model.text(0, 8) == str(len(both))
    # sorting by a header click: q ascending
    pane.table.sortByColumn(7, Qt.SortOrder.AscendingOrder)
    qs = [float(pane.model.text(r, 7)) for r in range(50)]
    assert qs == sorted(qs)
    shoot(view, "faces_explorer_ranking")
    # export writes every feature with the same numbers as the headless ranking
    path = pane.export(tmp_path / "ranking.csv")
    out = pd.read_csv(path)
    assert len(out) == written.n_feature_columns
    assert set(out["feature"]) == set(written.features.open().readline().strip()
                                      .split(",")[1:])
    con = duckdb.connect(str(db), read_only=True)
    try:
        headless = faces_stats.rank_features(con, "depression")
        progress: list[tuple[int, int]] = []
        mine = rank_all_with_progress(con, lambda d, t: progress.append((d, t)))
    finally:
        con.close()
    assert mine is not None
    pd.testing.assert_frame_equal(mine["depression"], headless)
    pd.testing.assert_frame_equal(out, headless, check_exact=False, rtol=1e-15,
                                  check_dtype=False)
    assert progress[-1] == (written.n_feature_columns, written.n_feature_columns)


def _without_stored_ranks(db: Path, folder: Path) -> Path:
    """A copy of ``db`` as an older version imported it: no stored feature ranks."""
    old = folder / "old.duckdb"
    shutil.copy(db, old)
    with duckdb.connect(str(old)) as con:
        con.execute("DROP TABLE faces_feature_ranks")
        con.execute("DROP TABLE faces_rank_subjects")
    return old


def test_ranking_of_an_index_without_stored_ranks(sessions, qtbot, sample, tmp_path, shoot):
    """An index from before the ranks were stored: same ranking, computed from the values,
    and the status line says so."""
    db, written = sample
    old = _without_stored_ranks(db, tmp_path)
    con = duckdb.connect(str(old), read_only=True)
    widget = FacesExplorerView()
    qtbot.addWidget(widget)
    widget.resize(1400, 900)
    widget.show()
    widget.attach(sessions(con))
    try:
        with qtbot.waitSignal(widget.ranking_ready, timeout=TIMEOUT_MS):
            widget.tabs.setCurrentWidget(widget.ranking)
        pane = widget.ranking
        assert "from the feature values; this index has no stored" in pane.status.text()
        assert pane.model.rowCount() == written.n_feature_columns
        shoot(widget, "faces_explorer_ranking_old_index")
        with duckdb.connect(str(db), read_only=True) as fast:
            stored = faces_stats.rank_features(fast, "depression")
        pd.testing.assert_frame_equal(pane.rankings["depression"], stored)
    finally:
        widget.close_workers()
        widget.attach(None)
        con.close()


def test_an_older_index_stores_its_feature_ranks_from_the_window(qtbot, sample, tmp_path,
                                                                 shoot):
    """An index without stored ranks: the Ranking tab offers to store them; one click
    writes them while the window stays open, and the ranking (the same numbers) now comes
    from them."""
    db, written = sample
    old = _without_stored_ranks(db, tmp_path)
    window = show_window(qtbot, old, (1366, 768), testing=True)
    window.views.setCurrentWidget(window._pages["faces_explorer"])   # the user opens the tab
    view = window.faces_explorer
    qtbot.waitUntil(lambda: bool(view.features.names), timeout=TIMEOUT_MS)
    pane = view.ranking
    with qtbot.waitSignal(view.ranking_ready, timeout=TIMEOUT_MS):
        view.tabs.setCurrentWidget(pane)
    from_values = pane.rankings["depression"]
    assert "from the feature values" in pane.status.text()
    assert pane.store_button.isVisible() and pane.store_button.isEnabled()
    shoot(window, "faces_explorer_store_ranks_offered")
    with qtbot.waitSignal(view.ranking_ready, timeout=TIMEOUT_MS):
        qtbot.mouseClick(pane.store_button, Qt.MouseButton.LeftButton)
        assert not pane.store_button.isEnabled()               # "Storing feature ranks…"
    qtbot.waitUntil(lambda: "from the ranks stored at import" in pane.status.text(),
                    timeout=TIMEOUT_MS)
    assert not pane.store_button.isVisible()
    pd.testing.assert_frame_equal(pane.rankings["depression"], from_values,
                                  check_exact=True)
    with duckdb.connect(str(old), read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM faces_feature_ranks").fetchone()[0]
    assert stored == written.n_feature_columns


def test_no_faces_data_and_no_index(sessions, qtbot, tmp_path):
    widget = FacesExplorerView()
    qtbot.addWidget(widget)
    widget.attach(None)
    assert "No index" in widget.note.text()
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    widget.attach(sessions(con))
    assert "No FACES data" in widget.note.text()
    assert widget.stack.currentWidget() is widget.note
    widget.attach(None)
    con.close()
