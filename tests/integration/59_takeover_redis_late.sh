#!/usr/bin/env bash
# 59_takeover_redis_late.sh - a node gains the virtual IP while Redis is
# away: it takes the other node's calls over when Redis comes back, not
# never (issue 15).
#
# In a network namespace of its own (the test re-runs itself under
# `unshare -n`): tlstrunk with [state] and everything on 10.99.0.100,
# which is not on the host yet (standby). A record of node-b (a live call:
# written now) waits in a redis-server whose socket is not where
# tlstrunk looks. The address is added (tlstrunk: active, takeover);
# Redis cannot be reached (an error line says the calls are taken over
# when it answers); the socket is moved into place; asserted: the call is
# restored ("restored" with its Call-ID), its record rewritten as this
# node's, its relay ports bound on the address.
set -eEuo pipefail
if [ -z "${T59_IN_NS:-}" ]; then
	exec env T59_IN_NS=1 unshare -n -- bash "$0" "$@"
fi
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

test_init
command -v redis-server >/dev/null || fail "redis-server is not installed (apt-get install redis-server)"
ip link set lo up
VIP=10.99.0.100
SOCK=$WORK/redis.sock
CALLID=takeover-59@pbx.example.com

cfg=$WORK/tlstrunk.ini
write_tlstrunk_config "$cfg"
sed -i -e "s|^listen = $PBX_IP:$SBC_PBX_PORT|listen = $VIP:$SBC_PBX_PORT|" \
	-e "s|^listen = $SBC_TLS_IP:$SBC_TLS_PORT|listen = $VIP:$SBC_TLS_PORT|" \
	-e "s|^advertised_address = .*|advertised_address = $VIP|" "$cfg"
cat >>"$cfg" <<EOF

[media]
pbx_address = $VIP
public_address = $VIP
port_min = 30000
port_max = 30999

[state]
redis = $SOCK
key_prefix = t59:
node = node-a
EOF

# A live call of node-b, stored where tlstrunk cannot see it yet.
spawn "$WORK/redis.log" redis-server --port 0 --unixsocket "$WORK/redis0.sock" \
	--save '' --appendonly no
for _ in $(seq 1 50); do
	redis-cli -s "$WORK/redis0.sock" ping >/dev/null 2>&1 && break
	sleep 0.1
done
sed -e "s/^node=.*/node=node-b/" -e "s/^written=.*/written=$(date +%s%3N)/" \
	-e "s/^callid=.*/callid=$CALLID/" -e "s/^pbx_port=.*/pbx_port=30010/" \
	-e "s/^cloud_port=.*/cloud_port=30012/" -e "s/^peer.cloud.ip=.*/peer.cloud.ip=127.0.0.9/" \
	"$LIB_DIR"/fuzz/corpus/callrec/full-* >"$WORK/record"
grep -q '^media=1' "$WORK/record" || fail "the seed record has no media"
redis-cli -s "$WORK/redis0.sock" set "t59:call:$CALLID" "$(cat "$WORK/record")"$'\n' >/dev/null

# tlstrunk: the address is not here, so it only listens (IP_FREEBIND).
TLSTRUNK_LOG=$WORK/tlstrunk.log
spawn "$TLSTRUNK_LOG" "$TLSTRUNK_BIN" -c "$cfg"
TLSTRUNK_PID=$SPAWNED_PID
wait_grep "$TLSTRUNK_LOG" "IS NOT ON THIS HOST: standby" 5 || fail "tlstrunk did not start as standby"
wait_port udp "$VIP" "$SBC_PBX_PORT" 5 "$TLSTRUNK_PID" || fail "tlstrunk does not listen on $VIP before holding it"

ip addr add "$VIP/32" dev lo
wait_grep "$TLSTRUNK_LOG" "is here: active" 5 || fail "tlstrunk did not notice the address arriving"
# Longer than tlstrunk's 3 s wait for Redis at start: a takeover must not
# give up like a start-up does.
wait_grep "$TLSTRUNK_LOG" "DID NOT ANSWER" 6 || fail "no error line saying Redis did not answer"
sleep 1
grep -q "restored" "$TLSTRUNK_LOG" && fail "a call restored with Redis unreachable?"

mv "$WORK/redis0.sock" "$SOCK"
wait_grep "$TLSTRUNK_LOG" "\\[$CALLID\\] state: call restored" 10 ||
	fail "the call was not taken over once Redis came back: $(grep -a 'state:' "$TLSTRUNK_LOG" | tail -3)"
for _ in $(seq 1 30); do
	redis-cli -s "$SOCK" get "t59:call:$CALLID" | grep -q '^node=node-a$' && break
	sleep 0.1
done
redis-cli -s "$SOCK" get "t59:call:$CALLID" | grep -q '^node=node-a$' ||
	fail "the record was not rewritten as node-a's"
ss -lnup | grep -q "$VIP:30010 " || fail "the relay port 30010 is not bound on $VIP"
grep -q "taken over when it does" "$TLSTRUNK_LOG" || fail "the error line did not say the calls would be taken over later"
stop_tlstrunk || fail "tlstrunk did not stop cleanly"
pass "takeover with Redis away: waited (error line), took the call over when Redis came back, record rewritten as node-a's, relay bound on $VIP"
