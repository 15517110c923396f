#!/usr/bin/env bash
# 71_grafana.sh - the Grafana dashboard (deploy/grafana/tlstrunk.json)
# against what a running tlstrunk really exports (issue 18).
# One Kamailio cloud proxy (lb01), admin_listen 127.0.0.1:19071, one
# PBX->cloud call (sipp, 3 s); /metrics scraped during the call.
#   - tests/grafana/check_dashboard.py check: the JSON loads; current
#     schemaVersion; the ${DS_PROMETHEUS} datasource variable and the
#     instance variable (label_values of a metric in the scrape); the
#     required panels by title; every metric name of every PromQL
#     expression is a sample name in the scrape, every label in a selector
#     or in by (...) exists on that metric, literal label values and regex
#     alternatives are values the scrape carries; counters only in
#     rate()/irate()/increase(), gauges never; legends name labels the
#     result keeps; every selector filters on instance=~"$instance".
#   - the check can fail: a metric name misspelt in a copy of the JSON (sed)
#     is rejected, and so is every mutant of check_dashboard.py mutants
#     (metric, label, label value, function, missing panel, ...).
#   - when promtool is installed (Debian package prometheus): every
#     expression parses (promtool check rules); when prometheus is
#     installed, a real Prometheus scrapes tlstrunk every second during the
#     call and every expression of the dashboard returns data from it.
# Grafana itself is not packaged in Debian 12: the dashboard is not loaded
# into a Grafana here.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/cloud4/lib4.sh
. "$(dirname "$0")/../cloud4/lib4.sh"

ADMIN_PORT=19071
ADMIN=http://127.0.0.1:$ADMIN_PORT
PROM_PORT=19072
PROM=http://127.0.0.1:$PROM_PORT
DASH=$LIB_DIR/../deploy/grafana/tlstrunk.json
CHECK=$LIB_DIR/grafana/check_dashboard.py

# scrape TAG: GET /metrics into $WORK/metrics-TAG.txt.
scrape() {
	local tag=$1 code
	code=$(http_get "$ADMIN/metrics" "$WORK/metrics-$tag")
	[ "$code" = 200 ] || fail "$tag: GET /metrics answered $code: $(head -c 200 "$WORK/metrics-$tag.body")"
	mv "$WORK/metrics-$tag.body" "$WORK/metrics-$tag.txt"
}

# prom_query EXPR: the first value of an instant query ("" when none).
prom_query() {
	"$PY" - "$PROM" "$1" <<'EOF'
import json, sys, urllib.parse, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[2]}), timeout=3) as r:
        res = json.load(r)["data"]["result"]
    print(res[0]["value"][1] if res else "")
except Exception:
    print("")
EOF
}

test_init
[ -f "$DASH" ] || fail "no dashboard at $DASH"
"$PY" -c 'import json, sys; json.load(open(sys.argv[1]))' "$DASH" 2>"$WORK/json.err" ||
	fail "$DASH is not valid JSON: $(cat "$WORK/json.err")"
start_kam4 1
settle_kam4
CFG=$WORK/tlstrunk.ini
write_tlstrunk_config4 "$CFG" "1"
ini_set "$CFG" general admin_listen "127.0.0.1:$ADMIN_PORT"
require_free_port tcp 127.0.0.1 "$ADMIN_PORT"
start_tlstrunk "$CFG"
wait_tls_up 1 10 || fail "tlstrunk opened no TLS connection to lb01"
wait_port tcp 127.0.0.1 "$ADMIN_PORT" 5 "$TLSTRUNK_PID" ||
	fail "nothing listens on admin_listen 127.0.0.1:$ADMIN_PORT"

# A real Prometheus scraping tlstrunk every second, when installed.
PROM_PID=
if command -v prometheus >/dev/null 2>&1; then
	require_free_port tcp 127.0.0.1 "$PROM_PORT"
	mkdir -p "$WORK/prom"
	cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tlstrunk
    static_configs:
      - targets: ['127.0.0.1:$ADMIN_PORT']
EOF
	spawn "$WORK/prometheus.log" prometheus --config.file="$WORK/prometheus.yml" \
		--storage.tsdb.path="$WORK/prom" --web.listen-address="127.0.0.1:$PROM_PORT"
	PROM_PID=$SPAWNED_PID
	wait_port tcp 127.0.0.1 "$PROM_PORT" 10 "$PROM_PID" ||
		fail "prometheus did not listen on $PROM_PORT: $(tail -3 "$WORK/prometheus.log")"
else
	log "prometheus not installed (Debian package prometheus): no live query check"
fi

# --- one call; scrape during it ---------------------------------------------------
uas4_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT"
sipp4_bg call pbx_uac_talk.xml 30 -i "$PBX_IP" -p 5072 -s +13175550100 -d 3000 -m 1 "$PBX_IP:$SBC_PBX_PORT"
CALL_PID=$SIPP_PID
wait_grep "$WORK/sipp-call.msg.log" '^ACK ' 10 || fail "the call was not established"
sleep 0.5
scrape during
"$PY" "$CLOUD4_DIR/promparse.py" value "$WORK/metrics-during.txt" tlstrunk_calls_active | grep -qx 1 ||
	fail "during: tlstrunk_calls_active is not 1 during the call"

# --- the dashboard against the scrape ----------------------------------------------
out=$("$PY" "$CHECK" check "$DASH" "$WORK/metrics-during.txt" 2>&1) ||
	fail "the dashboard does not match what tlstrunk exports: $(head -20 <<<"$out" | tr '\n' ';')"
checked=${out#ok: }
log "check: $out"

# It can fail: a misspelt metric name in the JSON file itself ...
sed 's/tlstrunk_calls_active{/tlstrunk_calls_activ{/' "$DASH" >"$WORK/typo.json"
cmp -s "$DASH" "$WORK/typo.json" && fail "the sed found no tlstrunk_calls_active{ to break"
rc=0
typo=$("$PY" "$CHECK" check "$WORK/typo.json" "$WORK/metrics-during.txt" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "a dashboard with tlstrunk_calls_activ passed the check (exit $rc): $typo"
grep -q 'metric tlstrunk_calls_activ is not in the scrape' <<<"$typo" ||
	fail "the misspelt metric was rejected for another reason: $(head -3 <<<"$typo" | tr '\n' ';')"
# ... and every mutant.
mut=$("$PY" "$CHECK" mutants "$DASH" "$WORK/metrics-during.txt" 2>&1) ||
	fail "check_dashboard.py let a broken dashboard through: $(grep -v '^caught' <<<"$mut" | tr '\n' ';')"
nmut=$(grep -c '^caught' <<<"$mut")
log "$nmut broken copies of the dashboard rejected"

# --- PromQL syntax (promtool), when installed ----------------------------------------------
promtool_note="promtool not installed"
if command -v promtool >/dev/null 2>&1; then
	"$PY" - "$CHECK" "$DASH" "$WORK/rules.yml" <<'EOF'
import json, subprocess, sys
lines = subprocess.run([sys.executable, sys.argv[1], "exprs", sys.argv[2]], check=True,
                       capture_output=True, text=True).stdout.splitlines()
rules = [{"record": "dashboard:expr%d" % i, "expr": json.loads(l)["expr"]} for i, l in enumerate(lines)]
json.dump({"groups": [{"name": "tlstrunk-dashboard", "rules": rules}]}, open(sys.argv[3], "w"), indent=1)
EOF
	out=$(promtool check rules "$WORK/rules.yml" 2>&1) ||
		fail "promtool rejects an expression of the dashboard: $(head -10 <<<"$out" | tr '\n' ';')"
	promtool_note="promtool: $(grep -o 'SUCCESS: [0-9]* rules found' <<<"$out" || echo ok)"
	log "$promtool_note"
fi

rc=0
sipp_wait "$CALL_PID" 20 || rc=$?
[ "$rc" = 0 ] || fail "the call did not complete (sipp exit $rc)"

# --- every expression against a real Prometheus, when installed -----------------------------
live_note="prometheus not installed"
if [ -n "$PROM_PID" ]; then
	# Enough samples for rate() over 15 s, including the end of the call.
	for i in $(seq 1 50); do
		n=$(prom_query 'count_over_time(tlstrunk_calls_active[15s])')
		ended=$(prom_query 'tlstrunk_calls_total{direction="pbx_to_cloud",result="answered"}')
		[ "${n:-0}" -ge 4 ] 2>/dev/null && [ "$ended" = 1 ] && break
		sleep 0.2
	done
	[ "${n:-0}" -ge 4 ] 2>/dev/null ||
		fail "prometheus has ${n:-no} samples of tlstrunk_calls_active after 10 s: $(tail -3 "$WORK/prometheus.log" | tr '\n' ';')"
	[ "$ended" = 1 ] || fail "prometheus never saw the call end (calls_total answered: '${ended}')"
	out=$(RANGE=15s "$PY" "$CHECK" live "$DASH" "$PROM" 2>&1) ||
		fail "an expression of the dashboard returns nothing from a Prometheus scraping tlstrunk: $(head -10 <<<"$out" | tr '\n' ';')"
	live_note="Prometheus $(prometheus --version 2>&1 | awk 'NR==1 {print $3}'): $out"
	log "$live_note"
fi

pass "dashboard matches the scrape taken during a call ($checked); a misspelt metric and $nmut other broken copies rejected; $promtool_note; $live_note; Grafana not packaged in Debian 12, not loaded"
