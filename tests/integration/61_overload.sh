#!/usr/bin/env bash
# 61_overload.sh - past what the next hop takes, new calls get 503 at once
# instead of timing out. One cloud proxy (Kamailio lb01) swallows every new
# INVITE (MODE_DROP: no 100, no answer); tlstrunk has
# [limits] max_unanswered_invites = 3 and a failover_timeout long enough
# that nothing else answers during the test. The PBX sends 5 INVITEs in a
# row (raw UDP, distinct Call-IDs):
#   - the first 3 get tlstrunk's 100 Trying only, and reach lb01;
#   - the 4th and 5th get 503 within a second and never reach lb01;
#   - /metrics shows tlstrunk_invites_unanswered 3.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/cloud4/lib4.sh
. "$(dirname "$0")/../cloud4/lib4.sh"

ADMIN=127.0.0.1:19061

test_init
start_kam4 1 drop
settle_kam4
CFG=$WORK/tlstrunk.ini
write_tlstrunk_config4 "$CFG" "1"
ini_set "$CFG" cloud failover_timeout 30
ini_set "$CFG" limits max_unanswered_invites 3
ini_set "$CFG" general admin_listen "$ADMIN"
start_tlstrunk "$CFG"
wait_tls_up 1 || fail "no TLS connection to lb01"

out=$(python3 - "$PBX_IP" "$SBC_PBX_PORT" <<'EOF'
import socket, sys, time
ip, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((ip, 5066))
t0 = time.monotonic()
for n in range(1, 6):
    s.sendto(("INVITE sip:+1317555010%d@%s:%d SIP/2.0\r\n"
              "Via: SIP/2.0/UDP %s:5066;branch=z9hG4bK-ovl-%d;rport\r\n"
              "From: <sip:1000@%s>;tag=ovl%d\r\nTo: <sip:+1317555010%d@%s>\r\n"
              "Call-ID: overload-%d@%s\r\nCSeq: 1 INVITE\r\n"
              "Contact: <sip:1000@%s:5066>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
              % (n, ip, port, ip, n, ip, n, n, ip, n, ip, ip)).encode(), (ip, port))
    time.sleep(0.05)
got = {}
s.settimeout(0.2)
while time.monotonic() - t0 < 1.5:
    try:
        b = s.recv(65535).decode("latin-1")
    except socket.timeout:
        continue
    status = b.split(" ", 2)[1]
    cid = [l.split(":", 1)[1].strip() for l in b.split("\r\n") if l.lower().startswith("call-id:")][0]
    n = cid.split("-")[1].split("@")[0]
    got.setdefault(n, []).append(status)
print(" ".join("%s:%s" % (n, ",".join(sorted(set(got.get(str(n), ["-"]))))) for n in range(1, 6)))
EOF
)
log "responses within 1.5 s: $out"
[ "$out" = "1:100 2:100 3:100 4:503 5:503" ] ||
	fail "expected the first 3 INVITEs to get 100 only and the 4th and 5th 503 at once, got '$out'"
for n in 1 2 3; do
	[ "$(kam4_count 1 "CLOUD-MODE drop callid=overload-$n@")" = 1 ] || fail "INVITE $n did not reach lb01"
done
for n in 4 5; do
	[ "$(kam4_count 1 "callid=overload-$n@")" = 0 ] || fail "the refused INVITE $n reached lb01"
done
grep -aq 'refused: overload' "$TLSTRUNK_LOG" || fail "no log line for the overload refusal"
metric=$(python3 -c 'import sys,urllib.request; print(urllib.request.urlopen("http://"+sys.argv[1]+"/metrics", timeout=5).read().decode())' "$ADMIN" |
	grep '^tlstrunk_invites_unanswered ' || true)
[ "$metric" = "tlstrunk_invites_unanswered 3" ] || fail "metrics: '$metric', expected tlstrunk_invites_unanswered 3"

pass "3 INVITEs waiting at a silent proxy: the 4th and 5th got 503 at once and never reached it; $metric"
