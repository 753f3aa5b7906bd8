"""Scanning a depth-map dataset (AffectNet-D, RaFD-D): files, headers, classes, normal maps.

Nothing public documents these datasets' file type, resolution or naming, so the scan
accepts ``.png``/``.jpg``/``.jpeg`` (8 or 16 bit) and ``.npy`` anywhere under the root,
in per-class folders (class = nearest folder named like a class) or flat. Surface-normal
maps sit in a folder named ``normal``/``normals`` or carry a ``_normal`` stem suffix and
are linked to the depth map of the same stem. Images are never decoded: size, bit depth
and channels come from the PNG IHDR chunk, the JPEG SOF marker or the ``.npy`` header, so
~90k files index in seconds. Every file left out is counted in the report by reason.
The two importers (``affectnet_d``, ``rafd_d``) share the ``depth_maps`` table, keyed
by ``dataset``; matching to RGB images is theirs and stays a live query.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pandas as pd

from faceexplorer.core.errors import DatasetFormatError
from faceexplorer.core.vocab import DEPTH_CLASSES, RAFD_EMOTIONS
from faceexplorer.index.report import ImportReport
from faceexplorer.index.store import table_exists

IMAGE_SUFFIXES = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".npy": "npy"}
NORMAL_FOLDERS = {"normal", "normals"}
NORMAL_SUFFIXES = ("_normal", "_normals")
#: A depth map named ``<rgb stem>_depth`` still matches its RGB image.
DEPTH_SUFFIXES = ("_depth",)
#: Folder name (lower case) -> canonical class; RaFD's emotion words are accepted too.
CLASS_FOLDERS: dict[str, str] = {c: c for c in DEPTH_CLASSES} | RAFD_EMOTIONS
#: RaFD columns a depth map (and an RGB image) carries; NULL for AffectNet-D.
RAFD_FIELDS = ("angle", "yaw", "model", "ethnicity", "gender", "emotion", "gaze")

DEPTH_SCHEMA = """
CREATE TABLE IF NOT EXISTS depth_maps (
    dataset     VARCHAR NOT NULL,   -- 'affectnet-d' or 'rafd-d'
    stem        VARCHAR NOT NULL,   -- file name without extension: the key to the RGB image
    class       VARCHAR,            -- canonical expression; NULL when nothing says it
    path        VARCHAR NOT NULL,
    format      VARCHAR NOT NULL,   -- 'png8', 'png16', 'jpg', 'npy'
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    channels    TINYINT NOT NULL,
    normal_path VARCHAR,            -- surface-normal map of the same stem, if any
    angle       VARCHAR,            -- RaFD only: camera code 000..180
    yaw         SMALLINT,           -- RaFD only: head yaw in degrees
    model       SMALLINT,
    ethnicity   VARCHAR,
    gender      VARCHAR,
    emotion     VARCHAR,            -- RaFD only: canonical, from the file name
    gaze        VARCHAR
);
"""

# --- headers --------------------------------------------------------------------------
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: PNG colour type -> channels (a palette image is colour, whatever its palette holds).
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}
#: JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic): not C4/C8/CC.
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # markers without a length field


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)  # O_BINARY: Windows only


class HeaderError(ValueError):
    """A file's header is not what its extension promises; the message is the reason."""


@dataclass(frozen=True)
class ImageHeader:
    """What the index stores of an image without decoding it."""

    format: str
    width: int
    height: int
    channels: int


def read_header(path: Path | str) -> ImageHeader:
    """Format, size and channels of an image file from its first bytes.

    Raises
    ------
    HeaderError
        Unsupported extension, or a truncated or foreign file (message = reason).
    OSError
        The file cannot be opened.
    """
    path = os.fspath(path)
    kind = IMAGE_SUFFIXES.get(path[path.rfind("."):].lower())
    if kind is None:
        raise HeaderError("unsupported file type (expected .png, .jpg, .jpeg or .npy)")
    # os.open/os.read: a third of the cost of open() for ~90k tiny reads.
    fd = os.open(path, _OPEN_FLAGS)
    try:
        if kind == "png":
            return _png(os.read(fd, 33))
        reader = _Reader(fd, 8192 if kind == "jpg" else 1024)
        return _jpeg(reader) if kind == "jpg" else _npy(reader)
    finally:
        os.close(fd)


class _Reader:
    """The start of a file, read on demand in large steps."""

    def __init__(self, fd: int, first: int) -> None:
        self.fd = fd
        self.buf = os.read(fd, first)

    def have(self, end: int) -> bool:
        """Whether bytes up to ``end`` are (now) in ``buf``."""
        while len(self.buf) < end:
            chunk = os.read(self.fd, max(65536, end - len(self.buf)))
            if not chunk:
                return False
            self.buf += chunk
        return True


def _png(head: bytes) -> ImageHeader:
    if len(head) < 33 or not head.startswith(_PNG_SIGNATURE) or head[12:16] != b"IHDR":
        raise HeaderError("not a PNG file (no PNG signature and IHDR chunk, or truncated)")
    width, height, bits, colour = struct.unpack(">IIBB", head[16:26])
    if colour not in _PNG_CHANNELS or width == 0 or height == 0:
        raise HeaderError("corrupt PNG header (size 0 or unknown colour type)")
    return ImageHeader("png16" if bits == 16 else "png8", width, height, _PNG_CHANNELS[colour])


def _jpeg(src: _Reader) -> ImageHeader:
    if not src.buf.startswith(b"\xff\xd8"):
        raise HeaderError("not a JPEG file (no start-of-image marker)")
    pos = 2
    while True:
        if not src.have(pos + 2):
            raise HeaderError("JPEG truncated before its frame header")
        buf = src.buf
        if buf[pos] != 0xFF:
            pos += 1  # decoders tolerate stray bytes between segments; so do we
            continue
        code = buf[pos + 1]
        if code == 0xFF:  # fill byte
            pos += 1
            continue
        if code in _JPEG_STANDALONE:
            pos += 2
            continue
        if code in (0xD9, 0xDA):
            raise HeaderError("JPEG without a frame header before its image data")
        if not src.have(pos + 10):
            raise HeaderError("JPEG truncated inside a segment")
        length, _, height, width, components = struct.unpack_from(">HBHHB", src.buf, pos + 2)
        if code in _JPEG_SOF:
            if width == 0 or height == 0:
                raise HeaderError("JPEG frame header gives size 0")
            return ImageHeader("jpg", width, height, components)
        pos += 2 + length


def _npy(src: _Reader) -> ImageHeader:
    fmt = np.lib.format
    head = src.buf
    if len(head) >= 12 and head.startswith(b"\x93NUMPY"):
        major = head[6]
        start, size = (10, struct.unpack_from("<H", head, 8)[0]) if major == 1 else (
            12, struct.unpack_from("<I", head, 8)[0])
        src.have(start + size)
    fh = io.BytesIO(src.buf)
    try:
        version = fmt.read_magic(fh)
        if version not in ((1, 0), (2, 0)):
            raise HeaderError(f".npy format version {version} is not supported (1.0 or 2.0)")
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _, dtype = read(fh)
    except HeaderError:
        raise
    except (ValueError, SyntaxError, EOFError, TypeError) as exc:  # numpy's own complaints
        raise HeaderError(f"not a readable .npy array ({str(exc)[:80]})") from None
    if dtype.kind not in "biuf":
        raise HeaderError(f".npy array of {dtype} is not an image (expected numbers)")
    if len(shape) == 3 and shape[2] in (1, 3, 4):
        channels = int(shape[2])
    elif len(shape) == 2:
        channels = 1
    else:
        raise HeaderError(f".npy array of shape {shape} is not an image "
                          "(expected height x width, or height x width x 1/3/4)")
    if 0 in shape[:2]:
        raise HeaderError(".npy array is empty")
    return ImageHeader("npy", int(shape[1]), int(shape[0]), channels)


# --- scanning -------------------------------------------------------------------------
@dataclass
class Skips:
    """Files left out, grouped by reason: count and first file (relative to the root)."""

    root: Path
    by_reason: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, path: str, reason: str) -> None:
        entry = self.by_reason.setdefault(reason, [0, path])
        entry[0] += 1

    def report(self, report: ImportReport) -> None:
        for reason, (count, first) in self.by_reason.items():
            rel = os.path.relpath(first, self.root)
            rel = first if rel.startswith("..") else rel
            report.skip(rel, reason, count, None)  # rows = files; file = the first one


class FoundFile(NamedTuple):
    """One image file under the root, before its header is read."""

    path: str
    stem: str          # link stem: no extension, no _normal/_depth suffix
    folder_class: str | None
    is_normal: bool


def walk_images(root: Path, skips: Skips,
                suffixes: dict[str, str] = IMAGE_SUFFIXES) -> list[FoundFile]:
    """Every image file under ``root``, sorted by path; other files counted in ``skips``."""
    found: list[FoundFile] = []
    tails = NORMAL_SUFFIXES + DEPTH_SUFFIXES
    unsupported = "unsupported file type (expected " + ", ".join(sorted(suffixes)) + ")"
    stack: list[tuple[str, str | None, bool]] = [(str(root), None, False)]
    while stack:
        folder, folder_class, in_normals = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if entry.is_dir():
                    lower = name.lower()
                    stack.append((entry.path, CLASS_FOLDERS.get(lower, folder_class),
                                  in_normals or lower in NORMAL_FOLDERS))
                    continue
                dot = name.rfind(".")
                if dot <= 0 or name[dot:].lower() not in suffixes:
                    skips.add(entry.path, unsupported)
                    continue
                stem = name[:dot]
                is_normal = in_normals
                lower = stem.lower()
                if lower.endswith(tails):  # rare: the per-suffix loop runs only then
                    for tail in tails:
                        if lower.endswith(tail):
                            stem = stem[: -len(tail)]
                            is_normal = is_normal or tail != "_depth"
                            break
                found.append(FoundFile(entry.path, stem, folder_class, is_normal))
    found.sort()  # by path: "first one kept" must not depend on the file system's order
    return found


def looks_like_depth(path: Path, rafd: bool) -> bool:
    """Cheap guess whether ``path`` is a RaFD-D (``rafd``) or AffectNet-D folder.

    By folder name (``RaFD-D``, ``AffectNet_D``, ...), else by a ``depth`` subfolder whose
    first image is (RaFD) or is not (AffectNet) named by the RaFD convention.
    """
    path = Path(path)
    if not path.is_dir():
        return False
    name = "".join(ch for ch in path.name.lower() if ch.isalnum())
    if name.startswith(("rafdd", "affectnetd")):
        return name.startswith("rafdd") == rafd
    depth_dirs = [p for p in path.iterdir() if p.is_dir() and p.name.lower() == "depth"]
    if not depth_dirs:
        return False
    for n, (_, _, files) in enumerate(os.walk(depth_dirs[0])):
        for file in files:
            stem, suffix = os.path.splitext(file)
            if suffix.lower() in IMAGE_SUFFIXES:
                return stem.lower().startswith("rafd") == rafd
        if n > 20:
            break
    return False


_COLUMNS = ["dataset", "stem", "class", "path", "format", "width", "height", "channels",
            "normal_path", *RAFD_FIELDS]
_NORMAL = _COLUMNS.index("normal_path")
_NO_FIELDS: dict[str, Any] = {}
_NO_VALUES = (None,) * len(RAFD_FIELDS)


def load_depth(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    report: ImportReport,
    dataset: str,
    parse_name: Callable[[str], dict[str, Any] | str] | None = None,
) -> Skips:
    """Index the depth maps under ``root`` as ``dataset``; replaces its old rows.

    ``parse_name(stem)`` (RaFD) returns the fields a file name carries, or a string saying
    why the name does not parse; such files are skipped and counted. Returns the skips
    so the caller can add its own before reporting them.

    Raises
    ------
    DatasetFormatError
        ``root`` is not a folder, or holds no readable depth map at all.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise DatasetFormatError(root, "not a folder (expected the depth dataset's folder, "
                                 "holding .png/.jpg/.npy depth maps, optionally per class)")
    skips = Skips(root)
    depth: dict[str, list[Any]] = {}  # stem -> row in _COLUMNS order
    normals: dict[str, str] = {}
    disagree: list[str] = []
    for found in walk_images(root, skips):
        try:
            header = read_header(found.path)
        except HeaderError as exc:
            skips.add(found.path, f"unreadable image header: {exc}")
            continue
        except OSError as exc:
            skips.add(found.path, f"cannot open file: {exc.strerror or exc}")
            continue
        if found.is_normal:
            if found.stem in normals:
                skips.add(found.path, "second normal map of the same stem")
            else:
                normals[found.stem] = found.path
            continue
        fields: dict[str, Any] = _NO_FIELDS
        if parse_name is not None:
            parsed = parse_name(found.stem)
            if isinstance(parsed, str):
                skips.add(found.path, parsed)
                continue
            fields = parsed
        if found.stem in depth:
            skips.add(found.path, "second depth map of the same stem (first one kept)")
            continue
        cls = found.folder_class or fields.get("emotion")
        if found.folder_class and fields.get("emotion") not in (None, found.folder_class):
            disagree.append(found.path)
        depth[found.stem] = [
            dataset, found.stem, cls, found.path, header.format, header.width, header.height,
            header.channels, None,
            *((fields.get(k) for k in RAFD_FIELDS) if fields else _NO_VALUES)]
    for stem, path in normals.items():
        if stem in depth:
            depth[stem][_NORMAL] = path
        else:
            skips.add(path, "normal map with no depth map of the same stem")
    if disagree:
        report.warn(f"{len(disagree)} depth map(s) sit in a class folder that disagrees with "
                    f"the emotion in their file name (first: {os.path.relpath(disagree[0], root)});"
                    " class kept from the folder, emotion from the name")
    if not depth:
        reasons = "; ".join(f"{n} {r}" for r, (n, _) in skips.by_reason.items()) or "no files"
        raise DatasetFormatError(root, "no readable depth map found (expected .png, .jpg or "
                                 f".npy files, optionally in class folders); found: {reasons}")
    frame = pd.DataFrame(list(depth.values()), columns=_COLUMNS)
    con.execute(DEPTH_SCHEMA)
    con.execute("DELETE FROM depth_maps WHERE dataset = ?", [dataset])
    con.register("_depth_rows", frame)
    try:
        con.execute("INSERT INTO depth_maps BY NAME SELECT * FROM _depth_rows")
    finally:
        con.unregister("_depth_rows")
    return skips


def class_counts(con: duckdb.DuckDBPyConnection, dataset: str) -> dict[str, int]:
    """depth_maps, depth_<class> per class (and depth_unknown_class), normal_maps."""
    out = {"depth_maps": 0, **{f"depth_{c}": 0 for c in DEPTH_CLASSES}, "normal_maps": 0}
    if not table_exists(con, "depth_maps"):
        return out
    for cls, n, normals in con.execute(
            "SELECT class, count(*), count(normal_path) FROM depth_maps WHERE dataset = ? "
            "GROUP BY class", [dataset]).fetchall():
        out["depth_maps"] += n
        out["normal_maps"] += normals
        key = f"depth_{cls}" if cls else "depth_unknown_class"
        out[key] = out.get(key, 0) + n
    return out


# --- matching to RGB images (live queries: right whichever dataset came first) -----------
_AFFECTNET_RGB = r"""
    SELECT regexp_replace(filename, '\.[^.]*$', '') AS stem,
           min(image_root || '/' || sub_path) AS path, min(expression) AS class
    FROM affectnet_images GROUP BY 1"""
_RAFD_RGB = "SELECT stem, path, emotion AS class FROM rafd_images"


def rgb_images_sql(con: duckdb.DuckDBPyConnection, dataset: str) -> str | None:
    """SQL of the (stem, path, class) RGB images ``dataset``'s depth maps match, if any."""
    if dataset == "affectnet-d":
        return _AFFECTNET_RGB if table_exists(con, "affectnet_images") else None
    if dataset == "rafd-d":
        return _RAFD_RGB if table_exists(con, "rafd_images") else None
    raise ValueError(f"no depth dataset {dataset!r} (expected 'affectnet-d' or 'rafd-d')")


def match_counts(con: duckdb.DuckDBPyConnection, dataset: str) -> dict[str, int]:
    """matched_rgb, depth_without_rgb, rgb_images and rgb_without_depth of ``dataset``."""
    out = {"matched_rgb": 0, "depth_without_rgb": 0, "rgb_images": 0, "rgb_without_depth": 0}
    if not table_exists(con, "depth_maps"):
        return out
    rgb = rgb_images_sql(con, dataset)
    if rgb is None:
        (out["depth_without_rgb"],) = con.execute(  # type: ignore[misc]
            "SELECT count(*) FROM depth_maps WHERE dataset = ?", [dataset]).fetchone()
        return out
    row = con.execute(f"""
        WITH rgb AS ({rgb}), d AS (SELECT stem FROM depth_maps WHERE dataset = ?)
        SELECT (SELECT count(*) FROM d SEMI JOIN rgb USING (stem)),
               (SELECT count(*) FROM d ANTI JOIN rgb USING (stem)),
               (SELECT count(*) FROM rgb),
               (SELECT count(*) FROM rgb ANTI JOIN d USING (stem))""", [dataset]).fetchone()
    out.update(zip(out, map(int, row), strict=True))  # type: ignore[arg-type]
    return out


def unmatched(con: duckdb.DuckDBPyConnection, dataset: str,
              limit: int | None = None) -> list[dict[str, Any]]:
    """Depth maps with no RGB image and RGB images with no depth map, stem order.

    Each item is ``{"side": "depth" | "rgb", "stem", "class", "path"}``. AffectNet-D covers
    a fifth of AffectNet, so its RGB side is long: pass ``limit`` to cap the list.
    """
    if not table_exists(con, "depth_maps"):
        return []
    depth = "SELECT stem, path, class FROM depth_maps WHERE dataset = $dataset"
    rgb = rgb_images_sql(con, dataset)
    if rgb is None:
        sql = f"SELECT 'depth' AS side, stem, class, path FROM ({depth})"
    else:
        sql = f"""WITH rgb AS ({rgb}), d AS ({depth})
            SELECT 'depth' AS side, stem, class, path FROM d ANTI JOIN rgb USING (stem)
            UNION ALL
            SELECT 'rgb' AS side, stem, class, path FROM rgb ANTI JOIN d USING (stem)"""
    sql = f"SELECT * FROM ({sql}) ORDER BY side, stem" + (f" LIMIT {int(limit)}" if limit else "")
    cur = con.execute(sql, {"dataset": dataset})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
