#!/usr/bin/env bash
# 89_container.sh - the Dockerfile, built and run for real (issue 18).
#@ once (the image is built from the sources, not from TLSTRUNK_BIN)
#@ timeout: 600
#
# Engine: Debian's docker.io (apt-get installed when dockerd is missing),
# a private dockerd (vfs storage, no bridge, no iptables, own socket; data
# root kept in /var/tmp/tlstrunk-docker: tests/container/lib.sh); the base
# images debian:12 and debian:12-slim made from tests/rootfs.sh's
# debootstrap tree (no registry here); `docker build --network host` of the
# repository (the build stage apt-gets from Debian's mirror).
#
# Asserts:
# image   it builds; it is at most SIZE_MAX_MB = 100 MB (10^6 bytes, as
#         `docker images` counts; 92.6 MB when written, with a 74.9 MB
#         debian:12-slim); its config runs as USER 10001:10001 with the
#         HEALTHCHECK tlstrunk-healthcheck and STOPSIGNAL SIGTERM.
# config  `tlstrunk -t` inside the image passes on the test configuration
#         and PKI mounted read-only (the key is readable by uid 10001 only
#         through its group, as a site would do it).
# run     `docker run --network host --stop-timeout 45` with the two
#         read-only mounts of the Dockerfile's header: tlstrunk listens;
#         the process (PID 1 inside) runs as uid/gid 10001 (real, effective,
#         saved, fs) with CapEff = CapPrm = 0 (/proc/PID/status), the mounts
#         are read-only; the HEALTHCHECK (interval shortened to 1 s by
#         docker run) reports "healthy" in docker inspect.
# call    as 90_media_srtp.sh, through the container: baresip PBX (UDP,
#         plain RTP, 440 Hz) -> tlstrunk -> baresip cloud (TLS, SRTP
#         mandatory, 1000 Hz): each side recorded the other's tone, the
#         cloud was offered RTP/SAVP with our crypto lines and the PBX was
#         answered RTP/AVP without, the capture of the cloud leg is SRTP
#         only, the cloud decrypted every packet, the call summary counts
#         media both ways.
# stop    `docker stop` during the call: tlstrunk says it drains, the
#         container keeps running and the health check inside says 503;
#         when the PBX hangs up the container exits with status 0 (the
#         drain's "no call left" line), well before the stop timeout.
#
# Cost (2 cores, measured): fresh machine about 200 s (apt-get install
# docker.io 13 s, rootfs + base images 40-80 s, docker build 77-87 s, the
# run 17 s); with the cache (/var/tmp/tlstrunk-docker and the rootfs kept)
# and unchanged sources 18 s; the data root holds about 4 GB (vfs keeps
# every layer whole; pruned to 6 GB of build cache after each build).
# tests/run.sh gives a test 240 s: enough, not lavish, on a fresh machine.
#
# Without network (e.g. unshare -n) the build stage cannot reach the
# mirror: run tests/container/build.sh where it can first, then the build
# is a cache hit; the test says so when that is the cause.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/media/media_lib.sh
. "$LIB_DIR/media/media_lib.sh"
# shellcheck source=tests/container/lib.sh
. "$LIB_DIR/container/lib.sh"

SIZE_MAX_MB=100
ADMIN_PORT=19097
CTR_NAME=tlstrunk-it-$$
# What the Dockerfile says: USER 10001:10001.
CTR_UID=10001

test_init
media_require
# Our engine is stopped on every way out, before lib.sh's own cleanup.
# shellcheck disable=SC2317  # run by the EXIT trap
ctr_exit() {
	local rc=$?
	ctr_stop >/dev/null 2>&1 || true
	(exit "$rc")
	lib_on_exit
}
trap ctr_exit EXIT
T0=$SECONDS

# --- the image ------------------------------------------------------------------
ctr_install
ctr_start
ctr_base_images
ctr_build "$REPO_ROOT"
T_BUILD=$((SECONDS - T0))

MB=$(ctr_mb "$CTR_IMAGE")
[ "$MB" -le "$SIZE_MAX_MB" ] ||
	fail "the image is $MB MB, over the $SIZE_MAX_MB MB ceiling: $(docker history --format '{{.Size}} {{.CreatedBy}}' "$CTR_IMAGE" | grep -v '^0B' | cut -c1-100 | tr '\n' '|')"
user=$(docker image inspect -f '{{.Config.User}}' "$CTR_IMAGE")
[ "$user" = "$CTR_UID:$CTR_UID" ] || fail "the image's USER is '$user', want $CTR_UID:$CTR_UID"
hc=$(docker image inspect -f '{{json .Config.Healthcheck.Test}}' "$CTR_IMAGE")
[[ $hc == *'"/usr/local/bin/tlstrunk-healthcheck"'* ]] || fail "the image's HEALTHCHECK is $hc"
sig=$(docker image inspect -f '{{.Config.StopSignal}}' "$CTR_IMAGE")
[ "$sig" = SIGTERM ] || fail "the image's STOPSIGNAL is '$sig'"
log "image $CTR_IMAGE: $MB MB, USER $user, HEALTHCHECK $hc"

# --- configuration and certificates, mounted read-only ---------------------------------
CFG_DIR=$WORK/etc
mkdir -p "$CFG_DIR/tls"
chmod 755 "$CFG_DIR" "$CFG_DIR/tls"
install -m 0644 "$PKI/ca.pem" "$PKI/sbc.pem" "$CFG_DIR/tls/"
# The key: readable by the image's group only, not by everyone.
install -m 0640 -g "$CTR_UID" "$PKI/sbc.key" "$CFG_DIR/tls/sbc.key"
write_media_tlstrunk_config "$CFG_DIR/tlstrunk.ini"
sed -i -e "s|^admin_listen =.*|admin_listen = 127.0.0.1:$ADMIN_PORT|" \
	-e "s|^ca_file = .*|ca_file = /etc/tlstrunk/tls/ca.pem|" \
	-e "s|^cert_file = .*|cert_file = /etc/tlstrunk/tls/sbc.pem|" \
	-e "s|^key_file = .*|key_file = /etc/tlstrunk/tls/sbc.key|" \
	-e '/^\[cloud\]/a options_interval = 1\noptions_interval_down = 1' "$CFG_DIR/tlstrunk.ini"
chmod 644 "$CFG_DIR/tlstrunk.ini"
MOUNTS=(-v "$CFG_DIR/tlstrunk.ini:/etc/tlstrunk/tlstrunk.ini:ro" -v "$CFG_DIR/tls:/etc/tlstrunk/tls:ro")

rc=0
docker run --rm --network host "${MOUNTS[@]}" "$CTR_IMAGE" -t -c /etc/tlstrunk/tlstrunk.ini \
	>"$WORK/tlstrunk-check.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "tlstrunk -t in the image (exit $rc): $(tail -n 3 "$WORK/tlstrunk-check.log" | tr '\n' ' ')"

# --- run ------------------------------------------------------------------------
require_free_port udp "$PBX_IP" "$SBC_PBX_PORT"
require_free_port tcp "$SBC_TLS_IP" "$SBC_TLS_PORT"
require_free_port tcp 127.0.0.1 "$ADMIN_PORT"
# The Dockerfile header's command, plus a health check every second (the
# image says 30 s) so that "healthy" comes within the test's time.
docker run -d --name "$CTR_NAME" --network host --stop-timeout 45 "${MOUNTS[@]}" \
	--health-interval 1s --health-start-period 30s "$CTR_IMAGE" >"$WORK/docker-run.log" 2>&1 ||
	fail "docker run: $(cat "$WORK/docker-run.log")"
TLSTRUNK_LOG=$WORK/tlstrunk.log
spawn "$TLSTRUNK_LOG" "$(command -v /usr/bin/docker || command -v docker)" -H "unix://$CTR_SOCK" logs -f "$CTR_NAME"

running() { [ "$(docker inspect -f '{{.State.Running}}' "$CTR_NAME" 2>/dev/null)" = true ]; }
for _ in $(seq 1 150); do
	port_listening udp "$PBX_IP" "$SBC_PBX_PORT" && port_listening tcp "$PBX_IP" "$SBC_PBX_PORT" &&
		port_listening tcp "$SBC_TLS_IP" "$SBC_TLS_PORT" && break
	running || fail "the container exited at start-up (status $(docker inspect -f '{{.State.ExitCode}}' "$CTR_NAME")): $(docker logs "$CTR_NAME" 2>&1 | tail -n 3 | tr '\n' ' ')"
	sleep 0.1
done
port_listening tcp "$SBC_TLS_IP" "$SBC_TLS_PORT" || fail "tlstrunk in the container is not listening after 15 s"

# The process: who it is and what it may do, from the host's /proc.
pid=$(docker inspect -f '{{.State.Pid}}' "$CTR_NAME")
st=/proc/$pid/status
[ "$(cat "/proc/$pid/comm")" = tlstrunk ] || fail "the container's process $pid is $(cat "/proc/$pid/comm"), not tlstrunk"
# Uid:/Gid: real, effective, saved, filesystem.
read -r _ u1 u2 u3 u4 < <(grep '^Uid:' "$st")
read -r _ g1 g2 g3 g4 < <(grep '^Gid:' "$st")
capeff=$(awk '/^CapEff:/ {print $2}' "$st")
capprm=$(awk '/^CapPrm:/ {print $2}' "$st")
capbnd=$(awk '/^CapBnd:/ {print $2}' "$st")
bad=()
for v in "$u1" "$u2" "$u3" "$u4" "$g1" "$g2" "$g3" "$g4"; do
	[ "$v" = "$CTR_UID" ] || { bad+=("runs as uid $u1/$u2/$u3/$u4 gid $g1/$g2/$g3/$g4, want $CTR_UID"); break; }
done
[ "$capeff" = 0000000000000000 ] || bad+=("has effective capabilities $capeff")
[ "$capprm" = 0000000000000000 ] || bad+=("has permitted capabilities $capprm")
[ ${#bad[@]} = 0 ] || fail "tlstrunk in the container (pid $pid) $(printf '%s; ' "${bad[@]}" | sed 's/; $//')"
nspid=$(awk '/^NSpid:/ {print $NF}' "$st")
[ "$nspid" = 1 ] || fail "tlstrunk is PID $nspid in the container, not 1 (docker stop's SIGTERM goes to PID 1)"
rw=$(docker inspect -f '{{range .Mounts}}{{.Destination}}={{.RW}} {{end}}' "$CTR_NAME")
[[ $rw == *"/etc/tlstrunk/tlstrunk.ini=false"* && $rw == *"/etc/tlstrunk/tls=false"* ]] ||
	fail "the mounts are not read-only: $rw"
log "process $pid: uid/gid $CTR_UID, CapEff $capeff CapPrm $capprm (CapBnd $capbnd), PID 1 inside; mounts $rw"

# --- the call ----------------------------------------------------------------------
dns_start
cloud_setup
pbx_setup "$BS_PBX_SIP_PORT"
capture_start media "$(media_bpf)"
bs_start cloud
bs_start pbx

# Healthy: the image's HEALTHCHECK got 200 from /healthz (a cloud proxy up).
health=
for _ in $(seq 1 300); do
	health=$(docker inspect -f '{{.State.Health.Status}}' "$CTR_NAME")
	[ "$health" = healthy ] && break
	running || fail "the container exited while waiting for healthy"
	sleep 0.1
done
[ "$health" = healthy ] ||
	fail "the container is '$health' after 30 s: $(docker inspect -f '{{range .State.Health.Log}}{{.ExitCode}} {{printf "%q" .Output}} {{end}}' "$CTR_NAME" | tail -c 400)"
T_HEALTHY=$((SECONDS - T0))
log "health: $health (last check: $(docker inspect -f '{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}{{end}}' "$CTR_NAME" | grep -a . | tail -n 1))"

bs_do pbx dial "sip:+13175550100@$PBX_IP:$SBC_PBX_PORT"
bs_established pbx
bs_established cloud
sleep "$MEDIA_CALL_SECS"

# docker stop with the call up: it drains.
docker stop -t 45 "$CTR_NAME" >"$WORK/docker-stop.log" 2>&1 &
STOP_PID=$!
T_STOP=$SECONDS
wait_grep "$TLSTRUNK_LOG" 'SIGTERM: draining 1 call' 10 ||
	fail "docker stop: tlstrunk did not start draining: $(tail -n 3 "$TLSTRUNK_LOG" | tr '\n' ' ')"
sleep 1
running || fail "docker stop: the container ended at once with a call up (no drain)"
rc=0
hc_out=$(docker exec "$CTR_NAME" /usr/local/bin/tlstrunk-healthcheck 2>&1) || rc=$?
if [ "$rc" != 1 ] || [[ $hc_out != *' 503 '* ]]; then
	fail "health check while draining: exit $rc, '$hc_out' (want 1 and 503)"
fi
bs_do pbx hangup
bs_terminated cloud
rc=0
for _ in $(seq 1 200); do kill -0 "$STOP_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$STOP_PID" 2>/dev/null && fail "docker stop still waiting 20 s after the call ended"
wait "$STOP_PID" || rc=$?
[ "$rc" = 0 ] || fail "docker stop: exit $rc: $(cat "$WORK/docker-stop.log")"
T_DRAIN=$((SECONDS - T_STOP))
code=$(docker inspect -f '{{.State.ExitCode}} {{.State.OOMKilled}}' "$CTR_NAME")
[ "$code" = "0 false" ] || fail "the container exited with status/OOM '$code' after docker stop, want 0"
wait_grep "$TLSTRUNK_LOG" 'drain: no call left, exiting' 5 ||
	fail "no 'drain: no call left' line: $(tail -n 3 "$TLSTRUNK_LOG" | tr '\n' ' ')"
log "docker stop: drained, exit 0, $T_DRAIN s after the SIGTERM"
sleep 0.5
capture_stop

# --- the media, as 90_media_srtp.sh checks it -----------------------------------------
media_offer_sdp_checked
media_heard_srtp_only "$MEDIA_CALL_SECS"
sum=$(grep -a 'call summary: pbx->cloud ' "$TLSTRUNK_LOG" | tail -1 || true)
re='status=200 end="BYE from [a-z]+" media pbx in/out=([0-9]+)/([0-9]+) cloud in/out=([0-9]+)/([0-9]+)'
[[ $sum =~ $re ]] || fail "no call summary line with status 200 and media counts: ${sum:-none}"
for v in "${BASH_REMATCH[@]:1:4}"; do
	[ "$v" -ge 100 ] || fail "call summary counts too few media packets: ${sum#*call summary: }"
done
suite=$(grep -aom1 'SRTP is Enabled (cryptosuite=[^)]*)' "${BS_LOG[cloud]}" | sed 's/.*=//; s/)//' || true)
media_cleanup

pass "image $MB MB (<= $SIZE_MAX_MB), built/cached in $T_BUILD s; uid $CTR_UID, no capabilities; healthy at $T_HEALTHY s; call through the container: tones both ways, cloud leg SRTP only ($suite); docker stop drained and exited 0 ($T_DRAIN s); total $((SECONDS - T0)) s"
