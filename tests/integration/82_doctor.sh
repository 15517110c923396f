#!/usr/bin/env bash
# 82_doctor.sh - `tlstrunk doctor -c FILE` (issue 6), offline against the
# test PKI: one line per check, "ok|warn|fail  CHECK: DETAIL[; fix: ...]",
# exit status non-zero on any fail.
#
# With Kamailio as the cloud (lb01.voice.use1.pure.cloud at 127.0.0.2:5061,
# answering OPTIONS):
#   good      the test configuration, TLSTRUNK_DOCTOR_TRUST=$PKI/ca.pem (the
#             test root accepted as if the cloud trusted it): exit 0, every
#             line ok (a warn only from media.*: other tests may hold media
#             ports), the negotiated TLS 1.2 suite and an OPTIONS RTT listed;
#             cloud.ciphers: the default six, none deprecated; chain.purpose
#             and cloud.purpose name the extended key usage.
#   deprecated [cloud] ciphers with AES256-SHA256 and ECDHE-RSA-AES256-SHA384
#             added: exit 0, one warn line each naming the suite, the key and
#             FILE:LINE, with a fix; no other warn but media.*.
#   mutual    [tls_server] mutual on: tls_server.mutual is ok and says that
#             clientAuth is not required of client certificates.
#   untrusted the same without TLSTRUNK_DOCTOR_TRUST: chain.root fails, the
#             test root being in none of the cloud's roots.
#   key       key_file = the cloud's key: chain.key fails.
#   leafonly  cert_file = sbc-leaf.pem (no intermediate): chain.complete.
#   order     cert_file = intermediate, then the leaf: chain.order.
#   name      advertised_name not in the certificate: chain.name.
#   forged    a private CA named "ISRG Root X1" (the real root's subject and
#             hash): chain.root, the system's copy of the root did not sign it
#             (skipped without ca-certificates).
# Then, without Kamailio:
#   down      nothing listens on 127.0.0.2:5061: cloud.connect.
#   wrongname `openssl s_server` presents a valid chain for
#             other.example.net: cloud.tls (refused) and cloud.name.
# Every broken case must fail exactly the checks listed for it, exit 1,
# and its fail line must carry the specific reason and a fix.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

HOST=$CLOUD_NAME
# LEVEL, two spaces, a check name ("chain.key", "cloud.tls HOST",
# "pbx.listen udp IP:PORT"), ": ", the detail.
LINE_RE='^(ok  |warn|fail)  [a-z_.]+( [^ ]+)*: .+'

# run_doctor LABEL CONFIG [ENV...]: output in $WORK/doctor-LABEL.out, exit
# status in DOCTOR_RC.
run_doctor() {
	local label=$1 cfg=$2; shift 2
	DOCTOR_RC=0
	timeout -k 5 60 env "$@" "$TLSTRUNK_BIN" doctor -c "$cfg" \
		>"$WORK/doctor-$label.out" 2>"$WORK/doctor-$label.err" || DOCTOR_RC=$?
	DOCTOR_OUT=$WORK/doctor-$label.out
	# Every line of the report has the contract's shape.
	if grep -vqE "$LINE_RE" "$DOCTOR_OUT"; then
		fail "$label: malformed report line(s): $(grep -vE "$LINE_RE" "$DOCTOR_OUT" | head -3)"
	fi
	if grep -aqE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$WORK/doctor-$label.err"; then
		fail "$label: sanitizer report (see $WORK/doctor-$label.err)"
	fi
	if [ -s "$WORK/doctor-$label.err" ]; then
		fail "$label: unexpected stderr: $(head -3 "$WORK/doctor-$label.err")"
	fi
}

# failed_checks: the names of the failed checks, sorted, '|'-joined.
failed_checks() {
	awk '/^fail  / { s = substr($0, 7); print substr(s, 1, index(s, ": ") - 1) }' \
		"$DOCTOR_OUT" | sort | paste -sd'|'
}

# expect_fail LABEL CONFIG "CHECK..." REGEX [ENV...]: exit 1; exactly the
# CHECKs failed (space-separated; '@' stands for the space inside a check
# name such as "cloud.tls@HOST"); a fail line matches REGEX and names a fix.
expect_fail() {
	local label=$1 cfg=$2 want=$3 re=$4 got line; shift 4
	run_doctor "$label" "$cfg" "$@"
	[ "$DOCTOR_RC" = 1 ] ||
		fail "$label: doctor exited $DOCTOR_RC, expected 1: $(cat "$DOCTOR_OUT")"
	got=$(failed_checks)
	want=$(tr ' ' '\n' <<<"$want" | tr '@' ' ' | sort | paste -sd'|')
	[ "$got" = "$want" ] ||
		fail "$label: failed checks [$got], expected [$want]: $(grep '^fail' "$DOCTOR_OUT")"
	line=$(grep -E "^fail  .*($re)" "$DOCTOR_OUT" | head -1) ||
		fail "$label: no fail line matches /$re/: $(grep '^fail' "$DOCTOR_OUT")"
	grep -q '; fix: ' <<<"$line" || fail "$label: the fail line names no fix: $line"
	RESULTS+=("$label: $line")
}

RESULTS=()
test_init
require_tlstrunk
# The doctor binds the listeners to test them: they must be free.
require_free_port udp "$PBX_IP" "$SBC_PBX_PORT"
require_free_port tcp "$PBX_IP" "$SBC_PBX_PORT"
require_free_port tcp "$SBC_TLS_IP" "$SBC_TLS_PORT"

good=$WORK/good.ini
write_tlstrunk_config "$good"
# The cloud's sources listed: an empty [tls_server] allow is a warning
# (issue 17; checked on its own below).
open_tls=$WORK/open-tls.ini
cp "$good" "$open_tls"
sed -i 's|^\[tls_server\]$|[tls_server]\nallow = 127.0.0.0/8|' "$good"
start_kamailio cloud

# --- good ---------------------------------------------------------------------
run_doctor good "$good" TLSTRUNK_DOCTOR_TRUST="$PKI/ca.pem"
[ "$DOCTOR_RC" = 0 ] || fail "good: doctor exited $DOCTOR_RC: $(grep -v '^ok' "$DOCTOR_OUT")"
if grep -E '^(fail|warn)' "$DOCTOR_OUT" | grep -vqE '^warn  media\.'; then
	fail "good: unexpected warn/fail: $(grep -E '^(fail|warn)' "$DOCTOR_OUT")"
fi
for check in chain.key chain.complete chain.root chain.name chain.purpose chain.expiry \
	cloud.ciphers "cloud.purpose $HOST" \
	"cloud.resolve $HOST" "cloud.connect $HOST" "cloud.tls $HOST" \
	"cloud.verify $HOST" "cloud.name $HOST" "cloud.expiry $HOST" \
	"cloud.options $HOST" "pbx.listen udp $PBX_IP:$SBC_PBX_PORT" \
	"pbx.listen tcp $PBX_IP:$SBC_PBX_PORT" \
	"tls_server.listen tcp $SBC_TLS_IP:$SBC_TLS_PORT" pbx.allow tls_server.allow media.range; do
	grep -qF "ok    $check: " "$DOCTOR_OUT" || fail "good: no ok line for '$check': $(cat "$DOCTOR_OUT")"
done
grep -qE '^(ok  |warn)  media\.ports: ' "$DOCTOR_OUT" || fail "good: no media.ports line"
suite_line=$(grep -E "^ok    cloud\.tls $HOST: TLSv1\.2, (ECDHE-RSA-AES(128|256)-GCM-SHA(256|384)|ECDHE-RSA-AES256-SHA(384)?|AES(128|256)-GCM-SHA(256|384)|AES256-SHA(256)?), group secp384r1" "$DOCTOR_OUT") ||
	fail "good: no TLS 1.2 suite of the cloud's list: $(grep 'cloud.tls' "$DOCTOR_OUT")"
rtt_line=$(grep -E "^ok    cloud\.options $HOST: \"SIP/2\.0 200 OK\" in [0-9]+\.[0-9] ms" "$DOCTOR_OUT") ||
	fail "good: no OPTIONS 200 with a round trip time: $(grep 'cloud.options' "$DOCTOR_OUT")"
grep -qE "^ok    chain\.root: .*trusted through TLSTRUNK_DOCTOR_TRUST=" "$DOCTOR_OUT" ||
	fail "good: chain.root does not say it was trusted through the test variable"
# Kamailio saw the OPTIONS come in over TLS.
wait_grep "$WORK/kamailio.log" 'CLOUD-RX method=OPTIONS .*proto=tls .*callid=doctor-' 5 ||
	fail "good: Kamailio logged no OPTIONS from the doctor"
grep -qE '^ok    cloud\.ciphers: 6 suite\(s\), none deprecated by the cloud: ECDHE-RSA-AES256-GCM-SHA384:' "$DOCTOR_OUT" ||
	fail "good: cloud.ciphers does not list the default six as not deprecated: $(grep 'cloud.ciphers' "$DOCTOR_OUT")"
grep -qE '^ok    chain\.purpose: extended key usage serverAuth, clientAuth; ' "$DOCTOR_OUT" ||
	fail "good: chain.purpose does not name our certificate's EKU: $(grep 'chain.purpose' "$DOCTOR_OUT")"
grep -qE "^ok    cloud\.purpose $HOST: extended key usage serverAuth, clientAuth; clientAuth not required" "$DOCTOR_OUT" ||
	fail "good: cloud.purpose does not name the cloud certificate's EKU: $(grep 'cloud.purpose' "$DOCTOR_OUT")"
RESULTS+=("good: exit 0; ${suite_line#ok    }; ${rtt_line#ok    }")

# --- open-tls: [tls_server] allow empty -----------------------------------------
run_doctor open-tls "$open_tls" TLSTRUNK_DOCTOR_TRUST="$PKI/ca.pem"
grep -qE "^warn  tls_server\.allow: empty: any address that reaches the TLS port may send calls toward the PBX; fix: list the cloud's signaling addresses" "$DOCTOR_OUT" ||
	fail "open-tls: no tls_server.allow warning: $(grep -E '^(fail|warn)' "$DOCTOR_OUT")"
RESULTS+=("open-tls: empty [tls_server] allow warned")

# --- the cloud's deprecated suites: warned, not failed ------------------------------
f=$WORK/deprecated.ini
sed '/^\[cloud\]/a ciphers = ECDHE-RSA-AES256-GCM-SHA384, AES256-SHA256, ECDHE-RSA-AES256-SHA384' "$good" >"$f"
line=$(grep -n -m1 '^ciphers = ' "$f" | cut -d: -f1)
run_doctor deprecated "$f" TLSTRUNK_DOCTOR_TRUST="$PKI/ca.pem"
[ "$DOCTOR_RC" = 0 ] || fail "deprecated: doctor exited $DOCTOR_RC, a deprecated suite is a warning: $(grep -v '^ok' "$DOCTOR_OUT")"
for s in AES256-SHA256 ECDHE-RSA-AES256-SHA384; do
	n=$(grep -cF "warn  cloud.ciphers: $f:$line: [cloud] ciphers names $s (" "$DOCTOR_OUT" || true)
	[ "$n" = 1 ] || fail "deprecated: $n cloud.ciphers warn lines for $s at $f:$line, want 1: $(grep 'cloud.ciphers' "$DOCTOR_OUT")"
done
grep '^warn  cloud\.ciphers: ' "$DOCTOR_OUT" | grep -v 'deprecated by the cloud .*; fix: ' &&
	fail "deprecated: a cloud.ciphers line without the reason or a fix"
if grep -E '^(fail|warn)' "$DOCTOR_OUT" | grep -vqE '^warn  (media\.|cloud\.ciphers: )'; then
	fail "deprecated: unexpected warn/fail: $(grep -E '^(fail|warn)' "$DOCTOR_OUT")"
fi
RESULTS+=("deprecated: exit 0; $(grep -m1 '^warn  cloud.ciphers' "$DOCTOR_OUT")")

# --- mutual TLS: what a client certificate needs -------------------------------------
f=$WORK/mutual.ini
cp "$good" "$f"
printf '%s\n' "mutual = on" "client_ca_file = $PKI/client-ca.pem" >>"$f"
run_doctor mutual "$f" TLSTRUNK_DOCTOR_TRUST="$PKI/ca.pem"
[ "$DOCTOR_RC" = 0 ] || fail "mutual: doctor exited $DOCTOR_RC: $(grep -v '^ok' "$DOCTOR_OUT")"
mutual_line=$(grep -E "^ok    tls_server\.mutual: on: .*client_ca_file $PKI/client-ca\.pem \(1 CA\(s\): 'tlstrunk Test Client CA'\).*clientAuth not required \(the cloud's certificates have serverAuth only since 2026-03\)" "$DOCTOR_OUT") ||
	fail "mutual: no tls_server.mutual line saying clientAuth is not required: $(grep 'tls_server.mutual' "$DOCTOR_OUT")"
RESULTS+=("mutual: ${mutual_line#ok    }")

# --- our chain, broken ------------------------------------------------------------
expect_fail untrusted "$good" "chain.root" \
	"'tlstrunk Test Root CA' \(subject hash [0-9a-f]{8}\), which is not one of the 72 roots"

f=$WORK/key.ini
sed "s|^key_file = .*|key_file = $PKI/cloud.key|" "$good" >"$f"
# Our client context cannot load a mismatched key either: cloud.tls says so.
expect_fail key "$f" "chain.key cloud.tls@$HOST" \
	"key_file .*/cloud\.key does not match the certificate 'sbc\.test\.example'" \
	TLSTRUNK_DOCTOR_TRUST="$PKI/ca.pem"

f=$WORK/leafonly.ini
sed "s|^cert_file = .*|cert_file = $PKI/sbc-leaf.pem|" "$good" >"$f"
expect_fail leafonly "$f" "chain.complete" \
	"'sbc\.test\.example' is issued by 'tlstrunk Test Intermediate CA', which is neither in cert_file nor a known root" \
	TLSTRUNK_DOCTOR_TRUST="$PKI/ca.pem"

f=$WORK/order.ini
cat "$PKI/inter.pem" "$PKI/sbc-leaf.pem" >"$WORK/reversed.pem"
sed "s|^cert_file = .*|cert_file = $WORK/reversed.pem|" "$good" >"$f"
# The first certificate is what a server presents as its own: the key
# cannot match it, its name is not ours, and our client context refuses
# the pair too.
expect_fail order "$f" "chain.key chain.name chain.order cloud.tls@$HOST" \
	"certificate 1 \('tlstrunk Test Intermediate CA'\) issued certificate 2 \('sbc\.test\.example'\): the end-entity certificate must come first" \
	TLSTRUNK_DOCTOR_TRUST="$PKI/ca.pem"

f=$WORK/name.ini
sed "s|^advertised_name = .*|advertised_name = trunk.other.example|" "$good" >"$f"
expect_fail name "$f" "chain.name" \
	"advertised_name trunk\.other\.example is not in the certificate \(names: DNS:sbc\.test\.example" \
	TLSTRUNK_DOCTOR_TRUST="$PKI/ca.pem"

# A private CA that calls itself "ISRG Root X1" (same subject, so the same
# hash as the real root): matched by hash and name, refused because the
# system's copy of the real root did not sign the chain.
if [ -f /etc/ssl/certs/4042bcee.0 ]; then
	fake=$WORK/fake-root
	mkdir -p "$fake"
	printf 'basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:%s\n' "$SBC_NAME" >"$fake/leaf.ext"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$fake/ca.key" -out "$fake/ca.pem" \
		-days 30 -subj "/C=US/O=Internet Security Research Group/CN=ISRG Root X1" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" >"$fake/openssl.log" 2>&1
	openssl req -new -newkey rsa:2048 -nodes -keyout "$fake/leaf.key" -out "$fake/leaf.csr" \
		-subj "/CN=$SBC_NAME" >>"$fake/openssl.log" 2>&1
	openssl x509 -req -in "$fake/leaf.csr" -CA "$fake/ca.pem" -CAkey "$fake/ca.key" \
		-set_serial 7 -days 90 -extfile "$fake/leaf.ext" -out "$fake/leaf.pem" >>"$fake/openssl.log" 2>&1
	f=$WORK/forged.ini
	sed -e "s|^cert_file = .*|cert_file = $fake/leaf.pem|" \
	    -e "s|^key_file = .*|key_file = $fake/leaf.key|" "$good" >"$f"
	expect_fail forged "$f" "chain.root" \
		"a CA named 'ISRG Root X1' \(subject hash 4042bcee, matched by subject hash and name\), but the system's copy of ISRG Root X1 .* did not issue it"
else
	log "no /etc/ssl/certs/4042bcee.0 (ca-certificates): forged-root case skipped"
fi

stop_kamailio

# --- the cloud, broken --------------------------------------------------------------
require_free_port tcp "$CLOUD_IP" "$CLOUD_TLS_PORT"
expect_fail down "$good" "cloud.connect@$HOST" \
	"cannot connect: $CLOUD_IP:$CLOUD_TLS_PORT: Connection refused" \
	TLSTRUNK_DOCTOR_TRUST="$PKI/ca.pem"

spawn "$WORK/s_server-wrongname.log" openssl s_server -accept "$CLOUD_IP:$CLOUD_TLS_PORT" \
	-tls1_2 -quiet -cert "$PKI/wrongname-leaf.pem" -cert_chain "$PKI/inter.pem" \
	-key "$PKI/wrongname.key"
S_SERVER_PID=$SPAWNED_PID
wait_port tcp "$CLOUD_IP" "$CLOUD_TLS_PORT" 5 "$S_SERVER_PID" || fail "wrongname: openssl s_server did not start"
expect_fail wrongname "$good" "cloud.name@$HOST cloud.tls@$HOST" \
	"the certificate is for DNS:other\.example\.net, CN=other\.example\.net, not $HOST" \
	TLSTRUNK_DOCTOR_TRUST="$PKI/ca.pem"
grep -qE "^fail  cloud\.tls $HOST: handshake refused by our policy: .*hostname mismatch" "$DOCTOR_OUT" ||
	fail "wrongname: cloud.tls does not give the handshake's reason: $(grep 'cloud.tls' "$DOCTOR_OUT")"
grep -qE "^ok    cloud\.verify $HOST: chain verifies" "$DOCTOR_OUT" ||
	fail "wrongname: the chain itself is good, cloud.verify should say so"
grep -q 'cloud.options' "$DOCTOR_OUT" && fail "wrongname: OPTIONS sent over a refused connection"
grep -aq OPTIONS "$WORK/s_server-wrongname.log" && fail "wrongname: SIP reached the wrong-name server"
kill_group "$S_SERVER_PID"

pass "$(printf '%s\n' "${RESULTS[@]}" | paste -sd'|' | sed 's/|/ | /g')"
