#!/usr/bin/env bash
# tests/media/selftest.sh [CASE...] - validates the media harness itself,
# without tlstrunk: direct calls between the baresip endpoints, checked with
# the same checkers the tlstrunk media tests use. Run it after changing
# anything in tests/media/. Cases (default: all):
#
#   srtp       P -> C over TLS, both SRTP (P configured like C): both tones
#              recorded, C got RTP/SAVP + a=crypto, rtp_check passes.
#   plain      the same call with plain RTP on the "cloud" leg (what a broken
#              bridge would do): rtp_check MUST fail, or the check is useless.
#   udp        P -> a plain endpoint over UDP, plain RTP: both tones, RTP/AVP.
#   hold       srtp + hold/resume re-INVITEs from P: packets both ways after
#              the resume, no SRTP decrypt failure at C.
#   tlsclient  C as a TLS client: dials sip:+1555@sbc.test.example (resolved
#              by mini_dns.py) where a baresip with tlstrunk's certificate
#              (sbc) answers with SRTP; both tones.
#
# It uses its own addresses and ports (127.0.0.11-13, media 33000-35099,
# controls 24444-24446) so it can run while the tlstrunk tests run.
# Exit status 0 when every case behaved as expected; the last line is
# "N passed, N failed".
set -eEuo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)

if [ $# -eq 0 ] || [ "${1:-}" = all ]; then
	pass_n=0 fail_n=0
	for c in srtp plain udp hold tlsclient; do
		if TEST_NAME=media_selftest_$c timeout -k 5 120 bash "$0" "$c"; then
			pass_n=$((pass_n + 1))
		else
			fail_n=$((fail_n + 1))
		fi
	done
	echo "$pass_n passed, $fail_n failed"
	[ "$fail_n" = 0 ]
	exit
fi

CASE=$1
TEST_NAME=${TEST_NAME:-media_selftest_$CASE}
# shellcheck source=tests/lib.sh
. "$HERE/../lib.sh"

# Self-test topology (kept apart from the tlstrunk topology of lib.sh).
export BS_PBX_IP=127.0.0.11 BS_PBX_SIP_PORT=5072 BS_PBX_CTRL=127.0.0.11:24445
export BS_PBX_RTP=34000-34099
export BS_CLOUD_IP=127.0.0.12 BS_CLOUD_TLS_PORT=5061 BS_CLOUD_CTRL=127.0.0.12:24444
export BS_CLOUD_RTP=33000-33099 BS_DNS=127.0.0.12:10053
export MEDIA_RELAY_PORTS=35000-35099        # the stand-in "sbc" endpoint's media
SBC_TLS_IP=127.0.0.13                      # mini_dns.py: sbc.test.example -> here
SBC_STANDIN_CTRL=127.0.0.13:24446
# shellcheck source=tests/media/media_lib.sh
. "$HERE/media_lib.sh"

test_init
media_require

CLOUD_URI="sip:+13175550100;tgrp=$TGRP;trunk-context=$TRUNK_CONTEXT@$BS_CLOUD_IP:$BS_CLOUD_TLS_PORT"
CALL=$MEDIA_CALL_SECS
MIN_TONE=$((CALL - 2))

# P as a TLS client with SRTP (or plain), for the direct calls to C.
pbx_tls_setup() {
	local menc=$1
	bs_setup pbx "$BS_PBX_IP:$BS_PBX_SIP_PORT" "$BS_PBX_CTRL" "$BS_PBX_RTP" "$BS_PBX_TONE"
	bs_tls_files pbx
	bs_account pbx "<sip:pbx@$BS_PBX_IP:$BS_PBX_SIP_PORT>;regint=0;answermode=auto${menc:+;mediaenc=$menc}"
}

# A plain "cloud": the same C, but without mediaenc (the broken-bridge case).
cloud_plain_setup() {
	cloud_setup
	sed -i 's/;mediaenc=srtp-mand//' "${BS_DIR[cloud]}/accounts"
}

# call_and_hangup CALLER URI CALLEE: dial, both established, talk, hang up.
call_and_hangup() {
	local caller=$1 uri=$2 callee=$3
	bs_do "$caller" dial "$uri"
	bs_established "$caller"
	bs_established "$callee"
	sleep "$CALL"
	bs_do "$caller" hangup
	bs_terminated "$callee"
}

case $CASE in
srtp | plain)
	if [ "$CASE" = srtp ]; then cloud_setup; pbx_tls_setup srtp-mand; else cloud_plain_setup; pbx_tls_setup ""; fi
	capture_start media "$(media_bpf)"
	bs_start cloud
	bs_start pbx
	call_and_hangup pbx "$CLOUD_URI;transport=tls" cloud
	capture_stop
	bs_check_tone cloud "$BS_PBX_TONE" "$MIN_TONE"
	bs_check_tone pbx "$BS_CLOUD_TONE" "$MIN_TONE"
	out=$("$PYTHON" "$MEDIA_DIR/rtp_check.py" "$CAP_FILE" --cloud "$BS_MEDIA_IP:$BS_CLOUD_RTP" --min-packets 100 --allow-ping) && rc=0 || rc=$?
	echo "$out" >&2
	if [ "$CASE" = srtp ]; then
		[ "$rc" = 0 ] || fail "rtp_check failed on an SRTP call"
		sdp_assert cloud --to "$BS_CLOUD_IP:$BS_CLOUD_TLS_PORT" --transport TLS --msg INVITE --initial \
			--proto RTP/SAVP --crypto 1-8 --conn "$BS_MEDIA_IP" --ports "$BS_PBX_RTP"
		sdp_assert pbx --from "$BS_CLOUD_IP:$BS_CLOUD_TLS_PORT" --msg 200 --initial \
			--proto RTP/SAVP --crypto 1 --suites "$MEDIA_SRTP_SUITES" --conn "$BS_MEDIA_IP" --ports "$BS_CLOUD_RTP"
		grep -a 'SRTP is Enabled' "${BS_LOG[cloud]}" | head -2 >&2
		[ "$(bs_srtp_errors cloud ping)" = 0 ] || fail "C failed to decrypt $(bs_srtp_errors cloud ping) packets"
		media_cleanup
		pass "direct SRTP call: tones both ways, SAVP+crypto offer, rtp_check passes"
	fi
	[ "$rc" = 1 ] || fail "rtp_check did not fail (status $rc) on a plain-RTP cloud leg"
	grep -q 'plain G.711 of a test tone' <<<"$out" || fail "rtp_check failed, but not because of the plain tone"
	sdp_assert cloud --to "$BS_CLOUD_IP:$BS_CLOUD_TLS_PORT" --msg INVITE --initial --proto RTP/AVP --crypto 0
	media_cleanup
	pass "plain RTP on the cloud leg: tones fine, and rtp_check fails as it must: $(grep 'FAIL:' <<<"$out" | sed 's/^ *FAIL: //' | paste -sd ';')"
	;;
udp)
	# The "cloud" here is a plain UDP endpoint (C without TLS use/SRTP).
	cloud_plain_setup
	pbx_setup "$BS_PBX_SIP_PORT"
	capture_start media "$(media_bpf)"
	bs_start cloud
	bs_start pbx
	call_and_hangup pbx "sip:+13175550100;tgrp=$TGRP;trunk-context=$TRUNK_CONTEXT@$BS_CLOUD_IP:$((BS_CLOUD_TLS_PORT - 1))" cloud
	capture_stop
	bs_check_tone cloud "$BS_PBX_TONE" "$MIN_TONE"
	bs_check_tone pbx "$BS_CLOUD_TONE" "$MIN_TONE"
	sdp_assert cloud --transport UDP --msg INVITE --initial --proto RTP/AVP --crypto 0 --conn "$BS_MEDIA_IP"
	sdp_assert pbx --transport UDP --msg 200 --initial --proto RTP/AVP --crypto 0 --conn "$BS_MEDIA_IP"
	media_cleanup
	pass "direct plain UDP call: tones both ways, RTP/AVP without crypto"
	;;
hold)
	cloud_setup
	pbx_tls_setup srtp-mand
	capture_start media "$(media_bpf)"
	bs_start cloud
	bs_start pbx
	bs_do pbx dial "$CLOUD_URI;transport=tls"
	bs_established pbx
	bs_established cloud
	sleep 3
	bs_do pbx hold
	bs_wait cloud 'a=sendonly' 5 "the hold re-INVITE"
	sleep 2
	bs_do pbx resume
	t_resume=$(date +%s.%N)
	sleep 4
	bs_do pbx hangup
	bs_terminated cloud
	capture_stop
	bs_check_tone cloud "$BS_PBX_TONE" 1.5
	bs_check_tone pbx "$BS_CLOUD_TONE" 1.5
	sdp_assert cloud --to "$BS_CLOUD_IP:$BS_CLOUD_TLS_PORT" --msg INVITE --reinvite --min 2 \
		--proto RTP/SAVP --crypto 1-8
	rtp_assert_srtp --cloud "$BS_MEDIA_IP:$BS_CLOUD_RTP" --min-packets 100 --allow-ping
	rtp_assert_srtp --cloud "$BS_MEDIA_IP:$BS_CLOUD_RTP" --min-packets 100 --allow-ping --since "$(awk -v t="$t_resume" 'BEGIN { printf "%.3f", t + 0.5 }')"
	[ "$(bs_srtp_errors cloud ping)" = 0 ] || fail "C failed to decrypt $(bs_srtp_errors cloud ping) packets"
	[ "$(bs_srtp_errors pbx ping)" = 0 ] || fail "P failed to decrypt $(bs_srtp_errors pbx ping) packets"
	media_cleanup
	pass "hold/resume over SRTP: re-INVITEs SAVP, packets both ways after resume, no decrypt failure"
	;;
tlsclient)
	dns_start
	cloud_setup
	# The stand-in for tlstrunk's TLS server: certificate sbc, SRTP, on
	# $SBC_TLS_IP:15061, media in $MEDIA_RELAY_PORTS.
	bs_setup sbc "$SBC_TLS_IP:$((SBC_TLS_PORT - 1))" "$SBC_STANDIN_CTRL" "$MEDIA_RELAY_PORTS" "$BS_PBX_TONE"
	bs_tls_files sbc sbc
	bs_account sbc "<sip:+1555@$SBC_TLS_IP>;regint=0;answermode=auto;mediaenc=srtp-mand"
	capture_start media "$(media_bpf)"
	bs_start cloud
	bs_start sbc
	call_and_hangup cloud "sip:+1555@$SBC_NAME:$SBC_TLS_PORT;transport=tls" sbc
	capture_stop
	grep -q "$SBC_NAME type 1 .* -> $SBC_TLS_IP" "$WORK/dns.log" || fail "C did not resolve $SBC_NAME through mini_dns.py"
	bs_check_tone cloud "$BS_PBX_TONE" "$MIN_TONE"
	bs_check_tone sbc "$BS_CLOUD_TONE" "$MIN_TONE"
	sdp_assert sbc --transport TLS --msg INVITE --initial --proto RTP/SAVP --crypto 1-8
	sdp_assert cloud --from "$SBC_TLS_IP:$SBC_TLS_PORT" --transport TLS --msg 200 --initial --proto RTP/SAVP --crypto 1
	rtp_assert_srtp --cloud "$BS_MEDIA_IP:$BS_CLOUD_RTP" --min-packets 100 --allow-ping
	media_cleanup
	pass "C dialed $SBC_NAME over TLS (DNS via mini_dns.py), SRTP both ways"
	;;
*)
	echo "unknown case $CASE" >&2
	exit 2
	;;
esac
