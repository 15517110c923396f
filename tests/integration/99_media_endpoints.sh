#!/usr/bin/env bash
# 99_media_endpoints.sh - media as independent endpoints really send it,
# through tlstrunk's relay (proxy/relay.c, proxy/srtp_stream.c):
#   - STUN keep-alives (RFC 7983: first byte 0..3) on all four relay ports
#     are dropped quietly and counted as tlstrunk_media_dropped_total
#     {reason="stun"}, never as SRTP failures;
#   - an RFC 4733 end packet sent three times with ONE sequence number
#     reaches the cloud three times (the same SRTP bytes; each copy alone
#     decrypts at a real SRTP receiver, tests/media/srtp_peer.py), while
#     that index with another payload is never sent (reason="reused_index");
#   - replayed SRTP from the cloud stays dropped (reason="replay"), forged
#     SRTP too (reason="auth"); junk is reason="malformed".
#
# One call as in 97_media_guard.sh: PBX sipp UAC (pbx_uac_talk.xml, -mp 6710)
# -> tlstrunk (relay 127.0.0.1:30000-30999, admin_listen 127.0.0.1:19099)
# -> Kamailio -> cloud sipp UAS (cloud_uas_media.xml: the cloud's SRTP at
# 127.0.0.3:6500, where tests/media/media_endpoints.py listens; sipp's own
# media port -mp 6610), held HOLD_MS (8 s). media_endpoints.py (see its
# header for every check) runs the phases while the call is up. Then:
#   - the call ends normally (BYE), its summary carries exactly the SRTP
#     failures the script caused (replays + forgeries + the reused index),
#     not one for a STUN packet or a junk datagram;
#   - the log: exactly one "malformed packet" line per leg (the first junk
#     datagram; rate-limited), none for STUN above debug level;
#   - /metrics strict-parses at every scrape; no sanitizer report.
#
# Needs: sipp, kamailio, python3 + python3-cryptography (srtp_peer.py).
# Run: TLSTRUNK_BIN=build/tlstrunk tests/integration/99_media_endpoints.sh
# shellcheck disable=SC2119  # start_kamailio takes no arguments here
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/media/media_lib.sh
. "$LIB_DIR/media/media_lib.sh"

ADMIN_PORT=19099
CLOUD_MEDIA=$UAS_IP:6500     # hard-coded in cloud_uas_media.xml
UAS_SIPP_MP=6610             # sipp's own media port on the cloud side
PBX_SIPP_MP=6710             # and on the PBX side
HOLD_MS=${HOLD_MS:-8000}

"$PYTHON" -c 'import cryptography' 2>/dev/null ||
	{ echo "FAIL: 99_media_endpoints: python3-cryptography is missing (apt-get install python3-cryptography)"; exit 1; }

test_init
T0=$SECONDS
sipp_media_call_up "$ADMIN_PORT" "$CLOUD_MEDIA" "$UAS_SIPP_MP" "$PBX_SIPP_MP" "$HOLD_MS" "$((${CLOUD_MEDIA#*:} + 1))"

rc=0
timeout -k 2 25 "$PYTHON" "$MEDIA_DIR/media_endpoints.py" --metrics "http://127.0.0.1:$ADMIN_PORT/metrics" \
	--pbx-log "$WORK/sipp-pbx.msg.log" --uas-log "$WORK/sipp-cloud-uas.msg.log" \
	--listen "$CLOUD_MEDIA" --pbx-src "$PBX_IP" >"$WORK/endpoints.log" 2>&1 || rc=$?
sed 's/^/  /' "$WORK/endpoints.log" >&2
sipp_media_call_done "media endpoints" "$WORK/endpoints.log" "$rc"

counts=$(sed -n 's/^COUNTS //p' "$WORK/endpoints.log")
want_fail=$(sed -E 's/.*(^| )srtp_failures=([0-9]+).*/\2/' <<<"$counts")
[ -n "$want_fail" ] || fail "no COUNTS line from media_endpoints.py"
wait_grep "$TLSTRUNK_LOG" "\\[$CALLID\\] call summary: " 5 || fail "no call summary line for $CALLID"
summary=$(grep -aF "[$CALLID] call summary: " "$TLSTRUNK_LOG" | sed 's/.*call summary: /call summary: /')
log "$summary"
re='status=200 end="BYE from pbx" .* srtp_failures=([0-9]+)$'
[[ $summary =~ $re ]] || fail "the call summary is not a normal call ended by the PBX's BYE: $summary"
sf=${BASH_REMATCH[1]}
[ "$sf" = "$want_fail" ] ||
	fail "call summary srtp_failures=$sf, expected $want_fail (replays + forgeries + the reused index; STUN and junk are not SRTP failures): $summary"

# The log: the first junk datagram of each leg is named, nothing else is.
for leg in pbx cloud; do
	n=$(grep -acF "[$CALLID] media: packet from $leg dropped: malformed packet" "$TLSTRUNK_LOG" || true)
	[ "$n" = 1 ] || fail "$n \"malformed packet\" line(s) for the $leg leg, expected exactly 1 (the first junk datagram; rate-limited)"
done
loud=$(grep -aE '^[^ ]+ (error|warn|info) ' "$TLSTRUNK_LOG" | grep -aiE 'stun' || true)
[ -z "$loud" ] || fail "STUN keep-alives were logged above debug level: $(head -1 <<<"$loud")"
stun_dbg=$(grep -acF "[$CALLID] media: STUN on the" "$TLSTRUNK_LOG" || true)
[ "$stun_dbg" -le 2 ] || fail "$stun_dbg STUN log lines for 20 keep-alives (one per leg at most)"
if grep -aqE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$TLSTRUNK_LOG"; then
	fail "sanitizer report in $TLSTRUNK_LOG"
fi

pass "STUN keep-alives on the 4 relay ports dropped as reason=stun (0 SRTP failures, quiet); an RFC 4733 end packet sent 3x with one seq reached the cloud 3x, identical SRTP, each copy decrypting alone; that seq with another payload never sent (reused_index); replays and forgeries from the cloud dropped (replay/auth); junk counted as malformed with one log line per leg; summary srtp_failures=$sf; $((SECONDS - T0)) s"
