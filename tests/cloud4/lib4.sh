# shellcheck shell=bash
# tests/cloud4/lib4.sh - helpers for the multi-proxy / operations tests
# (tests/integration/62..69). Source it AFTER tests/lib.sh; it only adds
# functions and constants and starts nothing by itself.
#
# Topology on loopback (run inside `unshare -n` so other engineers' tests,
# which use the same fixed ports, cannot clash):
#
#   proxy  name                           TLS (to tlstrunk)   UDP (to sipp)
#   lb01   lb01.voice.use1.pure.cloud     127.0.0.2:5061      127.0.0.2:5060
#   lb02   lb02.voice.use1.pure.cloud     127.0.0.4:5061      127.0.0.4:5060
#   lb03   lb03.voice.use1.pure.cloud     127.0.0.5:5061      127.0.0.5:5060
#   lb04   lb04.voice.use1.pure.cloud     127.0.0.6:5061      127.0.0.6:5060
#
# Every instance forwards the calls it gets from tlstrunk to the one cloud
# sipp UAS ($UAS_IP:$UAS_PORT, 127.0.0.3:5080) and logs its own CLOUD-RX /
# CLOUD-TX evidence lines to $WORK/kamailio-lbNN.log. One certificate
# (made here, signed by the test intermediate) carries all four names.

# shellcheck disable=SC2034
CLOUD4_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LB_IPS=(- 127.0.0.2 127.0.0.4 127.0.0.5 127.0.0.6)
declare -A KAM4_PID=()
KAM4_LOG=()

# Prefer a python3 that has prometheus_client (Debian's python3-prometheus-
# client lives in /usr/lib/python3/dist-packages, for /usr/bin/python3).
PY=python3
for _py in python3 /usr/bin/python3; do
	if command -v "$_py" >/dev/null 2>&1 && "$_py" -c 'import prometheus_client.parser' 2>/dev/null; then
		PY=$_py
		break
	fi
done
unset _py

lb_name() { printf 'lb%02d.voice.use1.pure.cloud' "$1"; }
lb_ip() { echo "${LB_IPS[$1]}"; }
lb_log() { echo "$WORK/kamailio-lb0$1.log"; }

# now: wall clock, seconds with microseconds (same clock as Kamailio's t=).
now() { date +%s.%6N; }

# --- certificates ----------------------------------------------------------------

# make_leaf PREFIX SAN: a leaf for SAN ("DNS:a,DNS:b"), new key, random
# serial, signed by the test intermediate ($PKI/inter.*): PREFIX.key,
# PREFIX-leaf.pem, PREFIX.pem (leaf + intermediate, what a server sends).
# Checked with openssl verify against the test root.
make_leaf() {
	local prefix=$1 san=$2 cn ext
	cn=${san%%,*}; cn=${cn#DNS:}
	ext=$prefix.ext
	cat >"$ext" <<EOF
[v3_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = $san
EOF
	{
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$prefix.key" &&
		openssl req -new -key "$prefix.key" -out "$prefix.csr" -subj "/O=tlstrunk test/CN=$cn" &&
		openssl x509 -req -in "$prefix.csr" -out "$prefix-leaf.pem" \
			-CA "$PKI/inter.pem" -CAkey "$PKI/inter.key" \
			-set_serial "0x$(openssl rand -hex 8)" -days 825 -sha256 \
			-extfile "$ext" -extensions v3_leaf &&
		cat "$prefix-leaf.pem" "$PKI/inter.pem" >"$prefix.pem" &&
		openssl verify -CAfile "$PKI/ca.pem" -untrusted "$PKI/inter.pem" \
			-verify_hostname "$cn" "$prefix-leaf.pem"
	} >"$prefix.openssl.out" 2>&1 || fail "making certificate $prefix ($san) failed: $(tail -3 "$prefix.openssl.out" | tr '\n' ' ')"
	chmod 600 "$prefix.key"
}

# cert_serial PEM: the serial of the first certificate, as openssl prints it.
cert_serial() { openssl x509 -noout -serial -in "$1" | sed 's/^serial=//'; }

# make_cloud4_cert: $WORK/pki4/cloud4.{pem,key} for lb01..lb04.
make_cloud4_cert() {
	CLOUD4_CERT=$WORK/pki4/cloud4
	[ -f "$CLOUD4_CERT.pem" ] && return 0
	mkdir -p "$WORK/pki4"
	make_leaf "$CLOUD4_CERT" "DNS:$(lb_name 1),DNS:$(lb_name 2),DNS:$(lb_name 3),DNS:$(lb_name 4)"
}

# --- Kamailio instances -------------------------------------------------------------

write_cloud4_hosts() {
	local i
	{
		echo "127.0.0.1 localhost"
		for i in 1 2 3 4; do echo "$(lb_ip "$i") $(lb_name "$i")"; done
		echo "$SBC_TLS_IP $SBC_NAME"
	} >"$1"
}

# render_cloud4 N DIR: kamailio.cfg + tls.cfg of instance lbN into DIR.
render_cloud4() {
	local n=$1 dir=$2 f
	mkdir -p "$dir"
	for f in kamailio.cfg tls.cfg; do
		sed -e "s|@PKI@|$PKI|g" \
		    -e "s|@WORK@|$dir|g" \
		    -e "s|@MPATH@|$(kamailio_mpath)|g" \
		    -e "s|@CLOUD_IP@|$(lb_ip "$n")|g" \
		    -e "s|@CLOUD_TLS_PORT@|$CLOUD_TLS_PORT|g" \
		    -e "s|@CLOUD_UDP_PORT@|$CLOUD_UDP_PORT|g" \
		    -e "s|@CLOUD_NAME@|$(lb_name "$n")|g" \
		    -e "s|@CERT_FILE@|$CLOUD4_CERT.pem|g" \
		    -e "s|@KEY_FILE@|$CLOUD4_CERT.key|g" \
		    -e "s|@UAS_ADDR@|$UAS_IP:$UAS_PORT|g" \
		    -e "s|@SBC_ADDR@|$SBC_TLS_IP:$SBC_TLS_PORT|g" \
		    -e "s|@SBC_NAME@|$SBC_NAME|g" \
		    -e "s|@SBC_PORT@|$SBC_TLS_PORT|g" \
		    -e "s|@CIPHERS@|$CLOUD_CIPHERS|g" \
		    "$CLOUD4_DIR/$f.in" >"$dir/$f"
	done
	if grep -q '@[A-Z_0-9]*@' "$dir/kamailio.cfg" "$dir/tls.cfg"; then
		fail "unrendered placeholder in $dir: $(grep -ho '@[A-Z_0-9]*@' "$dir"/*.cfg | sort -u | tr '\n' ' ')"
	fi
}

# start_kam4 N [MODE [LOG]]: start instance lbN (MODE: empty, 503, drop or
# options503, see kamailio.cfg.in)
# with its log in LOG (default $WORK/kamailio-lb0N.log); waits until its TLS
# and UDP sockets listen. KAM4_PID[N] is its process (group leader).
start_kam4() {
	local n=$1 mode=${2:-} logf=${3:-$(lb_log "$1")} dir=$WORK/cloud-lb0$1 ip defs=()
	ip=$(lb_ip "$n")
	make_cloud4_cert
	render_cloud4 "$n" "$dir"
	mkdir -p "$dir/run"
	write_cloud4_hosts "$dir/hosts"
	with_hosts_prefix "$dir/hosts"
	case $mode in
	'') ;;
	503) defs=(-A MODE_503) ;;
	drop) defs=(-A MODE_DROP) ;;
	options503) defs=(-A MODE_OPTIONS_503) ;;
	*) fail "start_kam4: unknown mode '$mode'" ;;
	esac
	require_free_port tcp "$ip" "$CLOUD_TLS_PORT"
	require_free_port udp "$ip" "$CLOUD_UDP_PORT"
	if ! "${HOSTS_PREFIX[@]}" kamailio -c "${defs[@]}" -f "$dir/kamailio.cfg" >"$dir/check.log" 2>&1; then
		cp "$dir/check.log" "$logf"
		fail "kamailio lb0$n rejected its configuration (see $dir/check.log)"
	fi
	spawn "$logf" "${HOSTS_PREFIX[@]}" kamailio -DD -E "${defs[@]}" -f "$dir/kamailio.cfg" \
		-P "$dir/run/kamailio.pid" -Y "$dir/run" -w "$dir" -m 48 -M 8
	KAM4_PID[$n]=$SPAWNED_PID
	KAM4_LOG[n]=$logf
	if ! { wait_port tcp "$ip" "$CLOUD_TLS_PORT" 15 "$SPAWNED_PID" &&
	       wait_port udp "$ip" "$CLOUD_UDP_PORT" 5 "$SPAWNED_PID"; }; then
		fail "kamailio lb0$n did not start listening on $ip:$CLOUD_TLS_PORT/$CLOUD_UDP_PORT"
	fi
}

# settle_kam4: the TLS domains become ready in every child a little after
# the sockets listen (see start_kamailio in tests/lib.sh).
settle_kam4() { sleep 0.3; }

# kill_kam4 N [SIGNAL]: kill instance lbN's whole process group (default
# SIGKILL: a crash, every socket closed by the kernel) and reap it.
kill_kam4() {
	local n=$1 sig=${2:-KILL} pid=${KAM4_PID[$1]:-} i
	[ -n "$pid" ] || return 0
	kill "-$sig" -- "-$pid" 2>/dev/null || true
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	KAM4_PID[$n]=
}

# kam4_count N REGEX [FROM_LINE]: lines of lbN's current log matching REGEX
# (after line FROM_LINE when given).
kam4_count() {
	local f=${KAM4_LOG[$1]:-$(lb_log "$1")} from=${3:-0}
	[ -f "$f" ] || { echo 0; return 0; }
	tail -n +$((from + 1)) "$f" | grep -ac -- "$2" || true
}
kam4_lines() { local f=${KAM4_LOG[$1]:-$(lb_log "$1")}; [ -f "$f" ] && wc -l <"$f" || echo 0; }

# calls4 LABEL: 4 sequential PBX calls through tlstrunk; echoes the INVITE
# counts of Kamailio instances 1, 2 and 3 ("lb01 lb02 lb03", by address
# 127.0.0.2 .4 .5) during them.
calls4() {
	local label=$1 n rc=0 out=''
	local -a mark=()
	for n in 1 2 3; do mark[n]=$(kam4_lines "$n"); done
	sipp4_run "$label" pbx_uac_talk.xml 30 -i "$PBX_IP" -p 5070 -s +13175550100 \
		-d 100 -m 4 -l 1 "$PBX_IP:$SBC_PBX_PORT" || rc=$?
	[ "$rc" = 0 ] || fail "$label: 4 sequential calls did not all complete (sipp exit $rc, successful/failed $(sipp_counts "$label"))"
	for n in 1 2 3; do out+="$(kam4_count "$n" 'CLOUD-RX method=INVITE ' "${mark[$n]}") "; done
	echo "${out% }"
}

# --- tlstrunk -----------------------------------------------------------------------

# ini_set FILE SECTION KEY VALUE: set KEY in [SECTION]: replaced where it
# is, else added at the end of the section (the section is made if missing).
ini_set() {
	local file=$1 sec=$2 key=$3 val=$4
	awk -v sec="$sec" -v key="$key" -v val="$val" '
		/^\[/ {
			if (insec && !done) { print key " = " val; done = 1 }
			insec = ($0 == "[" sec "]")
			print; next
		}
		insec && $0 ~ ("^[ \t]*" key "[ \t]*=") {
			if (!done) { print key " = " val; done = 1 }
			next
		}
		{ print }
		END {
			if (insec && !done) { print key " = " val; done = 1 }
			if (!done) { print "[" sec "]"; print key " = " val }
		}' "$file" >"$file.new"
	mv "$file.new" "$file"
}

# write_tlstrunk_config4 FILE "N ...": the standard test configuration
# (tests/lib.sh) with [cloud] hosts = lbN,... and their resolve pairs.
write_tlstrunk_config4() {
	local file=$1 n hosts='' res=''
	write_tlstrunk_config "$file"
	for n in $2; do
		hosts+=${hosts:+,}$(lb_name "$n")
		res+=${res:+,}$(lb_name "$n")=$(lb_ip "$n")
	done
	ini_set "$file" cloud hosts "$hosts"
	ini_set "$file" cloud resolve "$res"
}

# wait_tls_up N [SECONDS]: tlstrunk has a verified TLS connection to lbN.
wait_tls_up() {
	wait_grep "$TLSTRUNK_LOG" "tls conn #[0-9]+ to $(lb_ip "$1" | sed 's/\./\\./g'):$CLOUD_TLS_PORT up" "${2:-10}"
}

# log_epoch LINE: the epoch (seconds.ms) of a tlstrunk log line (UTC stamp).
log_epoch() { date -u -d "$(cut -c1-23 <<<"$1" | tr T ' ')" +%s.%3N; }

# reap_tlstrunk SECONDS: wait for tlstrunk to exit by itself; sets
# TLSTRUNK_RC (exit status, or "running" when it did not exit in time) and
# TLSTRUNK_EXIT_T (epoch of the moment we saw it gone).
reap_tlstrunk() {
	local secs=$1 i pid=$TLSTRUNK_PID
	TLSTRUNK_RC=running
	for i in $(seq 1 $((secs * 20))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && return 0
	TLSTRUNK_EXIT_T=$(now)
	TLSTRUNK_RC=0
	wait "$pid" || TLSTRUNK_RC=$?
	TLSTRUNK_PID=
}

# --- sipp ---------------------------------------------------------------------------

# sipp4_args NAME: like sipp_common but without the global timeout (the
# caller bounds the run with timeout(1) instead) and with -nd: a failed
# call is just failed, sipp sends no BYE/CANCEL of its own.
sipp4_args() {
	echo -nostdin -nd -trace_msg -message_file "$WORK/sipp-$1.msg.log" \
		-trace_err -error_file "$WORK/sipp-$1.err.log" -max_socket 64
}

# uas4_start NAME SCENARIO IP PORT ARGS...: a sipp server that runs until the
# test ends (no -m needed, no global timeout). Sets SIPP_PID.
uas4_start() {
	local name=$1 scen=$2 ip=$3 port=$4; shift 4
	require_free_port udp "$ip" "$port"
	# shellcheck disable=SC2046
	spawn "$WORK/sipp-$name.log" sipp -sf "$LIB_DIR/sipp/$scen" $(sipp4_args "$name") \
		-i "$ip" -p "$port" "$@"
	SIPP_PID=$SPAWNED_PID
	wait_port udp "$ip" "$port" 5 "$SIPP_PID" || fail "sipp $name did not bind $ip:$port"
}

# sipp4_bg NAME SCENARIO SECONDS ARGS...: a sipp client in the background,
# killed after SECONDS. Sets SIPP_PID (sipp_wait gives its status).
sipp4_bg() {
	local name=$1 scen=$2 secs=$3; shift 3
	# shellcheck disable=SC2046
	spawn "$WORK/sipp-$name.log" timeout -k 3 "$secs" sipp -sf "$LIB_DIR/sipp/$scen" \
		$(sipp4_args "$name") "$@"
	SIPP_PID=$SPAWNED_PID
}

# sipp4_run NAME SCENARIO SECONDS ARGS...: the same in the foreground;
# returns sipp's exit status (124 on timeout).
sipp4_run() {
	local name=$1 scen=$2 secs=$3 rc=0; shift 3
	# shellcheck disable=SC2046
	timeout -k 3 "$secs" sipp -sf "$LIB_DIR/sipp/$scen" $(sipp4_args "$name") "$@" \
		</dev/null >"$WORK/sipp-$name.log" 2>&1 || rc=$?
	[ "$rc" = 0 ] || log "sipp $name ($scen) exited with status $rc"
	return "$rc"
}

# sipp_counts NAME: "SUCCESSFUL FAILED" cumulative calls from sipp's final
# statistics screen ("? ?" when it printed none).
sipp_counts() {
	local f=$WORK/sipp-$1.log s fl
	s=$(grep -a 'Successful call' "$f" 2>/dev/null | tail -1 | awk -F'|' '{gsub(/ /,"",$3); print $3}')
	fl=$(grep -a 'Failed call' "$f" 2>/dev/null | tail -1 | awk -F'|' '{gsub(/ /,"",$3); print $3}')
	echo "${s:-?} ${fl:-?}"
}

# --- HTTP (admin listener) ------------------------------------------------------------

# http_get URL PREFIX: GET with a 3 s timeout; prints the status code
# (000 when nothing answered); body in PREFIX.body, Content-Type in PREFIX.ctype.
http_get() {
	"$PY" - "$1" "$2" <<'EOF'
import sys, urllib.request, urllib.error
url, prefix = sys.argv[1], sys.argv[2]
status, body, ctype = 0, b"", ""
try:
    with urllib.request.urlopen(url, timeout=3) as r:
        status, body, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
except urllib.error.HTTPError as e:
    status, body, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
except Exception as e:
    body = repr(e).encode()
open(prefix + ".body", "wb").write(body)
open(prefix + ".ctype", "w").write(ctype or "")
print("%03d" % status)
EOF
}

# --- TLS --------------------------------------------------------------------------------

# served_serial: the serial of the certificate tlstrunk's TLS server presents
# on a new handshake, the chain verified against the test root for its
# name; empty when the handshake or verification failed.
served_serial() {
	timeout 5 openssl s_client -connect "$SBC_TLS_IP:$SBC_TLS_PORT" -servername "$SBC_NAME" \
		-CAfile "$PKI/ca.pem" -verify_return_error -verify_hostname "$SBC_NAME" -showcerts \
		</dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//' || true
}

# tlstrunk_log_count REGEX T1 T2: lines of the tlstrunk log matching REGEX
# (Python syntax) stamped within [T1, T2] (epoch seconds).
tlstrunk_log_count() {
	"$PY" - "$TLSTRUNK_LOG" "$1" "$2" "$3" <<'PYEOF'
import calendar, re, sys, time
path, rx, t1, t2 = sys.argv[1], re.compile(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
n = 0
for line in open(path, encoding="utf-8", errors="replace"):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z", line)
    if not m or not rx.search(line):
        continue
    t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + int(m.group(2)) / 1000
    if t1 <= t <= t2:
        n += 1
print(n)
PYEOF
}
