"""Issue 14's smaller window items, as a user meets them: the dataset list follows the tab."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceexplorer.gui.main_window import MainWindow


@pytest.fixture(scope="module")
def three_datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """AffectNet, AffectNetC25 and HRM (small samples, no images)."""
    from faceexplorer.datasets.registry import import_path
    from faceexplorer.samples.generate import write_samples

    root = tmp_path_factory.mktemp("three")
    samples = write_samples(root / "samples", only=("affectnet-c25", "hrm"), images=False)
    db = root / "index.duckdb"
    for kind in ("affectnet", "affectnet-c25", "hrm"):
        import_path(db, samples.path(kind), kind)
    return db


def test_the_dataset_list_follows_the_tab(qtbot, three_datasets: Path, shoot) -> None:
    window = MainWindow(three_datasets)
    window.testing = True
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    views, panel = window.views, window.dataset_panel

    def tab(title: str) -> None:
        views.setCurrentIndex(next(i for i in range(views.count())
                                   if views.tabText(i) == title))

    assert panel.current().kind == "affectnet"
    tab("HRM timelines")
    assert panel.current().kind == "hrm"
    assert window.table_panel.table == "hrm_frames"       # Records shows it too
    tab("Crowd statistics")
    assert panel.current().kind == "affectnet-c25"
    # a tab of several datasets keeps the one selected; the tab never moves by itself
    tab("AffectNet")
    assert panel.current().kind == "affectnet-c25"
    assert views.tabText(views.currentIndex()) == "AffectNet"
    # tabs of no dataset in particular keep the selection
    for title in ("Model runs", "Records"):
        tab(title)
        assert panel.current().kind == "affectnet-c25"
        assert views.tabText(views.currentIndex()) == title
    # and a click in the list still opens the dataset's view
    panel.select("hrm")
    assert views.tabText(views.currentIndex()) == "HRM timelines"
    shoot(window, "dataset_list_follows_the_tab")
    window.close()
