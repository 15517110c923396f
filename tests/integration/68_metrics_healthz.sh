#!/usr/bin/env bash
# 68_metrics_healthz.sh - the admin HTTP listener ([general] admin_listen =
# 127.0.0.1:19090): /healthz and /metrics against what the test did.
# One Kamailio cloud proxy (lb01), options_interval 1 / options_interval_down 1.
#   - /healthz: 200 with a JSON object while lb01 is up; after lb01 is
#     killed (tlstrunk logs it down) 503 with a JSON object carrying a
#     non-empty string (the reason); 200 again once lb01 is back.
#   - /metrics, scraped 5 times (idle, during a call, after the calls, after
#     a failed handshake, with lb01 down): HTTP 200, Content-Type text/plain,
#     and the body passes a strict text-format 0.0.4 parser
#     (tests/cloud4/promparse.py; prometheus_client's parser as well when
#     python3-prometheus-client is installed).
#   - After 4 PBX->cloud calls (3 short, 1 long) and 1 cloud->PBX call, all
#     answered and ended:
#       tlstrunk_calls_total{direction="pbx_to_cloud",result="answered"} == 4
#       tlstrunk_calls_total{direction="cloud_to_pbx",result="answered"} == 1
#       tlstrunk_calls_active == 1 during the long call, 0 after
#       tlstrunk_sip_requests_total{leg,direction,method="INVITE"}:
#         pbx/in == INVITEs the PBX sent (4), cloud/out == 4,
#         cloud/in == 1, pbx/out == 1
#       tlstrunk_tls_handshakes_total{result="ok"} == 2 (tlstrunk -> lb01,
#         Kamailio -> tlstrunk), and {result="failed"} grows by exactly 1
#         after one non-TLS connection to tlstrunk's TLS port
#       tlstrunk_cloud_proxy_up{proxy="lb01..."} 1 while up, 0 when down
#         (label value NAME, or NAME:PORT)
#       every counter family seen in the idle scrape is >= in later ones.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/cloud4/lib4.sh
. "$(dirname "$0")/../cloud4/lib4.sh"

ADMIN_PORT=19090
ADMIN=http://127.0.0.1:$ADMIN_PORT
LB1=$(lb_name 1)

# scrape TAG: GET /metrics into $WORK/metrics-TAG.txt, strictly parsed.
scrape() {
	local tag=$1 code ctype out
	code=$(http_get "$ADMIN/metrics" "$WORK/metrics-$tag")
	[ "$code" = 200 ] || fail "$tag: GET /metrics answered $code: $(head -c 200 "$WORK/metrics-$tag.body")"
	ctype=$(cat "$WORK/metrics-$tag.ctype")
	case $ctype in
	text/plain*) ;;
	*) fail "$tag: /metrics Content-Type is '$ctype', expected text/plain; version=0.0.4" ;;
	esac
	mv "$WORK/metrics-$tag.body" "$WORK/metrics-$tag.txt"
	out=$("$PY" "$CLOUD4_DIR/promparse.py" check "$WORK/metrics-$tag.txt" 2>&1) ||
		fail "$tag: /metrics is not valid Prometheus text format: $(head -5 <<<"$out" | tr '\n' ';')"
	log "$tag: /metrics $out"
}

# metric TAG NAME [LABEL=VALUE ...]: the (summed) value, or "absent".
metric() {
	local tag=$1; shift
	"$PY" "$CLOUD4_DIR/promparse.py" value "$WORK/metrics-$tag.txt" "$@" || echo absent
}

# expect TAG WANT NAME [LABEL=VALUE ...]
expect() {
	local tag=$1 want=$2 got; shift 2
	got=$(metric "$tag" "$@")
	[ "$got" = "$want" ] || fail "$tag: $1{${*:2}} is $got, expected $want ($(grep -a "^$1[{ ]" "$WORK/metrics-$tag.txt" | head -6 | tr '\n' ';' || true))"
}

# proxy_up TAG: tlstrunk_cloud_proxy_up for lb01 (proxy="NAME" or "NAME:PORT").
proxy_up() {
	local v
	v=$(metric "$1" tlstrunk_cloud_proxy_up "proxy=$LB1")
	[ "$v" != absent ] || v=$(metric "$1" tlstrunk_cloud_proxy_up "proxy=$LB1:$CLOUD_TLS_PORT")
	echo "$v"
}

# healthz WANT_CODE SECONDS TAG: poll /healthz until it answers WANT_CODE;
# the body must be a JSON object (with a non-empty string in it for 503).
healthz() {
	local want=$1 secs=$2 tag=$3 code i
	for i in $(seq 1 $((secs * 5))); do
		code=$(http_get "$ADMIN/healthz" "$WORK/healthz-$tag")
		[ "$code" = "$want" ] && break
		sleep 0.2
	done
	[ "$code" = "$want" ] || fail "$tag: /healthz answered $code for $secs s, expected $want: $(head -c 200 "$WORK/healthz-$tag.body")"
	"$PY" - "$WORK/healthz-$tag.body" "$want" <<'EOF' || fail "$tag: /healthz $want body is not the JSON expected: $(head -c 200 "$WORK/healthz-$tag.body")"
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
assert isinstance(doc, dict), "not a JSON object"
if sys.argv[2] == "503":
    def strings(v):
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            for x in v.values():
                yield from strings(x)
        elif isinstance(v, list):
            for x in v:
                yield from strings(x)
    assert any(s.strip() for s in strings(doc)), "no reason in it"
EOF
}

test_init
start_kam4 1
settle_kam4
CFG=$WORK/tlstrunk.ini
write_tlstrunk_config4 "$CFG" "1"
ini_set "$CFG" general admin_listen "127.0.0.1:$ADMIN_PORT"
ini_set "$CFG" cloud options_interval 1
ini_set "$CFG" cloud options_interval_down 1
require_free_port tcp 127.0.0.1 "$ADMIN_PORT"
start_tlstrunk "$CFG"
wait_tls_up 1 10 || fail "tlstrunk opened no TLS connection to lb01"
wait_port tcp 127.0.0.1 "$ADMIN_PORT" 5 "$TLSTRUNK_PID" ||
	fail "nothing listens on admin_listen 127.0.0.1:$ADMIN_PORT (admin HTTP listener missing?)"
wait_grep "$(lb_log 1)" 'CLOUD-RX method=OPTIONS ' 5 || fail "lb01 got no OPTIONS"

# --- idle ------------------------------------------------------------------------------
healthz 200 5 up
scrape idle
[ "$(proxy_up idle)" = 1 ] || fail "idle: tlstrunk_cloud_proxy_up for $LB1 is $(proxy_up idle), expected 1"
for s in tlstrunk_calls_total tlstrunk_calls_active tlstrunk_sip_requests_total tlstrunk_tls_handshakes_total; do
	grep -aq "^${s}[{ ]" "$WORK/metrics-idle.txt" || grep -aq "^# TYPE $s " "$WORK/metrics-idle.txt" ||
		fail "idle: /metrics has no $s at all"
done

# --- calls -------------------------------------------------------------------------------
uas4_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT"
uas4_start pbx-uas pbx_uas.xml "$PBX_IP" "$PBX_UAS_PORT"
rc=0
sipp4_run short pbx_uac_talk.xml 30 -i "$PBX_IP" -p 5070 -s +13175550100 -d 100 -m 3 -l 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "3 PBX->cloud calls did not all complete (sipp exit $rc)"
rc=0
sipp4_run from-cloud cloud_uac.xml 20 -i "$UAS_IP" -p 5070 -s 1000 -m 1 "$(lb_ip 1):$CLOUD_UDP_PORT" || rc=$?
[ "$rc" = 0 ] || fail "the cloud->PBX call did not complete (sipp exit $rc)"
sipp4_bg long pbx_uac_talk.xml 30 -i "$PBX_IP" -p 5072 -s +13175550100 -d 3000 -m 1 "$PBX_IP:$SBC_PBX_PORT"
LONG_PID=$SIPP_PID
wait_grep "$WORK/sipp-long.msg.log" '^ACK ' 10 || fail "the long call was not established"
sleep 0.3
scrape during
expect during 1 tlstrunk_calls_active
rc=0
sipp_wait "$LONG_PID" 20 || rc=$?
[ "$rc" = 0 ] || fail "the long PBX->cloud call did not complete (sipp exit $rc)"

pbx_invites=$(cat "$WORK/sipp-short.msg.log" "$WORK/sipp-long.msg.log" | grep -ac '^INVITE sip:' || true)
for i in $(seq 1 10); do
	scrape after
	[ "$(metric after tlstrunk_calls_active)" = 0 ] && break
	sleep 0.2
done
expect after 0 tlstrunk_calls_active
expect after 4 tlstrunk_calls_total direction=pbx_to_cloud result=answered
expect after 1 tlstrunk_calls_total direction=cloud_to_pbx result=answered
expect after "$pbx_invites" tlstrunk_sip_requests_total leg=pbx direction=in method=INVITE
expect after 4 tlstrunk_sip_requests_total leg=cloud direction=out method=INVITE
expect after 1 tlstrunk_sip_requests_total leg=cloud direction=in method=INVITE
expect after 1 tlstrunk_sip_requests_total leg=pbx direction=out method=INVITE
expect after 2 tlstrunk_tls_handshakes_total result=ok

# Counters never go down.
"$PY" - "$CLOUD4_DIR" "$WORK/metrics-idle.txt" "$WORK/metrics-during.txt" "$WORK/metrics-after.txt" <<'EOF' ||
import sys
sys.path.insert(0, sys.argv[1])
import promparse as P
prev = None
for path in sys.argv[2:]:
    fams, samples, _ = P.parse(open(path, encoding="utf-8").read())
    cur = {(n, tuple(sorted(l.items()))): v for n, l, v, f, _ in samples
           if fams.get(f, {}).get("type") == "counter"}
    if prev is not None:
        for k, v in prev.items():
            if k in cur and cur[k] < v:
                sys.exit("counter %s%s went from %r to %r (%s)" % (k[0], dict(k[1]), v, cur[k], path))
            if k not in cur:
                sys.exit("counter %s%s disappeared (%s)" % (k[0], dict(k[1]), path))
    prev = cur
EOF
	fail "a counter decreased or vanished between scrapes"

# --- one failed handshake -------------------------------------------------------------------
f0=$(metric after tlstrunk_tls_handshakes_total result=failed)
[ "$f0" != absent ] || f0=0
"$PY" - "$SBC_TLS_IP" "$SBC_TLS_PORT" <<'EOF'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
s.sendall(b"OPTIONS sip:x SIP/2.0\r\n\r\n")   # plaintext on the TLS port
try:
    s.recv(100)
except OSError:
    pass
s.close()
EOF
for i in $(seq 1 10); do
	scrape badtls
	f1=$(metric badtls tlstrunk_tls_handshakes_total result=failed)
	[ "$f1" = $((f0 + 1)) ] && break
	sleep 0.2
done
[ "$f1" = $((f0 + 1)) ] || fail "tlstrunk_tls_handshakes_total{result=\"failed\"} went from $f0 to $f1 after one non-TLS connection, expected +1"
expect badtls 2 tlstrunk_tls_handshakes_total result=ok

# --- the only proxy goes down, and comes back ---------------------------------------------
kill_kam4 1 KILL
wait_grep "$TLSTRUNK_LOG" "cloud $LB1:$CLOUD_TLS_PORT is down" 5 || fail "tlstrunk did not mark lb01 down within 5 s of its death"
healthz 503 3 down
scrape down
[ "$(proxy_up down)" = 0 ] || fail "down: tlstrunk_cloud_proxy_up for $LB1 is $(proxy_up down), expected 0"
expect down 4 tlstrunk_calls_total direction=pbx_to_cloud result=answered
start_kam4 1 "" "$WORK/kamailio-lb01-restarted.log"
healthz 200 8 back

pass "/healthz 200 (JSON) up, 503 (JSON: $(tr -d '\n' <"$WORK/healthz-down.body" | head -c 80)) with the only proxy down, 200 after it returned; /metrics strict-parsed in 5 scrapes; calls_total pbx_to_cloud/answered 4, cloud_to_pbx/answered 1, calls_active 1 then 0, INVITE requests pbx in $pbx_invites / cloud out 4 / cloud in 1 / pbx out 1, handshakes ok 2, failed +1, proxy_up 1/0"
