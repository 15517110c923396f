#!/usr/bin/env bash
# media_bench.sh - media relay benchmark: tlstrunk against rtpengine (userspace
# mode, no kernel module), both converting plain RTP (PBX side) to SRTP (cloud
# side, SDES AES_CM_128_HMAC_SHA1_80) and back, in the same run, on the same
# loopback topology, driven by the same load generator (media_load.c). A third
# system, "floor" (null_relay.c: one recvfrom and one sendto per packet, plain
# RTP on both legs, no crypto), is the cheapest relay hop there can be: what
# any userspace hop costs on this machine, to read the other two against.
# Two more floors, not run by default (issue 19): "floor_uring", the same
# null relay on io_uring (null_relay --io uring --register: multishot recv
# with a provided-buffer ring, a send SQE per packet, one io_uring_enter per
# wake-up), and "floor_sqpoll" (--io uring-sqpoll --register: the same with
# an SQPOLL kernel thread). With any of them in SYSTEMS the table ends with
# the floors side by side (CPU s per 1M packets and latency at FLOOR_LOADS
# and at the maximum, each round's ratio to the epoll floor):
#   SYSTEMS="floor floor_uring floor_sqpoll" PAIRS=4 PAIRS_AT="200 400 800" \
#       tests/bench/media_bench.sh
#
# A benchmark, not a test: it prints numbers (one table at the end, on
# stdout; progress on stderr) and exits 0 unless something could not be set
# up. tests/bench/README.md says how to read them.
#
# Usage: tests/bench/media_bench.sh            (about 5-8 minutes)
#        QUICK=1 tests/bench/media_bench.sh    (about 1-2 minutes, smoke run)
#        RESTART_CALLS="100 1000" tests/bench/media_bench.sh  (+ restart under load)
#
# Knobs (environment):
#   TLSTRUNK_BIN  tlstrunk binary to measure (skips the build)
#   TLSTRUNK_REF  git ref to build tlstrunk from (e.g. HEAD); default: the
#                 working tree as it is. Either way RelWithDebInfo, no
#                 sanitizers, in $BENCH_BUILD
#   BENCH_BUILD   build directory (default /tmp/tlstrunk-bench-rel)
#   SYSTEMS       "tlstrunk rtpengine floor" (default), or any of them, and
#                 floor_uring, floor_sqpoll (issue 19; need liburing-dev)
#   LADDER        call counts to step through (a call: 50 pps each way)
#   WARMUP MEASURE  seconds per step before / of the measurement window
#   BISECT        bisection steps between the last good and first bad count
#   PAIRS         extra rounds at the two equal-load counts the ratio rows
#                 use (each system in turn, back to back); those rows then
#                 give the median over all rounds and each round's ratio
#                 (default 2; QUICK: 0)
#   PAIRS_AT      the call counts of those extra rounds instead (e.g.
#                 "200 400 800"; each must be on the LADDER or bisected)
#   FLOOR_LOADS   call counts of the floors' table (default "200 400 800")
#   DECIDE_AT     call count of issue 19's rule, floor_uring <= 0.75x floor
#                 (default 800)
#   LOSS_MAX      loss that still counts as sustained (default 0.001 = 0.1%)
#   SUT_CPUS      CPUs the relay under test is pinned to (default 1)
#   LOAD_CPUS     CPUs the load generator is pinned to (default 0)
#   RTPE_THREADS  rtpengine --num-threads (default: number of SUT_CPUS)
#   LAT_TICK_US   send granularity of the latency steps (default 50 us; the
#                 throughput steps send what is due in 1 ms bursts)
#   SIP_RATE      calls/s when setting up tlstrunk's calls (default 500)
#   KEEP_WORK     keep the work directory (default 1: step outputs are there)
#   RESTART_CALLS call counts of the restart step (issue 15), e.g. "100 1000";
#                 empty = off (the default); tlstrunk only. For each N: a
#                 tlstrunk with [state] (a redis-server on a unix socket in
#                 the work directory), N calls, the load on, kill -9 and
#                 the same config started again; how long after its exec
#                 the audio was back in all 2N streams (README.md)
#   RESTART_AT    seconds into the load of the kill (default 3)
#   RESTART_WARMUP RESTART_MEASURE  the load's warm-up and window (1 and 8 s)
#
# Debian 12 packages (installed when missing; root needed for that):
BENCH_DEB_PACKAGES="rtpengine-daemon kamailio kamailio-tls-modules build-essential
cmake pkg-config libssl-dev libuv1-dev libsofia-sip-ua-dev libsrtp2-dev libinih-dev libhiredis-dev libpcre2-dev
openssl iproute2 python3 util-linux procps git"
#   rtpengine-daemon  the reference relay (10.5 on Debian 12), userspace only
#   kamailio(+tls)    the cloud stand-in tlstrunk talks TLS to (tests/lib.sh)
#   libssl-dev        media_load.c's SRTP (AES-CTR, SHA-1) and tlstrunk
#   build-essential   also media_load.c and null_relay.c (the floor)
#   the rest          building tlstrunk; python3 drives SIP and ng; taskset
#   with RESTART_CALLS also redis-server, redis-tools (the Redis tlstrunk
#   keeps its calls in) and curl (its /metrics)
[ -z "${RESTART_CALLS:-}" ] || BENCH_DEB_PACKAGES+=" redis-server redis-tools curl"
#   with floor_uring or floor_sqpoll in SYSTEMS also liburing-dev (null_relay's
#   io_uring modes; liburing >= 2.3, kernel >= 6.1)
case " ${SYSTEMS:-} " in *" floor_uring "* | *" floor_sqpoll "*) BENCH_DEB_PACKAGES+=" liburing-dev" ;; esac
set -eEuo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)

# --- packages -------------------------------------------------------------------
bench_install() {
	local missing=() p
	for p in $BENCH_DEB_PACKAGES; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "media_bench: installing ${missing[*]}" >&2
	if [ "$(id -u)" != 0 ]; then
		echo "media_bench: not root: apt-get install ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
bench_install

# --- settings ---------------------------------------------------------------------
: "${QUICK:=0}"
: "${SYSTEMS:=tlstrunk rtpengine floor}"
: "${SUT_CPUS:=1}"
: "${LOAD_CPUS:=0}"
: "${LOSS_MAX:=0.001}"
: "${SIP_RATE:=500}"
: "${KEEP_WORK:=1}"
: "${LAT_TICK_US:=50}"
: "${BENCH_BUILD:=/tmp/tlstrunk-bench-rel}"
: "${PYTHON:=python3}"
: "${RESTART_CALLS:=}"
: "${RESTART_AT:=3}"
: "${RESTART_WARMUP:=1}"
: "${RESTART_MEASURE:=8}"
: "${PAIRS_AT:=}"
: "${FLOOR_LOADS:=200 400 800}"
: "${DECIDE_AT:=800}"
if [ "$QUICK" = 1 ]; then
	: "${LADDER:=200 500 800}"
	: "${WARMUP:=1}"
	: "${MEASURE:=3}"
	: "${BISECT:=0}"
	: "${PAIRS:=0}"
else
	: "${LADDER:=200 400 600 800 1000 1200 1500 1800 2200 2600 3000}"
	: "${WARMUP:=3}"
	: "${MEASURE:=10}"
	: "${BISECT:=2}"
	: "${PAIRS:=2}"
fi
for sys in $SYSTEMS; do
	case $sys in
	tlstrunk | rtpengine | floor | floor_uring | floor_sqpoll) ;;
	*) echo "media_bench: unknown system '$sys' in SYSTEMS (tlstrunk, rtpengine, floor, floor_uring, floor_sqpoll)" >&2; exit 1 ;;
	esac
done
# is_floor SYS: one of null_relay's systems.
is_floor() { case $1 in floor | floor_uring | floor_sqpoll) return 0 ;; esac; return 1; }
# The systems whose steps pick the equal-load comparison and the rate of the
# direct latency run: the relays, not the floors, so that adding a floor
# changes none of their figures (the floors alone when they run alone).
CMP_SYSTEMS='' ALL_FLOORS=''
for sys in $SYSTEMS; do
	if is_floor "$sys"; then ALL_FLOORS+=" $sys"; else CMP_SYSTEMS+=" $sys"; fi
done
CMP_SYSTEMS=${CMP_SYSTEMS# } ALL_FLOORS=${ALL_FLOORS# }
[ -n "$CMP_SYSTEMS" ] || CMP_SYSTEMS=$ALL_FLOORS
SUT_NCPU=$(taskset -c "$SUT_CPUS" nproc)
: "${RTPE_THREADS:=$SUT_NCPU}"

# Loopback topology of the benchmark; addresses of its own, so that it can
# run while the integration tests (127.0.0.1-3) run.
B_PBX_IP=127.0.0.21        # tlstrunk: SIP (udp) for the PBX, both media legs, TLS
B_CLOUD_IP=127.0.0.22      # Kamailio cloud stand-in
B_UAS_IP=127.0.0.23        # media_sip.py's cloud UAS behind Kamailio
B_PBX_EP=127.0.0.24        # media_load: PBX endpoints (plain RTP)
B_CLOUD_EP=127.0.0.25      # media_load: cloud endpoints (SRTP)
B_RTPE_IP=127.0.0.26       # rtpengine: both media legs and ng
B_RTPE_NG=22223
B_FLOOR_IP=127.0.0.27      # null_relay (the floor): both media legs
B_FLOOR_URING_IP=127.0.0.28   # null_relay --io uring (floor_uring)
B_FLOOR_SQPOLL_IP=127.0.0.29  # null_relay --io uring-sqpoll (floor_sqpoll)
B_PORT_MIN=4000            # relays' media ports (one relay runs at a time)
B_PORT_MAX=19999
B_EP_BASE=4000             # endpoints: port base + 2 * call index

# --- build ------------------------------------------------------------------------
TREE=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')
if [ -z "${TLSTRUNK_BIN:-}" ] && [[ " $SYSTEMS " == *" tlstrunk "* ]]; then
	src=$ROOT
	if [ -n "${TLSTRUNK_REF:-}" ]; then
		# A clean export of that commit: others' uncommitted edits are
		# not measured.
		src=$BENCH_BUILD/src
		rm -rf "$src"
		mkdir -p "$src"
		git -C "$ROOT" archive "$TLSTRUNK_REF" | tar -x -C "$src"
		TREE="$(git -C "$ROOT" rev-parse --short "$TLSTRUNK_REF") ($TLSTRUNK_REF)"
	fi
	echo "media_bench: building tlstrunk $TREE (RelWithDebInfo, no sanitizers) in $BENCH_BUILD/tlstrunk-build" >&2
	cmake -S "$src" -B "$BENCH_BUILD/tlstrunk-build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DTLSTRUNK_SANITIZE=OFF -DTLSTRUNK_TESTS=OFF >/dev/null
	cmake --build "$BENCH_BUILD/tlstrunk-build" --target tlstrunk -j "$(nproc)" >/dev/null
	TLSTRUNK_BIN=$BENCH_BUILD/tlstrunk-build/tlstrunk
elif [ -n "${TLSTRUNK_BIN:-}" ]; then
	TREE="binary $TLSTRUNK_BIN"
fi
: "${TLSTRUNK_BIN:=build/tlstrunk}"
mkdir -p "$BENCH_BUILD"
LOADGEN=$BENCH_BUILD/media_load
cc -O2 -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-deprecated-declarations \
	-o "$LOADGEN" "$BENCH_DIR/media_load.c" -lcrypto
NULL_RELAY=$BENCH_BUILD/null_relay
# with liburing when it is there (the io_uring floors need it; the epoll
# floor does not)
NULL_RELAY_LIBS=
[ ! -e /usr/include/liburing.h ] || NULL_RELAY_LIBS=-luring
cc -O2 -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
	-o "$NULL_RELAY" "$BENCH_DIR/null_relay.c" $NULL_RELAY_LIBS

# --- the shared test helpers (PKI, Kamailio, spawn/kill) ----------------------
TEST_NAME=media_bench
# shellcheck source=tests/lib.sh
. "$ROOT/tests/lib.sh"
PBX_IP=$B_PBX_IP
SBC_PBX_PORT=25060
SBC_TLS_IP=$B_PBX_IP
SBC_TLS_PORT=25061
CLOUD_IP=$B_CLOUD_IP
UAS_IP=$B_UAS_IP
UAS_PORT=25080
B_UAC_PORT=25070
case $TLSTRUNK_BIN in /*) ;; *) TLSTRUNK_BIN=$ROOT/$TLSTRUNK_BIN ;; esac

test_init
RESULTS=$WORK/steps
mkdir -p "$RESULTS"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

say() { echo "media_bench: $*" >&2; }

# kv FILE KEY: the value of KEY=... in a step's output ("" when absent).
kv() { awk -v k="$2" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }' "$1" 2>/dev/null || true; }

# epoch_ns: CLOCK_REALTIME in ns (microsecond resolution, no fork).
epoch_ns() { local t=$EPOCHREALTIME; echo "${t//[.,]/}000"; }

# fcmp "EXPR": awk's verdict on a float comparison.
fcmp() { awk "BEGIN { exit !($1) }"; }

# --- systems under test -----------------------------------------------------------
SUT_PID=
SUT_IP=
FLOOR_CALLS=
# tlstrunk's config (the restart step's has [state]); SUT_EXEC_STAMP: a
# file to write the CLOCK_REALTIME ns into just before tlstrunk is exec'd.
SUT_INI=
SUT_EXEC_STAMP=
SUT_UP_NS=		# when sut_start saw tlstrunk's SIP listener (0.1 s polls)

write_tlstrunk_bench_config() {
	cat >"$1" <<EOF
[general]
log_level = info
admin_listen =

[pbx]
listen = $PBX_IP:$SBC_PBX_PORT
transports = udp
address = $PBX_IP:25090
allow = 127.0.0.0/8
advertised_address = $PBX_IP

[cloud]
hosts = $CLOUD_NAME
port = $CLOUD_TLS_PORT
tgrp = $TGRP
trunk_context = $TRUNK_CONTEXT
ca_file = $PKI/ca.pem
resolve = $CLOUD_NAME=$CLOUD_IP

[tls_server]
listen = $SBC_TLS_IP:$SBC_TLS_PORT
cert_file = $PKI/sbc.pem
key_file = $PKI/sbc.key
advertised_name = $SBC_NAME

[media]
pbx_address = $PBX_IP
public_address = $PBX_IP
port_min = $B_PORT_MIN
port_max = $B_PORT_MAX
srtp_suites = AES_CM_128_HMAC_SHA1_80,AES_CM_128_HMAC_SHA1_32
timeout = 3600

[limits]
EOF
	# Limits far above what the benchmark needs; a key the build does not
	# know (older or newer than this script) is left out.
	local k
	for k in max_calls max_cps_per_source max_calls_per_source; do
		echo "$k = 100000" >>"$1"
		if ! "$TLSTRUNK_BIN" -t -c "$1" >/dev/null 2>&1; then
			sed -i "/^$k = /d" "$1"
		fi
	done
}

# sut_start SYSTEM TAG N: start it pinned to SUT_CPUS; sets SUT_PID, SUT_IP.
# N (the call count) is for the floor, which reads its N calls at start-up.
sut_start() {
	local sys=$1 tag=$2 n=$3 comm want port
	case $sys in
	tlstrunk)
		require_free_port udp "$PBX_IP" "$SBC_PBX_PORT"
		require_free_port tcp "$SBC_TLS_IP" "$SBC_TLS_PORT"
		local -a stamp=()
		if [ -n "$SUT_EXEC_STAMP" ]; then
			# bash's clock, no fork: the last thing before the exec
			# (same pid, pinned already)
			# shellcheck disable=SC2016
			stamp=(bash -c 't=$EPOCHREALTIME; echo "${t//[.,]/}000" >"$0"; exec "$@"' "$SUT_EXEC_STAMP")
		fi
		spawn "$WORK/tlstrunk-$tag.log" taskset -c "$SUT_CPUS" "${stamp[@]}" "$TLSTRUNK_BIN" \
			-c "${SUT_INI:-$WORK/tlstrunk.ini}"
		SUT_PID=$SPAWNED_PID
		SUT_IP=$PBX_IP
		wait_port udp "$PBX_IP" "$SBC_PBX_PORT" 15 "$SUT_PID" ||
			fail "tlstrunk did not start (see $WORK/tlstrunk-$tag.log)"
		SUT_UP_NS=$(epoch_ns)
		;;
	rtpengine)
		require_free_port udp "$B_RTPE_IP" "$B_RTPE_NG"
		spawn "$WORK/rtpengine-$tag.log" taskset -c "$SUT_CPUS" rtpengine \
			--config-file=none --table=-1 --foreground --log-stderr --log-level=5 \
			--interface="$B_RTPE_IP" --listen-ng="$B_RTPE_IP:$B_RTPE_NG" \
			--port-min="$B_PORT_MIN" --port-max="$B_PORT_MAX" \
			--num-threads="$RTPE_THREADS" --timeout=3600 --silent-timeout=3600 \
			--no-redis-required
		SUT_PID=$SPAWNED_PID
		SUT_IP=$B_RTPE_IP
		wait_port udp "$B_RTPE_IP" "$B_RTPE_NG" 30 "$SUT_PID" ||
			fail "rtpengine did not start (see $WORK/rtpengine-$tag.log)"
		;;
	floor | floor_uring | floor_sqpoll)
		# null_relay binds call i's legs at B_PORT_MIN + 4i (PBX) and
		# + 4i + 2 (cloud) before it serves; sut_calls hands the same
		# file to media_load.
		local fip=$B_FLOOR_IP
		local -a io=()
		case $sys in
		floor_uring) fip=$B_FLOOR_URING_IP io=(--io uring --register) ;;
		floor_sqpoll) fip=$B_FLOOR_SQPOLL_IP io=(--io uring-sqpoll --register) ;;
		esac
		# An io_uring's sockets are closed by the kernel's teardown of
		# the ring, a little after the process is reaped (tens of ms,
		# registered files): the last step's must all be gone.
		for _ in $(seq 1 100); do
			[ -n "$(ss -Hlnu src "$fip" 2>/dev/null | head -1)" ] || break
			sleep 0.1
		done
		require_free_port udp "$fip" "$B_PORT_MIN"
		FLOOR_CALLS=$WORK/$sys-$tag.relay.calls
		"$NULL_RELAY" --make-calls "$n" --out "$FLOOR_CALLS" --ip "$fip" \
			--port-base "$B_PORT_MIN" --pbx-ep-ip "$B_PBX_EP" --cloud-ep-ip "$B_CLOUD_EP" \
			--ep-base "$B_EP_BASE"
		spawn "$WORK/$sys-$tag.log" taskset -c "$SUT_CPUS" "$NULL_RELAY" \
			--calls-file "$FLOOR_CALLS" "${io[@]}"
		SUT_PID=$SPAWNED_PID
		SUT_IP=$fip
		# its last socket: all are bound
		wait_port udp "$fip" $((B_PORT_MIN + 4 * (n - 1) + 2)) 15 "$SUT_PID" ||
			fail "null_relay did not start (see $WORK/$sys-$tag.log): $(tail -n 2 "$WORK/$sys-$tag.log")"
		;;
	esac
	want=$sys
	! is_floor "$sys" || want=null_relay
	comm=$(cat "/proc/$SUT_PID/comm" 2>/dev/null || true)
	[ "$comm" = "$want" ] || fail "pid $SUT_PID is '$comm', not $want"
	# The port it listens on must be its own (not a leftover's).
	case $sys in
	tlstrunk) port=$SBC_PBX_PORT ;;
	rtpengine) port=$B_RTPE_NG ;;
	floor | floor_uring | floor_sqpoll) port=$B_PORT_MIN ;;
	esac
	ss -Hlnup 2>/dev/null | grep -F "$SUT_IP:$port " | grep -q "pid=$SUT_PID," ||
		fail "$SUT_IP:$port is not held by the $sys we started (pid $SUT_PID): $(ss -Hlnup | grep -F "$SUT_IP:$port " | head -1)"
	sleep 0.5
}

# sut_stop: it has served its purpose; no graceful shutdown (tlstrunk would
# drain its calls), just gone, by its own pid/group.
sut_stop() {
	[ -n "$SUT_PID" ] || return 0
	kill -KILL -- "-$SUT_PID" 2>/dev/null || kill -KILL "$SUT_PID" 2>/dev/null || true
	wait "$SUT_PID" 2>/dev/null || true
	SUT_PID=
}

# sut_calls SYSTEM N FILE: set up N calls; the calls file for media_load.
sut_calls() {
	local sys=$1 n=$2 out=$3 rc=0
	case $sys in
	tlstrunk)
		timeout -k 5 $((n / 50 + 60)) "$PYTHON" "$BENCH_DIR/media_sip.py" --calls "$n" \
			--sut "$PBX_IP:$SBC_PBX_PORT" --uac "$PBX_IP:$B_UAC_PORT" \
			--uas "$UAS_IP:$UAS_PORT" --pbx-media-ip "$B_PBX_EP" \
			--cloud-media-ip "$B_CLOUD_EP" --port-base "$B_EP_BASE" \
			--rate "$SIP_RATE" --timeout $((n / 50 + 30)) --out "$out" || rc=$?
		;;
	rtpengine)
		timeout -k 5 $((n / 50 + 60)) "$PYTHON" "$BENCH_DIR/media_ng.py" --calls "$n" \
			--ng "$B_RTPE_IP:$B_RTPE_NG" --pbx-media-ip "$B_PBX_EP" \
			--cloud-media-ip "$B_CLOUD_EP" --port-base "$B_EP_BASE" --out "$out" || rc=$?
		;;
	floor | floor_uring | floor_sqpoll)
		# made in sut_start (null_relay had to read it before serving)
		cp "$FLOOR_CALLS" "$out" || rc=$?
		;;
	esac
	return "$rc"
}

# --- one step -----------------------------------------------------------------------

# step SYSTEM N TAG [TICK_US]: fresh relay, N calls, warm-up, measurement
# window; TICK_US is the generator's send granularity (default 1000: each
# stream still sends every 20 ms, but due packets leave in 1 ms bursts).
# Result in $RESULTS/SYSTEM-TAG.out (media_load's key=value lines plus the
# relay's RSS idle and after call set-up, and the verdict). STEP_VERDICT is
# "ok", "setup" (the calls could not all be set up), or what went wrong,
# joined by "+":
#   loss   a direction lost LOSS_MAX or more (dropped, failed SRTP
#          authentication, or still queued when the drain ended)
#   late   the generator did not send at the full rate (its CPU, or the
#          machine's), or its own sockets dropped
#   queue  the median latency passed 20 ms: queues were building up
#   cpu    (with another flag) the relay used 90% or more of its CPUs
# Who the limit was: see the CPU shares on the step's line and README.md.
STEP_VERDICT=
step() {
	local sys=$1 n=$2 tag=$3 tick=${4:-1000}
	local out=$RESULTS/$1-$3.out calls=$RESULTS/$1-$3.calls
	local idle setup rc=0 expect sent late full lossy plain=
	! is_floor "$sys" || plain=1		# the floors forward plain RTP both ways
	sut_start "$sys" "$tag" "$n"
	idle=$(awk '/^VmRSS:/ {print $2}' "/proc/$SUT_PID/status")
	if ! sut_calls "$sys" "$n" "$calls" 2>"$RESULTS/$sys-$tag.setup.log"; then
		cat "$RESULTS/$sys-$tag.setup.log" >&2
		sut_stop
		{ echo "calls=$n"; echo "verdict=setup"; } >"$out"
		STEP_VERDICT=setup
		say "$sys $n calls: call set-up failed"
		return 0
	fi
	setup=$(awk '/^VmRSS:/ {print $2}' "/proc/$SUT_PID/status")
	taskset -c "$LOAD_CPUS" "$LOADGEN" --calls-file "$calls" --warmup "$WARMUP" \
		--measure "$MEASURE" --tick-us "$tick" --sut-pid "$SUT_PID" --sut-ip "$SUT_IP" \
		${plain:+--plain} >"$out" 2>"$RESULTS/$sys-$tag.load.log" || rc=$?
	kill -0 "$SUT_PID" 2>/dev/null || fail "$sys died during the $n-call step (see $WORK/$sys-$tag.log)"
	sut_stop
	[ "$rc" = 0 ] || fail "media_load failed (status $rc): $(tail -n 3 "$RESULTS/$sys-$tag.load.log")"
	{ echo "rss_idle_kib=$idle"; echo "rss_setup_kib=$setup"; echo "tick_us=$tick"; } >>"$out"
	# Verdict.
	expect=$(awk -v n="$(kv "$out" calls)" -v s="$(kv "$out" measure_s)" 'BEGIN { printf "%d", n * 50 * s }')
	sent=$(( $(kv "$out" fwd_sent_meas) < $(kv "$out" rev_sent_meas) ?
		$(kv "$out" fwd_sent_meas) : $(kv "$out" rev_sent_meas) ))
	late=0 full=0 lossy=0
	if fcmp "$sent < 0.995 * $expect" || [ "$(kv "$out" load_udp_drops)" != 0 ] ||
	   [ "$(kv "$out" send_fail)" != 0 ]; then
		late=1
	fi
	if fcmp "$(kv "$out" sut_cpu_frac) >= 0.9 * $SUT_NCPU"; then full=1; fi
	if fcmp "$(kv "$out" fwd_loss) >= $LOSS_MAX || $(kv "$out" rev_loss) >= $LOSS_MAX" ||
	   [ "$(( $(kv "$out" fwd_auth_fail) + $(kv "$out" fwd_bad) + $(kv "$out" rev_bad) ))" != 0 ]; then
		lossy=1
	fi
	STEP_VERDICT=
	[ "$lossy" = 0 ] || STEP_VERDICT+=+loss
	[ "$late" = 0 ] || STEP_VERDICT+=+late
	if fcmp "$(kv "$out" lat_p50_us) > 20000"; then STEP_VERDICT+=+queue; fi
	[ "$full" = 0 ] || STEP_VERDICT+=+cpu
	STEP_VERDICT=${STEP_VERDICT#+}
	# A relay near 100% of its CPUs is only a remark when all else is fine.
	[ -n "$STEP_VERDICT" ] && [ "$STEP_VERDICT" != cpu ] || STEP_VERDICT=ok
	echo "verdict=$STEP_VERDICT" >>"$out"
	step_line "$sys" "$out" >&2
}

# step_line SYSTEM FILE: one line per step.
step_line() {
	awk -F= -v sys="$1" -v ncpu="$SUT_NCPU" '{ v[$1] = substr($0, length($1) + 2) }
		END {
			fl = "RTP->SRTP"; rl = "SRTP->RTP"
			if (sys ~ /^floor/) { fl = "PBX->cloud"; rl = "cloud->PBX" }	# plain both ways
			printf "  %-12s %5d calls: %s %6d pps loss %.3f%%, %s %6d pps loss %.3f%%, " \
			    "relay %.2f CPU-s/Mpkt (%.0f%% of %d CPU), gen %.0f%%, lat p50 %.0f p99 %.0f us, " \
			    "rss %d/%d/%d KiB, relay drops %d -> %s\n",
			    sys, v["calls"], fl, v["fwd_pps"], v["fwd_loss"] * 100, rl, v["rev_pps"], v["rev_loss"] * 100,
			    v["sut_cpu_s_per_mpkt"], v["sut_cpu_frac"] * 100 / ncpu, ncpu,
			    v["load_cpu_frac"] * 100, v["lat_p50_us"], v["lat_p99_us"],
			    v["rss_idle_kib"], v["rss_setup_kib"], v["sut_rss_kib"], v["sut_udp_drops"],
			    v["verdict"]
		}' "$2"
}

# --- the run -------------------------------------------------------------------------
declare -A LAST_OK=() FIRST_BAD=() BAD_WHY=() DONE=() FIRST_OK=() LAT_N=()

say "tlstrunk: $TREE; rtpengine $(rtpengine --version 2>&1 | awk '{print $2}') with $RTPE_THREADS thread(s)"
say "relay pinned to CPU(s) $SUT_CPUS, generator to CPU(s) $LOAD_CPUS; ladder $LADDER calls; warm-up $WARMUP s, window $MEASURE s"
# Everything else this script starts from here on (samplers, SIP and ng
# drivers, the stand-in cloud below) stays on the generator's CPUs too:
# the stand-in cloud took 7% of the relay's CPU in tlstrunk's windows
# (perf), which rtpengine's steps did not have to share.
taskset -p -c "$LOAD_CPUS" $$ >/dev/null
say "work directory $WORK; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# The machine: how late a timer wakes on the relay's CPU, and how much of
# each CPU a busy process really gets (the rest goes to other processes, or
# to the host when the virtual machine is held back).
machine_line() {
	awk -v s="$(kv "$RESULTS/stall-sut.out" stalled_frac)" -v m="$(kv "$RESULTS/stall-sut.out" stall_max_ms)" \
	    -v g="$(kv "$RESULTS/stall-load.out" stalled_frac)" -v gm="$(kv "$RESULTS/stall-load.out" stall_max_ms)" \
	    'BEGIN { printf "a spinning process got %.0f%% of the relay CPU (longest gap %.1f ms) and %.0f%% of the generator CPU (%.1f ms)", \
	        (1 - s) * 100, m, (1 - g) * 100, gm }'
}
taskset -c "$SUT_CPUS" "$LOADGEN" --jitter 3 >"$RESULTS/jitter.out"
taskset -c "$LOAD_CPUS" "$LOADGEN" --stall 3 >"$RESULTS/stall-load.out" &
taskset -c "$SUT_CPUS" "$LOADGEN" --stall 3 >"$RESULTS/stall-sut.out"
wait $!
say "machine: a 1 ms timer on the relay's CPU wakes late by p50/p99/max $(kv "$RESULTS/jitter.out" wake_late_p50_us)/$(kv "$RESULTS/jitter.out" wake_late_p99_us)/$(kv "$RESULTS/jitter.out" wake_late_max_us) us; $(machine_line)"

if [[ " $SYSTEMS " == *" tlstrunk "* ]]; then
	require_tlstrunk
	write_tlstrunk_bench_config "$WORK/tlstrunk.ini"
	"$TLSTRUNK_BIN" -t -c "$WORK/tlstrunk.ini" >"$WORK/tlstrunk-check.log" 2>&1 ||
		fail "tlstrunk rejects the benchmark config: $(tail -n 2 "$WORK/tlstrunk-check.log")"
	start_kamailio
fi

record() {
	local sys=$1 n=$2
	case $STEP_VERDICT in
	ok)
		if [ -z "${LAST_OK[$sys]:-}" ] || [ "$n" -gt "${LAST_OK[$sys]}" ]; then LAST_OK[$sys]=$n; fi
		if [ -z "${FIRST_OK[$sys]:-}" ] || [ "$n" -lt "${FIRST_OK[$sys]}" ]; then FIRST_OK[$sys]=$n; fi
		;;
	*)
		if [ -z "${FIRST_BAD[$sys]:-}" ] || [ "$n" -lt "${FIRST_BAD[$sys]}" ]; then
			FIRST_BAD[$sys]=$n
			BAD_WHY[$sys]=$STEP_VERDICT
		fi
		DONE[$sys]=1
		;;
	esac
}

# Up the ladder, the systems side by side (one step each, in turn, so that
# both see the machine in the same state).
for n in $LADDER; do
	for sys in $SYSTEMS; do
		[ -z "${DONE[$sys]:-}" ] || continue
		step "$sys" "$n" "$n"
		record "$sys" "$n"
	done
done

# Narrow down between the last good and the first bad count (when the relay,
# not the generator, was the limit).
for sys in $SYSTEMS; do
	for _ in $(seq 1 "$BISECT"); do
		lo=${LAST_OK[$sys]:-0}
		hi=${FIRST_BAD[$sys]:-}
		[ -n "${BAD_WHY[$sys]:-}" ] && [ "${BAD_WHY[$sys]}" != setup ] || break
		mid=$(( (lo + hi) / 2 / 10 * 10 ))
		[ "$mid" -gt "$lo" ] && [ "$mid" -lt "$hi" ] || break
		step "$sys" "$mid" "$mid"
		if [ "$STEP_VERDICT" = ok ]; then
			LAST_OK[$sys]=$mid
		elif [ "$STEP_VERDICT" = setup ]; then
			break
		else
			FIRST_BAD[$sys]=$mid
			BAD_WHY[$sys]=$STEP_VERDICT
		fi
	done
done

# Equal load: the largest ladder step every relay passed, and the smallest
# (the floor's steps do not move them). Sets COMMON and LIGHT.
equal_loads() {
	local n all sys
	COMMON= LIGHT=
	for n in $LADDER; do
		all=1
		for sys in $CMP_SYSTEMS; do
			[ "$(kv "$RESULTS/$sys-$n.out" verdict)" = ok ] || all=0
		done
		if [ "$all" = 1 ]; then
			COMMON=$n
			[ -n "$LIGHT" ] || LIGHT=$n
		fi
	done
}

# More rounds at the equal loads: one step per system in turn, so that a
# round's systems see the machine in the same state; the table takes the
# median of each system and shows every round's ratio. PAIRS_AT: at those
# counts instead (a system that had no step there, e.g. past its maximum,
# is left out).
equal_loads
for r in $(seq 1 "$PAIRS"); do
	for n in $(printf '%s\n' ${PAIRS_AT:-$LIGHT $COMMON} | sort -un); do
		for sys in $SYSTEMS; do
			[ -f "$RESULTS/$sys-$n.out" ] || continue
			step "$sys" "$n" "${n}r$r"
		done
	done
done

# Latency at half the maximum rate, packets sent at their own time (fine tick).
# The floors at tlstrunk's count when tlstrunk has one (the same load, so
# that the two compare), else at the epoll floor's half maximum when it runs
# (the floors side by side at one load), else at half their own maximum.
for sys in $SYSTEMS; do
	[ -n "${LAST_OK[$sys]:-}" ] || continue
	half=$(( (LAST_OK[$sys] / 2 + 5) / 10 * 10 ))
	[ "$half" -ge 10 ] || half=10
	LAT_N[$sys]=$half
done
lat_floor=${LAT_N[tlstrunk]:-${LAT_N[floor]:-}}
for sys in $ALL_FLOORS; do
	if [ -n "${LAT_N[$sys]:-}" ] && [ -n "$lat_floor" ]; then
		LAT_N[$sys]=$lat_floor
	fi
done
for sys in $SYSTEMS; do
	[ -n "${LAT_N[$sys]:-}" ] || continue
	step "$sys" "${LAT_N[$sys]}" "lat${LAT_N[$sys]}" "$LAT_TICK_US"
done
# The generator and the kernel alone (endpoints talking straight to each
# other, plain) at the larger of the relays' rates: the floor of the latency.
base_n=0
for sys in $CMP_SYSTEMS; do
	if [ "${LAT_N[$sys]:-0}" -gt "$base_n" ]; then base_n=${LAT_N[$sys]}; fi
done
if [ "$base_n" -gt 0 ]; then
	taskset -c "$LOAD_CPUS" "$LOADGEN" --direct "$base_n" --direct-ips "$B_PBX_EP,$B_CLOUD_EP" \
		--direct-base "$B_EP_BASE" --warmup "$WARMUP" --measure "$MEASURE" \
		--tick-us "$LAT_TICK_US" >"$RESULTS/direct-$base_n.out"
fi

# --- restart (RESTART_CALLS, issue 15) ------------------------------------------------
# tlstrunk with [state]: N calls, the load on (media_load --gaps), kill -9
# RESTART_AT s into it, the same config started again at once (same
# addresses and relay ports: it restores the calls from Redis before it
# listens), the load runs on to the end of its window. The figure: when the
# last of the 2N streams had packets again after its largest gap, from the
# moment the new process was exec'd (both CLOCK_REALTIME; the generator's
# from the kernel's arrival timestamps).
REDIS_SOCK=$WORK/redis.sock
RESTART_PREFIX=bench:
RESTART_ADMIN=$PBX_IP:25095

restart_redis_start() {
	if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
		fail "RESTART_CALLS needs redis-server and redis-cli (apt-get install redis-server)"
	fi
	spawn "$WORK/redis.log" redis-server --port 0 --unixsocket "$REDIS_SOCK" \
		--unixsocketperm 700 --save '' --appendonly no
	for _ in $(seq 1 50); do
		[ -S "$REDIS_SOCK" ] && redis-cli -s "$REDIS_SOCK" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "redis-server did not start: $(tail -n 3 "$WORK/redis.log")"
}

# restart_config: the benchmark's config with [state] and the admin
# listener (for /metrics).
restart_config() {
	local cfg=$WORK/tlstrunk-state.ini
	sed "s|^admin_listen =.*|admin_listen = $RESTART_ADMIN|" "$WORK/tlstrunk.ini" >"$cfg"
	printf '\n[state]\nredis = %s\nkey_prefix = %s\nnode = bench\n' "$REDIS_SOCK" "$RESTART_PREFIX" >>"$cfg"
	"$TLSTRUNK_BIN" -t -c "$cfg" >"$WORK/tlstrunk-state-check.log" 2>&1 ||
		fail "tlstrunk rejects the restart config: $(tail -n 2 "$WORK/tlstrunk-state-check.log")"
	SUT_INI=$cfg
}

# metric NAME: its value from the admin listener ("" without curl or it).
metric() {
	command -v curl >/dev/null || return 0
	curl -s -m 5 "http://$RESTART_ADMIN/metrics" 2>/dev/null | awk -v m="$1" '$1 == m { print $2; exit }' || true
}

# restart_step N: result in $RESULTS/restart-N.out (media_load's lines with
# --gaps, then the restart's own: times, what the new process restored).
restart_step() {
	local n=$1 tag=restart$1 out=$RESULTS/restart-$1.out calls=$RESULTS/restart-$1.calls
	local lpid rc=0 recs=0 t_kill t_up t_exec line ts
	redis-cli -s "$REDIS_SOCK" flushall >/dev/null
	sut_start tlstrunk "$tag" "$n"
	if ! sut_calls tlstrunk "$n" "$calls" 2>"$RESULTS/$tag.setup.log"; then
		cat "$RESULTS/$tag.setup.log" >&2
		sut_stop
		{ echo "calls=$n"; echo "verdict=setup"; } >"$out"
		say "restart, $n calls: call set-up failed"
		return 0
	fi
	# Every call in Redis (written on the next state tick after the answer).
	for _ in $(seq 1 $((100 + n / 10))); do
		recs=$(redis-cli -s "$REDIS_SOCK" --scan --pattern "${RESTART_PREFIX}call:*" | wc -l)
		[ "$recs" -lt "$n" ] || break
		sleep 0.1
	done
	if [ "$recs" -lt "$n" ]; then
		say "restart, $n calls: only $recs call records in Redis; tlstrunk: $(grep -a 'state: ' "$WORK/tlstrunk-$tag.log" | tail -n 2 | tr '\n' ' ')"
	fi
	taskset -c "$LOAD_CPUS" "$LOADGEN" --calls-file "$calls" --warmup "$RESTART_WARMUP" \
		--measure "$RESTART_MEASURE" --tick-us 1000 --sut-ip "$SUT_IP" --gaps \
		>"$out" 2>"$RESULTS/$tag.load.log" &
	lpid=$!
	sleep "$RESTART_AT"
	kill -0 "$SUT_PID" 2>/dev/null || fail "tlstrunk died before the restart (see $WORK/tlstrunk-$tag.log)"
	# kill -9 (sut_stop: SIGKILL to its group, reaped), then at once again.
	t_kill=$(epoch_ns)
	sut_stop
	SUT_EXEC_STAMP=$WORK/$tag.exec_ns
	rm -f "$SUT_EXEC_STAMP"
	sut_start tlstrunk "$tag-2" "$n"
	t_up=$SUT_UP_NS
	SUT_EXEC_STAMP=
	wait "$lpid" || rc=$?
	[ "$rc" = 0 ] || fail "media_load failed (status $rc): $(tail -n 3 "$RESULTS/$tag.load.log")"
	t_exec=$(cat "$WORK/$tag.exec_ns")
	{
		echo "records_before=$recs"
		echo "restart_kill_ns=$t_kill"
		echo "restart_exec_ns=$t_exec"
		echo "restart_listening_ns=$t_up"
		# "state: N call(s) restored, F failed, S record(s) skipped",
		# and when (the log's UTC ms timestamp)
		line=$(grep -aE 'state: [0-9]+ call\(s\) restored' "$WORK/tlstrunk-$tag-2.log" | head -1 || true)
		if [ -n "$line" ]; then
			echo "log_restored=$(sed -E 's/.*state: ([0-9]+) call.*/\1/' <<<"$line")"
			echo "log_restore_failed=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")"
			echo "log_records_skipped=$(sed -E 's/.* ([0-9]+) record\(s\) skipped.*/\1/' <<<"$line")"
			ts=$(date -u -d "${line%% *}" +%s%N 2>/dev/null || true)
			[ -z "$ts" ] || echo "log_restored_ns=$ts"
		fi
		echo "metric_restored=$(metric tlstrunk_state_calls_restored_total)"
		echo "metric_restore_failed=$(metric tlstrunk_state_restore_failures_total)"
		echo "metric_records_skipped=$(metric tlstrunk_state_records_skipped_total)"
	} >>"$out"
	kill -0 "$SUT_PID" 2>/dev/null || fail "the restarted tlstrunk died (see $WORK/tlstrunk-$tag-2.log)"
	sut_stop
	say "restart, $n calls: $(restart_line "$out")"
}

# restart_line FILE: the figure (a line), then how it came about (a
# second line, indented).
restart_line() {
	awk -F= -v wu="$RESTART_WARMUP" '{ v[$1] = substr($0, length($1) + 2) }
		function ms(t) { return (t - v["restart_exec_ns"]) / 1e6 }
		function val(k) { return v[k] != "" ? v[k] : "?" }
		function at(k) { return v[k] + 0 > 0 ? sprintf("%.0f", ms(v[k])) : "-" }
		END {
			if (v["verdict"] == "setup") { printf "call set-up failed\n"; exit }
			split(v["streams_resumed"], r, "/")
			if (r[1] == 0)
				printf "audio NOT back in any of the %d streams by the end of the window (%.0f ms after the new process was exec\x27d)", \
				    r[2], ms(v["window_end_ns"])
			else
				printf "audio back in %s %d streams %.0f ms after the new process was exec\x27d (p50 %.0f ms)", \
				    r[1] == r[2] ? "all" : "ONLY " r[1] " of", r[2], ms(v["gap_end_max_ns"]), ms(v["gap_end_p50_ns"])
			printf ", longest gap %.0f ms; calls restored %s of %d (log), %s (/metrics)\n", \
			    v["gap_max_ms"], val("log_restored"), v["calls"], val("metric_restored")
			printf "    first stream back %s ms, last RTP->SRTP %s ms, last SRTP->RTP %s ms after the exec; gap p50 %.0f ms; " \
			    "killed %.1f s into the load, exec\x27d %.0f ms after the kill, listening %.0f ms after the exec; " \
			    "log: %s restored, %s failed, %s record(s) skipped%s; %s of %d call records in Redis before the kill\n",
			    at("gap_end_min_ns"), at("fwd_gap_end_max_ns"), at("rev_gap_end_max_ns"), v["gap_p50_ms"],
			    (v["restart_kill_ns"] - (v["window_end_ns"] - v["measure_s"] * 1e9 - wu * 1e9)) / 1e9,
			    (v["restart_exec_ns"] - v["restart_kill_ns"]) / 1e6, ms(v["restart_listening_ns"]),
			    val("log_restored"), val("log_restore_failed"), val("log_records_skipped"),
			    v["log_restored_ns"] != "" ? sprintf(" (that line %.0f ms after the exec)", ms(v["log_restored_ns"])) : "",
			    val("records_before"), v["calls"]
		}' "$1"
}

RESTART_N=
if [ -n "$RESTART_CALLS" ]; then
	if [[ " $SYSTEMS " == *" tlstrunk "* ]]; then
		restart_redis_start
		restart_config
		say "restart: tlstrunk with [state] ($REDIS_SOCK), kill -9 ${RESTART_AT} s into the load (warm-up $RESTART_WARMUP s, window $RESTART_MEASURE s)"
		for n in $RESTART_CALLS; do
			restart_step "$n"
			RESTART_N+=" $n"
		done
		SUT_INI=
	else
		say "RESTART_CALLS: tlstrunk is not in SYSTEMS, no restart step"
	fi
fi
stop_kamailio

# --- the table ---------------------------------------------------------------------------
# (equal_loads ran before the extra rounds; those and the latency steps
# write other files than the ladder's, so COMMON and LIGHT still hold.)
common=$COMMON
light=$LIGHT

# cpu_at SYS N: the median CPU s per 1M packets of SYS's good steps at N
# calls (the ladder's and the extra rounds'), and how many there were.
cpu_at() {
	local f vals=()
	for f in "$RESULTS/$1-$2.out" "$RESULTS/$1-$2"r*.out; do
		[ -f "$f" ] && [ "$(kv "$f" verdict)" = ok ] || continue
		vals+=("$(kv "$f" sut_cpu_s_per_mpkt)")
	done
	[ ${#vals[@]} -gt 0 ] || { echo "- 0"; return 0; }
	printf '%s\n' "${vals[@]}" | sort -g | awk '{ v[NR] = $1 }
		END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f %d\n", m, NR }'
}
# round_ratios N: rtpengine/tlstrunk CPU per packet in each round at N
# calls where both were good, as "min-max over K rounds".
round_ratios() {
	local tag a b rs=()
	for tag in "$1" $(seq -f "$1r%g" 1 "$PAIRS"); do
		a=$RESULTS/rtpengine-$tag.out b=$RESULTS/tlstrunk-$tag.out
		[ -f "$a" ] && [ -f "$b" ] && [ "$(kv "$a" verdict)" = ok ] && [ "$(kv "$b" verdict)" = ok ] || continue
		rs+=("$(awk -v x="$(kv "$a" sut_cpu_s_per_mpkt)" -v y="$(kv "$b" sut_cpu_s_per_mpkt)" 'BEGIN { printf "%.2f", x / y }')")
	done
	[ ${#rs[@]} -gt 0 ] || { echo -; return 0; }
	printf '%s\n' "${rs[@]}" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2fx-%.2fx over %d round(s)\n", v[1], v[NR], NR }'
}

# pps_per_cpu S: packets/s per CPU-second from CPU seconds per 1M packets.
pps_per_cpu() { awk -v c="$1" 'BEGIN { if (c + 0 > 0) printf "%.0f", 1e6 / c; else printf "-" }'; }
# floor_cpu N: the floor's median CPU s per 1M packets at N calls ("-" when
# it had no good step there).
floor_cpu() {
	local m
	m=$(cpu_at floor "$1")
	echo "${m% *}"
}
# ratio A B: A/B as "1.23x", or "-".
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else printf "-" }'; }
# med: the median of the numbers on stdin, rounded.
med() { sort -g | awk '{ v[NR] = $1 } END { printf "%.0f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# lat_at SYS N: the medians of p50 and of p99 over SYS's good steps at N
# calls (the ladder's and the extra rounds'), "p50 / p99".
lat_at() {
	local f p50=() p99=()
	for f in "$RESULTS/$1-$2.out" "$RESULTS/$1-$2"r*.out; do
		[ -f "$f" ] && [ "$(kv "$f" verdict)" = ok ] || continue
		p50+=("$(kv "$f" lat_p50_us)") p99+=("$(kv "$f" lat_p99_us)")
	done
	[ ${#p50[@]} -gt 0 ] || { echo -; return 0; }
	echo "$(printf '%s\n' "${p50[@]}" | med) / $(printf '%s\n' "${p99[@]}" | med)"
}
# ratios_of A B N: A/B CPU per packet in each round at N calls where both
# were good (the ladder's step is round 0), as "min-max over K round(s)".
ratios_of() {
	local tag a b rs=()
	for tag in "$3" $(seq -f "$3r%g" 1 "$PAIRS"); do
		a=$RESULTS/$1-$tag.out b=$RESULTS/$2-$tag.out
		[ -f "$a" ] && [ -f "$b" ] && [ "$(kv "$a" verdict)" = ok ] && [ "$(kv "$b" verdict)" = ok ] || continue
		rs+=("$(awk -v x="$(kv "$a" sut_cpu_s_per_mpkt)" -v y="$(kv "$b" sut_cpu_s_per_mpkt)" 'BEGIN { printf "%.2f", x / y }')")
	done
	[ ${#rs[@]} -gt 0 ] || { echo -; return 0; }
	printf '%s\n' "${rs[@]}" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2fx-%.2fx over %d round(s)", v[1], v[NR], NR }'
}

declare -A F=()
for sys in $SYSTEMS; do
	mx=${LAST_OK[$sys]:-}
	if [ -z "$mx" ]; then
		F[$sys,max]="none (${BAD_WHY[$sys]:-?} at ${FIRST_BAD[$sys]:-?})"
		continue
	fi
	f=$RESULTS/$sys-$mx.out
	case ${BAD_WHY[$sys]:-} in
	"") F[$sys,max]=">=$mx (ladder top)" ;;
	*) F[$sys,max]="$mx (${BAD_WHY[$sys]} at ${FIRST_BAD[$sys]})" ;;
	esac
	F[$sys,fwd]=$(kv "$f" fwd_pps)
	F[$sys,rev]=$(kv "$f" rev_pps)
	F[$sys,busy]=$(awk -v c="$(kv "$f" sut_cpu_frac)" -v n="$SUT_NCPU" \
		-v u="$(kv "$f" sut_user_s)" -v s="$(kv "$f" sut_sys_s)" \
		'BEGIN { us = u + s; printf "%.0f%% (user %.0f%%)", c * 100 / n, (us > 0 ? 100 * u / us : 0) }')
	F[$sys,cpu]=$(kv "$f" sut_cpu_s_per_mpkt)
	if [ -n "$common" ]; then m=$(cpu_at "$sys" "$common"); F[$sys,ccpu]=${m% *} F[$sys,ccpun]=${m#* }; fi
	if [ -n "$light" ]; then m=$(cpu_at "$sys" "$light"); F[$sys,lcpu]=${m% *} F[$sys,lcpun]=${m#* }; fi
	lf=$RESULTS/$sys-lat${LAT_N[$sys]}.out
	F[$sys,lat]="$(kv "$lf" lat_p50_us) / $(kv "$lf" lat_p99_us)"
	F[$sys,lat999]="$(kv "$lf" lat_p999_us) / $(kv "$lf" fwd_lat_max_us)"
	F[$sys,latn]="${LAT_N[$sys]} calls, $(kv "$lf" verdict)"
	# Memory: the slope of RSS over calls between the smallest and the
	# largest good step (fixed costs cancel out); with one good step, the
	# delta over the idle process.  Then, at the max step, the delta split
	# into what the calls' set-up took (signalling, relay sockets, keys)
	# and what the media added.
	lo=${FIRST_OK[$sys]}
	F[$sys,mem]=$(awk -v r1="$(kv "$RESULTS/$sys-$lo.out" sut_rss_kib)" \
		-v n1="$lo" -v r2="$(kv "$f" sut_rss_kib)" -v n2="$mx" \
		-v i2="$(kv "$f" rss_idle_kib)" 'BEGIN {
			if (n2 > n1) printf "%.1f", (r2 - r1) / (n2 - n1);
			else printf "%.1f", (r2 - i2) / n2 }')
	F[$sys,memsplit]=$(awk -v r="$(kv "$f" sut_rss_kib)" -v i="$(kv "$f" rss_idle_kib)" \
		-v s="$(kv "$f" rss_setup_kib)" -v n="$mx" \
		'BEGIN { printf "%.1f = %.1f + %.1f", (r - i) / n, (s - i) / n, (r - s) / n }')
done

T=tlstrunk R=rtpengine
row() { printf '%-46s %-26s %-26s %-10s %s\n' "$@"; }
lf_direct=$RESULTS/direct-$base_n.out
pct() { awk -v f="$1" 'BEGIN { printf "%.1f%%", f * 100 }'; }
echo
echo "== media relay benchmark: RTP <-> SRTP (SDES AES_CM_128_HMAC_SHA1_80), G.711 20 ms, 172-byte RTP, both directions =="
echo "tlstrunk $TREE; rtpengine $(rtpengine --version 2>&1 | awk '{print $2}') userspace (--table=-1, $RTPE_THREADS thread(s))"
if [[ " $SYSTEMS " == *" floor "* ]]; then
	echo "floor: null_relay.c, the cheapest relay hop: plain RTP both legs, level-triggered epoll, one recvfrom + one sendto per packet"
fi
echo "$(nproc --all) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)); relay pinned to CPU $SUT_CPUS, generator to CPU $LOAD_CPUS; window $MEASURE s after $WARMUP s warm-up; loss limit $(awk -v l="$LOSS_MAX" 'BEGIN { print l * 100 }')%"
echo "machine: $(machine_line)"
echo
row "" "$T" "$R" "$T/$R" "target"
row "max calls sustained (50 pps each way each)" "${F[$T,max]:--}" "${F[$R,max]:--}" "" ""
row "  RTP->SRTP packets/s" "${F[$T,fwd]:--}" "${F[$R,fwd]:--}" "$(ratio "${F[$T,fwd]:-}" "${F[$R,fwd]:-}")" ""
row "  SRTP->RTP packets/s" "${F[$T,rev]:--}" "${F[$R,rev]:--}" "$(ratio "${F[$T,rev]:-}" "${F[$R,rev]:-}")" ""
row "  relay CPU busy (user share)" "${F[$T,busy]:--}" "${F[$R,busy]:--}" "" ""
row "CPU s per 1M packets (relay process)" "${F[$T,cpu]:--}" "${F[$R,cpu]:--}" "" ""
row "  packets/s per CPU-second, at max" "$(pps_per_cpu "${F[$T,cpu]:-}")" "$(pps_per_cpu "${F[$R,cpu]:-}")" "$(ratio "${F[$R,cpu]:-}" "${F[$T,cpu]:-}")" ">= 1.5x"
if [ -n "$common" ]; then
row "  packets/s per CPU-second, $common calls each" "$(pps_per_cpu "${F[$T,ccpu]:-}")" "$(pps_per_cpu "${F[$R,ccpu]:-}")" "$(ratio "${F[$R,ccpu]:-}" "${F[$T,ccpu]:-}")" ">= 1.5x"
row "    (median of $T ${F[$T,ccpun]:-0} / $R ${F[$R,ccpun]:-0} steps)" "rounds: $(round_ratios "$common")" "" "" ""
fi
if [ -n "$light" ] && [ "$light" != "$common" ]; then
row "  packets/s per CPU-second, $light calls each" "$(pps_per_cpu "${F[$T,lcpu]:-}")" "$(pps_per_cpu "${F[$R,lcpu]:-}")" "$(ratio "${F[$R,lcpu]:-}" "${F[$T,lcpu]:-}")" ""
row "    (median of $T ${F[$T,lcpun]:-0} / $R ${F[$R,lcpun]:-0} steps)" "rounds: $(round_ratios "$light")" "" "" ""
fi
if [[ " $SYSTEMS " == *" floor "* ]]; then
	if [ -n "$common" ]; then
		row "  floor (null relay hop) CPU s per 1M packets, at $common calls" "$(floor_cpu "$common")" "" "" ""
	fi
	if [ -n "$light" ] && [ "$light" != "$common" ]; then
		row "  floor (null relay hop) CPU s per 1M packets, at $light calls" "$(floor_cpu "$light")" "" "" ""
	fi
fi
row "one-way latency p50 / p99 us, half max" "${F[$T,lat]:--}" "${F[$R,lat]:--}" "" "p99 < 200"
row "  p99.9 / max us" "${F[$T,lat999]:--}" "${F[$R,lat999]:--}" "" ""
row "  at" "${F[$T,latn]:--}" "${F[$R,latn]:--}" "" ""
if [ -n "${LAT_N[floor]:-}" ]; then
	lf=$RESULTS/floor-lat${LAT_N[floor]}.out
	v=$(kv "$lf" verdict)
	[ "$v" != ok ] || v=
	row "  floor (null relay hop) latency p50 / p99 us" "$(kv "$lf" lat_p50_us) / $(kv "$lf" lat_p99_us) (${LAT_N[floor]} calls${v:+, $v})" "" "" ""
fi
if [ -f "$lf_direct" ]; then
row "  floor: generator+kernel alone, p50 / p99" "$(kv "$lf_direct" lat_p50_us) / $(kv "$lf_direct" lat_p99_us) ($base_n calls)" "" "" ""
fi
row "  1 ms timer lateness on relay CPU p50/p99/max" "$(kv "$RESULTS/jitter.out" wake_late_p50_us) / $(kv "$RESULTS/jitter.out" wake_late_p99_us) / $(kv "$RESULTS/jitter.out" wake_late_max_us)" "" "" ""
row "memory per call, KiB (RSS slope over steps)" "${F[$T,mem]:--}" "${F[$R,mem]:--}" "" "< 8"
row "  at max: total = set-up + media, KiB/call" "${F[$T,memsplit]:--}" "${F[$R,memsplit]:--}" "" ""
# The floors side by side (issue 19: is an io_uring hop cheaper than the
# recvfrom/sendto one?), with any io_uring floor in SYSTEMS.
URING_FLOORS=
for sys in $ALL_FLOORS; do [ "$sys" = floor ] || URING_FLOORS+=" $sys"; done
if [ -n "$URING_FLOORS" ]; then
	frow() { printf '%-28s' "$1"; shift; printf ' %-34s' "$@"; printf '\n'; }
	echo
	echo "floors (null_relay.c, plain RTP both legs, no crypto; relay CPU = the process's utime+stime, all its threads, SQPOLL's iou-sqp included):"
	echo "  floor        level-triggered epoll, one recvfrom + one sendto per packet"
	echo "  floor_uring  io_uring, multishot recv + provided buffer ring, a send SQE per packet, one io_uring_enter per wake-up (DEFER_TASKRUN), registered files"
	echo "  floor_sqpoll the same with an SQPOLL thread (sq_thread_idle 100 ms; shares the relay's CPU(s) $SUT_CPUS)"
	echo "  per load: CPU s per 1M packets, median of (K) good steps; latency p50 / p99 us, medians (1 ms-burst steps); x = per round vs floor"
	hdr=("calls")
	for sys in $ALL_FLOORS; do hdr+=("$sys"); done
	frow "${hdr[@]}"
	for n in $FLOOR_LOADS; do
		any=0
		for sys in $ALL_FLOORS; do [ -f "$RESULTS/$sys-$n.out" ] && any=1; done
		[ "$any" = 1 ] || continue
		c=("$n: CPU s/Mpkt") l=("   latency p50 / p99") x=("   vs floor, per round")
		for sys in $ALL_FLOORS; do
			m=$(cpu_at "$sys" "$n")
			c+=("${m% *} (${m#* })")
			l+=("$(lat_at "$sys" "$n")")
			if [ "$sys" = floor ] || [[ " $ALL_FLOORS " != *" floor "* ]]; then
				x+=("")
			else
				x+=("$(ratio "${m% *}" "$(floor_cpu "$n")") [$(ratios_of "$sys" floor "$n")]")
			fi
		done
		frow "${c[@]}"; frow "${l[@]}"; frow "${x[@]}"
	done
	c=("max calls") u=("   CPU s/Mpkt at max") l=("   latency p50 / p99 at max")
	for sys in $ALL_FLOORS; do
		c+=("${F[$sys,max]:--}")
		u+=("${F[$sys,cpu]:--}")
		mx=${LAST_OK[$sys]:-}
		if [ -n "$mx" ]; then
			l+=("$(kv "$RESULTS/$sys-$mx.out" lat_p50_us) / $(kv "$RESULTS/$sys-$mx.out" lat_p99_us) ($mx)")
		else
			l+=(-)
		fi
	done
	frow "${c[@]}"; frow "${u[@]}"; frow "${l[@]}"
	l=("latency, fine tick")
	for sys in $ALL_FLOORS; do
		lf=$RESULTS/$sys-lat${LAT_N[$sys]:-x}.out
		if [ -f "$lf" ]; then
			l+=("$(kv "$lf" lat_p50_us) / $(kv "$lf" lat_p99_us) (${LAT_N[$sys]}, $(kv "$lf" verdict))")
		else
			l+=(-)
		fi
	done
	frow "${l[@]}"
	if [[ " $ALL_FLOORS " == *" floor "* ]] && [[ " $ALL_FLOORS " == *" floor_uring "* ]]; then
		fu=$(cpu_at floor_uring "$DECIDE_AT") fe=$(cpu_at floor "$DECIDE_AT")
		if [ "${fu% *}" != - ] && [ "${fe% *}" != - ]; then
			echo "issue 19's rule at $DECIDE_AT calls: floor_uring costs $(ratio "${fu% *}" "${fe% *}") of floor's CPU per packet (medians; rounds $(ratios_of floor_uring floor "$DECIDE_AT"));" \
				"adopt io_uring only at <= 0.75x: $(awk -v a="${fu% *}" -v b="${fe% *}" 'BEGIN { print (a <= 0.75 * b ? "yes" : "no") }')"
		else
			echo "issue 19's rule at $DECIDE_AT calls: no good $DECIDE_AT-call steps of both floor and floor_uring (LADDER, PAIRS_AT)"
		fi
	fi
fi
if [ -n "$RESTART_N" ]; then
	echo
	echo "restart (kill -9 under load, the same config started again; [state] in Redis, issue 15; $RESULTS/restart-N.out):"
	for n in $RESTART_N; do
		echo "  restart with $n calls: $(restart_line "$RESULTS/restart-$n.out")"
	done
fi
echo
echo "steps ($RESULTS/SYSTEM-CALLS.out, key=value; rss = idle / after set-up / with media):"
for sys in $SYSTEMS; do
	for f in $(cd "$RESULTS" && ls "$sys"-*.out 2>/dev/null | sort -t- -k2 -n); do
		f=$RESULTS/$f
		if [ "$(kv "$f" verdict)" = setup ]; then
			echo "  $sys $(kv "$f" calls) calls: call set-up failed"
			continue
		fi
		step_line "$sys" "$f"
	done
done
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

LIB_FINISHED=1
stop_everything
if [ "$KEEP_WORK" = 1 ]; then
	say "work directory kept: $WORK"
else
	rm -rf "$WORK"
fi
exit 0
