#!/usr/bin/env bash
# 47_media_timeout.sh - a call whose media never flows ([media] timeout = 2)
# is ended by tlstrunk on both legs: the PBX and the cloud's UAS each get
# a BYE they accept (in-dialog: right tags, Call-ID, route), the cloud's
# over TLS.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

test_init
start_kamailio
cfg=$WORK/tlstrunk.ini
write_tlstrunk_config "$cfg"
printf '\n[media]\ntimeout = 2\n' >>"$cfg"
start_tlstrunk "$cfg"
sipp_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m 1
UAS_PID=$SIPP_PID

rc=0
sipp_run pbx-uac pbx_uac_wait_bye.xml -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "PBX sipp UAC failed (exit $rc): no BYE from tlstrunk after the media timeout"
rc=0
sipp_wait "$UAS_PID" || rc=$?
[ "$rc" = 0 ] || fail "cloud sipp UAS failed (exit $rc): no acceptable BYE reached it"

bye=$(cloud_rx | grep ' method=BYE ' || true)
[ -n "$bye" ] || fail "the cloud saw no BYE"
[ "$(field "$bye" proto)" = tls ] || fail "the BYE reached the cloud over $(field "$bye" proto), expected tls"
grep -q 'media: no packets for 2 s' "$WORK/tlstrunk.log" || fail "tlstrunk did not log the media timeout"
# One summary line for the call: direction, proxy, status, how it ended.
grep -Eq 'call summary: pbx->cloud proxy=lb01\.voice\.use1\.pure\.cloud duration=[0-9]+ms status=200 end="media timeout" media pbx in/out=0/0 cloud in/out=0/0 srtp_failures=0' \
	"$WORK/tlstrunk.log" || fail "no call summary line with proxy, status 200 and end=\"media timeout\""
pass "no media for 2 s: tlstrunk ended the call with a BYE to the PBX and one to the cloud (over TLS), both answered 200"
