"""The image browser (grid and table of the filtered, sorted AffectNet/C25 selection).

Names are imported lazily: ``pkgutil.walk_packages`` (the headless-core test) imports
every package it walks into, and this ``__init__`` must not pull in Qt by itself.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PAGE_SIZE", "ImageBrowser"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from faceexplorer.gui.browser import browser

        return getattr(browser, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
