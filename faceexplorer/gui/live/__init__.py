"""Live view: camera, video or images through an ONNX model, predictions drawn as they come.

``LiveView`` (``view.py``) is a standalone widget: ``start(source, model, detector)``,
``stop()``, Record and Snapshot, and signals ``started``, ``stopped(reason)`` and
``recording_finished(csv_path)``. All frame and model work runs in
``faceexplorer.inference.live.LiveSession`` threads; ``bridge.py`` brings their results
to the GUI thread, newest frame only. Nothing is imported here, so loading one view never
pulls in the others.
"""
