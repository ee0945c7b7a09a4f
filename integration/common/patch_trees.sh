#!/usr/bin/env bash
# A kit's patch as trees, and back: edit the b/ tree, then diff again.
#
#   patch_trees.sh trees PATCH SRC WORK   WORK/a and WORK/b: the files PATCH
#                                         touches, from SRC and patched
#   patch_trees.sh diff WORK > PATCH      the patch again, as the kits keep it
#                                         (`diff -ruN a b`, no timestamps)
#
# A file the patch should start touching goes into both trees first. The
# kits' patch-check stage makes sure a patch comes back byte for byte.
set -euo pipefail

case "${1:-}" in
  trees)
    patch=$(realpath "$2") src=$3 work=$4
    rm -rf "$work" && mkdir -p "$work/a" "$work/b"
    for f in $(awk '/^diff -ruN /{print substr($3, 3)}' "$patch"); do
      mkdir -p "$work/a/$(dirname "$f")" "$work/b/$(dirname "$f")"
      if [ -f "$src/$f" ]; then
        cp "$src/$f" "$work/a/$f"
        cp "$src/$f" "$work/b/$f"
      fi
    done
    (cd "$work/b" && patch -s -p1 --batch < "$patch")
    ;;
  diff)
    # diff exits 1 when the trees differ, which is the point here.
    (cd "$2" && diff -ruN a b || [ $? -eq 1 ]) |
      sed -E 's#^(--- a/[^\t]*)\t.*#\1#; s#^(\+\+\+ b/[^\t]*)\t.*#\1#'
    ;;
  *)
    sed -n '2,9p' "$0" >&2
    exit 2
    ;;
esac
