#!/usr/bin/env bash
# 69_cert_reload.sh - certificate rotation under load (issue 4: "SIGHUP
# re-reads ... the certificate/key files. New TLS handshakes use the new
# certificate at once; established connections and calls keep working. A
# broken new file is rejected with a log line and the old one stays in force").
# Two Kamailio cloud proxies (lb01, lb02) send calls from the cloud side
# (sipp cloud_uac -> Kamailio udp -> TLS -> tlstrunk -> the PBX sipp UAS);
# tlstrunk serves $WORK/certs/sbc.{pem,key} (a copy of the test sbc cert).
#   a) Load 1 through lb01: 40 calls at 5 cps. About 3 s in, a second sbc
#      certificate (same name, same CA, new key, new serial) replaces
#      cert_file/key_file on disk (atomic renames) and tlstrunk gets SIGHUP.
#      Within 3 s a new handshake (openssl s_client, chain verified against
#      the test root for sbc.test.example) shows the new serial.
#      Load 2 through lb02 starts after that: 20 calls at 5 cps; lb02's first
#      call opens a new TLS connection (Kamailio verifies the chain).
#      Both loads: 0 failed calls (sipp exit 0, all calls successful), the
#      PBX got all 60 INVITEs. Kamailio's evidence (peerserial= on each reply
#      from tlstrunk) shows lb01's connection made before the reload with the
#      old serial and every reply on lb02's connection with the new one.
#   b) A broken certificate file (truncated PEM) + SIGHUP: tlstrunk keeps
#      running, logs a warning or error, new handshakes still show the
#      second serial, and a further cloud call completes.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/cloud4/lib4.sh
. "$(dirname "$0")/../cloud4/lib4.sh"

# same_serial KAMAILIO_VALUE OPENSSL_HEX: Kamailio prints $tls_peer_serial
# in decimal, openssl in hex.
same_serial() {
	"$PY" -c 'import sys
a, b = sys.argv[1], sys.argv[2]
sys.exit(0 if (a.isdigit() and int(a, 10) == int(b, 16)) or a.upper() == b.upper() else 1)' "$1" "$2"
}

# wait_serial WANT SECONDS: poll new handshakes until they show WANT.
wait_serial() {
	local want=$1 secs=$2 i
	for i in $(seq 1 $((secs * 4))); do
		SERVED=$(served_serial)
		[ "$SERVED" = "$want" ] && return 0
		sleep 0.25
	done
	return 1
}

test_init
start_kam4 1
start_kam4 2
settle_kam4

CERTS=$WORK/certs
mkdir -p "$CERTS/new"
cp "$PKI/sbc.pem" "$CERTS/sbc.pem"
cp "$PKI/sbc.key" "$CERTS/sbc.key"
SERIAL1=$(cert_serial "$PKI/sbc-leaf.pem")
make_leaf "$CERTS/new/sbc2" "DNS:$SBC_NAME"
SERIAL2=$(cert_serial "$CERTS/new/sbc2-leaf.pem")
[ "$SERIAL1" != "$SERIAL2" ] || fail "the second certificate has the same serial ($SERIAL1)"

CFG=$WORK/tlstrunk.ini
write_tlstrunk_config4 "$CFG" "1 2"
ini_set "$CFG" tls_server cert_file "$CERTS/sbc.pem"
ini_set "$CFG" tls_server key_file "$CERTS/sbc.key"
start_tlstrunk "$CFG"
wait_tls_up 1 10 || fail "tlstrunk opened no TLS connection to lb01"
SERVED=$(served_serial)
[ "$SERVED" = "$SERIAL1" ] || fail "before the reload tlstrunk serves serial '${SERVED:-none (handshake/verify failed)}', expected $SERIAL1"
uas4_start pbx-uas pbx_uas.xml "$PBX_IP" "$PBX_UAS_PORT"

# --- a) rotation under load --------------------------------------------------------------
sipp4_bg load1 cloud_uac.xml 50 -i "$UAS_IP" -p 5070 -s 1000 -r 5 -m 40 -l 40 "$(lb_ip 1):$CLOUD_UDP_PORT"
LOAD1_PID=$SIPP_PID
sleep 3
kill -0 "$LOAD1_PID" 2>/dev/null || fail "a: load 1 ended before the reload (see $WORK/sipp-load1.log)"
grep -aq 'CLOUD-RX-REPLY status=200 method=INVITE .*proto=tls' "$(lb_log 1)" || fail "a: no call through lb01 was answered before the reload"
cp "$CERTS/new/sbc2.pem" "$CERTS/.sbc.pem.new"
cp "$CERTS/new/sbc2.key" "$CERTS/.sbc.key.new"
chmod 600 "$CERTS/.sbc.key.new"
mv -f "$CERTS/.sbc.pem.new" "$CERTS/sbc.pem"
mv -f "$CERTS/.sbc.key.new" "$CERTS/sbc.key"
HUP_T=$(now)
kill -HUP "$TLSTRUNK_PID"
if ! wait_serial "$SERIAL2" 3; then
	kill -0 "$TLSTRUNK_PID" 2>/dev/null || fail "a: tlstrunk died after SIGHUP"
	fail "a: 3 s after SIGHUP new handshakes still show serial '${SERVED:-none (handshake/verify failed)}', expected the new $SERIAL2 (old $SERIAL1)"
fi
SWITCH=$(awk -v a="$(now)" -v b="$HUP_T" 'BEGIN { printf "%.2f", a - b }')
sipp4_bg load2 cloud_uac.xml 40 -i "$UAS_IP" -p 5072 -s 1001 -r 5 -m 20 -l 20 "$(lb_ip 2):$CLOUD_UDP_PORT"
LOAD2_PID=$SIPP_PID

rc1=0; sipp_wait "$LOAD1_PID" 50 || rc1=$?
rc2=0; sipp_wait "$LOAD2_PID" 40 || rc2=$?
c1=$(sipp_counts load1); c2=$(sipp_counts load2)
{ [ "$rc1" = 0 ] && [ "$c1" = "40 0" ]; } || fail "a: load 1 (lb01, across the reload): sipp exit $rc1, successful/failed $c1, expected 40 0"
{ [ "$rc2" = 0 ] && [ "$c2" = "20 0" ]; } || fail "a: load 2 (lb02, after the reload): sipp exit $rc2, successful/failed $c2, expected 20 0"
kill -0 "$TLSTRUNK_PID" 2>/dev/null || fail "a: tlstrunk died during the load"
n=$(grep -ac '^INVITE sip:' "$WORK/sipp-pbx-uas.msg.log" || true)
[ "$n" = 60 ] || fail "a: the PBX got $n INVITEs, expected 60"

# Which certificate each Kamailio connection saw (peerserial= on replies from tlstrunk).
ser1=$(grep -a -m1 'CLOUD-RX-REPLY .*proto=tls ' "$(lb_log 1)" | sed -nE 's/.* peerserial=([^ ]*) .*/\1/p' || true)
[ -n "$ser1" ] || fail "a: lb01's log has no peerserial evidence"
same_serial "$ser1" "$SERIAL1" || fail "a: lb01's connection (made before the reload) saw serial $ser1, expected the old $SERIAL1"
bad2=$(grep -a 'CLOUD-RX-REPLY .*proto=tls ' "$(lb_log 2)" | sed -nE 's/.* peerserial=([^ ]*) .*/\1/p' | sort -u || true)
[ -n "$bad2" ] || fail "a: lb02 got no reply from tlstrunk over TLS"
for s in $bad2; do
	same_serial "$s" "$SERIAL2" || fail "a: lb02's connection (made after the reload) saw serial $s, expected the new $SERIAL2"
done
log "a) new serial served ${SWITCH} s after SIGHUP; 60 calls, 0 failed"

# --- b) a broken file is refused ------------------------------------------------------------
mark=$(wc -l <"$TLSTRUNK_LOG")
head -c 400 "$CERTS/new/sbc2.pem" >"$CERTS/.sbc.pem.bad"
mv -f "$CERTS/.sbc.pem.bad" "$CERTS/sbc.pem"
kill -HUP "$TLSTRUNK_PID"
sleep 1
kill -0 "$TLSTRUNK_PID" 2>/dev/null || fail "b: tlstrunk died on SIGHUP with a broken certificate file"
tail -n +$((mark + 1)) "$TLSTRUNK_LOG" | grep -aEq '^[^ ]+ (warn|error) ' ||
	fail "b: no warning/error logged for the broken certificate file after SIGHUP"
SERVED=$(served_serial)
[ "$SERVED" = "$SERIAL2" ] || fail "b: after a broken file + SIGHUP new handshakes show '${SERVED:-none (handshake/verify failed)}', expected the previous $SERIAL2 to stay in force"
rc=0
sipp4_run after-bad cloud_uac.xml 20 -i "$UAS_IP" -p 5074 -s 1002 -m 1 "$(lb_ip 2):$CLOUD_UDP_PORT" || rc=$?
[ "$rc" = 0 ] || fail "b: a cloud call after the broken reload failed (sipp exit $rc)"
why=$(tail -n +$((mark + 1)) "$TLSTRUNK_LOG" | grep -aE '^[^ ]+ (warn|error) ' | head -1 | cut -c26- | cut -c1-100 || true)

pass "a) SIGHUP under 5 cps: new handshakes show serial $SERIAL2 (was $SERIAL1) ${SWITCH} s later, lb01's old connection kept $SERIAL1, lb02's new one got $SERIAL2, 60/60 cloud->PBX calls, 0 failed; b) broken file refused ('$why'), $SERIAL2 stays, calls still complete"
