"""On-device inference: users' ONNX models on faces from a camera, a video or images.

``cards`` (what a model expects and means), ``session`` (one onnxruntime session per
model), ``detect`` (Haar or YuNet faces), ``preprocess`` (box or 5-point aligned crops to
tensors), ``postprocess`` (activations, canonical labels, NaN-safe predictions),
``sources`` (camera / video / image folder frames), ``pipeline`` (all of it, timed) and
``check`` (``faceexplorer models check``). Nothing here imports Qt; onnxruntime is
imported only when a model is opened.
"""

import os

# onnxruntime >= 1.32 records a device id and session files and may upload telemetry;
# FaceExplorer makes no network connection and writes only to its data folder.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

#: The index datasets a batch run (``faceexplorer run``) can go over.
BATCH_DATASETS: tuple[str, ...] = ("affectnet", "affectnet-c25", "hrm", "rafd-d")
