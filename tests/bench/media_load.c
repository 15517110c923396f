/*
 * media_load.c - load generator of tests/bench/media_bench.sh.
 *
 * Plays both endpoints of N calls through a media relay that converts
 * plain RTP (PBX side) to SRTP (cloud side, SDES, AES_CM_128_HMAC_SHA1_80)
 * and back:
 *
 *   PBX endpoint   --plain RTP-->  relay PBX leg  ... relay cloud leg
 *                  --SRTP-->  cloud endpoint      (direction "fwd", RTP->SRTP)
 *   cloud endpoint --SRTP-->  relay cloud leg ... relay PBX leg
 *                  --plain RTP--> PBX endpoint   (direction "rev", SRTP->RTP)
 *
 * Every stream is G.711 at 20 ms: 50 packets/s of 172 bytes (12-byte RTP
 * header, 160 bytes of payload), the 2N streams spread evenly over the
 * 20 ms period.  The payload carries a magic, the call index, a flag
 * saying whether the packet belongs to the measurement window and the
 * CLOCK_REALTIME send time; the receiver takes the kernel's receive
 * timestamp (SO_TIMESTAMPNS) so that its own scheduling delay is not
 * counted as latency.
 *
 * SRTP here is a small RFC 3711 implementation on OpenSSL (AES-128-CTR,
 * HMAC-SHA1 with precomputed pads), so that the generator's own cost is
 * flat in the number of calls; the relays under test check its tags and
 * it checks theirs, which proves both sides agree on the transform.
 *
 * Input (--calls-file), one call per line:
 *   idx pbx_ep_ip pbx_ep_port sut_pbx_ip sut_pbx_port
 *       cloud_ep_ip cloud_ep_port sut_cloud_ip sut_cloud_port
 *       sut_key_b64 our_key_b64
 * sut_key: what the relay protects toward the cloud with (from its offer
 * or answer), our_key: what the cloud endpoint protects with (given to
 * the relay in the cloud's SDP).  Endpoints of several calls may share a
 * port; one socket per distinct address is opened.
 *
 * --direct N: no relay; N calls whose endpoints send straight to each
 * other, plain, to measure what the generator and the kernel add.
 *
 * --plain (with --calls-file): the relay forwards plain RTP on both legs
 * (media_bench.sh's "floor", null_relay.c): the cloud endpoints neither
 * protect what they send nor unprotect what they receive, as in --direct
 * mode; the keys are not used (null_relay writes "-").
 *
 * --gaps: also track, per call and direction, the kernel arrival time of
 * each packet and the largest gap between two arrivals (media_bench.sh's
 * restart step: the relay is killed and started again under the load).
 * Reports gap_* keys and streams_resumed=K/2N: the streams whose largest
 * gap ended in an arrival (a stream still silent at the end of the window,
 * for longer than its largest closed gap and 60 ms, did not resume).  Times
 * are CLOCK_REALTIME ns, the clock of SO_TIMESTAMPNS.  Three int64 per
 * stream, allocated at start; nothing per packet but the compare.
 *
 * Output: key=value lines on stdout (see the end of main()).
 *
 * Build: cc -O2 -o media_load media_load.c -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#define PKT_LEN		172		/* RTP header + 160 bytes PCMU */
#define TAG_LEN		10		/* HMAC_SHA1_80 */
#define PERIOD_NS	20000000LL	/* 20 ms */
#define MAGIC		0x544c5342u	/* "TLSB" */
#define SSRC_PBX	0x50000000u	/* streams the PBX endpoint sends */
#define SSRC_CLOUD	0x60000000u	/* streams the cloud endpoint sends */
#define HIST_BINS	100000		/* 1 us bins up to 100 ms */
#define RBATCH		32
#define SBATCH		64

enum { FWD, REV };			/* RTP->SRTP, SRTP->RTP */

struct srtp_ctx {
	EVP_CIPHER_CTX *aes;		/* AES-128-CTR, session key */
	uint8_t salt[14];
	SHA_CTX ipad, opad;		/* HMAC-SHA1 with the session auth key */
};

struct call {
	int psock, csock;		/* PBX / cloud endpoint socket index */
	struct sockaddr_in to_pbx_leg;	/* where the PBX endpoint sends */
	struct sockaddr_in to_cloud_leg; /* where the cloud endpoint sends */
	struct srtp_ctx tx;		/* cloud endpoint protects (our key) */
	struct srtp_ctx rx;		/* cloud endpoint unprotects (relay's) */
	uint16_t seq[2];		/* next seq: [0] PBX stream, [1] cloud */
	uint32_t ts[2];
	uint32_t tx_roc;
	int rx_init;			/* rx ROC estimation (RFC 3711 3.3.1) */
	uint16_t rx_sl;
	uint32_t rx_roc;
};

struct sock {
	int fd;
	int cloud;			/* 1: cloud endpoint (SRTP) */
	struct sockaddr_in addr;
};

struct dir_stats {
	uint64_t sent, sent_meas, recv, recv_meas, bad, auth_fail;
	uint64_t hist_over, lat_n;
	double lat_sum;
	uint32_t lat_max_ns;
	uint32_t *hist;
};

static struct call *calls;
static int ncalls;
static struct sock *socks;
static int nsocks, socks_cap;
static int direct;
static int plain;			/* no SRTP at the cloud endpoints */
static struct dir_stats st[2];
/* --gaps: per stream (call * 2 + dir), last arrival, largest gap, its end */
struct gap {
	int64_t last, max, end;
};
static struct gap *gaps;
static volatile sig_atomic_t stop_now;

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "media_load: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

static int64_t
now_ns(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* ---- SRTP (RFC 3711), AES_CM_128_HMAC_SHA1_80 only ---- */

static void
aes_ctr(const uint8_t key[16], const uint8_t iv[16], uint8_t *buf, int len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n;

	EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv);
	EVP_EncryptUpdate(c, buf, &n, buf, len);
	EVP_CIPHER_CTX_free(c);
}

/* 4.3.1: PRF output for one label, key derivation rate 0. */
static void
kdf(const uint8_t mk[16], const uint8_t ms[14], uint8_t label, uint8_t *out,
    int len)
{
	uint8_t iv[16] = { 0 };

	memcpy(iv, ms, 14);
	iv[7] ^= label;
	memset(out, 0, (size_t)len);
	aes_ctr(mk, iv, out, len);
}

static int
b64dec(const char *in, uint8_t *out, int max)
{
	uint8_t tmp[128];
	int n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)strlen(in));
	size_t l = strlen(in);

	if (n < 0)
		return -1;
	while (l > 0 && in[l - 1] == '=') {	/* DecodeBlock counts padding */
		n--;
		l--;
	}
	if (n > max)
		n = max;
	memcpy(out, tmp, (size_t)n);
	return n;
}

static void
srtp_ctx_init(struct srtp_ctx *s, const char *key_b64)
{
	uint8_t mk[30], ek[16], ak[20], pad[64];
	SHA_CTX sc;

	if (b64dec(key_b64, mk, 30) != 30)
		die("bad SDES key '%s' (want 30 bytes base64)", key_b64);
	kdf(mk, mk + 16, 0x00, ek, 16);
	kdf(mk, mk + 16, 0x01, ak, 20);
	kdf(mk, mk + 16, 0x02, s->salt, 14);
	s->aes = EVP_CIPHER_CTX_new();
	EVP_EncryptInit_ex(s->aes, EVP_aes_128_ctr(), NULL, ek, NULL);
	memset(pad, 0x36, sizeof(pad));
	for (int i = 0; i < 20; i++)
		pad[i] ^= ak[i];
	SHA1_Init(&s->ipad);
	SHA1_Update(&s->ipad, pad, 64);
	memset(pad, 0x5c, sizeof(pad));
	for (int i = 0; i < 20; i++)
		pad[i] ^= ak[i];
	SHA1_Init(&s->opad);
	SHA1_Update(&s->opad, pad, 64);
	(void)sc;
}

static void
srtp_crypt(struct srtp_ctx *s, uint8_t *p, int len, uint32_t roc)
{
	uint8_t iv[16] = { 0 };
	uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
	int n;

	memcpy(iv, s->salt, 14);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= p[8 + i];		/* SSRC */
	iv[8] ^= (uint8_t)(roc >> 24);
	iv[9] ^= (uint8_t)(roc >> 16);
	iv[10] ^= (uint8_t)(roc >> 8);
	iv[11] ^= (uint8_t)roc;
	iv[12] ^= (uint8_t)(seq >> 8);
	iv[13] ^= (uint8_t)seq;
	EVP_EncryptInit_ex(s->aes, NULL, NULL, NULL, iv);
	EVP_EncryptUpdate(s->aes, p + 12, &n, p + 12, len - 12);
}

static void
srtp_tag(struct srtp_ctx *s, const uint8_t *p, int len, uint32_t roc,
    uint8_t out[20])
{
	SHA_CTX c;
	uint8_t r[4] = { (uint8_t)(roc >> 24), (uint8_t)(roc >> 16),
	    (uint8_t)(roc >> 8), (uint8_t)roc };

	c = s->ipad;
	SHA1_Update(&c, p, (size_t)len);
	SHA1_Update(&c, r, 4);
	SHA1_Final(out, &c);
	c = s->opad;
	SHA1_Update(&c, out, 20);
	SHA1_Final(out, &c);
}

/* Protect in place: len + TAG_LEN bytes result. */
static int
srtp_protect(struct srtp_ctx *s, uint8_t *p, int len, uint32_t roc)
{
	uint8_t t[20];

	srtp_crypt(s, p, len, roc);
	srtp_tag(s, p, len, roc, t);
	memcpy(p + len, t, TAG_LEN);
	return len + TAG_LEN;
}

/* Unprotect in place; -1 on an authentication failure. */
static int
srtp_unprotect(struct call *c, uint8_t *p, int len)
{
	uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
	uint32_t v;
	uint8_t t[20];

	if (len < 12 + TAG_LEN)
		return -1;
	len -= TAG_LEN;
	if (!c->rx_init)
		v = 0;
	else if (c->rx_sl < 32768)
		v = (int)seq - (int)c->rx_sl > 32768 ? c->rx_roc - 1 : c->rx_roc;
	else
		v = (int)c->rx_sl - 32768 > (int)seq ? c->rx_roc + 1 : c->rx_roc;
	srtp_tag(&c->rx, p, len, v, t);
	if (CRYPTO_memcmp(t, p + len, TAG_LEN) != 0)
		return -1;
	if (!c->rx_init || v == c->rx_roc + 1 ||
	    (v == c->rx_roc && seq > c->rx_sl)) {
		c->rx_sl = seq;
		c->rx_roc = v;
		c->rx_init = 1;
	}
	srtp_crypt(&c->rx, p, len, v);
	return len;
}

/* ---- sockets ---- */

static int
sock_for(const char *ip, int port, int cloud)
{
	struct sockaddr_in a;
	int fd, one = 1, buf;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
		die("bad address %s", ip);
	for (int i = 0; i < nsocks; i++)
		if (socks[i].addr.sin_port == a.sin_port &&
		    socks[i].addr.sin_addr.s_addr == a.sin_addr.s_addr)
			return i;
	if (nsocks == socks_cap) {
		socks_cap = socks_cap ? socks_cap * 2 : 1024;
		socks = realloc(socks, sizeof(*socks) * (size_t)socks_cap);
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	/* A shared socket carries many streams: give it room (root may
	 * exceed rmem_max with the FORCE variant). */
	buf = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		char w[64];
		snprintf(w, sizeof(w), "%s:%d", ip, port);
		fprintf(stderr, "media_load: bind %s: %s\n", w, strerror(errno));
		exit(2);
	}
	socks[nsocks].fd = fd;
	socks[nsocks].cloud = cloud;
	socks[nsocks].addr = a;
	return nsocks++;
}

static void
addr_set(struct sockaddr_in *a, const char *ip, int port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &a->sin_addr) != 1)
		die("bad address %s", ip);
}

static void
call_common(struct call *c)
{
	c->seq[0] = (uint16_t)(rand() % 20000);	/* no wrap within a run */
	c->seq[1] = (uint16_t)(rand() % 20000);
	c->ts[0] = (uint32_t)rand();
	c->ts[1] = (uint32_t)rand();
}

static void
load_calls(const char *file, int want)
{
	FILE *f = fopen(file, "r");
	char line[1024];
	int cap = want > 0 ? want : 1024;

	if (f == NULL)
		die("cannot open %s", file);
	calls = calloc((size_t)cap, sizeof(*calls));
	while (fgets(line, sizeof(line), f) != NULL) {
		char pip[64], spip[64], cip[64], scip[64], skey[128], okey[128];
		int idx, pp, spp, cp, scp;
		struct call *c;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%d %63s %d %63s %d %63s %d %63s %d %127s %127s",
		    &idx, pip, &pp, spip, &spp, cip, &cp, scip, &scp, skey,
		    okey) != 11)
			die("bad line in calls file: %s", line);
		if (want > 0 && ncalls == want)
			break;
		if (ncalls == cap) {
			cap *= 2;
			calls = realloc(calls, sizeof(*calls) * (size_t)cap);
			memset(calls + ncalls, 0, sizeof(*calls) * (size_t)(cap - ncalls));
		}
		c = &calls[ncalls++];
		c->psock = sock_for(pip, pp, 0);
		c->csock = sock_for(cip, cp, 1);
		addr_set(&c->to_pbx_leg, spip, spp);
		addr_set(&c->to_cloud_leg, scip, scp);
		if (!plain) {
			srtp_ctx_init(&c->tx, okey);
			srtp_ctx_init(&c->rx, skey);
		}
		call_common(c);
	}
	fclose(f);
	if (want > 0 && ncalls < want)
		fprintf(stderr, "media_load: only %d calls in %s (wanted %d)\n",
		    ncalls, file, want);
	if (ncalls == 0)
		die("no calls in %s", file);
}

/* Direct mode: PBX endpoint i on pip:base+2i sends to cloud endpoint i
 * on cip:base+2i and back, plain. */
static void
direct_calls(int n, const char *pip, const char *cip, int base, int share)
{
	calls = calloc((size_t)n, sizeof(*calls));
	for (int i = 0; i < n; i++) {
		struct call *c = &calls[ncalls++];
		int k = share > 0 ? i % share : i;
		c->psock = sock_for(pip, base + 2 * k, 0);
		c->csock = sock_for(cip, base + 2 * k, 1);
		c->to_pbx_leg = socks[c->csock].addr;
		c->to_cloud_leg = socks[c->psock].addr;
		call_common(c);
	}
}

/* ---- /proc ---- */

static int
proc_cpu(int pid, double *user, double *sys)
{
	char path[64], buf[2048], *p;
	unsigned long ut, stt;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* after ") ": state(3) ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &stt) != 2)
		return -1;
	*user = (double)ut / (double)sysconf(_SC_CLK_TCK);
	*sys = (double)stt / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

static long
proc_rss_kib(int pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* The machine's own noise: how late a 1 ms sleep wakes up on this CPU. */
static int
jitter(double secs)
{
	static uint32_t h[HIST_BINS];
	uint64_t n = 0, acc = 0, over = 0;
	int64_t t = now_ns(CLOCK_MONOTONIC), end = t + (int64_t)(secs * 1e9), mx = 0;
	double q[3] = { 0.5, 0.99, 0.999 }, r[3] = { -1, -1, -1 };

	while (t < end) {
		struct timespec ts;
		int64_t l;

		t += 1000000;
		ts.tv_sec = (time_t)(t / 1000000000LL);
		ts.tv_nsec = (long)(t % 1000000000LL);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		l = now_ns(CLOCK_MONOTONIC) - t;
		if (l > mx)
			mx = l;
		if (l / 1000 < HIST_BINS)
			h[l / 1000]++;
		else
			over++;
		n++;
	}
	for (int k = 0; k < 3; k++) {
		acc = 0;
		for (int i = 0; i < HIST_BINS; i++) {
			acc += h[i];
			if (acc > (uint64_t)((double)n * q[k])) {
				r[k] = i + 0.5;
				break;
			}
		}
	}
	printf("wakeups=%" PRIu64 "\nwake_late_p50_us=%.1f\nwake_late_p99_us=%.1f\n"
	    "wake_late_p999_us=%.1f\nwake_late_max_us=%.0f\n", n, r[0], r[1], r[2],
	    mx / 1000.0);
	(void)over;
	return 0;
}

/* The machine's CPU availability: spin for secs and count the time the
 * clock jumped by more than 100 us between two reads (the vCPU was not
 * running: host preemption or a CPU quota; a guest kernel that does not
 * see it as steal time charges it to whatever process was running). */
static int
stall(double secs)
{
	int64_t s = now_ns(CLOCK_MONOTONIC), e = s + (int64_t)(secs * 1e9), p = s;
	int64_t mx = 0, tot = 0;
	uint64_t n1 = 0;

	for (;;) {
		int64_t t = now_ns(CLOCK_MONOTONIC), d = t - p;
		if (t > e)
			break;
		if (d > 100000) {
			tot += d;
			if (d > 1000000)
				n1++;
		}
		if (d > mx)
			mx = d;
		p = t;
	}
	printf("stalled_frac=%.4f\nstalls_over_1ms=%" PRIu64 "\nstall_max_ms=%.1f\n",
	    (double)tot / (double)(e - s), n1, mx / 1e6);
	return 0;
}

/* Dropped datagrams of every UDP socket bound to ip (host order). */
static void
udp_drops(uint32_t ip, uint64_t *drops, int *nsock)
{
	FILE *f = fopen("/proc/net/udp", "r");
	char line[512];

	*drops = 0;
	*nsock = 0;
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned int lip, lport;
		unsigned long long d;
		char *tok, *last = NULL, *save = NULL;

		if (sscanf(line, " %*d: %8X:%4X", &lip, &lport) != 2)
			continue;
		/* /proc shows the address as the host-order hex of the
		 * network-order value */
		if (ntohl(lip) != ip)
			continue;
		/* drops is the last field (the line ends in blanks) */
		for (tok = strtok_r(line, " \t\n", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t\n", &save))
			last = tok;
		if (last == NULL || sscanf(last, "%llu", &d) != 1)
			continue;
		*drops += d;
		(*nsock)++;
	}
	fclose(f);
}

/* ---- the packet path ---- */

struct payload {
	uint32_t magic, call, flags, pad;
	int64_t sent_ns;			/* CLOCK_REALTIME */
};

static uint8_t sbuf[SBATCH][PKT_LEN + TAG_LEN + 16];
static struct mmsghdr smsg[SBATCH];
static struct iovec siov[SBATCH];
static int sn, ssock = -1;
static uint64_t send_fail;

static void
flush_sends(void)
{
	int off = 0;

	while (off < sn) {
		int r = sendmmsg(socks[ssock].fd, smsg + off, (unsigned)(sn - off), 0);
		if (r <= 0) {
			/* a full buffer: count the rest as not sent */
			send_fail += (uint64_t)(sn - off);
			break;
		}
		off += r;
	}
	sn = 0;
}

static void
send_one(int ci, int cloud, int meas)
{
	struct call *c = &calls[ci];
	int si = cloud ? c->csock : c->psock, len = PKT_LEN;
	uint8_t *p;
	struct payload pl;

	if (si != ssock || sn == SBATCH) {
		if (sn > 0)
			flush_sends();
		ssock = si;
	}
	p = sbuf[sn];
	p[0] = 0x80;
	p[1] = 0;				/* PT 0, PCMU */
	p[2] = (uint8_t)(c->seq[cloud] >> 8);
	p[3] = (uint8_t)c->seq[cloud];
	p[4] = (uint8_t)(c->ts[cloud] >> 24);
	p[5] = (uint8_t)(c->ts[cloud] >> 16);
	p[6] = (uint8_t)(c->ts[cloud] >> 8);
	p[7] = (uint8_t)c->ts[cloud];
	{
		uint32_t ssrc = (cloud ? SSRC_CLOUD : SSRC_PBX) | (uint32_t)ci;
		p[8] = (uint8_t)(ssrc >> 24);
		p[9] = (uint8_t)(ssrc >> 16);
		p[10] = (uint8_t)(ssrc >> 8);
		p[11] = (uint8_t)ssrc;
	}
	memset(p + 12, 0xff, PKT_LEN - 12);	/* u-law silence */
	pl.magic = MAGIC;
	pl.call = (uint32_t)ci;
	pl.flags = (uint32_t)meas;
	pl.pad = 0;
	pl.sent_ns = now_ns(CLOCK_REALTIME);
	memcpy(p + 12, &pl, sizeof(pl));
	if (cloud && !direct && !plain)
		len = srtp_protect(&c->tx, p, PKT_LEN, c->tx_roc);
	if (++c->seq[cloud] == 0 && cloud)
		c->tx_roc++;
	c->ts[cloud] += 160;
	siov[sn].iov_base = p;
	siov[sn].iov_len = (size_t)len;
	memset(&smsg[sn].msg_hdr, 0, sizeof(smsg[sn].msg_hdr));
	smsg[sn].msg_hdr.msg_iov = &siov[sn];
	smsg[sn].msg_hdr.msg_iovlen = 1;
	smsg[sn].msg_hdr.msg_name = cloud ? &c->to_cloud_leg : &c->to_pbx_leg;
	smsg[sn].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
	sn++;
	st[cloud ? REV : FWD].sent++;
	if (meas)
		st[cloud ? REV : FWD].sent_meas++;
}

static void
account(int dir, const uint8_t *p, int len, int64_t rx_ns, int ci_expect)
{
	struct payload pl;
	struct dir_stats *d = &st[dir];
	int64_t lat;

	if (len != PKT_LEN) {
		d->bad++;
		return;
	}
	memcpy(&pl, p + 12, sizeof(pl));
	if (pl.magic != MAGIC || (int)pl.call != ci_expect) {
		d->bad++;
		return;
	}
	d->recv++;
	if (gaps != NULL) {
		struct gap *g = &gaps[ci_expect * 2 + dir];
		if (g->last != 0 && rx_ns - g->last > g->max) {
			g->max = rx_ns - g->last;
			g->end = rx_ns;
		}
		if (rx_ns > g->last)
			g->last = rx_ns;
	}
	if (!(pl.flags & 1))
		return;
	d->recv_meas++;
	lat = rx_ns - pl.sent_ns;
	if (lat < 0)
		lat = 0;
	d->lat_n++;
	d->lat_sum += (double)lat;
	if (lat > d->lat_max_ns)
		d->lat_max_ns = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
	if (lat / 1000 < HIST_BINS)
		d->hist[lat / 1000]++;
	else
		d->hist_over++;
}

static uint8_t rbuf[RBATCH][2048];
static char rctl[RBATCH][128];
static struct mmsghdr rmsg[RBATCH];
static struct iovec riov[RBATCH];

static void
recv_sock(int si)
{
	struct sock *s = &socks[si];

	for (;;) {
		int n;

		for (int i = 0; i < RBATCH; i++) {
			riov[i].iov_base = rbuf[i];
			riov[i].iov_len = sizeof(rbuf[i]);
			memset(&rmsg[i].msg_hdr, 0, sizeof(rmsg[i].msg_hdr));
			rmsg[i].msg_hdr.msg_iov = &riov[i];
			rmsg[i].msg_hdr.msg_iovlen = 1;
			rmsg[i].msg_hdr.msg_control = rctl[i];
			rmsg[i].msg_hdr.msg_controllen = sizeof(rctl[i]);
		}
		n = recvmmsg(s->fd, rmsg, RBATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			uint8_t *p = rbuf[i];
			int len = (int)rmsg[i].msg_len, ci;
			int64_t rx_ns = 0;
			uint32_t ssrc;
			struct cmsghdr *cm;

			for (cm = CMSG_FIRSTHDR(&rmsg[i].msg_hdr); cm != NULL;
			    cm = CMSG_NXTHDR(&rmsg[i].msg_hdr, cm))
				if (cm->cmsg_level == SOL_SOCKET &&
				    cm->cmsg_type == SCM_TIMESTAMPNS) {
					struct timespec ts;
					memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
					rx_ns = (int64_t)ts.tv_sec * 1000000000LL +
					    ts.tv_nsec;
				}
			if (rx_ns == 0)
				rx_ns = now_ns(CLOCK_REALTIME);
			if (len < 12 || (p[0] & 0xc0) != 0x80) {
				st[s->cloud ? FWD : REV].bad++;
				continue;
			}
			ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 |
			    (uint32_t)p[10] << 8 | p[11];
			ci = (int)(ssrc & 0x0fffffffu);
			if (s->cloud) {
				/* FWD: the PBX endpoint's stream, now SRTP */
				if ((ssrc & 0xf0000000u) != SSRC_PBX || ci >= ncalls) {
					st[FWD].bad++;
					continue;
				}
				if (!direct && !plain &&
				    (len = srtp_unprotect(&calls[ci], p, len)) < 0) {
					st[FWD].auth_fail++;
					continue;
				}
				account(FWD, p, len, rx_ns, ci);
			} else {
				if ((ssrc & 0xf0000000u) != SSRC_CLOUD || ci >= ncalls) {
					st[REV].bad++;
					continue;
				}
				account(REV, p, len, rx_ns, ci);
			}
		}
		if (n < RBATCH)
			return;
	}
}

/* ---- report ---- */

static double
pct(const struct dir_stats *a, const struct dir_stats *b, double q)
{
	uint64_t tot = a->lat_n + (b ? b->lat_n : 0), want, acc = 0;

	if (tot == 0)
		return -1;
	want = (uint64_t)((double)tot * q);
	if (want >= tot)
		want = tot - 1;
	for (int i = 0; i < HIST_BINS; i++) {
		acc += a->hist[i] + (b ? b->hist[i] : 0);
		if (acc > want)
			return i + 0.5;
	}
	return HIST_BINS;
}

static void
report_dir(const char *name, const struct dir_stats *d, double meas_s)
{
	double loss = d->sent_meas ? 1.0 - (double)d->recv_meas / (double)d->sent_meas : 0;

	printf("%s_sent=%" PRIu64 "\n%s_sent_meas=%" PRIu64 "\n", name, d->sent,
	    name, d->sent_meas);
	printf("%s_recv=%" PRIu64 "\n%s_recv_meas=%" PRIu64 "\n", name, d->recv,
	    name, d->recv_meas);
	printf("%s_loss=%.6f\n%s_pps=%.0f\n", name, loss, name,
	    (double)d->recv_meas / meas_s);
	printf("%s_bad=%" PRIu64 "\n%s_auth_fail=%" PRIu64 "\n", name, d->bad,
	    name, d->auth_fail);
	printf("%s_lat_p50_us=%.1f\n%s_lat_p99_us=%.1f\n%s_lat_p999_us=%.1f\n",
	    name, pct(d, NULL, 0.5), name, pct(d, NULL, 0.99), name,
	    pct(d, NULL, 0.999));
	printf("%s_lat_mean_us=%.1f\n%s_lat_max_us=%.1f\n", name,
	    d->lat_n ? d->lat_sum / (double)d->lat_n / 1000.0 : -1, name,
	    d->lat_max_ns / 1000.0);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Median of v[0..n) (sorts it); 0 when empty. */
static int64_t
median_i64(int64_t *v, int n)
{
	if (n == 0)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	return n % 2 ? v[n / 2] : v[n / 2 - 1] / 2 + v[n / 2] / 2;
}

/* --gaps: end_rt is the end of the window (CLOCK_REALTIME). */
static void
report_gaps(int64_t end_rt)
{
	int ns = ncalls * 2, nres = 0, res_dir[2] = { 0, 0 }, silent = 0;
	int64_t *ends = calloc((size_t)ns, sizeof(int64_t));
	int64_t *starts = calloc((size_t)ns, sizeof(int64_t));
	int64_t *maxs = calloc((size_t)ns, sizeof(int64_t));
	int64_t gmax = 0, end_max = 0, end_min = 0, start_min = 0;
	int64_t end_max_dir[2] = { 0, 0 };

	for (int i = 0; i < ns; i++) {
		struct gap *g = &gaps[i];
		int64_t open = g->last ? end_rt - g->last : 0, big = g->max;

		if (g->last == 0) {
			silent++;
			continue;
		}
		if (open > big && open > 3 * PERIOD_NS)
			big = open;		/* still in it: not resumed */
		else {
			if (g->end > end_max)
				end_max = g->end;
			if (end_min == 0 || g->end < end_min)
				end_min = g->end;
			if (start_min == 0 || g->end - g->max < start_min)
				start_min = g->end - g->max;
			if (g->end > end_max_dir[i % 2])
				end_max_dir[i % 2] = g->end;
			ends[nres] = g->end;
			starts[nres] = g->end - g->max;
			nres++;
			res_dir[i % 2]++;
		}
		if (big > gmax)
			gmax = big;
		maxs[i - silent] = big;
	}
	printf("gap_streams=%d\nstreams_resumed=%d/%d\n", ns, nres, ns);
	printf("fwd_streams_resumed=%d/%d\nrev_streams_resumed=%d/%d\n",
	    res_dir[FWD], ncalls, res_dir[REV], ncalls);
	printf("streams_silent=%d\n", silent);
	printf("gap_max_ms=%.1f\ngap_p50_ms=%.1f\n", gmax / 1e6,
	    median_i64(maxs, ns - silent) / 1e6);
	printf("gap_start_min_ns=%" PRId64 "\ngap_start_p50_ns=%" PRId64 "\n",
	    start_min, median_i64(starts, nres));
	printf("gap_end_min_ns=%" PRId64 "\ngap_end_p50_ns=%" PRId64 "\n"
	    "gap_end_max_ns=%" PRId64 "\n", end_min, median_i64(ends, nres), end_max);
	printf("fwd_gap_end_max_ns=%" PRId64 "\nrev_gap_end_max_ns=%" PRId64 "\n",
	    end_max_dir[FWD], end_max_dir[REV]);
	printf("window_end_ns=%" PRId64 "\n", end_rt);
	free(ends);
	free(starts);
	free(maxs);
}

static void
on_signal(int sig)
{
	stop_now = 1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: media_load (--calls-file F [--calls N] [--plain] | --direct N) [--warmup S]\n"
	    "         [--measure S] [--tick-us US] [--drain MS] [--sut-pid PID] [--sut-ip IP] [--gaps]\n"
	    "         [--direct-ips PBX_IP,CLOUD_IP] [--direct-base PORT] [--direct-share K]\n"
	    "       media_load --jitter SECONDS | --stall SECONDS\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *file = NULL, *sut_ip = NULL;
	char dip_p[64] = "127.0.0.24", dip_c[64] = "127.0.0.25";
	double warmup = 3, measure = 10;
	int64_t tick_ns = 1000000;
	double ut0 = 0, ut1 = 0, st0 = 0, st1 = 0;
	int want = 0, drain_ms = 300, sut_pid = 0, direct_n = 0, dbase = 4000, dshare = 0;
	int ep;
	int64_t t0, t_meas, t_end, slot_ns, lag_max = 0;
	uint64_t late = 0, period[2] = { 0, 0 };
	int slot[2] = { 0, 0 };
	long rss = -1;
	struct rusage ru0, ru1;
	int64_t w0 = 0, w1 = 0, w1_rt = 0;
	int want_gaps = 0;
	struct epoll_event evs[512];

	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--plain") == 0) {	/* flags without a value */
			plain = 1;
			continue;
		}
		if (strcmp(a, "--gaps") == 0) {
			want_gaps = 1;
			continue;
		}
		if (v == NULL)
			usage();
		if (strcmp(a, "--calls-file") == 0)
			file = v;
		else if (strcmp(a, "--calls") == 0)
			want = atoi(v);
		else if (strcmp(a, "--direct") == 0)
			direct_n = atoi(v);
		else if (strcmp(a, "--warmup") == 0)
			warmup = atof(v);
		else if (strcmp(a, "--measure") == 0)
			measure = atof(v);
		else if (strcmp(a, "--tick-us") == 0)
			tick_ns = (int64_t)atoi(v) * 1000;
		else if (strcmp(a, "--drain") == 0)
			drain_ms = atoi(v);
		else if (strcmp(a, "--sut-pid") == 0)
			sut_pid = atoi(v);
		else if (strcmp(a, "--sut-ip") == 0)
			sut_ip = v;
		else if (strcmp(a, "--jitter") == 0)
			return jitter(atof(v));
		else if (strcmp(a, "--stall") == 0)
			return stall(atof(v));
		else if (strcmp(a, "--direct-ips") == 0) {
			if (sscanf(v, "%63[^,],%63s", dip_p, dip_c) != 2)
				usage();
		} else if (strcmp(a, "--direct-share") == 0)
			dshare = atoi(v);
		else if (strcmp(a, "--direct-base") == 0)
			dbase = atoi(v);
		else
			usage();
		i++;
	}
	if ((file == NULL) == (direct_n == 0) || (plain && file == NULL))
		usage();
	srand((unsigned)getpid() ^ (unsigned)now_ns(CLOCK_MONOTONIC));
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (int d = 0; d < 2; d++)
		st[d].hist = calloc(HIST_BINS, sizeof(uint32_t));
	if (direct_n > 0) {
		direct = 1;
		direct_calls(direct_n, dip_p, dip_c, dbase, dshare);
	} else
		load_calls(file, want);
	if (want_gaps && (gaps = calloc((size_t)ncalls * 2, sizeof(*gaps))) == NULL)
		die("%s", "out of memory");

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll: %s", strerror(errno));
	for (int i = 0; i < nsocks; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, socks[i].fd, &e) < 0)
			die("epoll_ctl: %s", strerror(errno));
	}

	/* 2N streams: call i's PBX endpoint sends at i * 20 ms / N into
	 * the period, its cloud endpoint half a slot later. */
	slot_ns = PERIOD_NS / ncalls;
	t0 = now_ns(CLOCK_MONOTONIC) + 1000000;
	t_meas = t0 + (int64_t)(warmup * 1e9);
	t_end = t_meas + (int64_t)(measure * 1e9);

	while (!stop_now) {
		int64_t now = now_ns(CLOCK_MONOTONIC), due, wake;
		int n;

		if (w0 == 0 && now >= t_meas) {
			w0 = now;
			getrusage(RUSAGE_SELF, &ru0);
			if (sut_pid > 0)
				proc_cpu(sut_pid, &ut0, &st0);
		}
		if (now >= t_end)
			break;
		/* Send everything that is due, one endpoint side after the
		 * other so that a shared socket sends in batches. */
		/* (At most 1024 per side in one go: a generator that has
		 * fallen behind still reads what arrives.) */
		for (int side = 0; side < 2; side++)
			for (int k = 0; k < 1024; k++) {
				due = t0 + (int64_t)period[side] * PERIOD_NS +
				    (int64_t)slot[side] * slot_ns + side * (slot_ns / 2);
				if (due > now)
					break;
				if (now - due > lag_max)
					lag_max = now - due;
				if (now - due > 2000000)
					late++;
				send_one(slot[side], side, due >= t_meas && due < t_end);
				if (++slot[side] == ncalls) {
					slot[side] = 0;
					period[side]++;
				}
			}
		due = t0 + (int64_t)period[0] * PERIOD_NS + (int64_t)slot[0] * slot_ns;
		if (sn > 0)
			flush_sends();
		/* Take whatever arrived (the kernel timestamped it on
		 * arrival, so reading late costs no accuracy), then sleep to
		 * the next tick: sends go out in bursts of one tick's worth,
		 * as a trunk's many independent sources look at this
		 * resolution, and the generator wakes once per tick instead of
		 * once per packet. */
		do {
			n = epoll_wait(ep, evs, 512, 0);
			for (int i = 0; i < n; i++)
				recv_sock((int)evs[i].data.u32);
		} while (n == 512);
		now = now_ns(CLOCK_MONOTONIC);
		wake = t0 + ((now - t0) / tick_ns + 1) * tick_ns;
		if (wake < due)
			wake = due;
		{
			struct timespec ts = { (time_t)(wake / 1000000000LL),
			    (long)(wake % 1000000000LL) };
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
	}
	/* End of the window: the relay's CPU and memory, then drain. */
	w1 = now_ns(CLOCK_MONOTONIC);
	w1_rt = now_ns(CLOCK_REALTIME);
	getrusage(RUSAGE_SELF, &ru1);
	if (sut_pid > 0) {
		proc_cpu(sut_pid, &ut1, &st1);
		rss = proc_rss_kib(sut_pid);
	}
	{
		int64_t stop = now_ns(CLOCK_MONOTONIC) + (int64_t)drain_ms * 1000000;
		while (now_ns(CLOCK_MONOTONIC) < stop) {
			struct timespec to = { 0, 1000000 };
			int n = epoll_pwait2(ep, evs, 512, &to, NULL);
			for (int i = 0; i < n; i++)
				recv_sock((int)evs[i].data.u32);
		}
	}

	{
		double meas_s = w0 && w1 > w0 ? (double)(w1 - w0) / 1e9 : measure;
		double self = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
		    (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		    (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
		    (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
		uint64_t pk = st[FWD].recv_meas + st[REV].recv_meas;

		printf("calls=%d\nsockets=%d\nmeasure_s=%.3f\n", ncalls, nsocks, meas_s);
		printf("offered_pps_per_dir=%d\n", ncalls * 50);
		report_dir("fwd", &st[FWD], meas_s);
		report_dir("rev", &st[REV], meas_s);
		printf("lat_p50_us=%.1f\nlat_p99_us=%.1f\nlat_p999_us=%.1f\n",
		    pct(&st[FWD], &st[REV], 0.5), pct(&st[FWD], &st[REV], 0.99),
		    pct(&st[FWD], &st[REV], 0.999));
		printf("send_fail=%" PRIu64 "\nlate_sends=%" PRIu64 "\nlag_max_us=%.0f\n",
		    send_fail, late, lag_max / 1000.0);
		printf("load_cpu_s=%.3f\nload_cpu_frac=%.3f\n", self, self / meas_s);
		if (sut_pid > 0) {
			double c = (ut1 - ut0) + (st1 - st0);
			printf("sut_user_s=%.3f\nsut_sys_s=%.3f\n", ut1 - ut0, st1 - st0);
			printf("sut_cpu_s=%.3f\nsut_cpu_frac=%.3f\n", c, c / meas_s);
			printf("sut_cpu_s_per_mpkt=%.3f\n", pk ? c / ((double)pk / 1e6) : -1);
			printf("sut_rss_kib=%ld\n", rss);
		}
		if (sut_ip != NULL) {
			struct in_addr a;
			uint64_t d;
			int ns;
			if (inet_pton(AF_INET, sut_ip, &a) == 1) {
				udp_drops(ntohl(a.s_addr), &d, &ns);
				printf("sut_udp_drops=%" PRIu64 "\nsut_udp_sockets=%d\n", d, ns);
			}
		}
		{
			uint64_t d, dt = 0;
			int ns;
			uint32_t seen[2] = { 0, 0 };
			for (int i = 0; i < nsocks && (seen[0] == 0 || seen[1] == 0); i++) {
				uint32_t ip = ntohl(socks[i].addr.sin_addr.s_addr);
				if (ip == seen[0] || ip == seen[1])
					continue;
				seen[seen[0] ? 1 : 0] = ip;
				udp_drops(ip, &d, &ns);
				dt += d;
			}
			printf("load_udp_drops=%" PRIu64 "\n", dt);
		}
		if (gaps != NULL)
			report_gaps(w1_rt);
	}
	return 0;
}
