/*
 * test_docs.c - config/tlstrunk.ini.example against the built-in defaults
 * (config_load): every key line of the example either sets the key to its
 * default (the file loads to the same configuration without the line), or
 * is one the file cannot do without (a site key: required, or required in
 * this file, e.g. [media] public_address with a wildcard TLS listener) and
 * says so with a "SITE" comment above it.
 *
 * The other direction (every key config/config.c accepts is in the
 * example, in `tlstrunk --help` with the example's value as its default,
 * and in README.md) is tests/integration/88_packaging.sh's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "config.h"
#include "log.h"

#define MAX_LINES	1024

static char dir[64];
static char *lines[MAX_LINES];
static int nlines;
static struct config *full, *less;

static void
read_example(void)
{
	char path[PATH_MAX], buf[8192], *slash;
	FILE *fp;

	/* __FILE__ is tests/unit/test_docs.c under the source tree. */
	snprintf(path, sizeof(path), "%s", __FILE__);
	for (int up = 0; up < 3 && (slash = strrchr(path, '/')) != NULL; up++)
		*slash = '\0';
	strncat(path, "/config/tlstrunk.ini.example",
	    sizeof(path) - strlen(path) - 1);
	if ((fp = fopen(path, "r")) == NULL)
		cr_skip_test("%s: %s", path, strerror(errno));
	nlines = 0;
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		cr_assert_lt(nlines, MAX_LINES, "example too long");
		lines[nlines] = strdup(buf);
		cr_assert_not_null(lines[nlines]);
		nlines++;
	}
	fclose(fp);
	cr_assert_gt(nlines, 20, "example too short");
}

static void
setup(void)
{
	strcpy(dir, "/tmp/tlstrunk-docs-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	full = calloc(1, sizeof(*full));
	less = calloc(1, sizeof(*less));
	cr_assert(full != NULL && less != NULL);
	log_init(LOG_ERROR, 0);
	read_example();
}

static void
teardown(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/example.ini", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/less.ini", dir);
	unlink(path);
	rmdir(dir);
	for (int i = 0; i < nlines; i++)
		free(lines[i]);
	free(full);
	free(less);
}

TestSuite(docs, .init = setup, .fini = teardown);

/* Write the example less line skip (0-based, -1 = none) to name; load it. */
static int
load_without(struct config *cfg, int skip, const char *name, char *err,
    size_t errlen)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	for (int i = 0; i < nlines; i++)
		fputs(i == skip ? "; (removed)\n" : lines[i], fp);
	fclose(fp);
	return config_load(cfg, path, err, errlen);
}

/* A key line: not blank, not a comment, not a section header. */
static int
is_key_line(const char *l)
{
	l += strspn(l, " \t");
	return *l != '\0' && *l != '\n' && *l != '\r' && *l != ';' &&
	    *l != '#' && *l != '[' && strchr(l, '=') != NULL;
}

/* The comment block right above the run of key lines holding line i. */
static int
marked_site(int i)
{
	while (i > 0 && is_key_line(lines[i - 1]))
		i--;
	for (i--; i >= 0; i--) {
		const char *l = lines[i] + strspn(lines[i], " \t");

		if (*l != ';' && *l != '#')
			return 0;
		if (strstr(l, "SITE") != NULL)
			return 1;
	}
	return 0;
}

static void
addr_eq(const struct cfg_addr *a, const struct cfg_addr *b, const char *what)
{
	cr_expect_str_eq(a->host, b->host, "%s: host", what);
	cr_expect_eq(a->port, b->port, "%s: port", what);
	cr_expect_eq(a->is_ip, b->is_ip, "%s: is_ip", what);
	cr_expect_eq(a->sslen, b->sslen, "%s: sslen", what);
	if (a->sslen == b->sslen && a->sslen <= sizeof(a->ss))
		cr_expect(memcmp(&a->ss, &b->ss, a->sslen) == 0,
		    "%s: address", what);
}

#define INT_EQ(f)	cr_expect_eq(a->f, b->f, "%s: " #f " %ld != %ld", why, \
			    (long)a->f, (long)b->f)
#define STR_EQ(f)	cr_expect_str_eq(a->f, b->f, "%s: " #f, why)

/*
 * Every member of struct config that a key sets (not path, key_line).
 * A new key's member belongs here too.
 */
static void
config_eq(const struct config *a, const struct config *b, const char *why)
{
	INT_EQ(general.log_level);
	INT_EQ(general.log_json);
	addr_eq(&a->general.admin_listen, &b->general.admin_listen, why);

	addr_eq(&a->pbx.listen, &b->pbx.listen, why);
	INT_EQ(pbx.transports);
	addr_eq(&a->pbx.address, &b->pbx.address, why);
	INT_EQ(pbx.address_transport);
	INT_EQ(pbx.allow.n);
	for (int i = 0; i < a->pbx.allow.n && i < b->pbx.allow.n; i++) {
		INT_EQ(pbx.allow.net[i].family);
		INT_EQ(pbx.allow.net[i].prefix);
		cr_expect(memcmp(a->pbx.allow.net[i].addr, b->pbx.allow.net[i].addr,
		    sizeof(a->pbx.allow.net[i].addr)) == 0, "%s: allow", why);
	}
	STR_EQ(pbx.advertised_address);

	STR_EQ(cloud.region);
	INT_EQ(cloud.nhosts);
	for (int i = 0; i < a->cloud.nhosts && i < b->cloud.nhosts; i++)
		STR_EQ(cloud.hosts[i]);
	INT_EQ(cloud.port);
	STR_EQ(cloud.tgrp);
	STR_EQ(cloud.trunk_context);
	STR_EQ(cloud.ca_file);
	STR_EQ(cloud.ca_path);
	STR_EQ(cloud.crl_file);
	INT_EQ(cloud.tls_min_version);
	INT_EQ(cloud.tls_max_version);
	STR_EQ(cloud.ciphers);
	STR_EQ(cloud.groups);
	INT_EQ(cloud.nresolve);
	for (int i = 0; i < a->cloud.nresolve && i < b->cloud.nresolve; i++)
		STR_EQ(cloud.resolve[i].name);
	INT_EQ(cloud.keepalive_interval);
	INT_EQ(cloud.balance);
	INT_EQ(cloud.options_interval);
	INT_EQ(cloud.options_interval_down);
	INT_EQ(cloud.failover_timeout);
	INT_EQ(cloud.drain_timeout);
	INT_EQ(cloud.max_message_size);

	addr_eq(&a->tls_server.listen, &b->tls_server.listen, why);
	STR_EQ(tls_server.cert_file);
	STR_EQ(tls_server.key_file);
	STR_EQ(tls_server.advertised_name);
	INT_EQ(tls_server.mutual);
	STR_EQ(tls_server.client_ca_file);

	STR_EQ(media.pbx_address);
	STR_EQ(media.public_address);
	INT_EQ(media.port_min);
	INT_EQ(media.port_max);
	INT_EQ(media.nsrtp_suites);
	for (int i = 0; i < a->media.nsrtp_suites && i < b->media.nsrtp_suites; i++)
		STR_EQ(media.srtp_suites[i]);
	INT_EQ(media.timeout);

	INT_EQ(limits.max_message_size);
	INT_EQ(limits.max_connections);
	INT_EQ(limits.max_connections_per_source);
	INT_EQ(limits.max_calls);
	INT_EQ(limits.max_cps_per_source);
	INT_EQ(limits.handshake_timeout);
	INT_EQ(limits.idle_timeout);
	INT_EQ(limits.message_timeout);
	INT_EQ(limits.max_headers);
	INT_EQ(limits.max_calls_per_source);

	addr_eq(&a->trace.hep_collector, &b->trace.hep_collector, why);
	INT_EQ(trace.hep_id);
	STR_EQ(trace.tls_keylog);
	STR_EQ(trace.srtp_keylog);

	STR_EQ(state.redis);
	STR_EQ(state.redis_password_file);
	STR_EQ(state.redis_password);
	STR_EQ(state.key_prefix);
	STR_EQ(state.node);
	INT_EQ(state.ttl);
}

Test(docs, example_values_are_the_defaults)
{
	char err[2048], why[2300];
	int nkeys = 0, nsite = 0;

	cr_assert_eq(load_without(full, -1, "example.ini", err, sizeof(err)),
	    0, "the example does not load: %s", err);
	for (int i = 0; i < nlines; i++) {
		if (!is_key_line(lines[i]))
			continue;
		nkeys++;
		snprintf(why, sizeof(why), "example line %d without it (%.*s)",
		    i + 1, (int)strcspn(lines[i], "\r\n"), lines[i]);
		if (load_without(less, i, "less.ini", err, sizeof(err)) != 0) {
			/* Cannot go: the site's own value. */
			cr_expect(marked_site(i), "%s does not load (%s), yet "
			    "no SITE comment says the line must be set", why,
			    err);
			nsite++;
			continue;
		}
		config_eq(full, less, why);
	}
	cr_assert_gt(nkeys, 40, "only %d key lines in the example", nkeys);
	cr_log_info("%d key lines, %d of them site keys", nkeys, nsite);
}
