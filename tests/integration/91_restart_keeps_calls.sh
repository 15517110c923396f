#!/usr/bin/env bash
# 91_restart_keeps_calls.sh - a call survives kill -9 of tlstrunk ([state],
# issue 15): its dialog and media state are in Redis, a new process with
# the same config sets the call up again and the audio comes back.
#
#   P  baresip "PBX" (440 Hz) --RTP--> tlstrunk --SRTP--> C baresip "cloud"
#   redis-server on a unix socket in the work dir, [state] redis = it
#
# 1. P calls C; audio flows; the record is in Redis (no key in clear text
#    in tlstrunk's log).  Beside it the test stores three records that must
#    not be trusted: garbage, a copy under another Call-ID, and a copy
#    written by another node.
# 2. kill -9 tlstrunk in the middle of the call; start it again.
# 3. The new process logs "restored" with the Call-ID, skips the garbage
#    and the copy (a log line each), leaves the other node's record alone;
#    relayed packets reach each endpoint within 1 s of the new process
#    being up (from a capture), each side hears the other's tone after the
#    restart, C counts 0 SRTP/SRTCP decryption failures over the whole call
#    (an index reused toward it would fail authentication or replay).
# 4. P hangs up: the BYE crosses the restored dialog, C sees it, the record
#    is deleted.  Redis then stopped: a new call still works (state writes
#    pending, counted in /metrics), Redis back: the record is written.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/media/media_lib.sh
. "$LIB_DIR/media/media_lib.sh"

test_init
media_require
command -v redis-server >/dev/null || fail "redis-server is not installed (apt-get install redis-server)"
ADMIN=127.0.0.1:18091
SOCK=$WORK/redis.sock
PREFIX=t91:

redis_start() {
	spawn "$WORK/redis.log" redis-server --port 0 --unixsocket "$SOCK" \
		--unixsocketperm 700 --save '' --appendonly no
	REDIS_PID=$SPAWNED_PID
	for _ in $(seq 1 50); do
		[ -S "$SOCK" ] && redis-cli -s "$SOCK" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "redis-server did not start: $(tail -n 3 "$WORK/redis.log")"
}
rcli() { redis-cli -s "$SOCK" "$@"; }
metric() { curl -s "http://$ADMIN/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

redis_start
cfg=$WORK/tlstrunk.ini
write_media_tlstrunk_config "$cfg"
sed -i "s|^admin_listen =.*|admin_listen = $ADMIN|" "$cfg"
cat >>"$cfg" <<EOF

[state]
redis = $SOCK
key_prefix = $PREFIX
node = node-a
EOF
start_tlstrunk "$cfg" "$WORK/tlstrunk-1.log"
dns_start
cloud_setup
pbx_setup "$BS_PBX_SIP_PORT"
capture_start media "$(media_bpf)"
bs_start cloud
bs_start pbx

# --- 1. a call, stored -----------------------------------------------------
bs_do pbx dial "sip:+13175550100@$PBX_IP:$SBC_PBX_PORT"
bs_established pbx
bs_established cloud
t_est=$(date +%s.%N)
for _ in $(seq 1 30); do
	key=$(rcli --scan --pattern "${PREFIX}call:*" | head -1)
	[ -n "$key" ] && break
	sleep 0.1
done
[ -n "$key" ] || fail "no call record in Redis 3 s after the call was answered"
callid=${key#"${PREFIX}call:"}
rec=$(rcli get "$key")$'\n'	# $( ) took the record's last newline
grep -q "^v=1" <<<"$rec" || fail "the record does not start with its version: ${rec:0:80}"
ttl=$(rcli pttl "$key")
[ "$ttl" -gt 0 ] || fail "the call record has no expiry (PTTL $ttl)"
log "record $key: ${#rec} bytes, PTTL $ttl ms"
rcli set "${PREFIX}call:garbage-1" "this is not a record" >/dev/null
rcli set "${PREFIX}call:copied-1" "$rec" >/dev/null
rcli set "${PREFIX}call:other-node-1" "$(sed 's/^node=.*/node=node-b/' <<<"$rec" |
	sed "s/^callid=.*/callid=other-node-1/")"$'\n' >/dev/null
sleep 2

# --- 2. kill -9, start again ---------------------------------------------------
kill -9 "$TLSTRUNK_PID"
wait "$TLSTRUNK_PID" 2>/dev/null || true
TLSTRUNK_PID=
t_kill=$(date +%s.%N)
sleep 1
start_tlstrunk "$cfg" "$WORK/tlstrunk-2.log"
t_up=$(date +%s.%N)
log "killed $(awk -v a="$t_est" -v b="$t_kill" 'BEGIN { printf "%.1f", b - a }') s into the call; new process up $(awk -v a="$t_kill" -v b="$t_up" 'BEGIN { printf "%.2f", b - a }') s after the kill"
wait_grep "$TLSTRUNK_LOG" "restored" 5 || fail "the new process logged no restored call"
grep -aF "$callid" "$TLSTRUNK_LOG" | grep -q restored ||
	fail "the restored line does not name the call $callid: $(grep -a restored "$TLSTRUNK_LOG" | head -1)"
[ "$(grep -ac 'restored (' "$TLSTRUNK_LOG")" = 1 ] || fail "not exactly one call restored: $(grep -a 'restored' "$TLSTRUNK_LOG")"
grep -a 'garbage-1' "$TLSTRUNK_LOG" | grep -q 'skipped' || fail "the garbage record was not skipped with a log line"
grep -a 'copied-1' "$TLSTRUNK_LOG" | grep -q 'skipped: its Call-ID' ||
	fail "the record stored under another Call-ID was not skipped for it: $(grep -a 'copied-1' "$TLSTRUNK_LOG")"
grep -a 'other-node-1' "$TLSTRUNK_LOG" | grep -q 'node node-b left alone' ||
	fail "another node's record was not left alone: $(grep -a 'other-node-1' "$TLSTRUNK_LOG")"
sleep 4

# --- 3. audio back, both ways, within 1 s ---------------------------------------
for to in "$BS_MEDIA_IP:$BS_CLOUD_RTP" "$BS_MEDIA_IP:$BS_PBX_RTP"; do
	out=$("$PYTHON" "$MEDIA_DIR/gap_check.py" "$CAP_FILE" --from "$PBX_IP:$MEDIA_RELAY_PORTS" \
		--to "$to" --up "$t_up" --within 1.0) || fail "media did not resume: $out"
	log "$out"
done

# --- 4. BYE through the restored dialog -----------------------------------------
bs_do pbx hangup
bs_terminated cloud
# Tones: the recordings run on through the gap; after it, each side must
# hear the other again (skip what came before the restart).
skip=$(awk -v a="$t_est" -v b="$t_up" 'BEGIN { printf "%.1f", b - a + 0.5 }')
for side in cloud pbx; do
	hz=$([ "$side" = cloud ] && echo "$BS_PBX_TONE" || echo "$BS_CLOUD_TONE")
	out=$("$PYTHON" "$MEDIA_DIR/tone_check.py" "$(bs_recording "$side")" "$hz" \
		--min-sec 2 --skip-sec "$skip") || fail "$side did not hear $hz Hz after the restart: $out"
	log "$out"
done
n=$(bs_srtp_errors cloud)
[ "$n" = 0 ] || fail "the cloud failed to decrypt $n SRTP/SRTCP packets from tlstrunk (an index used twice after the restart?)"
for _ in $(seq 1 30); do
	[ -z "$(rcli exists "$key" | grep -v '^0$')" ] && break
	sleep 0.1
done
[ "$(rcli exists "$key")" = 0 ] || fail "the record outlived the call's BYE"
wait_grep "$TLSTRUNK_LOG" 'call summary: pbx->cloud .*end="BYE' 5 || fail "no call summary for the restored call"
grep -aiE 'inline:|a=crypto' "$WORK"/tlstrunk-*.log && fail "a key in tlstrunk's log"

# --- 5. Redis away: calls go on, writes wait, then land -------------------------
kill_group "$REDIS_PID"
bs_do pbx dial "sip:+13175550100@$PBX_IP:$SBC_PBX_PORT"
bs_established cloud
sleep 2
[ "$(metric tlstrunk_state_redis_up)" = 0 ] || fail "/metrics says Redis is up while it is stopped"
pending=$(metric tlstrunk_state_writes_pending)
[ "${pending:-0}" -ge 1 ] || fail "no state write pending while Redis is away (tlstrunk_state_writes_pending=$pending)"
wait_grep "$TLSTRUNK_LOG" 'state: .*(lost|unreachable|cannot connect)' 5 || fail "no log line says Redis is away"
redis_start
for _ in $(seq 1 80); do
	[ -n "$(rcli --scan --pattern "${PREFIX}call:*" | grep -v -e garbage -e copied -e other-node)" ] && break
	sleep 0.1
done
[ -n "$(rcli --scan --pattern "${PREFIX}call:*" | grep -v -e garbage -e copied -e other-node)" ] ||
	fail "the second call's record was not written once Redis came back"
# ... and what was written then carries the call over another kill -9.
key2=$(rcli --scan --pattern "${PREFIX}call:*" | grep -v -e garbage -e copied -e other-node | head -1)
kill -9 "$TLSTRUNK_PID"
wait "$TLSTRUNK_PID" 2>/dev/null || true
TLSTRUNK_PID=
start_tlstrunk "$cfg" "$WORK/tlstrunk-3.log"
t_up=$(date +%s.%N)
wait_grep "$TLSTRUNK_LOG" "restored" 5 || fail "the call written after Redis came back was not restored"
grep -aF "${key2#"${PREFIX}call:"}" "$TLSTRUNK_LOG" | grep -q restored ||
	fail "the restored call is not the one written after Redis came back"
sleep 2
for to in "$BS_MEDIA_IP:$BS_CLOUD_RTP" "$BS_MEDIA_IP:$BS_PBX_RTP"; do
	out=$("$PYTHON" "$MEDIA_DIR/gap_check.py" "$CAP_FILE" --from "$PBX_IP:$MEDIA_RELAY_PORTS" \
		--to "$to" --up "$t_up" --within 1.0) || fail "media of the second call did not resume: $out"
	log "second call: $out"
done
bs_do pbx hangup
bs_terminated cloud
capture_stop
n=$(bs_srtp_errors cloud)
[ "$n" = 0 ] || fail "the cloud failed to decrypt $n SRTP/SRTCP packets from tlstrunk over the two restarts"

media_cleanup
stop_tlstrunk || fail "tlstrunk did not stop cleanly"
pass "kill -9 mid-call: call restored from Redis (corrupt/copied records skipped, another node's left alone), media back within 1 s both ways, tones heard after the restart, 0 SRTP failures at the cloud, BYE through the restored dialog, record deleted; Redis away: call up, writes pending, written when it came back, and restored by a second kill -9"
