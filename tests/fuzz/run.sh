#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS [TARGET...]] - build the libFuzzer targets
# (build.sh) and fuzz each for SECONDS (default 60) from its seed corpus.
#
#   TARGET   sdp_rewrite config sip stream srv callrec numplan (default: all,
#            one after another)
#
# The seeds (tests/fuzz/corpus/<dir>/) are read, never written: what a
# run finds goes to $OUT/work/<target>/, crash inputs to
# $OUT/artifacts/<target>/.  Each target's line says how many inputs it
# ran; the exit status is non-zero when any target found anything (crash,
# leak, timeout, out-of-memory) or did not run.
#
# Environment: OUT (default /tmp/fuzz), FUZZ_NO_BUILD=1 (use what is in
# OUT), FUZZ_ARGS (more libFuzzer flags, e.g. "-jobs=2 -workers=2").
# Reproduce a finding: $OUT/fuzz_<target> <artifact>  (add FUZZ_LOG=debug
# for tlstrunk's log).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export OUT=${OUT:-/tmp/fuzz}
# A UBSan finding with its stack; ASan's own defaults are right for libFuzzer.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sdp_rewrite config sip stream srv callrec numplan)

case $secs in ''|*[!0-9]*) echo "usage: $0 [SECONDS [TARGET...]]" >&2; exit 2 ;; esac

if [ -z "${FUZZ_NO_BUILD:-}" ]; then
	"$here/build.sh" || { echo "fuzz: build failed"; exit 1; }
fi

# corpus directory (under tests/fuzz/corpus) and -max_len of each target
corpus_of() { case $1 in sdp_rewrite) echo sdp ;; *) echo "$1" ;; esac; }
maxlen_of() {
	case $1 in
	sdp_rewrite) echo 8192 ;;
	config) echo 16384 ;;
	sip) echo 32768 ;;
	stream) echo 131072 ;;
	srv) echo 4096 ;;
	callrec) echo 20000 ;;	# CALLREC_MAX (16384) and beyond
	numplan) echo 4096 ;;
	esac
}

failed=0
summary=()
for t in "${targets[@]}"; do
	bin=$OUT/fuzz_$t
	seeds=$here/corpus/$(corpus_of "$t")
	work=$OUT/work/$t
	art=$OUT/artifacts/$t
	log=$OUT/fuzz_$t.log
	if [ ! -x "$bin" ] || [ -z "$(maxlen_of "$t")" ]; then
		echo "fuzz: no target $t ($bin)"
		summary+=("$t: NOT RUN")
		failed=1
		continue
	fi
	mkdir -p "$work" "$art" "$seeds"
	echo "=== fuzz_$t: ${secs} s, seeds $seeds ($(find "$seeds" -type f | wc -l) files)"
	rc=0
	# Leaks are findings; -timeout: one input may take this long at most.
	# shellcheck disable=SC2086
	(cd "$OUT" && "$bin" -max_total_time="$secs" -max_len="$(maxlen_of "$t")" \
		-timeout=30 -rss_limit_mb=2560 -detect_leaks=1 -print_final_stats=1 \
		-artifact_prefix="$art/" ${FUZZ_ARGS:-} "$work" "$seeds") >"$log" 2>&1 || rc=$?
	execs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s += $2} END {print s + 0}')
	rate=$(grep -ao 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{s += $2} END {print s + 0}')
	cov=$(grep -aoE '(DONE|pulse|NEW|REDUCE|INITED) +cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 | sed -E 's/^[A-Z]+ +//')
	found=$(grep -aE '^(==[0-9]+==ERROR|SUMMARY:|ALARM: working on the last Unit|==[0-9]+== ERROR: libFuzzer)|runtime error:|check failed|not a whole SIP message|a handle outlived' "$log" | head -5)
	arts=$(find "$art" -type f -newer "$bin" 2>/dev/null | head -5)
	if [ "$rc" != 0 ] || [ -n "$found" ]; then
		failed=1
		echo "fuzz_$t: FINDING (exit $rc) after $execs runs"
		[ -n "$found" ] && printf '    %s\n' "$found"
		[ -n "$arts" ] && printf '    input: %s\n' $arts
		echo "    log: $log; the last lines:"
		tail -n 40 "$log" | sed 's/^/    | /'
		summary+=("$t: FINDING after $execs runs ($(echo "$arts" | head -1))")
	else
		echo "fuzz_$t: $execs runs in ${secs} s ($rate/s), $cov, corpus $(find "$work" -type f | wc -l) new + seeds; no finding"
		summary+=("$t: $execs runs ($rate/s), $cov, no finding")
	fi
done

echo "=== fuzz summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
