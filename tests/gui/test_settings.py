"""Settings survive a restart: the typed store, and the window's layout through it."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

from faceexplorer.gui.core import settings as keys
from faceexplorer.gui.core.settings import Setting, Settings
from faceexplorer.gui.main_window import MainWindow
from faceexplorer.paths import user_data_dir
from tests.gui.windows import show_window

COUNT: Setting[int] = Setting("test/count", int, 3)
FLAG: Setting[bool] = Setting("test/flag", bool, False)


def test_values_survive_a_new_instance_and_live_in_the_data_folder(qtbot, tmp_path):
    first = Settings()
    assert first.path == user_data_dir() / "settings.ini"
    assert first.get(COUNT) == 3 and first.get(FLAG) is False       # defaults
    first.set(COUNT, 7)
    first.set(FLAG, True)
    first.set(keys.WINDOW_GEOMETRY, QByteArray(b"\x01\x02"))
    first.sync()
    again = Settings()
    assert again.get(COUNT) == 7
    assert again.get(FLAG) is True
    assert bytes(again.get(keys.WINDOW_GEOMETRY)) == b"\x01\x02"


def test_changed_only_when_the_value_changes(qtbot):
    s = Settings()
    seen: list[str] = []
    s.changed.connect(seen.append)
    s.set(COUNT, 5)
    s.set(COUNT, 5)
    s.set(COUNT, 6)
    assert seen == ["test/count", "test/count"]


def test_a_hand_edited_value_of_the_wrong_type_gives_the_default(qtbot):
    s = Settings()
    raw = QSettings(str(s.path), QSettings.Format.IniFormat)
    raw.setValue("test/count", "many")
    raw.setValue("layout/window_geometry", "not bytes")
    raw.sync()
    again = Settings()
    assert again.get(COUNT) == 3
    assert again.get(keys.WINDOW_GEOMETRY).isEmpty()


def test_forget_group_restores_defaults(qtbot):
    s = Settings()
    s.set(keys.CURRENT_TAB, "Records")
    s.set(COUNT, 9)
    s.forget_group(keys.LAYOUT_GROUP)
    assert s.get(keys.CURRENT_TAB) == ""
    assert s.get(COUNT) == 9


def _open(qtbot, db) -> MainWindow:
    return show_window(qtbot, db)


def test_window_size_and_splitter_survive_a_restart(qtbot, toy_index):
    window = _open(qtbot, toy_index)
    window.resize(790, 560)                 # within the offscreen platform's 800x600 screen
    assert (window.width(), window.height()) == (790, 560)
    window.browse_page.setSizes([300, 440])
    sizes = window.browse_page.sizes()
    window.close()

    again = _open(qtbot, toy_index)
    assert (again.width(), again.height()) == (790, 560)
    assert again.browse_page.sizes() == sizes
    again.close()


def test_tab_survives_a_restart_and_reset_layout_forgets_it(qtbot, toy_index, shoot):
    window = _open(qtbot, toy_index)
    # the toy index's kinds have no view of their own: a fresh start shows Records
    assert window.views.tabText(window.views.currentIndex()) == "Records"
    window.views.setCurrentWidget(window._pages["models_view"])
    window.close()

    again = _open(qtbot, toy_index)
    assert again.views.tabText(again.views.currentIndex()) == "Model runs"
    assert again._pages["models_view"].built_view() is not None
    assert again._pages["live_view"].built_view() is None      # only what is shown is built
    shoot(again, "settings_restored")

    again.reset_layout_action.trigger()
    assert again.views.tabText(again.views.currentIndex()) == "Records"
    assert again.statusBar().currentMessage() == "Layout reset to the defaults"
    again.close()
    third = _open(qtbot, toy_index)
    assert third.views.tabText(third.views.currentIndex()) == "Records"
    third.close()


def test_a_remembered_tab_that_is_hidden_now_is_not_forced(qtbot, toy_index):
    Settings().set(keys.CURRENT_TAB, "HRM timelines")         # this index has no HRM
    window = _open(qtbot, toy_index)
    assert window.views.tabText(window.views.currentIndex()) == "Records"
    window.close()
