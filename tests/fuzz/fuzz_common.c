/* fuzz_common.c - see fuzz_common.h. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "fuzz_common.h"
#include "log.h"
#include "media_worker.h"
#include "tls.h"

#define FZ_PBX_UAS_PORT	5090
#define FZ_CLOUD_PORT	5062

char fz_ip[16], fz_ip_dead[16];
uint64_t fz_clock_skip_ms;

static char fz_dir[64];
static int fz_pbx_fd = -1, fz_cloud_fd = -1;
static struct config *fz_cfg;

void
fz_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz harness: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	/* abort, not exit: libFuzzer then keeps the input that did it. */
	abort();
}

/* ---- scratch directory ---- */

static void
fz_rmdir(void)
{
	DIR *d;
	struct dirent *e;
	char p[512];

	if (fz_dir[0] == '\0' || (d = opendir(fz_dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", fz_dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(fz_dir);
}

const char *
fz_tmpdir(void)
{
	struct stat st;

	if (fz_dir[0] != '\0')
		return fz_dir;
	snprintf(fz_dir, sizeof(fz_dir), "%s/tlstrunk-fuzz.XXXXXX",
	    stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(fz_dir) == NULL)
		fz_die("mkdtemp %s: %s", fz_dir, strerror(errno));
	atexit(fz_rmdir);
	return fz_dir;
}

int
fz_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *p = data;

	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n <= 0) {
			close(fd);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return close(fd);
}

/* ---- PKI: one self-signed RSA certificate, trust anchor of itself ---- */

static void
fz_add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    !X509_add_ext(x, e, -1))
		fz_die("X509 extension %s", value);
	X509_EXTENSION_free(e);
}

static void
fz_pem_write(const char *path, X509 *x, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fz_die("%s: %s", path, strerror(errno));
	if ((x != NULL && !PEM_write_X509(f, x)) ||
	    (k != NULL && !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL)))
		fz_die("PEM write %s", path);
	fclose(f);
}

void
fz_pki(void)
{
	char tmp[] = FZ_PKI_DIR ".XXXXXX", p[256];
	struct stat st;
	EVP_PKEY *k;
	X509 *x;
	X509_NAME *n;

	snprintf(p, sizeof(p), "%s/.complete", FZ_PKI_DIR);
	if (stat(p, &st) == 0)
		return;
	if (mkdtemp(tmp) == NULL)
		fz_die("mkdtemp: %s", strerror(errno));
	if ((k = EVP_RSA_gen(2048)) == NULL || (x = X509_new()) == NULL)
		fz_die("RSA key generation");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400L);
	X509_gmtime_adj(X509_getm_notAfter(x), 20L * 365 * 86400);
	X509_set_pubkey(x, k);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"tlstrunk fuzz", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)FZ_SBC_NAME, -1, -1, 0);
	X509_set_issuer_name(x, n);
	fz_add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
	fz_add_ext(x, NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign");
	fz_add_ext(x, NID_subject_key_identifier, "hash");
	fz_add_ext(x, NID_subject_alt_name, "DNS:" FZ_SBC_NAME ",DNS:" FZ_CLOUD1
	    ",DNS:" FZ_CLOUD2);
	if (!X509_sign(x, k, EVP_sha256()))
		fz_die("X509_sign");
	snprintf(p, sizeof(p), "%s/sbc.pem", tmp);
	fz_pem_write(p, x, NULL);
	snprintf(p, sizeof(p), "%s/ca.pem", tmp);
	fz_pem_write(p, x, NULL);
	snprintf(p, sizeof(p), "%s/sbc.key", tmp);
	fz_pem_write(p, NULL, k);
	snprintf(p, sizeof(p), "%s/.complete", tmp);
	fz_write_file(p, "1\n", 2);
	X509_free(x);
	EVP_PKEY_free(k);
	/* Another process may have won the race: keep its directory. */
	if (rename(tmp, FZ_PKI_DIR) < 0) {
		const char *names[] = { "sbc.pem", "ca.pem", "sbc.key", ".complete" };
		for (int i = 0; i < 4; i++) {
			snprintf(p, sizeof(p), "%s/%s", tmp, names[i]);
			unlink(p);
		}
		rmdir(tmp);
		snprintf(p, sizeof(p), "%s/.complete", FZ_PKI_DIR);
		if (stat(p, &st) < 0)
			fz_die("%s is not a complete PKI directory (remove it)",
			    FZ_PKI_DIR);
	}
}

/* ---- fake clock, and no DNS ---- */

static __thread int fz_clock_on;

/*
 * Interposed over libc's: libuv reads its loop time through it.  Only
 * this thread, only inside fz_uv_run(), only the monotonic clocks:
 * libFuzzer's own timing (realtime, outside the loop) stays true.
 */
int
clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	int r;

	if (real == NULL)
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT,
		    "clock_gettime");
	r = real != NULL ? real(id, ts) : (int)syscall(SYS_clock_gettime, id, ts);
	if (r == 0 && fz_clock_on && fz_clock_skip_ms != 0 &&
	    (id == CLOCK_MONOTONIC || id == CLOCK_MONOTONIC_COARSE ||
	    id == CLOCK_MONOTONIC_RAW || id == CLOCK_BOOTTIME)) {
		uint64_t ns = (uint64_t)ts->tv_nsec + (fz_clock_skip_ms % 1000) * 1000000;
		ts->tv_sec += (time_t)(fz_clock_skip_ms / 1000 + ns / 1000000000);
		ts->tv_nsec = (long)(ns % 1000000000);
	}
	return r;
}

/*
 * Interposed too: a Via or Route host name from the input must never
 * reach a real resolver.  Names resolve only through [cloud] resolve.
 * (getenv here, not at start: libuv's thread calls it, maybe first.)
 */
int
getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	static long delay_ms = -1;

	/* FUZZ_GAI_DELAY_MS: a slow resolver (it runs on libuv's threads). */
	if (delay_ms < 0) {
		const char *e = getenv("FUZZ_GAI_DELAY_MS");
		delay_ms = e != NULL ? atol(e) : 0;
	}
	if (delay_ms > 0)
		usleep((useconds_t)delay_ms * 1000);
	*res = NULL;
	return EAI_NONAME;
}

void
fz_uv_run(uv_loop_t *loop, int times)
{
	fz_clock_on = 1;
	for (int i = 0; i < times; i++)
		uv_run(loop, UV_RUN_NOWAIT);
	fz_clock_on = 0;
}

/* ---- addresses and stand-ins ---- */

void
fz_sockaddr(struct sockaddr_storage *ss, socklen_t *len, const char *ip,
    uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	*len = sizeof(*sin);
}

static int
fz_bind(int type, const char *ip, uint16_t port, int listen_too)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	fz_sockaddr(&ss, &len, ip, port);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    (listen_too && listen(fd, 1024) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Is ip:port free for everything the proxy binds? */
static int
fz_addr_free(const char *ip)
{
	static const struct { int type; uint16_t port; } b[] = {
		{ SOCK_DGRAM, 5060 }, { SOCK_STREAM, 5060 }, { SOCK_STREAM, 5061 },
	};

	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		int fd = fz_bind(b[i].type, ip, b[i].port, b[i].type == SOCK_STREAM);
		if (fd < 0)
			return 0;
		close(fd);
	}
	return 1;
}

static void
fz_pick_address(void)
{
	unsigned pid = (unsigned)getpid();

	for (unsigned i = 0; i < 250; i++) {
		/* 127.77.0.1 is FZ_PBX_FACE: never ours. */
		unsigned a = (pid / 250 + i / 250) % 256, b = 2 + (pid + i) % 250;
		snprintf(fz_ip, sizeof(fz_ip), "127.77.%u.%u", a, b);
		snprintf(fz_ip_dead, sizeof(fz_ip_dead), "127.78.%u.%u", a, b);
		if (!fz_addr_free(fz_ip))
			continue;
		fz_pbx_fd = fz_bind(SOCK_DGRAM, fz_ip, FZ_PBX_UAS_PORT, 0);
		fz_cloud_fd = fz_bind(SOCK_STREAM, fz_ip, FZ_CLOUD_PORT, 1);
		if (fz_pbx_fd >= 0 && fz_cloud_fd >= 0)
			return;
		if (fz_pbx_fd >= 0)
			close(fz_pbx_fd);
		if (fz_cloud_fd >= 0)
			close(fz_cloud_fd);
	}
	fz_die("no free address in 127.77.0.0/16");
}

int
fz_pbx_drain(void (*check)(const char *buf, size_t len))
{
	static char buf[70000];
	int n = 0;
	ssize_t r;

	while ((r = recv(fz_pbx_fd, buf, sizeof(buf), 0)) >= 0) {
		if (check != NULL)
			check(buf, (size_t)r);
		n++;
	}
	return n;
}

static void
fz_cloud_drain(void)
{
	int fd;

	while ((fd = accept(fz_cloud_fd, NULL, NULL)) >= 0)
		close(fd);
}

/* ---- what need not be made again for each input ----
 *
 * Linked with -Wl,--wrap=...: app_init's two SSL_CTXs (OpenSSL 3
 * makes a context slowly, and the configuration never changes here) and
 * the media threads (starting and joining threads under ASan costs more
 * than the rest of an input) are made once and shared.
 */
static int fz_share;

SSL_CTX *__real_tls_client_ctx_new(const struct config *,
    const struct cfg_cloud *, char *, size_t);
SSL_CTX *__real_tls_server_ctx_new(const struct config *, char *, size_t);
int __real_media_workers_start(struct media_workers *, int);
void __real_media_workers_stop(struct media_workers *);

static SSL_CTX *
fz_shared_ctx(SSL_CTX **slot, SSL_CTX *(*make)(const struct config *,
    char *, size_t), const struct config *cfg, char *err, size_t errlen)
{
	if (!fz_share)
		return make(cfg, err, errlen);
	if (*slot == NULL && (*slot = make(cfg, err, errlen)) == NULL)
		return NULL;
	SSL_CTX_up_ref(*slot);	/* app_free drops this reference */
	return *slot;
}

/* The inputs' configurations have one trunk: one shared context. */
SSL_CTX *
__wrap_tls_client_ctx_new(const struct config *cfg,
    const struct cfg_cloud *tc, char *err, size_t errlen)
{
	static SSL_CTX *ctx;

	if (!fz_share)
		return __real_tls_client_ctx_new(cfg, tc, err, errlen);
	if (ctx == NULL &&
	    (ctx = __real_tls_client_ctx_new(cfg, tc, err, errlen)) == NULL)
		return NULL;
	SSL_CTX_up_ref(ctx);	/* app_free drops this reference */
	return ctx;
}

SSL_CTX *
__wrap_tls_server_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
	static SSL_CTX *ctx;

	return fz_shared_ctx(&ctx, __real_tls_server_ctx_new, cfg, err, errlen);
}

static struct media_workers fz_workers;

int
__wrap_media_workers_start(struct media_workers *mw, int n)
{
	int r;

	if (!fz_share)
		return __real_media_workers_start(mw, n);
	if (fz_workers.n == 0 && (r = __real_media_workers_start(&fz_workers, n)) < 0)
		return r;
	*mw = fz_workers;
	return 0;
}

static void
fz_barrier_job(struct media_worker *w, void *arg)
{
	uv_sem_post(arg);
}

/*
 * Instead of stopping: wait until each worker has run every job posted
 * so far (the relays' closes: their sockets are closed then), so that
 * the next input can bind the same ports.
 */
void
__wrap_media_workers_stop(struct media_workers *mw)
{
	uv_sem_t sem;

	if (!fz_share) {
		__real_media_workers_stop(mw);
		return;
	}
	uv_sem_init(&sem, 0);
	for (int i = 0; i < mw->n; i++)
		if (media_worker_post(&mw->w[i], fz_barrier_job, &sem) < 0)
			fz_die("media_worker_post");
	for (int i = 0; i < mw->n; i++)
		uv_sem_wait(&sem);
	uv_sem_destroy(&sem);
	memset(mw, 0, sizeof(*mw));
}

/* ---- the proxy ---- */

struct config *
fz_proxy_setup(void)
{
	char path[256], err[1024];
	const char *lvl = getenv("FUZZ_LOG");
	FILE *f;

	if (fz_cfg != NULL)
		return fz_cfg;
	fz_share = 1;
	signal(SIGPIPE, SIG_IGN);
	log_init(lvl != NULL && log_level_parse(lvl) >= 0 ?
	    (enum log_level)log_level_parse(lvl) : LOG_ERROR, 0);
	fz_pki();
	fz_pick_address();
	snprintf(path, sizeof(path), "%s/tlstrunk.ini", fz_tmpdir());
	if ((f = fopen(path, "w")) == NULL)
		fz_die("%s: %s", path, strerror(errno));
	fprintf(f,
	    "[general]\nlog_level = error\nadmin_listen =\n"
	    "[pbx]\nlisten = %s:5060\ntransports = udp,tcp\n"
	    "address = %s:%d\nallow = %s/32, " FZ_PBX_FACE "/32\n"
	    "advertised_address = " FZ_PBX_FACE "\n"
	    "[cloud]\nhosts = %s, %s\nport = %d\ntgrp = FuzzTrunk\n"
	    "trunk_context = trunk.fuzz.example\nca_file = %s/ca.pem\n"
	    "resolve = %s=%s, %s=%s\n"
	    "[tls_server]\nlisten = %s:5061\ncert_file = %s/sbc.pem\n"
	    "key_file = %s/sbc.key\nadvertised_name = %s\n"
	    "[media]\npbx_address = %s\npublic_address = 203.0.113.10\n"
	    "port_min = 30000\nport_max = 30099\n"
	    "[limits]\nmax_calls = 8\n"
	    /* A number plan, so every request's numbers are rewritten (the
	     * P-Asserted-Identity parse included): issue 17. */
	    "[rule e164]\nto_e164 = 1\n[rule nat]\nfrom_e164 = 1\n"
	    "[rule rx]\nmatch = ^9(\\d+)$\nreplace = $1\n"
	    "[route out-nat]\ndirection = to_cloud\nnumber = 0*,9*\n"
	    "trunk = default\ncalled = rx,e164\ncalling = e164\n"
	    "[route out]\ndirection = to_cloud\ntrunk = default\n"
	    "calling = e164\n"
	    "[route in]\ndirection = to_pbx\npbx = default\ncalled = nat\n"
	    "calling = nat\n",
	    fz_ip, fz_ip, FZ_PBX_UAS_PORT, fz_ip,
	    FZ_CLOUD1, FZ_CLOUD2, FZ_CLOUD_PORT, FZ_PKI_DIR,
	    FZ_CLOUD1, fz_ip, FZ_CLOUD2, fz_ip_dead,
	    fz_ip, FZ_PKI_DIR, FZ_PKI_DIR, FZ_SBC_NAME, fz_ip);
	fclose(f);
	if ((fz_cfg = calloc(1, sizeof(*fz_cfg))) == NULL)
		fz_die("out of memory");
	if (config_load(fz_cfg, path, err, sizeof(err)) < 0 ||
	    config_check_files(fz_cfg, err, sizeof(err)) < 0)
		fz_die("harness config: %s", err);
	return fz_cfg;
}

void
fz_proxy_start(struct fz_proxy *fp, const struct config *cfg)
{
	struct call_events calls;
	int r;

	memset(fp, 0, sizeof(*fp));
	fz_clock_skip_ms = 0;
	if ((r = uv_loop_init(&fp->loop)) < 0)
		fz_die("uv_loop_init: %s", uv_strerror(r));
	if ((r = app_init(&fp->app, &fp->loop, cfg)) < 0)
		fz_die("app_init failed (%d)", r);
	/* Our branches are z9hG4bKttf0f0f0f0<seq>: seeds can answer them. */
	snprintf(fp->app.px.branch_salt, sizeof(fp->app.px.branch_salt), "f0f0f0f0");
	core_call_events(&fp->app.px, &calls);
	if ((r = media_init(&fp->md, &fp->loop, cfg, &calls)) < 0)
		fz_die("media_init failed (%d)", r);
	media_attach(&fp->md, &fp->app.px.hooks);
	/* [state] is off: the listeners open at once. */
	if ((r = app_start(&fp->app, &fp->md)) < 0 || fp->app.failed < 0)
		fz_die("app_start failed (%d)", r < 0 ? r : fp->app.failed);
	fp->up = 1;
}

void
fz_proxy_stop(struct fz_proxy *fp)
{
	int r;

	if (!fp->up)
		return;
	app_shutdown(&fp->app);
	uv_run(&fp->loop, UV_RUN_DEFAULT);
	media_free(&fp->md);
	app_free(&fp->app);
	if ((r = uv_loop_close(&fp->loop)) != 0) {
		/* A handle left open after shutdown: the process would hang
		 * at exit; report it as the bug it is. */
		fprintf(stderr, "uv_loop_close: %s: a handle outlived "
		    "app_shutdown\n", uv_strerror(r));
		uv_print_all_handles(&fp->loop, stderr);
		abort();
	}
	fp->up = 0;
	fz_cloud_drain();
	fz_pbx_drain(NULL);
}
