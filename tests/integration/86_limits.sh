#!/usr/bin/env bash
# 86_limits.sh - the bounds hold against real peers:
#   a) [limits] max_calls = 2: with two calls up, a third INVITE gets 503
#      and never reaches the cloud;
#   b) message_timeout = 2: a TLS client (openssl s_client) that starts a
#      SIP message and never finishes it is disconnected; so is a TCP
#      client on the PBX side;
#   c) max_headers = 40: an INVITE with 60 header fields gets 400 and
#      nothing reaches the cloud;
#   d) max_connections = 4 is per listener: with 4 TLS connections held
#      open, a 5th is closed before its handshake, and the PBX's TCP port
#      still takes a connection (a flood on the public port must not lock
#      the PBX out).
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

test_init
start_kamailio
cfg=$WORK/tlstrunk.ini
write_tlstrunk_config "$cfg"
printf '\n[limits]\nmax_calls = 2\nmessage_timeout = 2\nmax_headers = 40\nmax_connections = 4\nmax_connections_per_source = 4\n' >>"$cfg"
start_tlstrunk "$cfg"

# a) two long calls up, then a third.
sipp_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m 2
UAS_PID=$SIPP_PID
sipp_start pbx-long pbx_uac_long.xml "$PBX_IP" 5070 -s +13175550100 -m 2 -l 2 -r 10 "$PBX_IP:$SBC_PBX_PORT"
LONG_PID=$SIPP_PID
wait_grep "$WORK/kamailio.log" 'CLOUD-RX method=ACK .*' 10 || fail "the first calls were not set up"
sleep 0.5
rc=0
sipp_run pbx-third pbx_uac_503.xml -i "$PBX_IP" -p 5074 -s +13175550199 -m 1 "$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "a: the third call did not get 503 (sipp exit $rc)"
third=$({ grep -m1 -Ei '^(Call-ID|i):' "$WORK/sipp-pbx-third.msg.log" || true; } | sed -E 's/^[^:]*:[[:space:]]*//' | tr -d '\r')
if cloud_rx | grep -qF "callid=$third "; then
	fail "a: the refused third call reached the cloud"
fi
sipp_wait "$LONG_PID" || fail "a: the two admitted calls did not complete"
sipp_wait "$UAS_PID" || fail "a: the cloud UAS did not complete both calls"

# b) slowloris on the TLS side and on the PBX TCP side.
{ printf 'OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.9;branch=z9hG4bKslow\r\n'; sleep 8; } |
	timeout 10 openssl s_client -connect "$SBC_TLS_IP:$SBC_TLS_PORT" -CAfile "$PKI/ca.pem" \
	-servername "$SBC_NAME" -quiet >"$WORK/slow-tls.out" 2>&1 &
slow_tls=$!
# Handshake, then 2 s of waiting for the rest: cut well before 5 s.
wait_grep "$WORK/tlstrunk.log" 'from 127\.0\.0\.1:[0-9]+ closed: message still incomplete after 2 s' 5 ||
	fail "b: a half-sent SIP message kept the TLS connection open (message_timeout 2)"
kill "$slow_tls" 2>/dev/null || true
wait "$slow_tls" 2>/dev/null || true
start=$SECONDS
perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(PeerAddr => $ARGV[0], Proto => "tcp") or exit 2;
	print $s "INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKslow2\r\n";
	$s->recv(my $b, 100);	# returns when the peer closes
	exit 0;' "$PBX_IP:$SBC_PBX_PORT" &
slow=$!
for _ in $(seq 1 80); do kill -0 "$slow" 2>/dev/null || break; sleep 0.1; done
kill -0 "$slow" 2>/dev/null && { kill "$slow"; fail "b: a half-sent message kept the PBX TCP connection open"; }
took=$((SECONDS - start))
[ "$took" -le 6 ] || fail "b: the PBX TCP connection was closed only after $took s"

# c) too many header fields.
hdrs=""
for i in $(seq 1 60); do hdrs="${hdrs}X-Pad-$i: $i\r\n"; done
reply=$(perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(PeerAddr => $ARGV[0], Proto => "udp", LocalAddr => "127.0.0.1:5076") or exit 2;
	my $m = "INVITE sip:+13175550100\@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5076;branch=z9hG4bKmany\r\n" .
	    "From: <sip:a\@127.0.0.1>;tag=1\r\nTo: <sip:b\@127.0.0.1>\r\nCall-ID: many-headers\r\nCSeq: 1 INVITE\r\n" .
	    "Max-Forwards: 70\r\n" . $ARGV[1] . "Content-Length: 0\r\n\r\n";
	$m =~ s/\\r\\n/\r\n/g;
	$s->send($m);
	my $b = ""; eval { local $SIG{ALRM} = sub { die }; alarm 3; $s->recv($b, 4096); alarm 0; };
	print $b;' "$PBX_IP:$SBC_PBX_PORT" "$hdrs" | head -1 | tr -d '\r')
case "$reply" in
"SIP/2.0 400 "*) ;;
*) fail "c: an INVITE with 60 header fields got '$reply', expected 400" ;;
esac
if cloud_rx | grep -qF "callid=many-headers "; then
	fail "c: the INVITE with too many header fields reached the cloud"
fi
# d) per-listener connection budget.
conns=$(python3 - "$SBC_TLS_IP" "$SBC_TLS_PORT" "$PKI/ca.pem" "$SBC_NAME" "$PBX_IP" "$SBC_PBX_PORT" <<'EOF'
import socket, ssl, sys, time
ip, port, ca, name, pip, pport = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
ctx = ssl.create_default_context(cafile=ca)
held, out = [], []
for i in range(5):
    try:
        s = socket.create_connection((ip, port), timeout=5)
        held.append(ctx.wrap_socket(s, server_hostname=name))
        out.append("ok")
    except Exception as e:
        out.append("refused")
t = socket.create_connection((pip, pport), timeout=5)
t.settimeout(1.5)
try:
    out.append("tcp-closed" if t.recv(1) == b"" else "tcp-data")
except socket.timeout:
    out.append("tcp-open")
print(" ".join(out))
EOF
)
log "d: $conns"
[ "$conns" = "ok ok ok ok refused tcp-open" ] ||
	fail "d: 5 TLS connections then a PBX TCP one gave '$conns', expected 'ok ok ok ok refused tcp-open'"

pass "max_calls 2: third call 503, never at the cloud; half-sent messages cut after ~2 s on TLS and TCP; 60 header fields: $reply; 4 TLS connections held, the 5th refused, PBX TCP still open"
