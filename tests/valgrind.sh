#!/usr/bin/env bash
# tests/valgrind.sh [TEST...] - the integration tests that make calls, with
# tlstrunk under valgrind memcheck (on demand; tests/run.sh does not run it).
#
#   1. builds a plain, non-sanitized tree (RelWithDebInfo, no unit tests)
#      in $VALGRIND_BUILD (default build-valgrind/);
#   2. runs each TEST (a number such as 10, a name such as 10_pbx_to_cloud,
#      or a path; default: every call-making test below that exists) with
#      TLSTRUNK_WRAPPER set (tests/lib.sh): start_tlstrunk runs tlstrunk as
#        valgrind --tool=memcheck --leak-check=full
#          --show-leak-kinds=definite,indirect
#          --errors-for-leak-kinds=definite,indirect --error-exitcode=99
#          --track-origins=yes --suppressions=tests/valgrind.supp
#          --log-file=$OUT/NAME.vg.%p.log
#      stop_tlstrunk's SIGINT makes it shut down and free everything; a test
#      that finds exit status 99 fails, as it fails on any non-zero exit
#      (work dirs are kept, KEEP_WORK=1: tlstrunk.log of each run stays);
#   3. prints per test the test's PASS/FAIL, valgrind's ERROR SUMMARY and the
#      definitely/indirectly lost bytes (summed over every tlstrunk the test
#      started), the records found with their stacks, and a final verdict.
#      "Still reachable" blocks (sofia-sip's and OpenSSL's caches at exit)
#      are not leaks and are not counted; tests/valgrind.supp only silences
#      library-internal noise, never a stack that starts in our code.
#
# Run it in a private network namespace (the tests use fixed loopback
# addresses that other runs may hold):
#   unshare -n bash -c 'ip link set lo up; tests/valgrind.sh'
#
# Environment:
#   VALGRIND_BUILD=DIR     build tree (default $REPO/build-valgrind)
#   SKIP_BUILD=1           use the tree as it is
#   JOBS=N                 build parallelism (default: nproc)
#   TLSTRUNK_WORK_ROOT=DIR work dirs of the tests (default /tmp/tlstrunk-vg)
#   VALGRIND_OUT=DIR       valgrind logs and test outputs (default
#                          $TLSTRUNK_WORK_ROOT/valgrind-DATE)
#   VALGRIND_TEST_TIMEOUT  seconds one test may take (default 900)
#   VALGRIND_EXTRA="..."   more valgrind options (e.g. --fair-sched=yes)
#   SIPP_TIMEOUT, MEDIA_TIMEOUT, TLSTRUNK_START_WAIT, TLSTRUNK_STOP_WAIT:
#                          passed through to the tests (lib.sh, media_lib.sh)
# Exit status: 0 when every test passed and valgrind found nothing.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"

DEFAULT_TESTS="10 30 40 45 47 54 62 66 67 70 76 90 92 94 96"
BUILD=${VALGRIND_BUILD:-$REPO/build-valgrind}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
JOBS=${JOBS:-$(nproc)}
export TLSTRUNK_WORK_ROOT=${TLSTRUNK_WORK_ROOT:-/tmp/tlstrunk-vg}
OUT=${VALGRIND_OUT:-$TLSTRUNK_WORK_ROOT/valgrind-$(date +%Y%m%d-%H%M%S)}
TEST_TIMEOUT=${VALGRIND_TEST_TIMEOUT:-900}
SUPP=$REPO/tests/valgrind.supp
START=$SECONDS

command -v valgrind >/dev/null 2>&1 || { echo "valgrind not found (apt-get install valgrind)"; exit 2; }
[ -f "$SUPP" ] || { echo "$SUPP missing"; exit 2; }
mkdir -p "$OUT" "$TLSTRUNK_WORK_ROOT"
for p in "$OUT" "$SUPP" "$BUILD"; do
	case $p in *[[:space:]]*)
		echo "path with blanks not supported (the wrapper is split on blanks): '$p'"; exit 2 ;;
	esac
done

# --- which tests ---------------------------------------------------------------
args=("$@")
[ ${#args[@]} -gt 0 ] || read -ra args <<<"$DEFAULT_TESTS"
TESTS=()
for a in "${args[@]}"; do
	if [ -f "$a" ]; then
		TESTS+=("$(cd "$(dirname "$a")" && pwd)/$(basename "$a")")
		continue
	fi
	a=${a%.sh}
	m=$(compgen -G "$REPO/tests/integration/${a}.sh" || compgen -G "$REPO/tests/integration/${a}_*.sh" || true)
	if [ -z "$m" ]; then
		echo "no test matches '$a' in tests/integration/: skipped"
		continue
	fi
	while IFS= read -r f; do TESTS+=("$f"); done <<<"$m"
done
[ ${#TESTS[@]} -gt 0 ] || { echo "no test to run"; exit 2; }

# --- build -----------------------------------------------------------------------
if [ -z "${SKIP_BUILD:-}" ]; then
	echo "=== build $BUILD (RelWithDebInfo, no sanitizer)"
	if ! cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DTLSTRUNK_SANITIZE=OFF -DTLSTRUNK_TESTS=OFF >"$OUT/cmake.log" 2>&1; then
		cat "$OUT/cmake.log"; exit 1
	fi
	if ! cmake --build "$BUILD" -j "$JOBS" --target tlstrunk >"$OUT/build.log" 2>&1; then
		tail -n 50 "$OUT/build.log"; exit 1
	fi
	grep -E 'warning:|error:' "$OUT/build.log" || true
fi
BIN=$BUILD/tlstrunk
[ -x "$BIN" ] || { echo "no $BIN"; exit 1; }
if grep -q '^CMAKE_C_FLAGS.*fsanitize\|^TLSTRUNK_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
	echo "$BUILD is a sanitizer tree: valgrind cannot run it"; exit 1
fi
echo "binary: $BIN"
echo "logs:   $OUT"

# --- valgrind log parsing ------------------------------------------------------------

# vg_numbers LOG: "ERRORS DEF IND COMPLETE" of one valgrind log (bytes;
# COMPLETE=0 when the log has no final ERROR SUMMARY: valgrind was killed).
vg_numbers() {
	awk '
		/ERROR SUMMARY:/ { for (i = 1; i <= NF; i++) if ($i == "SUMMARY:") err = $(i + 1); done = 1 }
		/definitely lost:/ { for (i = 1; i <= NF; i++) if ($i == "lost:") def = $(i + 1) }
		/indirectly lost:/ { for (i = 1; i <= NF; i++) if ($i == "lost:") ind = $(i + 1) }
		END {
			gsub(",", "", err); gsub(",", "", def); gsub(",", "", ind)
			printf "%d %d %d %d\n", err + 0, def + 0, ind + 0, done + 0
		}' "$1"
}

# vg_records LOG: every error and leak record of one log (the blocks that
# start with an error headline or "... are definitely/indirectly lost"),
# with their stacks, the "==PID==" prefix removed.
vg_records() {
	sed -E 's/^==[0-9]+== ?//' "$1" | awk '
		/^(Invalid |Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Argument .* of function|Jump to the invalid|Process terminating|Warning: invalid file descriptor)/ ||
		/are (definitely|indirectly) lost in loss record/ { on = 1 }
		on && /^$/ { print "  ----"; on = 0; next }
		on { print "  " $0 }'
}

# --- run -----------------------------------------------------------------------------
RESULTS=()
TEST_FAILS=0
VG_DIRTY=0
i=0
for t in "${TESTS[@]}"; do
	i=$((i + 1))
	name=$(basename "$t" .sh)
	out=$OUT/$name.out
	rm -f "$OUT/$name".vg.*.log
	wrapper="valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect"
	wrapper+=" --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-origins=yes"
	wrapper+=" --num-callers=40 --suppressions=$SUPP --log-file=$OUT/$name.vg.%p.log"
	wrapper+=" ${VALGRIND_EXTRA:-}"
	printf '\n=== [%d/%d] %s\n' "$i" "${#TESTS[@]}" "$name"
	t0=$SECONDS
	rc=0
	TLSTRUNK_BIN=$BIN TLSTRUNK_WRAPPER=$wrapper KEEP_WORK=1 \
		timeout -k 10 "$TEST_TIMEOUT" bash "$t" >"$out" 2>&1 || rc=$?
	dt=$((SECONDS - t0))
	if [ "$rc" = 0 ]; then
		verdict=PASS
		line=$(grep -m1 '^PASS' "$out" || echo "PASS: $name")
	else
		verdict=FAIL
		TEST_FAILS=$((TEST_FAILS + 1))
		line=$(grep -m1 '^FAIL' "$out" || echo "FAIL: $name (exit $rc$([ "$rc" = 124 ] && echo ", timed out after $TEST_TIMEOUT s"))")
	fi
	echo "test: $line ($dt s)"

	errs=0 def=0 ind=0 n=0 incomplete=0
	shopt -s nullglob
	logs=("$OUT/$name".vg.*.log)
	shopt -u nullglob
	for l in "${logs[@]}"; do
		read -r e d x c < <(vg_numbers "$l")
		errs=$((errs + e)); def=$((def + d)); ind=$((ind + x)); n=$((n + 1))
		[ "$c" = 1 ] || incomplete=$((incomplete + 1))
	done
	vg="ERROR SUMMARY $errs errors, definitely lost $def bytes, indirectly lost $ind bytes ($n tlstrunk run(s)"
	[ "$incomplete" = 0 ] || vg+=", $incomplete without a final summary: killed before exit"
	vg+=")"
	if [ "$n" = 0 ]; then
		vg="no valgrind log (tlstrunk never started under valgrind)"
		clean=no
	elif [ "$errs" = 0 ] && [ "$def" = 0 ] && [ "$ind" = 0 ] && [ "$incomplete" = 0 ]; then
		clean=yes
	else
		clean=no
	fi
	echo "valgrind: $vg"
	if [ "$clean" = no ]; then
		VG_DIRTY=$((VG_DIRTY + 1))
		for l in "${logs[@]}"; do
			recs=$(vg_records "$l")
			[ -n "$recs" ] || continue
			echo "  records in $l:"
			printf '%s\n' "$recs" | head -n 400
		done
	fi
	[ "$verdict" = PASS ] || { echo "  test output: $out"; grep -aE '^\[|^FAIL' "$out" | tail -n 15 | sed 's/^/    /'; }
	RESULTS+=("$(printf '%-24s test %-4s  valgrind %-5s  errors %-4s definitely %-8s indirectly %-8s' \
		"$name" "$verdict" "$([ "$clean" = yes ] && echo clean || echo DIRTY)" "$errs" "$def" "$ind")")
done

# --- summary ---------------------------------------------------------------------
printf '\n=== summary (%d s)\n' "$((SECONDS - START))"
printf '%s\n' "${RESULTS[@]}"
echo "logs: $OUT"
if [ "$VG_DIRTY" = 0 ] && [ "$TEST_FAILS" = 0 ]; then
	echo "VERDICT: CLEAN: ${#TESTS[@]} test(s) passed under valgrind; zero errors, zero definite/indirect leaks"
	exit 0
fi
echo "VERDICT: NOT CLEAN: $TEST_FAILS test(s) failed, $VG_DIRTY test(s) with valgrind errors or leaks"
exit 1
