#!/usr/bin/env bash
# 72_source_refused.sh - a PBX-side source outside [pbx] allow (127.0.0.9;
# allow stays 127.0.0.1/32) is refused:
#   UDP  its INVITE gets 403 Forbidden from tlstrunk, with no 100 Trying
#        first (sipp pbx_uac_403.xml from 127.0.0.9), and the cloud never
#        sees that Call-ID;
#   TCP  the connection is closed without a single byte of answer (a raw
#        client from 127.0.0.9 sends an INVITE and reads EOF/reset), and a
#        full sipp call over TCP from 127.0.0.9 fails; the cloud sees none
#        of their Call-IDs.
#   TLS  with [tls_server] allow = 127.0.0.2/32 (the cloud's network), a
#        client from 127.0.0.10 is closed before any handshake byte, twice,
#        with one warning line for both (once a minute per source); a
#        client from 127.0.0.2 completes its handshake.
# The cloud UAS is running throughout, so a call that got through would
# complete. A control call from the allowed 127.0.0.1 afterwards must
# complete and be the only INVITE the cloud (Kamailio) saw.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

BAD_IP=127.0.0.9

# callids_of MSGLOG: every Call-ID in a sipp message log.
callids_of() {
	{ grep -Ei '^(Call-ID|i):' "$1" 2>/dev/null || true; } | sed -E 's/^[^:]*:[[:space:]]*//' | tr -d '\r' | sort -u
}

# tcp_probe SRC DST PORT FILE SECS: connect from SRC, send FILE, read until
# the peer closes or SECS pass. Prints "EOF <n>", "RESET <n>" (n = bytes
# received before) or "OPEN <n>" (still open after SECS); bytes to stderr.
# perl-base (Essential on Debian) has everything needed.
tcp_probe() {
	perl -MIO::Socket::INET -MIO::Select -e '
		my ($src, $dst, $port, $file, $secs) = @ARGV;
		$SIG{PIPE} = "IGNORE";
		my $s = IO::Socket::INET->new(LocalAddr => $src, PeerAddr => $dst,
		    PeerPort => $port, Proto => "tcp") or do { print "CONNECT-FAILED $!\n"; exit 0 };
		open(my $f, "<", $file) or die "$file: $!";
		my $data = do { local $/; <$f> };
		syswrite($s, $data);
		my $sel = IO::Select->new($s);
		my ($got, $end) = ("", time + $secs);
		while (1) {
			my $left = $end - time;
			if ($left <= 0 || !$sel->can_read($left)) { print "OPEN ", length($got), "\n"; last }
			my $n = sysread($s, my $buf, 65536);
			if (!defined $n) { print "RESET ", length($got), "\n"; last }
			if ($n == 0) { print "EOF ", length($got), "\n"; last }
			$got .= $buf;
		}
		print STDERR $got;
	' "$@"
}

# tls_probe SRC: a TLS handshake with tlstrunk's 5061 from SRC. Prints
# "HANDSHAKE-OK <version>" or "FAILED <reason>".
tls_probe() {
	python3 - "$1" "$SBC_TLS_IP" "$SBC_TLS_PORT" "$PKI/ca.pem" "$SBC_NAME" <<'PY'
import socket, ssl, sys
src, dst, port, ca, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=ca)
s = socket.socket()
s.settimeout(5)
try:
    s.bind((src, 0))
    s.connect((dst, port))
    t = ctx.wrap_socket(s, server_hostname=name)
    print("HANDSHAKE-OK", t.version())
except Exception as e:
    print("FAILED", type(e).__name__, e)
PY
}

test_init
start_kamailio
cfg=$WORK/tlstrunk.ini
write_tlstrunk_config "$cfg"
printf '\n[tls_server]\nallow = 127.0.0.2/32\n' >>"$cfg"
start_tlstrunk "$cfg"
sipp_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m 1
UAS_PID=$SIPP_PID

# --- UDP: 403, nothing upstream --------------------------------------------------
rc=0
sipp_run udp-refused pbx_uac_403.xml -i "$BAD_IP" -p 5070 -s +13175550100 -m 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "UDP from $BAD_IP: the PBX sipp did not get a bare 403 for its INVITE (sipp exit $rc; see sipp-udp-refused.msg.log)"
udp_cid=$(callids_of "$WORK/sipp-udp-refused.msg.log")
r403=$(awk '/^SIP\/2.0 403/{f=1} f&&/^Server:/{print; exit}' "$WORK/sipp-udp-refused.msg.log" | tr -d '\r' || true)
grep -q 'tlstrunk' <<<"$r403" || fail "the 403 did not come from tlstrunk (Server header: '$r403')"

# --- TCP: closed, nothing upstream -----------------------------------------------------
raw_cid="raw-refused-$$@$BAD_IP"
printf '%s\r\n' \
	"INVITE sip:+13175550100@$PBX_IP:$SBC_PBX_PORT SIP/2.0" \
	"Via: SIP/2.0/TCP $BAD_IP:5071;branch=z9hG4bK-raw-$$;rport" \
	"From: <sip:1000@$BAD_IP>;tag=raw$$" \
	"To: <sip:+13175550100@$PBX_IP:$SBC_PBX_PORT>" \
	"Call-ID: $raw_cid" \
	"CSeq: 1 INVITE" \
	"Contact: <sip:1000@$BAD_IP:5071;transport=tcp>" \
	"Max-Forwards: 70" \
	"Content-Length: 0" \
	"" >"$WORK/raw-invite.txt"
probe=$(tcp_probe "$BAD_IP" "$PBX_IP" "$SBC_PBX_PORT" "$WORK/raw-invite.txt" 3 2>"$WORK/raw-tcp-reply.txt")
log "raw TCP from $BAD_IP: $probe"
case $probe in
"EOF 0" | "RESET 0") ;;
"CONNECT-FAILED"*) fail "TCP from $BAD_IP: could not connect at all ($probe); expected accept-and-close" ;;
*) fail "TCP from $BAD_IP: expected the connection closed with no answer, got '$probe': $(head -c 300 "$WORK/raw-tcp-reply.txt" | tr '\r\n' ' |')" ;;
esac

rc=0
SIPP_TIMEOUT=5 sipp_run tcp-refused pbx_uac.xml -t t1 -i "$BAD_IP" -p 5070 -s +13175550100 -m 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
rc_tcp=$rc
[ "$rc" != 0 ] || fail "TCP from $BAD_IP: the sipp call over TCP completed; the source should have been refused"
if grep -q '^TCP message received' "$WORK/sipp-tcp-refused.msg.log" 2>/dev/null; then
	fail "TCP from $BAD_IP: sipp received a SIP message over the refused connection"
fi
tcp_cid=$(callids_of "$WORK/sipp-tcp-refused.msg.log")

# --- TLS: [tls_server] allow ---------------------------------------------------------
# A source of its own: refusals are logged once a minute per source, and
# $BAD_IP has had its line already.
BAD_TLS=127.0.0.10
t1=$(tls_probe "$BAD_TLS"); t2=$(tls_probe "$BAD_TLS"); t3=$(tls_probe 127.0.0.2)
log "TLS from $BAD_TLS: $t1 / $t2; from 127.0.0.2: $t3"
case "$t1|$t2" in FAILED*"|"FAILED*) ;; *) fail "TLS from $BAD_TLS was not refused: $t1 / $t2" ;; esac
case $t3 in "HANDSHAKE-OK TLSv1.2") ;; *) fail "TLS from the allowed 127.0.0.2 failed: $t3" ;; esac
nwarn=$(grep -c "tls connection from $BAD_TLS:[0-9]* refused: source not in \[tls_server\] allow" "$TLSTRUNK_LOG" || true)
[ "$nwarn" = 1 ] || fail "expected one warning for the two refused TLS connections from $BAD_TLS, found $nwarn"

# --- control: the allowed source still gets through ----------------------------------
rc=0
sipp_run control pbx_uac.xml -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "control call from the allowed $PBX_IP failed (sipp exit $rc)"
rc=0
sipp_wait "$UAS_PID" || rc=$?
[ "$rc" = 0 ] || fail "cloud sipp UAS failed (exit $rc)"
ctl_cid=$(callids_of "$WORK/sipp-control.msg.log")

# --- what the cloud saw ------------------------------------------------------------------
for cid in $udp_cid $tcp_cid $raw_cid; do
	if cloud_rx | grep -qF "callid=$cid "; then
		fail "the cloud received a request for the refused Call-ID $cid: $(cloud_rx | grep -F "callid=$cid " | head -1)"
	fi
done
invites=$(cloud_rx | grep ' method=INVITE ' || true)
[ "$(grep -c . <<<"$invites" || true)" = 1 ] || fail "the cloud saw $(grep -c . <<<"$invites" || true) INVITEs, expected only the control call's"
[ "$(field "$invites" callid)" = "$ctl_cid" ] || fail "the cloud's only INVITE is for '$(field "$invites" callid)', not the control call $ctl_cid"

pass "from $BAD_IP: UDP INVITE got tlstrunk's 403, TCP closed unanswered ($probe), sipp TCP call failed (exit $rc_tcp), TLS closed before the handshake (one log line); cloud saw only the control call from $PBX_IP"
