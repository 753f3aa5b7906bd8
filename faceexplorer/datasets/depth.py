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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pandas as pd

from faceexplorer.core.errors import DatasetFormatError
from faceexplorer.core.vocab import DEPTH_CLASSES, RAFD_EMOTIONS
from faceexplorer.datasets import paths
from faceexplorer.index.depth_query import RAFD_FIELDS
from faceexplorer.index.depth_query import match_counts as match_counts
from faceexplorer.index.depth_query import unmatched as unmatched
from faceexplorer.index.report import ImportReport
from faceexplorer.index.store import table_exists

# match_counts and unmatched (the RGB-matching queries) live with the depth view's in
# index.depth_query, since index imports no importer; re-exported for the AffectNet-D and
# RaFD-D summaries.

IMAGE_SUFFIXES = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".npy": "npy"}
NORMAL_FOLDERS = {"normal", "normals"}
NORMAL_SUFFIXES = ("_normal", "_normals")
#: A depth map named ``<rgb stem>_depth`` still matches its RGB image.
DEPTH_SUFFIXES = ("_depth",)
#: Folder name (lower case) -> canonical class; RaFD's emotion words are accepted too.
CLASS_FOLDERS: dict[str, str] = {c: c for c in DEPTH_CLASSES} | RAFD_EMOTIONS
#: RaFD columns a depth map (and an RGB image) carries; NULL for AffectNet-D.

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


@dataclass
class Headers:
    """:func:`read_header` of many files as columns; ``errors`` gives a failed file's
    position and the reason it is skipped for."""

    format: list[str | None]
    width: np.ndarray
    height: np.ndarray
    channels: np.ndarray
    errors: dict[int, str]


_IHDR_LENGTH = 33
_PNG_CHANNEL_TABLE = np.zeros(256, dtype=np.int8)
_PNG_CHANNEL_TABLE[list(_PNG_CHANNELS)] = list(_PNG_CHANNELS.values())


def read_headers(paths: list[str]) -> Headers:
    """:func:`read_header` of every path, PNGs in bulk; failures land in ``errors``.

    Depth maps are nearly all PNGs: their 33-byte starts are read in a tight loop and
    parsed together with numpy. Parsing ~90k of them one by one in Python (and an object
    per file) cost as much CPU as the reads themselves. Any PNG that does not parse,
    and every other format, goes through :func:`read_header` for its answer or reason.
    """
    n = len(paths)
    fmt: list[str | None] = [None] * n
    width = np.zeros(n, dtype=np.int64)
    height = np.zeros(n, dtype=np.int64)
    channels = np.zeros(n, dtype=np.int8)
    errors: dict[int, str] = {}
    # Zeros (no PNG signature) stand for every file not read here: it goes one by one.
    heads = [bytes(_IHDR_LENGTH)] * n
    open_, read, close = os.open, os.read, os.close
    for i, path in enumerate(paths):
        if path[-4:].lower() == ".png":
            try:
                fd = open_(path, _OPEN_FLAGS)
            except OSError:
                continue  # read_header raises it again, with its reason
            try:
                head = read(fd, _IHDR_LENGTH)
            finally:
                close(fd)
            if len(head) == _IHDR_LENGTH:
                heads[i] = head
    one_by_one: list[int] = []
    if n:
        buf = np.frombuffer(b"".join(heads), dtype=np.uint8).reshape(n, _IHDR_LENGTH)
        w = buf[:, 16:20].copy().view(">u4").ravel().astype(np.int64)
        h = buf[:, 20:24].copy().view(">u4").ravel().astype(np.int64)
        ch = _PNG_CHANNEL_TABLE[buf[:, 25]]
        ok = ((buf[:, :8] == np.frombuffer(_PNG_SIGNATURE, np.uint8)).all(axis=1)
              & (buf[:, 12:16] == np.frombuffer(b"IHDR", np.uint8)).all(axis=1)
              & (w > 0) & (h > 0) & (ch > 0))
        width[ok], height[ok], channels[ok] = w[ok], h[ok], ch[ok]
        bits16 = (buf[:, 24] == 16).tolist()
        fmt = [("png16" if b16 else "png8") if good else None
               for b16, good in zip(bits16, ok.tolist(), strict=True)]
        one_by_one = np.flatnonzero(~ok).tolist()
    for i in one_by_one:
        try:
            header = read_header(paths[i])
        except HeaderError as exc:
            errors[i] = f"unreadable image header: {exc}"
            continue
        except OSError as exc:
            errors[i] = f"cannot open file: {exc.strerror or exc}"
            continue
        fmt[i] = header.format
        width[i], height[i], channels[i] = header.width, header.height, header.channels
    return Headers(fmt, width, height, channels, errors)


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
            # rows = files; file = the first one, printable whatever bytes its name holds
            report.skip(paths.shown(rel), reason, count, None)


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
    # Folders by (device, inode): one reached again through a symbolic link (a loop, or a
    # second way in) is counted, not walked again (a loop went 40 levels deep).
    seen: set[tuple[int, int]] = set()
    while stack:
        folder, folder_class, in_normals = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen:
                skips.add(folder, "folder reached again through a symbolic link (a loop "
                          "or a second way in): not scanned twice")
                continue
            seen.add((st.st_dev, st.st_ino))
            entries = os.scandir(folder)
        except OSError as exc:
            raise paths.error(folder, f"cannot list the folder: {paths.os_problem(exc)}"
                              ) from None
        with entries:
            for entry in entries:
                name = entry.name
                try:
                    is_dir = entry.is_dir()
                except OSError:  # a link that loops on itself
                    is_dir = False
                if is_dir:
                    if not paths.utf8_name(name):
                        raise paths.error(entry.path, f"folder {paths.NOT_UTF8}")
                    lower = name.lower()
                    stack.append((entry.path, CLASS_FOLDERS.get(lower, folder_class),
                                  in_normals or lower in NORMAL_FOLDERS))
                    continue
                lower = name.lower()
                dot = lower.rfind(".")
                if dot <= 0 or lower[dot:] not in suffixes:
                    skips.add(entry.path, unsupported)
                    continue
                if not name.isascii() and not paths.utf8_name(name):
                    skips.add(entry.path, f"file {paths.NOT_UTF8}")
                    continue
                try:
                    regular = entry.is_file()  # from the folder listing: no extra call
                except OSError:
                    regular = False
                if not regular:  # opening a FIFO or a device would block
                    skips.add(entry.path, "not a regular file (a FIFO, socket, device, or a "
                              "link to nothing or to itself)")
                    continue
                stem = name[:dot]
                is_normal = in_normals
                lower = lower[:dot]
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


_NO_FIELDS: dict[str, Any] = {}


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
    paths.require_folder(root, "the depth dataset's folder, holding .png/.jpg/.npy depth "
                         "maps, optionally per class")
    skips = Skips(root)
    found = walk_images(root, skips)
    headers = read_headers([f.path for f in found])
    kept: list[int] = []                   # positions in ``found`` of the rows stored
    depth: dict[str, int] = {}             # stem -> its row in ``kept``
    fields_of: list[dict[str, Any]] = []   # RaFD name fields of each row
    classes: list[str | None] = []
    normals: dict[str, str] = {}
    disagree: list[str] = []
    errors = headers.errors
    stems = [f.stem for f in found]
    one_by_one: Sequence[FoundFile] = found
    if (parse_name is None and not errors and not any(f.is_normal for f in found)
            and len(set(stems)) == len(stems)):
        # The usual layout: every file a readable depth map of its own stem. The loop
        # below would keep them all, each with its folder's class; this is the same
        # without ~90k turns of it.
        kept = list(range(len(found)))
        depth = dict(zip(stems, kept, strict=True))
        classes = [f.folder_class for f in found]
        one_by_one = ()
    for i, f in enumerate(one_by_one):
        if errors and i in errors:
            skips.add(f.path, errors[i])
            continue
        if f.is_normal:
            if f.stem in normals:
                skips.add(f.path, "second normal map of the same stem")
            else:
                normals[f.stem] = f.path
            continue
        fields: dict[str, Any] = _NO_FIELDS
        if parse_name is not None:
            parsed = parse_name(f.stem)
            if isinstance(parsed, str):
                skips.add(f.path, parsed)
                continue
            fields = parsed
        if f.stem in depth:
            skips.add(f.path, "second depth map of the same stem (first one kept)")
            continue
        if f.folder_class and fields.get("emotion") not in (None, f.folder_class):
            disagree.append(f.path)
        depth[f.stem] = len(kept)
        kept.append(i)
        classes.append(f.folder_class or fields.get("emotion"))
        fields_of.append(fields)
    normal_path: list[str | None] = [None] * len(kept)
    for stem, path in normals.items():
        if stem in depth:
            normal_path[depth[stem]] = path
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
    at = np.asarray(kept, dtype=np.int64)
    columns: dict[str, Any] = {
        "stem": [found[i].stem for i in kept], "class": classes,
        "path": [found[i].path for i in kept], "format": [headers.format[i] for i in kept],
        "width": headers.width[at], "height": headers.height[at],
        "channels": headers.channels[at], "normal_path": normal_path}
    if parse_name is not None:
        columns |= {k: [f.get(k) for f in fields_of] for k in RAFD_FIELDS}
    frame = pd.DataFrame(columns)
    con.execute(DEPTH_SCHEMA)
    con.execute("DELETE FROM depth_maps WHERE dataset = ?", [dataset])
    con.register("_depth_rows", frame)
    try:
        con.execute("INSERT INTO depth_maps BY NAME SELECT ? AS dataset, * FROM _depth_rows",
                    [dataset])
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
