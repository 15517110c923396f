#!/usr/bin/env bash
# 80_malformed.sh - hostile input must neither stop tlstrunk nor leak to the
# cloud. From the allowed PBX source 127.0.0.1 to the PBX UDP port:
#   garbage    2 KiB that is not SIP                       -> no answer
#   no-callid  an INVITE without Call-ID                   -> not forwarded
#   cseq       a well-framed INVITE whose CSeq says BYE    -> 400
#   branch     an OPTIONS for tlstrunk whose Via has no branch (an RFC 2543
#              hop: valid, RFC 3261 17.2.3)                 -> 200, not 400
#   cl         an INVITE with Content-Length 4294967296000 -> not forwarded
#   big        a 70 KiB datagram (IPv4 UDP cannot carry it: the kernel
#              refuses it with EMSGSIZE, so the largest possible one,
#              65507 bytes, is sent instead: once as garbage, once as an
#              OPTIONS padded with a huge header)
# and to the TLS port (127.0.0.1:15061):
#   tls-garbage  plaintext garbage instead of a ClientHello -> closed
#   tls-hdr100k  after a verified handshake, a 100 KiB header that never
#                ends                                       -> closed at once
#   tls-cl       a request with an absurd Content-Length    -> closed or 400
#   tls-cseq     a well-framed invalid request              -> 400
# tlstrunk must be alive after every step (kill -0), the TLS listener must
# still serve a valid OPTIONS, a normal PBX call afterwards must complete,
# and that call must be the only thing the cloud (Kamailio) ever received.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# udp_probe FILE SECS: send FILE as one datagram from 127.0.0.1 to tlstrunk's
# PBX port, wait up to SECS for an answer (and briefly for more). Prints "SENT n" or "SENDERR
# reason", then "REPLY n" + the datagram for each answer. perl-base only.
udp_probe() {
	perl -MIO::Socket::INET -MIO::Select -MSocket -e '
		my ($dst, $port, $file, $secs) = @ARGV;
		open(my $f, "<:raw", $file) or die "$file: $!";
		my $data = do { local $/; <$f> };
		my $s = IO::Socket::INET->new(LocalAddr => $dst, Proto => "udp") or die "socket: $!";
		my $n = send($s, $data, 0, sockaddr_in($port, inet_aton($dst)));
		if (!defined $n) { print "SENDERR $!\n"; exit 0 }
		print "SENT $n\n";
		# SECS for the first answer, then 0.3 s for any further ones.
		my ($sel, $wait) = (IO::Select->new($s), $secs);
		while ($sel->can_read($wait)) {
			my $buf; recv($s, $buf, 70000, 0);
			print "REPLY ", length($buf), "\n", $buf, "\n";
			$wait = 0.3;
		}' "$PBX_IP" "$SBC_PBX_PORT" "$1" "$2"
}

# tcp_probe FILE SECS: plain TCP to the TLS port; send FILE, then read until
# the peer closes ("EOF n" / "RESET n") or SECS pass ("OPEN n").
tcp_probe() {
	perl -MIO::Socket::INET -MIO::Select -e '
		my ($dst, $port, $file, $secs) = @ARGV;
		$SIG{PIPE} = "IGNORE";
		my $s = IO::Socket::INET->new(PeerAddr => $dst, PeerPort => $port, Proto => "tcp")
		    or do { print "CONNECT-FAILED $!\n"; exit 0 };
		open(my $f, "<:raw", $file) or die "$file: $!";
		my $data = do { local $/; <$f> };
		syswrite($s, $data);
		my $sel = IO::Select->new($s);
		my ($got, $end) = (0, time + $secs);
		while (1) {
			my $left = $end - time;
			if ($left <= 0 || !$sel->can_read($left)) { print "OPEN $got\n"; last }
			my $n = sysread($s, my $buf, 65536);
			if (!defined $n) { print "RESET $got\n"; last }
			if ($n == 0) { print "EOF $got\n"; last }
			$got += $n;
		}' "$SBC_TLS_IP" "$SBC_TLS_PORT" "$1" "$2"
}

# tls_probe NAME FILE SECS: a verified TLS 1.2 session (as the cloud would
# open), send FILE and keep the session open for up to SECS. Answers go to
# $WORK/NAME.out; TLS_RC is s_client's exit status: 124 means tlstrunk kept
# the connection open the whole time, anything else that it ended sooner.
tls_probe() {
	local name=$1 file=$2 secs=$3 feeder fifo
	fifo=$WORK/$name.fifo
	TLS_RC=0
	mkfifo "$fifo"
	# The feeder: FILE, then silence while s_client keeps the session open.
	{ cat "$file"; exec sleep $((secs + 1)); } >"$fifo" &
	feeder=$!
	timeout "$secs" openssl s_client -connect "$SBC_TLS_IP:$SBC_TLS_PORT" -servername "$SBC_NAME" \
		-CAfile "$PKI/ca.pem" -verify_return_error -tls1_2 -quiet \
		<"$fifo" >"$WORK/$name.out" 2>"$WORK/$name.err" || TLS_RC=$?
	kill "$feeder" 2>/dev/null || true
	wait "$feeder" 2>/dev/null || true
	rm -f "$fifo"
	grep -q '^verify return:1' "$WORK/$name.err" ||
		fail "$name: no verified TLS session with tlstrunk ($(tail -2 "$WORK/$name.err" | tr '\n' ' '))"
}

# first_reply PROBE-OUTPUT: the start line of the first answer, or nothing.
first_reply() { { grep -A1 '^REPLY' <<<"$1" || true; } | sed -n 2p | tr -d '\r'; }

alive() {
	kill -0 "$TLSTRUNK_PID" 2>/dev/null || fail "tlstrunk died after: $1"
}

# req FILE CALLID CSEQ VIA-PARAMS CONTENT-LENGTH [BODY]: an INVITE from the
# PBX, CRLF line ends. CALLID "-" leaves the Call-ID out.
req() {
	local file=$1 cid=$2 cseq=$3 vparams=$4 cl=$5 body=${6:-}
	{
		printf '%s\r\n' \
			"INVITE sip:+13175550100@$PBX_IP:$SBC_PBX_PORT SIP/2.0" \
			"Via: SIP/2.0/UDP $PBX_IP:5999$vparams" \
			"From: <sip:1000@$PBX_IP>;tag=hostile-$$" \
			"To: <sip:+13175550100@$PBX_IP:$SBC_PBX_PORT>"
		[ "$cid" = - ] || printf 'Call-ID: %s\r\n' "$cid"
		printf '%s\r\n' \
			"CSeq: $cseq" \
			"Contact: <sip:1000@$PBX_IP:5999>" \
			"Max-Forwards: 70" \
			"Content-Type: application/sdp" \
			"Content-Length: $cl" \
			""
		printf '%s' "$body"
	} >"$file"
}

RESULTS=()
test_init
start_kamailio
start_tlstrunk
D=$WORK/in
mkdir -p "$D"

# --- PBX UDP ------------------------------------------------------------------------
# garbage: deterministic (the same every run), not a SIP start line.
{ for i in $(seq 1 64); do printf 'garbage \x00\xff\x7f\x01 %02d ~~~~~~~~~~~~~~~\r\n' "$i"; done; } >"$D/garbage"
out=$(udp_probe "$D/garbage" 1)
alive "a garbage datagram"
RESULTS+=("garbage: $(grep -c '^REPLY' <<<"$out" || true) answers")

req "$D/nocid" - "1 INVITE" ";branch=z9hG4bK-nocid-$$" 0
out=$(udp_probe "$D/nocid" 1)
alive "an INVITE without Call-ID"
if grep -q '^REPLY' <<<"$out"; then
	st=$(first_reply "$out")
	[[ $st == "SIP/2.0 400 "* ]] || fail "INVITE without Call-ID answered '$st' (only a 400 would do)"
	RESULTS+=("no Call-ID: $st")
else
	RESULTS+=("no Call-ID: dropped")
fi

cid_cseq="hostile-cseq-$$@$PBX_IP"
req "$D/cseq" "$cid_cseq" "1 BYE" ";branch=z9hG4bK-cseq-$$" 0
out=$(udp_probe "$D/cseq" 1)
alive "an INVITE whose CSeq method is BYE"
st=$(first_reply "$out")
[[ $st == "SIP/2.0 400 "* ]] || fail "well-framed INVITE with 'CSeq: 1 BYE': expected 400, got '${st:-no answer}'"
grep -q "^Call-ID: $cid_cseq" <<<"$out" || fail "the 400 for the CSeq mismatch does not carry its Call-ID"
RESULTS+=("CSeq mismatch: ${st#SIP/2.0 }")

cid_branch="hostile-branch-$$@$PBX_IP"
req "$D/branch" "$cid_branch" "1 OPTIONS" "" 0
sed -i "1s|.*|OPTIONS sip:$PBX_IP:$SBC_PBX_PORT SIP/2.0\r|" "$D/branch"
out=$(udp_probe "$D/branch" 1)
alive "an OPTIONS whose Via has no branch"
st=$(first_reply "$out")
[[ $st == "SIP/2.0 200 "* ]] || fail "OPTIONS with a branchless Via (RFC 2543 hop): expected 200, got '${st:-no answer}'"
RESULTS+=("no branch: ${st#SIP/2.0 }")

cid_cl="hostile-cl-$$@$PBX_IP"
req "$D/cl" "$cid_cl" "1 INVITE" ";branch=z9hG4bK-cl-$$" 4294967296000 $'v=0\r\n'
out=$(udp_probe "$D/cl" 1)
alive "an INVITE with Content-Length 4294967296000"
if grep -q '^REPLY' <<<"$out"; then
	st=$(first_reply "$out")
	[[ $st == "SIP/2.0 400 "* ]] || fail "INVITE with an absurd Content-Length answered '$st' (only a 400 would do)"
	RESULTS+=("absurd Content-Length: ${st#SIP/2.0 }")
else
	# RFC 3261 18.3 says SHOULD answer 400; dropping it is tolerated here.
	RESULTS+=("absurd Content-Length: dropped, no 400")
fi

head -c 71680 /dev/zero | tr '\0' 'x' >"$D/big70k"
out=$(udp_probe "$D/big70k" 1)
alive "a 70 KiB datagram"
big=$(head -1 <<<"$out")
if [[ $big == SENDERR* ]]; then
	# What IPv4 can carry at most: 65535 - 20 (IP) - 8 (UDP).
	head -c 65507 /dev/zero | tr '\0' 'x' >"$D/big-garbage"
	out=$(udp_probe "$D/big-garbage" 1)
	alive "a 65507-byte garbage datagram"
	grep -q '^SENT 65507' <<<"$out" || fail "could not send a 65507-byte datagram: $(head -1 <<<"$out")"
	big="70 KiB refused by the kernel (${big#SENDERR }), 65507 bytes sent"
fi
# The largest datagram once more, as a request tlstrunk answers itself.
{
	printf '%s\r\n' \
		"OPTIONS sip:$PBX_IP:$SBC_PBX_PORT SIP/2.0" \
		"Via: SIP/2.0/UDP $PBX_IP:5999;branch=z9hG4bK-big-$$" \
		"From: <sip:1000@$PBX_IP>;tag=big-$$" \
		"To: <sip:$PBX_IP:$SBC_PBX_PORT>" \
		"Call-ID: hostile-big-$$@$PBX_IP" \
		"CSeq: 1 OPTIONS" \
		"Max-Forwards: 70" \
		"Content-Length: 0"
	printf 'X-Pad: '
} >"$D/big-options"
pad=$((65507 - $(stat -c %s "$D/big-options") - 4))
{ head -c "$pad" /dev/zero | tr '\0' 'p'; printf '\r\n\r\n'; } >>"$D/big-options"
[ "$(stat -c %s "$D/big-options")" = 65507 ] || fail "test bug: big OPTIONS is $(stat -c %s "$D/big-options") bytes"
out=$(udp_probe "$D/big-options" 1)
alive "a 65507-byte OPTIONS"
st=$(first_reply "$out")
RESULTS+=("big datagram: $big; 65507-byte OPTIONS: ${st:-no answer}")

# --- TLS port ---------------------------------------------------------------------------
{ for i in $(seq 1 64); do printf 'this is not TLS \x00\xff %02d\r\n' "$i"; done; } >"$D/tls-garbage"
probe=$(tcp_probe "$D/tls-garbage" 5)
alive "plaintext garbage on the TLS port"
case $probe in
EOF* | RESET*) ;;
*) fail "plaintext garbage on the TLS port: connection not closed within 5 s ($probe)" ;;
esac
RESULTS+=("TLS garbage: closed ($probe)")

{
	printf '%s\r\n' \
		"INVITE sip:+13175550100@$SBC_NAME:$SBC_TLS_PORT;transport=tls SIP/2.0" \
		"Via: SIP/2.0/TLS $CLOUD_IP:$CLOUD_TLS_PORT;branch=z9hG4bK-hdr-$$"
	printf 'X-Pad: '
	head -c 102400 /dev/zero | tr '\0' 'h'
} >"$D/tls-hdr100k"
tls_probe tls-hdr100k "$D/tls-hdr100k" 6
alive "a 100 KiB unterminated header over TLS"
[ "$TLS_RC" != 124 ] || fail "100 KiB header without end over TLS: tlstrunk kept the connection open for 6 s"
RESULTS+=("TLS 100 KiB header: closed")

{
	printf '%s\r\n' \
		"INVITE sip:+13175550100@$SBC_NAME:$SBC_TLS_PORT;transport=tls SIP/2.0" \
		"Via: SIP/2.0/TLS $CLOUD_IP:$CLOUD_TLS_PORT;branch=z9hG4bK-tcl-$$" \
		"From: <sip:+13175550123@$CLOUD_NAME>;tag=tcl-$$" \
		"To: <sip:+13175550100@$SBC_NAME>" \
		"Call-ID: hostile-tls-cl-$$@$CLOUD_NAME" \
		"CSeq: 1 INVITE" \
		"Max-Forwards: 70" \
		"Content-Type: application/sdp" \
		"Content-Length: 4294967296000" \
		"" "v=0"
} >"$D/tls-cl"
tls_probe tls-cl "$D/tls-cl" 4
alive "an absurd Content-Length over TLS"
if grep -q '^SIP/2.0 ' "$WORK/tls-cl.out"; then
	st=$(head -1 "$WORK/tls-cl.out" | tr -d '\r')
	[[ $st == "SIP/2.0 400 "* || $st == "SIP/2.0 513 "* ]] || fail "absurd Content-Length over TLS answered '$st'"
	RESULTS+=("TLS absurd Content-Length: ${st#SIP/2.0 }")
else
	[ "$TLS_RC" != 124 ] || fail "absurd Content-Length over TLS: neither answered nor closed within 4 s"
	RESULTS+=("TLS absurd Content-Length: closed")
fi

{
	printf '%s\r\n' \
		"INVITE sip:+13175550100@$SBC_NAME:$SBC_TLS_PORT;transport=tls SIP/2.0" \
		"Via: SIP/2.0/TLS $CLOUD_IP:$CLOUD_TLS_PORT;branch=z9hG4bK-tcs-$$" \
		"From: <sip:+13175550123@$CLOUD_NAME>;tag=tcs-$$" \
		"To: <sip:+13175550100@$SBC_NAME>" \
		"Call-ID: hostile-tls-cseq-$$@$CLOUD_NAME" \
		"CSeq: 7 BYE" \
		"Max-Forwards: 70" \
		"Content-Length: 0" \
		""
} >"$D/tls-cseq"
tls_probe tls-cseq "$D/tls-cseq" 2
alive "a well-framed invalid request over TLS"
st=$(head -1 "$WORK/tls-cseq.out" | tr -d '\r')
[[ $st == "SIP/2.0 400 "* ]] || fail "well-framed INVITE with 'CSeq: 7 BYE' over TLS: expected 400, got '${st:-nothing}'"
RESULTS+=("TLS CSeq mismatch: ${st#SIP/2.0 }")

# --- still serving -------------------------------------------------------------------------
printf '%s\r\n' \
	"OPTIONS sip:$SBC_NAME:$SBC_TLS_PORT;transport=tls SIP/2.0" \
	"Via: SIP/2.0/TLS $CLOUD_IP:$CLOUD_TLS_PORT;branch=z9hG4bK-after-$$" \
	"From: <sip:keepalive@$CLOUD_NAME>;tag=after-$$" \
	"To: <sip:$SBC_NAME>" \
	"Call-ID: after-$$@$CLOUD_NAME" \
	"CSeq: 1 OPTIONS" \
	"Max-Forwards: 70" \
	"Content-Length: 0" \
	"" >"$D/tls-options"
tls_probe tls-options "$D/tls-options" 2
st=$(head -1 "$WORK/tls-options.out" | tr -d '\r')
[[ $st == "SIP/2.0 200 "* ]] || fail "after the hostile input, a valid OPTIONS over TLS got '${st:-nothing}'"

sipp_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m 1
UAS_PID=$SIPP_PID
rc=0
sipp_run pbx-uac pbx_uac.xml -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 "$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "the normal call after the hostile input failed (sipp exit $rc)"
rc=0
sipp_wait "$UAS_PID" || rc=$?
[ "$rc" = 0 ] || fail "cloud sipp UAS failed (exit $rc)"
alive "the normal call"

ctl=$({ grep -m1 -Ei '^(Call-ID|i):' "$WORK/sipp-pbx-uac.msg.log" || true; } | sed -E 's/^[^:]*:[[:space:]]*//' | tr -d '\r')
# tlstrunk's own OPTIONS pings (health checks) are expected; nothing else.
leaked=$(cloud_rx | grep -vF "callid=$ctl " | grep -v ' method=OPTIONS .*callid=tlstrunk-ping-' || true)
[ -z "$leaked" ] || fail "the cloud received something besides the normal call: $(head -2 <<<"$leaked" | sed -E 's/ ruri=.* callid=/ ... callid=/' | cut -c1-200)"
[ "$(cloud_rx | grep -c ' method=INVITE ' || true)" = 1 ] || fail "the cloud did not see exactly the normal call's INVITE"

pass "alive throughout, normal call completed, nothing else reached the cloud; $(IFS=';'; echo "${RESULTS[*]}")"
