#!/usr/bin/env bash
# 97_media_guard.sh - the media relay forwards only what it should, proven
# from outside (proxy/relay.c): on the PBX-side port only packets from
# [pbx] allow (127.0.0.1/32) are relayed, others are dropped and counted as
# tlstrunk_media_dropped_total{reason="source"}; on the cloud-side port only
# SRTP that authenticates and is not a replay is relayed, the rest counted
# in tlstrunk_srtp_failures_total. Nothing dropped is ever forwarded.
#
# One call: PBX sipp UAC (pbx_uac_talk.xml, UDP, PCMU offer, -mp 6700)
# -> tlstrunk (relay 127.0.0.1:30000-30999, admin_listen 127.0.0.1:19097)
# -> Kamailio -> cloud sipp UAS (cloud_uas_media.xml: its answer puts the
# cloud's SRTP at 127.0.0.3:6500, where tests/media/media_guard.py listens;
# sipp's own media port is -mp 6600), held HOLD_MS (8 s). While it is up,
# media_guard.py (see its header for every check) reads the relay ports from
# the 200 the PBX received and the INVITE the cloud received, and the keys
# from the cloud's offer/answer, then, scraping /metrics around each step:
#   A  N=20 RTP from 127.0.0.9 (not allowed) to the PBX-side port:
#      dropped source +20, 127.0.0.3:6500 receives nothing, cloud/out +0.
#   B  N=20 RTP from 127.0.0.1: 127.0.0.3:6500 receives exactly 20, from
#      the cloud-side relay port, each RTP + 10-byte tag, no plaintext, and
#      each decrypts with tlstrunk's offered key to the packet sent.
#   C  K=5 valid SRTP (the answer's key) from 127.0.0.3:6500 reach the PBX
#      sender's socket as the RTP protected (the path back is live).
#   D  M=20 forged SRTP (valid RTP header, random payload+tag) from
#      127.0.0.3:6500, M=20 from 127.0.0.4, and the 5 packets of C again
#      (replays): tlstrunk_srtp_failures_total +45 exactly, pbx/out
#      packets and bytes +0, the PBX socket receives nothing. What relay.c
#      really does with the third address: the cloud side has no source
#      filter; unprotect fails, so the packets count as SRTP failures (not
#      as source drops: dropped source +0) and the cloud leg does not latch
#      onto 127.0.0.4 (the PBX's next packets still go to 127.0.0.3:6500).
#   E  5 more valid SRTP still reach the PBX; 5 more PBX packets reach
#      127.0.0.3:6500 only.
#   F  40 RTP from 127.0.0.1 in one burst (read in batches) with a 3012-byte
#      datagram before it (read alone) and one inside it: exactly the 40
#      reach 127.0.0.3:6500 as SRTP; an oversized datagram is dropped whole.
#   G  the PBX's socket closes, tlstrunk sends one packet to it (ICMP port
#      unreachable), a new socket on the same port sends 5 RTP: they reach
#      the cloud, and 5 SRTP from the cloud reach it (a PBX restart).
# Then: the PBX's BYE ends the call normally (both sipps exit 0), tlstrunk
# is still running, its "media: call ended (BYE)" and "call summary" lines
# for the call carry srtp failures 45 and the exact out counts (pbx out 16,
# cloud out 70; in counts between what was accepted and what was sent),
# /metrics strict-parses at every scrape, and tlstrunk exits 0 on SIGINT
# (an ASan report would make it non-zero).
#
# Needs: sipp, kamailio, python3 + python3-cryptography (srtp_peer.py).
# Run: TLSTRUNK_BIN=build/tlstrunk tests/integration/97_media_guard.sh
# shellcheck disable=SC2119  # start_kamailio takes no arguments here
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/media/media_lib.sh
. "$LIB_DIR/media/media_lib.sh"

ADMIN_PORT=19097
CLOUD_MEDIA=$UAS_IP:6500     # hard-coded in cloud_uas_media.xml
UAS_SIPP_MP=6600             # sipp's own media port on the cloud side
PBX_SIPP_MP=6700             # and on the PBX side
HOLD_MS=${HOLD_MS:-8000}
N=20 M=20 K=5

"$PYTHON" -c 'import cryptography' 2>/dev/null ||
	{ echo "FAIL: 97_media_guard: python3-cryptography is missing (apt-get install python3-cryptography)"; exit 1; }

test_init
T0=$SECONDS
sipp_media_call_up "$ADMIN_PORT" "$CLOUD_MEDIA" "$UAS_SIPP_MP" "$PBX_SIPP_MP" "$HOLD_MS"

rc=0
timeout -k 2 25 "$PYTHON" "$MEDIA_DIR/media_guard.py" --metrics "http://127.0.0.1:$ADMIN_PORT/metrics" \
	--pbx-log "$WORK/sipp-pbx.msg.log" --uas-log "$WORK/sipp-cloud-uas.msg.log" \
	--listen "$CLOUD_MEDIA" --pbx-src "$PBX_IP" --bad-src 127.0.0.9 --third-src 127.0.0.4 \
	-n "$N" -m "$M" -k "$K" >"$WORK/guard.log" 2>&1 || rc=$?
sed 's/^/  /' "$WORK/guard.log" >&2
sipp_media_call_done "media guard" "$WORK/guard.log" "$rc"

counts=$(sed -n 's/^COUNTS //p' "$WORK/guard.log")
cnt() { sed -E "s/.*(^| )$1=([0-9]+).*/\2/" <<<"$counts"; }
want_fail=$(cnt srtp_failures)
want_pout=$(cnt pbx_out) want_cout=$(cnt cloud_out) max_pin=$(cnt pbx_in) max_cin=$(cnt cloud_in)
min_pin=$((max_pin - N)) min_cin=$((max_cin - 2 * M - K))   # what was accepted
wait_grep "$TLSTRUNK_LOG" "\\[$CALLID\\] call summary: " 5 || fail "no call summary line for $CALLID"
summary=$(grep -aF "[$CALLID] call summary: " "$TLSTRUNK_LOG" | sed 's/.*call summary: /call summary: /')
ended=$(grep -aF "[$CALLID] media: call ended" "$TLSTRUNK_LOG" | sed 's/.*media: /media: /' || true)
log "$ended"
log "$summary"
re='pbx->cloud .* status=200 end="BYE from pbx" media pbx in/out=([0-9]+)/([0-9]+) cloud in/out=([0-9]+)/([0-9]+) srtp_failures=([0-9]+)$'
[[ $summary =~ $re ]] || fail "the call summary is not a normal pbx->cloud call ended by the PBX's BYE: $summary"
pin=${BASH_REMATCH[1]} pout=${BASH_REMATCH[2]} cin=${BASH_REMATCH[3]} cout=${BASH_REMATCH[4]} sf=${BASH_REMATCH[5]}
[ "$sf" = "$want_fail" ] || fail "call summary srtp_failures=$sf, expected $want_fail (forged + replayed packets): $summary"
[ "$pout" = "$want_pout" ] || fail "call summary pbx out=$pout, expected $want_pout (only the valid SRTP reaches the PBX): $summary"
[ "$cout" = "$want_cout" ] || fail "call summary cloud out=$cout, expected $want_cout (only the allowed source's RTP reaches the cloud): $summary"
{ [ "$pin" -ge "$min_pin" ] && [ "$pin" -le "$max_pin" ]; } ||
	fail "call summary pbx in=$pin, expected $min_pin..$max_pin: $summary"
{ [ "$cin" -ge "$min_cin" ] && [ "$cin" -le "$max_cin" ]; } ||
	fail "call summary cloud in=$cin, expected $min_cin..$max_cin: $summary"
[[ $ended == *"srtp failures $want_fail" ]] || fail "media call-ended line disagrees: $ended (expected srtp failures $want_fail)"
if grep -aqE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$TLSTRUNK_LOG"; then
	fail "sanitizer report in $TLSTRUNK_LOG"
fi

pass "not allowed source: $N RTP dropped (dropped source +$N, none relayed); allowed: $N relayed as SRTP (+10-byte tag, decrypts, no plaintext); cloud side: $M forged from the media address + $M from a third address + $K replays dropped (srtp failures +$want_fail, pbx out +0, no latching onto the forger); valid SRTP both ways around them; a burst of 40 relayed exactly, 2 oversized datagrams dropped; media flows again after an ICMP error; BYE ended the call, summary srtp_failures=$sf pbx out=$pout cloud out=$cout; $((SECONDS - T0)) s"
