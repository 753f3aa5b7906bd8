"""HRM statistics view: what it shows = hrm_report's numbers = pandas on the CSVs."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt
from statsmodels.stats.proportion import proportion_confint

from faceexplorer.core.vocab import HRM_AU22, HRM_RATERS
from faceexplorer.gui.hrm.stats_view import HRMStatsView, table_texts
from faceexplorer.reports.hrm_report import hrm_report
from tests.test_hrm_query import HRMIndex, build_hrm_index, read_child_csv

N_BOOT = 200  # enough to draw intervals; the view passes it to hrm_report


@pytest.fixture(scope="module")
def hrm(tmp_path_factory: pytest.TempPathFactory) -> HRMIndex:
    return build_hrm_index(tmp_path_factory.mktemp("hrm_stats_gui"))


@pytest.fixture(scope="module")
def con(hrm: HRMIndex):
    connection = duckdb.connect(str(hrm.db), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def frames(hrm: HRMIndex) -> pd.DataFrame:
    """Every child's CSV rows, with its group (S1..S66 ASD, the rest TD)."""
    parts = []
    for c in hrm.sample.children:
        t = read_child_csv(hrm.sample, c.name)
        t["child"] = c.name
        t["grp"] = "ASD" if int(c.name[1:]) <= 66 else "TD"
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def shared_view(sessions, qapp, con):
    """One view for the module: its per-scope cache is part of what is tested."""
    widget = HRMStatsView(n_boot=N_BOOT)
    widget.resize(1300, 850)
    widget.show()
    widget.attach(sessions(con))
    widget.wait()
    qapp.processEvents()
    yield widget
    widget.wait()
    widget.close()
    widget.deleteLater()


@pytest.fixture
def view(qtbot, shared_view: HRMStatsView) -> HRMStatsView:
    """The shared view on the whole dataset, as a user finds it."""
    qtbot.waitUntil(lambda: shared_view.report is not None, timeout=60_000)
    if shared_view.scope != "all":
        open_scope(qtbot, shared_view, None)
    return shared_view


def open_scope(qtbot, view: HRMStatsView, child: str | None) -> None:
    with qtbot.waitSignal(view.statistics_shown, timeout=60_000) as blocker:
        view.show_scope(child)
    assert blocker.args == [child or "all"]


def show_tab(view: HRMStatsView, title: str) -> None:
    for i in range(view.tabs.count()):
        if view.tabs.tabText(i) == title:
            view.tabs.setCurrentIndex(i)
            return
    raise AssertionError(title)


def visible_tabs(view: HRMStatsView) -> list[str]:
    return [view.tabs.tabText(i) for i in range(view.tabs.count()) if view.tabs.isTabVisible(i)]


def icc_2_1(x: np.ndarray) -> float:
    """Shrout & Fleiss ICC(2,1) from the two-way ANOVA mean squares (textbook formula)."""
    n, k = x.shape
    grand = x.mean()
    msr = k * ((x.mean(axis=1) - grand) ** 2).sum() / (n - 1)
    msc = n * ((x.mean(axis=0) - grand) ** 2).sum() / (k - 1)
    sse = ((x - x.mean(axis=1, keepdims=True) - x.mean(axis=0) + grand) ** 2).sum()
    mse = sse / ((n - 1) * (k - 1))
    return (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)


def test_prevalence_dots_and_whiskers_match_pandas(qtbot, view, con, frames, shoot) -> None:
    report = hrm_report(con, n_boot=N_BOOT)
    shown = view.report
    assert shown is not None and shown["prevalence"] == report["prevalence"]
    show_tab(view, "AU prevalence")
    view.ci_combo.setCurrentIndex(view.ci_combo.findData("frames"))
    for au in ("AU12", "AU2X"):
        i = HRM_AU22.index(au)
        for grp, colour_key in (("ASD", "ASD"), ("TD", "TD")):
            rows = frames[frames["grp"] == grp]
            active, n = int((rows[au] != 0).sum()), len(rows)
            low, high = proportion_confint(active, n, alpha=0.05, method="wilson")
            x, _ = view.prevalence.dots[colour_key].getData()
            assert x[i] == pytest.approx(100 * active / n)
            opts = view.prevalence.whiskers[colour_key].opts
            assert opts["left"][i] == pytest.approx(100 * (active / n - low))
            assert opts["right"][i] == pytest.approx(100 * (high - active / n))
    shoot(view, "hrm_stats_prevalence_wilson")
    # the child-bootstrap whiskers are the report's, and differ from Wilson's
    view.ci_combo.setCurrentIndex(view.ci_combo.findData("children"))
    by = {(r["au"], r["group"]): r for r in report["prevalence"]}
    boot = by[("AU2X", "ASD")]
    opts = view.prevalence.whiskers["ASD"].opts
    i = HRM_AU22.index("AU2X")
    assert opts["right"][i] == pytest.approx(100 * (boot["boot_high"] - boot["share"]))
    assert view.prevalence.save_button.isEnabled()
    shoot(view, "hrm_stats_prevalence_bootstrap")


def test_cooccurrence_counts_and_conditional(qtbot, view, frames, shoot, tmp_path) -> None:
    show_tab(view, "Co-occurrence")
    a, b = HRM_AU22.index("AU25"), HRM_AU22.index("AU2X")
    both = int(((frames["AU25"] != 0) & (frames["AU2X"] != 0)).sum())
    view.co_combo.setCurrentIndex(view.co_combo.findData("counts"))
    texts = view.cooccurrence.cell_texts()
    assert both < 1000 and texts[a][b] == texts[b][a] == str(both)
    assert texts[a][a] == str(int((frames["AU25"] != 0).sum()))
    view.co_combo.setCurrentIndex(view.co_combo.findData("conditional"))
    texts = view.cooccurrence.cell_texts()
    assert texts[a][b] == f"{100 * both / (frames['AU25'] != 0).sum():.0f}"
    labels = [t for _, t in view.cooccurrence.plot.getAxis("left")._tickLevels[0]]
    assert labels == list(HRM_AU22)
    saved = view.cooccurrence.save_png(tmp_path / "co")
    assert saved.suffix == ".png" and saved.stat().st_size > 0
    shoot(view, "hrm_stats_cooccurrence")


def test_raters_table_matches_textbook_icc(qtbot, view, frames, shoot) -> None:
    show_tab(view, "Raters")
    x = frames[list(HRM_RATERS)].dropna().to_numpy(float)
    rows = table_texts(view.agreement)
    assert rows[0][1] == f"{len(x):,}"
    assert rows[1][0].startswith("ICC(2,1)") and rows[1][1] == f"{icc_2_1(x):.3f}"
    raters = table_texts(view.raters)
    assert [r[0] for r in raters] == list(HRM_RATERS)
    assert raters[0][1] == f"{x[:, 0].mean():.2f}"
    assert "too narrow" in view.raters_note.text()
    shoot(view, "hrm_stats_raters")


def test_scope_switch_child_segments_and_openface(qtbot, view, con, frames, hrm,
                                                  shoot) -> None:
    assert visible_tabs(view) == ["AU prevalence", "Co-occurrence", "Raters",
                                  "AU vs atypicality"]
    with_of = {f.child for f in hrm.openface.files}
    child = sorted(with_of)[0]
    open_scope(qtbot, view, child)
    assert child in view.title.text()
    assert "Segments" in visible_tabs(view) and "OpenFace vs coders" in visible_tabs(view)
    t = frames[frames["child"] == child]
    seg = table_texts(view.segments)
    assert len(seg) == t["segment"].nunique()
    first = t[t["segment"] == t["segment"].min()]
    assert seg[0][1:4] == [str(first["frame"].min()), str(first["frame"].max()),
                           str(len(first))]
    col = 5 + HRM_AU22.index("AU12")
    assert seg[0][col] == f"{100 * (first['AU12'] != 0).mean():.1f}"
    # the child's own dots: its share of frames
    x, _ = view.prevalence.dots["child"].getData()
    assert x[HRM_AU22.index("AU12")] == pytest.approx(100 * (t["AU12"] != 0).mean())

    # OpenFace: F1 of AU12 against the coders, recomputed from the OpenFace CSV
    show_tab(view, "OpenFace vs coders")
    path = next(f.path for f in hrm.openface.files if f.child == child)
    of = pd.read_csv(path, skipinitialspace=True)
    of = of[of["success"] == 1].sort_values("confidence", ascending=False)
    of = of.drop_duplicates("frame")
    merged = t.merge(of.assign(frame=of["frame"] - 1), on="frame", suffixes=("", "_of"))
    human, machine = merged["AU12"] != 0, merged["AU12_c"] != 0
    tp = int((human & machine).sum())
    f1 = 2 * tp / (human.sum() + machine.sum())
    rows = {r[0]: r for r in table_texts(view.openface)}
    assert rows["AU12"][2] == f"{len(merged):,}"
    assert rows["AU12"][5] == f"{f1:.3f}"
    assert rows["AU26"][1] == "AU2X" and "AU27" in rows["AU26"][7]
    shoot(view, "hrm_stats_openface")

    # a child without OpenFace: segments yes, OpenFace tab hidden; whole dataset: neither
    without = next(c.name for c in hrm.sample.children if c.name not in with_of)
    open_scope(qtbot, view, without)
    assert "Segments" in visible_tabs(view)
    assert "OpenFace vs coders" not in visible_tabs(view)
    open_scope(qtbot, view, None)   # cached: shown at once
    assert "Segments" not in visible_tabs(view)
    assert view.title.text().endswith("whole dataset")


def test_empty_states(sessions, qtbot, tmp_path) -> None:
    widget = HRMStatsView(n_boot=N_BOOT)
    qtbot.addWidget(widget)
    widget.show()
    assert widget.stack.currentWidget() is widget.empty
    assert "No index" in widget.empty.text()
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    try:
        widget.attach(sessions(con))
        assert widget.stack.currentWidget() is widget.empty
        assert "index add hrm" in widget.empty.text()
    finally:
        widget.attach(None)
        con.close()



def test_whole_dataset_button_returns_from_a_child(qtbot, view: HRMStatsView) -> None:
    """After picking a child, one click shows the whole dataset again."""
    open_scope(qtbot, view, "S1")
    assert view.whole.isVisible()
    with qtbot.waitSignal(view.statistics_shown, timeout=60_000) as blocker:
        qtbot.mouseClick(view.whole, Qt.MouseButton.LeftButton)
    assert blocker.args == ["all"]
    assert not view.whole.isVisible()
    assert "whole dataset" in view.title.text()
