#!/usr/bin/env bash
# 64_failover_503_timeout.sh - serial failover of a new INVITE over sick
# proxies. Three Kamailio cloud proxies, tlstrunk hosts = lb01,lb02,lb03
# (failover_timeout 2, options every 30 s / 10 s when down):
#   lb01 (127.0.0.2)  answers every new INVITE "503 Service Unavailable"
#   lb02 (127.0.0.4)  swallows every new INVITE (never answers anything)
#   lb03 (127.0.0.5)  healthy, forwards to the cloud sipp UAS
# (all three answer OPTIONS 200, so only the INVITEs reveal them).
#   a) The first call goes lb01 (503) -> lb02 (no answer for 2 s) -> lb03
#      (200). The PBX sees exactly one final response, a 200, one dialog,
#      and the call ends normally (ACK and BYE reach lb03 only); the UAS got
#      one INVITE; lb01 and lb02 each got the INVITE once; tlstrunk ACKed
#      lb01's 503; tlstrunk logs lb01 down ("503") and both failovers; the
#      set-up took at least failover_timeout and less than 6 s.
#   b) A second call right after goes straight to lb03: lb01 and lb02 are
#      down and skipped (they get no second INVITE; set-up < 1 s).
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/cloud4/lib4.sh
. "$(dirname "$0")/../cloud4/lib4.sh"

test_init
start_kam4 1 503
start_kam4 2 drop
start_kam4 3
settle_kam4

CFG=$WORK/tlstrunk.ini
write_tlstrunk_config4 "$CFG" "1 2 3"
ini_set "$CFG" cloud failover_timeout 2
ini_set "$CFG" cloud options_interval 30
ini_set "$CFG" cloud options_interval_down 10
start_tlstrunk "$CFG"
for n in 1 2 3; do
	wait_tls_up "$n" 10 || fail "tlstrunk opened no TLS connection to lb0$n"
done
# The first OPTIONS round must be over (all answered 200, nobody down yet).
for n in 1 2 3; do
	wait_grep "$(lb_log "$n")" 'CLOUD-RX method=OPTIONS ' 5 || fail "lb0$n got no OPTIONS from tlstrunk"
done
sleep 0.3
if grep -aq ' is down' "$TLSTRUNK_LOG"; then
	fail "a proxy was marked down before any call: $(grep -a -m1 ' is down' "$TLSTRUNK_LOG" || true)"
fi
uas4_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT"

# --- a) one call across 503, silence, success ---------------------------------------
rc=0
sipp4_run a pbx_uac_talk.xml 30 -i "$PBX_IP" -p 5070 -s +13175550100 -d 300 -m 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "a: the PBX call did not complete (sipp exit $rc): $(grep -a -m2 'SIP/2.0 [3-6]' "$WORK/sipp-a.msg.log" | tr -d '\r' | tr '\n' ' ' || true)"

read -r CALLID SETUP FINALS <<<"$("$PY" - "$WORK/sipp-a.msg.log" "$CLOUD4_DIR" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import calls as C
cs = list(C.uac_calls(sys.argv[1]).values())
if len(cs) != 1:
    print("- - calls=%d" % len(cs)); sys.exit(0)
c = cs[0]
finals = ",".join("%d/%s" % (s, tag) for s, tag, _ in c["finals"])
print(c["callid"], "%.3f" % ((c["t_answer"] or c["t_invite"]) - c["t_invite"]), finals or "none")
EOF
)"
[ "$CALLID" != - ] || fail "a: expected one call in the PBX log, found $FINALS"
# Every final response the PBX got for its INVITE: one 200 (retransmissions
# of that same 200 would carry the same To tag), nothing else.
statuses=$(tr ',' '\n' <<<"$FINALS" | cut -d/ -f1 | sort -u | tr '\n' ' ')
tags=$(tr ',' '\n' <<<"$FINALS" | cut -d/ -f2 | sort -u | wc -l)
[ "$statuses" = "200 " ] || fail "a: the PBX got final responses '$FINALS' for its INVITE, expected only 200"
[ "$tags" = 1 ] || fail "a: the PBX got 200s from $tags different dialogs ($FINALS), expected one"
grep -aq "CLOUD-RX method=INVITE .*callid=$CALLID " "$(lb_log 1)" || fail "a: lb01 never got the INVITE"
grep -aq "CLOUD-MODE 503 callid=$CALLID " "$(lb_log 1)" || fail "a: lb01 did not refuse it with 503"
grep -aq "CLOUD-RX method=INVITE .*callid=$CALLID " "$(lb_log 2)" || fail "a: lb02 never got the INVITE (no attempt after the 503)"
grep -aq "CLOUD-MODE drop callid=$CALLID " "$(lb_log 2)" || fail "a: lb02 did not swallow it"
grep -aq "CLOUD-RX method=ACK .*callid=$CALLID .*cseq=1 " "$(lb_log 1)" ||
	fail "a: tlstrunk did not ACK lb01's 503 (RFC 3261 17.1.1.3)"
for n in 1 2 3; do
	c=$(kam4_count "$n" "CLOUD-RX method=INVITE .*callid=$CALLID ")
	[ "$c" = 1 ] || fail "a: lb0$n got the INVITE $c times, expected once"
done
for m in ACK BYE; do
	grep -aq "CLOUD-RX method=$m .*callid=$CALLID " "$(lb_log 3)" || fail "a: the $m did not reach lb03"
done
grep -aq "CLOUD-RX method=BYE .*callid=$CALLID " "$(lb_log 1)" "$(lb_log 2)" &&
	fail "a: the BYE went to a proxy that did not carry the call"
uas_invites=$(grep -a -c "^INVITE sip:" "$WORK/sipp-cloud-uas.msg.log" || true)
[ "$uas_invites" = 1 ] || fail "a: the cloud UAS got $uas_invites INVITEs, expected 1"
LB1=$(lb_name 1); LB2=$(lb_name 2); LB3=$(lb_name 3)
grep -aE "cloud $LB1:$CLOUD_TLS_PORT is down: .*503" "$TLSTRUNK_LOG" >/dev/null ||
	fail "a: tlstrunk did not log lb01 down for its 503 ($(grep -a "$LB1" "$TLSTRUNK_LOG" | grep -v debug | tail -2 | tr '\n' ' ' || true))"
grep -aE "INVITE to $LB1 failed \(.*503.*\): trying $LB2" "$TLSTRUNK_LOG" >/dev/null ||
	fail "a: no failover lb01 -> lb02 logged for the 503"
grep -aE "INVITE to $LB2 failed \(.*\): trying $LB3" "$TLSTRUNK_LOG" >/dev/null ||
	fail "a: no failover lb02 -> lb03 logged for the missing answer"
awk -v s="$SETUP" 'BEGIN { exit !(s >= 2.0 && s < 6.0) }' ||
	fail "a: call set-up took $SETUP s, expected >= failover_timeout (2 s) and < 6 s"
down1=$(grep -a -m1 "cloud $LB1:$CLOUD_TLS_PORT is down" "$TLSTRUNK_LOG" | sed 's/^.*is down: //' || true)

# --- b) the sick proxies are skipped ---------------------------------------------------
m1=$(kam4_lines 1); m2=$(kam4_lines 2)
rc=0
sipp4_run b pbx_uac_talk.xml 20 -i "$PBX_IP" -p 5070 -s +13175550100 -d 200 -m 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "b: the second call did not complete (sipp exit $rc)"
c1=$(kam4_count 1 'CLOUD-RX method=INVITE ' "$m1"); c2=$(kam4_count 2 'CLOUD-RX method=INVITE ' "$m2")
[ "$c1$c2" = 00 ] || fail "b: the down proxies still got INVITEs (lb01 $c1, lb02 $c2): not skipped"
setup_b=$("$PY" - "$WORK/sipp-b.msg.log" "$CLOUD4_DIR" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import calls as C
c = list(C.uac_calls(sys.argv[1]).values())[0]
print("%.3f" % (c["t_answer"] - c["t_invite"]))
EOF
)
awk -v s="$setup_b" 'BEGIN { exit !(s < 1.0) }' || fail "b: second call set-up took $setup_b s (should go straight to lb03)"

pass "a) lb01 503 -> lb02 silent 2 s -> lb03 200 in $SETUP s: the PBX saw one final response (200, one dialog), lb01 ACKed and logged down ($down1), BYE via lb03 only; b) next call straight to lb03 in $setup_b s, lb01/lb02 skipped"
