#!/usr/bin/env bash
# 84_trace.sh - seeing inside: with [trace] hep_collector, tls_keylog and
# srtp_keylog set, one call PBX -> cloud.  A real HEP receiver (tshark's
# HEP dissector on the collector port) must show the INVITE on both legs
# with the real addresses and transports, and tshark must decrypt the TLS
# leg with the key log alone and find the rewritten INVITE inside.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

command -v tshark >/dev/null || fail "tshark is not installed"
command -v sngrep >/dev/null || fail "sngrep is not installed"
HEP_PORT=19060
test_init
start_kamailio
cfg=$WORK/tlstrunk.ini
write_tlstrunk_config "$cfg"
cat >>"$cfg" <<CFG

[trace]
hep_collector = 127.0.0.1:$HEP_PORT
hep_id = 4242
tls_keylog = $WORK/tls.keys
srtp_keylog = $WORK/srtp.keys
CFG
# sngrep as the HEP collector (HEP input only, no device capture).
spawn "$WORK/sngrep.log" sngrep -N -q -F -L "udp:127.0.0.1:$HEP_PORT" \
	-O "$WORK/hep.pcap"
HEP_TSHARK=$SPAWNED_PID
spawn "$WORK/tshark-tls.log" tshark -i lo -n -l -f "tcp port $CLOUD_TLS_PORT" -w "$WORK/tls.pcap"
TLS_TSHARK=$SPAWNED_PID
sleep 2	# tshark needs a moment before it captures
start_tlstrunk "$cfg"
sipp_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m 1
UAS_PID=$SIPP_PID
rc=0
sipp_run pbx-uac pbx_uac.xml -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 "$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "the call failed (sipp exit $rc)"
sipp_wait "$UAS_PID" || fail "cloud UAS failed"
sleep 1
kill -INT "$HEP_TSHARK" "$TLS_TSHARK" 2>/dev/null || true
sleep 1

grep -q 'TLS KEY LOGGING IS ON' "$WORK/tlstrunk.log" || fail "no loud warning for the TLS key log"
grep -q 'SRTP KEY LOGGING IS ON' "$WORK/tlstrunk.log" || fail "no loud warning for the SRTP key log"
grep -q '^CLIENT_RANDOM \|^CLIENT_HANDSHAKE_TRAFFIC_SECRET ' "$WORK/tls.keys" || fail "no NSS key log lines in $WORK/tls.keys"
grep -q ' tx cloud-port=[0-9]* a=crypto:[0-9]* AES_CM_128_HMAC_SHA1_80 inline:' "$WORK/srtp.keys" ||
	fail "no SRTP key line in $WORK/srtp.keys"

# HEP: what a collector decodes.
# sngrep writes what it decapsulated as UDP frames with the original
# addresses and ports (the transport itself is checked by test_hep).
hep=$(tshark -r "$WORK/hep.pcap" -n -T fields -e ip.src -e ip.dst \
	-e udp.srcport -e udp.dstport -e sip.Method -e sip.Status-Code 2>/dev/null || true)
[ -n "$hep" ] || fail "sngrep decoded no HEP packet ($(head -3 "$WORK/sngrep.log" | tr '\n' ' '))"
grep -qP "^127\.0\.0\.1\t127\.0\.0\.1\t5070\t$SBC_PBX_PORT\tINVITE" <<<"$hep" ||
	fail "no HEP copy of the PBX's INVITE (127.0.0.1:5070 -> :$SBC_PBX_PORT): $(head -5 <<<"$hep" | tr '\t' ' ')"
grep -qP "^127\.0\.0\.1\t127\.0\.0\.2\t[0-9]+\t$CLOUD_TLS_PORT\tINVITE" <<<"$hep" ||
	fail "no HEP copy of the INVITE to the cloud (-> 127.0.0.2:$CLOUD_TLS_PORT): $(head -8 <<<"$hep" | tr '\t' ' ')"
grep -qP "^127\.0\.0\.2\t127\.0\.0\.1\t$CLOUD_TLS_PORT\t[0-9]+\t\t200" <<<"$hep" ||
	fail "no HEP copy of the cloud's 200"
inv=$(grep -cP "\tINVITE" <<<"$hep" || true)
[ "$inv" = 2 ] || fail "expected the INVITE once per leg in HEP, got $inv"

# The TLS leg, decrypted by tshark with nothing but the key log.
ruri=$(tshark -r "$WORK/tls.pcap" -n -d "tcp.port==$CLOUD_TLS_PORT,tls" \
	-o "tls.keylog_file:$WORK/tls.keys" -d "tls.port==$CLOUD_TLS_PORT,sip" \
	-Y 'sip.Method == "INVITE"' -T fields -e sip.r-uri 2>/dev/null | head -1 || true)
case "$ruri" in
"sip:+13175550100;tgrp=$TGRP;trunk-context=$TRUNK_CONTEXT@$CLOUD_NAME:$CLOUD_TLS_PORT;transport=tls") ;;
*) fail "tshark could not decrypt the INVITE on the TLS leg with the key log (got '$ruri')" ;;
esac
pass "HEP copies of both legs received by sngrep (real addresses, udp/tcp); TLS leg decrypted with the key log: $ruri; SRTP key logged"
