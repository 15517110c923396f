#!/usr/bin/env bash
# tests/container/build.sh [CONTEXT] - build the tlstrunk image the way
# tests/integration/89_container.sh does (private dockerd on the cache data
# root, base images from tests/rootfs.sh, docker build --network host), and
# stop. The test then finds everything cached: run this first where the
# build stage can reach Debian's mirror when the test itself runs in a
# network namespace without it (unshare -n). Prints the image size.
# Environment: TLSTRUNK_DOCKER_CACHE (default /var/tmp/tlstrunk-docker),
# TLSTRUNK_ROOTFS (tests/rootfs.sh), KEEP_WORK=1 keeps the logs.
set -eEuo pipefail
TEST_NAME=container-build
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/container/lib.sh
. "$LIB_DIR/container/lib.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tlstrunk-ctr-build.XXXXXX")
trap 'ctr_stop; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
trap 'fail "interrupted"' INT TERM
t0=$SECONDS
ctr_install
ctr_start
ctr_base_images
ctr_build "${1:-$REPO_ROOT}"
size=$(docker image inspect -f '{{.Size}}' "$CTR_IMAGE")
echo "$CTR_IMAGE built in $((SECONDS - t0)) s (docker build $CTR_BUILD_SECS s): $((size / 1000000)) MB"
