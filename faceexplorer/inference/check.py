"""``faceexplorer models check MODEL.onnx``: the card found, the input expected, a timed run.

``check_model`` returns plain data (JSON-ready) so the CLI can print it as text
(``format_check``) or JSON; it raises ``ModelLoadError`` / ``CardError`` with the user's
message when the model does not load or its card is refused. The timed run feeds a
mid-grey face crop: it measures speed and shows the outputs are wired, not accuracy.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from faceexplorer.inference.postprocess import decode
from faceexplorer.inference.preprocess import to_tensor
from faceexplorer.inference.session import open_model


def check_model(path: Path | str, threads: int = 1, runs: int = 5) -> dict[str, Any]:
    """Load a model with its card and time it on one input.

    Parameters
    ----------
    path : path
        The ``.onnx`` file.
    threads : int
        onnxruntime intra-op threads.
    runs : int
        Timed runs after the first (which includes onnxruntime's allocations).

    Returns
    -------
    dict
        ``file``, ``sha256``, ``size_bytes``, ``onnxruntime``, ``card`` (as JSON data),
        ``input`` (name, ONNX shape, expected layout/size/colour/normalisation/crop),
        ``outputs`` (name, shape), ``timing`` (first_ms, median_ms, runs, threads) and
        ``sample`` (the decoded prediction for the grey input).
    """
    import onnxruntime as ort

    model = open_model(path, threads=threads)
    spec = model.card.input
    h, w = spec.size
    crop = np.full((h, w, 3), 128, np.uint8)
    batch = to_tensor([crop], spec)
    t0 = time.perf_counter()
    raw = model.run(batch)
    first = time.perf_counter() - t0
    times = []
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        model.run(batch)
        times.append(time.perf_counter() - t0)
    pred = decode(model.card, raw, 0, 0.0, [(0.0, 0.0, float(w), float(h))])[0]
    return {
        "file": str(model.path), "sha256": model.sha256,
        "size_bytes": model.path.stat().st_size, "onnxruntime": ort.__version__,
        "card": model.card.to_dict(),
        "input": {"name": model.input_name, "onnx_shape": model.input_shape,
                  "layout": spec.layout, "size": [h, w], "colour": spec.colour,
                  "divide_by": spec.divide_by, "mean": list(spec.mean), "std": list(spec.std),
                  "crop": spec.crop, "margin": spec.margin},
        "outputs": [{"name": n, "shape": s} for n, s in model.outputs],
        "timing": {"first_ms": first * 1e3, "median_ms": float(np.median(times)) * 1e3,
                   "runs": len(times), "threads": model.threads},
        "sample": {"valid": pred.valid, "message": pred.message,
                   "expression": pred.expression, "valence": pred.valence,
                   "arousal": pred.arousal, "aus": pred.aus,
                   "aus_present": pred.aus_present},
    }


def _shape(shape: list) -> str:
    return "[" + ", ".join("?" if s is None else str(s) for s in shape) + "]"


def format_check(info: dict[str, Any]) -> str:
    """The ``check_model`` result as terminal text."""
    card, inp, t = info["card"], info["input"], info["timing"]
    lines = [
        f"model    {info['file']}",
        f"sha256   {info['sha256']}  ({info['size_bytes']:,} bytes)",
        # a card's source reads "in the ONNX metadata of X" after "model card"
        f"card     {card['name']}  (from {card['source'].removeprefix('in ')})",
    ]
    if card.get("notes"):
        lines.append(f"         {card['notes']}")
    lines += [
        f"input    {inp['name']} {_shape(inp['onnx_shape'])}: {inp['layout']} "
        f"{inp['size'][0]}x{inp['size'][1]} {inp['colour']}, (pixel / {inp['divide_by']:g} - "
        f"mean {tuple(round(m, 4) for m in inp['mean'])}) / std "
        f"{tuple(round(s, 4) for s in inp['std'])}",
        "         crop: " + ("5-point aligned (ArcFace template)" if inp["crop"] == "aligned"
                            else f"face box, margin {inp['margin']:g}"),
        "outputs  " + ", ".join(f"{o['name']} {_shape(o['shape'])}" for o in info["outputs"]),
    ]
    for o in card["outputs"]:
        labels = " or ".join(f"{len(s)} labels ({', '.join(s[:3])}, ...)" for s in o["labels"])
        lines.append(f"         {o['kind']}: {o['output']}[{o['slice'][0]}:"
                     f"{'' if o['slice'][1] is None else o['slice'][1]}] "
                     f"{o['activation']}" + (f", {labels}" if labels else ""))
    lines.append(f"timing   first run {t['first_ms']:.1f} ms, median of {t['runs']} "
                 f"{t['median_ms']:.1f} ms ({t['threads']} thread(s), onnxruntime "
                 f"{info['onnxruntime']})")
    s = info["sample"]
    if not s["valid"]:
        lines.append(f"sample   INVALID: {s['message']}")
    else:
        parts = []
        if s["expression"]:
            top = max(s["expression"], key=s["expression"].get)
            parts.append(f"expression {top} {s['expression'][top]:.2f}")
        for k in ("valence", "arousal"):
            if s[k] is not None and math.isfinite(s[k]):
                parts.append(f"{k} {s[k]:+.2f}")
        if s["aus"]:
            parts.append(f"{sum(s['aus_present'].values())} of {len(s['aus'])} AUs present")
        lines.append("sample   grey input -> " + ", ".join(parts))
    return "\n".join(lines)
