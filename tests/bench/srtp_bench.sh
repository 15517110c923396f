#!/bin/sh
# srtp_bench.sh - build a Release (unsanitised) tlstrunk_core and run the
# SRTP micro-benchmark: stock libsrtp2 crypto against the OpenSSL types.
# Arguments go to srtp_bench (--time S --reps N --sessions 1,1000,4000
# --no-suites).  BUILD overrides the build directory.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-/tmp/tlstrunk-bench}
CC=${CC:-cc}

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
    -DTLSTRUNK_SANITIZE=OFF -DTLSTRUNK_TESTS=OFF >/dev/null
cmake --build "$BUILD" --target tlstrunk_core -j "$(nproc)" >/dev/null
# shellcheck disable=SC2046
"$CC" -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
    -I"$ROOT/common" -I"$ROOT/config" -I"$ROOT/proxy" -I"$ROOT/proxy/media" -I"$ROOT/proxy/msg" \
    -o "$BUILD/srtp_bench" "$ROOT/tests/bench/srtp_bench.c" \
    "$BUILD/libtlstrunk_core.a" \
    $(pkg-config --libs libsrtp2 openssl libuv sofia-sip-ua inih)
exec "$BUILD/srtp_bench" "$@"
