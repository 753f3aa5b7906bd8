"""What the window remembers between sessions: typed settings, saved as they change.

Settings live in ``settings.ini`` in the user's data folder (:func:`faceexplorer.paths.
user_data_dir`), not in the platform's registry or ``~/.config``: ``FACEEXPLORER_HOME``
then moves them with the index and the demo, tests get a private copy, and a clinician
can back them up or delete them with the rest of FaceExplorer's files.

Each setting is declared once as a :class:`Setting` (key, type, default); reading one
that is missing, or of the wrong type (a hand-edited file), gives its default, never an
error. :class:`Settings` emits ``changed(key)`` only when a value really changes, writes
through at once (``QSettings`` syncs to disk on its own schedule and in :meth:`sync`),
and carries a schema ``version`` so a later release can migrate old keys in
:meth:`_migrate` instead of misreading them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QByteArray, QObject, QSettings, Signal

from faceexplorer.paths import user_data_dir

T = TypeVar("T")

#: Version of the settings' layout; raise it with a migration in ``Settings._migrate``.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One remembered value: ``group/name``, its Python type and its default."""

    key: str
    type: type
    default: T


# --- the window's layout (View > Reset layout forgets these) ----------------------------
WINDOW_GEOMETRY: Setting[QByteArray] = Setting("layout/window_geometry", QByteArray,
                                               QByteArray())
BROWSE_SPLITTER: Setting[QByteArray] = Setting("layout/browse_splitter", QByteArray,
                                               QByteArray())
CURRENT_TAB: Setting[str] = Setting("layout/current_tab", str, "")
#: the image table's column widths the user set, JSON {column name: px}
BROWSE_COLUMNS: Setting[str] = Setting("layout/browse_columns", str, "")
#: the folder File > Add dataset last started from (not layout: Reset layout keeps it)
LAST_IMPORT_FOLDER: Setting[str] = Setting("folders/last_import", str, "")
#: the model file last run in Model runs
LAST_MODEL: Setting[str] = Setting("models/last_model", str, "")
LAYOUT_GROUP = "layout"
# --- Edit > Preferences (gui/preferences.py) ---------------------------------------------
#: where the user's dataset folders are: File > Add dataset starts there
DATASETS_FOLDER: Setting[str] = Setting("preferences/datasets_folder", str, "")
#: the face detector Live starts with: "haar" or "yunet"
DEFAULT_DETECTOR: Setting[str] = Setting("preferences/detector", str, "haar")
#: the YuNet ONNX file (OpenCV's face_detection_yunet_*.onnx) the "yunet" detector loads
YUNET_MODEL: Setting[str] = Setting("preferences/yunet_model", str, "")
#: where the user keeps models: Model runs' Browse starts there; its first model pre-fills
#: the model fields of Model runs and Live
MODELS_FOLDER: Setting[str] = Setting("preferences/models_folder", str, "")


class Settings(QObject):
    """Typed access to ``settings.ini``.

    Parameters
    ----------
    path
        The file; the data folder's ``settings.ini`` when None.
    """

    changed = Signal(str)

    def __init__(self, path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path) if path is not None else user_data_dir() / "settings.ini"
        self._store = QSettings(str(self.path), QSettings.Format.IniFormat)
        self._migrate()

    def get(self, setting: Setting[T]) -> T:
        """The stored value, or the default when missing or unreadable."""
        value: Any = self._store.value(setting.key, None)
        if value is None:
            return setting.default
        if setting.type is QByteArray:
            return value if isinstance(value, QByteArray) else setting.default
        if setting.type is bool and isinstance(value, str):  # INI files store text
            return value.lower() == "true"  # type: ignore[return-value]
        try:
            return setting.type(value)  # type: ignore[no-any-return]
        except (TypeError, ValueError):
            return setting.default

    def set(self, setting: Setting[T], value: T) -> None:
        """Store ``value``; emits ``changed`` only when it differs from what was stored."""
        if self.get(setting) == value and self._store.contains(setting.key):
            return
        self._store.setValue(setting.key, value)
        self.changed.emit(setting.key)

    def text(self, key: str) -> str | None:
        """A free-form text value (the app state's JSON; see ``gui.core.state``)."""
        value = self._store.value(key)
        return value if isinstance(value, str) else None

    def set_text(self, key: str, text: str) -> None:
        self._store.setValue(key, text)

    def forget_group(self, group: str) -> None:
        """Drop every setting under ``group/`` (their defaults apply again)."""
        keys = [k for k in self._store.allKeys() if k.startswith(group + "/")]
        self._store.remove(group)
        for key in keys:
            self.changed.emit(key)

    def sync(self) -> None:
        """Write to disk now (the window calls it as it closes)."""
        self._store.sync()

    def _migrate(self) -> None:
        version = self._store.value("version", 0)
        try:
            version = int(version)
        except (TypeError, ValueError):
            version = 0
        # Version 0 is a new file: nothing to move yet.
        if version != SCHEMA_VERSION:
            self._store.setValue("version", SCHEMA_VERSION)
