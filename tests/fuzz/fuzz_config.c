/*
 * fuzz_config.c - libFuzzer target: the configuration loader.  The input
 * is written to a file and read with config_load(); what loads must keep
 * the promises of config.h, an error must name the file; a configuration
 * that loads and names only regular files (the seeds name the fuzz PKI,
 * FZ_PKI_DIR) also goes through config_check_files() and the two TLS
 * contexts app_init() would make from it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "fuzz_common.h"
#include "log.h"
#include "tls.h"

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "check failed: %s (line %d)\n", #c,	\
		    __LINE__);						\
		abort();						\
	}								\
} while (0)

static struct config *cfg;
static char path[256];
static char err[2048];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *lvl = getenv("FUZZ_LOG");

	log_init(lvl != NULL && log_level_parse(lvl) >= 0 ?
	    (enum log_level)log_level_parse(lvl) : LOG_ERROR, 0);
	fz_pki();
	snprintf(path, sizeof(path), "%s/fuzz.ini", fz_tmpdir());
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		fz_die("out of memory");
	return 0;
}

/*
 * "" or a regular file; "" or a directory.  Only under the fuzz PKI or
 * /etc/ssl: elsewhere a device, proc or fifo file could block or never
 * end (a real finding for nobody).
 */
static int
file_ok(const char *p, int dir)
{
	struct stat st;

	if (p[0] == '\0')
		return 1;
	if ((strncmp(p, FZ_PKI_DIR "/", sizeof(FZ_PKI_DIR)) != 0 &&
	    strncmp(p, "/etc/ssl/", 9) != 0) || strstr(p, "/.") != NULL)
		return 0;
	if (stat(p, &st) < 0)
		return 1;	/* missing: the check reports it, fast */
	return dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode) &&
	    st.st_size < (1 << 20);
}

static int
files_ok(const struct config *c)
{
	return file_ok(c->tls_server.cert_file, 0) &&
	    file_ok(c->tls_server.key_file, 0) &&
	    file_ok(c->tls_server.client_ca_file, 0) &&
	    file_ok(c->cloud.ca_file, 0) && file_ok(c->cloud.crl_file, 0) &&
	    file_ok(c->cloud.ca_path, 1);
}

static void
check_error(void)
{
	CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	/* "FILE:LINE: ..." */
	CHECK(strncmp(err, path, strlen(path)) == 0 && err[strlen(path)] == ':');
}

static void
check_loaded(const struct config *c)
{
	struct sockaddr_in sin;

	/* Each trunk's proxies: a list (hosts or the region's), or SRV at
	 * run time. */
	for (int t = 0; t < c->ntrunks; t++) {
		const struct cfg_cloud *tc = &c->trunks[t];
		CHECK(tc->domain[0] != '\0' ? tc->nhosts == 0 :
		    tc->nhosts >= 1 && tc->nhosts <= CFG_MAX_HOSTS);
		for (int i = 0; i < tc->nhosts; i++)
			CHECK(tc->hosts[i][0] != '\0');
	}
	for (int p = 0; p < c->npbx; p++)
		CHECK(c->pbxs[p].allow.n >= 1 &&
		    c->pbxs[p].allow.n <= CFG_MAX_ALLOW &&
		    c->pbxs[p].transports != 0);
	CHECK(c->pbx.advertised_address[0] != '\0');
	CHECK(c->media.public_address[0] != '\0');
	CHECK(c->media.port_min < c->media.port_max);
	CHECK(c->ntrunks >= 1 && c->ntrunks <= CFG_MAX_TRUNKS);
	CHECK(c->npbx >= 1 && c->npbx <= CFG_MAX_PBX);
	for (int i = 0; i < c->ntrunks; i++) {
		const struct cfg_cloud *t = &c->trunks[i];
		CHECK(t->tls_min_version <= t->tls_max_version);
		CHECK(t->nresolve >= 0 && t->nresolve <= CFG_MAX_RESOLVE);
		CHECK(t->tgrp[0] != '\0' && t->trunk_context[0] != '\0');
		CHECK(t->nhosts > 0 || t->domain[0] != '\0');
		CHECK(t->name[0] != '\0');
	}
	CHECK(c->media.nsrtp_suites >= 1 && c->media.nsrtp_suites <= CFG_MAX_SUITES);
	CHECK(c->limits.max_message_size > 0);
	CHECK(c->tls_server.advertised_name[0] != '\0');
	CHECK(c->tls_server.cert_file[0] != '\0' && c->tls_server.key_file[0] != '\0');
	CHECK(!c->tls_server.mutual || c->tls_server.client_ca_file[0] != '\0');
	/* Strings stay terminated inside their fields. */
	CHECK(memchr(c->cloud.ciphers, '\0', sizeof(c->cloud.ciphers)) != NULL);
	CHECK(memchr(c->cloud.groups, '\0', sizeof(c->cloud.groups)) != NULL);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000001);
	(void)config_pbx_allowed(c, (struct sockaddr *)&sin);
	CHECK(config_key_line(c, "cloud", "ciphers") >= 0);
	CHECK(config_key_line(c, "nosuch", "key") == -1);
}

/* What the start does with a configuration that loaded. */
static void
use_loaded(struct config *c)
{
	SSL_CTX *ctx;

	check_loaded(c);
	if (!files_ok(c))
		return;
	memset(err, 0, sizeof(err));
	if (config_check_files(c, err, sizeof(err)) < 0) {
		check_error();
		return;
	}
	/* What app_init() makes of it. */
	for (int i = 0; i < c->ntrunks; i++)
		if ((ctx = tls_client_ctx_new(c, &c->trunks[i], err,
		    sizeof(err))) != NULL)
			SSL_CTX_free(ctx);
	if ((ctx = tls_server_ctx_new(c, err, sizeof(err))) != NULL)
		SSL_CTX_free(ctx);
	ERR_clear_error();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_write_file(path, data, size) < 0)
		fz_die("cannot write %s", path);
	memset(err, 0, sizeof(err));
	if (config_load(cfg, path, err, sizeof(err)) < 0) {
		check_error();
		return 0;
	}
	use_loaded(cfg);
	config_free(cfg);
	return 0;
}
