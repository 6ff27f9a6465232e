#!/usr/bin/env bash
# Builds libxmod_native.so when it is missing or stale; run by XMod.Tensors's build.
# usage: build-native.sh SOURCE_DIR BUILD_DIR
# On failure it writes one actionable line to BUILD_DIR/error.txt for MSBuild to report; the full
# CMake and compiler output stays in BUILD_DIR/build.log.
set -uo pipefail
src=$1
out=$2
mkdir -p "$out"
rm -f "$out/error.txt"
fail() { echo "$1" > "$out/error.txt"; echo "xmod-native: $1" >&2; exit 1; }

command -v cmake >/dev/null || fail "cmake not found: run scripts/install-deps (or apt-get install cmake g++)"
command -v g++ >/dev/null || fail "g++ not found: run scripts/install-deps (or apt-get install g++)"

exec 9>"$out/.lock"
flock -w 900 9 || fail "timed out waiting for another build of the native library (lock $out/.lock)"

# A different libtorch (or a moved source tree) means a fresh configure, not a stale cache.
# Installing libgloo-dev later (distributed support) counts as different too.
want="LIBTORCH_DIR=${LIBTORCH_DIR:-} SRC=$(cd "$src" && pwd) GLOO=$(ls /usr/include/gloo/config.h 2>/dev/null)"
if [ ! -f "$out/CMakeCache.txt" ] || [ "$(cat "$out/.configured-for" 2>/dev/null)" != "$want" ]; then
  rm -rf "$out/CMakeFiles" "$out/CMakeCache.txt"
  if ! cmake -S "$src" -B "$out" -DCMAKE_BUILD_TYPE=Release > "$out/build.log" 2>&1; then
    line=$(grep -o 'XMOD: .*' "$out/build.log" | head -1 | sed 's/^XMOD: //')
    fail "${line:-CMake could not configure the native library; see $out/build.log}"
  fi
  echo "$want" > "$out/.configured-for"
fi
if ! cmake --build "$out" -j "$(nproc)" >> "$out/build.log" 2>&1; then
  line=$(grep -m1 -E 'error:' "$out/build.log")
  fail "native library failed to compile: ${line:-see $out/build.log}"
fi
