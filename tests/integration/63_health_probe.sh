#!/usr/bin/env bash
# 63_health_probe.sh - the OPTIONS health checks keep their configured pace
# and decide where calls go. tlstrunk hosts = lb01,lb02,lb03 with
# options_interval 2, options_interval_down 1:
#   lb01  healthy                     -> up, OPTIONS every ~2 s
#   lb02  not running (refused)       -> down, tried again every ~1 s
#   lb03  answers OPTIONS 503         -> down ("503"), OPTIONS every ~1 s
# Over a measured 6 s window: lb01 got 2..4 OPTIONS, lb03 got >= 4, and
# tlstrunk tried to connect to lb02 >= 4 times (options_interval_down 1; a
# probe may lag by its own round trip, so >= 4 of the ideal 6).
# 4 calls then all go to lb01 (the only proxy up). lb02 is started: tlstrunk
# marks it up within options_interval_down + 1.5 s, and 4 more calls go
# 2 to lb01, 2 to lb02, none to lb03.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/cloud4/lib4.sh
. "$(dirname "$0")/../cloud4/lib4.sh"

test_init
start_kam4 1
start_kam4 3 options503
settle_kam4
CFG=$WORK/tlstrunk.ini
write_tlstrunk_config4 "$CFG" "1 2 3"
ini_set "$CFG" cloud options_interval 2
ini_set "$CFG" cloud options_interval_down 1
ini_set "$CFG" cloud failover_timeout 2
start_tlstrunk "$CFG"
LB1=$(lb_name 1); LB2=$(lb_name 2); LB3=$(lb_name 3)
wait_grep "$TLSTRUNK_LOG" "cloud $LB2:$CLOUD_TLS_PORT is down" 5 ||
	fail "lb02 (nothing listening) was not marked down within 5 s of the start"
wait_grep "$TLSTRUNK_LOG" "cloud $LB3:$CLOUD_TLS_PORT is down: .*503" 5 ||
	fail "lb03 (OPTIONS answered 503) was not marked down within 5 s of the start"
grep -aq "cloud $LB1:$CLOUD_TLS_PORT is down" "$TLSTRUNK_LOG" && fail "healthy lb01 was marked down"
uas4_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT"

# --- the pace of the probes --------------------------------------------------------------
m1=$(kam4_lines 1); m3=$(kam4_lines 3)
T1=$(now)
sleep 6
T2=$(now)
o1=$(kam4_count 1 'CLOUD-RX method=OPTIONS ' "$m1")
o3=$(kam4_count 3 'CLOUD-RX method=OPTIONS ' "$m3")
a2=$(tlstrunk_log_count "to $(lb_ip 2 | sed 's/\./\\./g'):$CLOUD_TLS_PORT closed: connect" "$T1" "$T2")
{ [ "$o1" -ge 2 ] && [ "$o1" -le 4 ]; } || fail "lb01 (up) got $o1 OPTIONS in 6 s, expected 2..4 (options_interval 2)"
[ "$o3" -ge 4 ] || fail "lb03 (down, OPTIONS 503) got $o3 OPTIONS in 6 s, expected >= 4 (options_interval_down 1)"
[ "$a2" -ge 4 ] || fail "lb02 (down, connection refused) was tried $a2 times in 6 s, expected >= 4 (options_interval_down 1): $(grep -a "to $(lb_ip 2):$CLOUD_TLS_PORT closed" "$TLSTRUNK_LOG" | tail -4 | cut -c12-23 | tr '\n' ' ' || true)"

# --- calls go where the health checks say -------------------------------------------------
got=$(calls4 c-one-up)
[ "$got" = "4 0 0" ] || fail "with only lb01 up, INVITEs per lb01/lb02/lb03 were '$got', expected '4 0 0'"

# --- lb02 comes up --------------------------------------------------------------------------
up_before=$(grep -c "cloud $LB2:$CLOUD_TLS_PORT is up" "$TLSTRUNK_LOG" || true)
start_kam4 2
START2=$(now)
settle_kam4
for i in $(seq 1 60); do
	[ "$(grep -c "cloud $LB2:$CLOUD_TLS_PORT is up" "$TLSTRUNK_LOG" || true)" -gt "$up_before" ] && break
	sleep 0.1
done
up_line=$(grep -a "cloud $LB2:$CLOUD_TLS_PORT is up" "$TLSTRUNK_LOG" | sed -n "$((up_before + 1))p" || true)
[ -n "$up_line" ] || fail "lb02 was not marked up within 6 s of its start (options_interval_down 1)"
delay=$(awk -v a="$(log_epoch "$up_line")" -v b="$START2" 'BEGIN { printf "%.2f", a - b }')
awk -v d="$delay" 'BEGIN { exit !(d <= 2.5) }' ||
	fail "lb02 was marked up $delay s after it started listening, expected <= 2.5 s (options_interval_down 1 + 1.5)"
got=$(calls4 c-two-up)
[ "$got" = "2 2 0" ] || fail "with lb01 and lb02 up, INVITEs per lb01/lb02/lb03 were '$got', expected '2 2 0'"

pass "in 6 s: lb01 (up) $o1 OPTIONS, lb03 (OPTIONS 503, down) $o3 OPTIONS, lb02 (refused, down) $a2 connection attempts; 4 calls all on lb01; lb02 started -> up in $delay s -> next 4 calls 2/2/0"
