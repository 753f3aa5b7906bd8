"""The set statistics view driven as a user would, its numbers checked against references.

References are computed here from the raw C25 CSV files with independent code:
statsmodels' Fleiss' kappa, the ``krippendorff`` package, scikit-learn's Cohen's kappa,
pandas ``mode`` for the authors' majority, and the Shrout & Fleiss ICC with scipy's F
quantiles (McGraw & Wong's interval). The test compares them with the TEXT the widgets
show, as the user reads it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import krippendorff
import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMainWindow
from scipy import stats as sps
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.datasets.registry import import_path
from faceexplorer.gui.crowd_stats import CrowdStatsPanel
from faceexplorer.index.store import connect
from faceexplorer.reports.crowd_report import set_image_stats
from faceexplorer.reports.crowd_views import CrowdSetView, set_view

_HERE = Path(__file__).resolve()
_DATA = _HERE.parents[2] / ".." / "shared" / "data"
C25_DIR = (_DATA if _DATA.exists() else Path("/work/shared/data")) / "affectnetc25"
PARTICIPANTS = [f"participant{i}" for i in range(25)]
TIMEOUT_MS = 60_000


# --- fixtures ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_index(tmp_path_factory) -> Path:
    if not (C25_DIR / "expression_set1_C25.csv").exists():
        pytest.skip(f"real AffectNetC25 votes not found in {C25_DIR}")
    db = tmp_path_factory.mktemp("c25real") / "index.duckdb"
    import_path(db, C25_DIR, "affectnet-c25")
    return db


@pytest.fixture(scope="module")
def sample_indexes(tmp_path_factory) -> tuple[Path, Path, tuple[int, ...]]:
    """(AffectNet + C25 samples, AffectNet samples only, the C25 sample's spammers)."""
    from faceexplorer.samples.generate import write_samples

    root = tmp_path_factory.mktemp("c25samples")
    written = write_samples(root, "small", seed=0, images=False, only=["affectnet-c25"])
    linked, bare = root / "linked.duckdb", root / "bare.duckdb"
    for db in (linked, bare):
        import_path(db, written.path("affectnet"), "affectnet")
    import_path(linked, written.path("affectnet-c25"), "affectnet-c25")
    return linked, bare, written.written["affectnet-c25"].spammers


@pytest.fixture(scope="module")
def sample_view(sample_indexes) -> CrowdSetView:
    """Set 1 of the linked samples, computed once for the tests that only display it."""
    con = connect(sample_indexes[0], read_only=True)
    try:
        return set_view(con, 1)
    finally:
        con.close()


@pytest.fixture
def open_panel(qtbot, sessions):
    """``open_panel(db, view)`` shows a CrowdStatsPanel on a read-only connection to ``db``.

    ``view``, when given, is put in the panel's cache first (as if computed already).
    """
    # The windows are kept here: Qt deletes a window whose Python wrapper is collected.
    opened: list[tuple[QMainWindow, CrowdStatsPanel, duckdb.DuckDBPyConnection | None]] = []

    def make(db: Path | None, view: CrowdSetView | None = None) -> CrowdStatsPanel:
        window = QMainWindow()
        panel = CrowdStatsPanel(window)
        window.setCentralWidget(panel)
        window.resize(1200, 760)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        session = sessions(db) if db is not None else None
        opened.append((window, panel, session))
        if view is not None:
            panel.cache.set_session(session)
            panel.cache.put(view)
        panel.attach(session)
        return panel

    yield make
    for _window, panel, _session in opened:
        panel.cache.wait()
        panel.attach(None)


def wait_shown(qtbot, panel: CrowdStatsPanel, c25_set: int, task: str) -> None:
    qtbot.waitUntil(lambda: panel.shown == (c25_set, task), timeout=TIMEOUT_MS)


def summary(panel: CrowdStatsPanel) -> dict[str, str]:
    t = panel.summary
    return {t.item(r, 0).text(): t.item(r, 1).text() for r in range(t.rowCount())}


def ranking(panel: CrowdStatsPanel) -> pd.DataFrame:
    model = panel.ranking.model()
    headers = [model.headerData(c, Qt.Orientation.Horizontal).replace("\n", " ")
               for c in range(model.columnCount())]
    return pd.DataFrame(panel.ranking.texts(), columns=headers)


def click_row(qtbot, panel: CrowdStatsPanel, row: int) -> None:
    view = panel.ranking
    view.scrollTo(view.model().index(row, 1))  # as the user scrolls to the row first
    rect = view.visualRect(view.model().index(row, 1))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


# --- independent references from the raw files ---------------------------------------
def raw(task: str, c25_set: int) -> pd.DataFrame:
    return pd.read_csv(C25_DIR / f"{task}_set{c25_set}_C25.csv")[PARTICIPANTS]


def icc2_reference(x: np.ndarray) -> dict[str, tuple[float, float, float]]:
    """ICC(2,1) and ICC(2,k) with McGraw & Wong's 95% CI (scipy F quantiles)."""
    n, k = x.shape
    grand = x.mean()
    msr = k * ((x.mean(axis=1) - grand) ** 2).sum() / (n - 1)
    msc = n * ((x.mean(axis=0) - grand) ** 2).sum() / (k - 1)
    sse = ((x - x.mean(axis=1, keepdims=True) - x.mean(axis=0) + grand) ** 2).sum()
    mse = sse / ((n - 1) * (k - 1))
    icc = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    icck = (msr - mse) / (msr + (msc - mse) / n)
    a = k * icc / (n * (1 - icc))
    b = 1 + k * icc * (n - 1) / (n * (1 - icc))
    v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1)))
    fu, fl = sps.f.ppf(0.975, n - 1, v), sps.f.ppf(0.975, v, n - 1)
    low = n * (msr - fu * mse) / (fu * (k * msc + (k * n - k - n) * mse) + n * msr)
    high = n * (fl * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fl * msr)
    step = lambda r: k * r / (1 + (k - 1) * r)  # noqa: E731 - Spearman-Brown
    return {"ICC(2,1)": (icc, low, high), "ICC(2,k)": (icck, step(low), step(high))}


def shown_icc(value: float, low: float, high: float) -> str:
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


# --- tests ------------------------------------------------------------------------------
def test_real_votes_shown_equal_references(qtbot, open_panel, real_index, shoot) -> None:
    panel = open_panel(real_index)
    assert [panel.set_combo.itemText(i) for i in range(panel.set_combo.count())] == [
        "Set 1", "Set 2"]
    # The import stored the set's statistics (reports.c25_set_views): shown at once, and
    # equal to the references below like the computed ones (test_crowd_stats_stored).
    assert panel.shown == (1, "expression") and not panel.busy.isVisible()
    wait_shown(qtbot, panel, 1, "expression")
    assert not panel.busy.isVisible()

    codes = raw("expression", 1)
    shown = summary(panel)
    assert shown["Images"] == "800" and shown["Annotators"] == "25"
    assert shown["Fleiss' kappa"] == f"{fleiss_kappa(aggregate_raters(codes.to_numpy())[0]):.3f}"
    alpha = krippendorff.alpha(reliability_data=codes.to_numpy().T.astype(float),
                               level_of_measurement="nominal")
    assert shown["Krippendorff's alpha (nominal)"] == f"{alpha:.3f}"
    assert shown["Majority = AffectNet label"] == "not linked"

    # The ranking: agreement with the authors' majority (pandas mode, ties to the smallest
    # C25 code) and mean Cohen's kappa with the 24 others, for every annotator shown.
    majority = codes.mode(axis=1)[0]
    table = ranking(panel).set_index("Annotator")
    assert len(table) == 25
    for p in table.index:
        assert table.loc[p, "Agree with majority"] == f"{(codes[p] == majority).mean():.3f}"
    for p in table.index[[0, 12, 24]]:  # 24 sklearn kappas each: a few suffice
        kappas = [cohen_kappa_score(codes[p], codes[q]) for q in PARTICIPANTS if q != p]
        assert table.loc[p, "Mean Cohen's κ"] == f"{np.mean(kappas):.3f}"
    loo = table["Agree with others' maj."].astype(float).to_numpy()
    assert (np.diff(loo) <= 0).all(), "ranked best first"
    # The clear outlier of set 1 is highlighted (and only rows of low agreement are).
    tinted = [panel.ranking.model().index(r, 0).data(Qt.ItemDataRole.BackgroundRole)
              for r in range(25)]
    assert tinted[-1] is not None and tinted[0] is None

    # The histogram shows, per agreement score, the images with that many majority votes.
    scores = codes.eq(majority, axis=0).sum(axis=1).value_counts()
    expected = scores.reindex(range(26), fill_value=0).to_numpy()
    assert panel.histogram_card.heights.tolist() == expected.tolist()
    panel.tabs.setCurrentWidget(panel.histogram_card)
    shoot(panel.window(), "crowd_stats_set1_histogram")

    # Picking an annotator redraws the Dawid-Skene heatmap for them.
    panel.tabs.setCurrentWidget(panel.ds_card)
    first = panel.ds_card.cell_texts()
    click_row(qtbot, panel, 24)
    low_one = panel.ranking.annotator_at(24)
    assert low_one in panel.ds_card.plot.titleLabel.text
    confusion = panel.cache.get(1).ds_confusions[low_one]
    assert panel.ds_card.cell_texts() == [[f"{p:.2f}" for p in row] for row in confusion]
    assert panel.ds_card.cell_texts() != first
    rows = np.array([[float(t) for t in row] for row in panel.ds_card.cell_texts()])
    assert np.allclose(rows.sum(axis=1), 1, atol=0.05)
    ds_shown = ranking(panel).set_index("Annotator").loc[low_one.split("/")[1], "DS accuracy"]
    priors = panel.cache.get(1).report["expression"]["dawid_skene"]["priors"]
    accuracy = sum(priors[e] * confusion[k, k] for k, e in enumerate(EXPRESSIONS))
    assert ds_shown == f"{accuracy:.3f}"
    shoot(panel.window(), "crowd_stats_set1_ds_heatmap")

    # Valence: alpha (interval) and the ICCs with their 95% intervals.
    with qtbot.waitSignal(panel.statistics_shown, timeout=TIMEOUT_MS):
        panel.task_combo.setCurrentText("valence")
    values = raw("valence", 1).to_numpy(dtype=float)
    shown = summary(panel)
    alpha = krippendorff.alpha(reliability_data=values.T, level_of_measurement="interval")
    assert shown["Krippendorff's alpha (interval)"] == f"{alpha:.3f}"
    ref = icc2_reference(values)
    assert shown["ICC(2,1) [95% CI]"] == shown_icc(*ref["ICC(2,1)"])
    assert shown["ICC(2,k) [95% CI]"] == shown_icc(*ref["ICC(2,k)"])
    assert not panel.ds_card.showing_plot and "expression task" in panel.ds_card.note.text()
    # issue 14: no Dawid-Skene nor AffectNet-majority tab (placeholders) for valence, nor
    # the hint about clicking for a confusion; the histogram is shown
    tabs = panel.tabs
    assert [tabs.isTabVisible(tabs.indexOf(card)) for card in (
        panel.ds_card, panel.affectnet_card, panel.histogram_card)] == [False, False, True]
    assert tabs.currentWidget() is panel.histogram_card
    assert "Dawid-Skene" not in panel.legend.text()
    assert list(ranking(panel).columns)[4] == "Mean Pearson r"
    shoot(panel.window(), "crowd_stats_set1_valence")

    # Set 2 is stored too: shown at once; arousal there.
    panel.set_combo.setCurrentIndex(1)
    assert panel.shown == (2, "valence") and not panel.busy.isVisible()
    with qtbot.waitSignal(panel.statistics_shown, timeout=TIMEOUT_MS):
        panel.task_combo.setCurrentText("arousal")
    values = raw("arousal", 2).to_numpy(dtype=float)
    alpha = krippendorff.alpha(reliability_data=values.T, level_of_measurement="interval")
    shown = summary(panel)
    assert shown["Krippendorff's alpha (interval)"] == f"{alpha:.3f}"
    assert shown["ICC(2,1) [95% CI]"] == shown_icc(*icc2_reference(values)["ICC(2,1)"])
    r = pd.DataFrame(values, columns=PARTICIPANTS).corr().to_numpy(copy=True)
    np.fill_diagonal(r, np.nan)
    table = ranking(panel).set_index("Annotator")
    for j, p in enumerate(PARTICIPANTS):
        assert table.loc[p, "Mean Pearson r"] == f"{np.nanmean(r[j]):.3f}"

    # Back to set 1, expression: cached, so shown at once (no waiting).
    panel.set_combo.setCurrentIndex(0)
    panel.task_combo.setCurrentText("expression")
    assert panel.shown == (1, "expression") and not panel.busy.isVisible()
    codes2 = raw("expression", 2).to_numpy()
    assert summary(panel)["Fleiss' kappa"] != f"{fleiss_kappa(aggregate_raters(codes2)[0]):.3f}"
    panel.set_combo.setCurrentIndex(1)
    assert panel.shown == (2, "expression")
    assert all(panel.tabs.isTabVisible(i) for i in range(panel.tabs.count()))
    assert panel.tabs.currentWidget() is panel.ds_card    # the tab it had for expression
    assert "Dawid-Skene confusion" in panel.legend.text()
    assert summary(panel)["Fleiss' kappa"] == f"{fleiss_kappa(aggregate_raters(codes2)[0]):.3f}"
    assert panel.ranking.annotator_at(0).startswith("set2/")
    header = panel.ranking.horizontalHeader()
    shown_columns = [panel.ranking.model().headerData(c, Qt.Orientation.Horizontal)
                     for c in range(header.count()) if not header.isSectionHidden(c)]
    assert shown_columns == ["Rank", "Annotator", "Agree with\nothers' maj.",
                             "Agree with\nmajority", "Mean\nCohen's κ", "DS\naccuracy"]
    shoot(panel.window(), "crowd_stats_set2_expression")


def test_sorting_keeps_the_picked_annotator(qtbot, open_panel, sample_indexes, sample_view,
                                            shoot) -> None:
    panel = open_panel(sample_indexes[0], sample_view)
    wait_shown(qtbot, panel, 1, "expression")
    # Sort by mean kappa, ascending: numbers, not text, decide the order.
    panel.ranking.sortByColumn(4, Qt.SortOrder.AscendingOrder)
    kappas = ranking(panel)["Mean Cohen's κ"].astype(float).to_numpy()
    assert (np.diff(kappas) >= 0).all()
    with qtbot.waitSignal(panel.annotator_selected) as picked:
        click_row(qtbot, panel, 3)
    name = picked.args[0]
    assert name == panel.ranking.annotator_at(3) and name in panel.ds_card.plot.titleLabel.text
    # The sample's near-random annotators, and only they, are flagged as low agreement.
    table = ranking(panel)
    tinted = {table.loc[r, "Annotator"] for r in range(len(table))
              if panel.ranking.model().index(r, 0).data(Qt.ItemDataRole.BackgroundRole)}
    assert tinted == {f"participant{j}" for j in sample_indexes[2]}
    shoot(panel.window(), "crowd_stats_sorted_by_kappa")
    # Switching task keeps the annotator picked and the sort (mean kappa -> mean r).
    panel.task_combo.setCurrentText("arousal")
    assert panel.ranking.annotator_at(panel.ranking.currentIndex().row()) == name
    rs = ranking(panel)["Mean Pearson r"].astype(float).to_numpy()
    assert (np.diff(rs) >= 0).all()


def test_majority_vs_affectnet_heatmap(qtbot, open_panel, sample_indexes, sample_view,
                                       shoot) -> None:
    panel = open_panel(sample_indexes[0], sample_view)
    wait_shown(qtbot, panel, 1, "expression")
    panel.tabs.setCurrentWidget(panel.affectnet_card)
    assert panel.affectnet_card.showing_plot
    con = panel.con
    per_image = set_image_stats(con, 1, with_dawid_skene=False)
    expected = pd.crosstab(per_image["affectnet_expression"], per_image["majority_label"]
                           ).reindex(index=EXPRESSIONS, columns=EXPRESSIONS, fill_value=0)
    assert panel.affectnet_card.cell_texts() == [[str(n) for n in row]
                                                 for row in expected.to_numpy()]
    equal = (per_image["affectnet_expression"] == per_image["majority_label"]).mean()
    assert summary(panel)["Majority = AffectNet label"] == f"{equal:.1%} of {len(per_image)}"
    shoot(panel.window(), "crowd_stats_affectnet_heatmap")
    panel.task_combo.setCurrentText("valence")
    assert not panel.affectnet_card.showing_plot
    assert summary(panel)["AffectNet valence vs crowd mean"].startswith("r = ")


def test_save_plot_as_png(qtbot, open_panel, sample_indexes, sample_view, tmp_path,
                          monkeypatch) -> None:
    panel = open_panel(sample_indexes[0], sample_view)
    wait_shown(qtbot, panel, 1, "expression")
    target = tmp_path / "confusion"  # no suffix: the view adds .png
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "PNG image (*.png)")))
    with qtbot.waitSignal(panel.message) as msg:
        qtbot.mouseClick(panel.ds_card.save_button, Qt.MouseButton.LeftButton)
    saved = target.with_suffix(".png")
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(saved) in msg.args[0]
    # A note has nothing to save.
    panel.task_combo.setCurrentText("valence")
    assert not panel.ds_card.save_button.isEnabled()


def test_index_without_c25_says_how_to_import(qtbot, open_panel, sample_indexes,
                                              shoot) -> None:
    panel = open_panel(sample_indexes[1])
    assert not panel.has_c25 and panel.stack.currentWidget() is panel.note
    text = panel.note.text()
    assert "No AffectNetC25 votes in this index" in text
    assert "faceexplorer index add affectnet-c25 PATH" in text
    assert not panel.busy.isVisible()
    shoot(panel.window(), "crowd_stats_no_c25")
    panel.attach(None)
    assert "No index is open" in panel.note.text()

