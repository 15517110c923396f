#!/usr/bin/env bash
# tests/run.sh - everything CI runs, from a fresh Debian 12 clone, as root:
#   1. apt-get install whatever is missing (tests/lib.sh: DEB_PACKAGES)
#   2. build build/ (RelWithDebInfo) and build-asan/ (-DTLSTRUNK_SANITIZE=ON)
#   3. ctest in both trees
#   4. every tests/integration/*.sh against both binaries (ASan/UBSan armed
#      for the second)
#   5. every libFuzzer target briefly (tests/fuzz/run.sh, FUZZ_SECONDS each)
#   6. a summary; exit status non-zero on any failure.
#
# Options (environment):
#   SKIP_DEPS=1        do not look at packages
#   SKIP_ASAN=1        plain tree only (quicker local runs)
#   ONLY=PATTERN       run only integration tests whose name matches PATTERN
#   JOBS=N             build parallelism (default: nproc)
#   FUZZ_SECONDS=N     seconds per fuzz target (default 30; 0 skips fuzzing)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
TEST_NAME=run
# shellcheck source=tests/lib.sh
. "$REPO/tests/lib.sh"

JOBS=${JOBS:-$(nproc)}
RESULTS=()
FAILED=0
PASSED=0
START=$SECONDS

say() { printf '\n=== %s\n' "$*"; }

record() { # record pass|fail TEXT
	if [ "$1" = pass ]; then
		PASSED=$((PASSED + 1)); RESULTS+=("PASS  $2")
	else
		FAILED=$((FAILED + 1)); RESULTS+=("FAIL  $2")
	fi
}

summary() {
	say "summary ($((SECONDS - START)) s)"
	printf '%s\n' "${RESULTS[@]}"
	# The plain closing line CI reads.
	echo "$PASSED passed, $FAILED failed"
}

# build DIR CMAKE_ARGS...: configure and build one tree; false on failure.
build() {
	local dir=$1; shift
	say "build $dir ($*)"
	cmake -S "$REPO" -B "$REPO/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$LOGDIR/cmake-$dir.log" 2>&1 ||
		{ cat "$LOGDIR/cmake-$dir.log"; return 1; }
	local rc=0
	cmake --build "$REPO/$dir" -j "$JOBS" >"$LOGDIR/build-$dir.log" 2>&1 || rc=$?
	# Show the compiler's complaints even when the build succeeds.
	grep -E 'warning:|error:' "$LOGDIR/build-$dir.log" || true
	[ "$rc" = 0 ] || { tail -n 50 "$LOGDIR/build-$dir.log"; return 1; }
	[ -x "$REPO/$dir/tlstrunk" ] || { echo "no $dir/tlstrunk after the build"; return 1; }
}

# unit DIR: ctest in one tree.
unit() {
	local dir=$1
	say "ctest $dir"
	local log=$LOGDIR/ctest-$dir.log rc=0
	(cd "$REPO/$dir" && ctest --output-on-failure --timeout 120 -V) >"$log" 2>&1 || rc=$?
	# criterion does not fail a test on a LeakSanitizer or UBSan report:
	# read them off the output instead.
	if grep -E 'LeakSanitizer|AddressSanitizer|runtime error:' "$log"; then
		rc=1
	fi
	[ "$rc" = 0 ] || { tail -n 80 "$log"; return 1; }
	grep -E 'tests passed|tests failed' "$log"
}

# integration LABEL BINARY: every integration script against BINARY.
integration() {
	local label=$1 bin=$2 t name rc out limit
	for t in "$REPO"/tests/integration/*.sh; do
		name=$(basename "$t" .sh)
		if [ -n "${ONLY:-}" ] && [[ $name != *$ONLY* ]]; then
			continue
		fi
		# "#@ once": the test builds what it runs from the sources (the
		# container image), not from BINARY: once, in the plain pass.
		if [ "$label" != plain ] && grep -q '^#@ once' "$t"; then
			continue
		fi
		out=$LOGDIR/$label-$name.log
		rc=0
		# A test cleans up after itself; the timeout is the last resort
		# (it sends TERM, which the test's trap turns into a cleanup).
		# "#@ timeout: N" in a test raises its 240 s (a fresh machine
		# builds the container image first).
		limit=$(sed -n 's/^#@ timeout: *\([0-9][0-9]*\)$/\1/p' "$t" | head -1)
		TLSTRUNK_BIN=$bin TLSTRUNK_WORK_ROOT=$WORKROOT/$label \
			timeout -k 10 "${limit:-240}" bash "$t" >"$out" 2>&1 || rc=$?
		if [ "$rc" = 0 ]; then
			grep -m1 '^PASS' "$out" || echo "PASS: $name"
			record pass "$label $name"
		else
			echo "FAIL: $label $name (exit $rc); its output:"
			sed 's/^/    /' "$out"
			record fail "$label $name: $(grep -m1 '^FAIL' "$out" || echo "exit $rc")"
		fi
	done
}

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/tlstrunk-run.XXXXXX")
WORKROOT=$LOGDIR/work
mkdir -p "$WORKROOT"
export TLSTRUNK_PKI=$WORKROOT/pki
echo "logs: $LOGDIR"

if [ -z "${SKIP_DEPS:-}" ]; then
	say "packages"
	install_deps || { echo "package installation failed"; exit 1; }
fi

# --- plain tree ----------------------------------------------------------------
if build build; then
	record pass "build build/"
	if unit build; then record pass "ctest build/"; else record fail "ctest build/"; fi
	say "integration tests, build/tlstrunk"
	integration plain "$REPO/build/tlstrunk"
else
	record fail "build build/"
fi

# --- sanitizer tree ----------------------------------------------------------------
if [ -z "${SKIP_ASAN:-}" ]; then
	# halt_on_error: a UBSan finding ends tlstrunk with a non-zero status,
	# which stop_tlstrunk reports; LSan's leak report does the same at exit.
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	if build build-asan -DTLSTRUNK_SANITIZE=ON; then
		record pass "build build-asan/"
		if unit build-asan; then record pass "ctest build-asan/"; else record fail "ctest build-asan/"; fi
		say "integration tests, build-asan/tlstrunk"
		integration asan "$REPO/build-asan/tlstrunk"
	else
		record fail "build build-asan/"
	fi
	unset ASAN_OPTIONS UBSAN_OPTIONS
fi

# --- fuzzing (tests/fuzz) ------------------------------------------------------------
# Every libFuzzer target for FUZZ_SECONDS seconds (default 30; 0 = skip the
# step), from its seed corpus: tests/fuzz/run.sh.  Needs clang 14 with the
# libFuzzer runtime (clang, libclang-rt-14-dev); skipped, with a message,
# when they cannot be had.  The long runs are tests/fuzz/run.sh SECONDS.
FUZZ_SECONDS=${FUZZ_SECONDS:-30}

# fuzz_toolchain: true when clang can link a libFuzzer target here.
fuzz_toolchain() {
	local d rc=0
	command -v clang >/dev/null 2>&1 || return 1
	d=$(mktemp -d)
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }' >"$d/t.c"
	clang -fsanitize=fuzzer,address,undefined "$d/t.c" -o "$d/t" >/dev/null 2>&1 || rc=1
	rm -rf "$d"
	return "$rc"
}

if [ "$FUZZ_SECONDS" != 0 ]; then
	say "fuzz: every target for $FUZZ_SECONDS s"
	if ! fuzz_toolchain && [ -z "${SKIP_DEPS:-}" ] && [ "$(id -u)" = 0 ]; then
		echo "installing clang libclang-rt-14-dev"
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		    clang libclang-rt-14-dev || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		    apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev; }; } \
		    >"$LOGDIR/apt-fuzz.log" 2>&1 || true
	fi
	if fuzz_toolchain; then
		rc=0
		OUT=$LOGDIR/fuzz JOBS=$JOBS "$REPO/tests/fuzz/run.sh" "$FUZZ_SECONDS" >"$LOGDIR/fuzz.log" 2>&1 || rc=$?
		# One result per target, from run.sh's summary.
		while IFS= read -r line; do
			case $line in
			*": FINDING"*|*": NOT RUN"*) record fail "fuzz $line" ;;
			?*) record pass "fuzz $line" ;;
			esac
		done < <(sed -n '/^=== fuzz summary/,$p' "$LOGDIR/fuzz.log" | tail -n +2)
		if [ "$rc" != 0 ]; then
			grep -q '^=== fuzz summary' "$LOGDIR/fuzz.log" || record fail "fuzz: tests/fuzz/run.sh exit $rc"
			tail -n 60 "$LOGDIR/fuzz.log"
		else
			sed -n '/^=== fuzz summary/,$p' "$LOGDIR/fuzz.log"
		fi
	else
		echo "fuzz: SKIPPED: clang cannot link a libFuzzer target (apt-get install clang libclang-rt-14-dev)"
	fi
fi

summary
if [ "$FAILED" != 0 ]; then
	echo "logs kept in $LOGDIR"
	exit 1
fi
rm -rf "$LOGDIR"
