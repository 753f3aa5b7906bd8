"""Scene videos that decode at a realistic cost, for the scrubbing benches.

A real HRM video is a camera's H.264: a keyframe every few seconds, B-frames, textured
frames that change everywhere (grain, a moving person). The benches used to write
OpenCV ``mp4v`` videos of a flat gradient with a moving bar: ~3,000 fps to decode and a
keyframe every 12 frames (OpenCV's FFmpeg writer fixes ``gop_size = 12`` for mpeg4, and
this build has no H.264 encoder: ``avc1``/``H264`` fail to open, and
``VIDEOWRITER_PROP_KEY_INTERVAL`` is ignored), so a seek decoded at most 11 frames.

:func:`write_scene_video` draws a ``samples.scenes.FaceScene`` (640x480: a textured room,
faces moving, grain in every frame) and encodes it with libx264 (``-g 250 -bf 3``,
``-preset fast``, CRF 18: x264's default GOP, as phones and cameras give) through the
FFmpeg binary of ``imageio-ffmpeg`` (a bench-only extra; ``pip install imageio-ffmpeg``).
Without it, the same frames go to OpenCV's ``mp4v`` writer (GOP 12) and the bench says
so. Long videos loop the scene every ``LOOP`` frames (drawing costs ~30 ms a frame;
decoding cost does not care that the content repeats): repeated frames are re-encoded
from their JPEG, kept in memory (~50 kB each).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np

from faceexplorer.samples.scenes import FaceScene

#: Frames of scene drawn before the video repeats them.
LOOP = 750
X264 = ("-c:v", "libx264", "-preset", "fast", "-crf", "18", "-g", "250", "-bf", "3",
        "-pix_fmt", "yuv420p")
X264_NAME = "H.264 (libx264, GOP 250, 3 B-frames)"
MP4V_NAME = "mpeg4 part 2 (OpenCV mp4v, GOP 12: no H.264 encoder found)"


def ffmpeg_exe() -> str | None:
    """imageio-ffmpeg's FFmpeg binary, when that package is installed."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    return imageio_ffmpeg.get_ffmpeg_exe()


def encoder_name() -> str:
    """What :func:`write_scene_video` will encode with here."""
    return X264_NAME if ffmpeg_exe() else MP4V_NAME


def scene_frames(n_frames: int, size: tuple[int, int], fps: float, seed: int = 0):
    """Yield ``(k, BGR frame)`` for ``k < n_frames``: the scene, looped every ``LOOP``."""
    scene = FaceScene(min(n_frames, LOOP), size, fps, seed)
    kept: list[bytes] = []
    for k in range(n_frames):
        i = k % scene.n_frames
        if i < len(kept):
            yield k, cv2.imdecode(np.frombuffer(kept[i], np.uint8), cv2.IMREAD_COLOR)
            continue
        image = scene.frame(i).image
        if n_frames > scene.n_frames:
            kept.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])[1]
                        .tobytes())
        yield k, image


def write_scene_video(path: Path, n_frames: int, size: tuple[int, int] = (640, 480),
                      fps: float = 25.0, seed: int = 0, on_frame=None) -> str:
    """Write ``n_frames`` of the scene to ``path`` (.mp4); returns the encoder's name.

    ``on_frame(k, image)`` sees every frame as it is written (e.g. to save some as JPEGs).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    exe = ffmpeg_exe()
    tmp = path.with_name(path.stem + ".partial" + path.suffix)
    if exe:
        cmd = [exe, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
               "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", "-", *X264,
               "-f", "mp4", str(tmp)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
        assert proc.stdin is not None
        for k, image in scene_frames(n_frames, size, fps, seed):
            proc.stdin.write(np.ascontiguousarray(image).tobytes())
            if on_frame is not None:
                on_frame(k, image)
        proc.stdin.close()
        if proc.wait() != 0:
            raise OSError(f"ffmpeg failed writing {path}")
        name = X264_NAME
    else:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        for k, image in scene_frames(n_frames, size, fps, seed):
            writer.write(image)
            if on_frame is not None:
                on_frame(k, image)
        writer.release()
        name = MP4V_NAME
    tmp.replace(path)
    return name
