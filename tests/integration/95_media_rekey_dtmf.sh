#!/usr/bin/env bash
# 95_media_rekey_dtmf.sh - the cloud changes its SRTP key in a re-INVITE, and
# RFC 4733 DTMF crosses tlstrunk both ways; judged by what the two ends got.
#
#   PBX  rekey_call.py pbx    SIP/UDP 127.0.0.1:5070, plain RTP 127.0.0.1:32000
#        | sip:+13175550100@127.0.0.1:15060, RTP/AVP PCMU + telephone-event
#   tlstrunk  [media] relay 127.0.0.1:30000-30999, RTP <-> SRTP (SDES)
#        | TLS -> Kamailio stand-in 127.0.0.2:5061 -> UDP 127.0.0.3:5080
#   cloud rekey_call.py cloud  SIP/UDP 127.0.0.3:5080, SRTP 127.0.0.3:31000
#        (its own RFC 3711 AES_CM_128_HMAC_SHA1_80 code, tests/media/srtp_peer.py,
#        first checked against the RFC 3711 B.2/B.3 vectors and a libsrtp2
#        known-answer packet: baresip 1.0 cannot change its key in a re-INVITE)
#
# The cloud answers with key K1, sends a re-INVITE with a NEW key K2 after
# 1.6 s, then two re-INVITEs with the same K2 (hold a=sendonly, resume).
# Both ends send RFC 4733 events (three each) between the re-INVITEs.
# Asserts (tests/media/rekey_call.py check):
#   - SDP: the cloud was offered RTP/SAVP with a=crypto, the PBX got RTP/AVP
#     without; every cloud re-INVITE reached the PBX as RTP/AVP without crypto
#     (hold as a=sendonly); tlstrunk answered each with exactly one
#     AES_CM_128_HMAC_SHA1_80 line (tag 1, no MKI), RTP/SAVP;
#   - cloud -> PBX: K1 packets arrive before the rekey; after it the K2
#     packets arrive byte for byte (>= 90 %, also after the hold/resume),
#     while the K1 packets the cloud keeps sending after the rekey arrive
#     NOT AT ALL; a replay (the same SRTP bytes again) after the same-key
#     re-INVITEs is dropped (the replay state was kept); the PBX gets nothing
#     the cloud did not send, and only from the relay;
#   - PBX -> cloud: every packet tlstrunk sent decrypts, after each re-INVITE
#     with the key of tlstrunk's answer to it, and equals what the PBX sent;
#   - RFC 4733 both ways: the events (code, E bit, volume, duration, marker,
#     timestamp) the far end got are exactly the ones sent, PT as negotiated;
#   - the capture: every packet toward the cloud's media address came from
#     the relay port and authenticates as SRTP under tlstrunk's announced key
#     (none is plain), plus rtp_check.py's SRTP-only checks;
#   - tlstrunk counted SRTP failures for the stale K1 packets.
# Then a second, short call (rekey_call.py --reject-rekey): the PBX refuses the
# cloud's rekey re-INVITE with 488, so the session, K1 included, stays as it
# was (RFC 3261 14.1; a refused offer's key must never come in use). Asserts:
#   - the PBX got the re-INVITE (RTP/AVP, no crypto), its 488 was ACKed, the
#     cloud got the 488 (no other SDP from tlstrunk, whose key stays);
#   - >= 90 % of the K1 packets the cloud sent after the refusal reached the
#     PBX byte for byte; the few packets under the refused K2 did not;
#   - PBX -> cloud still decrypts under tlstrunk's first key;
#   - BYE 200, call summary status=200, every SRTP failure a K2 packet.
# Needs: kamailio, tcpdump, python3 with python3-cryptography (Debian 12).
# shellcheck disable=SC2119  # lib.sh functions with optional arguments
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/media/media_lib.sh
. "$LIB_DIR/media/media_lib.sh"

PBX_SIP_PORT=5070
PBX_MEDIA=$PBX_IP:${BS_PBX_RTP%-*}
CLOUD_MEDIA=$UAS_IP:${BS_CLOUD_RTP%-*}
PEER=$MEDIA_DIR/rekey_call.py

test_init
for t in tcpdump kamailio "$PYTHON"; do
	command -v "$t" >/dev/null 2>&1 || fail "missing $t: apt-get install tcpdump kamailio python3"
done
"$PYTHON" -c 'from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes' 2>/dev/null ||
	fail "missing the python3 'cryptography' module: apt-get install python3-cryptography"

# The SRTP code that judges tlstrunk must itself be right.
out=$("$PYTHON" "$MEDIA_DIR/srtp_peer.py" selftest 2>&1) || fail "srtp_peer.py self test failed: $(grep -m1 'FAIL' <<<"$out")"
echo "$out" >"$WORK/srtp_selftest.txt"

start_kamailio
start_media_tlstrunk
# Not media_lib's capture_start: without --immediate-mode tcpdump loses what
# is still in its ring buffer at SIGINT (the end of the call), and this test
# checks every packet that reached the cloud's media address.
CAP_FILE=$WORK/media.pcap
spawn "$WORK/media.tcpdump.log" tcpdump -i lo -n -U --immediate-mode -Z root -s 0 -w "$CAP_FILE" "$(media_bpf)"
CAP_PID=$SPAWNED_PID
wait_grep "$WORK/media.tcpdump.log" 'listening on' 10 || fail "tcpdump did not start (see $WORK/media.tcpdump.log)"

require_free_port udp "$UAS_IP" "$UAS_PORT"
require_free_port udp "${CLOUD_MEDIA%:*}" "${CLOUD_MEDIA##*:}"
require_free_port udp "$PBX_IP" "$PBX_SIP_PORT"
require_free_port udp "${PBX_MEDIA%:*}" "${PBX_MEDIA##*:}"
spawn "$WORK/cloud.log" "$PYTHON" -u "$PEER" cloud --sip "$UAS_IP:$UAS_PORT" \
	--media "$CLOUD_MEDIA" --out "$WORK/cloud.json"
CLOUD_PID=$SPAWNED_PID
wait_port udp "$UAS_IP" "$UAS_PORT" 5 "$CLOUD_PID" || fail "the cloud end did not bind $UAS_IP:$UAS_PORT"
spawn "$WORK/pbx.log" "$PYTHON" -u "$PEER" pbx --sip "$PBX_IP:$PBX_SIP_PORT" --media "$PBX_MEDIA" \
	--to "sip:+13175550100@$PBX_IP:$SBC_PBX_PORT" --out "$WORK/pbx.json"
PBX_PID=$SPAWNED_PID

# ends_wait SUFFIX [WHICH]: both ends of the call ($WORK/cloud$SUFFIX.log, ...) exited 0.
ends_wait() {
	local rc=0
	sipp_wait "$CLOUD_PID" 40 || rc=$?
	[ "$rc" = 0 ] || fail "the cloud end$2 failed (status $rc): $(grep -m1 FATAL "$WORK/cloud$1.log" || tail -n 1 "$WORK/cloud$1.log")"
	sipp_wait "$PBX_PID" 10 || rc=$?
	[ "$rc" = 0 ] || fail "the PBX end$2 failed (status $rc): $(grep -m1 FATAL "$WORK/pbx$1.log" || tail -n 1 "$WORK/pbx$1.log")"
}

# peer_check SUFFIX ARGS...: rekey_call.py check on that call's two JSON files.
peer_check() {
	local sfx=$1 out rc=0
	shift
	out=$("$PYTHON" "$PEER" check --cloud "$WORK/cloud$sfx.json" --pbx "$WORK/pbx$sfx.json" "$@") || rc=$?
	echo "$out" | tee -a "$WORK/checks.log" >&2
	[ "$rc" = 0 ] || fail "$(grep -m1 'FAIL:' <<<"$out" | sed 's/^ *FAIL: //')"
}

# call_summary SUFFIX: SUM= tlstrunk's call summary line for that call (by
# the PBX's Call-ID).
call_summary() {
	local cid
	cid=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["call_id"])' "$WORK/pbx$1.json")
	for _ in $(seq 1 50); do
		SUM=$(grep -F "[$cid] call summary: pbx->cloud " "$TLSTRUNK_LOG" | tail -1 || true)
		[ -n "$SUM" ] && return 0
		sleep 0.1
	done
	fail "no call summary line for $cid in $TLSTRUNK_LOG"
}

ends_wait ""
sleep 0.2
capture_stop
peer_check "" --pcap "$CAP_FILE"
rtp_assert_srtp --cloud "$CLOUD_MEDIA-$((${CLOUD_MEDIA##*:} + 1))" \
	--pbx "$PBX_MEDIA-$((${PBX_MEDIA##*:} + 1))" \
	--relay "$PBX_IP:$MEDIA_RELAY_PORTS" --min-packets 100 --tones 440,1000

# tlstrunk itself says it refused the stale packets (SRTP failures).
call_summary ""
[[ $SUM =~ status=200.*srtp_failures=([0-9]+) ]] || fail "call summary without status 200 / srtp_failures: ${SUM#*call summary: }"
nfail=${BASH_REMATCH[1]}
[ "$nfail" -ge 10 ] || fail "tlstrunk counted $nfail SRTP failures; the cloud sent stale K1 packets after the rekey that must fail"

# The second call: the PBX refuses the rekey (488); K1 must stay in use.
require_free_port udp "$UAS_IP" "$UAS_PORT"
require_free_port udp "${CLOUD_MEDIA%:*}" "${CLOUD_MEDIA##*:}"
require_free_port udp "$PBX_IP" "$PBX_SIP_PORT"
require_free_port udp "${PBX_MEDIA%:*}" "${PBX_MEDIA##*:}"
spawn "$WORK/cloud2.log" "$PYTHON" -u "$PEER" cloud --reject-rekey --sip "$UAS_IP:$UAS_PORT" \
	--media "$CLOUD_MEDIA" --out "$WORK/cloud2.json"
CLOUD_PID=$SPAWNED_PID
wait_port udp "$UAS_IP" "$UAS_PORT" 5 "$CLOUD_PID" || fail "the cloud end (refused rekey) did not bind $UAS_IP:$UAS_PORT"
spawn "$WORK/pbx2.log" "$PYTHON" -u "$PEER" pbx --reject-rekey --sip "$PBX_IP:$PBX_SIP_PORT" \
	--media "$PBX_MEDIA" --to "sip:+13175550100@$PBX_IP:$SBC_PBX_PORT" --out "$WORK/pbx2.json"
PBX_PID=$SPAWNED_PID
ends_wait 2 " (refused rekey)"
peer_check 2 --reject-rekey
call_summary 2
[[ $SUM =~ status=200.*srtp_failures=([0-9]+) ]] || fail "refused rekey: call summary without status 200 / srtp_failures: ${SUM#*call summary: }"
nfail2=${BASH_REMATCH[1]}
nk2=$("$PYTHON" -c 'import json, sys; print(sum(x["key"] == "k2-refused" for x in json.load(open(sys.argv[1]))["sent"]))' "$WORK/cloud2.json")
[ "$nfail2" -le "$nk2" ] || fail "refused rekey: tlstrunk counted $nfail2 SRTP failures, but the cloud sent only $nk2 packets under the refused key (the rest under its unchanged key K1)"

pass "cloud rekey followed (new-key audio delivered, $nfail old-key/replayed packets refused), same-key hold/resume kept the state, RFC 4733 events identical both ways, cloud leg SRTP only; a rekey the PBX refused (488) left the cloud's key in use ($nfail2 SRTP failures, $nk2 packets under the refused key)"
