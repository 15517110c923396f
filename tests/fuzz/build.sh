#!/bin/sh
# build.sh - build the libFuzzer targets (clang 14, Debian 12:
# apt-get install clang libclang-rt-14-dev).
#
#   tests/fuzz/build.sh            build every target into $OUT (default /tmp/fuzz)
#   tests/fuzz/build.sh SECONDS    build, then fuzz sdp_rewrite that long
#                                  (tests/fuzz/run.sh runs them all)
#
# Targets: fuzz_sdp_rewrite, fuzz_config, fuzz_sip, fuzz_stream, fuzz_srv,
# fuzz_callrec, fuzz_numplan.  The
# product sources are compiled here, with -fsanitize=fuzzer-no-link,
# into $OUT/obj/libcore.a (not CMake's tlstrunk_core: it is built
# without coverage).  sofia-sip, OpenSSL, libuv are the system
# libraries, not instrumented: libFuzzer's coverage and ASan see our
# code and the libc calls those libraries make.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
OUT=${OUT:-/tmp/fuzz}
CC=${CC:-clang}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter
    $SAN -fno-omit-frame-pointer -DTLSTRUNK_VERSION=\"fuzz\""
PKGS="sofia-sip-ua libuv openssl libsrtp2 inih hiredis libpcre2-8"
PROXY_DIRS="msg ops net cloud sip media doctor state"	# as in CMakeLists.txt
INC="-I$root/common -I$root/config -I$root/proxy -I$here $(pkg-config --cflags $PKGS)"
for d in $PROXY_DIRS; do INC="$INC -I$root/proxy/$d"; done
LIBS="$(pkg-config --libs $PKGS) -lresolv -ldl -lpthread"

mkdir -p "$OUT/obj"
obj=$OUT/obj

# The product's sources (main.c aside), each into an object; then the
# archive.  The linker takes from an archive only what a target needs.
# shellcheck disable=SC2086
for f in "$root"/common/*.c "$root"/config/*.c "$root"/proxy/*.c \
    "$root"/proxy/*/*.c; do
	case $f in */proxy/main.c) continue ;; esac
	echo "$f"
done | CFLAGS="$CFLAGS" INC="$INC" CC="$CC" OBJ="$obj" \
    xargs -P "$JOBS" -I{} sh -c '
	o=$OBJ/$(basename "{}" .c).o
	$CC $CFLAGS -fsanitize=fuzzer-no-link $INC -c "{}" -o "$o" || exit 255'
rm -f "$obj/libcore.a"
ar rcs "$obj/libcore.a" "$obj"/*.o

# target NAME SOURCES...: link one target.
target() {
	name=$1; shift
	# shellcheck disable=SC2086
	$CC $CFLAGS -fsanitize=fuzzer $INC "$@" "$obj/libcore.a" $LIBS \
	    -o "$OUT/$name"
	echo "built $OUT/$name"
}

target fuzz_sdp_rewrite "$here/fuzz_sdp_rewrite.c"
target fuzz_srv "$here/fuzz_srv.c"
target fuzz_callrec "$here/fuzz_callrec.c"
target fuzz_numplan "$here/fuzz_numplan.c"
# fuzz_common.c shares some costly objects between inputs: see there.
WRAP=-Wl,--wrap=tls_client_ctx_new,--wrap=tls_server_ctx_new,--wrap=media_workers_start,--wrap=media_workers_stop
target fuzz_config "$here/fuzz_config.c" "$here/fuzz_common.c" $WRAP
target fuzz_sip "$here/fuzz_sip.c" "$here/fuzz_common.c" $WRAP
target fuzz_stream "$here/fuzz_stream.c" "$here/fuzz_common.c" $WRAP

[ $# -eq 0 ] && exit 0
exec "$here/run.sh" "$1" sdp_rewrite
