"""Check the Linux system libraries of Qt's X11 (xcb) platform before opening a window.

The PySide6 wheel (and the frozen app) carry Qt but not the X11/xcb libraries of its xcb
platform plugin. When one is missing Qt aborts with "could not load the Qt platform plugin
xcb", naming at most the first missing library, so installing it only leads to the same
crash with the next one; ``faceexplorer demo`` would meet it after building the demo for a
minute. :func:`require_qt_libraries` runs first instead: it lists every library Qt's xcb
plugin and QtGui load from the system (``readelf -d`` on ``libqxcb.so``,
``libQt6XcbQpa.so.6`` and ``libQt6Gui.so.6`` of PySide6 6.11), finds which are missing,
and prints the one ``apt-get`` (or ``dnf``) line that installs the whole set.

The check runs only when Qt will use xcb: on Linux with ``QT_QPA_PLATFORM`` unset (and no
Wayland session, where Qt tries Wayland first) or naming ``xcb`` first; never with
``offscreen`` (tests, CI), on Wayland, Windows or macOS. Libraries are looked up without
loading anything: the dynamic linker's cache (``ldconfig -p``), the folders of
``LD_LIBRARY_PATH``, and the folders a frozen app or the PySide6 wheel bring their own
libraries in. No Qt import: this module must work where Qt cannot start.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

#: soname -> (Debian/Ubuntu package, Fedora package); what libqxcb.so, libQt6XcbQpa.so.6
#: and libQt6Gui.so.6 need from the system (libc, libstdc++, zlib left out: always there).
QT_XCB_LIBRARIES: dict[str, tuple[str, str]] = {
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}


def _packages(column: int) -> list[str]:
    return list(dict.fromkeys(pkgs[column] for pkgs in QT_XCB_LIBRARIES.values()))


#: The one line that installs every library above (README: "Linux system libraries").
APT_LINE = "sudo apt-get install " + " ".join(_packages(0))
DNF_LINE = "sudo dnf install " + " ".join(_packages(1))


def uses_xcb(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether Qt will start its xcb (X11) platform plugin in this environment."""
    env = os.environ if environ is None else environ
    if not (platform or sys.platform).startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        first = chosen.split(";")[0].split(":")[0].strip().lower()
        return first == "xcb"
    # Unset: Qt 6 tries Wayland first in a Wayland session, xcb otherwise.
    return not env.get("WAYLAND_DISPLAY")


def linker_cache() -> set[str]:
    """Sonames the dynamic linker's cache knows (``ldconfig -p``); empty when unreadable."""
    for ldconfig in ("/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"):
        try:
            out = subprocess.run([ldconfig, "-p"], capture_output=True, text=True,
                                 timeout=10, check=False).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        names = {line.split()[0] for line in out.splitlines()[1:] if line.strip()}
        if names:
            return names
    return set()


def _bundled_folders() -> list[Path]:
    """Folders a frozen app or the PySide6 wheel load their own libraries from."""
    folders = [Path(p) for p in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p]
    if frozen := getattr(sys, "_MEIPASS", None):
        folders += [Path(frozen), Path(frozen) / "PySide6" / "Qt" / "lib"]
    try:
        import importlib.util

        spec = importlib.util.find_spec("PySide6")   # finds, does not import Qt
        if spec and spec.origin:
            folders.append(Path(spec.origin).parent / "Qt" / "lib")
    except (ImportError, ValueError):
        pass
    return folders


def available_libraries() -> set[str]:
    """Sonames the loader can find: its cache plus the bundled and LD_LIBRARY_PATH folders."""
    names = linker_cache()
    for folder in _bundled_folders():
        try:
            names.update(entry.name for entry in folder.iterdir())
        except OSError:
            continue
    return names


def missing_libraries(available: Iterable[str] | Callable[[], Iterable[str]] | None = None
                      ) -> list[str]:
    """The sonames of :data:`QT_XCB_LIBRARIES` not among ``available`` (default: this system)."""
    if available is None:
        available = available_libraries
    have = set(available() if callable(available) else available)
    return [name for name in QT_XCB_LIBRARIES if name not in have]


def _distribution(os_release: str | None) -> str:
    """``"debian"``, ``"fedora"`` or ``""`` from the text of /etc/os-release."""
    if os_release is None:
        try:
            os_release = Path("/etc/os-release").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
    words: set[str] = set()
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key in ("ID", "ID_LIKE"):
            words.update(value.strip().strip('"').lower().split())
    if words & {"debian", "ubuntu"}:
        return "debian"
    if words & {"fedora", "rhel", "centos"}:
        return "fedora"
    return ""


def missing_message(missing: list[str], os_release: str | None = None) -> str:
    """What to tell the user: the missing libraries and the line that installs them all."""
    column = 1 if _distribution(os_release) == "fedora" else 0
    listed = ", ".join(f"{name} ({QT_XCB_LIBRARIES[name][column]})" for name in missing)
    lines = [
        "FaceExplorer's window needs system libraries that are not installed:",
        f"  {listed}",
        "Install them (all of Qt's X11 libraries at once) and run the command again:",
    ]
    distro = _distribution(os_release)
    if distro != "fedora":
        lines.append(f"  {APT_LINE}" + ("" if distro else "    # Debian, Ubuntu"))
    if distro != "debian":
        lines.append(f"  {DNF_LINE}" + ("" if distro else "    # Fedora"))
    lines.append("(Without a display, QT_QPA_PLATFORM=offscreen runs the window invisibly.)")
    return "\n".join(lines)


def check_qt_libraries(environ: Mapping[str, str] | None = None,
                       available: Iterable[str] | Callable[[], Iterable[str]] | None = None,
                       platform: str | None = None, os_release: str | None = None
                       ) -> str | None:
    """The message to print when Qt's xcb platform would abort here; None when fine."""
    if not uses_xcb(environ, platform):
        return None
    missing = missing_libraries(available)
    return missing_message(missing, os_release) if missing else None


def require_qt_libraries() -> None:
    """Print :func:`check_qt_libraries`' message and exit with status 1 when it finds one.

    Call it before any long work that ends in a window (``faceexplorer demo``, ``gui``).
    """
    message = check_qt_libraries()
    if message:
        print(message, file=sys.stderr, flush=True)
        raise SystemExit(1)
