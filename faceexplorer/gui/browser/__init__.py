"""The image browser (grid and table of the filtered, sorted AffectNet/C25 selection)."""

from faceexplorer.gui.browser.browser import PAGE_SIZE, ImageBrowser

__all__ = ["PAGE_SIZE", "ImageBrowser"]
