#!/usr/bin/env bash
# 40_cloud_to_pbx.sh - calls from the cloud: sipp UAC (127.0.0.3) -> Kamailio
# (udp in, TLS out, verifying tlstrunk's chain against the test root) ->
# tlstrunk's TLS server -> UDP -> the PBX (sipp UAS at 127.0.0.1:5090).
#   a) the cloud hangs up (cloud_uac.xml + pbx_uas.xml)
#   b) the PBX hangs up, its BYE routed back over TLS
#      (cloud_uac_wait_bye.xml + pbx_uas_bye.xml)
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# first_callid MSGLOG: the Call-ID of the first message in a sipp message log.
first_callid() { grep -m1 -i '^Call-ID:' "$1" | sed -E 's/^[^:]*:[[:space:]]*//' | tr -d '\r'; }

# check_pbx_invite NAME: the PBX got an INVITE whose top Via is tlstrunk's
# PBX-side address (tlstrunk proxied it, it did not come from elsewhere).
check_pbx_invite() {
	local log=$WORK/sipp-$1.msg.log via
	grep -q '^INVITE sip:' "$log" || fail "$1: the PBX received no INVITE"
	via=$(awk '/^INVITE sip:/{f=1} f && tolower($0) ~ /^(via|v):/ {print; exit}' "$log" | tr -d '\r')
	grep -Eq "^(Via|v): *SIP/2.0/UDP $PBX_IP:${SBC_PBX_PORT}[;[:space:]]" <<<"$via" ||
		fail "$1: top Via of the INVITE at the PBX is '$via', expected tlstrunk's $PBX_IP:$SBC_PBX_PORT"
}

# run_case LABEL CLOUD_SCENARIO PBX_SCENARIO
run_case() {
	local label=$1 cloud_scen=$2 pbx_scen=$3 rc pbx_pid callid
	sipp_start "pbx-$label" "$pbx_scen" "$PBX_IP" "$PBX_UAS_PORT" -m 1
	pbx_pid=$SIPP_PID
	rc=0
	sipp_run "cloud-$label" "$cloud_scen" -i "$UAS_IP" -p 5070 -s 1000 -m 1 \
		"$CLOUD_IP:$CLOUD_UDP_PORT" || rc=$?
	[ "$rc" = 0 ] || fail "$label: cloud sipp UAC ($cloud_scen) failed (exit $rc)"
	rc=0
	sipp_wait "$pbx_pid" || rc=$?
	[ "$rc" = 0 ] || fail "$label: PBX sipp UAS ($pbx_scen) failed (exit $rc)"
	check_pbx_invite "pbx-$label"

	callid=$(first_callid "$WORK/sipp-cloud-$label.msg.log")
	# Kamailio forwarded the INVITE over TLS and got tlstrunk's 200 on TLS.
	grep -a 'CLOUD-TX method=INVITE ' "$WORK/kamailio.log" | grep -F "callid=$callid " |
		grep -q ' proto=tls ' || fail "$label: Kamailio did not send the INVITE over TLS"
	grep -a 'CLOUD-RX-REPLY status=200 ' "$WORK/kamailio.log" | grep -F "callid=$callid" |
		grep -q ' cseq=1 proto=tls ' || fail "$label: no 200 for the INVITE came back over TLS"
	CASE_CALLID=$callid
}

test_init
start_kamailio
start_tlstrunk

# a) BYE from the cloud side.
run_case a cloud_uac.xml pbx_uas.xml
grep -a 'CLOUD-TX method=BYE ' "$WORK/kamailio.log" | grep -F "callid=$CASE_CALLID " |
	grep -q ' proto=tls ' || fail "a: the cloud's BYE did not go to tlstrunk over TLS"
grep -q '^BYE sip:' "$WORK/sipp-pbx-a.msg.log" || fail "a: the PBX received no BYE"

# b) BYE from the PBX side: it must reach the cloud over TLS via the route set.
run_case b cloud_uac_wait_bye.xml pbx_uas_bye.xml
bye=$(cloud_rx | grep ' method=BYE ' | grep -F "callid=$CASE_CALLID " || true)
[ -n "$bye" ] || fail "b: Kamailio saw no BYE from tlstrunk for Call-ID $CASE_CALLID"
[ "$(field "$bye" proto)" = tls ] || fail "b: the PBX's BYE reached the cloud over $(field "$bye" proto), expected tls"
grep -q '^BYE sip:' "$WORK/sipp-cloud-b.msg.log" || fail "b: the cloud UAC received no BYE"

pass "cloud->PBX calls completed; cloud BYE and PBX BYE (over TLS, conid $(field "$bye" conid)) both delivered"
