#!/usr/bin/env bash
# 10_pbx_to_cloud.sh - one call from the PBX (sipp UAC, plaintext UDP) through
# tlstrunk and the Kamailio cloud stand-in (TLS) to a sipp UAS behind it.
# Asserts what the cloud sees: the RFC 4904 Request-URI toward its
# certificate name, TLS 1.2 with one of the eight allowed suites, tlstrunk's
# Record-Route with its certificate name and transport=tls, and the BYE on
# TLS as well.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

test_init
start_kamailio
start_tlstrunk
sipp_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m 1
UAS_PID=$SIPP_PID

rc=0
sipp_run pbx-uac pbx_uac.xml -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 "$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "PBX sipp UAC failed (exit $rc): the call did not complete"
rc=0
sipp_wait "$UAS_PID" || rc=$?
[ "$rc" = 0 ] || fail "cloud sipp UAS failed (exit $rc)"

want_ruri="sip:+13175550100;tgrp=$TGRP;trunk-context=$TRUNK_CONTEXT@$CLOUD_NAME:$CLOUD_TLS_PORT;transport=tls"
invites=$(cloud_rx | grep ' method=INVITE ' || true)
[ -n "$invites" ] || fail "Kamailio saw no INVITE"
[ "$(wc -l <<<"$invites")" = 1 ] || fail "Kamailio saw $(wc -l <<<"$invites") INVITEs, expected 1"
inv=$invites

ruri=$(field "$inv" ruri)
[ "$ruri" = "$want_ruri" ] || fail "INVITE Request-URI is '$ruri', expected '$want_ruri'"
proto=$(field "$inv" proto)
[ "$proto" = tls ] || fail "INVITE arrived over '$proto', expected tls"
ver=$(field "$inv" tlsver)
[ "$ver" = TLSv1.2 ] || fail "TLS version is '$ver', expected TLSv1.2"
cipher=$(field "$inv" cipher)
case ":$CLOUD_CIPHERS:" in
*":$cipher:"*) ;;
*) fail "cipher '$cipher' is not one of the cloud's suites" ;;
esac
rr=$(field "$inv" rr)
grep -Eq "sip:${SBC_NAME}[:;>]" <<<"$rr" || fail "Record-Route '$rr' lacks sip:$SBC_NAME"
# tlstrunk's own entry (the one naming its certificate) must say transport=tls.
sbc_rr=$(tr ',' '\n' <<<"$rr" | grep "sip:$SBC_NAME" | head -1)
grep -qi 'transport=tls' <<<"$sbc_rr" || fail "tlstrunk's Record-Route '$sbc_rr' lacks transport=tls"

callid=$(field "$inv" callid)
conid=$(field "$inv" conid)
bye=$(cloud_rx | grep ' method=BYE ' | grep -F "callid=$callid " || true)
[ -n "$bye" ] || fail "Kamailio saw no BYE for Call-ID $callid"
[ "$(field "$bye" proto)" = tls ] || fail "BYE arrived over $(field "$bye" proto), expected tls"
ack=$(cloud_rx | grep ' method=ACK ' | grep -F "callid=$callid " || true)
[ -n "$ack" ] || fail "Kamailio saw no ACK for Call-ID $callid"
[ "$(field "$ack" proto)" = tls ] || fail "ACK arrived over $(field "$ack" proto), expected tls"

pass "call completed; cloud saw $ruri over $ver $cipher (conid $conid), RR $sbc_rr, ACK+BYE over TLS"
