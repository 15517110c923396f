#!/usr/bin/env bash
# 76_cancel.sh - the PBX cancels a ringing call. The cloud UAS answers 180
# and never 200 (cloud_uas_cancel.xml); the PBX (pbx_uac_cancel.xml) sends
# INVITE, waits for the 180, sends CANCEL, must get 200 for the CANCEL and
# 487 for the INVITE, and ACKs the 487. Asserts:
#   - both sipp peers complete their scenario (the UAS got the CANCEL, sent
#     200 + 487 and got its ACK; the PBX got 200/CANCEL and 487/INVITE);
#   - the 487 the PBX got is the cloud's (To tag of the cloud UAS), not one
#     tlstrunk made up;
#   - the cloud (Kamailio) received tlstrunk's CANCEL over TLS, on the
#     INVITE's connection, with the INVITE's top Via branch, Request-URI and
#     CSeq number (RFC 3261 9.1: that is how the cloud matches it);
#   - the cloud received tlstrunk's ACK for the 487 with that same branch
#     (RFC 3261 17.1.1.3, hop-by-hop ACK).
set -eEuo pipefail
# A hung CANCEL must not cost the full default wait.
: "${SIPP_TIMEOUT:=10}"
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

first_callid() { { grep -m1 -Ei '^(Call-ID|i):' "$1" 2>/dev/null || true; } | sed -E 's/^[^:]*:[[:space:]]*//' | tr -d '\r'; }

# branch_of CLOUD-RX-LINE: the branch of the top Via in via=[...].
branch_of() { field "$1" via | sed -nE 's/.*;branch=([^;,]*).*/\1/p'; }

test_init
start_kamailio
start_tlstrunk
sipp_start cloud-uas cloud_uas_cancel.xml "$UAS_IP" "$UAS_PORT" -m 1
UAS_PID=$SIPP_PID

rc=0
sipp_run pbx-uac pbx_uac_cancel.xml -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
pbx_rc=$rc
rc=0
sipp_wait "$UAS_PID" 15 || rc=$?
uas_rc=$rc

callid=$(first_callid "$WORK/sipp-pbx-uac.msg.log")
inv=$(cloud_rx | grep ' method=INVITE ' | grep -F "callid=$callid " || true)
[ -n "$inv" ] || fail "the cloud saw no INVITE for Call-ID $callid"
[ "$(grep -c . <<<"$inv" || true)" = 1 ] || fail "the cloud saw $(grep -c . <<<"$inv" || true) INVITEs for $callid"
can=$(cloud_rx | grep ' method=CANCEL ' | grep -F "callid=$callid " || true)
if [ -z "$can" ]; then
	hint=
	grep -q 'CANCEL forwarded' "$TLSTRUNK_LOG" && hint="; tlstrunk logged it as forwarded, so the cloud could not frame it on the TLS stream?"
	fail "the cloud never received a (parsable) CANCEL for $callid (PBX sipp exit $pbx_rc, cloud UAS exit $uas_rc$hint)"
fi
[ "$(grep -c . <<<"$can" || true)" = 1 ] || fail "the cloud received $(grep -c . <<<"$can" || true) CANCELs for $callid, expected 1"
[ "$(field "$can" proto)" = tls ] || fail "the CANCEL reached the cloud over $(field "$can" proto), expected tls"
[ "$(field "$can" conid)" = "$(field "$inv" conid)" ] ||
	fail "the CANCEL came on TLS connection $(field "$can" conid), the INVITE on $(field "$inv" conid)"
b_inv=$(branch_of "$inv")
b_can=$(branch_of "$can")
[ -n "$b_inv" ] || fail "no branch in the INVITE's top Via at the cloud: $(field "$inv" via)"
[ "$b_can" = "$b_inv" ] || fail "CANCEL branch '$b_can' differs from the INVITE's '$b_inv' (RFC 3261 9.1)"
[ "$(field "$can" ruri)" = "$(field "$inv" ruri)" ] ||
	fail "CANCEL Request-URI '$(field "$can" ruri)' differs from the INVITE's '$(field "$inv" ruri)'"
[ "$(field "$can" cseq)" = "$(field "$inv" cseq)" ] ||
	fail "CANCEL CSeq number $(field "$can" cseq) differs from the INVITE's $(field "$inv" cseq)"

[ "$uas_rc" = 0 ] || fail "cloud sipp UAS failed (exit $uas_rc): no CANCEL, or no ACK for its 487"
[ "$pbx_rc" = 0 ] || fail "PBX sipp failed (exit $pbx_rc): no 200 for the CANCEL or no 487 for the INVITE"

# The 487 at the PBX is the cloud's.
r487=$(awk '/^SIP\/2.0 487 /{f=1} f&&/^--------------------/{exit} f{print}' "$WORK/sipp-pbx-uac.msg.log" | tr -d '\r')
grep -Eq '^(To|t):.*;tag=[0-9]+SIPpTag01' <<<"$r487" ||
	fail "the 487 at the PBX does not carry the cloud UAS's To tag: $(grep -Ei '^(To|t):' <<<"$r487" || true)"
grep -a 'CLOUD-TX-REPLY status=487 ' "$WORK/kamailio.log" | grep -F "callid=$callid" | grep -q ' proto=tls ' ||
	fail "the cloud did not send the 487 to tlstrunk over TLS"

# tlstrunk's hop-by-hop ACK for the 487 reached the cloud.
ack=$(cloud_rx | grep ' method=ACK ' | grep -F "callid=$callid " || true)
[ -n "$ack" ] || fail "the cloud never received (or could not parse) tlstrunk's ACK for the 487"
[ "$(branch_of "$ack")" = "$b_inv" ] ||
	fail "tlstrunk's ACK for the 487 has branch '$(branch_of "$ack")', expected the INVITE's '$b_inv'"

pass "CANCEL reached the cloud over TLS with the INVITE's branch $b_inv; PBX got 200/CANCEL and the cloud's 487; ACK for the 487 on the same branch"
