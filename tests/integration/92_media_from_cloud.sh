#!/usr/bin/env bash
# 92_media_from_cloud.sh - real audio through tlstrunk's media bridge,
# cloud -> PBX.
#
#   C  baresip "cloud" (cert "cloud", trusts ca.pem), srtp-mand, 1000 Hz
#        | sip:+1555@127.0.0.1:15061;transport=tls, RTP/SAVP + a=crypto
#   tlstrunk  TLS server (cert "sbc", sbc.test.example), relay 30000-30999
#        | UDP to [pbx] address 127.0.0.1:5090, RTP/AVP
#   P  baresip "PBX" udp 127.0.0.1:5090 (user +1555), plain, auto-answer, 440 Hz
#
# C resolves tlstrunk's Record-Route name (sbc.test.example) through
# tests/media/mini_dns.py (baresip's resolver reads no /etc/hosts). The
# cloud hangs up (its BYE follows the route set over TLS); HANGUP_BY=pbx
# makes the PBX hang up instead.
# Asserts: P was offered RTP/AVP without crypto (relay address), C got an
# RTP/SAVP answer with exactly one a=crypto of our suites (relay address),
# tones both ways, cloud leg SRTP only, C decrypted everything.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/media/media_lib.sh
. "$LIB_DIR/media/media_lib.sh"
: "${HANGUP_BY:=cloud}"

test_init
media_require
start_media_tlstrunk
dns_start
cloud_setup
pbx_setup "$PBX_UAS_PORT" +1555
capture_start media "$(media_bpf)"
bs_start cloud
bs_start pbx

bs_do cloud dial "sip:+1555@$SBC_TLS_IP:$SBC_TLS_PORT;transport=tls"
bs_established cloud
bs_established pbx
sleep "$MEDIA_CALL_SECS"
if [ "$HANGUP_BY" = pbx ]; then
	bs_do pbx hangup
	bs_terminated cloud
else
	bs_do cloud hangup
	bs_terminated pbx
fi
capture_stop

sdp_assert pbx --to "$PBX_IP:$PBX_UAS_PORT" --transport UDP --msg INVITE --initial \
	--proto RTP/AVP --crypto 0 --conn "$PBX_IP" --ports "$MEDIA_RELAY_PORTS"
sdp_assert cloud --from "$SBC_TLS_IP:$SBC_TLS_PORT" --transport TLS --msg 200 --initial \
	--proto RTP/SAVP --crypto 1 --suites "$MEDIA_SRTP_SUITES" --conn "$PBX_IP" --ports "$MEDIA_RELAY_PORTS"
media_heard_srtp_only "$MEDIA_CALL_SECS"

media_cleanup
pass "cloud->PBX call: tones heard both ways, SAVP answer with one crypto line, cloud leg SRTP only, $HANGUP_BY hung up"
