"""The window's app state: what the user is looking at, typed, evented, remembered.

Views used to keep this in their widgets (the browser's filter in its filter bar, the
open HRM child in the navigator, the last model in a line edit), so nothing survived a
restart and two widgets could disagree. :class:`AppState` holds it once:

========================  ===============================================  ==============
field                     what                                             remembered
========================  ===============================================  ==============
``tab``                   the tab on screen (its title)                    yes (layout)
``dataset``               the dataset chosen in the list (its kind)        yes
``image_filter``          the image browser's filter (``ImageFilter``)     yes, per index
``image_sort``            the image browser's order (``ImageSort``)        yes, per index
``image_offset``          the first row of the browser's page              yes, per index
``image_key``             the image selected (``[split, row_index]``)      yes, per index
``browse_mode``           ``"grid"`` or ``"table"``                        yes
``hrm_child``             the HRM child open in the timelines              yes, per index
``hrm_frame``             the frame at the HRM cursor (timeline + viewer)  no
``live_source``           the Live tab's source (camera, video, folder)    yes
``live_model``            the model last run live                          yes
``model_path``            the model last run in Model runs / Analyses      yes
========================  ===============================================  ==============

A view writes a field with :meth:`AppState.set` when its user changes it and reads it
(:meth:`get`) when it shows the index; :attr:`AppState.changed` names each field that
changed, so views that show the same thing (the HRM timeline and frame viewer, the
statistics' scope) follow one value. Remembered fields are written through
:class:`~faceexplorer.gui.core.settings.Settings` at once (``settings.ini``: JSON for the
filter and sort dataclasses), per index file where the value only makes sense for that
index. A value that no longer parses (an old version's filter) is dropped, never fatal.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from faceexplorer.gui.core.settings import Settings
from faceexplorer.index.faces_query import ImageFilter, ImageSort

#: field -> (default, remembered per index file)
FIELDS: dict[str, tuple[Any, bool | None]] = {
    "tab": ("", None),                 # None: not remembered here (the layout keeps it)
    "dataset": (None, True),
    "image_filter": (ImageFilter(), True),
    "image_sort": (ImageSort(), True),
    "image_offset": (0, True),
    "image_key": (None, True),
    "browse_mode": ("grid", False),
    "hrm_child": (None, True),
    "hrm_frame": (None, None),
    "live_source": ("0", False),
    "live_model": ("", False),
    "model_path": ("", False),
}
_TYPES = {"image_filter": ImageFilter, "image_sort": ImageSort}


class AppState(QObject):
    """The fields above; ``changed(name)`` after each change (see the module docstring)."""

    changed = Signal(str)

    def __init__(self, settings: Settings, index_path: Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.index_path = Path(index_path) if index_path is not None else None
        self._values: dict[str, Any] = {name: default for name, (default, _) in FIELDS.items()}
        for name, (_default, per_index) in FIELDS.items():
            if per_index is not None:
                stored = self._load(name, per_index)
                if stored is not None:
                    self._values[name] = stored

    def get(self, name: str) -> Any:
        return self._values[name]

    def set(self, name: str, value: Any) -> bool:
        """Set ``name``; emits ``changed(name)`` and remembers it when it differs."""
        if name not in FIELDS:
            raise KeyError(f"no app state field {name!r}; fields: {', '.join(FIELDS)}")
        if self._values[name] == value:
            return False
        self._values[name] = value
        per_index = FIELDS[name][1]
        if per_index is not None:
            self._store(name, value, per_index)
        self.changed.emit(name)
        return True

    # --- remembering --------------------------------------------------------------------
    def _key(self, name: str, per_index: bool) -> str:
        if per_index and self.index_path is not None:
            digest = hashlib.sha1(str(self.index_path.resolve()).encode()).hexdigest()[:12]
            return f"state/{digest}/{name}"
        return f"state/{name}"

    def _store(self, name: str, value: Any, per_index: bool) -> None:
        if dataclasses.is_dataclass(value):
            text = json.dumps(dataclasses.asdict(value))
        else:
            text = json.dumps(value)
        self.settings.set_text(self._key(name, per_index), text)

    def _load(self, name: str, per_index: bool) -> Any:
        text = self.settings.text(self._key(name, per_index))
        if not text:
            return None
        try:
            value = json.loads(text)
            kind = _TYPES.get(name)
            if kind is None:
                return value
            fields = {f.name for f in dataclasses.fields(kind)}
            value = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()
                     if k in fields}
            return kind(**value)
        except (ValueError, TypeError):   # an older version's value: forget it
            return None
