#!/usr/bin/env bash
# tests/flood/run.sh - on-demand flood test of tlstrunk's [limits] (not part
# of tests/run.sh: it takes about three minutes and wants the machine).
#
# One tlstrunk (PBX side allow 127.0.0.0/8), the Kamailio cloud stand-in and
# a sipp UAS behind it, as in tests/integration. Three phases, each bounded
# in count and time; during every phase legitimate callers from addresses
# of their own place calls at a steady modest rate (sipp, pbx_uac.xml):
# 127.0.0.4 over UDP, 127.0.0.6 over TCP (its connection is opened before
# the flood, so it holds a slot).
#
#  1. CPS flood: sipp from 127.0.0.5 at 10 x max_cps_per_source. Asserts:
#     every legitimate call completes; every flood call gets 200 or 503;
#     no more flood calls admitted than the token bucket allows; tlstrunk's
#     refusal counter equals the flood's 503s (nobody else was refused).
#  2. Idle connections: 500 TCP connections to the PBX port from
#     127.0.1.1-20 (25 each), then 1,000 TLS connections (full handshake)
#     from 127.0.2.1-40, all idle (flood.py idle). max_connections is a
#     budget per listener. Asserts: at most max_connections_per_source
#     accepted per source (so 400 TCP), the TLS listener filled exactly to
#     max_connections (the limit, not something else, refused the rest),
#     a newcomer on the PBX port (127.0.0.7) still gets in while the TLS
#     port is full, legitimate calls keep completing, idle_timeout closes
#     every accepted one, descriptors return to where they were, a new
#     connection is accepted afterwards.
#  3. Slowloris: clients that dribble a SIP message byte by byte on the PBX
#     TCP port and over TLS, and a TLS ClientHello byte by byte (flood.py
#     slow). Asserts: every one is cut by message_timeout / handshake_timeout
#     (never later than the deadline plus the check interval), legitimate
#     calls keep completing.
#
# Each phase prints the legitimate calls attempted/completed, what the flood
# got, tlstrunk's peak RSS in the phase (VmHWM, reset per phase through
# /proc/PID/clear_refs), its RSS and descriptors, and whether it is alive.
# The last line is PASS or FAIL (exit status 1).
#
# Run it in a private network namespace (the loopback addresses are fixed):
#   unshare -n bash -c 'ip link set lo up; tests/flood/run.sh'
# Environment: TLSTRUNK_BIN, TLSTRUNK_WORK_ROOT (tests/lib.sh), KEEP_WORK=1,
# and the knobs below (CPS_LIMIT, MAX_CONNECTIONS, ...). PHASES="2" runs one
# phase, PHASES="1 1 1" repeats one (RSS growth from round to round);
# TLSTRUNK_NOFILE=1024 gives tlstrunk that descriptor limit (what a flood
# does when the limit is below what [limits] allows).
# The phases run through "phase_$p"; the assertions are eval'd strings
# (their variables look unused and their $ unexpanded to shellcheck):
# shellcheck disable=SC2317,SC2016,SC2034
set -eEuo pipefail
TEST_NAME=flood
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
FLOOD_DIR=$LIB_DIR/flood

# --- knobs ---------------------------------------------------------------------
: "${CPS_LIMIT:=20}"                 # [limits] max_cps_per_source
: "${FLOOD_CPS:=$((CPS_LIMIT * 10))}"
: "${FLOOD_SECONDS:=20}"             # phase 1 flood length
: "${LEGIT_UDP_CPS:=3}"              # legitimate callers, each phase
: "${LEGIT_TCP_CPS:=2}"
: "${MAX_CONNECTIONS:=700}"          # [limits] max_connections (per listener)
: "${PER_SOURCE:=20}"                # [limits] max_connections_per_source
: "${IDLE_SOURCES:=40}"              # phase 2: TLS sources
: "${IDLE_TCP_SOURCES:=20}"          #   PBX TCP sources
: "${IDLE_PER_SOURCE:=25}"           #   x connections each = 1,000 / 500
: "${IDLE_TIMEOUT:=20}"              # [limits] idle_timeout
: "${MSG_TIMEOUT:=5}"                # [limits] message_timeout
: "${HS_TIMEOUT:=5}"                 # [limits] handshake_timeout
: "${SLOW_CLIENTS:=100}"             # phase 3: clients per kind (x3)
: "${SLOW_SECONDS:=30}"
: "${MAX_RSS_MB:=256}"               # peak RSS bound (not under ASan)
: "${PHASES:=1 2 3}"                 # which phases to run, e.g. "2" or "1 1 1"
: "${TLSTRUNK_NOFILE:=}"             # set tlstrunk's descriptor limit (prlimit)

LEGIT_UDP_IP=127.0.0.4
LEGIT_TCP_IP=127.0.0.6
FLOOD_IP=127.0.0.5
ADMIN=127.0.0.1:19090
FAILS=()
LEGIT_ALL_MADE=0 LEGIT_ALL_OK=0
RUN=0
declare -A PHASE_SEEN=()

# check MESSAGE CONDITION: evaluate the shell CONDITION; when false, print
# and remember MESSAGE (the run goes on; the verdict comes at the end).
check() {
	if ! eval "$2"; then
		FAILS+=("$1")
		echo "    ** FAILED: $1"
	fi
}

# --- tlstrunk state -------------------------------------------------------------

status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$TLSTRUNK_PID/status" 2>/dev/null || echo 0; }
fd_count() { find "/proc/$TLSTRUNK_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
tcp_count() { ss -Htnp state established 2>/dev/null | grep -c "pid=$TLSTRUNK_PID," || true; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$TLSTRUNK_PID/stat" 2>/dev/null || echo 0; }
metric() { # metric NAME: a value from /metrics (0 when absent)
	curl -s --max-time 2 "http://$ADMIN/metrics" 2>/dev/null |
		awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }'
}

alive() {
	[ -n "$TLSTRUNK_PID" ] && kill -0 "$TLSTRUNK_PID" 2>/dev/null
}

# phase_begin NAME: reset the peak RSS, start sampling RSS and descriptors.
phase_begin() {
	RUN=$((RUN + 1))
	PHASE=$1
	# A repeated phase (PHASES="1 1 2") keeps its logs apart.
	[ -z "${PHASE_SEEN[$1]:-}" ] || PHASE+=".$RUN"
	PHASE_SEEN[$1]=1
	alive || fail "tlstrunk is not running at the start of $PHASE"
	# "5" resets VmHWM to the current RSS (proc(5), Linux >= 4.0).
	HWM_RESET=1
	echo 5 >"/proc/$TLSTRUNK_PID/clear_refs" 2>/dev/null || HWM_RESET=0
	PHASE_T0=$SECONDS
	PHASE_CPU0=$(cpu_ticks)
	PHASE_FD0=$(fd_count)
	PHASE_RSS0=$(status_kb VmRSS)
	spawn "$WORK/samples-$PHASE.log" bash -c '
		while kill -0 "$0" 2>/dev/null; do
			echo "$(awk "/^VmRSS:/ { print \$2 }" /proc/$0/status) $(ls /proc/$0/fd | wc -l)"
			sleep 0.5
		done' "$TLSTRUNK_PID"
	SAMPLER_PID=$SPAWNED_PID
	echo
	echo "=== phase $PHASE (tlstrunk: RSS $((PHASE_RSS0 / 1024)) MiB, $PHASE_FD0 descriptors)"
}

# phase_end: the per-phase resource lines; fails when tlstrunk died.
phase_end() {
	kill_group "$SAMPLER_PID"
	if ! alive; then
		tlstrunk_death_note
		fail "tlstrunk died during $PHASE$DEATH_NOTE"
	fi
	local hwm rss peak_fd peak_rss cpu
	hwm=$(status_kb VmHWM)
	rss=$(status_kb VmRSS)
	read -r peak_rss peak_fd < <(awk 'NF == 2 { if ($1 > r) r = $1; if ($2 > f) f = $2 }
		END { print r + 0, f + 0 }' "$WORK/samples-$PHASE.log")
	cpu=$(awk -v t="$(($(cpu_ticks) - PHASE_CPU0))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }')
	printf '  tlstrunk: alive, peak RSS %d MiB (VmHWM%s; sampled peak %d MiB), RSS now %d MiB (at start %d), descriptors peak %d, now %d (at start %d), CPU %s s, phase %d s\n' \
		$((hwm / 1024)) "$([ "$HWM_RESET" = 1 ] || echo ' since start')" $((peak_rss / 1024)) \
		$((rss / 1024)) $((PHASE_RSS0 / 1024)) "$peak_fd" "$(fd_count)" "$PHASE_FD0" "$cpu" \
		$((SECONDS - PHASE_T0))
	if [ -z "$ASAN" ] && [ "$hwm" -gt $((MAX_RSS_MB * 1024)) ]; then
		check "$PHASE: peak RSS $((hwm / 1024)) MiB above $MAX_RSS_MB MiB" false
	fi
}

# --- sipp -----------------------------------------------------------------------

# legit_start NAME u1|t1 IP PORT CPS SECONDS: a legitimate PBX caller in the
# background (pbx_uac.xml: INVITE, 200, ACK, 0.5 s, BYE). Sets LEGIT_PID.
legit_start() {
	local name=$1 tp=$2 ip=$3 port=$4 cps=$5 secs=$6
	rm -f "$WORK/sipp-$name".*
	spawn "$WORK/sipp-$name.log" sipp -sf "$LIB_DIR/sipp/pbx_uac.xml" -nostdin \
		-t "$tp" -i "$ip" -p "$port" -s +13175550100 -r "$cps" -m $((cps * secs)) \
		-trace_stat -stf "$WORK/sipp-$name.stat.csv" -fd 1 \
		-trace_msg -message_file "$WORK/sipp-$name.msg.log" \
		-trace_err -error_file "$WORK/sipp-$name.err.log" \
		-recv_timeout 15000 -timeout $((secs + 60))s -timeout_error -max_socket 64 \
		"$PBX_IP:$SBC_PBX_PORT"
	LEGIT_PID=$SPAWNED_PID
}

# sipp_stat FILE COLUMN: a column of the last line of sipp's -trace_stat file.
sipp_stat() {
	awk -F';' -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
		{ v = $c } END { print v + 0 }' "$1" 2>/dev/null || echo 0
}

# legit_end NAME PID: wait for a legitimate caller; its line; asserts all
# its calls completed.
legit_end() {
	local name=$1 pid=$2 rc=0 made ok failed
	sipp_wait "$pid" 600 || rc=$?
	made=$(sipp_stat "$WORK/sipp-$name.stat.csv" 'TotalCallCreated')
	ok=$(sipp_stat "$WORK/sipp-$name.stat.csv" 'SuccessfulCall(C)')
	failed=$(sipp_stat "$WORK/sipp-$name.stat.csv" 'FailedCall(C)')
	echo "  legitimate $name: $made calls attempted, $ok completed, $failed failed (sipp exit $rc)"
	LEGIT_MADE=$((LEGIT_MADE + made)); LEGIT_OK=$((LEGIT_OK + ok))
	check "$PHASE: legitimate caller $name: $ok of $made calls completed (sipp exit $rc)" \
		'[ "$rc" = 0 ] && [ "$made" -gt 0 ] && [ "$ok" = "$made" ]'
}

# legit_pair SECONDS: both legitimate callers; waits for the TCP one's
# connection so that it exists before any flood starts.
legit_pair() {
	LEGIT_MADE=0 LEGIT_OK=0
	legit_start "$PHASE-udp" u1 "$LEGIT_UDP_IP" 5070 "$LEGIT_UDP_CPS" "$1"
	UDP_PID=$LEGIT_PID
	legit_start "$PHASE-tcp" t1 "$LEGIT_TCP_IP" 5071 "$LEGIT_TCP_CPS" "$1"
	TCP_PID=$LEGIT_PID
	for _ in $(seq 1 50); do
		ss -Htn state established "( src $LEGIT_TCP_IP and dport = :$SBC_PBX_PORT )" | grep -q . && break
		sleep 0.1
	done
	sleep 1
}

legit_pair_end() {
	legit_end "$PHASE-udp" "$UDP_PID"
	legit_end "$PHASE-tcp" "$TCP_PID"
	echo "  legitimate calls in all: $LEGIT_OK of $LEGIT_MADE completed"
	LEGIT_ALL_MADE=$((LEGIT_ALL_MADE + LEGIT_MADE)); LEGIT_ALL_OK=$((LEGIT_ALL_OK + LEGIT_OK))
}

# --- set-up ------------------------------------------------------------------------

# Two thousand connections on each side of the loopback, plus tlstrunk's own.
hard=$(ulimit -Hn)
want=16384
[ "$hard" = unlimited ] || [ "$hard" -ge "$want" ] || want=$hard
[ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$want" ] && ulimit -Sn "$want"
[ "$(ulimit -Sn)" = unlimited ] || [ "$(ulimit -Sn)" -ge $((2 * MAX_CONNECTIONS + 2 * IDLE_SOURCES * IDLE_PER_SOURCE + 200)) ] ||
	{ echo "FAIL: $TEST_NAME: ulimit -n is $(ulimit -Sn), too low (raise the hard limit)"; exit 1; }
for tool in sipp python3 ss curl kamailio; do
	command -v "$tool" >/dev/null || { echo "FAIL: $TEST_NAME: $tool is not installed"; exit 1; }
done
# Refuse to run on the shared loopback: another run would collide with ours.
if [ -z "${FLOOD_SHARED_NET:-}" ] && [ "$(ip -o link 2>/dev/null | grep -vc ': lo:')" != 0 ]; then
	echo "FAIL: $TEST_NAME: run me in a private network namespace: unshare -n bash -c 'ip link set lo up; $0'" \
		"(or set FLOOD_SHARED_NET=1)"
	exit 1
fi

ASAN=
if ldd "$TLSTRUNK_BIN" 2>/dev/null | grep -q libasan || nm -D "$TLSTRUNK_BIN" 2>/dev/null | grep -q __asan_init; then
	ASAN=1
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

test_init
START=$SECONDS
start_kamailio cloud
cfg=$WORK/tlstrunk.ini
write_tlstrunk_config "$cfg"
sed -i -e 's/^log_level = .*/log_level = info/' \
	-e "s/^admin_listen =.*/admin_listen = $ADMIN/" \
	-e 's|^allow = .*|allow = 127.0.0.0/8|' "$cfg"
cat >>"$cfg" <<EOF

[limits]
max_connections = $MAX_CONNECTIONS
max_connections_per_source = $PER_SOURCE
max_cps_per_source = $CPS_LIMIT
max_calls = 2000
max_calls_per_source = 1000
handshake_timeout = $HS_TIMEOUT
idle_timeout = $IDLE_TIMEOUT
message_timeout = $MSG_TIMEOUT
EOF
start_tlstrunk "$cfg"
if [ -n "$TLSTRUNK_NOFILE" ]; then
	prlimit --pid "$TLSTRUNK_PID" --nofile="$TLSTRUNK_NOFILE:$TLSTRUNK_NOFILE" ||
		fail "prlimit --nofile=$TLSTRUNK_NOFILE failed"
fi
# The cloud UAS answers every call of the run (no -m, no -timeout).
spawn "$WORK/sipp-cloud-uas.log" sipp -sf "$LIB_DIR/sipp/cloud_uas.xml" -nostdin \
	-i "$UAS_IP" -p "$UAS_PORT" -trace_err -error_file "$WORK/sipp-cloud-uas.err.log" \
	-max_socket 64
UAS_PID=$SPAWNED_PID
wait_port udp "$UAS_IP" "$UAS_PORT" 5 "$UAS_PID" || fail "the cloud sipp UAS did not start"
# One call first: the TLS connection to the cloud is up before any flood.
rc=0
sipp_run warmup pbx_uac.xml -i "$LEGIT_UDP_IP" -p 5070 -s +13175550100 -m 1 "$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "the warm-up call failed (sipp exit $rc)"
echo "tlstrunk $TLSTRUNK_BIN${ASAN:+ (ASan/UBSan)}, pid $TLSTRUNK_PID; limits: max_cps_per_source $CPS_LIMIT," \
	"max_connections $MAX_CONNECTIONS, max_connections_per_source $PER_SOURCE, idle_timeout $IDLE_TIMEOUT," \
	"message_timeout $MSG_TIMEOUT, handshake_timeout $HS_TIMEOUT; descriptor limit $(awk '/^Max open files/ { print $4 }' "/proc/$TLSTRUNK_PID/limits")"

# --- phase 1: CPS flood ----------------------------------------------------------

phase_1() {
	phase_begin 1-cps
	refused0=$(metric tlstrunk_calls_refused_total)
	legit_pair $((FLOOD_SECONDS + 4))
	flood_n=$((FLOOD_CPS * FLOOD_SECONDS))
	echo "  flood: $flood_n calls at $FLOOD_CPS cps from $FLOOD_IP (limit $CPS_LIMIT cps per source)"
	rm -f "$WORK/sipp-$PHASE-flood".*
	t0=$(date +%s.%N)
	rc=0
	timeout -k 5 $((FLOOD_SECONDS * 3 + 30)) sipp -sf "$FLOOD_DIR/flood_uac.xml" -nostdin \
		-i "$FLOOD_IP" -p 5072 -s +13175550111 -r "$FLOOD_CPS" -m "$flood_n" -l 5000 \
		-trace_logs -log_file "$WORK/sipp-$PHASE-flood.calls.log" \
		-trace_stat -stf "$WORK/sipp-$PHASE-flood.stat.csv" -fd 1 \
		-trace_err -error_file "$WORK/sipp-$PHASE-flood.err.log" \
		-timeout $((FLOOD_SECONDS * 3 + 20))s -timeout_error \
		"$PBX_IP:$SBC_PBX_PORT" </dev/null >"$WORK/sipp-$PHASE-flood.log" 2>&1 || rc=$?
	flood_secs=$(echo "$(date +%s.%N) - $t0" | bc)
	legit_pair_end
	admitted=$(grep -c '^ADMITTED ' "$WORK/sipp-$PHASE-flood.calls.log" || true)
	refused=$(grep -c '^REFUSED ' "$WORK/sipp-$PHASE-flood.calls.log" || true)
	made=$(sipp_stat "$WORK/sipp-$PHASE-flood.stat.csv" 'TotalCallCreated')
	failed=$(sipp_stat "$WORK/sipp-$PHASE-flood.stat.csv" 'FailedCall(C)')
	refused_metric=$(( $(metric tlstrunk_calls_refused_total) - refused0 ))
	# Token bucket: a burst of one second's worth, then CPS_LIMIT per second.
	allowed=$(echo "$CPS_LIMIT * ($flood_secs + 1) + 2" | bc | cut -d. -f1)
	echo "  flood: $made calls in ${flood_secs%.*} s: $admitted admitted (200), $refused refused (503), $failed failed (sipp exit $rc);" \
		"tlstrunk counted $refused_metric refusals; the bucket allows at most $allowed"
	check "$PHASE: the flood placed $made of $flood_n calls" \
		'[ "$made" = "$flood_n" ]'
	check "$PHASE: flood calls not all answered 200 or 503 (admitted $admitted + refused $refused of $made, $failed failed)" \
		'[ "$refused" -gt 0 ] && [ $((admitted + refused)) = "$made" ] && [ "$failed" = 0 ]'
	check "$PHASE: $admitted flood calls admitted, more than the $allowed the token bucket allows" \
		'[ "$admitted" -le "$allowed" ]'
	check "$PHASE: only $admitted flood calls admitted in ${flood_secs%.*} s at $CPS_LIMIT cps" \
		'[ "$admitted" -ge $((CPS_LIMIT * ${flood_secs%.*} / 2)) ]'
	check "$PHASE: tlstrunk refused $refused_metric calls but the flood got $refused 503s (a legitimate call refused?)" \
		'[ "$refused_metric" = "$refused" ]'
	phase_end
}

# --- phase 2: idle connections ------------------------------------------------------

phase_2() {
	phase_begin 2-idle
	hold=$((IDLE_TIMEOUT + 15))
	legit_pair $((hold + 10))
	base_conns=$(tcp_count)
	echo "  flood: $IDLE_TCP_SOURCES sources x $IDLE_PER_SOURCE idle TCP connections to $PBX_IP:$SBC_PBX_PORT," \
		"then $IDLE_SOURCES x $IDLE_PER_SOURCE in TLS to $SBC_TLS_IP:$SBC_TLS_PORT; tlstrunk already has $base_conns TCP connections"
	rm -f "$WORK/idle.ready" "$WORK/idle.out"
	spawn "$WORK/flood-idle.log" python3 "$FLOOD_DIR/flood.py" idle --ca "$PKI/ca.pem" --sni "$SBC_NAME" \
		--host "$PBX_IP" --tcp-port "$SBC_PBX_PORT" --tls-port "$SBC_TLS_PORT" \
		--tcp-sources "127.0.1.1-$IDLE_TCP_SOURCES" --tls-sources "127.0.2.1-$IDLE_SOURCES" \
		--per-source "$IDLE_PER_SOURCE" --hold "$hold" \
		--probe-source 127.0.0.7 --ready "$WORK/idle.ready" --out "$WORK/idle.out"
	IDLE_PID=$SPAWNED_PID
	wait_grep "$WORK/idle.ready" ready 120 || fail "$PHASE: the connection flood did not come up (see $WORK/flood-idle.log)"
	# shellcheck disable=SC1091
	. "$WORK/idle.out"
	held_conns=$(tcp_count)
	held_fds=$(fd_count)
	held_rss=$(status_kb VmRSS)
	sipp_wait "$IDLE_PID" $((hold + 60)) || check "$PHASE: flood.py idle failed (see $WORK/flood-idle.log)" false
	legit_pair_end
	sed 's/^/ /' "$WORK/flood-idle.log"
	echo "  while the flood was up: tlstrunk had $held_conns TCP connections (limit $MAX_CONNECTIONS per listener)," \
		"$held_fds descriptors, RSS $((held_rss / 1024)) MiB"
	# shellcheck disable=SC1091
	. "$WORK/idle.out"
	sleep 1
	after_conns=$(tcp_count)
	each=$((IDLE_PER_SOURCE < PER_SOURCE ? IDLE_PER_SOURCE : PER_SOURCE))
	expect_tcp=$((IDLE_TCP_SOURCES * each))
	expect_tls=$((IDLE_SOURCES * each))
	[ "$expect_tls" -le "$MAX_CONNECTIONS" ] || expect_tls=$MAX_CONNECTIONS
	accepted=$((TCP_ACCEPTED + TLS_ACCEPTED))
	echo "  flood: $((TCP_ATTEMPTED + TLS_ATTEMPTED)) connections attempted, $accepted accepted" \
		"(TCP $TCP_ACCEPTED, TLS $TLS_ACCEPTED), $((TCP_REFUSED + TLS_REFUSED)) refused" \
		"(TCP $TCP_REFUSED, TLS $TLS_REFUSED), $((TCP_ERRORS + TLS_ERRORS)) client errors;" \
		"tlstrunk counted $(metric 'tlstrunk_connections_refused_total{reason="limit"}') refusals by limit;" \
		"after the flood: $after_conns TCP connections"
	check "$PHASE: client-side connection errors (TCP $TCP_ERRORS, TLS $TLS_ERRORS; see $WORK/flood-idle.log)" \
		'[ "$TCP_ERRORS" = 0 ] && [ "$TLS_ERRORS" = 0 ]'
	check "$PHASE: up to $TCP_MAX_PER_SOURCE (TCP) / $TLS_MAX_PER_SOURCE (TLS) connections accepted from one source, limit $PER_SOURCE" \
		'[ "$TCP_MAX_PER_SOURCE" -le "$PER_SOURCE" ] && [ "$TLS_MAX_PER_SOURCE" -le "$PER_SOURCE" ]'
	check "$PHASE: $TCP_ACCEPTED TCP connections accepted, expected $expect_tcp ($each from each of $IDLE_TCP_SOURCES sources)" \
		'[ "$TCP_ACCEPTED" = "$expect_tcp" ]'
	check "$PHASE: $TLS_ACCEPTED TLS connections accepted, expected $expect_tls (max_connections $MAX_CONNECTIONS per listener)" \
		'[ "$TLS_ACCEPTED" = "$expect_tls" ]'
	check "$PHASE: tlstrunk held $held_conns connections, above 2 x max_connections $MAX_CONNECTIONS + $base_conns" \
		'[ "$held_conns" -le $((2 * MAX_CONNECTIONS + base_conns)) ]'
	check "$PHASE: a newcomer on the PBX port was refused while the TLS port was full" \
		'[ "${PROBE_DURING:-0}" = 1 ]'
	check "$PHASE: idle connections closed after $REAP_MIN..$REAP_MAX s (idle_timeout $IDLE_TIMEOUT), $STILL_OPEN never" \
		'[ "$STILL_OPEN" = 0 ] && [ "$(echo "$REAP_MIN >= $IDLE_TIMEOUT - 1 && $REAP_MAX <= $IDLE_TIMEOUT + 5" | bc)" = 1 ]'
	check "$PHASE: a new connection was refused after the flood had gone" \
		'[ "$PROBE_OK" = 1 ]'
	check "$PHASE: tlstrunk still has $after_conns TCP connections after the flood (had $base_conns)" \
		'[ "$after_conns" -le "$base_conns" ]'
	phase_end
	check "$PHASE: $(fd_count) descriptors after the flood, $PHASE_FD0 before" \
		'[ "$(fd_count)" -le $((PHASE_FD0 + 4)) ]'
}

# --- phase 3: slowloris ---------------------------------------------------------------

phase_3() {
	phase_begin 3-slow
	rm -f "$WORK/slow.out"
	legit_pair $((SLOW_SECONDS + 4))
	spawn "$WORK/flood-slow.log" python3 "$FLOOD_DIR/flood.py" slow --ca "$PKI/ca.pem" --sni "$SBC_NAME" \
		--host "$PBX_IP" --tcp-port "$SBC_PBX_PORT" --tls-port "$SBC_TLS_PORT" \
		--tcp-sources 127.0.3.1-10 --tls-sources 127.0.4.1-10 --hs-sources 127.0.5.1-10 \
		--clients "$SLOW_CLIENTS" --duration "$SLOW_SECONDS" \
		--message-timeout "$MSG_TIMEOUT" --handshake-timeout "$HS_TIMEOUT" --out "$WORK/slow.out"
	SLOW_PID=$SPAWNED_PID
	sipp_wait "$SLOW_PID" $((SLOW_SECONDS + 60)) || check "$PHASE: flood.py slow failed (see $WORK/flood-slow.log)" false
	legit_pair_end
	sed 's/^/ /' "$WORK/flood-slow.log"
	# shellcheck disable=SC1091
	. "$WORK/slow.out"
	# tlstrunk checks message_timeout every message_timeout/2 seconds.
	for k in TCP TLS HS; do
		conns=${k}_CONNS cut=${k}_CUT not_cut=${k}_NOT_CUT early=${k}_EARLY errs=${k}_ERRORS mx=${k}_CUT_MAX mn=${k}_CUT_MIN
		if [ "$k" = HS ]; then
			lim=$HS_TIMEOUT slack=2
		else
			lim=$MSG_TIMEOUT slack=$(echo "$MSG_TIMEOUT / 2 + 2" | bc -l)
		fi
		check "$PHASE $k: ${!cut} of ${!conns} connections cut, ${!not_cut} never cut, ${!early} refused at once, ${!errs} errors" \
			'[ "${!conns}" -ge "$SLOW_CLIENTS" ] && [ "${!cut}" = "${!conns}" ] && [ "${!not_cut}" = 0 ] &&
			[ "${!early}" = 0 ] && [ "${!errs}" = 0 ]'
		check "$PHASE $k: connections cut after ${!mn}..${!mx} s, deadline $lim s" \
			'[ "$(echo "${!mx} <= $lim + $slack && ${!mn} >= $lim - 1" | bc -l)" = 1 ]'
	done
	phase_end
}

for p in $PHASES; do
	case $p in
	1 | 2 | 3) "phase_$p" ;;
	*) fail "unknown phase '$p' in PHASES (1, 2, 3)" ;;
	esac
done

# --- verdict ------------------------------------------------------------------------

echo
if [ -n "$ASAN" ]; then
	stop_tlstrunk || FAILS+=("tlstrunk (ASan) exited non-zero")
	if grep -aqE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$TLSTRUNK_LOG"; then
		grep -aE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY:' "$TLSTRUNK_LOG" | head -10
		FAILS+=("sanitizer report in $TLSTRUNK_LOG")
	else
		echo "no sanitizer report in $TLSTRUNK_LOG"
	fi
fi
if [ ${#FAILS[@]} -gt 0 ]; then
	KEEP_WORK=1
	fail "${#FAILS[@]} check(s) failed: $(printf '%s; ' "${FAILS[@]}")"
fi
KEEP_WORK=${KEEP_WORK:-}
pass "phases $PHASES: floods held off, $LEGIT_ALL_OK of $LEGIT_ALL_MADE legitimate calls completed ($((SECONDS - START)) s)"
