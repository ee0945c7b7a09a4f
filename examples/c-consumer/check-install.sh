#!/usr/bin/env bash
# What .ci/run does with cargo-c: `cargo cinstall` into a temporary prefix,
# check the installed layout, then build and run this directory's consumer,
# copied out of the tree, with make and with CMake, shared and static,
# finding the library through pkg-config alone. Needs cargo-c, pkg-config, a
# C compiler, make, readelf; CMake if present.
#
#   bash examples/c-consumer/check-install.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf -- '--- %s\n' "$*"; }
fail() { printf 'check-install: %s\n' "$*" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

say "cargo cinstall --release --prefix=$prefix"
cargo cinstall --release --prefix="$prefix"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)

say "installed layout"
(cd "$prefix" && find . -type f -o -type l | sort)
# The libdir is the system's (lib/<multiarch> on Debian, lib64 on Fedora, or
# lib): the .pc file says which.
pc=$(find "$prefix" -name zombie_frames.pc)
[ -n "$pc" ] || fail "zombie_frames.pc not installed"
export PKG_CONFIG_PATH=${pc%/*}
libdir=$(pkg-config --variable=libdir zombie_frames)
includedir=$(pkg-config --variable=includedir zombie_frames)
for f in "$includedir/zombie_frames.h" "$libdir/libzombie_frames.a" "$libdir/libzombie_frames.so"; do
  [ -e "$f" ] || fail "$f not installed"
done
cmp include/zombie_frames.h "$includedir/zombie_frames.h" || fail "installed header differs from include/zombie_frames.h"

# The soname the library carries must be a file the install made, and the
# one plain `cargo build` gives (build.rs), so both builds are one library.
soname_of() { readelf -d "$1" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p'; }
soname=$(soname_of "$libdir/libzombie_frames.so")
say "soname $soname"
[ -e "$libdir/$soname" ] || fail "the soname $soname is not installed"
cargo build --quiet -p zombie-frames --lib
[ "$(soname_of target/debug/libzombie_frames.so)" = "$soname" ] ||
  fail "cargo build gives soname $(soname_of target/debug/libzombie_frames.so), cargo cinstall $soname"

say "pkg-config: version $(pkg-config --modversion zombie_frames); $(pkg-config --cflags --libs zombie_frames)"
say "pkg-config --static: $(pkg-config --static --libs zombie_frames)"
[ "$(pkg-config --modversion zombie_frames)" = "$version" ] || fail "the .pc version is not $version"

# Built against the static archive, a program must not need the .so.
needs_zf() { readelf -d "$1" | grep -q "(NEEDED).*\[$soname\]"; }
check_links() {
  needs_zf "$1/consumer-shared" || fail "$1/consumer-shared does not need $soname"
  ! needs_zf "$1/consumer-static" || fail "$1/consumer-static needs $soname: not static"
}

say "make, out of the tree"
cp -r examples/c-consumer "$work/consumer"
make -C "$work/consumer" clean check
check_links "$work/consumer"

if command -v cmake >/dev/null; then
  say "CMake, out of the tree"
  cmake -S "$work/consumer" -B "$work/consumer/build"
  cmake --build "$work/consumer/build"
  "$work/consumer/build/consumer-shared"
  "$work/consumer/build/consumer-static"
  check_links "$work/consumer/build"
else
  say "no cmake: CMake variant not checked"
fi
say "as a packager: --destdir, --prefix=/usr, --libdir=/usr/lib64"
stage=$work/stage
cargo cinstall --release --destdir="$stage" --prefix=/usr --libdir=/usr/lib64
for f in usr/include/zombie_frames.h usr/lib64/libzombie_frames.a usr/lib64/libzombie_frames.so \
         "usr/lib64/$soname" usr/lib64/pkgconfig/zombie_frames.pc; do
  [ -e "$stage/$f" ] || fail "$f not staged"
done
grep -qx 'prefix=/usr' "$stage/usr/lib64/pkgconfig/zombie_frames.pc" &&
  grep -qx 'libdir=${prefix}/lib64' "$stage/usr/lib64/pkgconfig/zombie_frames.pc" ||
  fail "the staged .pc file does not name /usr and /usr/lib64"
say "install checked"
