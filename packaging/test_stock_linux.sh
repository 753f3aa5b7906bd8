#!/usr/bin/env bash
# Install the .deb on a stock Debian 12 root, as a user would, and run the frozen selftest.
#
#   sudo packaging/test_stock_linux.sh [path/to/FaceExplorer-<version>-linux-x86_64.deb]
#
# Needs root (debootstrap, chroot, mounts), debootstrap, and Debian's mirror
# ($DEBIAN_MIRROR, default http://deb.debian.org/debian). Steps, each printed:
#  1. a minimal Debian 12 root (debootstrap --variant=minbase bookworm: no X, no Python,
#     no fonts), made once and kept in build/stock/pristine, copied fresh for every run;
#  2. `apt install ./FaceExplorer-...deb` inside it: apt pulls the Depends from the
#     mirror, as on a user's machine; Python must still be absent afterwards;
#  3. `ldd` on every bundled library and Qt plugin (libqxcb.so among them): no "not found";
#  4. `faceexplorer --selftest` (--quick unless STOCK_FULL=1) as an ordinary user,
#     QT_QPA_PLATFORM=offscreen, inside the root;
#  5. the same selftest on the real X11 platform plugin (xcb) under Xvfb (installed after
#     the checks above, so it cannot hide a missing Depends); STOCK_XCB=0 skips it;
#  6. `apt-get remove faceexplorer`: /opt/faceexplorer and the launcher are gone.
# Exits 0 only when every step passed. Takes ~5-10 minutes (most of it apt and the first
# debootstrap). The root is left in build/stock/root for a look; the next run replaces it.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/pyproject.toml" | head -1)
deb="$(realpath "${1:-$repo/dist/FaceExplorer-$version-linux-x86_64.deb}")"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
cache="${STOCK_CACHE:-$repo/build/stock}"
pristine="$cache/pristine"
root="$cache/root"
user_home=/home/clinician

say() { echo "stock: $*"; }
fail() { echo "stock: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot, mount)"
[ -f "$deb" ] || fail "no package at $deb (build it with packaging/build.sh)"
command -v debootstrap >/dev/null || fail "debootstrap missing: apt-get install debootstrap"

mounted=()
cleanup() {
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"; }

t0=$(date +%s)
if [ ! -x "$pristine/usr/bin/apt-get" ]; then
    say "1. debootstrap --variant=minbase bookworm from $mirror (once; kept in $pristine)"
    rm -rf "$pristine"
    debootstrap --variant=minbase bookworm "$pristine" "$mirror" >"$cache/debootstrap.log" 2>&1 \
        || { tail -20 "$cache/debootstrap.log"; fail "debootstrap"; }
    umount -l "$pristine/proc" 2>/dev/null || true
fi
rm -rf "$root"
cp -a "$pristine" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
for fs in proc dev sys; do
    mkdir -p "$root/$fs"
    case $fs in
        proc) mount -t proc proc "$root/proc" ;;
        *) mount --bind "/$fs" "$root/$fs" ;;
    esac
    mounted+=("$root/$fs")
done
# downloaded .debs are kept between runs (the root itself is fresh each time)
mkdir -p "$cache/apt-archives/partial"
mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
mounted+=("$root/var/cache/apt/archives")
say "1. stock root: Debian $(cat "$root/etc/debian_version"), $(in_root dpkg-query -f '.\n' -W | wc -l) packages, python3: $(in_root sh -c 'command -v python3 || echo none')"

say "2. apt install ./$(basename "$deb") (Recommends too, as a user gets them)"
cp "$deb" "$root/tmp/"
in_root apt-get update -q >"$cache/apt-update.log" 2>&1 || { tail "$cache/apt-update.log"; fail "apt-get update"; }
before=$(in_root dpkg-query -f '.\n' -W | wc -l)
t_install=$(date +%s)
in_root apt install -y -q "/tmp/$(basename "$deb")" \
    >"$cache/apt-install.log" 2>&1 || { tail -30 "$cache/apt-install.log"; fail "apt-get install"; }
after=$(in_root dpkg-query -f '.\n' -W | wc -l)
say "   installed in $(( $(date +%s) - t_install )) s: faceexplorer $(in_root dpkg-query -f '${Version}' -W faceexplorer) and $(( after - before - 1 )) packages it depends on"
py=$(in_root sh -c 'command -v python3 python || true')
[ -z "$py" ] || fail "python was installed ($py): the package must not need it"
say "   python3 on the system after install: none (the app carries its own)"
[ -x "$root/usr/bin/faceexplorer" ] || fail "no /usr/bin/faceexplorer"
[ -f "$root/usr/share/applications/faceexplorer.desktop" ] || fail "no menu entry"
[ -f "$root/usr/share/icons/hicolor/256x256/apps/faceexplorer.png" ] || fail "no icon"

say "3. ldd on every bundled library and plugin under /opt/faceexplorer"
# with the library path the frozen app's bootloader sets (LD_LIBRARY_PATH=_internal):
# anything not found there is missing on the system
missing=$(in_root LD_LIBRARY_PATH=/opt/faceexplorer/_internal sh -c 'find /opt/faceexplorer \
    -type f \( -name "*.so*" -o -name FaceExplorer \) \
    | while read -r f; do ldd "$f" 2>/dev/null | grep "not found" | sed "s|^|$f: |"; done' | sort -u)
libs=$(in_root sh -c 'find /opt/faceexplorer -type f -name "*.so*" | wc -l')
xcb=$(in_root sh -c 'find /opt/faceexplorer -name libqxcb.so | head -1')
[ -n "$xcb" ] || fail "no libqxcb.so in the package"
if [ -n "$missing" ]; then echo "$missing" | head -40; fail "unresolved libraries"; fi
say "   $libs libraries checked, none 'not found'; $xcb resolves:"
in_root LD_LIBRARY_PATH=/opt/faceexplorer/_internal ldd "$xcb" | grep -E "xcb|xkb|X11|GL|fontconfig" | sed 's/^\s*/     /' | head -40

in_root useradd -m -d "$user_home" -s /bin/sh clinician
as_user() { chroot --userspec=clinician:clinician "$root" /usr/bin/env -i \
    PATH=/usr/bin:/bin HOME="$user_home" LANG=C.UTF-8 "$@"; }
mode=--quick; [ "${STOCK_FULL:-0}" = 1 ] && mode=""
say "4. as user clinician: QT_QPA_PLATFORM=offscreen faceexplorer --selftest $mode"
t_self=$(date +%s)
as_user QT_QPA_PLATFORM=offscreen sh -c "cd $user_home && faceexplorer --selftest $mode" \
    2>&1 | tee "$cache/selftest-offscreen.log" | sed 's/^/     /'
grep -q "selftest: passed" "$cache/selftest-offscreen.log" || fail "offscreen selftest"
say "   offscreen selftest passed in $(( $(date +%s) - t_self )) s; data folder: $(in_root sh -c "ls -d $user_home/.local/share/faceexplorer")"

if [ "${STOCK_XCB:-1}" = 1 ]; then
    say "5. the X11 (xcb) platform plugin under Xvfb: QT_QPA_PLATFORM=xcb faceexplorer --selftest --quick"
    in_root apt-get install -y -q --no-install-recommends xvfb xauth >"$cache/apt-xvfb.log" 2>&1 \
        || { tail "$cache/apt-xvfb.log"; fail "apt-get install xvfb"; }
    as_user sh -c "cd $user_home && (Xvfb :99 -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & echo \$! > /tmp/xvfb.pid; sleep 2); \
        DISPLAY=:99 QT_QPA_PLATFORM=xcb faceexplorer --selftest --quick; rc=\$?; kill \$(cat /tmp/xvfb.pid); exit \$rc" \
        2>&1 | tee "$cache/selftest-xcb.log" | sed 's/^/     /'
    grep -q "selftest: passed" "$cache/selftest-xcb.log" || fail "xcb selftest"
    say "   xcb selftest passed"
fi

say "6. apt-get remove faceexplorer"
in_root apt-get remove -y -q faceexplorer >"$cache/apt-remove.log" 2>&1 || fail "apt-get remove"
[ ! -e "$root/opt/faceexplorer" ] && [ ! -e "$root/usr/bin/faceexplorer" ] \
    && [ ! -e "$root/usr/share/applications/faceexplorer.desktop" ] || fail "files left after remove"
say "   /opt/faceexplorer, /usr/bin/faceexplorer and the menu entry are gone (the user's data folder stays)"
say "passed in $(( $(date +%s) - t0 )) s ($(basename "$deb"), $(( $(stat -c %s "$deb") / 1000000 )) MB)"
