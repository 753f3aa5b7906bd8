"""The window's idle builder: a page built ahead once idle, after its module's import."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QLabel, QWidget

from faceexplorer.gui import idle_build
from faceexplorer.gui.core.tasks import TaskRunner
from faceexplorer.gui.idle_build import IdleBuilder
from faceexplorer.gui.lazy_tab import LazyTab


@pytest.fixture
def builder(qtbot, monkeypatch) -> Iterator[IdleBuilder]:
    """An idle builder on its own task runner, idle after 20 ms; its pages' holder is
    ``builder.parent()``."""
    monkeypatch.setattr(idle_build, "IDLE_MS", 20)
    holder = QWidget()
    qtbot.addWidget(holder)
    tasks = TaskRunner(parent=holder)
    yield IdleBuilder(tasks, holder)
    tasks.shutdown()


def test_a_page_is_built_once_idle_and_not_when_cancelled_or_unwanted(qtbot, builder
                                                                      ) -> None:
    holder = builder.parent()
    made: list[QWidget] = []

    def factory(parent: QWidget) -> QWidget:
        made.append(QLabel("built", parent))
        return made[-1]

    page, other, unwanted = (LazyTab(factory, holder) for _ in range(3))
    module = "faceexplorer.gui.crowd_stats.plots"
    with qtbot.waitSignal(builder.built, timeout=10000) as signal:
        builder.schedule(page, module)
        builder.schedule(page, module)            # once is enough
    assert signal.args == [page] and page.built and len(made) == 1
    assert module in sys.modules                  # imported first, on the task runner
    qtbot.waitUntil(lambda: not builder.pending(), timeout=5000)

    builder.schedule(other, module)
    builder.cancel()                              # e.g. the window closes
    builder.schedule(unwanted, module, wanted=lambda: False)   # its tab went away
    qtbot.wait(200)
    assert not other.built and not unwanted.built and not builder.pending()
    assert len(made) == 1


def test_a_page_built_by_a_click_first_is_left_alone(qtbot, builder) -> None:
    holder = builder.parent()
    made: list[QWidget] = []
    page = LazyTab(lambda parent: made.append(QLabel(parent)) or made[-1], holder)
    builder.schedule(page, "faceexplorer.gui.crowd_stats.plots")
    page.view()                                   # the user's click on the tab
    qtbot.wait(200)
    assert len(made) == 1 and not builder.pending()
