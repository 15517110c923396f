# tlstrunk container image: built on Debian 12, run on Debian 12 slim with
# only the runtime libraries, as an unprivileged user (uid 10001, no
# capabilities).  93 MB, of which debian:12-slim is 75 MB and the runtime
# libraries 17 MB.  tests/integration/89_container.sh builds it, runs a call
# with audio through it, and stops it (tests/container/build.sh: the build
# alone, with the engine and base images the test uses).
#
#   DOCKER_BUILDKIT=1 docker build -t tlstrunk .
#   docker run -d --name tlstrunk --network host --stop-timeout 45 \
#       -v /etc/tlstrunk/tlstrunk.ini:/etc/tlstrunk/tlstrunk.ini:ro \
#       -v /etc/tlstrunk/tls:/etc/tlstrunk/tls:ro \
#       tlstrunk
#
# Mounts (read-only; nothing is baked in):
#   /etc/tlstrunk/tlstrunk.ini  the configuration (every key, commented:
#                               /usr/share/doc/tlstrunk/tlstrunk.ini.example)
#   /etc/tlstrunk/tls/          cert_file and key_file (the key readable by
#                               uid 10001).  Mount the directory, not the
#                               files: a renewal that renames new files into
#                               it is then seen inside (tlstrunk reloads on
#                               such a rename, or on `docker kill -s HUP`).
#   /var/log/tlstrunk/          only for [trace] tls_keylog / srtp_keylog
#
# Network: --network host is the practical choice: the media relay uses a
# UDP port range ([media] port_min..port_max, 20000-29999 by default) that
# -p would have to publish port by port; with -p, narrow the range and
# publish it whole, and set [media] public_address to the host's address.
#
# Health: HEALTHCHECK GETs /healthz from [general] admin_listen (read from
# TLSTRUNK_CONFIG, default /etc/tlstrunk/tlstrunk.ini; TLSTRUNK_ADMIN=HOST:PORT
# overrides).
# /healthz is 503 while no cloud proxy is up, so "unhealthy" also means
# "the cloud is unreachable", not only "tlstrunk is stuck".
#
# Stop: SIGTERM drains calls for up to [cloud] drain_timeout (30 s), so give
# `docker stop` more than its default 10 s (--stop-timeout 45 above).

FROM debian:12 AS build
# Debian 12's own versions, with its security updates: not pinned.  A C
# compiler and make only (tlstrunk is C; build-essential would add g++ and
# dpkg-dev to a stage whose every layer a vfs-backed engine copies whole).
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        gcc libc6-dev make cmake pkg-config \
        libssl-dev libuv1-dev libsofia-sip-ua-dev libsrtp2-dev libinih-dev \
        libhiredis-dev libpcre2-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY common common
COPY config config
COPY proxy proxy
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTLSTRUNK_TESTS=OFF \
    && cmake --build build -j"$(nproc)" \
    && strip build/tlstrunk \
    && build/tlstrunk --version

FROM debian:12-slim
# libc6 and libgcc-s1 come with the base image; bash (the health check)
# and coreutils too.  ca-certificates: the DigiCert roots toward the cloud.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates libssl3 libuv1 libsofia-sip-ua0 libsrtp2-1 libinih1 libhiredis0.14 libpcre2-8-0 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tlstrunk \
    && useradd --system --uid 10001 --gid tlstrunk --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin tlstrunk \
    && install -d -m 0755 /etc/tlstrunk /etc/tlstrunk/tls /usr/share/doc/tlstrunk \
    && install -d -m 0700 -o tlstrunk -g tlstrunk /var/log/tlstrunk
COPY --from=build /src/build/tlstrunk /usr/local/bin/tlstrunk
COPY deploy/docker/healthcheck.sh /usr/local/bin/tlstrunk-healthcheck
COPY deploy/docker/certwatch.sh /usr/local/bin/tlstrunk-certwatch
COPY config/tlstrunk.ini.example /usr/share/doc/tlstrunk/tlstrunk.ini.example
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
# SIP from the PBX (udp, tcp), SIP/TLS from the cloud, /healthz and
# /metrics (only when admin_listen is not loopback), the media relay.
EXPOSE 5060/udp 5060/tcp 5061/tcp 9090/tcp 20000-29999/udp
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/tlstrunk-healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/tlstrunk"]
CMD ["-c", "/etc/tlstrunk/tlstrunk.ini"]
