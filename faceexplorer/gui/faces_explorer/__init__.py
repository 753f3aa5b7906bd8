"""The FACES explorer: subjects, DASS-21 scoring, one feature at a time, feature ranking."""

from faceexplorer.gui.faces_explorer.view import FacesExplorerView

__all__ = ["FacesExplorerView"]
