# Build on Debian 12, run on a slim Debian 12 with only the runtime libraries.
FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config libssl-dev libuv1-dev libsofia-sip-ua-dev \
        libsrtp2-dev libinih-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY common common
COPY config config
COPY proxy proxy
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTLSTRUNK_TESTS=OFF \
    && cmake --build build -j"$(nproc)"

FROM debian:12-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates libssl3 libuv1 libsofia-sip-ua0 libsrtp2-1 libinih1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home --shell /usr/sbin/nologin tlstrunk
COPY --from=build /src/build/tlstrunk /usr/local/bin/tlstrunk
COPY config/tlstrunk.example.ini /etc/tlstrunk/tlstrunk.example.ini
USER tlstrunk
# Configuration and certificates are mounted: /etc/tlstrunk/tlstrunk.ini, /etc/tlstrunk/tls/
EXPOSE 5060/udp 5060/tcp 5061/tcp
ENTRYPOINT ["/usr/local/bin/tlstrunk"]
CMD ["-c", "/etc/tlstrunk/tlstrunk.ini"]
