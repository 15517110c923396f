# tests/lib.sh - shared helpers for tests/integration/*.sh, tests/run.sh and
# deploy/demo.sh. Source it; it does not run anything by itself.
#
# Fixed loopback topology (see tests/cloud/kamailio.cfg.in):
#   PBX sipp UAC          127.0.0.1:5070           -> tlstrunk 127.0.0.1:15060 udp/tcp
#   PBX sipp UAS          127.0.0.1:5090           <- tlstrunk
#   tlstrunk TLS server   127.0.0.1:15061          (cert "sbc", sbc.test.example)
#   Kamailio "cloud"      tls:127.0.0.2:5061 (lb01.voice.use1.pure.cloud), udp:127.0.0.2:5060
#   cloud sipp UAS        127.0.0.3:5080           <- Kamailio (udp)
#   cloud sipp UAC        127.0.0.3:5070           -> Kamailio 127.0.0.2:5060 udp
#
# Every process started through these helpers is recorded and killed by the
# EXIT trap that test_init installs: a test never leaves anything behind.

# shellcheck disable=SC2034  # constants are used by the sourcing scripts
LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LIB_DIR/.." && pwd)

PBX_IP=127.0.0.1
SBC_PBX_PORT=15060          # tlstrunk, PBX side (udp+tcp)
PBX_UAS_PORT=5090           # the PBX itself (sipp UAS) for calls from the cloud
SBC_TLS_IP=127.0.0.1
SBC_TLS_PORT=15061          # tlstrunk's TLS server
SBC_NAME=sbc.test.example
CLOUD_IP=127.0.0.2
CLOUD_TLS_PORT=5061
CLOUD_UDP_PORT=5060
CLOUD_NAME=lb01.voice.use1.pure.cloud
UAS_IP=127.0.0.3
UAS_PORT=5080
TGRP=TestTrunk
TRUNK_CONTEXT=use1.test.example
# The eight suites the cloud accepts (byoc-tls.md), ECDHE-GCM first.
CLOUD_CIPHERS="ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384:AES256-SHA256:AES256-SHA"

# Packages the tests and the demo need on Debian 12.
DEB_PACKAGES="build-essential cmake pkg-config libssl-dev libuv1-dev libsofia-sip-ua-dev
libsrtp2-dev libinih-dev libcriterion-dev sip-tester kamailio kamailio-tls-modules
openssl iproute2 ca-certificates baresip-core tcpdump python3 python3-cryptography tshark sngrep sslscan
prometheus lintian dpkg-dev libhiredis-dev libpcre2-dev redis-server keepalived"
# Installed by the tests that need them, when missing: debootstrap
# (tests/rootfs.sh), docker.io (tests/container/lib.sh).

: "${TLSTRUNK_BIN:=build/tlstrunk}"
# A relative binary path is relative to the repository root.
case $TLSTRUNK_BIN in /*) ;; *) TLSTRUNK_BIN=$REPO_ROOT/$TLSTRUNK_BIN ;; esac
: "${TLSTRUNK_WORK_ROOT:=${TMPDIR:-/tmp}/tlstrunk-it}"
: "${TLSTRUNK_PKI:=$TLSTRUNK_WORK_ROOT/pki}"
# Seconds a single sipp run may take before it is counted as failed.
: "${SIPP_TIMEOUT:=20}"
# TLSTRUNK_WRAPPER: an optional command prefix for tlstrunk, split on blanks
# (tests/valgrind.sh sets it to a valgrind command line). The PID the tests
# see is still tlstrunk's (valgrind runs it in its own process), and so is
# the exit status. A wrapped tlstrunk starts and exits slowly: the seconds
# start_tlstrunk waits for its listeners and stop_tlstrunk for its exit.
: "${TLSTRUNK_WRAPPER:=}"
if [ -n "$TLSTRUNK_WRAPPER" ]; then
	: "${TLSTRUNK_START_WAIT:=120}" "${TLSTRUNK_STOP_WAIT:=120}"
else
	: "${TLSTRUNK_START_WAIT:=15}" "${TLSTRUNK_STOP_WAIT:=15}"
fi

TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
WORK=
LIB_PIDS=()          # every background process we started (own process group)
TLSTRUNK_PID=
TLSTRUNK_LOG=
KAMAILIO_PID=
LIB_FINISHED=0

# --- messages ----------------------------------------------------------------

log() { echo "[$TEST_NAME] $*" >&2; }

# Show the end of the interesting logs so a failure explains itself.
dump_logs() {
	local f
	[ -n "$WORK" ] && [ -d "$WORK" ] || return 0
	for f in "$WORK"/*.log; do
		[ -s "$f" ] || continue
		echo "----- $f (last 40 lines) -----" >&2
		# Kamailio's start-up INFO lines say nothing about a failure.
		grep -av ' INFO: ' "$f" | tail -n 40 >&2
	done
	echo "----- logs kept in $WORK -----" >&2
}

# fail REASON: the single FAIL line, logs, cleanup, exit 1.
fail() {
	trap - ERR
	local why=$*
	tlstrunk_death_note
	why+=$DEATH_NOTE
	dump_logs
	LIB_FINISHED=1
	stop_everything >/dev/null 2>&1 || true
	echo "FAIL: $TEST_NAME: $why"
	exit 1
}

# A crash is the likeliest cause of a failed call: say so when tlstrunk is
# no longer running although nobody stopped it.
# Sets DEATH_NOTE (no subshell: wait must run in the shell that started it).
tlstrunk_death_note() {
	local st=0
	DEATH_NOTE=
	[ -n "$TLSTRUNK_PID" ] || return 0
	kill -0 "$TLSTRUNK_PID" 2>/dev/null && return 0
	wait "$TLSTRUNK_PID" 2>/dev/null || st=$?
	TLSTRUNK_PID=
	DEATH_NOTE=" (tlstrunk had died, exit status $st)"
}

# pass REASON: stops tlstrunk first (its exit status counts: an ASan leak
# report makes it non-zero), then the single PASS line and exit 0.
pass() {
	if [ -n "$TLSTRUNK_PID" ]; then
		stop_tlstrunk || fail "tlstrunk did not exit cleanly (see $TLSTRUNK_LOG)"
	fi
	LIB_FINISHED=1
	stop_everything
	echo "PASS: $TEST_NAME: $*"
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
	exit 0
}

# --- lifecycle ---------------------------------------------------------------

# test_init: per-test work dir, PKI, cleanup traps.
test_init() {
	mkdir -p "$TLSTRUNK_WORK_ROOT"
	WORK=$(mktemp -d "$TLSTRUNK_WORK_ROOT/$TEST_NAME.XXXXXX")
	trap lib_on_exit EXIT
	trap 'fail "interrupted"' INT TERM
	# Any unexpected command failure is a test failure with a line number.
	trap 'fail "unexpected error at line $LINENO: $BASH_COMMAND"' ERR
	"$LIB_DIR/pki.sh" "$TLSTRUNK_PKI" || fail "PKI generation failed"
	PKI=$TLSTRUNK_PKI
}

lib_on_exit() {
	local rc=$?
	stop_everything >/dev/null 2>&1 || true
	if [ "$LIB_FINISHED" = 0 ] && [ "$rc" != 0 ]; then
		echo "FAIL: $TEST_NAME: exited with status $rc"
	fi
}

# spawn LOGFILE CMD...: start CMD in the background in its own process group
# (so that the group, i.e. the process and its children, can be killed),
# stdin from /dev/null, stdout+stderr to LOGFILE. Sets SPAWNED_PID.
# A non-interactive bash starts background jobs with SIGINT ignored; env
# restores the default, so CMD sees SIGINT as it would from a terminal.
spawn() {
	local logf=$1; shift
	setsid env --default-signal=INT "$@" </dev/null >"$logf" 2>&1 &
	SPAWNED_PID=$!
	LIB_PIDS+=("$SPAWNED_PID")
}

# kill_group PID: TERM the process group PID leads, KILL it if it lingers.
kill_group() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

stop_everything() {
	local pid
	for pid in "${LIB_PIDS[@]}"; do
		kill_group "$pid"
	done
	LIB_PIDS=()
	TLSTRUNK_PID=
	KAMAILIO_PID=
}

# --- waiting -------------------------------------------------------------------

# port_listening udp|tcp IP PORT
port_listening() {
	local flag=t
	[ "$1" = udp ] && flag=u
	# awk reads all of ss's output: with grep -q quitting at the first
	# match, a long listing (thousands of media sockets) died of SIGPIPE
	# and pipefail turned the match into a failure.
	ss -Hln$flag 2>/dev/null | awk -v a="$2:$3" '$4 == a { f = 1 } END { exit !f }'
}

# wait_port udp|tcp IP PORT [SECONDS] [PID]: fails early when PID dies.
wait_port() {
	local proto=$1 ip=$2 port=$3 secs=${4:-10} pid=${5:-} i
	for i in $(seq 1 $((secs * 10))); do
		port_listening "$proto" "$ip" "$port" && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}

# require_free_port udp|tcp IP PORT: fail unless nobody listens there (a
# leftover process from an earlier run would make the test measure the wrong
# thing). Waits a little first: a process that is just exiting may hold it.
require_free_port() {
	local i
	for i in $(seq 1 50); do
		port_listening "$1" "$2" "$3" || return 0
		sleep 0.1
	done
	if port_listening "$1" "$2" "$3"; then
		fail "$1 $2:$3 is already in use (leftover process?): $(ss -Hlnp"${1:0:1}" | grep "$2:$3" | head -1)"
	fi
}

# wait_grep FILE REGEX [SECONDS]: wait until FILE has a line matching REGEX.
wait_grep() {
	local f=$1 re=$2 secs=${3:-10} i
	for i in $(seq 1 $((secs * 10))); do
		grep -Eq -- "$re" "$f" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- Kamailio cloud stand-in -------------------------------------------------

kamailio_mpath() {
	local d
	for d in /usr/lib/*/kamailio/modules /usr/lib/kamailio/modules /usr/lib64/kamailio/modules; do
		[ -f "$d/tls.so" ] && { echo "$d"; return 0; }
	done
	echo "/usr/lib/x86_64-linux-gnu/kamailio/modules"
}

# render_cloud_config DIR [CERTNAME]: kamailio.cfg and tls.cfg into DIR.
render_cloud_config() {
	local dir=$1 cert=${2:-cloud} f
	mkdir -p "$dir"
	for f in kamailio.cfg tls.cfg; do
		sed -e "s|@PKI@|$PKI|g" \
		    -e "s|@WORK@|$dir|g" \
		    -e "s|@MPATH@|$(kamailio_mpath)|g" \
		    -e "s|@CLOUD_IP@|$CLOUD_IP|g" \
		    -e "s|@CLOUD_TLS_PORT@|$CLOUD_TLS_PORT|g" \
		    -e "s|@CLOUD_UDP_PORT@|$CLOUD_UDP_PORT|g" \
		    -e "s|@CLOUD_NAME@|$CLOUD_NAME|g" \
		    -e "s|@CLOUD_CERT@|$cert|g" \
		    -e "s|@UAS_ADDR@|$UAS_IP:$UAS_PORT|g" \
		    -e "s|@SBC_ADDR@|$SBC_TLS_IP:$SBC_TLS_PORT|g" \
		    -e "s|@SBC_NAME@|$SBC_NAME|g" \
		    -e "s|@SBC_PORT@|$SBC_TLS_PORT|g" \
		    -e "s|@CIPHERS@|$CLOUD_CIPHERS|g" \
		    "$LIB_DIR/cloud/$f.in" >"$dir/$f"
	done
	if grep -q '@[A-Z_]*@' "$dir/kamailio.cfg" "$dir/tls.cfg"; then
		fail "unrendered placeholder in $dir: $(grep -ho '@[A-Z_]*@' "$dir"/*.cfg | sort -u | tr '\n' ' ')"
	fi
}

# Kamailio must resolve its advertised name (lb01.voice.use1.pure.cloud)
# when it parses `listen=... advertise NAME`, and nothing here may touch the
# real /etc/hosts or DNS. So Kamailio gets a private hosts file: in a mount
# namespace of its own (root with CAP_SYS_ADMIN, as in CI) with the file
# bind-mounted over /etc/hosts, or else through nss_wrapper (package
# libnss-wrapper) when that is installed.
write_cloud_hosts() {
	cat >"$1" <<EOF
127.0.0.1 localhost
$CLOUD_IP $CLOUD_NAME ${CLOUD_NAME/lb01/lb02}
$SBC_TLS_IP $SBC_NAME
EOF
}

# with_hosts_prefix HOSTSFILE: sets HOSTS_PREFIX (an array), the command
# prefix that runs a program with HOSTSFILE as its /etc/hosts.
with_hosts_prefix() {
	local hosts=$1 lib
	if unshare -m true 2>/dev/null; then
		# unshare(1) makes mounts private by default: nothing leaks out.
		# shellcheck disable=SC2016
		HOSTS_PREFIX=(unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$hosts")
		return 0
	fi
	for lib in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
		if [ -f "$lib" ]; then
			HOSTS_PREFIX=(env LD_PRELOAD="$lib" NSS_WRAPPER_HOSTS="$hosts")
			return 0
		fi
	done
	fail "cannot give kamailio a private /etc/hosts: need root with unshare -m, or apt-get install libnss-wrapper"
}

# start_kamailio [CERTNAME]: render, check the config, start in the
# foreground (-DD: no daemon, -E: log to stderr) with its own run dir; the
# log is $WORK/kamailio.log. Waits until both sockets listen.
start_kamailio() {
	local dir=$WORK/cloud
	render_cloud_config "$dir" "${1:-cloud}"
	mkdir -p "$dir/run"
	write_cloud_hosts "$dir/hosts"
	with_hosts_prefix "$dir/hosts"
	require_free_port tcp "$CLOUD_IP" "$CLOUD_TLS_PORT"
	require_free_port udp "$CLOUD_IP" "$CLOUD_UDP_PORT"
	if ! "${HOSTS_PREFIX[@]}" kamailio -c -f "$dir/kamailio.cfg" >"$dir/check.log" 2>&1; then
		cp "$dir/check.log" "$WORK/kamailio.log"
		fail "kamailio rejected its configuration (see $dir/check.log)"
	fi
	spawn "$WORK/kamailio.log" "${HOSTS_PREFIX[@]}" kamailio -DD -E -f "$dir/kamailio.cfg" \
		-P "$dir/run/kamailio.pid" -Y "$dir/run" -w "$dir" -m 64 -M 8
	KAMAILIO_PID=$SPAWNED_PID
	if ! { wait_port tcp "$CLOUD_IP" "$CLOUD_TLS_PORT" 15 "$KAMAILIO_PID" &&
	       wait_port udp "$CLOUD_IP" "$CLOUD_UDP_PORT" 5 "$KAMAILIO_PID"; }; then
		fail "kamailio did not start listening on $CLOUD_IP:$CLOUD_TLS_PORT/$CLOUD_UDP_PORT"
	fi
	# The processes listen before the TLS domains are ready in every child;
	# a short settle time avoids a racy first handshake.
	sleep 0.3
}

stop_kamailio() {
	[ -n "$KAMAILIO_PID" ] || return 0
	kill_group "$KAMAILIO_PID"
	KAMAILIO_PID=
}

# cloud_rx [GREP-ARGS...]: the CLOUD-RX request lines seen so far.
cloud_rx() { grep -a 'CLOUD-RX method=' "$WORK/kamailio.log" | sed 's/^.*CLOUD-RX /CLOUD-RX /' || true; }

# field LINE NAME: value of NAME=... in a CLOUD-RX line (up to the next space,
# or the bracketed value for rr=[...] / route=[...]).
field() {
	local line=$1 name=$2
	case $line in
	*" $name=["*) sed -E "s/.* $name=\[([^]]*)\].*/\1/" <<<"$line" ;;
	*" $name="*) sed -E "s/.* $name=([^ ]*).*/\1/" <<<"$line" ;;
	esac
}

# --- tlstrunk -----------------------------------------------------------------

# write_tlstrunk_config FILE: the standard test configuration.
write_tlstrunk_config() {
	cat >"$1" <<EOF
[general]
log_level = debug
admin_listen =

[pbx]
listen = $PBX_IP:$SBC_PBX_PORT
transports = udp,tcp
address = $PBX_IP:$PBX_UAS_PORT
allow = 127.0.0.1/32
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
EOF
}

require_tlstrunk() {
	[ -x "$TLSTRUNK_BIN" ] || fail "tlstrunk binary not found at $TLSTRUNK_BIN (set TLSTRUNK_BIN or build first)"
}

# start_tlstrunk [CONFIG [LOG]]: run it in the foreground of its own process
# group, stderr to LOG (default $WORK/tlstrunk.log, kept in TLSTRUNK_LOG);
# wait for all three listeners.
start_tlstrunk() {
	local cfg=${1:-$WORK/tlstrunk.ini}
	TLSTRUNK_LOG=${2:-$WORK/tlstrunk.log}
	require_tlstrunk
	[ -f "$cfg" ] || write_tlstrunk_config "$cfg"
	require_free_port udp "$PBX_IP" "$SBC_PBX_PORT"
	require_free_port tcp "$PBX_IP" "$SBC_PBX_PORT"
	require_free_port tcp "$SBC_TLS_IP" "$SBC_TLS_PORT"
	local -a wrapper=()
	read -ra wrapper <<<"$TLSTRUNK_WRAPPER"
	spawn "$TLSTRUNK_LOG" "${wrapper[@]}" "$TLSTRUNK_BIN" -c "$cfg"
	TLSTRUNK_PID=$SPAWNED_PID
	if ! { wait_port udp "$PBX_IP" "$SBC_PBX_PORT" "$TLSTRUNK_START_WAIT" "$TLSTRUNK_PID" &&
	       wait_port tcp "$PBX_IP" "$SBC_PBX_PORT" 5 "$TLSTRUNK_PID" &&
	       wait_port tcp "$SBC_TLS_IP" "$SBC_TLS_PORT" 5 "$TLSTRUNK_PID"; }; then
		if ! kill -0 "$TLSTRUNK_PID" 2>/dev/null; then
			local rc=0
			wait "$TLSTRUNK_PID" || rc=$?
			TLSTRUNK_PID=
			fail "tlstrunk exited with status $rc during start-up"
		fi
		fail "tlstrunk is not listening on udp+tcp $PBX_IP:$SBC_PBX_PORT and tcp $SBC_TLS_IP:$SBC_TLS_PORT"
	fi
}

# stop_tlstrunk: SIGINT, wait (ASan's leak check can take a few seconds);
# returns non-zero when it exited non-zero or had to be killed.
stop_tlstrunk() {
	local pid=$TLSTRUNK_PID rc=0 i
	[ -n "$pid" ] || return 0
	TLSTRUNK_PID=
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" || rc=$?
		log "tlstrunk had already exited with status $rc"
		[ "$rc" = 0 ] && rc=1   # it must run until told to stop
		return "$rc"
	fi
	kill -INT "$pid"
	for i in $(seq 1 $((TLSTRUNK_STOP_WAIT * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "tlstrunk ignored SIGINT for $TLSTRUNK_STOP_WAIT s; killing it"
		kill_group "$pid"
		return 1
	fi
	wait "$pid" || rc=$?
	# Its process group may still hold nothing; make sure.
	kill -KILL -- "-$pid" 2>/dev/null || true
	if [ "$rc" != 0 ]; then
		log "tlstrunk exited with status $rc"
		grep -aE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$TLSTRUNK_LOG" | head -5 >&2 || true
	fi
	return "$rc"
}

# --- sipp -------------------------------------------------------------------------

# sipp_common NAME: options every run shares. Message and error logs go to
# $WORK/sipp-NAME.{msg,err}.log, the screen to $WORK/sipp-NAME.log.
sipp_common() {
	local name=$1
	echo -nostdin -trace_msg -message_file "$WORK/sipp-$name.msg.log" \
		-trace_err -error_file "$WORK/sipp-$name.err.log" \
		-timeout "${SIPP_TIMEOUT}s" -timeout_error -max_socket 64
}

# sipp_run NAME SCENARIO ARGS...: run a sipp client in the foreground with
# a hard timeout; returns sipp's exit status (0 = every call succeeded).
sipp_run() {
	local name=$1 scen=$2; shift 2
	local rc=0
	# shellcheck disable=SC2046
	timeout -k 5 $((SIPP_TIMEOUT + 10)) sipp -sf "$LIB_DIR/sipp/$scen" \
		$(sipp_common "$name") "$@" </dev/null >"$WORK/sipp-$name.log" 2>&1 || rc=$?
	[ "$rc" = 0 ] || log "sipp $name ($scen) exited with status $rc"
	return "$rc"
}

# sipp_start NAME SCENARIO IP PORT ARGS...: start a sipp server in the
# background (waits until its UDP port is bound). Sets SIPP_PID.
sipp_start() {
	local name=$1 scen=$2 ip=$3 port=$4; shift 4
	require_free_port udp "$ip" "$port"
	# shellcheck disable=SC2046
	spawn "$WORK/sipp-$name.log" sipp -sf "$LIB_DIR/sipp/$scen" \
		$(sipp_common "$name") -i "$ip" -p "$port" "$@"
	SIPP_PID=$SPAWNED_PID
	wait_port udp "$ip" "$port" 5 "$SIPP_PID" || fail "sipp $name did not bind $ip:$port"
}

# sipp_wait PID [SECONDS]: wait for a background sipp; its exit status.
sipp_wait() {
	local pid=$1 secs=${2:-$((SIPP_TIMEOUT + 10))} i rc=0
	for i in $(seq 1 $((secs * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill_group "$pid"
		return 124
	fi
	wait "$pid" || rc=$?
	return "$rc"
}

# --- packages (tests/run.sh and deploy/demo.sh) --------------------------------

# install_deps: apt-get install whatever of DEB_PACKAGES is missing.
install_deps() {
	local missing=() p
	for p in $DEB_PACKAGES; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing: ${missing[*]}" >&2
	if [ "$(id -u)" != 0 ]; then
		echo "not root: install these packages first: ${missing[*]}" >&2
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
