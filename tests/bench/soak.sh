#!/usr/bin/env bash
# soak.sh - leak check at a steady rate (issue 7): sipp places calls through
# tlstrunk (PBX UDP -> tlstrunk -> Kamailio stand-in cloud over TLS -> sipp
# UAS; SDP rewriting and SDES on) at RATE calls/s for MINUTES minutes, each
# call held HOLD_MS. Prints tlstrunk's RSS every minute and the verdict of
# the check "RSS at minute 2 vs the last minute within 5%". A benchmark:
# run it by hand (as root, in a private netns: unshare -n), not in CI.
#
#   RATE=200 MINUTES=10 HOLD_MS=500 tests/bench/soak.sh
set -eEuo pipefail
RATE=${RATE:-200}
MINUTES=${MINUTES:-10}
HOLD_MS=${HOLD_MS:-500}
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
TEST_NAME=soak

test_init
start_kamailio
cfg=$WORK/tlstrunk.ini
write_tlstrunk_config "$cfg"
sed -i 's/^log_level = debug/log_level = warn/' "$cfg"
printf '\n[limits]\nmax_calls = 100000\nmax_cps_per_source = 100000\nmax_calls_per_source = 100000\n' >>"$cfg"
ulimit -n "$(ulimit -Hn)"
start_tlstrunk "$cfg"
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$TLSTRUNK_PID/status"; }
spawn "$WORK/uas.log" sipp -sf "$LIB_DIR/sipp/cloud_uas.xml" -nostdin -i "$UAS_IP" -p "$UAS_PORT" -max_socket 64
sed "s|<pause milliseconds=\"4000\"/>|<pause/>|" "$LIB_DIR/sipp/pbx_uac_long.xml" >"$WORK/uac.xml"
total=$((RATE * MINUTES * 60))
spawn "$WORK/uac.log" sipp -sf "$WORK/uac.xml" -nostdin -i "$PBX_IP" -p 5070 -s +13175550100 \
	-m "$total" -r "$RATE" -d "$HOLD_MS" -trace_stat -stf "$WORK/uac.csv" "$PBX_IP:$SBC_PBX_PORT"
UAC=$SPAWNED_PID
echo "soak: $RATE cps x $MINUTES min, calls held $HOLD_MS ms; tlstrunk RSS at start $(rss) KiB"
declare -a R=()
for m in $(seq 1 "$MINUTES"); do
	sleep 60
	R[m]=$(rss)
	echo "soak: minute $m: RSS ${R[m]} KiB"
done
rc=0
sipp_wait "$UAC" 60 || rc=$?
ok=$(grep -a 'Successful call' "$WORK/uac.log" | tail -1 | awk -F'|' '{gsub(/ /,"",$3); print $3}')
bad=$(grep -a 'Failed call' "$WORK/uac.log" | tail -1 | awk -F'|' '{gsub(/ /,"",$3); print $3}')
first=${R[2]:-${R[1]}} last=${R[$MINUTES]}
pct=$(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", (b - a) * 100 / a }')
echo "soak: calls ok ${ok:-?} failed ${bad:-?} (sipp exit $rc); RSS minute 2 $first KiB, minute $MINUTES $last KiB: ${pct}%"
if awk -v p="$pct" 'BEGIN { exit !(p <= 5 && p >= -5) }'; then
	echo "soak: within 5%: no growth"
else
	echo "soak: RSS moved more than 5%"
fi
pass "soak"
