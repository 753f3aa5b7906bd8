"""One onnxruntime session per model, created once and checked against its card.

``open_model`` hashes the file (sha256, so predictions can name the exact weights),
loads it on the CPU provider with spinning threads off (``allow_spinning=0``: idle
workers would otherwise burn the cores OpenCV and the GUI share, 10-15 ms per frame on
2 cores), finds the model card and refuses a card that contradicts the model. A model
exported with a fixed batch size (1, 4, 16...) is fed batches of exactly that size:
larger batches are split, and the last (or a smaller) one is padded with copies of its
last face whose outputs are dropped. Every
failure is a ``ModelLoadError`` or ``CardError`` naming the file: never a raw traceback.
onnxruntime is imported here lazily, so importing the package stays cheap.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.inference.cards import ModelCard, check_against_model, find_card


class ModelLoadError(FaceExplorerError):
    """An ONNX file is missing, unreadable, or onnxruntime cannot load or run it."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _one_line(exc: BaseException, limit: int = 600) -> str:
    """The whole message on one line: onnxruntime puts the useful part on later lines
    ("index: 0 Got: 3 Expected: 1")."""
    msg = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    msg = msg or type(exc).__name__
    return msg if len(msg) <= limit else msg[:limit] + "..."


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()
    msg = text[0] if text else type(exc).__name__
    return msg if len(msg) <= limit else msg[:limit] + "..."


@dataclass
class ModelSession:
    """A loaded model: its session, card, hash and shapes."""

    path: Path
    card: ModelCard
    sha256: str
    session: Any  # onnxruntime.InferenceSession
    input_shape: list[int | str | None]
    outputs: list[tuple[str, list[int | str | None]]]
    threads: int

    @property
    def input_name(self) -> str:
        """The ONNX input the card feeds."""
        assert self.card.input.name is not None
        return self.card.input.name

    @property
    def batch_size(self) -> int | None:
        """The model's fixed batch size, or None when its batch axis is dynamic."""
        first = self.input_shape[0] if self.input_shape else None
        return first if isinstance(first, int) and first > 0 else None

    @property
    def batch_fixed(self) -> bool:
        """True when the model's batch axis is fixed (then batches are split or padded)."""
        return self.batch_size is not None

    def _run_fixed(self, names: list[str], batch: np.ndarray, size: int) -> list[np.ndarray]:
        """Run ``batch`` in slices of exactly ``size``, the last padded with its last face."""
        parts = []
        for start in range(0, len(batch), size):
            piece = batch[start:start + size]
            real = len(piece)
            if real < size:
                pad = np.repeat(piece[-1:], size - real, axis=0)
                piece = np.concatenate([piece, pad])
            out = self.session.run(names, {self.input_name: piece})
            parts.append([np.asarray(v)[:real] for v in out])
        return [np.concatenate([p[k] for p in parts]) for k in range(len(names))]

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run a float32 batch; returns each output by name, batch axis first.

        Raises
        ------
        ModelLoadError
            When onnxruntime fails at run time (for example a shape the model rejects).
        """
        names = [n for n, _ in self.outputs]
        size = self.batch_size
        try:
            if size is not None and len(batch) != size:
                values = self._run_fixed(names, batch, size)
            else:
                values = self.session.run(names, {self.input_name: batch})
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelLoadError(
                f"{self.path}: onnxruntime failed to run the model on a batch of shape "
                f"{list(batch.shape)} (the model's input {self.input_name!r} has shape "
                f"{list(self.input_shape)}): {_one_line(exc)}") from None
        return dict(zip(names, (np.asarray(v) for v in values), strict=True))


def open_model(path: Path | str, threads: int = 1, card: ModelCard | None = None
               ) -> ModelSession:
    """Load an ONNX model once, find and check its card.

    Parameters
    ----------
    path : path
        The ``.onnx`` file.
    threads : int
        onnxruntime intra-op threads (1 leaves a core to video decoding and the GUI).
    card : ModelCard, optional
        Use this card instead of looking one up.

    Raises
    ------
    ModelLoadError
        Missing file, or onnxruntime cannot load it (not ONNX, truncated, unsupported ops).
    CardError
        No card found, a malformed card, or a card contradicting the model.
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    digest = sha256_of(path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # onnxruntime's own warnings go to stderr otherwise
    try:
        session = ort.InferenceSession(str(path), sess_options=options,
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:  # InvalidProtobuf, Fail, NotImplemented...: all "does not load"
        raise ModelLoadError(
            f"{path}: onnxruntime cannot load this file ({_first_line(exc)}). Expected an "
            "ONNX model exported for CPU (opset supported by onnxruntime "
            f"{ort.__version__}); is the file complete?") from None
    metadata = dict(session.get_modelmeta().custom_metadata_map)
    found = card or find_card(path, metadata)
    inputs = [(i.name, list(i.shape)) for i in session.get_inputs()]
    outputs = [(o.name, list(o.shape)) for o in session.get_outputs()]
    checked = check_against_model(found, path, inputs, outputs)
    return ModelSession(path=path, card=checked, sha256=digest, session=session,
                        input_shape=dict(inputs)[checked.input.name],
                        outputs=outputs, threads=options.intra_op_num_threads)
