"""The depth view: AffectNet-D / RaFD-D maps over their RGB faces, facets and statistics."""

from faceexplorer.gui.depth.view import DepthView

__all__ = ["DepthView"]
