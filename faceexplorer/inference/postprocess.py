"""Raw model outputs -> predictions in the canonical vocabulary.

Each card output is a slice of one ONNX output's last axis, passed through its
activation (softmax, sigmoid, none, or auto: softmax unless the values already are
probabilities) and named with canonical labels. A face whose outputs hold NaN or Inf
becomes a ``Prediction`` with ``valid=False`` and a message saying which output went
wrong; it is recorded like any other, and nothing raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from faceexplorer.inference.cards import ModelCard, OutputSpec

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Prediction:
    """What a model said about one face in one frame.

    ``expression`` maps canonical expression names to probabilities; ``aus`` maps HRM
    AU names to probabilities and ``aus_present`` to the card's threshold decision.
    ``valid`` is False when the model gave NaN/Inf (``message`` says where).
    """

    frame_index: int
    timestamp_s: float
    box: Box
    expression: dict[str, float] = field(default_factory=dict)
    valence: float | None = None
    arousal: float | None = None
    aus: dict[str, float] = field(default_factory=dict)
    aus_present: dict[str, bool] = field(default_factory=dict)
    valid: bool = True
    message: str = ""
    face_index: int = 0
    aligned: bool = False

    @property
    def top_expression(self) -> str | None:
        """The most probable expression, or None without an expression output."""
        return max(self.expression, key=self.expression.__getitem__) if self.expression else None


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, stable for large logits."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, without overflow warnings for large negative logits."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def activate(values: np.ndarray, activation: str) -> np.ndarray:
    """Apply a card activation to (faces, width) values."""
    if activation == "softmax":
        return softmax(values)
    if activation == "sigmoid":
        return sigmoid(values)
    if activation == "auto":
        sums = values.sum(axis=-1)
        looks_like_probs = (values.min() >= 0 and values.max() <= 1
                            and np.allclose(sums, 1.0, atol=1e-3))
        return values if looks_like_probs else softmax(values)
    return values


def _slice(raw: dict[str, np.ndarray], spec: OutputSpec, faces: int) -> np.ndarray:
    arr = np.asarray(raw[str(spec.output)], dtype=np.float64).reshape(faces, -1)
    return arr[:, spec.start:spec.stop]


def decode(card: ModelCard, raw: dict[str, np.ndarray], frame_index: int, timestamp_s: float,
           boxes: list[Box], aligned: list[bool] | None = None) -> list[Prediction]:
    """One ``Prediction`` per face from one batch of raw outputs.

    Parameters
    ----------
    card : ModelCard
        Checked card (outputs resolved to names).
    raw : dict
        Output name -> array with the faces on the first axis.
    frame_index, timestamp_s : int, float
        Where the faces were seen.
    boxes : list of (x, y, w, h)
        The faces, in batch order.
    aligned : list of bool, optional
        Whether each face was 5-point aligned.
    """
    n = len(boxes)
    fields_per_face: list[dict] = [{"expression": {}, "aus": {}, "aus_present": {}}
                                   for _ in range(n)]
    problems: list[list[str]] = [[] for _ in range(n)]
    for spec in card.outputs:
        try:
            values = _slice(raw, spec, n)
        except ValueError:
            for p in problems:
                p.append(f"output {spec.output!r} does not hold {n} face(s)")
            continue
        labels = spec.labels_for(values.shape[1])
        if labels is None:
            for p in problems:
                p.append(f"{spec.kind}: output {spec.output!r} gave {values.shape[1]} values, "
                         f"the card has {' or '.join(str(len(s)) for s in spec.label_sets)}")
            continue
        finite = np.isfinite(values).all(axis=1)
        for i in np.flatnonzero(~finite):
            problems[i].append(f"{spec.kind} output {spec.output!r} holds NaN or Inf")
        if not finite.any():
            continue
        done = values.copy()
        done[finite] = activate(values[finite], spec.activation)
        for i in np.flatnonzero(finite):
            row, f = done[i], fields_per_face[i]
            if spec.kind == "expression":
                f["expression"] = {lab: float(v) for lab, v in zip(labels, row, strict=True)}
            elif spec.kind == "au":
                f["aus"] = {lab: float(v) for lab, v in zip(labels, row, strict=True)}
                f["aus_present"] = {lab: bool(v >= spec.threshold)
                                    for lab, v in zip(labels, row, strict=True)}
            else:
                f[spec.kind] = float(row[0])
    return [Prediction(frame_index=frame_index, timestamp_s=timestamp_s, box=boxes[i],
                       valid=not problems[i], message="; ".join(problems[i]),
                       face_index=i, aligned=bool(aligned[i]) if aligned else False,
                       **fields_per_face[i])
            for i in range(n)]
