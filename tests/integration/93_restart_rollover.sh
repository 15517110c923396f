#!/usr/bin/env bash
# 93_restart_rollover.sh - the SRTP rollover counter across kill -9 and
# restart of tlstrunk ([state], issue 15): both ends' RTP sequence numbers
# wrap while tlstrunk is down, and the new process must go on with ROC 1
# in both directions; judged by what the two ends received.
#
#   PBX   wrap_call.py pbx    SIP/UDP 127.0.0.1:5070, plain RTP 127.0.0.1:32000
#         | sip:+13175550100@127.0.0.1:15060, RTP/AVP PCMU
#   tlstrunk  [media] relay, RTP <-> SRTP (SDES), [state] redis = a unix
#         | socket in the work dir; TLS -> Kamailio stand-in -> UDP
#   cloud wrap_call.py cloud  SIP/UDP 127.0.0.3:5080, SRTP 127.0.0.3:31000,
#         its own key (AES_CM_128_HMAC_SHA1_80), its own RFC 3711 code
#         (srtp_peer.py: appendix A index estimate, replay window), self-
#         tested first
#
# Both ends start their sequence numbers 250 packets (5 s) below 65536 and
# put a counter, their extended sequence number and the send time in every
# payload.
# Call 1 (the outage case): 1 s before the first wrap, kill -9 tlstrunk;
# once both ends have sent sequence number 0 (ROC 1), start it again with
# the same config; 4 s later the cloud sends BYE.  Asserts:
#   - the record in Redis said ROC 0 for both directions at the kill, the
#     new process logs "restored" and its record says ROC 1 for both;
#   - the cloud end, over the whole call: 0 SRTP authentication, replay or
#     malformed failures; after the restart it decrypted >= 90 % of what
#     tlstrunk sent; every packet it decrypted is one the PBX sent, byte
#     for byte, in order, under the index the PBX sent it with (ROC 1 after
#     the wrap, RFC 3711 3.3.1);
#   - both directions: >= 90 % delivered before the kill and after the
#     restart, >= 50 packets with ROC 1 delivered after the restart, the
#     first one within 1 s of the new process being up; the PBX received
#     exactly the plaintext the cloud sent (tlstrunk could only decrypt
#     the cloud's ROC-1 packets with ROC 1);
#   - both wraps really fell between the kill and the restart;
#   - the BYE completes through the restored call (200, the PBX gets it);
#     the new process's call summary says srtp_failures=0 and end BYE,
#     /metrics tlstrunk_srtp_failures_total is 0; the record is deleted.
# Call 2 (the restart just before the wrap): kill -9 2.5 s before the wrap,
# start again at once, so both wraps come after the restart; the same
# checks, the PBX sends the BYE.
# Needs: redis-server, kamailio, python3 with python3-cryptography.
# shellcheck disable=SC2119  # lib.sh functions with optional arguments
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/media/media_lib.sh
. "$LIB_DIR/media/media_lib.sh"

PBX_SIP_PORT=5070
PBX_MEDIA=$PBX_IP:${BS_PBX_RTP%-*}
CLOUD_MEDIA=$UAS_IP:${BS_CLOUD_RTP%-*}
PEER=$MEDIA_DIR/wrap_call.py
ADMIN=127.0.0.1:18093
PREFIX=t93:

test_init
for t in kamailio redis-server redis-cli "$PYTHON"; do
	command -v "$t" >/dev/null 2>&1 || fail "missing $t: apt-get install kamailio redis-server python3"
done
"$PYTHON" -c 'from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes' 2>/dev/null ||
	fail "missing the python3 'cryptography' module: apt-get install python3-cryptography"
out=$("$PYTHON" "$MEDIA_DIR/srtp_peer.py" selftest 2>&1) || fail "srtp_peer.py self test failed: $(grep -m1 'FAIL' <<<"$out")"
echo "$out" >"$WORK/srtp_selftest.txt"

SOCK=$WORK/redis.sock
spawn "$WORK/redis.log" redis-server --port 0 --unixsocket "$SOCK" \
	--unixsocketperm 700 --save '' --appendonly no
for _ in $(seq 1 50); do
	[ -S "$SOCK" ] && redis-cli -s "$SOCK" ping >/dev/null 2>&1 && break
	sleep 0.1
done
redis-cli -s "$SOCK" ping >/dev/null 2>&1 || fail "redis-server did not start: $(tail -n 3 "$WORK/redis.log")"
rcli() { redis-cli -s "$SOCK" "$@"; }
# metric NAME: its value in /metrics (python, not curl: not in DEB_PACKAGES).
metric() {
	"$PYTHON" -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' "http://$ADMIN/metrics" |
		awk -v m="$1" '$1 == m { print $2 }'
}

start_kamailio
cfg=$WORK/tlstrunk.ini
write_media_tlstrunk_config "$cfg"
sed -i "s|^admin_listen =.*|admin_listen = $ADMIN|" "$cfg"
cat >>"$cfg" <<EOF

[state]
redis = $SOCK
key_prefix = $PREFIX
node = node-93
EOF
"$TLSTRUNK_BIN" -t -c "$cfg" >"$WORK/tlstrunk-check.log" 2>&1 ||
	fail "tlstrunk rejects the configuration: $(tail -n 2 "$WORK/tlstrunk-check.log" | tr '\n' ' ')"
require_free_port tcp "${ADMIN%:*}" "${ADMIN#*:}"
NSTART=1
start_tlstrunk "$cfg" "$WORK/tlstrunk-1.log"

# ends_event SECONDS EVENT FILE...: every FILE (an end's log) has EVENT.
ends_event() {
	local secs=$1 what=$2 f ok
	shift 2
	for _ in $(seq 1 $((secs * 20))); do
		ok=1
		for f in "$@"; do grep -q ": $what " "$f" 2>/dev/null || ok=0; done
		[ "$ok" = 1 ] && return 0
		sleep 0.05
	done
	return 1
}

# either_event SECONDS EVENT FILE...: some FILE has EVENT.
either_event() {
	local secs=$1 what=$2
	shift 2
	for _ in $(seq 1 $((secs * 100))); do
		grep -qs ": $what " "$@" && return 0
		sleep 0.01
	done
	return 1
}

# record_save FILE: the call's Redis record into FILE.
record_save() {
	rcli get "$KEY" >"$1"
	[ -s "$1" ] || fail "the call record $KEY is not in Redis"
}

# record_field NAME FILE
record_field() { sed -n "s/^$1=//p" "$2"; }

# kill_tlstrunk: kill -9 (T_KILL: when).
kill_tlstrunk() {
	kill -9 "$TLSTRUNK_PID"
	T_KILL=$(date +%s.%N)
	wait "$TLSTRUNK_PID" 2>/dev/null || true
	TLSTRUNK_PID=
}

# start_again: the same config, a new log (T_UP: when it listens); the
# call must be restored.
start_again() {
	NSTART=$((NSTART + 1))
	start_tlstrunk "$cfg" "$WORK/tlstrunk-$NSTART.log"
	T_UP=$(date +%s.%N)
	wait_grep "$TLSTRUNK_LOG" "\\[$CALLID\\] .*restored" 5 ||
		fail "call $N: the new process did not log the call $CALLID restored"
}

# call N CASE BYE_BY: one call, see the header.
call() {
	N=$1
	local case=$2 bye_by=$3 near before=250 sfx=$1 rc=0 out t_wrap hp
	local -a cbye=() pbye=()
	near=$([ "$case" = outage ] && echo 1.0 || echo 2.5)
	if [ "$bye_by" = cloud ]; then cbye=(--bye-file "$WORK/bye$sfx"); else pbye=(--bye-file "$WORK/bye$sfx"); fi
	for hp in "$UAS_IP:$UAS_PORT" "$CLOUD_MEDIA" "$PBX_IP:$PBX_SIP_PORT" "$PBX_MEDIA"; do
		require_free_port udp "${hp%:*}" "${hp##*:}"
	done
	rm -f "$WORK/bye$sfx"
	spawn "$WORK/cloud$sfx.log" "$PYTHON" -u "$PEER" cloud --sip "$UAS_IP:$UAS_PORT" \
		--media "$CLOUD_MEDIA" --out "$WORK/cloud$sfx.json" --before $before --near "$near" "${cbye[@]}"
	CLOUD_PID=$SPAWNED_PID
	wait_port udp "$UAS_IP" "$UAS_PORT" 5 "$CLOUD_PID" || fail "call $N: the cloud end did not bind $UAS_IP:$UAS_PORT"
	spawn "$WORK/pbx$sfx.log" "$PYTHON" -u "$PEER" pbx --sip "$PBX_IP:$PBX_SIP_PORT" \
		--media "$PBX_MEDIA" --to "sip:+13175550100@$PBX_IP:$SBC_PBX_PORT" \
		--out "$WORK/pbx$sfx.json" --before $before --near "$near" "${pbye[@]}"
	PBX_PID=$SPAWNED_PID
	ends_event 10 established "$WORK/pbx$sfx.log" || fail "call $N was not established: $(tail -n 2 "$WORK/pbx$sfx.log")"
	ends_event 2 acked "$WORK/cloud$sfx.log" || fail "call $N: the cloud end got no ACK"
	KEY=
	for _ in $(seq 1 30); do
		KEY=$(rcli --scan --pattern "${PREFIX}call:*" | head -1)
		[ -n "$KEY" ] && break
		sleep 0.1
	done
	[ -n "$KEY" ] || fail "call $N: no record in Redis 3 s after the call was answered"
	CALLID=${KEY#"${PREFIX}call:"}

	# The kill: $near s before the first end's wrap.
	either_event 10 near_wrap "$WORK/cloud$sfx.log" "$WORK/pbx$sfx.log" || fail "call $N: no end came near its wrap"
	record_save "$WORK/record-kill$sfx.txt"
	kill_tlstrunk
	log "call $N: killed tlstrunk (record: toward the cloud ROC $(record_field tx.roc "$WORK/record-kill$sfx.txt") seq $(record_field tx.seq "$WORK/record-kill$sfx.txt"), from the cloud ROC $(record_field rx.roc "$WORK/record-kill$sfx.txt") seq $(record_field rx.seq "$WORK/record-kill$sfx.txt"))"
	if [ "$case" = outage ]; then
		ends_event 5 wrapped "$WORK/cloud$sfx.log" "$WORK/pbx$sfx.log" || fail "call $N: the ends did not wrap"
		sleep 0.1
		start_again
	else
		start_again
		grep -qs ': wrapped ' "$WORK/cloud$sfx.log" "$WORK/pbx$sfx.log" &&
			fail "call $N: tlstrunk took $(awk -v a="$T_KILL" -v b="$T_UP" 'BEGIN { printf "%.2f", b - a }') s to start again, an end wrapped before it was up (the case needs the wrap after the restart)"
		ends_event 5 wrapped "$WORK/cloud$sfx.log" "$WORK/pbx$sfx.log" || fail "call $N: the ends did not wrap"
	fi
	log "call $N: the new process was up $(awk -v a="$T_KILL" -v b="$T_UP" 'BEGIN { printf "%.2f", b - a }') s after the kill"

	# The record catches up: ROC 1 in both directions.
	for _ in $(seq 1 40); do
		record_save "$WORK/record-up$sfx.txt"
		[ "$(record_field tx.roc "$WORK/record-up$sfx.txt")" = 1 ] &&
			[ "$(record_field rx.roc "$WORK/record-up$sfx.txt")" = 1 ] && break
		sleep 0.1
	done
	t_wrap=$(date +%s.%N)
	sleep "$(awk -v a="$T_UP" -v b="$t_wrap" 'BEGIN { d = 4 - (b - a); print (d > 0 ? d : 0) }')"
	FAILS_METRIC=$(metric tlstrunk_srtp_failures_total) || fail "call $N: no /metrics from the new process on $ADMIN"
	touch "$WORK/bye$sfx"
	sipp_wait "$CLOUD_PID" 15 || rc=$?
	[ "$rc" = 0 ] || fail "call $N: the cloud end failed (status $rc): $(grep -m1 FATAL "$WORK/cloud$sfx.log" || tail -n 1 "$WORK/cloud$sfx.log")"
	sipp_wait "$PBX_PID" 10 || rc=$?
	[ "$rc" = 0 ] || fail "call $N: the PBX end failed (status $rc): $(grep -m1 FATAL "$WORK/pbx$sfx.log" || tail -n 1 "$WORK/pbx$sfx.log")"

	out=$("$PYTHON" "$PEER" check --cloud "$WORK/cloud$sfx.json" --pbx "$WORK/pbx$sfx.json" \
		--kill "$T_KILL" --up "$T_UP" --case "$case" \
		--rec-kill "$WORK/record-kill$sfx.txt" --rec-up "$WORK/record-up$sfx.txt") || rc=$?
	echo "$out" | grep -v '^NUMBERS' | sed "s/^/[$TEST_NAME] call $N:/" | tee -a "$WORK/checks.log" >&2
	[ "$rc" = 0 ] || fail "call $N ($case): $(grep -m1 'FAIL:' <<<"$out" | sed 's/^ *FAIL: //')"
	NUMBERS[$N]=$(sed -n 's/^NUMBERS //p' <<<"$out")

	# tlstrunk's side: no SRTP failure since the restart, the BYE ended it.
	for _ in $(seq 1 50); do
		SUM=$(grep -aF "[$CALLID] call summary: pbx->cloud " "$TLSTRUNK_LOG" | tail -1 || true)
		[ -n "$SUM" ] && break
		sleep 0.1
	done
	[ -n "$SUM" ] || fail "call $N: no call summary for $CALLID in $TLSTRUNK_LOG"
	[[ $SUM =~ end=\"BYE.*srtp_failures=([0-9]+) ]] || fail "call $N: call summary without end BYE / srtp_failures: ${SUM#*call summary: }"
	[ "${BASH_REMATCH[1]}" = 0 ] || fail "call $N: the restarted tlstrunk counted ${BASH_REMATCH[1]} SRTP failures on the call (${SUM#*call summary: })"
	[ "$FAILS_METRIC" = 0 ] || fail "call $N: /metrics tlstrunk_srtp_failures_total=$FAILS_METRIC after the restart"
	log "call $N: the restarted tlstrunk: call summary srtp_failures=0 ($(grep -o 'media pbx in/out=.*cloud in/out=[0-9/]*' <<<"$SUM")), tlstrunk_srtp_failures_total 0"
	for _ in $(seq 1 30); do
		[ "$(rcli exists "$KEY")" = 0 ] && break
		sleep 0.1
	done
	[ "$(rcli exists "$KEY")" = 0 ] || fail "call $N: the record outlived the BYE"
}

declare -A NUMBERS=()
call 1 outage cloud
call 2 after pbx
grep -aiE 'inline:|a=crypto' "$WORK"/tlstrunk-*.log && fail "a key in tlstrunk's log"
log "call 1 (wrap during the outage): ${NUMBERS[1]}"
log "call 2 (wrap after the restart): ${NUMBERS[2]}"
pass "ROC carried over kill -9 both ways: wrap during the outage and wrap after the restart, the cloud decrypted every packet after the restart (0 auth/replay failures over both calls), the PBX got the cloud's ROC-1 packets byte for byte, 0 SRTP failures in tlstrunk, BYE through the restored call from either end"
