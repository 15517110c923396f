#!/usr/bin/env bash
# tests/bench/plan_bench.sh - the number plan's cost per call (issue 17),
# isolated from a whole call's noise: plan_bench (built with the unit
# tests) parses, routes, rewrites and prints sip_bench's INVITE against
# the same INVITE parsed and printed only, with
#   - no routes (a file without a plan: the implicit route),
#   - number_plan.sh's 20 rules and 50 routes (the call takes route 49).
# Compare the added ns with sip_bench's CPU per call (about 1 ms here).
#
# Usage: tests/bench/plan_bench.sh [ROUNDS]   (BUILD: the build directory,
# default /tmp/tlstrunk-plan-bench, built from this tree when missing)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
BUILD=${BUILD:-/tmp/tlstrunk-plan-bench}
ROUNDS=${1:-15}
# shellcheck source=tests/bench/number_plan.sh
. "$BENCH_DIR/number_plan.sh"

if [ ! -x "$BUILD/plan_bench" ]; then
	cmake -S "$ROOT" -B "$BUILD" -DTLSTRUNK_TESTS=ON \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$BUILD" -j"$(nproc)" --target plan_bench >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/base.ini" <<EOF2
[pbx]
listen = 127.0.0.1:5060
address = 127.0.0.2:5090
allow = 127.0.0.0/8
[cloud]
hosts = lb01.voice.use1.pure.cloud
tgrp = bench
trunk_context = bench.example
[tls_server]
listen = 127.0.0.1:5061
cert_file = /nonexistent.pem
key_file = /nonexistent.key
advertised_name = sbc.bench.example
EOF2
cp "$work/base.ini" "$work/plan.ini"
write_number_plan >>"$work/plan.ini"
echo "no routes:              $("$BUILD/plan_bench" "$work/base.ini" "$ROUNDS")"
echo "50 routes and 20 rules: $("$BUILD/plan_bench" "$work/plan.ini" "$ROUNDS")"
