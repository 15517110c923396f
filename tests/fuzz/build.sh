#!/bin/sh
# build.sh - build the libFuzzer targets (clang 14, Debian 12:
# apt-get install clang libclang-rt-14-dev).
#
#   tests/fuzz/build.sh            build into $OUT (default /tmp/fuzz)
#   tests/fuzz/build.sh SECONDS    build, then fuzz sdp_rewrite that long
#
# sofia-sip is the system library, not instrumented: libFuzzer's
# coverage and ASan see our code and the libc calls sofia-sip makes.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
OUT=${OUT:-/tmp/fuzz}
CC=${CC:-clang}
CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer"

mkdir -p "$OUT"
# shellcheck disable=SC2086,SC2046
$CC $CFLAGS -I"$root/proxy" $(pkg-config --cflags sofia-sip-ua) \
    "$here/fuzz_sdp_rewrite.c" "$root/proxy/sdp_rewrite.c" \
    $(pkg-config --libs sofia-sip-ua) -o "$OUT/fuzz_sdp_rewrite"
echo "built $OUT/fuzz_sdp_rewrite"

[ $# -eq 0 ] && exit 0
# Fuzz on a copy, so the seeds in the tree stay as they are.
mkdir -p "$OUT/corpus-sdp" "$OUT/artifacts"
cp "$here"/corpus/sdp/* "$OUT/corpus-sdp/"
exec "$OUT/fuzz_sdp_rewrite" -max_total_time="$1" -max_len=8192 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$OUT/artifacts/" "$OUT/corpus-sdp"
