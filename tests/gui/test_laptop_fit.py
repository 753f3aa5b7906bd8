"""Every tab fits a laptop (issue 14, item 3): the real window, every dataset, two screens.

The window is opened on an index of every sample dataset (small scale, with images) on a
1366x768 laptop screen and on a 1920x1080 one; every tab is visited with its lists filled
(an HRM child open, a C25 set's statistics, a FACES feature shown), and after each:

- the window opened sized to the screen and never asks for more width than the screen
  (``minimumSizeHint``, the size Qt will not shrink it below);
- no control of the tab (buttons, boxes, fields, check boxes, tab bars, plots) lies
  outside the window or is squeezed below its own minimum, and no one-line label is
  narrower than its text (labels that elide or wrap on purpose excepted);
- a screenshot of the tab is saved (``/tmp/shots/fit_<screen>_<tab>.png``) to look at.

A screen's size is fixed when Qt starts, so each screen runs in its own pytest process on
Qt's offscreen platform configured with that screen (``configfile``); the index is built
once, here, and handed over.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QTabBar,
    QWidget,
)

from faceexplorer.gui.fit import ElidedLabel, opens_maximized
from faceexplorer.gui.main_window import MainWindow

pytestmark = pytest.mark.slow

SCREENS = {"1366x768": (1366, 768), "1920x1080": (1920, 1080)}
SCREEN_ENV, INDEX_ENV = "FACEEXPLORER_TEST_SCREEN", "FACEEXPLORER_TEST_FIT_INDEX"
TIMEOUT_MS = 60_000
#: Height a desktop takes from a screen: a panel (~32 px) and a title bar (~30 px).
ROOM_FOR_PANELS = 64
CONTROLS = (QAbstractButton, QComboBox, QLineEdit, QAbstractSpinBox, QTabBar)


@pytest.fixture(scope="module")
def every_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of every sample dataset, as the demo builds it (built once per run)."""
    if os.environ.get(INDEX_ENV):
        return Path(os.environ[INDEX_ENV])
    from faceexplorer.datasets.registry import import_path
    from faceexplorer.samples.generate import SAMPLE_KINDS, write_samples

    root = tmp_path_factory.mktemp("every-dataset")
    samples = write_samples(root / "samples", scale="small", seed=0)
    db = root / "index.duckdb"
    for kind in SAMPLE_KINDS:
        import_path(db, samples.path(kind), kind)
    return db


def _screen_name() -> str:
    geometry = QApplication.primaryScreen().geometry() if QApplication.instance() else None
    return "" if geometry is None else f"{geometry.width()}x{geometry.height()}"


@pytest.mark.parametrize("screen", list(SCREENS))
def test_every_tab_fits_the_screen(screen: str, every_dataset: Path, tmp_path: Path,
                                   request: pytest.FixtureRequest) -> None:
    if os.environ.get(SCREEN_ENV) == screen:
        request.getfixturevalue("qtbot")       # the app, on this process's screen
        assert _screen_name() == screen, "the offscreen platform ignored its screen"
        _visit_every_tab(screen, every_dataset, request)
        return
    # Another screen size needs another Qt: run this same test in a process of its own.
    width, height = SCREENS[screen]
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{
        "name": screen, "x": 0, "y": 0, "width": width, "height": height,
        "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {**os.environ, SCREEN_ENV: screen, INDEX_ENV: str(every_dataset),
           "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-s",
         f"{__file__}::test_every_tab_fits_the_screen[{screen}]"],
        env=env, capture_output=True, text=True, timeout=600, cwd=Path(__file__).parents[2])
    print(run.stdout[-4000:])
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert "1 passed" in run.stdout


# --- inside the process with the screen -----------------------------------------------
def _visit_every_tab(screen: str, db: Path, request: pytest.FixtureRequest) -> None:
    qtbot = request.getfixturevalue("qtbot")
    shoot = request.getfixturevalue("shoot")
    available = QApplication.primaryScreen().availableGeometry()
    window = MainWindow(db)
    window.testing = True
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        # opened sized to the screen: maximized on a laptop, 90% of a larger one
        laptop = opens_maximized(available)
        assert laptop == (screen == "1366x768")
        if laptop:
            assert window.isMaximized()
            qtbot.waitUntil(lambda: window.frameGeometry() == available)
        frame = window.frameGeometry()
        assert available.contains(frame), (frame, available)
        if not laptop:
            assert not window.isMaximized()
            assert abs(window.width() - available.width() * 0.9) <= 8
            assert abs(window.height() - available.height() * 0.9) <= 8
        assert window.state == "browse"
        seen = []
        for index in range(window.views.count()):
            if not window.views.isTabVisible(index):
                continue
            title = window.views.tabText(index)
            window.views.setCurrentIndex(index)
            _fill(title, window, qtbot)
            seen.append(title)
            _check_fits(window, available, title)
            shoot(window, f"fit_{screen}_{title.split(' /')[0].replace(' ', '_').lower()}")
        assert set(seen) >= {"AffectNet", "Crowd statistics", "HRM timelines",
                             "HRM statistics", "Depth", "FACES / DASS-21", "Model runs",
                             "Live models", "Records"}, seen
        # going back to the widest tabs after every other one was built changes nothing
        assert window.minimumSizeHint().width() <= available.width()
    finally:
        window.close()


def _fill(title: str, window: MainWindow, qtbot) -> None:
    """Wait for ``title``'s lists and plots; open what a user would open there."""
    if title == "AffectNet":
        detail = window.faces_view.detail
        qtbot.waitUntil(lambda: detail.current is not None, timeout=TIMEOUT_MS)
    elif title == "Crowd statistics":
        panel = window.crowd_panel
        panel.set_combo.setCurrentIndex(panel.set_combo.findData(2))
        qtbot.waitUntil(lambda: panel.shown == (2, "expression"), timeout=TIMEOUT_MS)
    elif title == "HRM timelines":
        view = window.hrm_view
        first = view.navigator.children_rows[0].child
        view.navigator.select_child(first)
        qtbot.waitUntil(lambda: view.timeline.timeline is not None, timeout=TIMEOUT_MS)
        assert view.timeline.timeline.child == first
    elif title == "HRM statistics":
        stats = window.hrm_stats
        qtbot.waitUntil(lambda: stats.report is not None and not stats.busy.isVisible(),
                        timeout=TIMEOUT_MS)
    elif title == "Depth":
        view = window.depth_view
        qtbot.waitUntil(lambda: view.maps.count() > 0 and bool(view.stats.cache),
                        timeout=TIMEOUT_MS)
        assert view.stats.graphics.height() >= 240     # the profiles stay readable
    elif title == "FACES / DASS-21":
        explorer = window.faces_explorer
        qtbot.waitUntil(lambda: bool(explorer.features.names), timeout=TIMEOUT_MS)
        name = ("AU12_r_mean" if "AU12_r_mean" in explorer.features.names
                else explorer.features.names[0])
        with qtbot.waitSignal(explorer.feature_shown, timeout=TIMEOUT_MS):
            explorer.features.request(name)
    qtbot.wait(200)


def _in_scrolled_content(widget: QWidget, page: QWidget) -> bool:
    """Inside a scroll area's viewport (list items, tables' editors, scrolled panels)."""
    parent = widget.parentWidget()
    while parent is not None and parent is not page:
        grand = parent.parentWidget()
        if isinstance(grand, QAbstractScrollArea) and parent is grand.viewport():
            return True
        parent = grand
    return False


def _check_fits(window: MainWindow, available: QRect, title: str) -> None:
    QApplication.sendPostedEvents()
    QApplication.processEvents()
    assert window.minimumSizeHint().width() <= available.width(), (
        f"{title}: the window asks for {window.minimumSizeHint().width()} px")
    assert window.width() <= available.width(), title
    # and no taller than the screen less a desktop's panel and the window's title bar
    assert window.minimumSizeHint().height() <= available.height() - ROOM_FOR_PANELS, (
        f"{title}: the window asks for {window.minimumSizeHint().height()} px of height")
    page = window.views.currentWidget()
    inside = window.rect()
    problems = []
    for widget in page.findChildren(QWidget):
        if not widget.isVisibleTo(window) or _in_scrolled_content(widget, page) \
                or isinstance(widget.parentWidget(), CONTROLS):   # a spin box's own field
            continue
        name = f"{type(widget).__name__} {widget.objectName() or ''}".strip()
        text = widget.text() if isinstance(widget, (QLabel, QAbstractButton, QLineEdit)) \
            else ""
        rect = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
        if isinstance(widget, CONTROLS) or "Plot" in type(widget).__name__ \
                or "Graphics" in type(widget).__name__:
            if not inside.contains(rect):
                problems.append(f"{name} {text!r} at {rect} outside the window {inside}")
            minimum = widget.minimumWidth() or widget.minimumSizeHint().width()
            if widget.width() < minimum:
                problems.append(f"{name} {text!r} squeezed to {widget.width()} < {minimum}")
        if isinstance(widget, QTabBar):      # every tab's title whole, no scroll arrows
            shown = [widget.tabRect(i) for i in range(widget.count())
                     if widget.isTabVisible(i)]
            if shown and max(r.right() for r in shown) > widget.width():
                problems.append(f"tab bar {[widget.tabText(i) for i in range(widget.count())]}"
                                f" cut at {widget.width()} px")
        elif (isinstance(widget, QLabel) and not isinstance(widget, ElidedLabel)
              and text and not widget.wordWrap()
              and widget.textFormat() != Qt.TextFormat.RichText and "<" not in text
              and widget.sizePolicy().horizontalPolicy() != QSizePolicy.Policy.Ignored):
            if widget.width() < widget.sizeHint().width() - 1:
                problems.append(f"label {text!r} cut: {widget.width()} < "
                                f"{widget.sizeHint().width()} px")
    assert not problems, f"{title}:\n" + "\n".join(problems)
