#!/usr/bin/env bash
# Runs every C program of c_tests/ twice more than `cargo test` does:
#   1. built with AddressSanitizer + UBSan (leak detection on), then
#   2. built plainly and run under valgrind (memcheck, definite and
#      indirect leaks are errors).
# Both link the static library. Exits nonzero if any run fails, naming it.
#
# Usage, from the repository root:  bash c_tests/sanitize.sh [LIBDIR]
# LIBDIR holds libzombie_frames.a (default target/debug). `cargo test`
# leaves its fresh build in LIBDIR/deps and `cargo build` copies it up to
# LIBDIR: the newer of the two is used.
set -euo pipefail

libdir=${1:-target/debug}
[ -d "$libdir" ] && libdir=$(cd "$libdir" && pwd)
cd "$(dirname "$0")/.."
[ -d "$libdir" ] || { echo "sanitize.sh: no directory $libdir (run cargo build first)" >&2; exit 2; }

lib=""
for candidate in "$libdir/libzombie_frames.a" "$libdir/deps/libzombie_frames.a"; do
  if [ -f "$candidate" ] && { [ -z "$lib" ] || [ "$candidate" -nt "$lib" ]; }; then
    lib=$candidate
  fi
done
[ -n "$lib" ] || { echo "sanitize.sh: no libzombie_frames.a in $libdir or $libdir/deps (run cargo build)" >&2; exit 2; }

cc=${CC:-gcc}
cflags=(-std=c99 -Wall -Wextra -Werror -pedantic -g -Iinclude -Ic_tests)
sanitize=(-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
libs=("$lib" -lpthread -ldl -lm)

out=$(mktemp -d "${TMPDIR:-/tmp}/zf-sanitize.XXXXXX")
trap 'rm -rf "$out"' EXIT

# The sanitizer runtime must be installed (Debian: libasan, libubsan, with gcc).
printf 'int main(void) { return 0; }\n' > "$out/probe.c"
if ! "$cc" "${sanitize[@]}" "$out/probe.c" -o "$out/probe" 2> "$out/probe.log"; then
  echo "sanitize.sh: $cc cannot link -fsanitize=address,undefined here:" >&2
  cat "$out/probe.log" >&2
  exit 2
fi
command -v valgrind > /dev/null || { echo "sanitize.sh: valgrind is not installed" >&2; exit 2; }

programs=()
for src in c_tests/test_*.c; do
  programs+=("$(basename "$src" .c)")
done

failed=()

# run LABEL NAME COMMAND...: runs it, keeps the output, reports the verdict.
run() {
  local label=$1 name=$2 log="$out/$2.$1.log"
  shift 2
  if "$@" > "$log" 2>&1; then
    printf 'ok    %-12s %-28s %s\n' "$label" "$name" "$(tail -n 1 "$log")"
  else
    printf 'FAIL  %-12s %s\n' "$label" "$name"
    tail -n 40 "$log" | sed 's/^/      /'
    failed+=("$label $name")
  fi
}

echo "== AddressSanitizer + UBSan ($cc, $lib)"
for name in "${programs[@]}"; do
  exe="$out/$name.asan"
  if "$cc" "${cflags[@]}" "${sanitize[@]}" "c_tests/$name.c" c_tests/minipy.c -o "$exe" "${libs[@]}"; then
    run asan+ubsan "$name" env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$exe"
  else
    failed+=("build asan+ubsan $name")
  fi
done

echo "== AddressSanitizer + UBSan, the scenarios through the header's inline pair"
for name in "${programs[@]}"; do
  case $name in test_api|test_debug|test_legacy|test_panic) continue ;; esac
  exe="$out/$name.asan-fast"
  if "$cc" "${cflags[@]}" "${sanitize[@]}" -DZF_TEST_FAST "c_tests/$name.c" c_tests/minipy.c -o "$exe" "${libs[@]}"; then
    run asan-fast "$name" env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$exe"
  else
    failed+=("build asan-fast $name")
  fi
done

echo "== valgrind"
for name in "${programs[@]}"; do
  exe="$out/$name.plain"
  if "$cc" "${cflags[@]}" -O0 "c_tests/$name.c" c_tests/minipy.c -o "$exe" "${libs[@]}"; then
    run valgrind "$name" valgrind --error-exitcode=1 --leak-check=full \
      --errors-for-leak-kinds=definite,indirect -q "$exe"
  else
    failed+=("build valgrind $name")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "sanitize.sh: ${#failed[@]} failed:"
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
echo "sanitize.sh: all ${#programs[@]} programs clean under ASan+UBSan and valgrind"
