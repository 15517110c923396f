#!/usr/bin/env bash
# 78_cloud_options.sh - out-of-dialog OPTIONS from the cloud side (the BYOC
# keepalive) are answered 200 by tlstrunk itself and never reach the PBX.
# The "cloud" here is `openssl s_client` on tlstrunk's TLS server
# (127.0.0.1:15061), verifying its chain against the test root for
# sbc.test.example, sending on one connection:
#   a) OPTIONS sip:sbc.test.example:15061;transport=tls          (no user)
#   b) OPTIONS sip:+13175550100@sbc.test.example:15061;...      (a user part)
# Asserts on the bytes s_client received: a 200 for each, echoing its Via
# branch, Call-ID and CSeq, from tlstrunk (Server header); the PBX UAS
# (sipp at 127.0.0.1:5090) received no OPTIONS, although it was reachable:
# a cloud->PBX call through Kamailio afterwards reaches it and completes.
# Last, each 200 must be a complete SIP message on the stream, its header
# section ended by an empty line (RFC 3261 7, 18.3): without it the cloud
# cannot frame the answer and the keepalive counts as unanswered.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# options_req TAG SEQ RURI: one OPTIONS as the cloud sends it (CRLF line ends).
options_req() {
	printf '%s\r\n' \
		"OPTIONS $3 SIP/2.0" \
		"Via: SIP/2.0/TLS $CLOUD_IP:$CLOUD_TLS_PORT;branch=z9hG4bK-opt-$1-$$;rport" \
		"Max-Forwards: 70" \
		"From: <sip:keepalive@$CLOUD_NAME>;tag=opt-$1-$$" \
		"To: <$3>" \
		"Call-ID: opt-$1-$$@$CLOUD_NAME" \
		"CSeq: $2 OPTIONS" \
		"Accept: application/sdp" \
		"Content-Length: 0" \
		""
}

# response_for CALLID: the response block (header lines, CR stripped) for
# CALLID in the bytes s_client received.
response_for() {
	awk -v cid="$1" '
		/^SIP\/2\.0 / { if (blk != "" && hit) { printf "%s", blk; exit } blk = ""; hit = 0 }
		{ blk = blk $0 "\n"; if (index($0, "Call-ID: " cid) == 1) hit = 1 }
		END { if (hit) printf "%s", blk }' "$OUT" | tr -d '\r'
}

test_init
start_kamailio
start_tlstrunk
sipp_start pbx-uas pbx_uas.xml "$PBX_IP" "$PBX_UAS_PORT" -m 1
PBX_PID=$SIPP_PID

ruri_a="sip:$SBC_NAME:$SBC_TLS_PORT;transport=tls"
ruri_b="sip:+13175550100@$SBC_NAME:$SBC_TLS_PORT;transport=tls"
OUT=$WORK/s_client.out
rc=0
{
	options_req a 101 "$ruri_a"
	sleep 0.5
	options_req b 102 "$ruri_b"
	sleep 1.5
} | timeout 4 openssl s_client -connect "$SBC_TLS_IP:$SBC_TLS_PORT" -servername "$SBC_NAME" \
	-CAfile "$PKI/ca.pem" -verify_return_error -tls1_2 -quiet >"$OUT" 2>"$WORK/s_client.log" || rc=$?
# -quiet keeps s_client reading after its input ends: timeout (124) ends it.
[ "$rc" = 0 ] || [ "$rc" = 124 ] || fail "openssl s_client failed (exit $rc): $(tail -3 "$WORK/s_client.log" | tr '\n' ' ')"
[ -s "$OUT" ] || fail "s_client received nothing from tlstrunk for two OPTIONS"

for t in a b; do
	seq=$([ "$t" = a ] && echo 101 || echo 102)
	cid="opt-$t-$$@$CLOUD_NAME"
	resp=$(response_for "$cid")
	[ -n "$resp" ] || fail "OPTIONS $t: no response with Call-ID $cid (s_client got: $(head -c 300 "$OUT" | tr '\r\n' '  '))"
	status=$(head -1 <<<"$resp")
	[[ $status == "SIP/2.0 200 "* ]] || fail "OPTIONS $t: answered '$status', expected 200"
	grep -q "^Via: .*branch=z9hG4bK-opt-$t-$$" <<<"$resp" || fail "OPTIONS $t: the 200 does not echo the Via branch"
	grep -q "^CSeq: $seq OPTIONS" <<<"$resp" || fail "OPTIONS $t: the 200 does not echo CSeq $seq OPTIONS"
	grep -q '^Server: tlstrunk' <<<"$resp" || fail "OPTIONS $t: the 200 is not tlstrunk's own (no Server: tlstrunk): $(tr '\n' '|' <<<"$resp")"
done

# The PBX saw none of it, yet it was there: a call from the cloud reaches it.
rc=0
sipp_run cloud-uac cloud_uac.xml -i "$UAS_IP" -p 5070 -s 1000 -m 1 "$CLOUD_IP:$CLOUD_UDP_PORT" || rc=$?
[ "$rc" = 0 ] || fail "control call cloud->PBX failed (cloud sipp exit $rc)"
rc=0
sipp_wait "$PBX_PID" || rc=$?
[ "$rc" = 0 ] || fail "PBX sipp UAS failed (exit $rc)"
grep -q '^INVITE sip:' "$WORK/sipp-pbx-uas.msg.log" || fail "the PBX UAS did not get the control call's INVITE"
if grep -Eq '^OPTIONS ' "$WORK/sipp-pbx-uas.msg.log"; then
	fail "tlstrunk forwarded the cloud's OPTIONS to the PBX: $(grep -E '^OPTIONS ' "$WORK/sipp-pbx-uas.msg.log" | head -1 | tr -d '\r')"
fi
if grep -aq 'opt-[ab]-' "$WORK/sipp-pbx-uas.msg.log"; then
	fail "the PBX received a message belonging to the cloud's OPTIONS"
fi

# Framing: every response on the stream ends its headers with an empty line.
unframed=$(awk '
	/^SIP\/2\.0 / { if (n && last != "\r" && last != "") print start; start = $0; n++ }
	{ last = $0 }
	END { if (n && last != "\r" && last != "") print start }' "$OUT" | tr -d '\r')
[ -z "$unframed" ] ||
	fail "tlstrunk's 200 to the cloud's OPTIONS has no empty line after its headers (RFC 3261 7/18.3), so the cloud cannot frame it on TLS: '$(tr '\n' ';' <<<"$unframed")' (last bytes on the wire: $(tail -c 24 "$OUT" | od -An -c | tr -s ' \n' ' '))"

pass "both cloud OPTIONS (with and without user) answered 200 by tlstrunk over verified TLS, each a framed message; the PBX got none (it did get the control call)"
