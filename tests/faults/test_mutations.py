"""Mutated dataset files, every importer: one clear message or every row accounted for.

Each case copies one tiny dataset, damages one of its files and imports it through the
command line (in this process) over an index holding it and another dataset. Allowed
outcomes:

* exit 1 with one line naming the problem, and the index unchanged (rows and a hash per
  table, :func:`tests.faults.conftest.content`);
* exit 0, and no silent drop: every non-blank data line of the damaged file is stored
  (the tables keep each row's file and line) or counted in ``skipped_rows``.

Random damage comes from a seeded generator (``tests.datasets.damage``: delete, insert
or replace one character, cut the file, repeat a line), so the cases are the same on
every run; a table of targeted damage adds what random edits rarely hit (an empty file,
a header alone, a NUL byte far into the file, invalid UTF-8, an unterminated quote...).
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from tests.datasets.damage import JUNK, apply_damage
from tests.faults.conftest import KINDS, Tiny, check_outcome

#: kind -> the files damaged (relative to the dataset folder; globs take the first match)
TARGETS: dict[str, tuple[str, ...]] = {
    "affectnet": ("Manually_Annotated/training.csv", "Manually_Annotated/validation.csv"),
    "affectnet-c25": ("expression_set1_C25.csv", "arousal_set2_C25.csv"),
    "hrm": ("ASD/*.csv", "TD/*.csv"),
    "openface": ("comma/*.csv", "comma_space/*.csv"),
    "faces": ("features.csv", "dass21.csv", "baseinfo.csv"),
}
RANDOM_PER_FILE = {"affectnet": 18, "affectnet-c25": 2, "hrm": 20, "openface": 12,
                   "faces": 4}
#: tables that keep each row's source file and line
LINE_TABLES = {"affectnet": "affectnet_images", "affectnet-c25": "c25_images",
               "hrm": "hrm_frames", "openface": "openface_frames"}
EDITS = ("delete", "insert", "replace", "cut", "dup_line")


def _random_cases() -> list[tuple[str, str, str, tuple]]:
    cases = []
    for kind, files in TARGETS.items():
        for rel in files:
            for i in range(RANDOM_PER_FILE[kind]):
                rng = random.Random(f"{kind}:{rel}:{i}")
                edits = tuple((rng.choice(EDITS), rng.randrange(10_000), rng.choice(JUNK))
                              for _ in range(rng.choice((1, 1, 2))))
                cases.append((kind, rel, f"random{i}", edits))
    return cases


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _header_only(t: str) -> str:
    return _lines(t)[0] + "\n"


def _nul_far(t: str) -> str:
    lines = _lines(t)
    k = len(lines) - 3
    return "\n".join(lines[:k] + [lines[k][:3] + "\x00" + lines[k][3:]] + lines[k + 1:])


def _bad_utf8(t: str) -> str:
    lines = _lines(t)
    return "\n".join(lines[:5] + [lines[5] + "\xff\xfe"] + lines[6:])


def _unterminated_quote(t: str) -> str:
    lines = _lines(t)
    return "\n".join(lines[:9] + ['"' + lines[9]] + lines[10:])


def _extra_cell(t: str) -> str:
    lines = _lines(t)
    return "\n".join(lines[:7] + [lines[7] + ",1"] + lines[8:])


def _short_row(t: str) -> str:
    lines = _lines(t)
    return "\n".join(lines[:4] + [lines[4].rsplit(",", 1)[0]] + lines[5:])


def _cell(value: str, row: int = 3, col: int = -1) -> Callable[[str], str]:
    def edit(t: str) -> str:
        lines = _lines(t)
        cells = lines[row].split(",")
        cells[col] = value
        return "\n".join(lines[:row] + [",".join(cells)] + lines[row + 1:])
    return edit


TARGETED: dict[str, Callable[[str], str]] = {
    "empty": lambda t: "",
    "header_only": _header_only,
    "no_final_newline": lambda t: t.rstrip("\n"),
    "crlf_and_lf": lambda t: t.replace("\n", "\r\n", 10),
    "bom": lambda t: "\xef\xbb\xbf" + t,
    "nul_far_in": _nul_far,
    "invalid_utf8": _bad_utf8,
    "unterminated_quote": _unterminated_quote,
    "extra_cell": _extra_cell,
    "short_row": _short_row,
    "blank_lines": lambda t: t.replace("\n", "\n\n", 3),
    "header_twice": lambda t: _lines(t)[0] + "\n" + t,
    "cell_nan": _cell("nan"),
    "cell_inf": _cell("inf"),
    "cell_negative": _cell("-7", col=1),
    "cell_huge": _cell("1e300", col=2),
    "cell_text": _cell("abc", col=1),
}
#: kind -> (file, targeted damage applied to it; None: all of TARGETED)
TARGETED_KINDS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "affectnet": ("Manually_Annotated/training.csv", None),
    "hrm": ("ASD/*.csv", None),
    "openface": ("comma_space/*.csv", None),
    "faces": ("dass21.csv", None),
    # a C25 import costs 5x the others (its set statistics are stored with it)
    "affectnet-c25": ("expression_set2_C25.csv", (
        "header_only", "nul_far_in", "invalid_utf8", "unterminated_quote", "cell_text")),
}

CASES = _random_cases() + [(kind, rel, name, ()) for kind, (rel, names) in
                           TARGETED_KINDS.items() for name in names or TARGETED]

#: cases known to fail because of importer work not done yet (issue 15 part A):
#: (kind, case name) -> reason. Strict: they must fail, and are re-checked as A lands.
XFAIL: dict[tuple[str, str], str] = {}


def _target(folder: Path, rel: str) -> Path:
    return sorted(folder.glob(rel))[0] if "*" in rel else folder / rel


def _unaccounted(db: Path, kind: str, path: Path) -> list[int]:
    """Non-blank data lines of ``path`` neither stored nor counted as skipped."""
    raw = path.read_bytes().replace(b"\r\n", b"\n").split(b"\n")
    data = {i for i, line in enumerate(raw, 1) if i > 1 and line.strip(b" \r\t,")}
    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = {r[0] for r in con.execute(
            f"SELECT line FROM {LINE_TABLES[kind]} WHERE file = ? OR file = ?",
            [str(path), str(path.resolve())]).fetchall()}
        if not stored and con.execute(f"SELECT count(*) FROM {LINE_TABLES[kind]} "
                                      "WHERE file LIKE ?", [f"%{path.name}"]).fetchone()[0]:
            pytest.fail(f"{LINE_TABLES[kind]}.file does not hold {path} as expected")
        skipped = con.execute(
            "SELECT coalesce(sum(rows), 0) FROM skipped_rows WHERE dataset = ? AND "
            "(file = ? OR file = ? OR file = ?)",
            [kind, str(path), str(path.resolve()), path.name]).fetchone()[0]
    finally:
        con.close()
    missing = sorted(data - stored)
    return missing if len(missing) > skipped else []


@pytest.mark.parametrize(("kind", "rel", "name", "edits"), CASES,
                         ids=[f"{k}-{Path(r).parent.name or Path(r).stem}-{n}"
                              for k, r, n, _ in CASES])
def test_mutated_file(kind: str, rel: str, name: str, edits: tuple, tiny: Tiny,
                      tmp_path: Path, cli, request) -> None:
    if (kind, name) in XFAIL:
        request.applymarker(pytest.mark.xfail(reason=XFAIL[kind, name], strict=True))
    folder = Path(shutil.copytree(tiny.folder(kind), tmp_path / KINDS[kind][0]))
    path = _target(folder, rel)
    text = path.read_bytes().decode("latin-1")
    damaged = apply_damage(text, edits) if edits else TARGETED[name](text)
    path.write_bytes(damaged.encode("latin-1"))
    index_copy = tiny.index(kind, tmp_path / "index.duckdb")
    before = tiny.content(kind)
    status, err = cli("index", "add", kind, folder, "--db", index_copy)
    line = check_outcome(status, err, before, index_copy, copy_of=tiny.base(kind))
    if line is None and kind in LINE_TABLES and path.exists():
        lost = _unaccounted(index_copy, kind, path)
        assert not lost, f"lines {lost[:10]} of {path.name} silently dropped"


# --- depth maps: damaged binary files ----------------------------------------------------

DEPTH_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda b: b"",
    "truncated_header": lambda b: b[:12],
    "truncated_body": lambda b: b[: max(len(b) // 2, 40)],
    "text": lambda b: b"depth map? no, a note\n",
    "garbage": lambda b: bytes(random.Random(7).randrange(256) for _ in range(len(b) or 64)),
    "flipped_middle": lambda b: b[: len(b) // 2] + bytes([b[len(b) // 2] ^ 0xFF])
    + b[len(b) // 2 + 1:] if b else b"x",
}
# (the RaFD-D sample has PNG maps only)
DEPTH_CASES = [(kind, pattern, name) for kind, pattern in (
    ("affectnet-d", "depth/*/*.png"), ("affectnet-d", "depth/*/*.npy"),
    ("rafd-d", "depth/*/*.png")) for name in DEPTH_DAMAGE]


def _depth_accounted(db: Path, kind: str, path: Path) -> bool:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [str(path), str(path.resolve()), path.name]
        stored = con.execute("SELECT count(*) FROM depth_maps WHERE dataset = ? AND "
                             "(path = ? OR path = ? OR path LIKE '%/' || ?)",
                             [kind, *names]).fetchone()[0]
        skipped = con.execute("SELECT count(*) FROM skipped_rows WHERE dataset = ? AND "
                              "(file = ? OR file = ? OR file LIKE '%' || ?)",
                              [kind, *names]).fetchone()[0]
    finally:
        con.close()
    return bool(stored or skipped)


@pytest.mark.parametrize(("kind", "pattern", "name"), DEPTH_CASES,
                         ids=[f"{k}-{Path(p).suffix[1:]}-{n}" for k, p, n in DEPTH_CASES])
def test_damaged_depth_map(kind: str, pattern: str, name: str, tiny: Tiny, tmp_path: Path,
                           cli, request) -> None:
    if (kind, name) in XFAIL:
        request.applymarker(pytest.mark.xfail(reason=XFAIL[kind, name], strict=True))
    folder = Path(shutil.copytree(tiny.folder(kind), tmp_path / KINDS[kind][0]))
    found = sorted(folder.glob(pattern))
    if not found:
        pytest.skip(f"the tiny {kind} sample has no {pattern}")
    path = found[0]
    path.write_bytes(DEPTH_DAMAGE[name](path.read_bytes()))
    index = tiny.index(kind, tmp_path / "index.duckdb")
    before = tiny.content(kind)
    status, err = cli("index", "add", kind, folder, "--db", index)
    if check_outcome(status, err, before, index, copy_of=tiny.base(kind)) is None:
        assert _depth_accounted(index, kind, path), f"{path.name} silently dropped"
