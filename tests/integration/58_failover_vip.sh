#!/usr/bin/env bash
# 58_failover_vip.sh - node failover on a virtual IP (issue 15): two
# tlstrunk nodes, keepalived (VRRPv3) moving the VIP, one redis-server; the
# calls of the node that dies go on through the other.
#
#   netns P (peers)  br0 10.91.0.20/24 and 10.91.0.21/24:
#     redis-server 10.91.0.20:6379, mini_dns.py (sbc.test.example -> VIP)
#     baresip C "cloud" 10.91.0.20 TLS :5061 (SRTP, 1000 Hz): tlstrunk's
#       [cloud] host lb01 resolves to it
#     Kamailio (tests/cloud, lib.sh's stand-in) as cloud proxy lb02 on
#       10.91.0.21 (TLS :5061 to tlstrunk, UDP :5060 to C2)
#     baresip C2 "cloud" UDP :5080 behind Kamailio (SRTP, 1200 Hz)
#     baresip P1 :5072 (440 Hz), P2 :5074 (660 Hz), P3 :5090 = [pbx]
#       address (880 Hz): the "PBX" (plain RTP)
#     a capture on each bridge port, va and vb (one per node)
#        |  va (bridge port)             |  vb (bridge port)
#   netns A  eth0 10.91.0.11          netns B  eth0 10.91.0.12
#     keepalived prio 200 (MASTER)      keepalived prio 100 (BACKUP)
#     tlstrunk node-a                   tlstrunk node-b
#   VIP 10.91.0.100/24 (VRRPv3, advert_int 0.5, unicast): [pbx] listen,
#   [tls_server] listen, [media] pbx_address/public_address all on it.
#   Both nodes: the same tlstrunk.ini but [state] node, [state] redis =
#   10.91.0.20:6379.
#
# 1. Harness: the VIP is on A only, redis answers from both nodes, both
#    tlstrunk listen on the VIP (A: "is here: active", B: "is not here:
#    standby", /metrics tlstrunk_state_active 1 and 0).
# 2. Three calls through the VIP: P1 -> C and P2 -> C (from the PBX), C2 ->
#    Kamailio -> P3 (from the cloud); audio; three records in Redis
#    written by node-a; the media went through A only (the captures).
# 3. SIGKILL A's tlstrunk and A's keepalived, A's link down.  B takes the
#    VIP (timed), logs "is here: active", restores the three calls (each
#    logged once with "restored" and its Call-ID; calls_restored_total 3;
#    node-a's garbage record and a stale copy of call 1's record (10 min
#    old), planted before the kill, skipped with a log line each),
#    tlstrunk_state_active 1, and owns the records 5 s later (node=node-b).
#    Media from B's relay ports on the VIP reaches each of the five
#    endpoints' RTP ports within 4 s of the kill (capture of B's bridge
#    port: only B sends there); each side hears the other's tone after the
#    failover; C and C2 failed to decrypt no SRTP/SRTCP packet, nor did B
#    (srtp_failures=0 in its call summaries).
# 4. BYEs through B: P1 hangs up call 1 (from the PBX side: B connects to
#    lb01 itself); C hangs up call 2 (from the cloud side: C opens a new
#    connection to the VIP, which is B's second connection); P3 hangs up
#    call 3 (from the PBX side: B must reach Kamailio, lb02, named in the
#    dialog's route set, although the ttc= connection number in
#    tlstrunk's own Record-Route entry is node A's, and on B the same
#    number is C's connection of call 2's BYE).  Each
#    BYE reaches the far end, the records are deleted, B logs a call
#    summary for each.  A new call P1 -> C then works through B (audio
#    both ways).
#
# How it runs: as root (CI), or in `unshare -n` (development).  The script
# runs itself three times: stage 0 enters a private mount namespace (so the
# network namespaces' files under /run/netns never show outside; it creates
# the empty /run/netns directory when missing, as `ip netns add` would, and
# removes it again); stage 1 makes the three network namespaces, the bridge
# and veths, and deletes them on any exit; stage 2, in the peers' namespace,
# is the test (tests/lib.sh and tests/media/media_lib.sh work there as they
# do on loopback).  T58_NONLOCAL_BIND=1 sets net.ipv4.ip_nonlocal_bind=1 in
# the node namespaces (see there).  T58_LENIENT=1 (development only) turns the checks of the
# failover behaviour of tlstrunk itself into log lines, to exercise the
# harness with a tlstrunk that has none.
#@ timeout: 300
set -eEuo pipefail

# --- stage 0: a private mount namespace -------------------------------------
# run_child GRACE CMD...: run CMD, return its status.  A TERM or INT is
# passed on to it; then CMD has GRACE seconds to finish (its own cleanup)
# before run_child returns anyway: tests/run.sh's timeout sends KILL 10 s
# after its TERM, and the namespaces must be gone by then.
run_child() {
	local grace=$1 pid rc
	shift
	"$@" &
	pid=$!
	T58_TERM=
	# shellcheck disable=SC2064
	trap "T58_TERM=1; kill -TERM $pid 2>/dev/null || true" TERM INT
	while :; do
		rc=0
		wait "$pid" || rc=$?
		kill -0 "$pid" 2>/dev/null || break
		if [ -n "$T58_TERM" ]; then
			for _ in $(seq 1 $((grace * 10))); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			kill -0 "$pid" 2>/dev/null && rc=143 && break
		fi
	done
	trap - TERM INT
	return "$rc"
}

if [ -z "${T58_STAGE:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "FAIL: 58_failover_vip: needs root (network namespaces)"; exit 1; }
	for t in unshare ip keepalived; do
		command -v "$t" >/dev/null ||
			{ echo "FAIL: 58_failover_vip: $t is not installed (apt-get install iproute2 keepalived)"; exit 1; }
	done
	made=
	if [ ! -d /run/netns ]; then mkdir -p /run/netns; made=1; fi
	rc=0
	T58_STAGE=1 run_child 8 unshare -m --propagation private -- bash "$0" "$@" || rc=$?
	[ -z "$made" ] || rmdir /run/netns 2>/dev/null || true
	exit "$rc"
fi

NET=10.91.0
IP_A=$NET.11
IP_B=$NET.12
IP_P=$NET.20
IP_K=$NET.21               # Kamailio, the cloud proxy lb02 (calls from the cloud)
VIP=$NET.100

# --- stage 1: the network namespaces -----------------------------------------
if [ "$T58_STAGE" = 1 ]; then
	mount -t tmpfs -o size=1m,mode=755 t58-netns /run/netns
	NS_A=t58a-$$ NS_B=t58b-$$ NS_P=t58p-$$
	# shellcheck disable=SC2317  # the EXIT trap's
	ns_cleanup() {
		local ns pids
		for ns in "$NS_A" "$NS_B" "$NS_P"; do
			# Whatever stage 2 left running in our namespaces.
			pids=$(ip netns pids "$ns" 2>/dev/null || true)
			# shellcheck disable=SC2086
			[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
			ip netns del "$ns" 2>/dev/null || true
		done
		umount /run/netns 2>/dev/null || true
	}
	trap ns_cleanup EXIT
	step() { "$@" || { echo "FAIL: 58_failover_vip: network set-up failed: $*"; exit 1; }; }
	for ns in "$NS_P" "$NS_A" "$NS_B"; do
		step ip netns add "$ns"
		step ip -n "$ns" link set lo up
	done
	step ip -n "$NS_P" link add br0 type bridge forward_delay 0
	step ip -n "$NS_P" addr add "$IP_P/24" dev br0
	step ip -n "$NS_P" addr add "$IP_K/24" dev br0
	step ip -n "$NS_P" link set br0 up
	step ip -n "$NS_P" link add va type veth peer name eth0 netns "$NS_A"
	step ip -n "$NS_P" link add vb type veth peer name eth0 netns "$NS_B"
	for p in va vb; do
		step ip -n "$NS_P" link set "$p" master br0
		step ip -n "$NS_P" link set "$p" up
	done
	step ip -n "$NS_A" addr add "$IP_A/24" dev eth0
	step ip -n "$NS_B" addr add "$IP_B/24" dev eth0
	step ip -n "$NS_A" link set eth0 up
	step ip -n "$NS_B" link set eth0 up
	rc=0
	T58_STAGE=2 T58_NS_A=$NS_A T58_NS_B=$NS_B T58_NS_P=$NS_P \
		run_child 6 ip netns exec "$NS_P" bash "$0" "$@" || rc=$?
	exit "$rc"
fi

# --- stage 2: the test, in the peers' namespace ----------------------------------
TEST_NAME=58_failover_vip
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
NS_A=$T58_NS_A NS_B=$T58_NS_B NS_P=$T58_NS_P
# The endpoints, all on the peers' address (media_lib.sh's variables).
BS_MEDIA_IP=$IP_P
BS_CLOUD_IP=$IP_P
BS_CLOUD_TLS_PORT=5061
BS_CLOUD_CTRL=$IP_P:24444
BS_CLOUD_RTP=31000-31099
BS_DNS=$IP_P:10053
SBC_TLS_IP=$VIP            # what mini_dns.py answers for sbc.test.example
P1_PORT=5072 P1_RTP=32000-32099 P1_TONE=440
P2_PORT=5074 P2_RTP=32100-32199 P2_TONE=660
# Call 3 comes from the cloud: C2 (UDP, SRTP, 1200 Hz) behind Kamailio
# (lb02, TLS to tlstrunk), to P3 at [pbx] address (880 Hz).
K_NAME=${CLOUD_NAME/lb01/lb02}
C2_PORT=5080 C2_RTP=31100-31199 C2_TONE=1200
P3_PORT=5090 P3_RTP=32200-32299 P3_TONE=880
MEDIA_RELAY_PORTS=30000-30999
REDIS=$IP_P:6379
ADMIN_PORT=9090
PREFIX=t58:
# shellcheck source=tests/media/media_lib.sh
. "$LIB_DIR/media/media_lib.sh"
: "${T58_LENIENT:=}"

test_init
media_require
command -v redis-server >/dev/null || fail "redis-server is not installed (apt-get install redis-server)"

t_now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# behaviour CONDITION-MESSAGE...: a check of tlstrunk's failover itself
# (not of the harness); T58_LENIENT=1 only logs it.
LENIENT_MISSED=0
behaviour() {
	if [ -n "$T58_LENIENT" ]; then
		log "LENIENT, would fail: $*"
		LENIENT_MISSED=$((LENIENT_MISSED + 1))
	else
		fail "$@"
	fi
}
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ns_listening() { # ns_listening NS udp|tcp IP PORT
	local flag=t
	[ "$2" = udp ] && flag=u
	in_ns "$1" ss -Hln$flag 2>/dev/null | awk -v a="$3:$4" '$4 == a { f = 1 } END { exit !f }'
}
has_vip() { ip -n "$1" -o -4 addr show dev eth0 2>/dev/null | grep -qF " $VIP/"; }
# metrics_get NODE_IP: its /metrics (python: curl is not in DEB_PACKAGES).
metrics_get() {
	"$PYTHON" -c 'import sys, urllib.request
try:
    sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())
except Exception as e:
    sys.exit("metrics: %s: %s" % (sys.argv[1], e))' "http://$1:$ADMIN_PORT/metrics" 2>/dev/null
}
metric() { # metric NODE_IP NAME: empty when it does not answer (no ERR)
	{ metrics_get "$1" || true; } | awk -v m="$2" '$1 == m { print $2 }'
}
# The VIP in an ERE; tlstrunk may print it with the port ([pbx] listen).
VIP_RE=${VIP//./\\.}
rcli() { redis-cli -h "${REDIS%:*}" -p "${REDIS#*:}" "$@"; }

# --- redis, keepalived ---------------------------------------------------------------
spawn "$WORK/redis.log" redis-server --bind "${REDIS%:*}" --port "${REDIS#*:}" \
	--protected-mode no --save '' --appendonly no
for _ in $(seq 1 50); do rcli ping >/dev/null 2>&1 && break; sleep 0.1; done
[ "$(rcli ping 2>&1)" = PONG ] || fail "redis-server did not start: $(tail -n 3 "$WORK/redis.log")"
for ns in "$NS_A" "$NS_B"; do
	out=$(in_ns "$ns" redis-cli -h "${REDIS%:*}" -p "${REDIS#*:}" ping 2>&1) || true
	[ "$out" = PONG ] || fail "redis at $REDIS is not reachable from $ns: $out"
done

# keepalived_conf NODE SELF PEER PRIORITY STATE
keepalived_conf() {
	cat <<EOF
global_defs {
	router_id $1
	vrrp_version 3
	# Gratuitous ARPs: at once on becoming MASTER, no repeat 5 s later.
	vrrp_garp_master_delay 0
}
vrrp_instance VI_58 {
	state $5
	interface eth0
	virtual_router_id 58
	priority $4
	advert_int 0.5
	unicast_src_ip $2
	unicast_peer {
		$3
	}
	virtual_ipaddress {
		$VIP/24 dev eth0
	}
}
EOF
}
declare -A KA_PID=()
keepalived_start() { # keepalived_start a|b NS
	local n=$1 ns=$2 self peer prio state
	if [ "$n" = a ]; then self=$IP_A peer=$IP_B prio=200 state=MASTER
	else self=$IP_B peer=$IP_A prio=100 state=BACKUP; fi
	keepalived_conf "node-$n" "$self" "$peer" "$prio" "$state" >"$WORK/keepalived-$n.conf"
	in_ns "$ns" keepalived -t -f "$WORK/keepalived-$n.conf" >"$WORK/keepalived-$n.check" 2>&1 ||
		fail "keepalived rejects $WORK/keepalived-$n.conf: $(tail -n 3 "$WORK/keepalived-$n.check")"
	# -n: foreground (its PID is the one spawn recorded, its VRRP child in
	# its process group), -l -D: detailed log on stderr, -G: no syslog,
	# -P: VRRP only; pid files of its own.
	spawn "$WORK/keepalived-$n.log" ip netns exec "$ns" keepalived -n -l -D -G -P \
		-f "$WORK/keepalived-$n.conf" -p "$WORK/keepalived-$n.pid" -r "$WORK/keepalived-$n-vrrp.pid"
	KA_PID[$n]=$SPAWNED_PID
}
t0=$(t_now)
keepalived_start a "$NS_A"
keepalived_start b "$NS_B"
for _ in $(seq 1 100); do has_vip "$NS_A" && break; sleep 0.1; done
has_vip "$NS_A" || fail "keepalived did not put $VIP on node A within 10 s (see $WORK/keepalived-a.log)"
sleep 1.5   # three advertisements: B has heard A and stays BACKUP
has_vip "$NS_B" && fail "$VIP is on both nodes"
log "VIP $VIP on node A after $(secs "$t0" "$(t_now)") s (keepalived MASTER), node B BACKUP"

# --- endpoints and captures (the cloud listens before tlstrunk starts) ---------------
dns_start
cloud_setup
bs_setup pbx1 "$IP_P:$P1_PORT" "$IP_P:24445" "$P1_RTP" "$P1_TONE"
bs_account pbx1 "<sip:pbx1@$IP_P:$P1_PORT>;regint=0;answermode=auto"
bs_setup pbx2 "$IP_P:$P2_PORT" "$IP_P:24446" "$P2_RTP" "$P2_TONE"
bs_account pbx2 "<sip:pbx2@$IP_P:$P2_PORT>;regint=0;answermode=auto"
# One capture per node's bridge port: what is in cap-b came from B or
# went to it.
declare -A CAP=() CAPPID=()
for p in va vb; do
	CAP[$p]=$WORK/cap-$p.pcap
	spawn "$WORK/cap-$p.tcpdump.log" tcpdump -i "$p" -n -U -Z root -s 0 -w "${CAP[$p]}" udp
	CAPPID[$p]=$SPAWNED_PID
	wait_grep "$WORK/cap-$p.tcpdump.log" 'listening on' 10 || fail "tcpdump on $p did not start"
done
bs_start cloud
bs_start pbx1
bs_start pbx2
bs_setup cloud2 "$IP_P:$C2_PORT" "$IP_P:24447" "$C2_RTP" "$C2_TONE"
bs_account cloud2 "<sip:cloud2@$IP_P:$C2_PORT>;regint=0;answermode=auto;mediaenc=srtp-mand"
bs_setup pbx3 "$IP_P:$P3_PORT" "$IP_P:24448" "$P3_RTP" "$P3_TONE"
bs_account pbx3 "<sip:+1555@$IP_P:$P3_PORT>;regint=0;answermode=auto"
bs_start cloud2
bs_start pbx3
# Kamailio as lb02: TLS to tlstrunk's VIP, UDP to C2 (lib.sh's stand-in;
# its Record-Route names lb02, which tlstrunk resolves by [cloud] resolve).
# shellcheck disable=SC2119
CLOUD_IP=$IP_K CLOUD_NAME=$K_NAME UAS_IP=$IP_P UAS_PORT=$C2_PORT \
	SBC_TLS_IP=$VIP SBC_TLS_PORT=5061 start_kamailio

# --- the two tlstrunk nodes ------------------------------------------------------
# The same configuration on both nodes, but [state] node.
node_config() { # node_config FILE NODE
	cat >"$1" <<EOF
[general]
log_level = debug
admin_listen = 0.0.0.0:$ADMIN_PORT

[pbx]
listen = $VIP:5060
transports = udp,tcp
address = $IP_P:$P3_PORT
allow = $NET.0/24
advertised_address = $VIP

[cloud]
hosts = $CLOUD_NAME
port = $BS_CLOUD_TLS_PORT
tgrp = $TGRP
trunk_context = $TRUNK_CONTEXT
ca_file = $PKI/ca.pem
resolve = $CLOUD_NAME=$BS_CLOUD_IP,$K_NAME=$IP_K

[tls_server]
listen = $VIP:5061
cert_file = $PKI/sbc.pem
key_file = $PKI/sbc.key
advertised_name = $SBC_NAME

[media]
pbx_address = $VIP
public_address = $VIP
port_min = ${MEDIA_RELAY_PORTS%-*}
port_max = ${MEDIA_RELAY_PORTS#*-}
srtp_suites = $MEDIA_SRTP_SUITES

[state]
redis = $REDIS
key_prefix = $PREFIX
node = $2
EOF
}
# A tlstrunk with the failover binds on the VIP while it does not hold it
# (IP_FREEBIND); one without it needs ip_nonlocal_bind in the node's
# namespace (a sysctl of that namespace only) to start on the standby.
# T58_NONLOCAL_BIND=1: ip_nonlocal_bind on both nodes anyway, as many
# keepalived set-ups have it (HAProxy's guides) and as issue 15 names it
# beside IP_FREEBIND: tlstrunk must still tell whether the VIP is here.
if [ "${T58_NONLOCAL_BIND:-}" = 1 ] || ! grep -aq 'tlstrunk_state_active' "$TLSTRUNK_BIN"; then
	log "net.ipv4.ip_nonlocal_bind=1 in the node namespaces ($([ "${T58_NONLOCAL_BIND:-}" = 1 ] &&
		echo T58_NONLOCAL_BIND=1 || echo "$TLSTRUNK_BIN knows no VIP: no tlstrunk_state_active in it"))"
	for ns in "$NS_A" "$NS_B"; do in_ns "$ns" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_nonlocal_bind'; done
fi
declare -A NODE_PID=() NODE_LOG=() NODE_NS=([a]=$NS_A [b]=$NS_B) NODE_IP=([a]=$IP_A [b]=$IP_B)
node_start() { # node_start a|b
	local n=$1 ns=${NODE_NS[$1]} cfg=$WORK/tlstrunk-$1.ini
	local -a wrapper=()
	read -ra wrapper <<<"$TLSTRUNK_WRAPPER"
	node_config "$cfg" "node-$n"
	in_ns "$ns" "$TLSTRUNK_BIN" -t -c "$cfg" >"$WORK/tlstrunk-$n-check.out" 2>&1 ||
		fail "tlstrunk rejects $cfg: $(tail -n 2 "$WORK/tlstrunk-$n-check.out" | tr '\n' ' ')"
	NODE_LOG[$n]=$WORK/tlstrunk-$n.log
	spawn "${NODE_LOG[$n]}" ip netns exec "$ns" "${wrapper[@]}" "$TLSTRUNK_BIN" -c "$cfg"
	NODE_PID[$n]=$SPAWNED_PID
}
node_wait() { # node_wait a|b: listening on the VIP, /metrics answering
	local n=$1 ns=${NODE_NS[$1]} rc
	for _ in $(seq 1 $((TLSTRUNK_START_WAIT * 10))); do
		if ns_listening "$ns" udp "$VIP" 5060 && ns_listening "$ns" tcp "$VIP" 5060 &&
		   ns_listening "$ns" tcp "$VIP" 5061 &&
		   metrics_get "${NODE_IP[$n]}" >/dev/null; then
			return 0
		fi
		if ! kill -0 "${NODE_PID[$n]}" 2>/dev/null; then
			rc=0
			wait "${NODE_PID[$n]}" || rc=$?
			fail "tlstrunk node-$n exited with status $rc during start-up: $(grep -av ' DEBUG' "${NODE_LOG[$n]}" | tail -n 3 | tr '\n' ' ')"
		fi
		sleep 0.1
	done
	fail "tlstrunk node-$n does not listen on udp+tcp $VIP:5060 and tcp $VIP:5061 (and /metrics on ${NODE_IP[$n]}:$ADMIN_PORT)"
}
node_start a
node_start b
node_wait a
node_wait b
# lib.sh's pass/fail look after this one: node B outlives the test's calls.
TLSTRUNK_PID=${NODE_PID[b]}
TLSTRUNK_LOG=${NODE_LOG[b]}
log "tlstrunk node-a (pid ${NODE_PID[a]}) and node-b (pid ${NODE_PID[b]}) listen on $VIP"
[ "$(metric "$IP_A" tlstrunk_state_redis_up)" = 1 ] || fail "node-a: /metrics says Redis is not up"
[ "$(metric "$IP_B" tlstrunk_state_redis_up)" = 1 ] || fail "node-b: /metrics says Redis is not up"
wait_grep "${NODE_LOG[a]}" "state: $VIP_RE(:[0-9]+)? is here: active" 5 ||
	behaviour "node-a holds $VIP but did not log 'state: $VIP is here: active'"
wait_grep "${NODE_LOG[b]}" "state: $VIP_RE(:[0-9]+)? (is (not here|gone)|IS NOT ON THIS HOST): standby" 5 ||
	behaviour "node-b does not hold $VIP but did not log 'state: $VIP is not here: standby'"
[ "$(metric "$IP_A" tlstrunk_state_active)" = 1 ] || behaviour "node-a: tlstrunk_state_active is not 1"
[ "$(metric "$IP_B" tlstrunk_state_active)" = 0 ] || behaviour "node-b: tlstrunk_state_active is not 0"

# bs_count NAME REGEX: lines of NAME's log matching.
bs_count() { grep -Eac -- "$2" "${BS_LOG[$1]}" || true; }
bs_count_reached() { # bs_count_reached NAME REGEX N [SECONDS]
	for _ in $(seq 1 $((${4:-$MEDIA_TIMEOUT} * 10))); do
		[ "$(bs_count "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
bs_wait_count() { # bs_wait_count NAME REGEX N WHAT
	bs_count_reached "$1" "$2" "$3" ||
		fail "baresip $1: $4 did not happen within $MEDIA_TIMEOUT s (see ${BS_LOG[$1]})"
}
ENDED=': Call with .* terminated|session closed'

# newest_rec NAME [N]: NAME's N-th recording of received audio (1 = oldest).
rec_n() {
	local f
	f=$(find "${BS_DIR[$1]}/rec" -name 'dump-*-dec.wav' | sort | sed -n "${2}p")
	[ -n "$f" ] || fail "baresip $1 has no recording number $2 in ${BS_DIR[$1]}/rec"
	echo "$f"
}
# tone_after NAME N HZ T_START T_FROM [lenient]: recording N of NAME holds HZ
# for at least 2 s after T_FROM (the recording began at T_START, the
# answer).  What baresip records is what it received: no silence fills a
# gap, so skipping T_FROM - T_START + 0.5 s of it skips all that came
# before T_FROM; what is left came after.
tone_after() {
	local rec out skip
	rec=$(rec_n "$1" "$2")
	skip=$(awk -v a="$4" -v b="$5" 'BEGIN { printf "%.1f", b - a + 0.5 }')
	if out=$("$PYTHON" "$MEDIA_DIR/tone_check.py" "$rec" "$3" --min-sec 2 --skip-sec "$skip" 2>&1); then
		log "$out"
	elif [ -n "${6:-}" ]; then
		behaviour "$1 (call $2) did not hear $3 Hz after the failover: $out"
	else
		fail "$1 (call $2) did not hear $3 Hz: $out"
	fi
}

# --- 2. three calls through A ----------------------------------------------------------
bs_do pbx1 dial "sip:+13175550100@$VIP:5060"
bs_established pbx1
bs_wait_count cloud 'Call established' 1 "the first call's answer"
t_call1=$(t_now)
sleep 1   # recordings are named by the second: keep them apart
bs_do pbx2 dial "sip:+13175550100@$VIP:5060"
bs_established pbx2
bs_wait_count cloud 'Call established' 2 "the second call's answer"
t_call2=$(t_now)
bs_do cloud2 dial "sip:+1555@$IP_K:$CLOUD_UDP_PORT"
bs_established cloud2
bs_established pbx3
t_call3=$(t_now)
for _ in $(seq 1 30); do
	[ "$(rcli --scan --pattern "${PREFIX}call:*" | wc -l)" -ge 3 ] && break
	sleep 0.1
done
mapfile -t KEYS < <(rcli --scan --pattern "${PREFIX}call:*" | sort)
[ "${#KEYS[@]}" = 3 ] || fail "not three call records in Redis 3 s after the answers: ${KEYS[*]:-none}"
CALLIDS=()
for k in "${KEYS[@]}"; do
	CALLIDS+=("${k#"${PREFIX}call:"}")
	rcli get "$k" | grep -qx 'node=node-a' || fail "the record $k was not written by node-a"
done
# The cloud leg keeps the PBX's Call-ID: the cloud hangs up call 2 by it.
bs_callid() { grep -aim1 '^Call-ID:' "${BS_LOG[$1]}" | sed -E 's/^[^:]*:[[:space:]]*//' | tr -d '\r'; }
CALL1=$(bs_callid pbx1) CALL2=$(bs_callid pbx2) CALL3=$(bs_callid cloud2)
for c in "$CALL1" "$CALL2" "$CALL3"; do
	[[ -n "$c" && " ${CALLIDS[*]} " = *" $c "* ]] ||
		fail "the records in Redis (${CALLIDS[*]}) are not the calls of P1 ($CALL1), P2 ($CALL2) and C2 ($CALL3)"
done
log "calls up through node A: $CALL1 (P1 -> C), $CALL2 (P2 -> C), $CALL3 (C2 -> P3)"
# Beside them, node-a's "records" B must not take over: garbage, and a
# copy of call 1's record, as node-a's, last written 10 minutes ago: far
# beyond [media] timeout (60 s), within [state] ttl (3600 s), as a record
# whose delete was lost while Redis was away (its call is long over).
rec=$(rcli get "${PREFIX}call:$CALL1")$'\n'   # $( ) took its last newline
grep -q '^written=[0-9]' <<<"$rec" || fail "call 1's record has no written= line: ${rec:0:120}"
old=$(( $(date +%s) * 1000 - 600 * 1000 ))
rcli set "${PREFIX}call:garbage-58" "this is not a record" px 600000 >/dev/null
rcli set "${PREFIX}call:stale-58" "$(sed -e "s/^callid=.*/callid=stale-58/" \
	-e "s/^written=.*/written=$old/" <<<"$rec")"$'\n' px 600000 >/dev/null
PLANTED=(garbage-58 stale-58)
sleep 3

# --- 3. node A dies ------------------------------------------------------------------
t_kill=$(t_now)
kill -KILL "${NODE_PID[a]}"
kill -KILL -- "-${KA_PID[a]}" 2>/dev/null || kill -KILL "${KA_PID[a]}"
ip -n "$NS_A" link set eth0 down
t_down=$(t_now)
wait "${NODE_PID[a]}" 2>/dev/null || true
wait "${KA_PID[a]}" 2>/dev/null || true
for _ in $(seq 1 200); do has_vip "$NS_B" && break; sleep 0.02; done
has_vip "$NS_B" || fail "keepalived on node B did not take $VIP within 4 s of the kill (see $WORK/keepalived-b.log)"
t_vip=$(t_now)
log "node A killed, its link down after $(secs "$t_kill" "$t_down") s; VIP on node B $(secs "$t_kill" "$t_vip") s after the kill"
kill -0 "${NODE_PID[b]}" 2>/dev/null || fail "tlstrunk node-b died"
wait_grep "${NODE_LOG[b]}" "state: $VIP_RE(:[0-9]+)? is here: active" 3 ||
	behaviour "node-b took $VIP but did not log 'state: $VIP is here: active'"
# The restored line: "[CALL-ID] state: call restored (...)", or at least a
# line with both; "not restored" is no such line.
restored_lines() { grep -aF "$1" "${NODE_LOG[b]}" | grep -a 'restored' | grep -av 'not restored' || true; }
for c in "${CALLIDS[@]}"; do
	for _ in $(seq 1 40); do
		[ -n "$(restored_lines "$c")" ] && break
		grep -aF "$c" "${NODE_LOG[b]}" | grep -aq 'not restored' && break
		sleep 0.1
	done
done
for k in "${PLANTED[@]}"; do
	grep -aF "$k" "${NODE_LOG[b]}" | grep -aq 'skipped' ||
		behaviour "node-b did not skip node-a's record $k with a log line at the takeover: $(grep -aF "$k" "${NODE_LOG[b]}" | sed 's/^[^ ]* //' | tr '\n' ';')"
done
for c in "${CALLIDS[@]}"; do
	n=$(restored_lines "$c" | wc -l)
	[ "$n" = 1 ] || behaviour "node-b logged the call $c as restored $n times, not once: $(grep -aF "$c" "${NODE_LOG[b]}" | grep -a 'restored' | sed 's/^[^ ]* //' | tr '\n' ';')"
done
[ "$(metric "$IP_B" tlstrunk_state_active)" = 1 ] || behaviour "node-b: tlstrunk_state_active is not 1 after the failover"
n=$(metric "$IP_B" tlstrunk_state_calls_restored_total)
[ "$n" = 3 ] || behaviour "node-b: tlstrunk_state_calls_restored_total is '$n', not 3"
# Let the calls run on through B: the tone checks want 2 s after the gap.
sleep 5
# B owns the records now (its own node name in them): should B fail in
# turn, a restart or a third node must find them.
for k in "${KEYS[@]}"; do
	rcli get "$k" | grep -qx 'node=node-b' ||
		behaviour "the record $k does not name node-b 5 s after the takeover: $(rcli get "$k" | grep -a '^node=' || echo 'no record')"
done

# Media through A before the kill, none through B; after: through B.
ENDPOINTS=("$IP_P:$BS_CLOUD_RTP" "$IP_P:$P1_RTP" "$IP_P:$P2_RTP" "$IP_P:$C2_RTP" "$IP_P:$P3_RTP")
for to in "${ENDPOINTS[@]}"; do
	want=1
	[ "$to" = "$IP_P:$BS_CLOUD_RTP" ] && want=2
	out=$("$PYTHON" "$LIB_DIR/ha/flow_check.py" "${CAP[va]}" --from "$VIP:$MEDIA_RELAY_PORTS" \
		--to "$to" --before "$t_kill" --flows "$want" --min-packets 100) ||
		fail "before the kill, media from node A did not reach $to: $out"
	out=$("$PYTHON" "$LIB_DIR/ha/flow_check.py" "${CAP[vb]}" --from "$VIP:$MEDIA_RELAY_PORTS" \
		--to "$to" --before "$t_kill" --none) || fail "node B sent media before the kill: $out"
done
log "before the kill: media through node A only"
resumed=
for to in "${ENDPOINTS[@]}"; do
	want=1
	[ "$to" = "$IP_P:$BS_CLOUD_RTP" ] && want=2
	rc=0
	out=$("$PYTHON" "$LIB_DIR/ha/flow_check.py" "${CAP[vb]}" --from "$VIP:$MEDIA_RELAY_PORTS" \
		--to "$to" --after "$t_kill" --within 4 --flows "$want") || rc=$?
	printf '%s\n' "$out" >>"$WORK/checks.log"
	log "$(tail -n 1 <<<"$out")"
	[ "$rc" = 0 ] || behaviour "media did not resume through node B within 4 s of the kill toward $to: $(tail -n 1 <<<"$out")"
	w=$(sed -n 's/.*latest first packet \([0-9.]*\) s after T.*/\1/p' <<<"$out" | tail -n 1)
	if [ -n "$w" ] && { [ -z "$resumed" ] || awk -v a="$w" -v b="$resumed" 'BEGIN { exit !(a > b) }'; }; then
		resumed=$w
	fi
done
for c in cloud cloud2; do
	n=$(bs_srtp_errors "$c")
	[ "$n" = 0 ] || behaviour "$c failed to decrypt $n SRTP/SRTCP packets (an index used twice after the takeover?)"
done

# --- 4. BYE from each side, then a new call through B ----------------------------------
bs_do pbx1 hangup
if ! bs_count_reached cloud "$ENDED" 1; then
	behaviour "the BYE of call 1 from the PBX did not reach the cloud through node B"
	bs_cmd cloud hangup >/dev/null 2>&1 || true   # LENIENT: clear the call
fi
# Two calls were C's, on its trunk account: make that user agent the
# current one, then call 2 its current call (by its Call-ID: the cloud leg
# keeps the PBX's).
bs_do cloud uafind "sip:${CLOUD_USER:-+13175550100;tgrp=$TGRP;trunk-context=$TRUNK_CONTEXT}@$BS_CLOUD_IP"
bs_cmd cloud listcalls >>"$WORK/bsctl.log" 2>&1 || true
bs_do cloud callfind "$CALL2"
bs_do cloud hangup
if ! bs_count_reached pbx2 "$ENDED" 1; then
	behaviour "the BYE of call 2 from the cloud did not reach the PBX through node B"
	bs_cmd pbx2 hangup >/dev/null 2>&1 || true
fi
# Call 3, from the cloud, ended by the PBX: B sends the BYE to Kamailio's
# Record-Route (lb02) over a TLS connection of its own.
bs_do pbx3 hangup
if ! bs_count_reached cloud2 "$ENDED" 1; then
	behaviour "the BYE of call 3 (from the cloud) from the PBX did not reach the cloud through node B: $(grep -aF "$CALL3" "${NODE_LOG[b]}" | grep -a 'BYE' | sed 's/^[^ ]* //' | tr '\n' ';')"
	bs_cmd cloud2 hangup >/dev/null 2>&1 || true
fi
for _ in $(seq 1 30); do
	left=$(rcli --scan --pattern "${PREFIX}call:*" | grep -v -e garbage-58 -e stale-58 || true)
	[ -z "$left" ] && break
	sleep 0.1
done
left=$(rcli --scan --pattern "${PREFIX}call:*" | grep -v -e garbage-58 -e stale-58 | tr '\n' ' ' || true)
[ -z "$left" ] || behaviour "records outlived the BYEs: $left"
for c in "${CALLIDS[@]}"; do
	sum=$(grep -aF "$c" "${NODE_LOG[b]}" | grep -a 'call summary' || true)
	[ -n "$sum" ] || behaviour "node-b logged no call summary for $c"
	# tlstrunk's own SRTP checks of the cloud's packets after the takeover.
	[ -z "$sum" ] || grep -q 'srtp_failures=0' <<<"$sum" ||
		behaviour "node-b failed to authenticate the cloud's SRTP in call $c: ${sum##*media }"
done

# baresip writes a recording's wav header when the call ends: now.
tone_after cloud 1 "$P1_TONE" "$t_call1" "$t_kill" lenient
tone_after cloud 2 "$P2_TONE" "$t_call2" "$t_kill" lenient
tone_after pbx1 1 "$BS_CLOUD_TONE" "$t_call1" "$t_kill" lenient
tone_after pbx2 1 "$BS_CLOUD_TONE" "$t_call2" "$t_kill" lenient
tone_after cloud2 1 "$P3_TONE" "$t_call3" "$t_kill" lenient
tone_after pbx3 1 "$C2_TONE" "$t_call3" "$t_kill" lenient
t_new=$(t_now)
ended=$(bs_count cloud "$ENDED")
bs_do pbx1 dial "sip:+13175550100@$VIP:5060"
bs_wait_count pbx1 'Call established' 2 "the new call's answer"
bs_wait_count cloud 'Call established' 3 "the new call's answer"
t_call4=$(t_now)
sleep 4
for to in "$IP_P:$BS_CLOUD_RTP" "$IP_P:$P1_RTP"; do
	out=$("$PYTHON" "$LIB_DIR/ha/flow_check.py" "${CAP[vb]}" --from "$VIP:$MEDIA_RELAY_PORTS" \
		--to "$to" --after "$t_new" --flows 1 --min-packets 100) ||
		fail "the new call's media through node B did not reach $to: $out"
done
bs_do pbx1 hangup
bs_wait_count cloud "$ENDED" $((ended + 1)) "the BYE of the new call"
tone_after cloud 3 "$P1_TONE" "$t_call4" "$t_call4"
tone_after pbx1 2 "$BS_CLOUD_TONE" "$t_call4" "$t_call4"
n=$(bs_srtp_errors cloud)
[ "$n" = 0 ] || fail "the cloud failed to decrypt $n SRTP/SRTCP packets"

for p in va vb; do kill -INT "${CAPPID[$p]}" 2>/dev/null || true; done
media_cleanup
[ "$LENIENT_MISSED" = 0 ] || pass "LENIENT: $LENIENT_MISSED check(s) of tlstrunk's failover did not hold (see the LENIENT lines); the harness worked"
pass "VIP moved to node B $(secs "$t_kill" "$t_vip") s after node A's kill, 3 calls (2 from the PBX, 1 from the cloud via Kamailio) restored, media back through B ${resumed:-?} s after it (5 endpoints), tones heard after it, 0 SRTP failures; BYEs from the PBX and from the cloud through B, records deleted; a new call through B"
