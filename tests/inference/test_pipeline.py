"""The whole pipeline on drawn faces: values, canonical labels, alignment, bad input."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceexplorer.core import vocab
from faceexplorer.inference.check import check_model, format_check
from faceexplorer.inference.detect import HaarFaceDetector
from faceexplorer.inference.pipeline import Pipeline
from faceexplorer.inference.postprocess import sigmoid, softmax
from faceexplorer.inference.preprocess import face_crop, to_tensor
from faceexplorer.inference.session import ModelLoadError, ModelSession, open_model
from faceexplorer.inference.sources import CameraSource, ImageFolderSource, VideoFileSource
from faceexplorer.samples.drawing import draw_face, params_for_expression

from .conftest import expected_outputs

N_FACES = 6


@pytest.fixture(scope="module")
def face_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MJPEG video: N_FACES drawn faces (Haar finds each), then one empty frame."""
    path = tmp_path_factory.mktemp("video") / "faces.avi"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (256, 256))
    seed, written = 0, 0
    while written < N_FACES:
        rng = np.random.default_rng(seed)
        seed += 1
        face = draw_face(params_for_expression(vocab.EXPRESSIONS[seed % 8], 0.8, rng), rng)
        if HaarFaceDetector().detect(face.image):
            out.write(face.image)
            written += 1
    out.write(np.full((256, 256, 3), 120, np.uint8))
    out.release()
    return path


@pytest.fixture(scope="module")
def haar() -> HaarFaceDetector:
    return HaarFaceDetector()


def _raw_for(model: ModelSession, frame: np.ndarray, box: tuple, points=None) -> list[np.ndarray]:
    spec = model.card.input
    tensor = to_tensor([face_crop(frame, spec, box, points)], spec)
    widths = tuple(int(s[-1]) for _, s in model.outputs)
    return expected_outputs(tensor, widths, spec.layout)


def test_expressions_on_a_video(models: dict[str, Path], face_video: Path,
                                haar: HaarFaceDetector) -> None:
    model = open_model(models["logits8"])
    result = Pipeline(model, haar, faces="largest").run(VideoFileSource(face_video))
    assert result.frames == N_FACES + 1 and result.frames_with_faces == N_FACES
    assert result.end_reason == f"end of video ({N_FACES + 1} frames)"
    assert [p.frame_index for p in result.predictions] == list(range(N_FACES))
    assert result.predictions[1].timestamp_s == pytest.approx(1 / 25)
    assert result.model_sha256 == model.sha256 and result.invalid == 0
    frames = list(VideoFileSource(face_video))
    for pred in result.predictions:
        assert set(pred.expression) == set(vocab.EXPRESSIONS)
        assert sum(pred.expression.values()) == pytest.approx(1.0)
        # Recompute from the same crop: the alphabetical logit k is canonical HSEMOTION_8[k].
        (logits,) = _raw_for(model, frames[pred.frame_index].image, pred.box)
        probs = softmax(logits[0])
        for k, label in enumerate(vocab.HSEMOTION_8):
            assert pred.expression[label] == pytest.approx(probs[k], rel=1e-4)
    summary = result.timings.summary()
    assert summary["infer"]["n"] == N_FACES and summary["detect"]["n"] == N_FACES + 1
    print("stage medians (ms):", {k: round(v["median_ms"], 2) for k, v in summary.items()})


def test_valence_arousal_are_the_last_two(models: dict[str, Path], face_video: Path,
                                          haar: HaarFaceDetector) -> None:
    model = open_model(models["va"])
    frames = list(VideoFileSource(face_video))
    preds = Pipeline(model, haar).process(frames[0])
    assert len(preds) == 1
    (raw,) = _raw_for(model, frames[0].image, preds[0].box)
    assert preds[0].valence == pytest.approx(raw[0, 8], rel=1e-4)
    assert preds[0].arousal == pytest.approx(raw[0, 9], rel=1e-4)
    assert preds[0].expression["anger"] == pytest.approx(softmax(raw[0, :8])[0], rel=1e-4)


def test_nhwc_caffe_model_in_c25_order(models: dict[str, Path], tmp_path: Path) -> None:
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((100, 80, 3), (40 * i, 90, 200),
                                                         np.uint8))
    model = open_model(models["nhwc"])  # batch fixed at 1
    result = Pipeline(model, detector=None).run(ImageFolderSource(tmp_path))
    assert len(result.predictions) == 2 and result.detector == "none (whole frames)"
    first = cv2.imread(str(tmp_path / "0.png"))
    raw = _raw_for(model, first, (0, 0, 80, 100))
    pred = result.predictions[0]
    assert pred.expression["happy"] == pytest.approx(softmax(raw[0][0])[0], rel=1e-4)
    assert pred.expression["neutral"] == pytest.approx(softmax(raw[0][0])[7], rel=1e-4)
    # onnxruntime sums ~50k float32 values near -100 (caffe means): allow its rounding
    assert pred.arousal == pytest.approx(raw[1][0, 0], abs=0.2)
    assert pred.valence == pytest.approx(raw[2][0, 0], abs=0.2)


def test_au_model_with_haar_warns_about_alignment(models: dict[str, Path], face_video: Path,
                                                  haar: HaarFaceDetector) -> None:
    model = open_model(models["au22"])
    assert model.card.input.crop == "aligned"
    result = Pipeline(model, haar).run(VideoFileSource(face_video))
    assert any("expects 5-point aligned faces" in w and "no landmarks" in w
               for w in result.warnings)
    tally = [w for w in result.warnings if w.startswith("alignment:")]
    assert len(result.predictions) == N_FACES
    aligned = sum(p.aligned for p in result.predictions)
    if aligned < N_FACES:
        assert tally and f"{N_FACES - aligned} box-cropped" in tally[0]
    for pred in result.predictions:
        assert tuple(pred.aus) == vocab.HRM_AU22
        assert all(0 < v < 1 for v in pred.aus.values())
        assert pred.aus_present == {k: v >= 0.5 for k, v in pred.aus.items()}
    print(f"aligned from estimated eyes: {aligned}/{N_FACES}")


def test_probability_au_model_is_not_squashed_twice(models: dict[str, Path],
                                                    face_video: Path) -> None:
    model = open_model(models["au17"])
    frame = next(iter(VideoFileSource(face_video)))
    pipe = Pipeline(model, detector=None)
    assert any("no detector" in w for w in pipe.warnings)
    (pred,) = pipe.process(frame)
    (raw,) = _raw_for(model, frame.image, (0, 0, 256, 256))
    assert tuple(pred.aus) == vocab.HRM_AU17
    model_probs = sigmoid(raw[0])  # the model ends in its own Sigmoid
    np.testing.assert_allclose(list(pred.aus.values()), model_probs, atol=1e-4)
    assert not np.allclose(list(pred.aus.values()), sigmoid(model_probs), rtol=1e-2)


def test_nan_outputs_are_flagged_not_fatal(models: dict[str, Path], face_video: Path,
                                           haar: HaarFaceDetector) -> None:
    result = Pipeline(open_model(models["nan"]), haar).run(VideoFileSource(face_video))
    assert len(result.predictions) == N_FACES and result.invalid == N_FACES
    pred = result.predictions[0]
    assert not pred.valid and "NaN or Inf" in pred.message and pred.expression == {}
    assert any("NaN/Inf" in w for w in result.warnings)
    assert result.end_reason.startswith("end of video")


class FailingModel(ModelSession):
    """A model that onnxruntime stops running after ``ok_runs`` batches."""

    ok_runs = 3

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        if self.ok_runs <= 0:
            raise ModelLoadError(f"{self.path}: onnxruntime failed to run the model")
        self.ok_runs -= 1
        return super().run(batch)


def test_model_failing_mid_run_keeps_what_was_recorded(models: dict[str, Path],
                                                       face_video: Path,
                                                       haar: HaarFaceDetector) -> None:
    good = open_model(models["logits8"])
    failing = FailingModel(**{k: getattr(good, k) for k in good.__dataclass_fields__})
    result = Pipeline(failing, haar).run(VideoFileSource(face_video))
    assert len(result.predictions) == 3
    assert result.end_reason.startswith("stopped at frame 3:") and "failed to run" \
        in result.end_reason


def test_camera_unplugged_mid_run_keeps_predictions(models: dict[str, Path], face_video: Path,
                                                    haar: HaarFaceDetector) -> None:
    camera = CameraSource(0, retry_s=0.001,
                          opener=lambda _i: cv2.VideoCapture(str(face_video)))
    seen = []
    result = Pipeline(open_model(models["logits8"]), haar).run(camera, on_prediction=seen.append)
    assert len(result.predictions) == N_FACES and seen == result.predictions
    assert "camera 0 stopped delivering frames" in result.end_reason


def test_frame_limit_and_user_stop(models: dict[str, Path], face_video: Path,
                                   haar: HaarFaceDetector) -> None:
    model = open_model(models["logits8"])
    r1 = Pipeline(model, haar).run(VideoFileSource(face_video), max_frames=2)
    assert r1.frames == 2 and "frame limit" in r1.end_reason
    r2 = Pipeline(model, haar).run(VideoFileSource(face_video), should_stop=lambda: True)
    assert r2.frames == 1 and r2.end_reason == "stopped by the user after 1 frames"


def test_models_check(models: dict[str, Path]) -> None:
    info = check_model(models["va"], runs=3)
    assert info["input"]["onnx_shape"] == ["N", 3, 224, 224]
    assert info["card"]["source"] == "resources/model_cards/enet_b0_8_va_mtl.json"
    assert info["timing"]["runs"] == 3 and info["timing"]["threads"] == 1
    assert info["sample"]["valid"] and info["sample"]["valence"] is not None
    text = format_check(info)
    for words in ("HSEmotion enet_b0_8_va_mtl", "NCHW 224x224 RGB", "valence: out0[-2:-1]",
                  "median of 3", "grey input -> expression"):
        assert words in text
    print(text)
    nan_text = format_check(check_model(models["nan"], runs=1))
    assert "sample   INVALID" in nan_text
