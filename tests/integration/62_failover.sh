#!/usr/bin/env bash
# 62_failover.sh - four cloud proxies (Kamailio over TLS as lb01..lb04 on
# 127.0.0.2/.4/.5/.6:5061, all forwarding to one cloud sipp UAS), tlstrunk
# with hosts = lb01..lb04, options_interval 2, options_interval_down 1,
# failover_timeout 2.
#   a) 8 sequential PBX calls are spread round-robin: each proxy's own
#      CLOUD-RX lines show exactly 2 INVITEs, every call completes.
#   b) sipp places 60 calls of 2 s at 5 cps; lb03 is killed (SIGKILL, a
#      crash) about 3 s in. Every call is classified from the PBX's message
#      log and the proxies' logs:
#        A  in progress on lb03 at the kill (lb03's own log shows the
#           INVITE, the PBX had no final BYE answer before the kill): the
#           only calls allowed to fail. Those whose BYE had to cross lb03 after the kill (the
#           route set names it) are counted separately ("BYE needed the
#           dead proxy"); the rest had their INVITE/ACK in flight.
#        B  started within the detection window (kill .. kill + W, W =
#           options_interval + failover_timeout = 4 s): reported apart, and
#           must succeed too - a refused connection fails a new INVITE over
#           to the next proxy at once, so nothing excuses a failure here.
#        C  everything else - calls finished before the kill, calls in
#           progress on lb01/lb02/lb04 ("untouched"), every call started
#           after kill + W: each must have INVITE 200 and BYE 200.
#      Also: tlstrunk logs lb03 down within W of the kill, sipp's failed
#      count equals the failed calls found, the kill did hit calls on lb03
#      and at least 10 calls started after the window.
#   c) lb03 restarted: tlstrunk logs it up again, and 8 more sequential
#      calls go 2 to each proxy, lb03 included (its new log shows 2 INVITEs).
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/cloud4/lib4.sh
. "$(dirname "$0")/../cloud4/lib4.sh"

KILLED=3
WINDOW=4          # options_interval 2 + failover_timeout 2

# invites_since MARKS: "n1 n2 n3 n4" INVITE counts per proxy after the line
# numbers in MARKS (an array name).
invites_since() {
	local -n marks=$1
	local n out=''
	for n in 1 2 3 4; do
		out+="$(kam4_count "$n" 'CLOUD-RX method=INVITE ' "${marks[$n]}") "
	done
	echo "${out% }"
}

# sequential_round LABEL: 8 calls one after the other; each proxy must see 2.
sequential_round() {
	local label=$1 n rc=0 got
	local -a mark=()
	# shellcheck disable=SC2034  # read through the nameref in invites_since
	for n in 1 2 3 4; do mark[n]=$(kam4_lines "$n"); done
	sipp4_run "$label" pbx_uac_talk.xml 40 -i "$PBX_IP" -p 5070 -s +13175550100 \
		-d 200 -m 8 -l 1 -r 5 "$PBX_IP:$SBC_PBX_PORT" || rc=$?
	[ "$rc" = 0 ] || fail "$label: 8 sequential calls did not all complete (sipp exit $rc, successful/failed: $(sipp_counts "$label"))"
	got=$(invites_since mark)
	[ "$got" = "2 2 2 2" ] ||
		fail "$label: INVITEs per proxy lb01..lb04 were '$got', expected '2 2 2 2' (round-robin over four healthy proxies)"
}

test_init
for n in 1 2 3 4; do start_kam4 "$n"; done
settle_kam4

CFG=$WORK/tlstrunk.ini
write_tlstrunk_config4 "$CFG" "1 2 3 4"
ini_set "$CFG" cloud options_interval 2
ini_set "$CFG" cloud options_interval_down 1
ini_set "$CFG" cloud failover_timeout 2
start_tlstrunk "$CFG"
for n in 1 2 3 4; do
	wait_tls_up "$n" 10 || fail "tlstrunk opened no TLS connection to lb0$n ($(lb_ip "$n"):$CLOUD_TLS_PORT)"
done
uas4_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT"

# --- a) spread -------------------------------------------------------------------
sequential_round a-spread
log "a) 8 calls spread 2/2/2/2"

# --- b) kill lb03 under load ---------------------------------------------------------
sipp4_bg b-load pbx_uac_talk.xml 60 -i "$PBX_IP" -p 5070 -s +13175550100 \
	-d 2000 -r 5 -m 60 -l 60 "$PBX_IP:$SBC_PBX_PORT"
LOAD_PID=$SIPP_PID
sleep 3
kill -0 "$LOAD_PID" 2>/dev/null || fail "b: the load generator ended before the kill (see $WORK/sipp-b-load.log)"
down_before=$(grep -c "cloud $(lb_name $KILLED):$CLOUD_TLS_PORT is down" "$TLSTRUNK_LOG" || true)
KILL_T=$(now)
kill_kam4 "$KILLED" KILL
log "b) lb0$KILLED killed at $KILL_T"
rc=0
sipp_wait "$LOAD_PID" 70 || rc=$?
log "b) load done: sipp exit $rc, successful/failed $(sipp_counts b-load)"
kill -0 "$TLSTRUNK_PID" 2>/dev/null || fail "b: tlstrunk died during the load"

down_line=$(grep -a "cloud $(lb_name $KILLED):$CLOUD_TLS_PORT is down" "$TLSTRUNK_LOG" | sed -n "$((down_before + 1))p" || true)
[ -n "$down_line" ] || fail "b: tlstrunk never marked lb0$KILLED down after it was killed"
DOWN_T=$(log_epoch "$down_line")
read -r ok_calls failed_calls <<<"$(sipp_counts b-load)"

verdict=$(CLOUD4_DIR=$CLOUD4_DIR KILL_T=$KILL_T DOWN_T=$DOWN_T WINDOW=$WINDOW KILLED=$KILLED \
	SIPP_FAILED=$failed_calls SIPP_OK=$ok_calls \
	MSGLOG=$WORK/sipp-b-load.msg.log \
	LOGS="$(lb_log 1) $(lb_log 2) $(lb_log 3) $(lb_log 4)" \
	"$PY" - <<'EOF'
import os, sys
sys.path.insert(0, os.environ["CLOUD4_DIR"])
import calls as C

kill_t, down_t, w = float(os.environ["KILL_T"]), float(os.environ["DOWN_T"]), float(os.environ["WINDOW"])
k = int(os.environ["KILLED"])
logs = os.environ["LOGS"].split()
calls = C.uac_calls(os.environ["MSGLOG"])
invited, carried = {}, {}
for n, path in enumerate(logs, 1):
    for ev in C.kamailio_events(path):
        if ev["kind"] != "RX" or "callid" not in ev:
            continue
        if ev.get("method") == "INVITE":
            invited.setdefault(ev["callid"], set()).add(n)
        elif ev.get("method") == "ACK":
            carried.setdefault(ev["callid"], set()).add(n)

problems, A, A_bye, A_inv, B, C_all, C_after, C_other = [], [], [], [], [], [], [], []
for c in sorted(calls.values(), key=lambda c: c["t_invite"]):
    cid, t0 = c["callid"], c["t_invite"]
    on = carried.get(cid) or invited.get(cid) or set()
    done_t = c["t_bye_final"]
    rel = t0 - kill_t
    desc = "%s (started %+.2f s, proxy %s, INVITE %s, BYE %s)" % (
        cid, rel, ",".join("lb0%d" % n for n in sorted(on)) or "?",
        c["invite_status"], c["bye_status"])
    # lb0k's own log shows the INVITE: the call was on it when it died
    # (whatever our clock said when we sent the kill).
    if k in invited.get(cid, ()) and (done_t is None or done_t > kill_t):
        A.append(c)
        if c["invite_status"] == 200 and c["t_bye"] is not None and c["t_bye"] > kill_t:
            A_bye.append(c)
        else:
            A_inv.append(c)
        continue
    if kill_t <= t0 < kill_t + w:
        B.append(c)
        continue
    C_all.append(c)
    if t0 >= kill_t + w:
        C_after.append(c)
    elif t0 < kill_t and (done_t is None or done_t > kill_t):
        C_other.append(c)
    if not c["ok"]:
        problems.append("call %s failed although it is not in progress on lb0%d at the kill" % (desc, k))

failed = [c for c in calls.values() if not c["ok"]]
fa = lambda L: sum(1 for c in L if not c["ok"])
if len(calls) != 60:
    problems.append("the PBX log shows %d calls, expected 60" % len(calls))
if not A:
    problems.append("no call was in progress on lb0%d when it was killed: the kill tested nothing" % k)
if len(C_after) < 10:
    problems.append("only %d calls started after the detection window (need >= 10)" % len(C_after))
if not C_other:
    problems.append("no call was in progress on another proxy at the kill")
if down_t - kill_t > w:
    problems.append("lb0%d marked down %.2f s after the kill, detection window is %g s" % (k, down_t - kill_t, w))
if os.environ["SIPP_FAILED"] != str(len(failed)):
    problems.append("sipp counted %s failed calls, the logs show %d" % (os.environ["SIPP_FAILED"], len(failed)))
summary = ("%d calls: A (in progress on lb0%d at the kill) %d, %d failed [BYE needed the dead proxy: %d, %d failed; "
           "INVITE/ACK in progress: %d, %d failed]; B (started in the %g s window) %d, %d failed; "
           "C %d, %d failed [in progress on other proxies %d, started after the window %d]; "
           "lb0%d marked down %.2f s after the kill") % (
    len(calls), k, len(A), fa(A), len(A_bye), fa(A_bye), len(A_inv), fa(A_inv), w, len(B), fa(B),
    len(C_all), fa(C_all), len(C_other), len(C_after), k, down_t - kill_t)
for p in problems:
    print("PROBLEM " + p)
for c in B:
    if not c["ok"]:
        print("PROBLEM call %s started %+.2f s after the kill (detection window) failed: INVITE %s, BYE %s"
              % (c["callid"], c["t_invite"] - kill_t, c["invite_status"], c["bye_status"]))
print("SUMMARY " + summary)
EOF
) || fail "b: analysis failed: $verdict"
summary=$(sed -n 's/^SUMMARY //p' <<<"$verdict")
if grep -q '^PROBLEM' <<<"$verdict"; then
	fail "b: $(grep '^PROBLEM' <<<"$verdict" | sed 's/^PROBLEM //' | head -5 | tr '\n' ';' || true) -- $summary"
fi
log "b) $summary"
failovers=$(grep -ac "INVITE to $(lb_name $KILLED) failed" "$TLSTRUNK_LOG" || true)

# --- c) lb03 comes back --------------------------------------------------------------
up_before=$(grep -c "cloud $(lb_name $KILLED):$CLOUD_TLS_PORT is up" "$TLSTRUNK_LOG" || true)
start_kam4 "$KILLED" "" "$WORK/kamailio-lb0$KILLED-restarted.log"
settle_kam4
for i in $(seq 1 100); do
	[ "$(grep -c "cloud $(lb_name $KILLED):$CLOUD_TLS_PORT is up" "$TLSTRUNK_LOG" || true)" -gt "$up_before" ] && break
	sleep 0.1
done
[ "$(grep -c "cloud $(lb_name $KILLED):$CLOUD_TLS_PORT is up" "$TLSTRUNK_LOG" || true)" -gt "$up_before" ] ||
	fail "c: tlstrunk did not mark lb0$KILLED up within 10 s of its restart (options_interval_down 1)"
sequential_round c-back

pass "a) 8 calls spread 2/2/2/2; b) lb0$KILLED killed under 5 cps: $summary; $failovers INVITE(s) failed over from it; c) restarted lb0$KILLED marked up and took 2 of 8 new calls (2/2/2/2)"
