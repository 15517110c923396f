#!/usr/bin/env bash
# sip_bench.sh - call set-up benchmark: tlstrunk against Kamailio 5.6 +
# rtpengine configured as the same sidecar (issue 7), in the same run, on the
# same loopback topology, driven by the same sipp scenarios:
#
#   sipp UAC "PBX" --udp--> system under test --TLS 1.2--> Kamailio "cloud"
#   (tests/bench/kamailio_sut/cloud.cfg.in, tls module) --udp--> sipp UAS
#
#   INVITE (SDP offer, RTP/AVP) -> [100] -> 180 -> (RING_MS) 200 (SDP answer
#   from the cloud: RTP/SAVP with one SDES crypto line) -> ACK -> pause -> BYE
#   -> 200.
#   The UAS fails a call whose offer is not RTP/SAVP with an
#   AES_CM_128_HMAC_SHA1_80 key, the PBX one whose answer is not RTP/AVP.
#
# Systems under test:
#   tlstrunk   built from this tree (RelWithDebInfo, no sanitizers), media
#              relay on (SDP rewriting, SDES key generation, relay sockets).
#   kamailio   Kamailio 5.6 (tm, rr with double Record-Route, R-URI rewrite,
#              TLS 1.2 client with the same suites) + rtpengine (userspace,
#              --table=-1) over its ng protocol: tests/bench/kamailio_sut/.
#   Both run side by side for the whole ladder (each on its own address) and
#   take turns, so that both see the machine in the same state.
#
# What it measures, for each system:
#   - the highest rate of the ladder (calls/s, each step STEP_S seconds) with
#     0 failed calls, every call completed and the rate held; the ladder
#     stops at the first failing step;
#   - CPU seconds per 1,000 calls of the system under test (utime+stime from
#     /proc/PID/stat of all its processes, rtpengine included, before and
#     after a fixed-rate step: CPU_RATE, and at its maximum rate);
#   - INVITE->180 p50/p99 seen by the PBX sipp (microseconds, from
#     gettimeofday in the scenario) at half its maximum rate, and the same
#     for the PBX sending straight to the cloud proxy (no sidecar: the floor);
#   - memory at MEM_CALLS concurrent established calls (long pause): peak of
#     the summed PSS (and RSS) of all its processes minus the idle figure of
#     a freshly started system; per call. PSS counts Kamailio's shared memory
#     once (RSS counts it in every process that touched it). Each call holds
#     4 media sockets in either system: where the open-files hard limit is
#     lower than 4 x MEM_CALLS (this sandbox: 20000, not raisable), the step
#     holds as many calls as fit, and says so.
# Each run line also shows the kernel's drops at the sidecar's SIP socket and
# the sidecar's open descriptors after the run (a leak shows there).
# One table at the end on stdout; progress on stderr. Exits 0 unless
# something could not be set up.
#
# Usage: tests/bench/sip_bench.sh           (about 15 minutes)
#        QUICK=1 tests/bench/sip_bench.sh   (about 3-4 minutes, smoke run)
#
# Knobs (environment):
#   SYSTEMS        "tlstrunk kamailio" (default), or one of them
#   RATES          the ladder, calls/s
#   STEP_S         seconds of calls per step (default 30; QUICK 10)
#   PAUSE_MS       call hold time in the rate steps (default 500)
#   RING_MS        the UAS's time from its 180 to its 200 (default 20)
#   CPU_RATE       the fixed-rate step whose CPU per call is compared (200)
#   LAT_S          seconds of the latency steps (default 30; QUICK 10)
#   MEM_CALLS      concurrent calls of the memory step (10000; QUICK 1000)
#   MEM_RATE       calls/s while building them up (250; QUICK 200)
#   CHILDREN       Kamailio UDP and TLS workers, rtpengine threads (2)
#   SUT_CPUS       taskset CPU list for the systems under test (default:
#                  all; this machine has 2)
#   LOAD_CPUS      taskset CPU list for sipp and the cloud (default: all)
#   TLSTRUNK_LOG_LEVEL  info (default) or warn
#   TLSTRUNK_BIN   tlstrunk binary to measure (skips the build)
#   TLSTRUNK_REF   git ref to build from (default: the working tree as it is)
#   BENCH_BUILD    build directory (default /tmp/tlstrunk-bench-build)
#   PROFILE=1      also record tlstrunk with perf (call graphs, dwarf) for
#                  PROFILE_S seconds (10) at PROFILE_RATE calls/s (half its
#                  max): report in the work directory, top lines printed
#   KEEP_WORK      keep the work directory (default 1)
#   STATE=1        tlstrunk keeps its calls in Redis ([state], issue 15): a
#                  redis-server on a unix socket in the work directory;
#                  the memory step also prints Redis's bytes per held call
#                  and the records' size
#   ROUTES=1       tlstrunk with a number plan (issue 17): 20 [rule]s and 50
#                  [route]s; every call is taken by the 49th route (48
#                  to_cloud routes for other numbers are tried first) and
#                  rewritten by 4 rules on the Request-URI and To and 2 on
#                  From (national and back, a regex): the cloud still sees
#                  the same number.  Compare with ROUTES=0 on the same tree
#

# Debian 12 packages (installed when missing; root needed for that):
BENCH_DEB_PACKAGES="sip-tester kamailio kamailio-tls-modules rtpengine-daemon
build-essential cmake pkg-config libssl-dev libuv1-dev libsofia-sip-ua-dev
libsrtp2-dev libinih-dev libhiredis-dev libpcre2-dev openssl iproute2 procps util-linux python3 git linux-perf"
#   sip-tester        sipp 3.6: the PBX (UAC) and the cloud's far end (UAS)
#   kamailio(+tls)    the cloud stand-in, and system under test 2
#   rtpengine-daemon  10.5, userspace only: system under test 2's media
#   linux-perf        PROFILE=1 only
#   the rest          building tlstrunk (as tests/lib.sh), taskset, ps
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
	echo "sip_bench: installing ${missing[*]}" >&2
	if [ "$(id -u)" != 0 ]; then
		echo "sip_bench: not root: apt-get install ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
bench_install

# --- settings ---------------------------------------------------------------------
: "${QUICK:=0}"
: "${SYSTEMS:=tlstrunk kamailio}"
: "${PAUSE_MS:=500}"
: "${RING_MS:=20}"
: "${CPU_RATE:=200}"
: "${CHILDREN:=2}"
: "${SUT_CPUS:=}"
: "${LOAD_CPUS:=}"
: "${TLSTRUNK_LOG_LEVEL:=info}"
: "${BENCH_BUILD:=/tmp/tlstrunk-bench-build}"
: "${PROFILE:=0}"
: "${PROFILE_S:=10}"
: "${KEEP_WORK:=1}"
: "${STATE:=0}"
: "${ROUTES:=0}"
if [ "$QUICK" = 1 ]; then
	: "${RATES:=100 200 400}"
	: "${STEP_S:=10}"
	: "${LAT_S:=10}"
	: "${MEM_CALLS:=1000}"
	: "${MEM_RATE:=200}"
else
	: "${RATES:=50 100 200 400 600 800 1000 1200 1400 1600 1800 2000 2400 2800}"
	: "${STEP_S:=30}"
	: "${LAT_S:=30}"
	: "${MEM_CALLS:=10000}"
	: "${MEM_RATE:=250}"
fi
# Seconds a call may wait for any one answer before sipp counts it failed.
RECV_TIMEOUT_MS=10000

# Loopback topology; addresses of its own, so that it can run while the
# integration tests (127.0.0.1-3) or media_bench.sh (127.0.0.21-27) run.
B_PBX_IP=127.0.0.41        # sipp UAC (the PBX)
B_PBX_PORT=35070
B_TT_IP=127.0.0.42         # tlstrunk: SIP udp, its TLS server, media
B_KS_IP=127.0.0.45         # Kamailio sidecar (udp, tls) and rtpengine
B_SUT_UDP=35060            # both sidecars' PBX-side port
B_SUT_TLS=35061
B_RTPE_NG=32223
B_CLOUD_IP=127.0.0.43      # the cloud proxy stand-in
B_CLOUD_TLS=5061
B_CLOUD_UDP=35062
B_UAS_IP=127.0.0.44        # sipp UAS behind the cloud
B_UAS_PORT=35080
# Media ports of both sidecars (4 per call: RTP+RTCP on each leg), below
# the kernel's ephemeral range (32768-60999 here) where nothing else binds;
# the memory step needs more and goes into that range.
B_PORT_MIN=10000
B_PORT_MAX=32767
B_USER=+13175550100

# --- build ------------------------------------------------------------------------
TREE=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')
if [ -z "${TLSTRUNK_BIN:-}" ] && [[ " $SYSTEMS " == *" tlstrunk "* ]]; then
	src=$ROOT
	if [ -n "${TLSTRUNK_REF:-}" ]; then
		src=$BENCH_BUILD/src
		rm -rf "$src"
		mkdir -p "$src"
		git -C "$ROOT" archive "$TLSTRUNK_REF" | tar -x -C "$src"
		TREE="$(git -C "$ROOT" rev-parse --short "$TLSTRUNK_REF") ($TLSTRUNK_REF)"
	fi
	echo "sip_bench: building tlstrunk $TREE (RelWithDebInfo, no sanitizers) in $BENCH_BUILD" >&2
	cmake -S "$src" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DTLSTRUNK_SANITIZE=OFF -DTLSTRUNK_TESTS=OFF >/dev/null
	cmake --build "$BENCH_BUILD" --target tlstrunk -j "$(nproc)" >/dev/null
	TLSTRUNK_BIN=$BENCH_BUILD/tlstrunk
elif [ -n "${TLSTRUNK_BIN:-}" ]; then
	TREE="binary $TLSTRUNK_BIN"
fi
: "${TLSTRUNK_BIN:=build/tlstrunk}"

# --- the shared test helpers (PKI, spawn/kill, waiting) ------------------------
TEST_NAME=sip_bench
# shellcheck source=tests/lib.sh
. "$ROOT/tests/lib.sh"
CLOUD_IP=$B_CLOUD_IP
CLOUD_TLS_PORT=$B_CLOUD_TLS
SBC_TLS_IP=$B_TT_IP
case $TLSTRUNK_BIN in /*) ;; *) TLSTRUNK_BIN=$ROOT/$TLSTRUNK_BIN ;; esac

test_init
# Open files: every call holds 4 media sockets in either system. Raise the
# limit as far as allowed (a sandbox may cap the hard limit, e.g. at 20000),
# and hold no more calls at once than that allows.
ulimit -n 262144 2>/dev/null || ulimit -n "$(ulimit -Hn)"
FD_MAX=$(ulimit -n)
MEM_CALLS_ASKED=$MEM_CALLS
if [ "$MEM_CALLS" -gt $(( (FD_MAX - 2000) / 4 )) ]; then
	MEM_CALLS=$(( (FD_MAX - 2000) / 4 / 500 * 500 ))
fi
STEPS=$WORK/steps
mkdir -p "$STEPS"
HZ=$(getconf CLK_TCK)

say() { echo "sip_bench: $*" >&2; }

# kv FILE KEY: the value of KEY=... in a result file ("" when absent).
kv() { awk -v k="$2" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }' "$1" 2>/dev/null || true; }
# fcmp "EXPR": awk's verdict on a float comparison.
fcmp() { awk "BEGIN { exit !($1) }"; }
# pin CPUS CMD...: taskset when CPUS is set.
pin() {
	local cpus=$1; shift
	if [ -n "$cpus" ]; then taskset -c "$cpus" "$@"; else "$@"; fi
}
pin_prefix() { [ -z "$1" ] || echo "taskset -c $1"; }

# --- /proc accounting ---------------------------------------------------------------
# session_pids SID: every process of that session (Kamailio's children).
session_pids() {
	local f rest
	for f in /proc/[0-9]*/stat; do
		{ read -r rest <"$f"; } 2>/dev/null || continue
		rest=${rest##*) }
		# shellcheck disable=SC2086
		set -- $rest
		if [ "${4:-}" = "$SID_WANT" ]; then
			f=${f#/proc/}
			echo "${f%/stat}"
		fi
	done
}
# cpu_ticks PIDS...: utime+stime summed (all threads of each process).
cpu_ticks() {
	local p total=0 rest
	for p in "$@"; do
		{ read -r rest <"/proc/$p/stat"; } 2>/dev/null || continue
		rest=${rest##*) }
		# shellcheck disable=SC2086
		set -- $rest
		total=$((total + ${12} + ${13}))
	done
	echo "$total"
}
# mem_kib PIDS...: "PSS RSS" summed, KiB.
mem_kib() {
	local p pss=0 rss=0 v
	for p in "$@"; do
		v=$(awk '/^Pss:/ { print $2; exit }' "/proc/$p/smaps_rollup" 2>/dev/null || true)
		pss=$((pss + ${v:-0}))
		v=$(awk '/^VmRSS:/ { print $2; exit }' "/proc/$p/status" 2>/dev/null || true)
		rss=$((rss + ${v:-0}))
	done
	echo "$pss $rss"
}
# sock_drops IP:PORT: datagrams the kernel dropped for that UDP socket
# (its receive buffer was full: its owner did not keep up).
sock_drops() { ss -Huanm "src $1" 2>/dev/null | sed -n 's/.*skmem:([^)]*,d\([0-9]*\)).*/\1/p' | awk '{ s += $1 } END { print s + 0 }'; }
# sut_fds PIDS...: open file descriptors, summed (a leak shows here).
sut_fds() {
	local p n=0 f
	for p in "$@"; do
		for f in /proc/"$p"/fd/*; do
			[ -e "$f" ] || [ -L "$f" ] || continue
			n=$((n + 1))
		done
	done
	echo "$n"
}
# machine_ticks: "busy total" jiffies of the whole machine.
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }
# udp_drops: the kernel's UDP receive-buffer overflows so far (all sockets).
udp_drops() { awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else { print $c["RcvbufErrors"]; exit } }' /proc/net/snmp; }

# --- rendering ------------------------------------------------------------------------
# Suites tlstrunk offers by default ([cloud] ciphers), in its order, as an
# OpenSSL list: the Kamailio sidecar gets exactly these.
SUT_CIPHERS="ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA:AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-SHA256:AES256-SHA"

# render TEMPLATE OUT WORKDIR: every @PLACEHOLDER@ of the bench configs.
render() {
	sed -e "s|@PKI@|$PKI|g" \
	    -e "s|@WORK@|$3|g" \
	    -e "s|@MPATH@|$(kamailio_mpath)|g" \
	    -e "s|@CHILDREN@|$CHILDREN|g" \
	    -e "s|@CLOUD_IP@|$B_CLOUD_IP|g" \
	    -e "s|@CLOUD_TLS_PORT@|$B_CLOUD_TLS|g" \
	    -e "s|@CLOUD_UDP_PORT@|$B_CLOUD_UDP|g" \
	    -e "s|@CLOUD_NAME@|$CLOUD_NAME|g" \
	    -e "s|@CLOUD_CERT@|cloud|g" \
	    -e "s|@UAS_ADDR@|$B_UAS_IP:$B_UAS_PORT|g" \
	    -e "s|@PBX_IP@|$B_PBX_IP|g" \
	    -e "s|@PBX_ALLOW@|127.0.0.0/8|g" \
	    -e "s|@SUT_IP@|$B_KS_IP|g" \
	    -e "s|@SUT_UDP_PORT@|$B_SUT_UDP|g" \
	    -e "s|@SUT_TLS_PORT@|$B_SUT_TLS|g" \
	    -e "s|@RTPE_NG@|$B_KS_IP:$B_RTPE_NG|g" \
	    -e "s|@TGRP@|$TGRP|g" \
	    -e "s|@TRUNK_CONTEXT@|$TRUNK_CONTEXT|g" \
	    -e "s|@SBC_NAME@|$SBC_NAME|g" \
	    -e "s|@CIPHERS@|$4|g" \
	    "$1" >"$2"
	if grep -q '@[A-Z_]*@' "$2"; then
		fail "unrendered placeholder in $2: $(grep -o '@[A-Z_]*@' "$2" | sort -u | tr '\n' ' ')"
	fi
}

# kamailio_up NAME DIR IP TLSPORT UDPPORT CPUS SHM_MB: check the config and
# start it with a private hosts file (the cloud's name -> B_CLOUD_IP). Sets
# SPAWNED_PID.
kamailio_up() {
	local name=$1 dir=$2 ip=$3 tport=$4 uport=$5 cpus=$6 shm=$7
	mkdir -p "$dir/run"
	cat >"$dir/hosts" <<EOF
127.0.0.1 localhost
$B_CLOUD_IP $CLOUD_NAME ${CLOUD_NAME/lb01/lb02}
$B_TT_IP $SBC_NAME
EOF
	with_hosts_prefix "$dir/hosts"
	require_free_port tcp "$ip" "$tport"
	require_free_port udp "$ip" "$uport"
	if ! "${HOSTS_PREFIX[@]}" kamailio -c -f "$dir/kamailio.cfg" >"$dir/check.log" 2>&1; then
		cp "$dir/check.log" "$WORK/$name.log"
		fail "kamailio ($name) rejected its configuration (see $dir/check.log)"
	fi
	# shellcheck disable=SC2046
	spawn "$WORK/$name.log" $(pin_prefix "$cpus") "${HOSTS_PREFIX[@]}" kamailio -DD -E \
		-f "$dir/kamailio.cfg" -P "$dir/run/kamailio.pid" -Y "$dir/run" -w "$dir" \
		-m "$shm" -M 16
	if ! { wait_port tcp "$ip" "$tport" 15 "$SPAWNED_PID" &&
	       wait_port udp "$ip" "$uport" 5 "$SPAWNED_PID"; }; then
		fail "kamailio ($name) did not start listening on $ip:$tport/$uport (see $WORK/$name.log)"
	fi
	sleep 0.5
}

# --- the cloud stand-in and its far end -----------------------------------------------
CLOUD_PID=
UAS_PID=
cloud_start() {
	local dir=$WORK/cloud
	mkdir -p "$dir"
	render "$BENCH_DIR/kamailio_sut/cloud.cfg.in" "$dir/kamailio.cfg" "$dir" "$CLOUD_CIPHERS"
	render "$ROOT/tests/cloud/tls.cfg.in" "$dir/tls.cfg" "$dir" "$CLOUD_CIPHERS"
	kamailio_up cloud "$dir" "$B_CLOUD_IP" "$B_CLOUD_TLS" "$B_CLOUD_UDP" "$LOAD_CPUS" 1024
	CLOUD_PID=$SPAWNED_PID
	require_free_port udp "$B_UAS_IP" "$B_UAS_PORT"
	# shellcheck disable=SC2046
	spawn "$WORK/sipp-uas.log" $(pin_prefix "$LOAD_CPUS") sipp -sf "$BENCH_DIR/sip_bench_uas.xml" \
		-i "$B_UAS_IP" -p "$B_UAS_PORT" -d "$RING_MS" -nostdin -buff_size 4194304 -max_socket 65000 \
		-trace_err -error_file "$WORK/sipp-uas.err.log" \
		-trace_stat -stf "$WORK/sipp-uas.stat.csv" -fd 5
	UAS_PID=$SPAWNED_PID
	wait_port udp "$B_UAS_IP" "$B_UAS_PORT" 5 "$UAS_PID" || fail "sipp UAS did not bind $B_UAS_IP:$B_UAS_PORT"
}

# --- systems under test ----------------------------------------------------------------
declare -A SUT_LEAD=() SUT_ADDR=() SUT_LOG=()
MEDIA_MAX=$B_PORT_MAX
N_STARTS=0
SUT_ADDR[tlstrunk]=$B_TT_IP:$B_SUT_UDP
SUT_ADDR[kamailio]=$B_KS_IP:$B_SUT_UDP
RTPE_PID=

write_tlstrunk_bench_config() {
	cat >"$1" <<EOF
[general]
log_level = $TLSTRUNK_LOG_LEVEL
admin_listen =

[pbx]
listen = $B_TT_IP:$B_SUT_UDP
transports = udp
address = $B_PBX_IP:35090
allow = 127.0.0.0/8
advertised_address = $B_TT_IP

[cloud]
hosts = $CLOUD_NAME
port = $B_CLOUD_TLS
tgrp = $TGRP
trunk_context = $TRUNK_CONTEXT
ca_file = $PKI/ca.pem
resolve = $CLOUD_NAME=$B_CLOUD_IP

[tls_server]
listen = $B_TT_IP:$B_SUT_TLS
cert_file = $PKI/sbc.pem
key_file = $PKI/sbc.key
advertised_name = $SBC_NAME

[media]
pbx_address = $B_TT_IP
public_address = $B_TT_IP
port_min = $B_PORT_MIN
port_max = $MEDIA_MAX
srtp_suites = AES_CM_128_HMAC_SHA1_80,AES_CM_128_HMAC_SHA1_32
timeout = 3600

[limits]
max_calls = 100000
max_cps_per_source = 100000
EOF
	# Newer trees limit concurrent calls per source too (default 1000).
	[ "${TT_HAS_MCPS:-1}" = 0 ] || echo "max_calls_per_source = 100000" >>"$1"
	[ "$STATE" != 1 ] || printf '\n[state]\nredis = %s\nkey_prefix = bench:\nnode = bench\n' \
		"$WORK/redis.sock" >>"$1"
	[ "$ROUTES" != 1 ] || write_number_plan >>"$1"
}

# ROUTES=1: tests/bench/number_plan.sh (20 rules, 50 routes).
# shellcheck source=tests/bench/number_plan.sh
. "$BENCH_DIR/number_plan.sh"

# STATE=1: the Redis tlstrunk keeps its calls in, started once.
state_redis_start() {
	[ "$STATE" = 1 ] || return 0
	command -v redis-server >/dev/null || fail "STATE=1 needs redis-server (apt-get install redis-server)"
	spawn "$WORK/redis.log" redis-server --port 0 --unixsocket "$WORK/redis.sock" \
		--save '' --appendonly no
	for _ in $(seq 1 50); do
		redis-cli -s "$WORK/redis.sock" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "redis-server did not start"
}

# state_sample: while the memory step holds its calls, the most records
# seen at once, Redis's used memory then, and their mean size.
state_sample() {
	local out=$1 max=0 n mem size
	# A background subshell: a pipeline cut short (head) must not fire
	# lib.sh's ERR trap here, whose cleanup would stop Redis.
	trap - ERR
	set +eE +o pipefail
	while sleep 1; do
		n=$(redis-cli -s "$WORK/redis.sock" dbsize 2>/dev/null) || continue
		[ "$n" -gt "$max" ] || continue
		max=$n
		mem=$(redis-cli -s "$WORK/redis.sock" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
		size=$(redis-cli -s "$WORK/redis.sock" --scan --count 1000 | head -200 |
			while read -r k; do redis-cli -s "$WORK/redis.sock" strlen "$k" </dev/null; done |
			awk '{ s += $1; n++ } END { if (n) printf "%d", s / n }')
		printf 'records=%s used_memory=%s record_bytes=%s\n' "$max" "$mem" "$size" >"$out"
	done
}

# sut_start SYSTEM: a fresh system; SUT_LEAD[SYSTEM] is the pid whose
# session holds all its processes (tlstrunk: the process itself).
sut_start() {
	local sys=$1 dir
	case $sys in
	tlstrunk)
		require_free_port udp "$B_TT_IP" "$B_SUT_UDP"
		require_free_port tcp "$B_TT_IP" "$B_SUT_TLS"
		write_tlstrunk_bench_config "$WORK/tlstrunk.ini"
		N_STARTS=$((N_STARTS + 1))
		SUT_LOG[tlstrunk]=$WORK/tlstrunk-$N_STARTS.log
		# shellcheck disable=SC2046
		spawn "${SUT_LOG[tlstrunk]}" $(pin_prefix "$SUT_CPUS") "$TLSTRUNK_BIN" -c "$WORK/tlstrunk.ini"
		SUT_LEAD[tlstrunk]=$SPAWNED_PID
		wait_port udp "$B_TT_IP" "$B_SUT_UDP" 15 "$SPAWNED_PID" ||
			fail "tlstrunk did not start (see ${SUT_LOG[tlstrunk]})"
		# Up means connected to the cloud.
		if [ "$TLSTRUNK_LOG_LEVEL" = info ] || [ "$TLSTRUNK_LOG_LEVEL" = debug ]; then
			wait_grep "${SUT_LOG[tlstrunk]}" 'tls conn .* up' 10 ||
				fail "tlstrunk did not connect to the cloud (see ${SUT_LOG[tlstrunk]})"
		else
			sleep 1
		fi
		;;
	kamailio)
		dir=$WORK/kamailio-sut
		mkdir -p "$dir"
		render "$BENCH_DIR/kamailio_sut/kamailio.cfg.in" "$dir/kamailio.cfg" "$dir" "$SUT_CIPHERS"
		render "$BENCH_DIR/kamailio_sut/tls.cfg.in" "$dir/tls.cfg" "$dir" "$SUT_CIPHERS"
		require_free_port udp "$B_KS_IP" "$B_RTPE_NG"
		N_STARTS=$((N_STARTS + 1))
		SUT_LOG[kamailio]=$WORK/kamailio-sut-$N_STARTS.log
		# shellcheck disable=SC2046
		spawn "$WORK/rtpengine-$N_STARTS.log" $(pin_prefix "$SUT_CPUS") rtpengine --config-file=none \
			--table=-1 --foreground --log-stderr --log-level=5 \
			--interface="$B_KS_IP" --listen-ng="$B_KS_IP:$B_RTPE_NG" \
			--port-min="$B_PORT_MIN" --port-max="$MEDIA_MAX" --num-threads="$CHILDREN" \
			--timeout=3600 --silent-timeout=3600 --delete-delay=0 --no-redis-required
		RTPE_PID=$SPAWNED_PID
		wait_port udp "$B_KS_IP" "$B_RTPE_NG" 15 "$RTPE_PID" ||
			fail "rtpengine did not start (see $WORK/rtpengine-$N_STARTS.log)"
		kamailio_up "kamailio-sut-$N_STARTS" "$dir" "$B_KS_IP" "$B_SUT_TLS" "$B_SUT_UDP" "$SUT_CPUS" 1024
		SUT_LEAD[kamailio]=$SPAWNED_PID
		;;
	esac
}

sut_stop() {
	local sys=$1
	[ -n "${SUT_LEAD[$sys]:-}" ] || return 0
	kill_group "${SUT_LEAD[$sys]}"
	SUT_LEAD[$sys]=
	if [ "$sys" = kamailio ] && [ -n "$RTPE_PID" ]; then
		kill_group "$RTPE_PID"
		RTPE_PID=
	fi
}

# sut_pids SYSTEM: every process of it.
sut_pids() {
	local lead=${SUT_LEAD[$1]:-}
	[ -n "$lead" ] || return 0
	case $1 in
	tlstrunk) echo "$lead" ;;
	kamailio)
		SID_WANT=$lead session_pids
		[ -z "$RTPE_PID" ] || echo "$RTPE_PID"
		;;
	esac
}

# sut_complaints SYSTEM: its last warnings and errors (why a step failed).
sut_complaints() {
	local f=${SUT_LOG[$1]:-}
	[ -n "$f" ] && [ -f "$f" ] || return 0
	case $1 in
	tlstrunk) grep -aE ' (warn|error) ' "$f" | tail -n 3 || true ;;
	kamailio)
		grep -aE ' (ERROR|CRITICAL|WARNING): ' "$f" | grep -v 'openssl bug #1491' | tail -n 3 || true
		grep -aE '(ERR|WARNING|CRIT)' "$WORK/rtpengine-${SUT_LOG[$1]##*-}" 2>/dev/null | tail -n 3 || true
		;;
	esac
}

sut_alive() {
	local lead=${SUT_LEAD[$1]:-}
	[ -n "$lead" ] && kill -0 "$lead" 2>/dev/null || return 1
	if [ "$1" = kamailio ]; then kill -0 "$RTPE_PID" 2>/dev/null || return 1; fi
	return 0
}

# --- one run of calls ------------------------------------------------------------------
# run_calls SYSTEM|direct TAG RATE CALLS PAUSE_MS [sipp args...]: the PBX
# places CALLS calls at RATE/s, each held PAUSE_MS, through SYSTEM (or
# straight to the cloud); results in $STEPS/TAG/result (key=value).
# MEM_SAMPLE=1 samples the system's memory every second (peak kept).
run_calls() {
	local sys=$1 tag=$2 rate=$3 calls=$4 pause=$5; shift 5
	local dir=$STEPS/$tag out target scen pids cpu0 cpu1 m0 m1 t0 t1 d0 d1 rc=0
	local limit lim_s peak_pss=0 peak_rss=0 sipp_pid m pss rss elapsed verdict
	local cl0 cl1 uas0 uas1 sd0 sd1 ud0 ud1 cd0 cd1
	mkdir -p "$dir"
	out=$dir/result
	scen=$BENCH_DIR/sip_bench_uac.xml
	if [ "$sys" = direct ]; then
		target=$B_CLOUD_IP:$B_CLOUD_UDP
		scen=$WORK/sip_bench_uac_direct.xml
		pids=()
	else
		target=${SUT_ADDR[$sys]}
		mapfile -t pids < <(sut_pids "$sys")
	fi
	# Concurrency cap well above what the rate needs, so that sipp never
	# throttles (a slow system shows as failed calls, not as a lower rate).
	limit=$(( rate * (pause / 1000 + RECV_TIMEOUT_MS / 1000 + 3) ))
	[ "$limit" -ge "$calls" ] || [ "$limit" -ge 1000 ] || limit=1000
	lim_s=$(( calls / rate + pause / 1000 + 15 + RECV_TIMEOUT_MS / 1000 ))
	cpu0=$(cpu_ticks "${pids[@]}")
	# shellcheck disable=SC2046
	cl0=$(cpu_ticks $(SID_WANT=$CLOUD_PID session_pids))
	uas0=$(cpu_ticks "$UAS_PID")
	read -r m0 _ < <(machine_ticks)
	d0=$(udp_drops)
	sd0=$(sock_drops "$target"); ud0=$(sock_drops "$B_UAS_IP:$B_UAS_PORT"); cd0=$(sock_drops "$B_CLOUD_IP:$B_CLOUD_UDP")
	t0=$(date +%s.%N)
	(
		cd "$dir"
		exec $(pin_prefix "$LOAD_CPUS") timeout -k 5 $((lim_s + 60)) sipp -sf "$scen" \
			-i "$B_PBX_IP" -p "$B_PBX_PORT" -s "$B_USER" \
			-r "$rate" -rp 1000 -m "$calls" -l "$limit" -d "$pause" \
			-recv_timeout "$RECV_TIMEOUT_MS" -nostdin -buff_size 4194304 -max_socket 65000 \
			-trace_err -error_file "$dir/err.log" \
			-trace_stat -stf "$dir/stat.csv" -fd 1 "$@" "$target"
	) </dev/null >"$dir/screen.log" 2>&1 &
	sipp_pid=$!
	LIB_PIDS+=("$sipp_pid")
	if [ "${MEM_SAMPLE:-0}" = 1 ]; then
		while kill -0 "$sipp_pid" 2>/dev/null; do
			read -r pss rss < <(mem_kib "${pids[@]}")
			[ "$pss" -le "$peak_pss" ] || peak_pss=$pss
			[ "$rss" -le "$peak_rss" ] || peak_rss=$rss
			sleep 1
		done
	fi
	wait "$sipp_pid" || rc=$?
	t1=$(date +%s.%N)
	cpu1=$(cpu_ticks "${pids[@]}")
	# shellcheck disable=SC2046
	cl1=$(cpu_ticks $(SID_WANT=$CLOUD_PID session_pids))
	uas1=$(cpu_ticks "$UAS_PID")
	read -r m1 _ < <(machine_ticks)
	d1=$(udp_drops)
	sd1=$(sock_drops "$target"); ud1=$(sock_drops "$B_UAS_IP:$B_UAS_PORT"); cd1=$(sock_drops "$B_CLOUD_IP:$B_CLOUD_UDP")
	# sipp's counters: the last line of its statistics file.
	awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		{ last = $0 }
		END {
			n = split(last, v, ";");
			printf "ok_calls=%s\nfailed_calls=%s\noutgoing_calls=%s\nretrans=%s\n",
			    v[c["SuccessfulCall(C)"]], v[c["FailedCall(C)"]],
			    v[c["OutgoingCall(C)"]], v[c["Retransmissions(C)"]]
			printf "failed_timeout=%s\nfailed_unexpected=%s\nfailed_regexp=%s\nfailed_retrans=%s\n",
			    v[c["FailedTimeoutOnRecv(C)"]], v[c["FailedUnexpectedMessage(C)"]],
			    v[c["FailedRegexpDoesntMatch(C)"]], v[c["FailedMaxUDPRetrans(C)"]]
		}' "$dir/stat.csv" >"$out" 2>/dev/null || true
	elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	{
		echo "system=$sys"
		echo "rate=$rate"
		echo "calls=$calls"
		echo "pause_ms=$pause"
		echo "sipp_rc=$rc"
		echo "elapsed_s=$elapsed"
		echo "sut_cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')"
		echo "cloud_cpu_s=$(awk -v a="$cl0" -v b="$cl1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')"
		echo "uas_cpu_s=$(awk -v a="$uas0" -v b="$uas1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')"
		echo "machine_busy=$(awk -v a="$m0" -v b="$m1" -v s="$elapsed" -v hz="$HZ" -v n="$(nproc)" 'BEGIN { printf "%.2f", (b - a) / hz / s / n }')"
		echo "udp_drops=$((d1 - d0))"
		echo "sut_sip_drops=$((sd1 - sd0))"
		echo "uas_drops=$((ud1 - ud0))"
		echo "cloud_udp_drops=$((cd1 - cd0))"
		echo "sut_procs=${#pids[@]}"
		echo "sut_fds_after=$(sut_fds "${pids[@]}")"
		if [ "${MEM_SAMPLE:-0}" = 1 ]; then
			echo "peak_pss_kib=$peak_pss"
			echo "peak_rss_kib=$peak_rss"
		fi
	} >>"$out"
	local ok failed
	ok=$(kv "$out" ok_calls); failed=$(kv "$out" failed_calls)
	echo "sut_cpu_ms_per_call=$(awk -v c="$(kv "$out" sut_cpu_s)" -v n="${ok:-0}" 'BEGIN { if (n > 0) printf "%.4f", c * 1000 / n; else print "" }')" >>"$out"
	# Verdict: every call placed and completed, none failed, and the rate
	# held (the run took no longer than the calls' schedule and their hold
	# time, with 5% and 5 s of slack).
	if [ -n "$ok" ] && [ "${failed:-1}" = 0 ] && [ "$ok" = "$calls" ] && [ "$rc" = 0 ]; then
		if fcmp "$elapsed <= $calls / $rate * 1.05 + $pause / 1000 + 5"; then
			verdict=ok
		else
			verdict=slow
		fi
	else
		verdict=failed
	fi
	if [ "$sys" != direct ] && ! sut_alive "$sys"; then
		verdict=died
	fi
	echo "verdict=$verdict" >>"$out"
	RUN_VERDICT=$verdict
	RUN_OUT=$out
}

# run_line FILE: one line per run, on stderr.
run_line() {
	awk -F= '{ v[$1] = substr($0, length($1) + 2) }
		END {
			printf "  %-8s %5d cps x %5d calls: ok %s failed %s (timeout %s unexpected %s regexp %s) retrans %s, %.1f s; " \
			    "SUT %.2f CPU-s = %.3f ms/call, cloud %.2f, UAS %.2f CPU-s, machine %.0f%% busy, udp drops %d (SUT %d, UAS %d, cloud %d), SUT fds after %s -> %s\n",
			    v["system"], v["rate"], v["calls"], v["ok_calls"], v["failed_calls"],
			    v["failed_timeout"], v["failed_unexpected"], v["failed_regexp"], v["retrans"],
			    v["elapsed_s"], v["sut_cpu_s"], v["sut_cpu_ms_per_call"], v["cloud_cpu_s"],
			    v["uas_cpu_s"], v["machine_busy"] * 100, v["udp_drops"], v["sut_sip_drops"], v["uas_drops"], v["cloud_udp_drops"], v["sut_fds_after"], v["verdict"]
		}' "$1" >&2
}

# latency_stats DIR: p50/p99/p99.9/max of the LAT lines sipp logged (us).
latency_stats() {
	local f=$1/lat.log
	[ -s "$f" ] || { echo "n=0"; return 0; }
	awk '$1 == "LAT" { print $2 + 0 }' "$f" | sort -n | awk '
		{ v[NR] = $1 }
		function pct(p,   i) { i = int(NR * p + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; return v[i] }
		END {
			if (NR == 0) { print "n=0"; exit }
			printf "n=%d\nlat_p50_us=%.0f\nlat_p99_us=%.0f\nlat_p999_us=%.0f\nlat_max_us=%.0f\n",
			    NR, pct(0.50), pct(0.99), pct(0.999), v[NR]
		}'
}

# --- the run -------------------------------------------------------------------------------
say "tlstrunk: $TREE; $(kamailio -v 2>/dev/null | sed -n 1p); rtpengine $(rtpengine --version 2>&1 | awk '{print $2}')"
say "work directory $WORK; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
say "ladder $RATES cps, $STEP_S s per step, hold $PAUSE_MS ms; latency $LAT_S s; memory $MEM_CALLS calls"
[ "$MEM_CALLS" = "$MEM_CALLS_ASKED" ] ||
	say "open files limited to $FD_MAX (hard limit; 4 media sockets per call): memory step with $MEM_CALLS calls, not $MEM_CALLS_ASKED"

# The PBX straight to the cloud: plain SDP both ways (no sidecar rewrites it).
sed -e 's|RTP/AVP 0 101|RTP/SAVP 0 101|' \
    -e 's|      a=fmtp:101 0-15|      a=fmtp:101 0-15\n      a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|' \
    -e 's|m=audio \[0-9\]+ RTP/AVP |m=audio [0-9]+ RTP/SAVP |' \
    "$BENCH_DIR/sip_bench_uac.xml" >"$WORK/sip_bench_uac_direct.xml"

cloud_start
state_redis_start
if [[ " $SYSTEMS " == *" tlstrunk "* ]]; then
	require_tlstrunk
	write_tlstrunk_bench_config "$WORK/tlstrunk.ini"
	if ! "$TLSTRUNK_BIN" -t -c "$WORK/tlstrunk.ini" >"$WORK/tlstrunk-check.log" 2>&1 &&
	   grep -q max_calls_per_source "$WORK/tlstrunk-check.log"; then
		TT_HAS_MCPS=0	# an older tree: no such key
		write_tlstrunk_bench_config "$WORK/tlstrunk.ini"
	fi
	"$TLSTRUNK_BIN" -t -c "$WORK/tlstrunk.ini" >"$WORK/tlstrunk-check.log" 2>&1 ||
		fail "tlstrunk rejects the benchmark config: $(tail -n 2 "$WORK/tlstrunk-check.log")"
fi
for sys in $SYSTEMS; do
	sut_start "$sys"
done
sleep 1

# A few calls each first: the TLS connection, caches, a sanity check.
for sys in $SYSTEMS; do
	run_calls "$sys" "warmup-$sys" 20 100 100
	[ "$RUN_VERDICT" = ok ] || { run_line "$RUN_OUT"; fail "$sys: the warm-up calls failed (see $STEPS/warmup-$sys)"; }
done

# What each costs doing nothing (timers, polling): CPU ms per second idle.
declare -A IDLE_CPU=() IDLE_T0=()
for sys in $SYSTEMS; do
	mapfile -t pids < <(sut_pids "$sys")
	IDLE_T0[$sys]=$(cpu_ticks "${pids[@]}")
done
idle_s=$([ "$QUICK" = 1 ] && echo 5 || echo 10)
sleep "$idle_s"
for sys in $SYSTEMS; do
	mapfile -t pids < <(sut_pids "$sys")
	IDLE_CPU[$sys]=$(awk -v a="${IDLE_T0[$sys]}" -v b="$(cpu_ticks "${pids[@]}")" -v hz="$HZ" -v s="$idle_s" \
		'BEGIN { printf "%.1f", (b - a) * 1000 / hz / s }')
	say "$sys idle: ${IDLE_CPU[$sys]} CPU ms per second"
done

declare -A LAST_OK=() FIRST_BAD=() STOPPED=() LAT_RATE=()
for rate in $RATES; do
	for sys in $SYSTEMS; do
		[ -z "${STOPPED[$sys]:-}" ] || continue
		sleep 2
		run_calls "$sys" "$sys-$rate" "$rate" $((rate * STEP_S)) "$PAUSE_MS"
		run_line "$RUN_OUT"
		if [ "$RUN_VERDICT" = ok ]; then
			LAST_OK[$sys]=$rate
		else
			FIRST_BAD[$sys]=$rate
			STOPPED[$sys]=1
			sut_complaints "$sys" | sed 's/^/    log: /' >&2
			if [ "$RUN_VERDICT" = died ]; then
				say "$sys died at $rate cps; restarting it"
				sut_stop "$sys"
				sut_start "$sys"
			fi
		fi
	done
done

# Latency at half the maximum rate, and the floor (no sidecar) at the same
# rate. Fresh systems: the failed step above may have left calls, sockets
# or worse behind (and an overloaded system need not recover by itself).
for sys in $SYSTEMS; do
	sut_stop "$sys"
	sut_start "$sys"
done
for sys in $SYSTEMS; do
	[ -n "${LAST_OK[$sys]:-}" ] || continue
	half=$(( LAST_OK[$sys] / 2 ))
	[ "$half" -ge 10 ] || half=10
	LAT_RATE[$sys]=$half
	sleep 5
	run_calls "$sys" "lat-$sys-$half" "$half" $((half * LAT_S)) "$PAUSE_MS" -trace_logs \
		-log_file "$STEPS/lat-$sys-$half/lat.log"
	latency_stats "$STEPS/lat-$sys-$half" >>"$RUN_OUT"
	run_line "$RUN_OUT"
	say "  $sys INVITE->180 at $half cps: p50 $(kv "$RUN_OUT" lat_p50_us) us, p99 $(kv "$RUN_OUT" lat_p99_us) us"
	if [ ! -f "$STEPS/lat-direct-$half/result" ]; then
		sleep 2
		run_calls direct "lat-direct-$half" "$half" $((half * LAT_S)) "$PAUSE_MS" -trace_logs \
			-log_file "$STEPS/lat-direct-$half/lat.log"
		latency_stats "$STEPS/lat-direct-$half" >>"$RUN_OUT"
		run_line "$RUN_OUT"
		say "  no sidecar INVITE->180 at $half cps: p50 $(kv "$RUN_OUT" lat_p50_us) us, p99 $(kv "$RUN_OUT" lat_p99_us) us"
	fi
done

# Optional: where tlstrunk spends its time, at half its maximum rate.
if [ "$PROFILE" = 1 ] && [ -n "${LAST_OK[tlstrunk]:-}" ]; then
	: "${PROFILE_RATE:=${LAT_RATE[tlstrunk]}}"
	pdir=$STEPS/profile-tlstrunk
	mkdir -p "$pdir"
	say "perf: recording tlstrunk for $PROFILE_S s at $PROFILE_RATE cps"
	( sleep 3; perf record -F 1999 --call-graph dwarf,8192 -o "$pdir/perf.data" \
		-p "${SUT_LEAD[tlstrunk]}" -- sleep "$PROFILE_S" >"$pdir/perf-record.log" 2>&1 || true ) &
	prof_pid=$!
	run_calls tlstrunk "profile-tlstrunk" "$PROFILE_RATE" $((PROFILE_RATE * (PROFILE_S + 6))) "$PAUSE_MS"
	wait "$prof_pid" || true
	# Self time by function; inclusive time by function; by thread; and
	# the call graph (callers) of the whole thing.
	perf report -i "$pdir/perf.data" --no-children --sort dso,symbol -g none \
		--percent-limit 0.3 --stdio 2>/dev/null | grep -v '^$' >"$pdir/self.txt" || true
	perf report -i "$pdir/perf.data" --children --sort symbol -g none \
		--percent-limit 1 --stdio 2>/dev/null | grep -v '^$' >"$pdir/children.txt" || true
	perf report -i "$pdir/perf.data" --no-children --sort pid -g none \
		--stdio 2>/dev/null | grep -v '^$' >"$pdir/threads.txt" || true
	perf report -i "$pdir/perf.data" --children --sort symbol -g caller,0.5,callee \
		--percent-limit 2 --stdio 2>/dev/null >"$pdir/callgraph.txt" || true
fi

# Memory: fresh systems, MEM_CALLS calls established at once (held long enough
# for the last one to be set up while the first is still up).
declare -A IDLE_PSS=() IDLE_RSS=() MEM_OUT=()
for sys in $SYSTEMS; do
	sut_stop "$sys"
done
MEDIA_MAX=$((B_PORT_MIN + 4 * MEM_CALLS + 2000))
[ "$MEDIA_MAX" -ge "$B_PORT_MAX" ] || MEDIA_MAX=$B_PORT_MAX
[ "$MEDIA_MAX" -le 65535 ] || MEDIA_MAX=65535
for sys in $SYSTEMS; do
	sut_start "$sys"
	sleep 2
	mapfile -t pids < <(sut_pids "$sys")
	read -r "IDLE_PSS[$sys]" "IDLE_RSS[$sys]" < <(mem_kib "${pids[@]}")
	mrate=$MEM_RATE
	if [ -n "${LAST_OK[$sys]:-}" ] && [ "${LAST_OK[$sys]}" -lt "$mrate" ]; then mrate=${LAST_OK[$sys]}; fi
	hold=$(( (MEM_CALLS / mrate + 10) * 1000 ))
	spid=
	if [ "$STATE" = 1 ] && [ "$sys" = tlstrunk ]; then
		redis_idle=$(redis-cli -s "$WORK/redis.sock" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
		state_sample "$WORK/state-mem.out" &
		spid=$!
	fi
	MEM_SAMPLE=1 run_calls "$sys" "mem-$sys" "$mrate" "$MEM_CALLS" "$hold"
	if [ -n "$spid" ]; then
		kill "$spid" 2>/dev/null || true
		wait "$spid" 2>/dev/null || true
		read -r rec mem size < <(sed 's/[a-z_]*=//g' "$WORK/state-mem.out" 2>/dev/null || echo "0 0 0")
		say "  redis with $rec tlstrunk call records held: $(awk -v m="$mem" -v i="$redis_idle" -v n="$rec" \
			'BEGIN { if (n > 0) printf "%.0f", (m - i) / n; else printf "-" }') bytes of used_memory per call, records $size bytes each"
	fi
	run_line "$RUN_OUT"
	MEM_OUT[$sys]=$RUN_OUT
	say "  $sys with $MEM_CALLS calls: PSS $(kv "$RUN_OUT" peak_pss_kib) KiB (idle ${IDLE_PSS[$sys]}), RSS sum $(kv "$RUN_OUT" peak_rss_kib) KiB (idle ${IDLE_RSS[$sys]})"
	sut_stop "$sys"
done

uas_failed=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { last = $0 }
	END { split(last, v, ";"); print v[c["FailedCall(C)"]] + 0 }' "$WORK/sipp-uas.stat.csv" 2>/dev/null || echo "?")

# --- the table ------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else printf "-" }'; }
ms() { awk -v u="$1" 'BEGIN { if (u == "") printf "-"; else printf "%.2f", u / 1000 }'; }
# diff_ms A B: (A - B) microseconds in ms, "-" when either is missing.
diff_ms() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") printf "-"; else printf "%.2f", (a - b) / 1000 }'; }
declare -A F=()
T=tlstrunk K=kamailio
for sys in $SYSTEMS; do
	mx=${LAST_OK[$sys]:-}
	if [ -z "$mx" ]; then
		F[$sys,max]="none (fails at ${FIRST_BAD[$sys]:-?})"
	elif [ -z "${FIRST_BAD[$sys]:-}" ]; then
		F[$sys,max]=">=$mx (ladder top)"
		F[$sys,maxn]=$mx
	else
		f=$STEPS/$sys-${FIRST_BAD[$sys]}/result
		F[$sys,max]="$mx ($(kv "$f" failed_calls) failed at ${FIRST_BAD[$sys]})"
		F[$sys,maxn]=$mx
	fi
	f=$STEPS/$sys-$CPU_RATE/result
	if [ "$(kv "$f" verdict)" = ok ]; then
		F[$sys,cpu]=$(kv "$f" sut_cpu_ms_per_call)   # ms per call = s per 1,000 calls
	fi
	if [ -n "$mx" ]; then
		f=$STEPS/$sys-$mx/result
		F[$sys,cpumax]=$(kv "$f" sut_cpu_ms_per_call)
		F[$sys,busymax]=$(awk -v b="$(kv "$f" machine_busy)" 'BEGIN { printf "%.0f%%", b * 100 }')
	fi
	if [ -n "${LAT_RATE[$sys]:-}" ]; then
		f=$STEPS/lat-$sys-${LAT_RATE[$sys]}/result
		d=$STEPS/lat-direct-${LAT_RATE[$sys]}/result
		F[$sys,lat]="$(ms "$(kv "$f" lat_p50_us)") / $(ms "$(kv "$f" lat_p99_us)")"
		F[$sys,lat50]=$(kv "$f" lat_p50_us)
		F[$sys,lat99]=$(kv "$f" lat_p99_us)
		F[$sys,latx]="$(ms "$(kv "$f" lat_p999_us)") / $(ms "$(kv "$f" lat_max_us)") @${LAT_RATE[$sys]} cps ($(kv "$f" verdict))"
		F[$sys,base]="$(ms "$(kv "$d" lat_p50_us)") / $(ms "$(kv "$d" lat_p99_us)")"
		F[$sys,added]="$(diff_ms "$(kv "$f" lat_p50_us)" "$(kv "$d" lat_p50_us)") / $(diff_ms "$(kv "$f" lat_p99_us)" "$(kv "$d" lat_p99_us)")"
	fi
	f=${MEM_OUT[$sys]:-}
	if [ -n "$f" ]; then
		F[$sys,mem]=$(awk -v p="$(kv "$f" peak_pss_kib)" -v i="${IDLE_PSS[$sys]}" 'BEGIN { printf "%.1f", (p - i) / 1024 }')
		F[$sys,memrss]=$(awk -v p="$(kv "$f" peak_rss_kib)" -v i="${IDLE_RSS[$sys]}" 'BEGIN { printf "%.1f", (p - i) / 1024 }')
		F[$sys,memcall]=$(awk -v p="$(kv "$f" peak_pss_kib)" -v i="${IDLE_PSS[$sys]}" -v n="$MEM_CALLS" 'BEGIN { printf "%.2f", (p - i) / n }')
		F[$sys,memidle]=$(awk -v i="${IDLE_PSS[$sys]}" 'BEGIN { printf "%.1f", i / 1024 }')
		F[$sys,memok]="$(kv "$f" ok_calls)/$MEM_CALLS ok @$(kv "$f" rate) cps"
	fi
done

row() { printf '%-44s %-34s %-34s %-7s %s\n' "$@"; }
echo
echo "== SIP call set-up benchmark: PBX (sipp, UDP) -> sidecar -> cloud proxy (Kamailio, TLS 1.2) -> sipp UAS =="
echo "INVITE (SDP RTP/AVP) / 100 / 180 / ${RING_MS} ms / 200 (SDP RTP/SAVP + SDES crypto) / ACK / ${PAUSE_MS} ms / BYE / 200; steps of $STEP_S s; 0 failed calls to pass"
echo "tlstrunk $TREE (log_level $TLSTRUNK_LOG_LEVEL, media relay + SDES on$([ "$STATE" = 1 ] && echo ", calls kept in Redis ([state])")$([ "$ROUTES" = 1 ] && echo ", 50 routes and 20 rules")); $(kamailio -v 2>/dev/null | sed -n 1p | awk '{print $1, $2, $3}') ($CHILDREN udp + $CHILDREN tls workers) + rtpengine $(rtpengine --version 2>&1 | awk '{print $2}') (userspace, $CHILDREN threads)"
echo "$(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)) shared by everything (sipp x2, cloud Kamailio, sidecar); SUT CPUs: ${SUT_CPUS:-all}; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
row "" "tlstrunk" "kamailio+rtpengine" "t/k" "target"
row "max call rate, 0 failed (calls/s)" "${F[$T,max]:--}" "${F[$K,max]:--}" "$(ratio "${F[$T,maxn]:-}" "${F[$K,maxn]:-}")" ">= 1.5x"
row "CPU s per 1,000 calls @$CPU_RATE cps" "${F[$T,cpu]:--}" "${F[$K,cpu]:--}" "$(ratio "${F[$T,cpu]:-}" "${F[$K,cpu]:-}")" "<= 0.5x"
row "CPU s per 1,000 calls @max rate" "${F[$T,cpumax]:--}" "${F[$K,cpumax]:--}" "$(ratio "${F[$T,cpumax]:-}" "${F[$K,cpumax]:-}")" ""
row "  idle CPU, ms per second (all processes)" "${IDLE_CPU[$T]:--}" "${IDLE_CPU[$K]:--}" "" ""
row "  machine busy @max rate (all processes)" "${F[$T,busymax]:--}" "${F[$K,busymax]:--}" "" ""
row "INVITE->180 p50 / p99 ms @half max" "${F[$T,lat]:--}" "${F[$K,lat]:--}" "$(ratio "${F[$T,lat99]:-}" "${F[$K,lat99]:-}")" ""
row "  p99.9 / max ms" "${F[$T,latx]:--}" "${F[$K,latx]:--}" "" ""
row "  no sidecar (PBX -> cloud) p50 / p99 ms" "${F[$T,base]:--}" "${F[$K,base]:--}" "" ""
row "  added by the sidecar p50 / p99 ms" "${F[$T,added]:--}" "${F[$K,added]:--}" "" "p99 < 2"
row "memory @$MEM_CALLS calls: PSS - idle, MiB" "${F[$T,mem]:--}" "${F[$K,mem]:--}" "$(ratio "${F[$T,mem]:-}" "${F[$K,mem]:-}")" ""
row "  per call, KiB" "${F[$T,memcall]:--}" "${F[$K,memcall]:--}" "$(ratio "${F[$T,memcall]:-}" "${F[$K,memcall]:-}")" "<= 8"
row "  RSS sum - idle, MiB (shared counted often)" "${F[$T,memrss]:--}" "${F[$K,memrss]:--}" "" ""
row "  idle PSS MiB; calls held" "${F[$T,memidle]:--}; ${F[$T,memok]:--}" "${F[$K,memidle]:--}; ${F[$K,memok]:--}" "" ""
echo
echo "runs ($STEPS/*/result, key=value; CPU = the sidecar's processes only):"
for sys in $SYSTEMS; do
	for rate in $RATES; do
		if [ -f "$STEPS/$sys-$rate/result" ]; then run_line "$STEPS/$sys-$rate/result" 2>&1; fi
	done
done
for f in "$STEPS"/lat-*/result "$STEPS"/mem-*/result "$STEPS"/profile-*/result; do
	if [ -f "$f" ]; then run_line "$f" 2>&1; fi
done
echo "cloud-side UAS failed calls over the whole run: $uas_failed"
if [ "$PROFILE" = 1 ] && [ -f "$STEPS/profile-tlstrunk/self.txt" ]; then
	echo
	echo "tlstrunk profile (perf, self time, top 30; full reports in $STEPS/profile-tlstrunk):"
	grep -E '^ +[0-9]' "$STEPS/profile-tlstrunk/self.txt" | sed -n 1,30p || true
	echo "by thread (the first is the signalling loop, the others relay threads):"
	grep -E '^ +[0-9]' "$STEPS/profile-tlstrunk/threads.txt" | sed -n 1,6p || true
fi
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

LIB_FINISHED=1
stop_everything
if [ "$KEEP_WORK" = 1 ]; then
	say "work directory kept: $WORK"
else
	rm -rf "$WORK"
fi
exit 0
