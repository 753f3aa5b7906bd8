"""Edit > Preferences: the folders and the face detector the window starts with.

Four typed settings (``gui.core.settings``: ``DATASETS_FOLDER``, ``DEFAULT_DETECTOR``,
``YUNET_MODEL``, ``MODELS_FOLDER``) in the window's ``settings.ini``, saved when the dialog
is accepted and read back on the next start. The data folder itself (index, demo,
settings) is shown, not edited: the settings file lives in it, so it is chosen before
any setting can be read (``FACEEXPLORER_HOME``).

:class:`PreferencesController` applies them where they act, through the views' own
``use_preferences`` methods, whenever a view has been built (the window builds tabs on
first show) or a preference changes:

- **Model runs**: Browse… starts in the models folder; an empty model field is filled with
  :func:`default_model` (the model last run, else the first ``.onnx`` of the models
  folder, else the one beside the index: the demo ships its model in ``models/`` next to
  its index, so Model runs and Live are ready on the demo).
- **Live models**: the same model, and the detector chosen here (Haar, or YuNet with
  its file).
- **File > Add dataset** starts in the datasets folder (the folder it last started from,
  which the dialog seeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from faceexplorer.gui.core import settings as keys
from faceexplorer.gui.core.settings import Settings
from faceexplorer.paths import user_data_dir

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow

DETECTORS = {"haar": "Haar (OpenCV, built in)", "yunet": "YuNet (an ONNX file you have)"}


@dataclass(frozen=True)
class Preferences:
    """The values Edit > Preferences sets ("" = not set)."""

    datasets_folder: str = ""
    detector: str = "haar"
    yunet_model: str = ""
    models_folder: str = ""

    @classmethod
    def read(cls, settings: Settings) -> Preferences:
        detector = settings.get(keys.DEFAULT_DETECTOR)
        return cls(settings.get(keys.DATASETS_FOLDER),
                   detector if detector in DETECTORS else "haar",
                   settings.get(keys.YUNET_MODEL), settings.get(keys.MODELS_FOLDER))

    def write(self, settings: Settings) -> None:
        settings.set(keys.DATASETS_FOLDER, self.datasets_folder)
        settings.set(keys.DEFAULT_DETECTOR, self.detector)
        settings.set(keys.YUNET_MODEL, self.yunet_model)
        settings.set(keys.MODELS_FOLDER, self.models_folder)
        settings.sync()

    def models_dir(self) -> Path:
        """The models folder: the chosen one, else ``models`` in the data folder."""
        return Path(self.models_folder) if self.models_folder else user_data_dir() / "models"

    def problems(self) -> list[str]:
        """What is wrong with these values, in the user's words (empty: fine)."""
        out = []
        for label, folder in (("datasets folder", self.datasets_folder),
                              ("models folder", self.models_folder)):
            if folder and not Path(folder).is_dir():
                out.append(f"The {label} {folder} does not exist.")
        if self.detector == "yunet":
            if not self.yunet_model:
                out.append("YuNet needs its model file (face_detection_yunet_*.onnx).")
            elif not Path(self.yunet_model).is_file():
                out.append(f"The YuNet model file {self.yunet_model} does not exist.")
        return out


def _first_model(folder: Path) -> str:
    try:
        found = sorted(p for p in folder.glob("*.onnx") if p.is_file())
    except OSError:
        return ""
    return str(found[0]) if found else ""


def default_model(settings: Settings, db_path: Path | None = None) -> str:
    """The model the model fields start with ("" when none is found).

    The model last run if it still exists, else the first ``.onnx`` in the models folder,
    else the first in ``models/`` beside the index (where ``faceexplorer demo`` puts the
    demo's model).
    """
    last = settings.get(keys.LAST_MODEL)
    if last and Path(last).is_file():
        return last
    for folder in (Preferences.read(settings).models_dir(),
                   *([Path(db_path).parent / "models"] if db_path else [])):
        if found := _first_model(folder):
            return found
    return ""


class _PathField(QWidget):
    """A line edit and its Browse… button (a folder or an .onnx file)."""

    def __init__(self, text: str, folder: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = folder
        self.edit = QLineEdit(text, self)
        self.edit.setMinimumWidth(360)
        self.browse = QPushButton("Browse…", self)
        self.browse.setAutoDefault(False)
        self.browse.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.browse)

    def text(self) -> str:
        return self.edit.text().strip()

    def _browse(self) -> None:
        if self.folder:
            chosen = QFileDialog.getExistingDirectory(self, "Choose a folder", self.text())
        else:
            chosen, _ = QFileDialog.getOpenFileName(self, "Choose the YuNet model",
                                                    self.text(), "ONNX model (*.onnx)")
        if chosen:
            self.edit.setText(chosen)


class PreferencesDialog(QDialog):
    """Edit the :class:`Preferences`; OK refuses values that cannot work and says why."""

    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences")
        self.datasets = _PathField(prefs.datasets_folder, True, self)
        self.datasets.edit.setPlaceholderText("where your dataset folders are")
        self.detector = QComboBox(self)
        for key, title in DETECTORS.items():
            self.detector.addItem(title, key)
        self.detector.setCurrentIndex(list(DETECTORS).index(prefs.detector))
        self.yunet = _PathField(prefs.yunet_model, False, self)
        self.yunet.edit.setPlaceholderText("face_detection_yunet_2023mar.onnx")
        self.models = _PathField(prefs.models_folder, True, self)
        self.models.edit.setPlaceholderText(str(user_data_dir() / "models"))
        data = QLabel(f"<code>{user_data_dir()}</code><br><span style='color:gray'>The "
                      "index, the demo, live recordings and these settings. Set "
                      "FACEEXPLORER_HOME to move it.</span>", self)
        data.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Data folder", data)
        form.addRow("Datasets folder", self.datasets)
        form.addRow("Face detector", self.detector)
        form.addRow("YuNet model file", self.yunet)
        form.addRow("Models folder", self.models)
        self.message = QLabel("", self)
        self.message.setObjectName("preferencesMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.detector.currentIndexChanged.connect(self._detector_changed)
        self._detector_changed()

    def _detector_changed(self) -> None:
        self.yunet.setEnabled(self.detector.currentData() == "yunet")

    def preferences(self) -> Preferences:
        """The values on screen."""
        return Preferences(self.datasets.text(), str(self.detector.currentData()),
                           self.yunet.text(), self.models.text())

    def accept(self) -> None:
        problems = self.preferences().problems()
        if problems:
            self.message.setText(" ".join(problems))
            return
        super().accept()


class PreferencesController:
    """Edit > Preferences for a main window, and the preferences applied to its views."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.settings: Settings = window.settings  # type: ignore[attr-defined]
        self.action = QAction("&Preferences…", window)
        # the platform's key (none on Linux desktops but KDE), else the usual Ctrl+,
        self.action.setShortcuts(QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences)
                                 or [QKeySequence("Ctrl+,")])
        window.addAction(self.action)
        self.action.setToolTip("Folders and the default face detector")
        self.action.triggered.connect(self.edit)
        self.menu = self._edit_menu()
        self.menu.addAction(self.action)
        self.dialog: PreferencesDialog | None = None
        self._seed_add_dataset()
        self.settings.changed.connect(self._setting_changed)
        window.views.currentChanged.connect(self._soon)  # type: ignore[attr-defined]
        self._soon()   # the tab the window restores is built after the menus

    def _edit_menu(self):
        bar = self.window.menuBar()
        menu = bar.addMenu("&Edit")
        # between File and View, where users look for it
        for action in bar.actions():
            if action.text().replace("&", "") == "View":
                bar.insertMenu(action, menu)
                break
        return menu

    @property
    def preferences(self) -> Preferences:
        return Preferences.read(self.settings)

    def edit(self) -> None:
        """Show the dialog; saved when the user presses OK."""
        self.dialog = PreferencesDialog(self.preferences, self.window)
        self.dialog.accepted.connect(self._accepted)
        self.dialog.open()

    def _accepted(self) -> None:
        if self.dialog is not None:
            self.save(self.dialog.preferences())

    def save(self, prefs: Preferences) -> None:
        """Store ``prefs`` and apply them to the views built so far."""
        old = self.preferences.datasets_folder
        prefs.write(self.settings)
        if prefs.datasets_folder and prefs.datasets_folder != old:
            self.settings.set(keys.LAST_IMPORT_FOLDER, prefs.datasets_folder)
        self.apply()

    def _seed_add_dataset(self) -> None:
        folder = self.settings.get(keys.DATASETS_FOLDER)
        if folder and not self.settings.get(keys.LAST_IMPORT_FOLDER):
            self.settings.set(keys.LAST_IMPORT_FOLDER, folder)

    def _setting_changed(self, key: str) -> None:
        if key.startswith("preferences/"):
            self._soon()

    def _soon(self, *_args: object) -> None:
        # after the window has built the tab being shown
        QTimer.singleShot(0, self.apply)

    def built_views(self) -> list[QWidget]:
        """The views of the window's tabs that exist now (none is built here)."""
        tabs = self.window.views  # type: ignore[attr-defined]
        out = []
        for i in range(tabs.count()):
            page = tabs.widget(i)
            view = page.built_view() if hasattr(page, "built_view") else page
            if view is not None:
                out.append(view)
        return out

    def apply(self) -> None:
        """Hand the preferences to every built view that takes them."""
        prefs = self.preferences
        model = default_model(self.settings, getattr(self.window, "db_path", None))
        for view in self.built_views():
            use = getattr(view, "use_preferences", None)
            if use is None:
                continue
            if hasattr(view, "run_started") and not getattr(view, "_remembers_model", False):
                view.run_started.connect(lambda v=view: self._remember_model(v))
                view._remembers_model = True
            use(prefs, model)

    def _remember_model(self, view: QWidget) -> None:
        path = view.model_edit.text().strip()  # type: ignore[attr-defined]
        if path:
            self.settings.set(keys.LAST_MODEL, path)


def install_preferences(window: QMainWindow) -> PreferencesController:
    """Add Edit > Preferences to ``window``; kept as ``window.preferences``."""
    controller = PreferencesController(window)
    window.preferences = controller  # type: ignore[attr-defined]
    return controller
