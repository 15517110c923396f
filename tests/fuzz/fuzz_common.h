/*
 * fuzz_common.h - what the libFuzzer targets share: a private scratch
 * directory, a test PKI made once with the OpenSSL API, a loopback
 * address of this process's own, a fake clock for libuv's timers, and
 * a whole tlstrunk (proxy core + media bridge) on a real libuv loop,
 * set up and torn down around each input.
 *
 * Nothing here talks to anything outside 127.77.0.0/16 and 127.78.0.0/16
 * (addresses no test uses) so that fuzzing beside the integration tests,
 * which own 127.0.0.1-3 and their fixed ports, disturbs neither.
 */
#ifndef TLSTRUNK_FUZZ_COMMON_H
#define TLSTRUNK_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "media.h"
#include "app.h"

/* The fixed PKI directory (absolute paths in the config seeds use it):
 * ca.pem, sbc.pem (self-signed, names sbc/lb01/lb02.fuzz.example),
 * sbc.key.  Made once, atomically, by fz_pki(). */
#define FZ_PKI_DIR	"/tmp/tlstrunk-fuzz-pki"
#define FZ_SBC_NAME	"sbc.fuzz.example"
#define FZ_CLOUD1	"lb01.fuzz.example"	/* handshake never ends */
#define FZ_CLOUD2	"lb02.fuzz.example"	/* connection refused */
/*
 * What tlstrunk puts in Via and Record-Route toward the PBX (its
 * advertised_address), the same in every process so that seeds can
 * route in-dialog requests through it; allowed as a PBX address too.
 * Nobody listens there.
 */
#define FZ_PBX_FACE	"127.77.0.1"

/* Abort with a message: a broken harness is not a finding. */
void fz_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A private directory (in /dev/shm when there is one), removed at exit. */
const char *fz_tmpdir(void);
int fz_write_file(const char *path, const void *data, size_t len);
void fz_pki(void);

/*
 * Fake clock: while fz_uv_run() runs the loop, CLOCK_MONOTONIC* as seen
 * by this thread (libuv's loop time) is ahead by fz_clock_skip_ms, so
 * "wait 32 s" costs nothing and RFC 3261 timers really fire.
 */
extern uint64_t fz_clock_skip_ms;
void fz_uv_run(uv_loop_t *loop, int times);

/* This process's loopback addresses: "127.77.A.B" (ours, the PBX's) and
 * "127.78.A.B" (nobody listens: refused). */
extern char fz_ip[16], fz_ip_dead[16];

/* A whole tlstrunk on its own loop. */
struct fz_proxy {
	uv_loop_t loop;
	struct app app;
	struct media md;
	int up;
};

/*
 * Once per process: PKI, address, the config file (returned loaded; the
 * caller may adjust limits before each fz_proxy_start), and the stand-ins:
 * the PBX's UDP socket at fz_ip:5090 and a TCP listener at fz_ip:5062
 * that never accepts (outbound TLS to lb01 stays in its handshake).
 */
struct config *fz_proxy_setup(void);
/* app_init + media_init + media_attach, fixed branch salt. */
void fz_proxy_start(struct fz_proxy *fp, const struct config *cfg);
/* app_shutdown, run to the end, free; drains the stand-ins. */
void fz_proxy_stop(struct fz_proxy *fp);

/*
 * Datagrams that reached the PBX stand-in since the last call: each is
 * handed to check (may be NULL) and counted.
 */
int fz_pbx_drain(void (*check)(const char *buf, size_t len));

/* A sockaddr for ip:port. */
void fz_sockaddr(struct sockaddr_storage *ss, socklen_t *len, const char *ip,
    uint16_t port);

#endif
