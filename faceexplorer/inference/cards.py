"""Model cards: what an ONNX file cannot say about itself (preprocessing, outputs, labels).

A card is JSON (schema 1). It is looked up, first match wins:

1. beside the model, same stem: ``enet_b0_8_va_mtl.onnx`` -> ``enet_b0_8_va_mtl.json``;
2. inside the model, as the ONNX ``metadata_props`` entry ``faceexplorer_card``;
3. among the cards shipped in ``resources/model_cards/``, by file-name
   pattern (the most specific matching pattern wins), so public releases need no card.

Schema (every key but ``name``, ``input`` and ``outputs`` optional; unknown keys refused)::

    {"schema": 1, "name": "HSEmotion enet_b0_8_va_mtl",
     "files": ["enet_b0_8_va_mtl*.onnx"], "reference": "...", "notes": "...",
     "input": {"name": "input", "layout": "NCHW" | "NHWC", "size": [height, width],
               "colour": "RGB" | "BGR" | "GRAY", "divide_by": 255, "mean": [r, g, b] (in
               colour order; one number for GRAY), "std": [.., .., ..], "crop": "box" |
               "aligned", "margin": 0.0},
     "outputs": [{"kind": "expression" | "valence" | "arousal" | "au",
                  "output": 0 | "name", "slice": [start, stop | null],
                  "activation": "softmax" | "sigmoid" | "none" | "auto",
                  "labels": ["anger", ...] | "@HSEMOTION_8" | ["@HRM_AU22", "@HRM_AU17"],
                  "threshold": 0.5}]}

A pixel becomes ``(value / divide_by - mean) / std``. ``GRAY`` models (one channel, e.g.
FER2013-style 48x48 or 64x64) get the crop converted to grey (OpenCV's BT.601 weights);
their mean and std are one number (``0.5`` or ``[0.5]``; three equal numbers are taken
too). The batch axis may be fixed (1, 4, 16...): ``session`` pads or splits batches to
it. Every refusal names the key, what was found and what to write instead.
``labels`` name the model's own
order; they are mapped to the canonical vocabulary (``vocab.EXPRESSIONS``, HRM AU names)
here, so everything downstream speaks one language. A list of ``@`` sets offers
alternatives chosen by the output's width (22- or 17-AU models). ``activation: auto``
applies softmax unless the values already are probabilities. A card that contradicts
the model's input or output shapes is refused by ``check_against_model``.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from faceexplorer.core import vocab
from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.paths import resource_dir

METADATA_KEY = "faceexplorer_card"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Named label orders a card may cite as ``"@NAME"``.
LABEL_SETS: dict[str, tuple[str, ...]] = {
    "HSEMOTION_8": vocab.HSEMOTION_8,
    "HSEMOTION_7": vocab.HSEMOTION_7,
    "AFFECTNET_8": vocab.EXPRESSIONS,
    "C25": tuple(vocab.C25_CODES[i] for i in range(8)),
    "HRM_AU22": vocab.HRM_AU22,
    "HRM_AU17": vocab.HRM_AU17,
}
KINDS = ("expression", "valence", "arousal", "au")
ACTIVATIONS = ("softmax", "sigmoid", "none", "auto")
# Label spellings seen in model releases (HSEmotion says "Happiness", RaFD "angry").
_EXPRESSION_WORDS = {
    **vocab.RAFD_EMOTIONS, "happiness": "happy", "sadness": "sad", "anger": "anger",
    "surprise": "surprise", "fear": "fear", "disgust": "disgust", "contempt": "contempt",
    "neutral": "neutral",
}


class CardError(FaceExplorerError):
    """A model card is missing, malformed, or contradicts its model."""


@dataclass(frozen=True)
class InputSpec:
    """How a face crop becomes the model's input tensor."""

    layout: str = "NCHW"
    size: tuple[int, int] = (224, 224)  # (height, width)
    colour: str = "RGB"
    divide_by: float = 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    crop: str = "box"
    margin: float = 0.0
    name: str | None = None  # ONNX input name; None: the model's first input


@dataclass(frozen=True)
class OutputSpec:
    """One meaning carved out of one ONNX output: a slice of its last axis."""

    kind: str
    output: int | str = 0
    start: int = 0
    stop: int | None = None
    activation: str = "none"
    label_sets: tuple[tuple[str, ...], ...] = ()
    threshold: float = 0.5

    def labels_for(self, width: int) -> tuple[str, ...] | None:
        """The canonical labels for a slice ``width`` wide; None if no set fits."""
        if not self.label_sets:
            return ()
        return next((s for s in self.label_sets if len(s) == width), None)


@dataclass(frozen=True)
class ModelCard:
    """Everything FaceExplorer must know to run a model; ``source`` says where it came from."""

    name: str
    input: InputSpec
    outputs: tuple[OutputSpec, ...]
    files: tuple[str, ...] = ()
    reference: str = ""
    notes: str = ""
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The card as plain JSON-ready data (canonical labels, not the ``@`` shorthands)."""
        i = self.input
        return {
            "schema": 1, "name": self.name, "files": list(self.files),
            "reference": self.reference, "notes": self.notes, "source": self.source,
            "input": {"name": i.name, "layout": i.layout, "size": list(i.size),
                      "colour": i.colour, "divide_by": i.divide_by, "mean": list(i.mean),
                      "std": list(i.std), "crop": i.crop, "margin": i.margin},
            "outputs": [{"kind": o.kind, "output": o.output, "slice": [o.start, o.stop],
                         "activation": o.activation,
                         "labels": [list(s) for s in o.label_sets], "threshold": o.threshold}
                        for o in self.outputs],
        }


# --- parsing ---------------------------------------------------------------------------

def _canonical_label(word: str, kind: str, where: str) -> str:
    if kind == "expression":
        canon = _EXPRESSION_WORDS.get(word.strip().lower())
        if canon is None:
            raise CardError(f"{where}: unknown expression label {word!r}; expected one of "
                            f"{', '.join(vocab.EXPRESSIONS)} (or a set like @HSEMOTION_8)")
        return canon
    m = re.fullmatch(r"(AU|AD)0*(\d+|2X)", word.strip().upper())
    name = f"{m.group(1)}{m.group(2)}" if m else word
    name = {"AU26": "AU2X", "AU27": "AU2X"}.get(name, name)  # HRM codes 26/27 as one column
    if name not in vocab.HRM_AU_COLUMNS:
        raise CardError(f"{where}: unknown AU label {word!r}; expected HRM AU names such as "
                        f"{', '.join(vocab.HRM_AU22[:4])}, ... (or @HRM_AU22 / @HRM_AU17)")
    return name


def _label_sets(raw: Any, kind: str, where: str) -> tuple[tuple[str, ...], ...]:
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        raise CardError(f"{where}: 'labels' must be a list of names or '@SET' names")
    if all(x.startswith("@") for x in items):
        sets = []
        for ref in items:
            if ref[1:] not in LABEL_SETS:
                raise CardError(f"{where}: unknown label set {ref!r}; known: "
                                + ", ".join("@" + k for k in LABEL_SETS))
            sets.append(tuple(_canonical_label(w, kind, where) for w in LABEL_SETS[ref[1:]]))
        return tuple(sets)
    return (tuple(_canonical_label(w, kind, where) for w in items),)


def _check_keys(data: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise CardError(f"{where}: unknown key(s) {', '.join(extra)}; "
                        f"allowed: {', '.join(sorted(allowed))}")


def _triple(value: Any, key: str, where: str, colour: str) -> tuple[float, float, float]:
    """Three numbers in colour order; one number (or a list of one) is used for all three.

    A GRAY model has one channel: three different numbers are refused.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = [value]
    if (not isinstance(value, list) or len(value) not in (1, 3)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        one = " or one number (e.g. [0.5])" if colour != "GRAY" else ""
        example = "[0.5]" if colour == "GRAY" else "[0.485, 0.456, 0.406]"
        raise CardError(f"{where}: '{key}' must be "
                        f"{'one number' if colour == 'GRAY' else 'three numbers in colour order'}"
                        f"{one}, got {value!r}; write e.g. \"{key}\": {example}")
    if len(value) == 1:
        value = [value[0]] * 3
    if colour == "GRAY" and len(set(value)) > 1:
        raise CardError(f"{where}: '{key}' has three different numbers {value!r}, but a GRAY "
                        "model has one channel; write one number, e.g. "
                        f"\"{key}\": [{sum(value) / 3:.4g}] (or use \"colour\": \"RGB\" if "
                        "the model takes three channels)")
    return (float(value[0]), float(value[1]), float(value[2]))


#: Accepted spellings of the input colours, and what they mean.
_COLOURS = {"RGB": "RGB", "BGR": "BGR", "GRAY": "GRAY", "GREY": "GRAY", "GRAYSCALE": "GRAY",
            "GREYSCALE": "GRAY", "L": "GRAY"}


def _parse_input(d: Any, where: str) -> InputSpec:
    if not isinstance(d, dict):
        raise CardError(f"{where}: 'input' must be an object, e.g. {{\"size\": [224, 224], "
                        "\"colour\": \"RGB\"}")
    _check_keys(d, {"name", "layout", "size", "colour", "divide_by", "mean", "std", "crop",
                    "margin"}, where + " input")
    size = d.get("size", [224, 224])
    if isinstance(size, int):
        size = [size, size]
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(s, int) and s > 0
                                                             for s in size)):
        raise CardError(f"{where}: input 'size' must be [height, width] in pixels (or one "
                        f"number for a square), got {size!r}; write e.g. \"size\": [224, 224]")
    raw_colour = str(d.get("colour", "RGB")).upper()
    colour = _COLOURS.get(raw_colour)
    if colour is None:
        raise CardError(f"{where}: input 'colour' is {d.get('colour')!r}, which is not "
                        "supported; write \"RGB\" or \"BGR\" (three channels, in the "
                        "model's order) or \"GRAY\" (one channel)")
    spec = InputSpec(
        layout=str(d.get("layout", "NCHW")).upper(), size=(size[0], size[1]),
        colour=colour, divide_by=float(d.get("divide_by", 255)),
        mean=_triple(d.get("mean", [0, 0, 0]), "mean", where, colour),
        std=_triple(d.get("std", [1, 1, 1]), "std", where, colour),
        crop=str(d.get("crop", "box")).lower(), margin=float(d.get("margin", 0.0)),
        name=d.get("name"))
    for key, value, allowed, what in (
            ("layout", spec.layout, ("NCHW", "NHWC"), "channels first or last"),
            ("crop", spec.crop, ("box", "aligned"), "the detector's box or 5-point aligned")):
        if value not in allowed:
            raise CardError(f"{where}: input '{key}' is {value!r}, which is not supported; "
                            f"write one of {', '.join(repr(a) for a in allowed)} ({what})")
    if spec.divide_by <= 0 or min(spec.std) <= 0:
        raise CardError(f"{where}: input 'divide_by' and 'std' must be positive, got "
                        f"{spec.divide_by:g} and {list(spec.std)}; write e.g. "
                        "\"divide_by\": 255, \"std\": [1, 1, 1]")
    return spec


def _parse_output(d: Any, n: int, where: str) -> OutputSpec:
    here = f"{where} outputs[{n}]"
    if not isinstance(d, dict):
        raise CardError(f"{here}: must be an object")
    _check_keys(d, {"kind", "output", "slice", "activation", "labels", "threshold"}, here)
    kind = d.get("kind")
    if kind not in KINDS:
        raise CardError(f"{here}: 'kind' is {kind!r}; expected one of {KINDS}")
    activation = d.get("activation", "none")
    if activation not in ACTIVATIONS:
        raise CardError(f"{here}: 'activation' is {activation!r}; expected one of {ACTIVATIONS}")
    sl = d.get("slice", [0, None])
    if not (isinstance(sl, list) and len(sl) == 2 and isinstance(sl[0], int)
            and (sl[1] is None or isinstance(sl[1], int))):
        raise CardError(f"{here}: 'slice' must be [start, stop] (stop may be null)")
    output = d.get("output", 0)
    if not isinstance(output, int | str):
        raise CardError(f"{here}: 'output' must be an index or an output name")
    sets = _label_sets(d.get("labels"), kind, here)
    if kind in ("expression", "au") and not sets:
        raise CardError(f"{here}: a {kind} output needs 'labels' in the model's own order")
    return OutputSpec(kind=kind, output=output, start=sl[0], stop=sl[1], activation=activation,
                      label_sets=sets, threshold=float(d.get("threshold", 0.5)))


def parse_card(data: Any, source: str) -> ModelCard:
    """Validate card JSON data (already decoded) into a ``ModelCard``.

    Parameters
    ----------
    data : dict
        The decoded JSON object.
    source : str
        Where it came from (file path or "ONNX metadata of X"), used in every message.

    Raises
    ------
    CardError
        Naming ``source`` and the offending key, with what was expected.
    """
    if not isinstance(data, dict):
        raise CardError(f"model card {source}: expected a JSON object")
    _check_keys(data, {"schema", "name", "files", "reference", "notes", "input", "outputs"},
                f"model card {source}")
    if data.get("schema", 1) != 1:
        raise CardError(f"model card {source}: schema {data.get('schema')!r}; this version "
                        "reads schema 1")
    where = f"model card {source}"
    for key in ("name", "input", "outputs"):
        if key not in data:
            raise CardError(f"{where}: missing '{key}'")
    outputs = data["outputs"]
    if not isinstance(outputs, list) or not outputs:
        raise CardError(f"{where}: 'outputs' must be a non-empty list")
    return ModelCard(
        name=str(data["name"]), input=_parse_input(data["input"], where),
        outputs=tuple(_parse_output(o, n, where) for n, o in enumerate(outputs)),
        files=tuple(data.get("files", ())), reference=str(data.get("reference", "")),
        notes=str(data.get("notes", "")), source=source)


def load_card_text(text: str, source: str) -> ModelCard:
    """Decode and validate card JSON text; syntax errors name the line."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CardError(f"model card {source}, line {exc.lineno}: not valid JSON "
                        f"({exc.msg})") from None
    return parse_card(data, source)


def load_card(path: Path | str) -> ModelCard:
    """Read a card file."""
    path = Path(path)
    return load_card_text(path.read_text(encoding="utf-8"), str(path))


# --- finding a card ----------------------------------------------------------------------

def shipped_cards() -> list[ModelCard]:
    """The cards of public models shipped with FaceExplorer."""
    folder = resource_dir() / "model_cards"
    return [load_card_text(f.read_text(encoding="utf-8"), f"resources/model_cards/{f.name}")
            for f in sorted(folder.iterdir(), key=lambda f: f.name) if f.name.endswith(".json")]


def match_shipped(file_name: str) -> ModelCard | None:
    """The shipped card whose most specific file pattern matches ``file_name``."""
    best: tuple[int, ModelCard] | None = None
    for card in shipped_cards():
        for pattern in card.files:
            if fnmatch.fnmatch(file_name.lower(), pattern.lower()):
                specificity = len(pattern.replace("*", "").replace("?", ""))
                if best is None or specificity > best[0]:
                    best = (specificity, card)
    return best[1] if best else None


def find_card(model_path: Path | str, metadata: dict[str, str] | None = None) -> ModelCard:
    """The card of a model: beside it, in its metadata, or shipped (see module docstring)."""
    model_path = Path(model_path)
    beside = model_path.with_suffix(".json")
    if beside.is_file():
        return load_card(beside)
    if metadata and METADATA_KEY in metadata:
        return load_card_text(metadata[METADATA_KEY], f"in the ONNX metadata of {model_path}")
    card = match_shipped(model_path.name)
    if card is not None:
        return card
    known = ", ".join(p for c in shipped_cards() for p in c.files)
    raise CardError(
        f"{model_path}: no model card. Put one beside it as {beside.name} (schema in "
        f"resources/model_cards/README.md), or store it in the ONNX metadata "
        f"key '{METADATA_KEY}'. Public releases named like these need none: {known}")


# --- checking a card against the model -----------------------------------------------------

Shape = list[int | str | None]


def _fmt(shape: Shape) -> str:
    return "[" + ", ".join(str(s) if s is not None else "?" for s in shape) + "]"


def _static(v: int | str | None) -> int | None:
    return v if isinstance(v, int) and v > 0 else None


def check_against_model(card: ModelCard, model_path: Path | str,
                        inputs: list[tuple[str, Shape]],
                        outputs: list[tuple[str, Shape]]) -> ModelCard:
    """Refuse a card that contradicts the model's shapes; return it with names resolved.

    Parameters
    ----------
    card : ModelCard
    model_path : path
        For messages.
    inputs, outputs : list of (name, shape)
        As onnxruntime reports them (dynamic axes are strings or None).

    Returns
    -------
    ModelCard
        ``input.name`` filled in and every ``output`` turned into an output name.
    """
    spec = card.input
    head = f"{model_path}: the model card {card.source} contradicts the model"
    names = [n for n, _ in inputs]
    name = spec.name or names[0]
    if name not in names:
        raise CardError(f"{head}: the card names input {name!r}, the model's inputs are "
                        f"{names}")
    shape = dict(inputs)[name]
    h, w = spec.size
    ch = 1 if spec.colour == "GRAY" else 3
    want: Shape = ["N", ch, h, w] if spec.layout == "NCHW" else ["N", h, w, ch]
    bad = len(shape) != 4 or any(
        _static(got) is not None and got != exp for got, exp in zip(shape[1:], want[1:],
                                                                     strict=False))
    if bad:
        hint = ""
        if len(shape) == 3:
            hint = (" (a 3-axis input, probably one grey channel without its axis: "
                    "FaceExplorer feeds 4-axis [N, C, H, W] or [N, H, W, C] inputs; export "
                    "the model with a channel axis of 1 and set \"colour\": \"GRAY\")")
        elif len(shape) == 4:
            nchw = spec.layout == "NCHW"
            channels, other = (shape[1], shape[3]) if nchw else (shape[3], shape[1])
            hw = [_static(v) for v in (shape[2:4] if nchw else shape[1:3])]
            flip = "NHWC" if nchw else "NCHW"
            if _static(channels) not in (1, 3) and other in (1, 3):
                hint = f" (the model looks {flip}: set \"layout\": \"{flip}\")"
            elif channels == 1 and ch == 3:
                hint = " (the model takes one channel: set \"colour\": \"GRAY\")"
            elif channels == 3 and ch == 1:
                hint = (" (the model takes three channels: set \"colour\": \"RGB\" or "
                        "\"BGR\")")
            elif None not in hw and hw != [h, w]:
                hint = f" (set \"size\": [{hw[0]}, {hw[1]}])"
        raise CardError(f"{head}'s input: card says {spec.layout} {h}x{w} {spec.colour}, i.e. "
                        f"shape {_fmt(want)}; ONNX input {name!r} has shape {_fmt(shape)}"
                        f"{hint}")
    out_names = [n for n, _ in outputs]
    resolved = []
    for o in card.outputs:
        if isinstance(o.output, int):
            if not -len(outputs) <= o.output < len(outputs):
                raise CardError(
                    f"{head}'s outputs: the card's {o.kind} reads output {o.output}, the model "
                    f"has {len(outputs)}: " + ", ".join(f"{n} {_fmt(s)}" for n, s in outputs))
            oname = out_names[o.output]
        else:
            if o.output not in out_names:
                raise CardError(f"{head}'s outputs: the card's {o.kind} reads output "
                                f"{o.output!r}, the model's outputs are {out_names}")
            oname = o.output
        oshape = dict(outputs)[oname]
        width = _static(oshape[-1]) if len(oshape) >= 2 else 1
        if width is not None:
            sl = range(width)[o.start:o.stop]
            if len(sl) == 0 or not -width <= o.start < width:
                raise CardError(f"{head}'s outputs: the card's {o.kind} takes slice "
                                f"[{o.start}, {o.stop}] of {oname!r}, which has shape "
                                f"{_fmt(oshape)}")
            if o.kind in ("valence", "arousal") and len(sl) != 1:
                raise CardError(f"{head}'s outputs: the card's {o.kind} takes {len(sl)} values "
                                f"of {oname!r} {_fmt(oshape)}; expected one")
            if o.label_sets and o.labels_for(len(sl)) is None:
                sizes = " or ".join(str(len(s)) for s in o.label_sets)
                raise CardError(f"{head}'s outputs: the card's {o.kind} has {sizes} labels, "
                                f"output {oname!r} {_fmt(oshape)} gives {len(sl)} values")
        resolved.append(replace(o, output=oname))
    return replace(card, input=replace(spec, name=name), outputs=tuple(resolved))
