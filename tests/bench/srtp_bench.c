/*
 * srtp_bench.c - per-packet cost of srtp_protect and srtp_unprotect,
 * libsrtp2's stock crypto (NSS on Debian) against the OpenSSL types of
 * proxy/srtp_openssl.c, with 1 / 1000 / 4000 sessions alive.
 *
 * A benchmark, not a test: it prints numbers.  Build and run with
 * tests/bench/srtp_bench.sh (Release build).
 *
 * Each session is one call leg's pair: a tx session (ssrc_any_outbound)
 * and an rx session (ssrc_any_inbound) with its own random key and its
 * own SSRC.  The packets go round-robin over the sessions, the way a
 * relay carrying that many calls touches them, so the per-session
 * state falls out of the CPU caches as it would in production.  A
 * chunk is max(sessions, 256) packets, taken 64 at a time: built (not
 * timed, and left in the cache as a just-received packet would be),
 * protected (timed), unprotected (timed) and checked.  The first chunk of a
 * configuration is a warm-up (it creates each SSRC's stream); the rest
 * run until the protect side has taken --time seconds; the best of
 * --reps repetitions is reported.
 *
 * usage: srtp_bench [--time S] [--reps N] [--sessions a,b,c] [--no-suites]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <srtp2/srtp.h>

#include "srtp_openssl.h"

#define PKT_LEN		172	/* 12-byte RTP header + 160 bytes PCMU */
#define SLOT		256	/* room for the packet and its trailer */
#define MIN_CHUNK	256
#define BATCH		64	/* packets per timed run: a relay's packet
				   is hot, its session's state is not */
#define MAX_SESSIONS	16

struct suite {
	const char	*name;
	void		(*policy)(srtp_crypto_policy_t *);
	int		 keylen;	/* master key + salt */
};

/* a macro in srtp.h, so no function pointer of its own */
static void
aes_cm_128_hmac_sha1_80(srtp_crypto_policy_t *p)
{
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(p);
}

static const struct suite suites[] = {
	{ "AES_CM_128_HMAC_SHA1_80", aes_cm_128_hmac_sha1_80, 30 },
	{ "AES_CM_128_HMAC_SHA1_32",
	    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32, 30 },
	{ "AES_256_CM_HMAC_SHA1_80",
	    srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80, 46 },
	{ "AEAD_AES_128_GCM",
	    srtp_crypto_policy_set_aes_gcm_128_16_auth, 28 },
	{ "AEAD_AES_256_GCM",
	    srtp_crypto_policy_set_aes_gcm_256_16_auth, 44 },
};
#define NSUITES (int)(sizeof(suites) / sizeof(suites[0]))

struct result {
	double		 protect_us, unprotect_us;	/* best per packet */
	double		 setup_us;			/* srtp_create, pair */
};

static double opt_time = 0.5;
static int opt_reps = 3;
static int opt_suites = 1;
static int nsizes = 3;
static int sizes[MAX_SESSIONS] = { 1, 1000, 4000 };

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
die(const char *what, int st)
{
	fprintf(stderr, "srtp_bench: %s failed (libsrtp status %d)\n", what, st);
	exit(1);
}

static void
build(unsigned char *p, uint16_t seq, uint32_t ssrc)
{
	uint32_t ts = (uint32_t)seq * 160;

	p[0] = 0x80;
	p[1] = 0x00;
	p[2] = (unsigned char)(seq >> 8);
	p[3] = (unsigned char)seq;
	p[4] = (unsigned char)(ts >> 24);
	p[5] = (unsigned char)(ts >> 16);
	p[6] = (unsigned char)(ts >> 8);
	p[7] = (unsigned char)ts;
	p[8] = (unsigned char)(ssrc >> 24);
	p[9] = (unsigned char)(ssrc >> 16);
	p[10] = (unsigned char)(ssrc >> 8);
	p[11] = (unsigned char)ssrc;
	for (int i = 12; i < PKT_LEN; i++)
		p[i] = (unsigned char)(0xd5 ^ (i + seq));
}

static struct result
run(const struct suite *su, int nsess)
{
	struct result res = { 1e9, 1e9, 0 };
	int chunk = nsess > MIN_CHUNK ? nsess : MIN_CHUNK;
	srtp_t *tx = calloc((size_t)nsess, sizeof(*tx));
	srtp_t *rx = calloc((size_t)nsess, sizeof(*rx));
	uint16_t *seq = calloc((size_t)nsess, sizeof(*seq));
	unsigned char *buf = malloc((size_t)chunk * SLOT);
	int *len = calloc((size_t)chunk, sizeof(*len));
	double t0;
	int st;

	if (tx == NULL || rx == NULL || seq == NULL || buf == NULL ||
	    len == NULL)
		die("malloc", 0);
	t0 = now();
	for (int i = 0; i < nsess; i++) {
		unsigned char key[46];
		srtp_policy_t pol;

		for (int k = 0; k < su->keylen; k++)
			key[k] = (unsigned char)(rnd() >> 40);
		memset(&pol, 0, sizeof(pol));
		su->policy(&pol.rtp);
		su->policy(&pol.rtcp);
		pol.key = key;
		pol.ssrc.type = ssrc_any_outbound;
		if ((st = srtp_create(&tx[i], &pol)) != srtp_err_status_ok)
			die("srtp_create tx", st);
		pol.ssrc.type = ssrc_any_inbound;
		if ((st = srtp_create(&rx[i], &pol)) != srtp_err_status_ok)
			die("srtp_create rx", st);
		seq[i] = (uint16_t)rnd();
	}
	res.setup_us = (now() - t0) / nsess * 1e6;

	for (int rep = 0; rep < opt_reps; rep++) {
		double tp = 0, tu = 0;
		long pkts = 0;

		for (int c = 0; c == 0 || tp < opt_time || c < 3; c++) {
			double cp = 0, cu = 0;

			for (int k0 = 0; k0 < chunk; k0 += BATCH) {
				int k1 = k0 + BATCH < chunk ? k0 + BATCH : chunk;
				double a, b, d;

				for (int k = k0; k < k1; k++) {
					int s = k % nsess;

					build(buf + (size_t)k * SLOT, seq[s]++,
					    0x1000u + (uint32_t)s);
					len[k] = PKT_LEN;
				}
				a = now();
				for (int k = k0; k < k1; k++)
					if ((st = srtp_protect(tx[k % nsess],
					    buf + (size_t)k * SLOT,
					    &len[k])) != 0)
						die("srtp_protect", st);
				b = now();
				for (int k = k0; k < k1; k++)
					if ((st = srtp_unprotect(rx[k % nsess],
					    buf + (size_t)k * SLOT,
					    &len[k])) != 0)
						die("srtp_unprotect", st);
				d = now();
				for (int k = k0; k < k1; k++)
					if (len[k] != PKT_LEN)
						die("length check", len[k]);
				cp += b - a;
				cu += d - b;
			}
			if (c == 0 && rep == 0)
				continue;	/* warm-up: per-SSRC streams */
			tp += cp;
			tu += cu;
			pkts += chunk;
		}
		if (tp / pkts * 1e6 < res.protect_us)
			res.protect_us = tp / pkts * 1e6;
		if (tu / pkts * 1e6 < res.unprotect_us)
			res.unprotect_us = tu / pkts * 1e6;
	}

	/* the last chunk must have come back to the plaintext */
	for (int k = 0; k < chunk; k++) {
		unsigned char want[PKT_LEN];
		unsigned char *p = buf + (size_t)k * SLOT;

		build(want, (uint16_t)(p[2] << 8 | p[3]), 0x1000u +
		    (uint32_t)(k % nsess));
		if (memcmp(p, want, PKT_LEN) != 0)
			die("round trip", k);
	}
	for (int i = 0; i < nsess; i++) {
		srtp_dealloc(tx[i]);
		srtp_dealloc(rx[i]);
	}
	free(tx);
	free(rx);
	free(seq);
	free(buf);
	free(len);
	return res;
}

/* One phase: a fresh libsrtp2, stock or with the OpenSSL types. */
static void
phase(int openssl, const struct suite *su, int n, const int *nsess,
    struct result *out)
{
	struct srtp_openssl_counters c0, c1;
	int st;

	if ((st = srtp_init()) != srtp_err_status_ok)
		die("srtp_init", st);
	if (openssl && (st = srtp_openssl_register()) != 0)
		die("srtp_openssl_register", st);
	srtp_openssl_counters(&c0);
	for (int i = 0; i < n; i++)
		out[i] = run(su, nsess[i]);
	srtp_openssl_counters(&c1);
	/* make sure each phase ran the code it claims to */
	if (openssl != (c1.icm + c1.gcm + c1.hmac != c0.icm + c0.gcm + c0.hmac)) {
		fprintf(stderr, "srtp_bench: the %s phase ran the wrong code\n",
		    openssl ? "OpenSSL" : "stock");
		exit(1);
	}
	srtp_shutdown();
}

static void
parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--time") == 0 && i + 1 < argc)
			opt_time = atof(argv[++i]);
		else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
			opt_reps = atoi(argv[++i]);
		else if (strcmp(argv[i], "--no-suites") == 0)
			opt_suites = 0;
		else if (strcmp(argv[i], "--sessions") == 0 && i + 1 < argc) {
			char *s = argv[++i], *end;

			for (nsizes = 0; *s != '\0' && nsizes < MAX_SESSIONS;) {
				long v = strtol(s, &end, 10);

				if (end == s || v < 1 || v > 100000)
					goto usage;
				sizes[nsizes++] = (int)v;
				s = *end == ',' ? end + 1 : end;
			}
		} else
			goto usage;
	}
	if (opt_time <= 0 || opt_reps < 1 || nsizes < 1)
		goto usage;
	return;
usage:
	fprintf(stderr, "usage: srtp_bench [--time S] [--reps N] "
	    "[--sessions a,b,c] [--no-suites]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct result stock[MAX_SESSIONS], ossl[MAX_SESSIONS];
	struct result s1[NSUITES], o1[NSUITES];
	int one = 1;

	parse_args(argc, argv);
	printf("%s: stock crypto (%s) vs OpenSSL EVP (srtp_openssl.c)\n",
	    srtp_get_version_string(), "NSS-backed on Debian 12");
	printf("%s, %d-byte RTP packet (PCMU 20 ms), microseconds per packet, "
	    "best of %d, >= %.2f s each\n\n", suites[0].name, PKT_LEN,
	    opt_reps, opt_time);
	fflush(stdout);

	phase(0, &suites[0], nsizes, sizes, stock);
	phase(1, &suites[0], nsizes, sizes, ossl);

	printf("%9s | %13s %13s | %13s %13s | %8s %8s\n", "sessions",
	    "stock protect", "unprotect", "ossl protect", "unprotect",
	    "speed-up", "(unprot)");
	printf("----------+-----------------------------+"
	    "-----------------------------+------------------\n");
	for (int i = 0; i < nsizes; i++)
		printf("%9d | %13.3f %13.3f | %13.3f %13.3f | %7.1fx %7.1fx\n",
		    sizes[i], stock[i].protect_us, stock[i].unprotect_us,
		    ossl[i].protect_us, ossl[i].unprotect_us,
		    stock[i].protect_us / ossl[i].protect_us,
		    stock[i].unprotect_us / ossl[i].unprotect_us);
	printf("\npackets/s per core (protect + unprotect of each packet):\n");
	for (int i = 0; i < nsizes; i++)
		printf("%9d sessions: stock %8.0f, OpenSSL %8.0f\n", sizes[i],
		    1e6 / (stock[i].protect_us + stock[i].unprotect_us),
		    1e6 / (ossl[i].protect_us + ossl[i].unprotect_us));
	printf("\nsession set-up (srtp_create, tx + rx):\n");
	for (int i = 0; i < nsizes; i++)
		printf("%9d sessions: stock %8.1f us, OpenSSL %8.1f us per pair\n",
		    sizes[i], stock[i].setup_us, ossl[i].setup_us);
	fflush(stdout);

	if (!opt_suites)
		return 0;
	for (int s = 0; s < NSUITES; s++) {
		phase(0, &suites[s], 1, &one, &s1[s]);
		phase(1, &suites[s], 1, &one, &o1[s]);
	}
	printf("\nevery suite, 1 session, microseconds per %d-byte packet:\n\n",
	    PKT_LEN);
	printf("%-24s | %13s %13s | %13s %13s\n", "suite", "stock protect",
	    "unprotect", "ossl protect", "unprotect");
	printf("-------------------------+-----------------------------+"
	    "----------------------------\n");
	for (int s = 0; s < NSUITES; s++)
		printf("%-24s | %13.3f %13.3f | %13.3f %13.3f\n", suites[s].name,
		    s1[s].protect_us, s1[s].unprotect_us, o1[s].protect_us,
		    o1[s].unprotect_us);
	return 0;
}
