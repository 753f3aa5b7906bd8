"""The Models view: batch runs of an ONNX model over the index, and their reports."""

from faceexplorer.gui.models.view import ModelsView

__all__ = ["ModelsView"]
