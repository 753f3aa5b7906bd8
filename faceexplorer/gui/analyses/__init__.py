"""The Analyses tab: every-frame analyses of videos and image folders, run and shown."""

from faceexplorer.gui.analyses.view import AnalysesView

__all__ = ["AnalysesView"]
