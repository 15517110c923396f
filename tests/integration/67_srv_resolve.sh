#!/usr/bin/env bash
# 67_srv_resolve.sh - the proxies found in DNS, and DNS followed while we
# run. tlstrunk has [cloud] domain = voice.use1.pure.cloud (no hosts) and
# resolve_interval 2; a DNS server (tests/media/mini_dns.py --zone) is its
# only name server (its own /etc/resolv.conf in a mount namespace), so
# every address it uses comes from these records:
#   1. SRV _sips._tcp.voice.use1.pure.cloud: lb01 (priority 10), lb03 (20)
#      and evil.example.net (5, outside the domain). The log shows the set
#      with evil ignored; 4 calls all reach lb01's Kamailio (127.0.0.2),
#      none lb03 (up, but a worse priority) nor evil's address.
#   2. lb01's A record moves to 127.0.0.4 (another Kamailio whose
#      certificate also names lb01): tlstrunk logs the move, and the next
#      4 calls reach 127.0.0.4 with lb01 in their Request-URI; none reach
#      127.0.0.2 any more.
#      tlstrunk doctor shows the same set and checks lb01 and lb03 only.
#   3. lb01 leaves the SRV set: logged, and the next 4 calls go to lb03.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/cloud4/lib4.sh
. "$(dirname "$0")/../cloud4/lib4.sh"

DOMAIN=voice.use1.pure.cloud
DNS_IP=127.0.0.77
SRV=_sips._tcp.$DOMAIN
LB1=$(lb_name 1); LB3=$(lb_name 3)

# zone A1 SRV_LB1: write the zone (lb01's address, whether lb01 is in SRV).
zone() {
	{
		[ "$2" = yes ] && echo "SRV $SRV 10 0 $CLOUD_TLS_PORT $LB1 2"
		echo "SRV $SRV 20 0 $CLOUD_TLS_PORT $LB3 2"
		echo "SRV $SRV 5 0 $CLOUD_TLS_PORT evil.example.net 2"
		echo "A $LB1 $1 1"
		echo "A $LB3 $(lb_ip 3) 1"
		echo "A evil.example.net 127.0.0.6 1"
	} >"$WORK/zone.new"
	mv "$WORK/zone.new" "$WORK/zone"
}

test_init
[ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null ||
	fail "this test needs root and unshare -m (tlstrunk gets its own /etc/resolv.conf)"
zone "$(lb_ip 1)" yes
spawn "$WORK/dns.log" "$PY" "$LIB_DIR/media/mini_dns.py" "$DNS_IP:53" --zone "$WORK/zone"
wait_port udp "$DNS_IP" 53 5 "$SPAWNED_PID" || fail "the test DNS server did not start"
printf 'nameserver %s\noptions timeout:1 attempts:2\n' "$DNS_IP" >"$WORK/resolv.conf"
# in-dns-ns CMD...: CMD with that resolv.conf, its own mounts, the same
# process (exec all the way, so tlstrunk's PID is the one lib.sh knows).
cat >"$WORK/in-dns-ns" <<EOF
#!/bin/sh
exec unshare -m sh -c 'mount --bind "\$0" /etc/resolv.conf && exec "\$@"' "$WORK/resolv.conf" "\$@"
EOF
chmod +x "$WORK/in-dns-ns"

start_kam4 1
start_kam4 2
start_kam4 3
settle_kam4
CFG=$WORK/tlstrunk.ini
write_tlstrunk_config "$CFG"
sed -i -e '/^hosts = /d' -e '/^resolve = /d' "$CFG"
ini_set "$CFG" cloud domain "$DOMAIN"
ini_set "$CFG" cloud resolve_interval 2
TLSTRUNK_WRAPPER="$WORK/in-dns-ns ${TLSTRUNK_WRAPPER:-}" start_tlstrunk "$CFG"
uas4_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT"

# --- 1. the SRV set -----------------------------------------------------------------
wait_grep "$TLSTRUNK_LOG" "SRV $SRV: .*$LB1:$CLOUD_TLS_PORT/10" 10 ||
	fail "no SRV set with lb01 logged within 10 s (DNS log: $(tail -3 "$WORK/dns.log" | tr '\n' ' '))"
grep -aq "evil.example.net:$CLOUD_TLS_PORT/5(outside the domain: ignored)" "$TLSTRUNK_LOG" ||
	fail "the target outside the domain was not reported as ignored: $(grep -a "SRV $SRV" "$TLSTRUNK_LOG" | head -1)"
wait_grep "$TLSTRUNK_LOG" "tls conn #[0-9]+ to 127\.0\.0\.2:$CLOUD_TLS_PORT up" 10 ||
	fail "no TLS connection to lb01 (127.0.0.2) from the SRV set"
got=$(calls4 c-srv)
[ "$got" = "4 0 0" ] || fail "phase 1: INVITEs at 127.0.0.2/.4/.5 were '$got', expected '4 0 0' (lb01 has the best priority)"
grep -aq "127.0.0.6" "$TLSTRUNK_LOG" && fail "tlstrunk used the address of the target outside the domain"
# tlstrunk doctor reads the same SRV set and checks lb01 and lb03.
"$WORK/in-dns-ns" "$TLSTRUNK_BIN" doctor -c "$CFG" >"$WORK/doctor.txt" 2>&1 || true
grep -q "^ok    cloud.srv: $SRV: evil.example.net:$CLOUD_TLS_PORT prio 5 (outside the domain: ignored), $LB1:$CLOUD_TLS_PORT prio 10, $LB3:$CLOUD_TLS_PORT prio 20$" "$WORK/doctor.txt" ||
	fail "doctor: no cloud.srv line with the SRV set: $(grep cloud.srv "$WORK/doctor.txt" || head -c 400 "$WORK/doctor.txt")"
for h in "$LB1" "$LB3"; do
	grep -q "^ok    cloud.options $h: \"SIP/2.0 200 OK\"" "$WORK/doctor.txt" ||
		fail "doctor did not check $h from the SRV set: $(grep "$h" "$WORK/doctor.txt" | grep -v '^ok' | head -2)"
done
grep -q "cloud.resolve evil" "$WORK/doctor.txt" && fail "doctor checked the target outside the domain"

# --- 2. lb01 moves ------------------------------------------------------------------------
zone "$(lb_ip 2)" yes
wait_grep "$TLSTRUNK_LOG" "cloud $LB1:$CLOUD_TLS_PORT moved: connected to 127\.0\.0\.2:$CLOUD_TLS_PORT, DNS now gives 127\.0\.0\.4:" 10 ||
	fail "the move of lb01 to 127.0.0.4 was not noticed within 10 s"
m2=$(kam4_lines 2)
got=$(calls4 c-moved)
[ "$got" = "0 4 0" ] || fail "phase 2: INVITEs at 127.0.0.2/.4/.5 were '$got', expected '0 4 0' (lb01 now at 127.0.0.4)"
ruri=$(tail -n +$((m2 + 1)) "$(lb_log 2)" | grep -a 'CLOUD-RX method=INVITE ' | head -1)
[[ "$(field "$ruri" ruri)" == *"@$LB1:$CLOUD_TLS_PORT;"* ]] ||
	fail "phase 2: the moved lb01 got an INVITE whose Request-URI is '$(field "$ruri" ruri)'"

# --- 3. lb01 leaves the SRV set -------------------------------------------------------------
zone "$(lb_ip 2)" no
wait_grep "$TLSTRUNK_LOG" "cloud $LB1:$CLOUD_TLS_PORT left the SRV set of $DOMAIN" 10 ||
	fail "lb01 leaving the SRV set was not noticed within 10 s"
got=$(calls4 c-left)
[ "$got" = "0 0 4" ] || fail "phase 3: INVITEs at 127.0.0.2/.4/.5 were '$got', expected '0 0 4' (only lb03 left)"

pass "SRV set used by priority (outside target ignored), lb01's move followed, lb01 dropped with the SRV set"
