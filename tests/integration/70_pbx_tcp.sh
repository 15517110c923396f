#!/usr/bin/env bash
# 70_pbx_tcp.sh - the PBX places its call over TCP (sipp -t t1, one
# connection to tlstrunk's 127.0.0.1:15060/tcp). Asserts on what the peers
# received:
#   - the PBX sipp completes INVITE/100/[180]/200/ACK/BYE/200 (the 180 is
#     required whenever the cloud sent one to tlstrunk), every message on
#     its TCP connection (sipp's message log says "TCP message"), each
#     response a message of its own (sipp frames each one by the empty line
#     that ends its headers: a missing one merges two responses into one);
#   - the 200 OK the PBX received carries tlstrunk's PBX-side Record-Route
#     entry (sip:127.0.0.1:15060) with transport=tcp, so that the PBX sends
#     its in-dialog requests back over TCP,
#   - Kamailio (the cloud) got the INVITE over TLS with the RFC 4904
#     Request-URI, and the ACK and BYE over TLS too.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# msg_block LOG START_REGEX: the first message in a sipp message log whose
# first line matches START_REGEX (up to the next separator line).
msg_block() {
	awk -v re="$2" '
		/^--------------------/ { if (f) exit; next }
		!f && $0 ~ re { f = 1 }
		f { print }' "$1" | tr -d '\r'
}

test_init
start_kamailio
start_tlstrunk
sipp_start cloud-uas cloud_uas_ringing.xml "$UAS_IP" "$UAS_PORT" -m 1
UAS_PID=$SIPP_PID

rc=0
sipp_run pbx-uac pbx_uac.xml -t t1 -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "PBX sipp UAC over TCP failed (exit $rc): the call did not complete"
rc=0
sipp_wait "$UAS_PID" || rc=$?
[ "$rc" = 0 ] || fail "cloud sipp UAS failed (exit $rc)"

msglog=$WORK/sipp-pbx-uac.msg.log
# The PBX really spoke TCP, and only TCP.
grep -Eq '^TCP message (sent|received)' "$msglog" || fail "the PBX sipp log shows no TCP message"
if grep -Eq '^UDP message' "$msglog"; then
	fail "the PBX sipp sent or received UDP although it runs -t t1"
fi
inv_via=$(msg_block "$msglog" '^INVITE sip:' | grep -Ei '^(Via|v):' | head -1 || true)
grep -q 'SIP/2.0/TCP' <<<"$inv_via" || fail "the PBX INVITE's Via is '$inv_via', expected SIP/2.0/TCP"

# On a stream every message must end its header section with an empty
# line (RFC 3261 7, 18.3): sipp frames by it, so one "message received"
# holding two start lines means a message without it swallowed the next.
merged=$(awk '
	/^--------------------/ { if (n > 1) print first " + " (n - 1) " more"; rx = 0; n = 0; next }
	/^TCP message received/ { rx = 1; next }
	rx && /^(SIP\/2\.0 [0-9][0-9][0-9] |[A-Z]+ sip:)/ { if (!n++) first = $0 }
	END { if (n > 1) print first " + " (n - 1) " more" }' "$msglog" | tr -d '\r')
[ -z "$merged" ] || fail "the PBX's TCP stream had messages without the empty line ending their headers, so the next message merged into them: $merged"
# Whatever 180 the cloud sent tlstrunk must reach the PBX. (Kamailio itself
# drops the UAS's 180 now and then: its UDP workers may take the 200, sent
# right behind it, first; then there is none to pass on.)
if grep -a 'CLOUD-TX-REPLY status=180 ' "$WORK/kamailio.log" | grep -q ' proto=tls '; then
	grep -q '^SIP/2.0 180 ' "$msglog" || fail "the cloud sent tlstrunk a 180 Ringing, the PBX received none over TCP"
fi

# The 200 OK for the INVITE, as the PBX received it.
ok=$(msg_block "$msglog" '^SIP/2.0 200 ')
[ -n "$ok" ] || fail "no 200 OK in the PBX's message log"
grep -Eq '^CSeq: *1 INVITE' <<<"$ok" || fail "first 200 OK at the PBX is not for the INVITE"
rr_pbx=$({ grep -Ei '^(Record-Route|rr):' <<<"$ok" || true; } | sed -E 's/^[^:]*:[[:space:]]*//' | tr ',' '\n' |
	{ grep -E "sip:$PBX_IP:${SBC_PBX_PORT}[;>]" || true; })
[ -n "$rr_pbx" ] || fail "200 OK at the PBX has no Record-Route for tlstrunk's $PBX_IP:$SBC_PBX_PORT (RR: $(grep -Ei '^Record-Route:' <<<"$ok" | tr '\n' ' ' || true))"
[ "$(wc -l <<<"$rr_pbx")" = 1 ] || fail "tlstrunk's PBX-side Record-Route appears $(wc -l <<<"$rr_pbx") times: $rr_pbx"
grep -qi 'transport=tcp' <<<"$rr_pbx" ||
	fail "tlstrunk's PBX-side Record-Route '$rr_pbx' lacks transport=tcp (the PBX came over TCP)"

# The cloud's view.
want_ruri="sip:+13175550100;tgrp=$TGRP;trunk-context=$TRUNK_CONTEXT@$CLOUD_NAME:$CLOUD_TLS_PORT;transport=tls"
invites=$(cloud_rx | grep ' method=INVITE ' || true)
[ -n "$invites" ] || fail "Kamailio saw no INVITE"
[ "$(wc -l <<<"$invites")" = 1 ] || fail "Kamailio saw $(wc -l <<<"$invites") INVITEs, expected 1"
inv=$invites
ruri=$(field "$inv" ruri)
[ "$ruri" = "$want_ruri" ] || fail "INVITE Request-URI at the cloud is '$ruri', expected '$want_ruri'"
[ "$(field "$inv" proto)" = tls ] || fail "INVITE reached the cloud over '$(field "$inv" proto)', expected tls"
[ "$(field "$inv" tlsver)" = TLSv1.2 ] || fail "TLS version at the cloud is '$(field "$inv" tlsver)'"
callid=$(field "$inv" callid)
pbx_callid=$(msg_block "$msglog" '^INVITE sip:' | grep -Ei '^(Call-ID|i):' | sed -E 's/^[^:]*:[[:space:]]*//' || true)
[ "$callid" = "$pbx_callid" ] || fail "cloud Call-ID '$callid' is not the PBX's '$pbx_callid'"
for m in ACK BYE; do
	line=$(cloud_rx | grep " method=$m " | grep -F "callid=$callid " || true)
	[ -n "$line" ] || fail "Kamailio saw no $m for Call-ID $callid (the PBX's in-dialog $m did not cross tlstrunk)"
	[ "$(field "$line" proto)" = tls ] || fail "$m reached the cloud over $(field "$line" proto), expected tls"
done

pass "TCP call completed; PBX got RR $rr_pbx; cloud saw $ruri over TLS, ACK+BYE over TLS"
