#!/usr/bin/env bash
# 94_media_reinvite.sh - hold/resume re-INVITEs from the PBX in the middle of
# a PBX -> cloud call (topology of 90_media_srtp.sh) keep the audio flowing.
#
# Call 3 s, P: hold (re-INVITE a=sendonly), 2 s, P: resume (a=sendrecv),
# 5 s, P hangs up. Asserts:
#   - C got both re-INVITEs as RTP/SAVP with exactly one a=crypto line (no
#     downgrade; only the active crypto line is offered in a re-INVITE), P got
#     RTP/AVP answers without crypto;
#   - both tones recorded before the hold (baresip 1.0 stops feeding its
#     recorder at the first re-INVITE, so recordings cannot show the audio
#     after it; the capture does):
#   - after the resume (capture window): >= 100 packets each way on both
#     legs, the cloud leg SRTP only, the packets tlstrunk sends to P carry the
#     cloud's 1000 Hz tone (it decrypted C's SRTP after the re-INVITE), P's
#     carry 440 Hz;
#   - C failed to decrypt no SRTP/SRTCP packet (tlstrunk's keys, rollover
#     counter and replay state after the re-INVITE are what C expects).
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/media/media_lib.sh
. "$LIB_DIR/media/media_lib.sh"

test_init
media_require
start_media_tlstrunk
dns_start
cloud_setup
pbx_setup "$BS_PBX_SIP_PORT"
capture_start media "$(media_bpf)"
bs_start cloud
bs_start pbx

bs_do pbx dial "sip:+13175550100@$PBX_IP:$SBC_PBX_PORT"
bs_established pbx
bs_established cloud
sleep 3
bs_do pbx hold
bs_wait cloud 'a=sendonly' "$MEDIA_TIMEOUT" "the hold re-INVITE reaching the cloud"
sleep 2
bs_do pbx resume
# The resume re-INVITE is the second INVITE with a To tag the cloud saw.
for i in $(seq 1 $((MEDIA_TIMEOUT * 10))); do
	"$PYTHON" "$MEDIA_DIR/sdp_check.py" "${BS_LOG[cloud]}" --msg INVITE --reinvite --min 2 >/dev/null 2>&1 && break
	[ "$i" -lt $((MEDIA_TIMEOUT * 10)) ] || fail "the resume re-INVITE did not reach the cloud"
	sleep 0.1
done
t_resume=$(date +%s.%N)
sleep 5
bs_do pbx hangup
bs_terminated cloud
capture_stop

sdp_assert cloud --to "$BS_CLOUD_IP:$BS_CLOUD_TLS_PORT" --transport TLS --msg INVITE --reinvite --min 2 \
	--proto RTP/SAVP --crypto 1 --suites "$MEDIA_SRTP_SUITES" --conn "$PBX_IP" --ports "$MEDIA_RELAY_PORTS"
sdp_assert pbx --from "$PBX_IP:$SBC_PBX_PORT" --transport UDP --msg 200 --reinvite --min 2 \
	--proto RTP/AVP --crypto 0 --conn "$PBX_IP" --ports "$MEDIA_RELAY_PORTS"
bs_check_tone cloud "$BS_PBX_TONE" 1.5
bs_check_tone pbx "$BS_CLOUD_TONE" 1.5
rtp_assert_srtp --cloud "$BS_MEDIA_IP:$BS_CLOUD_RTP" --pbx "$BS_MEDIA_IP:$BS_PBX_RTP" \
	--relay "$PBX_IP:$MEDIA_RELAY_PORTS" --min-packets 100
since=$(awk -v t="$t_resume" 'BEGIN { printf "%.3f", t + 0.5 }')
rtp_assert_srtp --cloud "$BS_MEDIA_IP:$BS_CLOUD_RTP" --pbx "$BS_MEDIA_IP:$BS_PBX_RTP" \
	--relay "$PBX_IP:$MEDIA_RELAY_PORTS" --min-packets 100 --since "$since"
n=$(bs_srtp_errors cloud)
[ "$n" = 0 ] || fail "the cloud failed to decrypt $n SRTP/SRTCP packets from tlstrunk (rekey/ROC after the re-INVITE?)"

media_cleanup
pass "hold/resume from the PBX: SAVP re-INVITEs with one crypto line, audio both ways after the resume, no SRTP failure"
