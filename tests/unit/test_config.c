/*
 * test_config.c - config_load: every error class names the right
 * FILE:LINE, [section] key and reason; defaults; region expansion.
 * config_check_files against certificates made here at run time.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <criterion/criterion.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "log.h"
#include "netaddr.h"

/*
 * A minimal valid file.  Tests append to it (sections may repeat), so
 * the first added line is line 14.
 */
static const char *const base_lines[] = {
	"[pbx]",					/* 1 */
	"address = 192.168.10.20:5060",			/* 2 */
	"allow = 192.168.10.0/24",			/* 3 */
	"[cloud]",					/* 4 */
	"region = use1",				/* 5 */
	"tgrp = MyTrunk",				/* 6 */
	"trunk_context = ns.example.com",		/* 7 */
	"[tls_server]",					/* 8 */
	"cert_file = /nonexistent/cert.pem",		/* 9 */
	"key_file = /nonexistent/key.pem",		/* 10 */
	"advertised_name = sbc.example.com",		/* 11 */
	"[media]",					/* 12 */
	"public_address = 203.0.113.10",		/* 13 */
	NULL
};

static char dir[64];			/* mkdtemp() name */
static char path[PATH_MAX];
static char err[8192];
static struct config *cfg;

static void
setup(void)
{
	strcpy(dir, "/tmp/tlstrunk-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tlstrunk.ini", dir);
	cfg = calloc(1, sizeof(*cfg));
	cr_assert_not_null(cfg);
	err[0] = '\0';
}

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void
teardown(void)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	config_free(cfg);
	free(cfg);
}

TestSuite(config, .init = setup, .fini = teardown);

static void
write_file(const char *p, const char *text)
{
	FILE *fp = fopen(p, "w");

	cr_assert_not_null(fp, "%s: %s", p, strerror(errno));
	fputs(text, fp);
	fclose(fp);
}

/* The base file minus lines skip and skip2 (1-based, 0 = none), then
 * extra. */
static char *
base_text_skip2(int skip, int skip2, const char *extra)
{
	static char text[65536];

	text[0] = '\0';
	for (int i = 0; base_lines[i] != NULL; i++) {
		if (i + 1 == skip || i + 1 == skip2)
			strcat(text, "; removed\n");
		else {
			strcat(text, base_lines[i]);
			strcat(text, "\n");
		}
	}
	strcat(text, extra);
	return text;
}

/* The base file minus line skip (1-based, 0 = none), then extra. */
static char *
base_text(int skip, const char *extra)
{
	return base_text_skip2(skip, 0, extra);
}

static int
load_text(const char *text)
{
	write_file(path, text);
	return config_load(cfg, path, err, sizeof(err));
}

static void
load_ok(const char *extra)
{
	int r = load_text(base_text(0, extra));

	cr_assert_eq(r, 0, "failed: %s", err);
}

/* err must be "<path><where>..." and contain reason. */
static void
expect_err(const char *where, const char *reason)
{
	size_t n = strlen(path);

	cr_assert(strncmp(err, path, n) == 0, "no file name: %s", err);
	cr_assert(strncmp(err + n, where, strlen(where)) == 0,
	    "want \"%s\", got \"%s\"", where, err);
	cr_assert_not_null(strstr(err, reason), "want \"%s\" in \"%s\"",
	    reason, err);
}

static void
load_bad(const char *extra, const char *where, const char *reason)
{
	cr_assert_eq(load_text(base_text(0, extra)), -1, "accepted: %s",
	    extra);
	expect_err(where, reason);
}

Test(config, minimal_file_and_defaults)
{
	load_ok("");
	cr_assert_eq(cfg->general.log_level, LOG_INFO);
	cr_assert_eq(cfg->general.log_json, 0);
	cr_assert_str_eq(cfg->general.admin_listen.host, "127.0.0.1");
	cr_assert_eq(cfg->general.admin_listen.port, 9090);
	cr_assert(cfg->general.admin_listen.is_ip);
	cr_assert_eq(cfg->general.admin_listen.ss.ss_family, AF_INET);

	cr_assert_str_eq(cfg->pbx.listen.host, "0.0.0.0");
	cr_assert_eq(cfg->pbx.listen.port, 5060);
	cr_assert_eq(cfg->pbx.transports, CFG_TP_UDP | CFG_TP_TCP);
	cr_assert_str_eq(cfg->pbx.address.host, "192.168.10.20");
	cr_assert_eq(cfg->pbx.address.port, 5060);
	cr_assert_eq(cfg->pbx.address_transport, CFG_TP_UDP);
	cr_assert_eq(cfg->pbx.allow.n, 1);
	cr_assert_eq(cfg->pbx.allow.net[0].prefix, 24);
	/* Wildcard listen: an interface address, never the wildcard. */
	cr_assert_neq(cfg->pbx.advertised_address[0], '\0');
	cr_assert_str_neq(cfg->pbx.advertised_address, "0.0.0.0");
	cr_assert_str_eq(cfg->media.pbx_address, cfg->pbx.advertised_address);

	cr_assert_eq(cfg->cloud.port, 5061);
	cr_assert_eq(cfg->cloud.tls_min_version, TLS1_2_VERSION);
	cr_assert_eq(cfg->cloud.tls_max_version, TLS1_2_VERSION);
	/* The spec's eight less the two the cloud deprecated. */
	cr_assert_str_eq(cfg->cloud.ciphers,
	    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:"
	    "ECDHE-RSA-AES256-SHA:AES256-GCM-SHA384:AES128-GCM-SHA256:"
	    "AES256-SHA");
	cr_assert_str_eq(cfg->cloud.groups, "secp384r1");
	cr_assert_str_eq(cfg->cloud.ca_file, "");
	cr_assert_str_eq(cfg->cloud.ca_path, "");
	cr_assert_eq(cfg->cloud.nresolve, 0);
	cr_assert_eq(cfg->cloud.keepalive_interval, 30);
	cr_assert_eq(cfg->cloud.balance, CFG_BALANCE_RR);
	cr_assert_eq(cfg->cloud.options_interval, 30);
	cr_assert_eq(cfg->cloud.options_interval_down, 10);
	cr_assert_eq(cfg->cloud.failover_timeout, 4);
	cr_assert_eq(cfg->cloud.drain_timeout, 30);
	cr_assert_eq(cfg->cloud.max_message_size, 16384);

	cr_assert_str_eq(cfg->tls_server.listen.host, "0.0.0.0");
	cr_assert_eq(cfg->tls_server.listen.port, 5061);
	cr_assert_eq(cfg->tls_server.mutual, 0);

	cr_assert_eq(cfg->media.port_min, 20000);
	cr_assert_eq(cfg->media.port_max, 29999);
	cr_assert_eq(cfg->media.nsrtp_suites, 2);
	cr_assert_str_eq(cfg->media.srtp_suites[0], "AES_CM_128_HMAC_SHA1_80");
	cr_assert_str_eq(cfg->media.srtp_suites[1], "AES_CM_128_HMAC_SHA1_32");
	cr_assert_eq(cfg->media.timeout, 60);
	cr_assert_str_eq(cfg->media.public_address, "203.0.113.10");

	cr_assert_eq(cfg->limits.max_message_size, 65536);
	cr_assert_eq(cfg->limits.max_connections, 1024);
	cr_assert_eq(cfg->limits.max_connections_per_source, 64);
	cr_assert_eq(cfg->limits.max_calls, 2000);
	cr_assert_eq(cfg->limits.max_cps_per_source, 50);
	cr_assert_eq(cfg->limits.handshake_timeout, 10);
	cr_assert_eq(cfg->limits.idle_timeout, 300);

	cr_assert_eq(cfg->trace.hep_collector.port, 0);
	cr_assert_eq(cfg->trace.hep_id, 2001);
	cr_assert_str_eq(cfg->trace.tls_keylog, "");
	cr_assert_str_eq(cfg->path, path);
}

Test(config, key_lines)
{
	load_ok("[cloud]\nport = 5062\n");
	cr_assert_eq(config_key_line(cfg, "pbx", "allow"), 3);
	cr_assert_eq(config_key_line(cfg, "tls_server", "key_file"), 10);
	cr_assert_eq(config_key_line(cfg, "cloud", "port"), 15);
	cr_assert_eq(config_key_line(cfg, "cloud", "groups"), 0);
	cr_assert_eq(config_key_line(cfg, "cloud", "nope"), -1);
	cr_assert_eq(config_key_line(cfg, "nope", "port"), -1);
}

Test(config, region_expansion)
{
	load_ok("");
	cr_assert_str_eq(cfg->cloud.region, "use1");
	cr_assert_eq(cfg->cloud.nhosts, 4);
	cr_assert_str_eq(cfg->cloud.hosts[0], "lb01.voice.use1.pure.cloud");
	cr_assert_str_eq(cfg->cloud.hosts[3], "lb04.voice.use1.pure.cloud");
}

Test(config, region_use2)
{
	char *text = base_text(5, "[cloud]\nregion = use2\n");

	cr_assert_eq(load_text(text), 0, "%s", err);
	cr_assert_eq(cfg->cloud.nhosts, 4);
	cr_assert_str_eq(cfg->cloud.hosts[1],
	    "lb02.voice.use2.us-gov-pure.cloud");
}

Test(config, hosts_override_region)
{
	load_ok("[cloud]\nhosts = a.example.com, b.example.com\n");
	cr_assert_eq(cfg->cloud.nhosts, 2);
	cr_assert_str_eq(cfg->cloud.hosts[0], "a.example.com");
	cr_assert_str_eq(cfg->cloud.hosts[1], "b.example.com");
	cr_assert_str_eq(cfg->cloud.region, "use1");
}

Test(config, hosts_without_region)
{
	char *text = base_text(5, "[cloud]\nhosts = sip.example.net\n");

	cr_assert_eq(load_text(text), 0, "%s", err);
	cr_assert_str_eq(cfg->cloud.region, "");
	cr_assert_eq(cfg->cloud.nhosts, 1);
	cr_assert_str_eq(cfg->cloud.hosts[0], "sip.example.net");
}

Test(config, hosts_ip_rejected)
{
	load_bad("[cloud]\nhosts = a.example.com, 10.0.0.1\n",
	    ":15: [cloud] hosts: ", "must be a host name, not an IP address");
	load_bad("[cloud]\nhosts = [2001:db8::1]\n",
	    ":15: [cloud] hosts: ", "must be a host name, not an IP address");
	load_bad("[cloud]\nhosts = 10.0.0.1:5061\n",
	    ":15: [cloud] hosts: ", "must be a host name, not an IP address");
	load_bad("[cloud]\nhosts = _sips._tcp.example.com\n",
	    ":15: [cloud] hosts: ", "not a valid host name");
	load_bad("[cloud]\nhosts = a.example.com,\n",
	    ":15: [cloud] hosts: ", "list");
	load_bad("[cloud]\nhosts = a.com,b.com,c.com,d.com,e.com,f.com,g.com,"
	    "h.com,i.com\n", ":15: [cloud] hosts: ", "too many");
}

Test(config, region_or_hosts_required)
{
	cr_assert_eq(load_text(base_text(5, "")), -1);
	expect_err(":0: [cloud] region: ", "required key missing");
}

Test(config, unknown_region_named)
{
	cr_assert_eq(load_text(base_text(5, "[cloud]\nregion = euw9\n")), -1);
	expect_err(":15: [cloud] region: ", "unknown region \"euw9\"");
	cr_assert_not_null(strstr(err, "apne3"));
}

Test(config, unknown_key)
{
	load_bad("[cloud]\nbogus = 1\n", ":15: [cloud] bogus: ", "unknown key");
	load_bad("[pbx]\nListen = 0.0.0.0:5060\n", ":15: [pbx] Listen: ",
	    "unknown key");
}

Test(config, unknown_section)
{
	load_bad("[bogus]\nport = 1\n", ":14: [bogus]: ", "unknown section");
	/* Even without keys: inih alone would not report it. */
	load_bad("[empty]\n", ":14: [empty]: ", "unknown section");
	load_bad("  [ pbx ]\n", ":14: [ pbx ]: ", "unknown section");
}

Test(config, key_outside_section)
{
	cr_assert_eq(load_text("stray = 1\n[pbx]\n"), -1);
	expect_err(":1: stray: ", "not inside a [section]");
}

Test(config, duplicate_key)
{
	load_bad("[cloud]\nregion = euw1\n", ":15: [cloud] region: ",
	    "duplicate key (first set on line 5)");
	load_bad("[general]\nlog_level = info\nlog_level = debug\n",
	    ":16: [general] log_level: ", "duplicate key");
}

Test(config, syntax_error)
{
	load_bad("[cloud]\nport 5061\n", ":15: ", "syntax error");
	load_bad("[cloud\n", ":14: ", "syntax error");
}

Test(config, continuation_line_is_an_error)
{
	load_bad("[cloud]\nhosts = a.example.com\n  b.example.com\n", ":16: ",
	    "syntax error");
}

Test(config, comments_and_blanks)
{
	load_ok("\n# hash comment\n; semicolon comment\n[cloud]\n"
	    "  port = 5062 ; inline comment\n\n");
	cr_assert_eq(cfg->cloud.port, 5062);
}

Test(config, long_lines)
{
	char extra[8192];
	size_t off;

	/* Longer than inih's built-in 200 bytes. */
	off = (size_t)snprintf(extra, sizeof(extra), "[pbx]\nallow = "
	    "192.168.10.0/24");
	for (int i = 0; i < 40; i++)
		off += (size_t)snprintf(extra + off, sizeof(extra) - off,
		    ", 10.%d.0.0/16", i);
	snprintf(extra + off, sizeof(extra) - off, "\n");
	cr_assert_eq(load_text(base_text(3, extra)), 0, "%s", err);
	cr_assert_eq(cfg->pbx.allow.n, 41);
	cr_assert_eq(cfg->pbx.allow.net[40].addr[1], 39);

	memset(extra, 'x', 5000);
	memcpy(extra, "[cloud]\ntgrp = ", 15);
	strcpy(extra + 5000, "\n");
	load_bad(extra, ":15: ", "line too long");
}

Test(config, missing_file)
{
	snprintf(path, sizeof(path), "%s/nope.ini", dir);
	cr_assert_eq(config_load(cfg, path, err, sizeof(err)), -1);
	expect_err(":0: ", "cannot open: No such file or directory");
}

Test(config, required_keys)
{
	static const struct {
		int line;
		const char *where;
	} req[] = {
		{ 2, ":0: [pbx] address: " },
		{ 3, ":0: [pbx] allow: " },
		{ 6, ":0: [cloud] tgrp: " },
		{ 7, ":0: [cloud] trunk_context: " },
		{ 9, ":0: [tls_server] cert_file: " },
		{ 10, ":0: [tls_server] key_file: " },
		{ 11, ":0: [tls_server] advertised_name: " },
	};

	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		cr_assert_eq(load_text(base_text(req[i].line, "")), -1,
		    "line %d", req[i].line);
		expect_err(req[i].where, "required key missing");
	}
}

Test(config, required_keys_not_empty)
{
	cr_assert_eq(load_text(base_text(9, "[tls_server]\ncert_file =\n")), -1);
	expect_err(":15: [tls_server] cert_file: ", "must not be empty");
	cr_assert_eq(load_text(base_text(6, "[cloud]\ntgrp =\n")), -1);
	expect_err(":15: [cloud] tgrp: ", "must not be empty");
	cr_assert_eq(load_text(base_text(3, "[pbx]\nallow =\n")), -1);
	expect_err(":15: [pbx] allow: ", "CIDR");
}

Test(config, allow_cidrs)
{
	struct sockaddr_storage ss;
	struct sockaddr *sa = (struct sockaddr *)&ss;
	socklen_t len;

	cr_assert_eq(load_text(base_text(3, "[pbx]\nallow = 192.168.10.0/24, "
	    "2001:db8::/32, 10.1.2.3\n")), 0, "%s", err);
	cr_assert_eq(cfg->pbx.allow.n, 3);
	cr_assert_eq(cfg->pbx.allow.net[1].family, AF_INET6);
	cr_assert_eq(cfg->pbx.allow.net[1].prefix, 32);
	cr_assert_eq(cfg->pbx.allow.net[2].family, AF_INET);
	cr_assert_eq(cfg->pbx.allow.net[2].prefix, 32);

	netaddr_to_sockaddr("192.168.10.99", 5060, &ss, &len);
	cr_assert(config_pbx_allowed(cfg, sa));
	netaddr_to_sockaddr("::ffff:192.168.10.99", 5060, &ss, &len);
	cr_assert(config_pbx_allowed(cfg, sa));
	netaddr_to_sockaddr("2001:db8:ffff::1", 5060, &ss, &len);
	cr_assert(config_pbx_allowed(cfg, sa));
	netaddr_to_sockaddr("10.1.2.3", 5060, &ss, &len);
	cr_assert(config_pbx_allowed(cfg, sa));
	netaddr_to_sockaddr("10.1.2.4", 5060, &ss, &len);
	cr_assert_not(config_pbx_allowed(cfg, sa));
	netaddr_to_sockaddr("192.168.11.1", 5060, &ss, &len);
	cr_assert_not(config_pbx_allowed(cfg, sa));
	netaddr_to_sockaddr("2001:db9::1", 5060, &ss, &len);
	cr_assert_not(config_pbx_allowed(cfg, sa));
}

Test(config, cloud_allow)
{
	struct sockaddr_storage ss;
	struct sockaddr *sa = (struct sockaddr *)&ss;
	socklen_t len;

	/* Default and empty: any source (the cloud's addresses change). */
	cr_assert_eq(load_text(base_text(0, "")), 0, "%s", err);
	cr_assert_eq(cfg->tls_server.allow.n, 0);
	netaddr_to_sockaddr("203.0.113.7", 40000, &ss, &len);
	cr_assert(config_cloud_allowed(cfg, sa));
	cr_assert_eq(load_text(base_text(0, "[tls_server]\nallow =\n")), 0,
	    "%s", err);
	cr_assert(config_cloud_allowed(cfg, sa));

	cr_assert_eq(load_text(base_text(0, "[tls_server]\nallow = "
	    "198.51.100.0/24\n")), 0, "%s", err);
	cr_assert_eq(cfg->tls_server.allow.n, 1);
	cr_assert_not(config_cloud_allowed(cfg, sa));
	netaddr_to_sockaddr("198.51.100.9", 40000, &ss, &len);
	cr_assert(config_cloud_allowed(cfg, sa));
	/* The PBX list is separate. */
	cr_assert_not(config_pbx_allowed(cfg, sa));

	cr_assert_eq(load_text(base_text(0, "[tls_server]\nallow = "
	    "198.51.100.1/24\n")), -1);
	expect_err(":15: [tls_server] allow: ", "host bits set");
}

Test(config, bad_cidr)
{
	cr_assert_eq(load_text(base_text(3, "[pbx]\nallow = 10.0.0.0/33\n")),
	    -1);
	expect_err(":15: [pbx] allow: ", "\"10.0.0.0/33\" is not an IP address "
	    "or CIDR network");
	cr_assert_eq(load_text(base_text(3, "[pbx]\nallow = 10.0.0.0/8, "
	    "pbx.example.com\n")), -1);
	expect_err(":15: [pbx] allow: ", "\"pbx.example.com\"");
	cr_assert_eq(load_text(base_text(3, "[pbx]\nallow = 10.0.0.5/24\n")),
	    -1);
	expect_err(":15: [pbx] allow: ", "host bits set");
	cr_assert_eq(load_text(base_text(3, "[pbx]\nallow = 10.0.0.0/8,,"
	    "10.1.0.0/16\n")), -1);
	expect_err(":15: [pbx] allow: ", "list");
}

Test(config, pbx_address)
{
	char *text = base_text(2, "[pbx]\naddress = 10.0.0.5:5070;transport=tcp\n");

	cr_assert_eq(load_text(text), 0, "%s", err);
	cr_assert_eq(cfg->pbx.address_transport, CFG_TP_TCP);
	cr_assert_eq(cfg->pbx.address.port, 5070);
	cr_assert_eq(cfg->pbx.address.ss.ss_family, AF_INET);

	cr_assert_eq(load_text(base_text(2, "[pbx]\naddress = [2001:db8::5]"
	    ";transport=udp\n")), 0, "%s", err);
	cr_assert_eq(cfg->pbx.address.port, 5060);
	cr_assert_eq(cfg->pbx.address_transport, CFG_TP_UDP);

	cr_assert_eq(load_text(base_text(2, "[pbx]\naddress = "
	    "pbx.example.com:5060\n")), -1);
	expect_err(":15: [pbx] address: ", "must be an IP address");
	cr_assert_eq(load_text(base_text(2, "[pbx]\naddress = "
	    "10.0.0.5:5060;transport=tls\n")), -1);
	expect_err(":15: [pbx] address: ", "transport");
	cr_assert_eq(load_text(base_text(2, "[pbx]\naddress = 10.0.0.5:99999\n")),
	    -1);
	expect_err(":15: [pbx] address: ", "not host:port");
}

Test(config, listen_must_be_ip)
{
	load_bad("[pbx]\nlisten = pbx.example.com:5060\n", ":15: [pbx] listen: ",
	    "must be an IP address");
	load_bad("[tls_server]\nlisten = sbc.example.com:5061\n",
	    ":15: [tls_server] listen: ", "must be an IP address");
	load_bad("[general]\nadmin_listen = localhost:9090\n",
	    ":15: [general] admin_listen: ", "must be an IP address");
}

Test(config, listen_addresses)
{
	load_ok("[pbx]\nlisten = 10.1.1.1:5070\ntransports = udp\n"
	    "[tls_server]\nlisten = [2001:db8::7]:5071\n"
	    "[general]\nadmin_listen =\n");
	cr_assert_eq(cfg->pbx.listen.port, 5070);
	cr_assert_eq(cfg->pbx.transports, CFG_TP_UDP);
	cr_assert_str_eq(cfg->pbx.advertised_address, "10.1.1.1");
	cr_assert_str_eq(cfg->media.pbx_address, "10.1.1.1");
	cr_assert_str_eq(cfg->tls_server.listen.host, "2001:db8::7");
	cr_assert_eq(cfg->tls_server.listen.ss.ss_family, AF_INET6);
	cr_assert_eq(cfg->general.admin_listen.port, 0);

	/* A bare IP keeps the default port. */
	load_ok("[pbx]\nlisten = 10.1.1.1\n");
	cr_assert_eq(cfg->pbx.listen.port, 5060);
}

Test(config, advertised_address)
{
	load_ok("[pbx]\nadvertised_address = pbx-side.example.com\n");
	cr_assert_str_eq(cfg->pbx.advertised_address, "pbx-side.example.com");
	load_ok("[pbx]\nadvertised_address = 10.9.9.9\n");
	cr_assert_str_eq(cfg->pbx.advertised_address, "10.9.9.9");
	load_bad("[pbx]\nadvertised_address = bad_name!\n",
	    ":15: [pbx] advertised_address: ", "not an IP address or host name");
}

Test(config, transports)
{
	load_bad("[pbx]\ntransports = udp, tls\n", ":15: [pbx] transports: ",
	    "udp, tcp");
	load_bad("[pbx]\ntransports =\n", ":15: [pbx] transports: ",
	    "udp, tcp");
}

Test(config, trunk_params)
{
	cr_assert_eq(load_text(base_text(6,
	    "[cloud]\ntgrp = My-Trunk_1.%41~+$&/()!*'\n")), 0, "%s", err);
	cr_assert_str_eq(cfg->cloud.tgrp, "My-Trunk_1.%41~+$&/()!*'");

	const char *bad[] = { "My;Trunk", "My Trunk", "a@b", "a=b", "a:b",
		"a%zz", "a%4", "a<b", "a\"b", "a,b", "a?b", NULL };
	for (int i = 0; bad[i] != NULL; i++) {
		char extra[128];

		snprintf(extra, sizeof(extra), "[cloud]\ntrunk_context = %s\n",
		    bad[i]);
		cr_assert_eq(load_text(base_text(7, extra)), -1, "accepted %s",
		    bad[i]);
		expect_err(":15: [cloud] trunk_context: ",
		    "not allowed in a SIP URI user parameter");
	}
}

Test(config, tls_versions)
{
	load_ok("[cloud]\ntls_max_version = 1.3\n");
	cr_assert_eq(cfg->cloud.tls_min_version, TLS1_2_VERSION);
	cr_assert_eq(cfg->cloud.tls_max_version, TLS1_3_VERSION);

	load_bad("[cloud]\ntls_min_version = 1.1\n",
	    ":15: [cloud] tls_min_version: ", "not 1.2 or 1.3");
	load_bad("[cloud]\ntls_min_version = 1.3\ntls_max_version = 1.2\n",
	    ":16: [cloud] tls_max_version: ", "above tls_max_version");
	load_bad("[cloud]\ntls_min_version = 1.3\n",
	    ":15: [cloud] tls_min_version: ", "above tls_max_version");
}

Test(config, ciphers)
{
	load_ok("[cloud]\nciphers = ECDHE-RSA-AES128-GCM-SHA256, AES256-SHA\n");
	cr_assert_str_eq(cfg->cloud.ciphers,
	    "ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA");
	load_ok("[cloud]\nciphers = ECDHE-RSA-AES256-GCM-SHA384:AES256-SHA256\n");
	cr_assert_str_eq(cfg->cloud.ciphers,
	    "ECDHE-RSA-AES256-GCM-SHA384:AES256-SHA256");
}

/* The one list of deprecated suites, and the default names none of it. */
Test(config, ciphers_deprecated)
{
	char list[sizeof(cfg->cloud.ciphers)], *name, *save = NULL;
	int n = 0;

	cr_assert_str_eq(config_cipher_deprecated("AES256-SHA256"),
	    "TLS_RSA_WITH_AES_256_CBC_SHA256");
	cr_assert_str_eq(config_cipher_deprecated("ECDHE-RSA-AES256-SHA384"),
	    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384");
	cr_assert_not_null(config_cipher_deprecated("aes256-sha256"));
	cr_assert_null(config_cipher_deprecated("AES256-SHA"));
	cr_assert_null(config_cipher_deprecated("ECDHE-RSA-AES256-SHA"));
	cr_assert_null(config_cipher_deprecated(""));

	load_ok("");
	memcpy(list, cfg->cloud.ciphers, sizeof(list));
	for (name = strtok_r(list, ":", &save); name != NULL;
	    name = strtok_r(NULL, ":", &save), n++)
		cr_expect_null(config_cipher_deprecated(name),
		    "the default lists %s, which the cloud deprecated", name);
	cr_assert_eq(n, 6, "the default lists %d suites, want 6", n);

	/* Still accepted, in the order given. */
	load_ok("[cloud]\nciphers = ECDHE-RSA-AES256-GCM-SHA384, "
	    "ECDHE-RSA-AES256-SHA384, AES256-SHA256\n");
	cr_assert_str_eq(cfg->cloud.ciphers, "ECDHE-RSA-AES256-GCM-SHA384:"
	    "ECDHE-RSA-AES256-SHA384:AES256-SHA256");
}

Test(config, ciphers_unknown_named)
{
	load_bad("[cloud]\nciphers = AES256-SHA, FOO-BAR-SHA\n",
	    ":15: [cloud] ciphers: ", "unknown cipher suite \"FOO-BAR-SHA\"");
	/* Aliases select many suites; only exact suite names are taken. */
	load_bad("[cloud]\nciphers = HIGH\n", ":15: [cloud] ciphers: ",
	    "unknown cipher suite \"HIGH\"");
	load_bad("[cloud]\nciphers = TLS_AES_256_GCM_SHA384\n",
	    ":15: [cloud] ciphers: ", "unknown cipher suite");
	load_bad("[cloud]\nciphers =\n", ":15: [cloud] ciphers: ",
	    "expected a list");
}

Test(config, ciphers_weak)
{
	const char *weak[] = { "DES-CBC3-SHA", "RC4-SHA", "NULL-SHA",
		"ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA-DES-CBC3-SHA",
		"ADH-AES256-GCM-SHA384", "EXP-RC4-MD5", "CAMELLIA256-SHA", NULL };

	for (int i = 0; weak[i] != NULL; i++) {
		char extra[128], want[128];

		snprintf(extra, sizeof(extra), "[cloud]\nciphers = AES256-SHA,"
		    "%s\n", weak[i]);
		snprintf(want, sizeof(want), "weak suite \"%s\"", weak[i]);
		load_bad(extra, ":15: [cloud] ciphers: ", want);
	}
}

Test(config, groups)
{
	load_ok("[cloud]\ngroups = secp384r1, prime256v1\n");
	cr_assert_str_eq(cfg->cloud.groups, "secp384r1:prime256v1");
	load_bad("[cloud]\ngroups = secp384r1, nosuchcurve\n",
	    ":15: [cloud] groups: ", "unknown group \"nosuchcurve\"");
}

Test(config, resolve)
{
	load_ok("[cloud]\nresolve = lb01.voice.use1.pure.cloud=192.0.2.1, "
	    "lb02.voice.use1.pure.cloud=2001:db8::2\n");
	cr_assert_eq(cfg->cloud.nresolve, 2);
	cr_assert_str_eq(cfg->cloud.resolve[0].name,
	    "lb01.voice.use1.pure.cloud");
	cr_assert_eq(cfg->cloud.resolve[0].ss.ss_family, AF_INET);
	cr_assert_eq(cfg->cloud.resolve[1].ss.ss_family, AF_INET6);

	load_bad("[cloud]\nresolve = lb01.voice.use1.pure.cloud=nowhere\n",
	    ":15: [cloud] resolve: ", "\"nowhere\" is not an IP address");
	load_bad("[cloud]\nresolve = 192.0.2.9=192.0.2.1\n",
	    ":15: [cloud] resolve: ", "must be a host name");
	load_bad("[cloud]\nresolve = lb01.voice.use1.pure.cloud\n",
	    ":15: [cloud] resolve: ", "not name=ip");
}

Test(config, balance_and_intervals)
{
	load_ok("[cloud]\nbalance = call-id-hash\noptions_interval = 60\n"
	    "options_interval_down = 5\nfailover_timeout = 8\n"
	    "drain_timeout = 120\nkeepalive_interval = 15\n");
	cr_assert_eq(cfg->cloud.balance, CFG_BALANCE_CALLID_HASH);
	cr_assert_eq(cfg->cloud.options_interval, 60);
	cr_assert_eq(cfg->cloud.options_interval_down, 5);
	cr_assert_eq(cfg->cloud.failover_timeout, 8);
	cr_assert_eq(cfg->cloud.drain_timeout, 120);
	cr_assert_eq(cfg->cloud.keepalive_interval, 15);
	load_bad("[cloud]\nbalance = random\n", ":15: [cloud] balance: ",
	    "not round-robin or call-id-hash");
}

Test(config, integers)
{
	load_bad("[cloud]\nport = 0\n", ":15: [cloud] port: ",
	    "0 is out of range (1..65535)");
	load_bad("[cloud]\nport = 65536\n", ":15: [cloud] port: ",
	    "out of range");
	load_bad("[cloud]\nport = 50x\n", ":15: [cloud] port: ",
	    "\"50x\" is not a number");
	load_bad("[cloud]\nport =\n", ":15: [cloud] port: ", "not a number");
	load_bad("[cloud]\nkeepalive_interval = 0\n",
	    ":15: [cloud] keepalive_interval: ", "out of range");
	load_bad("[cloud]\ndrain_timeout = -5\n",
	    ":15: [cloud] drain_timeout: ", "out of range");
	load_bad("[limits]\nmax_message_size = 99999999999999999999\n",
	    ":15: [limits] max_message_size: ", "not a number");
	load_bad("[limits]\nidle_timeout = 0\n",
	    ":15: [limits] idle_timeout: ", "out of range");
}

Test(config, media_ports)
{
	load_ok("[media]\nport_min = 30000\nport_max = 30100\n");
	cr_assert_eq(cfg->media.port_min, 30000);
	cr_assert_eq(cfg->media.port_max, 30100);
	load_bad("[media]\nport_min = 30001\n", ":15: [media] port_min: ",
	    "must be even");
	load_bad("[media]\nport_min = 30000\nport_max = 30000\n",
	    ":16: [media] port_max: ", "port_min must be below port_max");
	load_bad("[media]\nport_min = 40000\n", ":15: [media] port_min: ",
	    "port_min must be below port_max");
}

Test(config, media_addresses_and_suites)
{
	load_ok("[media]\npbx_address = 192.168.10.5\n"
	    "srtp_suites = AEAD_AES_256_GCM, AES_256_CM_HMAC_SHA1_80\n"
	    "timeout = 30\n");
	cr_assert_str_eq(cfg->media.pbx_address, "192.168.10.5");
	cr_assert_eq(cfg->media.nsrtp_suites, 2);
	cr_assert_str_eq(cfg->media.srtp_suites[0], "AEAD_AES_256_GCM");
	cr_assert_eq(cfg->media.timeout, 30);
	load_bad("[media]\nsrtp_suites = AES_CM_128_HMAC_SHA1_80, F8_128\n",
	    ":15: [media] srtp_suites: ", "unknown SRTP suite \"F8_128\"");
	load_bad("[media]\nsrtp_suites = AEAD_AES_128_GCM,AEAD_AES_128_GCM\n",
	    ":15: [media] srtp_suites: ", "listed twice");
	load_bad("[media]\npbx_address = media.example.com\n",
	    ":15: [media] pbx_address: ", "must be an IP address");
}

Test(config, public_address_required_on_wildcard)
{
	cr_assert_eq(load_text(base_text(13, "")), -1);
	expect_err(":0: [media] public_address: ", "required key missing");

	/* A specific TLS listen address is the default. */
	cr_assert_eq(load_text(base_text(13, "[tls_server]\nlisten = "
	    "198.51.100.7:5061\n")), 0, "%s", err);
	cr_assert_str_eq(cfg->media.public_address, "198.51.100.7");
}

Test(config, tls_server_names)
{
	load_bad("[tls_server]\nadvertised_name = 203.0.113.5\n",
	    ":15: [tls_server] advertised_name: ", "duplicate");
	cr_assert_eq(load_text(base_text(11, "[tls_server]\n"
	    "advertised_name = 203.0.113.5\n")), -1);
	expect_err(":15: [tls_server] advertised_name: ",
	    "must be a host name, not an IP address");
	cr_assert_eq(load_text(base_text(11, "[tls_server]\n"
	    "advertised_name = sip_proxy.example.com\n")), -1);
	expect_err(":15: [tls_server] advertised_name: ", "'_'");
	cr_assert_eq(load_text(base_text(11, "[tls_server]\n"
	    "advertised_name = *.example.com\n")), -1);
	expect_err(":15: [tls_server] advertised_name: ", "wildcard");
}

Test(config, mutual)
{
	const char *on[] = { "on", "yes", "true", "1", "ON", NULL };

	for (int i = 0; on[i] != NULL; i++) {
		char extra[128];

		snprintf(extra, sizeof(extra), "[tls_server]\nmutual = %s\n"
		    "client_ca_file = /etc/ca.pem\n", on[i]);
		load_ok(extra);
		cr_assert_eq(cfg->tls_server.mutual, 1);
	}
	load_ok("[tls_server]\nmutual = no\n");
	cr_assert_eq(cfg->tls_server.mutual, 0);
	load_bad("[tls_server]\nmutual = on\n",
	    ":0: [tls_server] client_ca_file: ", "required key missing");
	load_bad("[tls_server]\nmutual = maybe\n", ":15: [tls_server] mutual: ",
	    "not on/off");
}

Test(config, general)
{
	load_ok("[general]\nlog_level = debug\nlog_format = json\n");
	cr_assert_eq(cfg->general.log_level, LOG_DEBUG);
	cr_assert_eq(cfg->general.log_json, 1);
	load_bad("[general]\nlog_level = verbose\n",
	    ":15: [general] log_level: ", "\"verbose\"");
	load_bad("[general]\nlog_format = xml\n",
	    ":15: [general] log_format: ", "not text or json");
}

Test(config, limits)
{
	load_ok("[limits]\nmax_message_size = 131072\nmax_connections = 10\n"
	    "max_connections_per_source = 10\nmax_calls = 5\n"
	    "max_cps_per_source = 2\nhandshake_timeout = 3\nidle_timeout = 9\n");
	cr_assert_eq(cfg->limits.max_message_size, 131072);
	cr_assert_eq(cfg->limits.max_connections_per_source, 10);
	cr_assert_eq(cfg->limits.max_calls, 5);
	load_bad("[limits]\nmax_connections = 10\n",
	    ":15: [limits] max_connections: ", "below max_connections_per_source");
	load_bad("[limits]\nmax_connections_per_source = 2000\n",
	    ":15: [limits] max_connections_per_source: ",
	    "above max_connections (1024)");
}

Test(config, cloud_max_message_size)
{
	load_ok("[cloud]\nmax_message_size = 1024\n");
	cr_assert_eq(cfg->cloud.max_message_size, 1024);
	load_ok("[cloud]\nmax_message_size = 1048576\n");
	cr_assert_eq(cfg->cloud.max_message_size, 1048576);
	/* Apart from [limits] max_message_size, either way. */
	load_ok("[cloud]\nmax_message_size = 200000\n[limits]\n"
	    "max_message_size = 4096\n");
	cr_assert_eq(cfg->cloud.max_message_size, 200000);
	cr_assert_eq(cfg->limits.max_message_size, 4096);
	load_bad("[cloud]\nmax_message_size = 1023\n",
	    ":15: [cloud] max_message_size: ", "1023 is out of range "
	    "(1024..1048576)");
	load_bad("[cloud]\nmax_message_size = 1048577\n",
	    ":15: [cloud] max_message_size: ", "out of range");
	load_bad("[cloud]\nmax_message_size = 16k\n",
	    ":15: [cloud] max_message_size: ", "\"16k\" is not a number");
	load_bad("[cloud]\nmax_message_size =\n",
	    ":15: [cloud] max_message_size: ", "not a number");
}

Test(config, trace)
{
	load_ok("[trace]\nhep_collector = homer.example.com:9060\nhep_id = 7\n"
	    "tls_keylog = /tmp/keys.log\nsrtp_keylog = /tmp/srtp.log\n");
	cr_assert_str_eq(cfg->trace.hep_collector.host, "homer.example.com");
	cr_assert_eq(cfg->trace.hep_collector.port, 9060);
	cr_assert_eq(cfg->trace.hep_collector.is_ip, 0);
	cr_assert_eq(cfg->trace.hep_id, 7);
	cr_assert_str_eq(cfg->trace.tls_keylog, "/tmp/keys.log");
	load_ok("[trace]\nhep_collector = 192.0.2.50:9060\n");
	cr_assert(cfg->trace.hep_collector.is_ip);
	load_bad("[trace]\nhep_collector = homer.example.com\n",
	    ":15: [trace] hep_collector: ", "not host:port");
}

/* [state] (issue 15): Redis for call state; extras, not the contract's. */
Test(config, state_defaults_and_values)
{
	char host[256], text[PATH_MAX + 128], pw[PATH_MAX];

	load_ok("");
	cr_expect_str_eq(cfg->state.redis, "");
	cr_expect_str_eq(cfg->state.redis_password_file, "");
	cr_expect_str_eq(cfg->state.redis_password, "");
	cr_expect_str_eq(cfg->state.key_prefix, "tlstrunk:");
	cr_expect_eq(cfg->state.ttl, 3600);
	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	host[sizeof(cfg->state.node) - 1] = '\0';
	cr_expect_str_eq(cfg->state.node, host);
	cr_expect_eq(config_key_line(cfg, "state", "redis"), 0);

	load_ok("[state]\nredis = 127.0.0.1:6379\nkey_prefix = tt:{a}\n"
	    "node = sbc-1_b.example\nttl = 60\n");
	cr_expect_str_eq(cfg->state.redis, "127.0.0.1:6379");
	cr_expect_str_eq(cfg->state.key_prefix, "tt:{a}");
	cr_expect_str_eq(cfg->state.node, "sbc-1_b.example");
	cr_expect_eq(cfg->state.ttl, 60);
	cr_expect_eq(config_key_line(cfg, "state", "redis"), 15);
	load_ok("[state]\nredis = [::1]:6380\nttl = 86400\n");
	cr_expect_str_eq(cfg->state.redis, "[::1]:6380");
	load_ok("[state]\nredis = /run/redis/redis-server.sock\n");
	cr_expect_str_eq(cfg->state.redis, "/run/redis/redis-server.sock");

	/* The password: the file's first line, without its line end. */
	snprintf(pw, sizeof(pw), "%s/redis.pw", dir);
	write_file(pw, "pass word\r\nsecond line\n");
	snprintf(text, sizeof(text), "[state]\nredis_password_file = %s\n", pw);
	load_ok(text);
	cr_expect_str_eq(cfg->state.redis_password, "pass word");
	cr_expect_str_eq(cfg->state.redis_password_file, pw);
	write_file(pw, "no newline");
	load_ok(text);
	cr_expect_str_eq(cfg->state.redis_password, "no newline");
}

Test(config, state_bad_values)
{
	char text[PATH_MAX + 128], pw[PATH_MAX], big[200];

	load_bad("[state]\nredis = redis.example.com:6379\n",
	    ":15: [state] redis: ", "\"redis.example.com\" must be an IP "
	    "address or a unix socket path, not a host name");
	load_bad("[state]\nredis = localhost:6379\n", ":15: [state] redis: ",
	    "not a host name");
	load_bad("[state]\nredis = 127.0.0.1\n", ":15: [state] redis: ",
	    "is not ip:port, [v6]:port or an absolute unix socket path");
	load_bad("[state]\nredis = 127.0.0.1:0\n", ":15: [state] redis: ",
	    "is not ip:port");
	load_bad("[state]\nredis = redis.sock\n", ":15: [state] redis: ",
	    "is not ip:port");
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	snprintf(text, sizeof(text), "[state]\nredis = %.*s\n", 150, big);
	load_bad(text, ":15: [state] redis: ", "unix socket path too long");

	load_bad("[state]\nredis_password_file = /nonexistent/redis.pw\n",
	    ":15: [state] redis_password_file: ",
	    "cannot read \"/nonexistent/redis.pw\": No such file");
	snprintf(pw, sizeof(pw), "%s/redis.pw", dir);
	snprintf(text, sizeof(text), "[state]\nredis_password_file = %s\n", pw);
	write_file(pw, "");
	load_bad(text, ":15: [state] redis_password_file: ",
	    "the first line (the password) is empty");
	write_file(pw, "\nsecond line\n");
	load_bad(text, ":15: [state] redis_password_file: ", "is empty");
	memset(big, 'p', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	{
		char longpw[400];

		snprintf(longpw, sizeof(longpw), "%s%s\n", big, big);
		write_file(pw, longpw);
	}
	load_bad(text, ":15: [state] redis_password_file: ",
	    "the password is too long (at most 255 bytes)");
	cr_expect_null(strstr(err, "pppp"), "the password in: %s", err);
	snprintf(text, sizeof(text), "[state]\nredis_password_file = %s\n", dir);
	load_bad(text, ":15: [state] redis_password_file: ", "cannot read");

	load_bad("[state]\nkey_prefix =\n", ":15: [state] key_prefix: ",
	    "must not be empty");
	load_bad("[state]\nkey_prefix = tl strunk:\n",
	    ":15: [state] key_prefix: ", "has a blank");
	load_bad("[state]\nkey_prefix = "
	    "0123456789012345678901234567890123456789012345678901234567890123456789\n",
	    ":15: [state] key_prefix: ", "too long (at most 64 characters)");
	load_bad("[state]\nnode = node one\n", ":15: [state] node: ",
	    "use letters, digits");
	load_bad("[state]\nnode = n\xc3\xb6" "de\n", ":15: [state] node: ",
	    "use letters, digits");
	load_bad("[state]\nnode = "
	    "0123456789012345678901234567890123456789012345678901234567890123\n",
	    ":15: [state] node: ", "too long (at most 63 characters)");
	load_bad("[state]\nttl = 59\n", ":15: [state] ttl: ",
	    "59 is out of range (60..86400)");
	load_bad("[state]\nttl = 86401\n", ":15: [state] ttl: ",
	    "out of range");
	load_bad("[state]\nttl = 1h\n", ":15: [state] ttl: ",
	    "\"1h\" is not a number");
	load_bad("[state]\nredis = 127.0.0.1:6379\nredis = 127.0.0.1:6380\n",
	    ":16: [state] redis: ", "duplicate key");
	load_bad("[state]\nsentinel = 127.0.0.1:26379\n",
	    ":15: [state] sentinel: ", "unknown key");
}

/* The example names every key of the contract, and loads. */
Test(config, example_file_names_every_key)
{
	static const char *const contract[][2] = {
		{ "general", "log_level" }, { "general", "log_format" },
		{ "general", "admin_listen" },
		{ "pbx", "listen" }, { "pbx", "transports" },
		{ "pbx", "address" }, { "pbx", "allow" },
		{ "pbx", "advertised_address" },
		{ "cloud", "region" }, { "cloud", "hosts" }, { "cloud", "port" },
		{ "cloud", "tgrp" }, { "cloud", "trunk_context" },
		{ "cloud", "ca_file" }, { "cloud", "ca_path" },
		{ "cloud", "crl_file" }, { "cloud", "tls_min_version" },
		{ "cloud", "tls_max_version" }, { "cloud", "ciphers" },
		{ "cloud", "groups" }, { "cloud", "resolve" },
		{ "cloud", "keepalive_interval" }, { "cloud", "balance" },
		{ "cloud", "options_interval" },
		{ "cloud", "options_interval_down" },
		{ "cloud", "failover_timeout" }, { "cloud", "drain_timeout" },
		{ "cloud", "max_message_size" },
		{ "tls_server", "listen" }, { "tls_server", "cert_file" },
		{ "tls_server", "key_file" }, { "tls_server", "advertised_name" },
		{ "tls_server", "mutual" }, { "tls_server", "client_ca_file" },
		{ "media", "pbx_address" }, { "media", "public_address" },
		{ "media", "port_min" }, { "media", "port_max" },
		{ "media", "srtp_suites" }, { "media", "timeout" },
		{ "limits", "max_message_size" }, { "limits", "max_connections" },
		{ "limits", "max_connections_per_source" },
		{ "limits", "max_calls" }, { "limits", "max_cps_per_source" },
		{ "limits", "handshake_timeout" }, { "limits", "idle_timeout" },
		{ "trace", "hep_collector" }, { "trace", "hep_id" },
		{ "trace", "tls_keylog" }, { "trace", "srtp_keylog" },
	};
	char example[PATH_MAX], *slash;

	/* __FILE__ is tests/unit/test_config.c under the source tree. */
	snprintf(example, sizeof(example), "%s", __FILE__);
	for (int up = 0; up < 3 && (slash = strrchr(example, '/')) != NULL;
	    up++)
		*slash = '\0';
	strncat(example, "/config/tlstrunk.ini.example",
	    sizeof(example) - strlen(example) - 1);
	if (access(example, R_OK) != 0)
		cr_skip_test("%s not found", example);

	cr_assert_eq(config_load(cfg, example, err, sizeof(err)), 0, "%s", err);
	for (size_t i = 0; i < sizeof(contract) / sizeof(contract[0]); i++)
		cr_assert_gt(config_key_line(cfg, contract[i][0], contract[i][1]),
		    0, "[%s] %s not set in the example", contract[i][0],
		    contract[i][1]);
	cr_assert_str_eq(cfg->cloud.region, "use1");
	cr_assert_eq(cfg->pbx.allow.net[0].prefix, 24);
	cr_assert_str_eq(cfg->cloud.hosts[0], "lb01.voice.use1.pure.cloud");
}

/*
 * config_check_files, against keys and certificates made here.
 */

static EVP_PKEY *
gen_key(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	cr_assert_not_null(key);
	return key;
}

/* Self-signed; san NULL for a CN-only certificate. */
static X509 *
gen_cert(EVP_PKEY *key, const char *cn, const char *san, long from, long to)
{
	X509 *x = X509_new();
	X509_NAME *name;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (san != NULL) {
		X509V3_CTX ctx;
		X509_EXTENSION *ext;

		X509V3_set_ctx_nodb(&ctx);
		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
		cr_assert_not_null(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	cr_assert(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static void
file_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void
write_key(const char *name, EVP_PKEY *key)
{
	char p[PATH_MAX];
	FILE *fp;

	file_path(p, sizeof(p), name);
	cr_assert_not_null(fp = fopen(p, "w"));
	PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
}

static void
write_cert(const char *name, X509 *x)
{
	char p[PATH_MAX];
	FILE *fp;

	file_path(p, sizeof(p), name);
	cr_assert_not_null(fp = fopen(p, "a"));
	PEM_write_X509(fp, x);
	fclose(fp);
}

static void
write_crl(const char *name, X509 *ca, EVP_PKEY *key)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_adj(NULL, time(NULL), 0, 0);
	char p[PATH_MAX];
	FILE *fp;

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_adj(t, time(NULL), 1, 0);
	X509_CRL_set1_nextUpdate(crl, t);
	cr_assert(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	file_path(p, sizeof(p), name);
	cr_assert_not_null(fp = fopen(p, "w"));
	PEM_write_X509_CRL(fp, crl);
	fclose(fp);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
}

/*
 * In dir: key.pem and cert.pem (sbc.example.com, also in SAN), other.pem
 * (another key), wild.pem (*.example.com only), cn.pem (CN only),
 * old.pem (expired), crl.pem.
 */
static void
make_pki(void)
{
	EVP_PKEY *key = gen_key(), *other = gen_key();
	X509 *cert = gen_cert(key, "sbc.example.com",
	    "DNS:sbc.example.com,DNS:alt.example.com", -60, 86400 * 365);
	X509 *wild = gen_cert(key, "*.example.com", "DNS:*.example.com", -60,
	    86400);
	X509 *cn = gen_cert(key, "sbc.example.com", NULL, -60, 86400);
	X509 *old = gen_cert(key, "sbc.example.com", "DNS:sbc.example.com",
	    -86400 * 2, -86400);

	write_key("key.pem", key);
	write_key("other.pem", other);
	write_cert("cert.pem", cert);
	write_cert("wild.pem", wild);
	write_cert("cn.pem", cn);
	write_cert("old.pem", old);
	write_crl("crl.pem", cert, key);
	X509_free(cert);
	X509_free(wild);
	X509_free(cn);
	X509_free(old);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

/*
 * Load a file naming cert and key in dir (lines 9 and 10) and the given
 * [tls_server] advertised_name (line 11), then extra (from line 14);
 * ca_file defaults to cert.pem so the system roots do not matter.
 */
static int
check_with(const char *cert, const char *key, const char *name,
    const char *extra)
{
	char text[16384];

	snprintf(text, sizeof(text),
	    "[pbx]\naddress = 192.168.10.20:5060\nallow = 192.168.10.0/24\n"
	    "[cloud]\nregion = use1\ntgrp = T\ntrunk_context = c\n"
	    "[tls_server]\ncert_file = %s/%s\nkey_file = %s/%s\n"
	    "advertised_name = %s\n[media]\npublic_address = 203.0.113.10\n%s",
	    dir, cert, dir, key, name, extra);
	cr_assert_eq(load_text(text), 0, "%s", err);
	return config_check_files(cfg, err, sizeof(err));
}

static char ca_cert[PATH_MAX + 64];

static const char *
with_ca(void)
{
	snprintf(ca_cert, sizeof(ca_cert), "[cloud]\nca_file = %s/cert.pem\n",
	    dir);
	return ca_cert;
}

Test(config, check_files_ok)
{
	make_pki();
	cr_assert_eq(check_with("cert.pem", "key.pem", "sbc.example.com",
	    with_ca()), 0, "%s", err);
	cr_assert_eq(check_with("cert.pem", "key.pem", "alt.example.com",
	    with_ca()), 0, "%s", err);
	/* No SAN: the subject CN is the name. */
	cr_assert_eq(check_with("cn.pem", "key.pem", "sbc.example.com",
	    with_ca()), 0, "%s", err);
}

Test(config, check_files_default_roots)
{
	int have = 0;

	for (int i = 0; config_default_root_files[i] != NULL; i++)
		have += access(config_default_root_files[i], R_OK) == 0;
	if (have == 0)
		cr_skip_test("no DigiCert roots in /etc/ssl/certs");
	make_pki();
	cr_assert_eq(check_with("cert.pem", "key.pem", "sbc.example.com", ""),
	    0, "%s", err);
}

Test(config, check_files_key_mismatch)
{
	make_pki();
	cr_assert_eq(check_with("cert.pem", "other.pem", "sbc.example.com",
	    with_ca()), -1);
	expect_err(":10: [tls_server] key_file: ", "does not match cert_file");
}

Test(config, check_files_name_not_in_cert)
{
	make_pki();
	cr_assert_eq(check_with("cert.pem", "key.pem", "nope.example.com",
	    with_ca()), -1);
	expect_err(":11: [tls_server] advertised_name: ",
	    "\"nope.example.com\" is not a name in cert_file");
}

Test(config, check_files_no_wildcard_reliance)
{
	make_pki();
	cr_assert_eq(check_with("wild.pem", "key.pem", "sbc.example.com",
	    with_ca()), -1);
	expect_err(":11: [tls_server] advertised_name: ", "not a name");
}

Test(config, check_files_unreadable)
{
	make_pki();
	cr_assert_eq(check_with("missing.pem", "key.pem", "sbc.example.com",
	    with_ca()), -1);
	expect_err(":9: [tls_server] cert_file: ", "No such file");
	/* A key is not a certificate, and a certificate is not a key. */
	cr_assert_eq(check_with("key.pem", "key.pem", "sbc.example.com",
	    with_ca()), -1);
	expect_err(":9: [tls_server] cert_file: ", "no PEM certificate");
	cr_assert_eq(check_with("cert.pem", "cert.pem", "sbc.example.com",
	    with_ca()), -1);
	expect_err(":10: [tls_server] key_file: ", "no readable PEM private key");
	cr_assert_eq(check_with("cert.pem", ".", "sbc.example.com",
	    with_ca()), -1);
	expect_err(":10: [tls_server] key_file: ", "not a regular file");
}

Test(config, check_files_expired)
{
	make_pki();
	cr_assert_eq(check_with("old.pem", "key.pem", "sbc.example.com",
	    with_ca()), -1);
	expect_err(":9: [tls_server] cert_file: ", "expired on");
}

Test(config, check_files_garbage_pem)
{
	char p[PATH_MAX];

	make_pki();
	file_path(p, sizeof(p), "cert.pem");
	/* A damaged block after a good certificate. */
	FILE *fp = fopen(p, "a");
	fputs("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
	    fp);
	fclose(fp);
	cr_assert_eq(check_with("cert.pem", "key.pem", "sbc.example.com", ""),
	    -1);
	expect_err(":9: [tls_server] cert_file: ", "malformed PEM");
}

Test(config, check_files_cloud_trust)
{
	char extra[3 * PATH_MAX];

	make_pki();
	snprintf(extra, sizeof(extra), "[cloud]\nca_file = %s/none.pem\n", dir);
	cr_assert_eq(check_with("cert.pem", "key.pem", "sbc.example.com",
	    extra), -1);
	expect_err(":15: [cloud] ca_file: ", "No such file");

	snprintf(extra, sizeof(extra), "[cloud]\nca_path = %s/key.pem\n", dir);
	cr_assert_eq(check_with("cert.pem", "key.pem", "sbc.example.com",
	    extra), -1);
	expect_err(":15: [cloud] ca_path: ", "not a readable directory");

	snprintf(extra, sizeof(extra), "[cloud]\nca_path = %s\n"
	    "crl_file = %s/crl.pem\n", dir, dir);
	cr_assert_eq(check_with("cert.pem", "key.pem", "sbc.example.com",
	    extra), 0, "%s", err);

	snprintf(extra, sizeof(extra), "[cloud]\nca_path = %s\n"
	    "crl_file = %s/cert.pem\n", dir, dir);
	cr_assert_eq(check_with("cert.pem", "key.pem", "sbc.example.com",
	    extra), -1);
	expect_err(":16: [cloud] crl_file: ", "no readable PEM CRL");
}

Test(config, check_files_client_ca)
{
	char extra[3 * PATH_MAX];

	make_pki();
	snprintf(extra, sizeof(extra), "[cloud]\nca_file = %s/cert.pem\n"
	    "[tls_server]\nmutual = on\nclient_ca_file = %s/nope.pem\n",
	    dir, dir);
	cr_assert_eq(check_with("cert.pem", "key.pem", "sbc.example.com",
	    extra), -1);
	expect_err(":18: [tls_server] client_ca_file: ", "No such file");

	snprintf(extra, sizeof(extra), "[cloud]\nca_file = %s/cert.pem\n"
	    "[tls_server]\nmutual = on\nclient_ca_file = %s/cert.pem\n",
	    dir, dir);
	cr_assert_eq(check_with("cert.pem", "key.pem", "sbc.example.com",
	    extra), 0, "%s", err);
}

/*
 * config_check_files with the log (stderr) in a file: the lines logged.
 * check_with's text sets [cloud] ciphers on line 15 (extra's line 2).
 */
static char *
check_files_log(const char *ciphers)
{
	static char text[8192];
	char extra[3 * PATH_MAX], logpath[PATH_MAX];
	int saved, fd;
	FILE *fp;
	size_t n;

	snprintf(extra, sizeof(extra), "[cloud]\nciphers = %s\nca_file = "
	    "%s/cert.pem\n", ciphers, dir);
	file_path(logpath, sizeof(logpath), "stderr.log");
	fflush(stderr);
	cr_assert_neq(saved = dup(STDERR_FILENO), -1);
	cr_assert_not_null(fp = fopen(logpath, "w+"));
	cr_assert_neq(dup2(fileno(fp), STDERR_FILENO), -1);
	log_init(LOG_WARN, 0);
	fd = check_with("cert.pem", "key.pem", "sbc.example.com", extra);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	cr_assert_eq(fd, 0, "%s", err);
	rewind(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	return text;
}

/* A deprecated suite works, with one warning naming it, the key, the file. */
Test(config, check_files_warns_deprecated_ciphers)
{
	char want[PATH_MAX + 256], *log;

	make_pki();
	log = check_files_log("ECDHE-RSA-AES256-GCM-SHA384, AES256-SHA256, "
	    "ECDHE-RSA-AES256-SHA384");
	snprintf(want, sizeof(want), "%s:15: [cloud] ciphers: AES256-SHA256 "
	    "(TLS_RSA_WITH_AES_256_CBC_SHA256) is deprecated by the cloud", path);
	cr_assert_not_null(strstr(log, want), "want \"%s\" in: %s", want, log);
	snprintf(want, sizeof(want), "%s:15: [cloud] ciphers: "
	    "ECDHE-RSA-AES256-SHA384 (TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384) "
	    "is deprecated by the cloud", path);
	cr_assert_not_null(strstr(log, want), "want \"%s\" in: %s", want, log);
	cr_assert_null(strstr(log, "ECDHE-RSA-AES256-GCM-SHA384 ("),
	    "a kept suite warned about: %s", log);

	log = check_files_log("ECDHE-RSA-AES256-GCM-SHA384, AES256-SHA");
	cr_assert_null(strstr(log, "deprecated"), "warned: %s", log);
}

/* ---- Several PBXs and trunks (issue 17) ---- */

/* An IPv4 or IPv6 literal as a sockaddr, for the *_find lookups. */
static const struct sockaddr *
sa_of(const char *ip)
{
	static struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1, "%s", ip);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, ip, &in->sin_addr), 1, "%s", ip);
	}
	return (const struct sockaddr *)&ss;
}

/* The base file without [pbx] address and allow (lines 2 and 3), for
 * [pbx NAME] sections, then extra from line 14. */
static int
load_named(const char *extra)
{
	return load_text(base_text_skip2(2, 3, extra));
}

Test(config, no_named_sections_one_default_trunk_and_pbx)
{
	const struct cfg_cloud *t;
	const struct cfg_pbx *x;

	load_ok("[cloud]\nport = 5062\n");
	cr_assert_eq(cfg->ntrunks, 1);
	t = &cfg->trunks[0];
	cr_assert_str_eq(t->name, "default");
	cr_assert_eq(t->line, 0);
	cr_assert_str_eq(t->region, "use1");
	cr_assert_eq(t->nhosts, 4);
	cr_assert_str_eq(t->hosts[0], "lb01.voice.use1.pure.cloud");
	cr_assert_str_eq(t->hosts[3], "lb04.voice.use1.pure.cloud");
	cr_assert_str_eq(t->tgrp, "MyTrunk");
	cr_assert_str_eq(t->trunk_context, "ns.example.com");
	cr_assert_eq(t->port, 5062);
	cr_assert_eq(t->allow.n, 0);
	/* The one trunk is [cloud] as finished, hosts included. */
	cr_assert_str_eq(cfg->cloud.name, "default");
	cr_assert_eq(cfg->cloud.nhosts, 4);
	cr_assert_str_eq(cfg->cloud.hosts[0], t->hosts[0]);
	cr_assert_str_eq(cfg->cloud.ciphers, t->ciphers);
	cr_assert_eq(cfg->cloud.failover_timeout, t->failover_timeout);

	cr_assert_eq(cfg->npbx, 1);
	x = &cfg->pbxs[0];
	cr_assert_str_eq(x->name, "default");
	cr_assert_str_eq(x->address.host, "192.168.10.20");
	cr_assert_eq(x->address.port, 5060);
	cr_assert_eq(x->address_transport, CFG_TP_UDP);
	cr_assert_eq(x->allow.n, 1);
	cr_assert_eq(x->allow.net[0].prefix, 24);
	cr_assert_eq(x->transports, CFG_TP_UDP | CFG_TP_TCP);
	cr_assert_eq(config_pbx_find(cfg, sa_of("192.168.10.99")), 0);
	cr_assert_eq(config_pbx_find(cfg, sa_of("192.168.11.1")), -1);
	/* No trunk allow: a call from the cloud is nobody's by source. */
	cr_assert_eq(config_trunk_by_source(cfg, sa_of("192.168.10.99")), -1);
}

Test(config, trunks_inherit_cloud_keys_they_do_not_set)
{
	const struct cfg_cloud *eu, *us;

	load_ok("[cloud]\n"				/* 14 */
	    "ca_file = /etc/tlstrunk/ca.pem\n"		/* 15 */
	    "ciphers = ECDHE-RSA-AES128-GCM-SHA256\n"	/* 16 */
	    "port = 5062\n"				/* 17 */
	    "failover_timeout = 7\n"			/* 18 */
	    "[trunk eu]\n"				/* 19 */
	    "tgrp = EuTrunk\n"				/* 20 */
	    "region = euw1\n"				/* 21 */
	    "[trunk us]\n"				/* 22 */
	    "port = 5070\n"
	    "ca_file = /etc/tlstrunk/us.pem\n"
	    "failover_timeout = 2\n"
	    "ciphers = ECDHE-RSA-AES256-GCM-SHA384\n"
	    "trunk_context = us.example.com\n"
	    "[route out]\ndirection = to_cloud\ntrunk = eu\n");
	cr_assert_eq(cfg->ntrunks, 2);
	eu = &cfg->trunks[0];
	us = &cfg->trunks[1];
	cr_assert_str_eq(eu->name, "eu");
	cr_assert_eq(eu->line, 19);
	cr_assert_str_eq(us->name, "us");
	cr_assert_eq(us->line, 22);

	/* eu: [cloud]'s, but for tgrp and region. */
	cr_assert_str_eq(eu->ca_file, "/etc/tlstrunk/ca.pem");
	cr_assert_str_eq(eu->ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
	cr_assert_eq(eu->port, 5062);
	cr_assert_eq(eu->failover_timeout, 7);
	cr_assert_str_eq(eu->tgrp, "EuTrunk");
	cr_assert_str_eq(eu->trunk_context, "ns.example.com");
	cr_assert_str_eq(eu->region, "euw1");
	cr_assert_eq(eu->nhosts, 4);
	cr_assert_str_eq(eu->hosts[0], "lb01.voice.euw1.pure.cloud");
	cr_assert_str_eq(eu->hosts[3], "lb04.voice.euw1.pure.cloud");
	cr_assert_eq(eu->options_interval, 30, "a default, inherited too");

	/* us: its own values over [cloud]'s. */
	cr_assert_eq(us->port, 5070);
	cr_assert_str_eq(us->ca_file, "/etc/tlstrunk/us.pem");
	cr_assert_eq(us->failover_timeout, 2);
	cr_assert_str_eq(us->ciphers, "ECDHE-RSA-AES256-GCM-SHA384");
	cr_assert_str_eq(us->tgrp, "MyTrunk");
	cr_assert_str_eq(us->trunk_context, "us.example.com");
	cr_assert_str_eq(us->region, "use1");
	cr_assert_str_eq(us->hosts[0], "lb01.voice.use1.pure.cloud");

	/* [cloud] itself stays as written. */
	cr_assert_eq(cfg->cloud.port, 5062);
	cr_assert_str_eq(cfg->cloud.tgrp, "MyTrunk");
	cr_assert_eq(cfg->npbx, 1);
	cr_assert_str_eq(cfg->pbxs[0].name, "default");
}

Test(config, trunk_hosts_drop_the_inherited_region)
{
	load_ok("[trunk a]\nhosts = sip-a.example.com, sip-b.example.com\n"
	    "[trunk b]\ntgrp = B\n"
	    "[route out]\ndirection = to_cloud\ntrunk = a\n");
	cr_assert_eq(cfg->ntrunks, 2);
	cr_assert_str_eq(cfg->trunks[0].region, "");
	cr_assert_eq(cfg->trunks[0].nhosts, 2);
	cr_assert_str_eq(cfg->trunks[0].hosts[0], "sip-a.example.com");
	cr_assert_str_eq(cfg->trunks[0].hosts[1], "sip-b.example.com");
	cr_assert_str_eq(cfg->trunks[1].region, "use1");
	cr_assert_eq(cfg->trunks[1].nhosts, 4);
	cr_assert_str_eq(cfg->trunks[1].hosts[0], "lb01.voice.use1.pure.cloud");
}

Test(config, trunk_region_drops_the_inherited_hosts)
{
	/* [cloud] names its proxies by hosts (region, line 5, removed). */
	cr_assert_eq(load_text(base_text(5, "[cloud]\nhosts = h.example.com\n"
	    "[trunk x]\nregion = euw2\n"
	    "[trunk y]\ntgrp = Y\n"
	    "[route out]\ndirection = to_cloud\ntrunk = y\n")), 0, "%s", err);
	cr_assert_str_eq(cfg->trunks[0].name, "x");
	cr_assert_str_eq(cfg->trunks[0].region, "euw2");
	cr_assert_eq(cfg->trunks[0].nhosts, 4);
	cr_assert_str_eq(cfg->trunks[0].hosts[0], "lb01.voice.euw2.pure.cloud");
	cr_assert_str_eq(cfg->trunks[0].hosts[3], "lb04.voice.euw2.pure.cloud");
	cr_assert_str_eq(cfg->trunks[1].region, "");
	cr_assert_eq(cfg->trunks[1].nhosts, 1);
	cr_assert_str_eq(cfg->trunks[1].hosts[0], "h.example.com");
}

Test(config, trunk_allow)
{
	load_ok("[trunk eu]\nallow = 198.51.100.0/24, 2001:db8:e0::/48\n"
	    "[trunk us]\ntgrp = U\n"
	    "[route out]\ndirection = to_cloud\ntrunk = eu\n");
	cr_assert_eq(cfg->trunks[0].allow.n, 2);
	cr_assert_eq(cfg->trunks[0].allow.net[0].prefix, 24);
	cr_assert_eq(cfg->trunks[0].allow.net[1].prefix, 48);
	cr_assert_eq(cfg->trunks[1].allow.n, 0);
	load_bad("[trunk eu]\nallow = 198.51.100.1/24\n", ":15: [trunk eu] allow: ",
	    "\"198.51.100.1/24\" has host bits set");
}

Test(config, trunk_unknown_key)
{
	load_bad("[trunk eu]\nbogus = 1\n", ":15: [trunk eu] bogus: ",
	    "unknown key");
	/* A [pbx NAME] takes only address, allow and transports. */
	load_bad("[pbx a]\nlisten = 0.0.0.0:5070\n", ":15: [pbx a] listen: ",
	    "unknown key");
}

Test(config, trunk_process_wide_key)
{
	load_bad("[trunk eu]\ntgrp = A\nkeepalive_interval = 10\n",
	    ":16: [trunk eu] keepalive_interval: ",
	    "unknown key (process-wide: set it in [cloud])");
	load_bad("[trunk eu]\ndrain_timeout = 10\n",
	    ":15: [trunk eu] drain_timeout: ", "process-wide");
	load_bad("[trunk eu]\nmax_message_size = 8192\n",
	    ":15: [trunk eu] max_message_size: ", "process-wide");
}

Test(config, allow_in_cloud_is_unknown)
{
	load_bad("[cloud]\nallow = 198.51.100.0/24\n", ":15: [cloud] allow: ",
	    "unknown key");
}

Test(config, pbx_address_or_allow_with_named_pbxs)
{
	const char *a = "[pbx a]\naddress = 192.168.10.21:5060\n"
	    "allow = 192.168.10.0/24\n";

	/* The base's [pbx] address is on line 2, allow on line 3. */
	load_bad(a, ":2: [pbx] address: ",
	    "set it in each [pbx NAME] section instead (there are 1)");
	cr_assert_eq(load_text(base_text(2, a)), -1);
	expect_err(":3: [pbx] allow: ",
	    "set it in each [pbx NAME] section instead (there are 1)");
	cr_assert_eq(load_named(a), 0, "%s", err);
}

Test(config, named_pbx_requires_address_and_allow)
{
	cr_assert_eq(load_named("[pbx a]\naddress = 192.168.10.21:5060\n"), -1);
	expect_err(":14: [pbx a] allow: ", "required key missing");
	cr_assert_eq(load_named("[pbx a]\nallow = 192.168.10.0/24\n"), -1);
	expect_err(":14: [pbx a] address: ", "required key missing");
	cr_assert_eq(load_named("[pbx a]\naddress = 192.168.10.21:5060\n"
	    "allow = 192.168.10.0/24\n[pbx b]\nallow = 10.0.0.0/8\n"), -1);
	expect_err(":17: [pbx b] address: ", "required key missing");
}

/* A [pbx NAME] header with no key at all lacks address and allow just as
 * much: it must not vanish from the configuration without a word. */
Test(config, empty_named_pbx_section_is_an_error)
{
	int r = load_named("[pbx a]\naddress = 192.168.10.21:5060\n"
	    "allow = 192.168.10.0/24\n"
	    "[pbx b]\n");				/* 17 */

	cr_assert_eq(r, -1, "accepted: npbx %d", cfg->npbx);
	expect_err(":17: [pbx b]: ", "section without keys");
}

/* Likewise an empty trunk, rule or route, at the end of the file or not. */
Test(config, empty_named_sections_are_errors)
{
	cr_assert_eq(load_named("[trunk eu]\n[trunk us]\nregion = use1\n"
	    "tgrp = t\ntrunk_context = c.example\n"), -1);	/* 14 */
	expect_err(":14: [trunk eu]: ", "section without keys");
	cr_assert_eq(load_named("[rule r]\n"), -1);		/* 14 */
	expect_err(":14: [rule r]: ", "section without keys");
}

Test(config, named_pbxs)
{
	cr_assert_eq(load_named("[pbx]\ntransports = udp,tcp\n"
	    "[pbx a]\naddress = 192.168.10.21:5060\nallow = 10.1.0.0/16\n"
	    "[pbx b]\naddress = 192.168.20.5:5070;transport=tcp\n"
	    "allow = 10.1.2.0/24, 10.2.0.0/16, 2001:db8::/32\n"
	    "transports = tcp\n"
	    "[route in]\ndirection = to_pbx\npbx = b\n"), 0, "%s", err);
	cr_assert_eq(cfg->npbx, 2);
	cr_assert_str_eq(cfg->pbxs[0].name, "a");
	cr_assert_str_eq(cfg->pbxs[0].address.host, "192.168.10.21");
	cr_assert_eq(cfg->pbxs[0].address_transport, CFG_TP_UDP);
	cr_assert_eq(cfg->pbxs[0].transports, CFG_TP_UDP | CFG_TP_TCP);
	cr_assert_str_eq(cfg->pbxs[1].name, "b");
	cr_assert_str_eq(cfg->pbxs[1].address.host, "192.168.20.5");
	cr_assert_eq(cfg->pbxs[1].address.port, 5070);
	cr_assert_eq(cfg->pbxs[1].address_transport, CFG_TP_TCP);
	cr_assert_eq(cfg->pbxs[1].transports, CFG_TP_TCP);
	cr_assert_eq(cfg->pbxs[1].allow.n, 3);

	/* The first PBX whose allow lists the source, even when a later
	 * one lists it more narrowly. */
	cr_assert_eq(config_pbx_find(cfg, sa_of("10.1.2.3")), 0);
	cr_assert_eq(config_pbx_find(cfg, sa_of("10.1.200.1")), 0);
	cr_assert_eq(config_pbx_find(cfg, sa_of("10.2.0.1")), 1);
	cr_assert_eq(config_pbx_find(cfg, sa_of("2001:db8::5")), 1);
	cr_assert_eq(config_pbx_find(cfg, sa_of("10.3.0.1")), -1);
	cr_assert_eq(config_pbx_find(cfg, sa_of("192.168.10.21")), -1,
	    "an address is no allow");
	cr_assert(config_pbx_allowed(cfg, sa_of("10.2.0.1")));
	cr_assert_not(config_pbx_allowed(cfg, sa_of("10.3.0.1")));
}

Test(config, trunk_by_source_first_match)
{
	load_ok("[trunk eu]\nallow = 198.51.100.0/24\n"
	    "[trunk us]\ntgrp = U\nallow = 198.51.100.128/25, 203.0.113.0/24, "
	    "2001:db8::/32\n"
	    "[trunk xx]\ntgrp = X\n"
	    "[route out]\ndirection = to_cloud\ntrunk = eu\n");
	cr_assert_eq(cfg->ntrunks, 3);
	cr_assert_eq(config_trunk_by_source(cfg, sa_of("198.51.100.7")), 0);
	cr_assert_eq(config_trunk_by_source(cfg, sa_of("198.51.100.200")), 0,
	    "the first trunk listing it, not the narrowest");
	cr_assert_eq(config_trunk_by_source(cfg, sa_of("203.0.113.5")), 1);
	cr_assert_eq(config_trunk_by_source(cfg, sa_of("2001:db8::1")), 1);
	cr_assert_eq(config_trunk_by_source(cfg, sa_of("192.0.2.1")), -1);
	cr_assert_eq(config_trunk_by_source(cfg, sa_of("2001:db9::1")), -1);
}

Test(config, trunk_without_tgrp_anywhere)
{
	/* The base's tgrp (line 6) removed: the trunk must set it. */
	cr_assert_eq(load_text(base_text(6, "[trunk eu]\nregion = euw1\n")), -1);
	expect_err(":14: [trunk eu] tgrp: ",
	    "required key missing (here or in [cloud])");
	cr_assert_eq(load_text(base_text(6, "[trunk eu]\ntgrp = E\n"
	    "[trunk us]\nport = 5070\n")), -1);
	expect_err(":16: [trunk us] tgrp: ", "required key missing");
	cr_assert_eq(load_text(base_text(6, "[trunk eu]\ntgrp = E\n")), 0,
	    "%s", err);
	cr_assert_str_eq(cfg->trunks[0].tgrp, "E");
}

Test(config, trunk_defined_twice)
{
	load_bad("[trunk eu]\ntgrp = A\n"		/* 14 */
	    "[trunk us]\ntgrp = B\n"			/* 16 */
	    "[trunk eu]\nport = 5070\n",		/* 18 */
	    ":18: [trunk eu]: ", "already defined on line 14");
	cr_assert_eq(load_named("[pbx a]\naddress = 192.168.10.21\n"
	    "allow = 192.168.10.0/24\n[pbx a]\ntransports = udp\n"), -1);
	expect_err(":17: [pbx a]: ", "already defined on line 14");
}

Test(config, named_section_invalid_name)
{
	load_bad("[trunk bad/name]\ntgrp = A\n", ":14: [trunk bad/name]: ",
	    "a name is 1 to 31 letters, digits, '_', '.' or '-'");
	load_bad("[trunk 0123456789012345678901234567890123]\ntgrp = A\n",
	    ":14: [trunk 0123456789012345678901234567890123]: ",
	    "a name is 1 to 31");
	cr_assert_eq(load_named("[pbx a b]\naddress = 192.168.10.21\n"
	    "allow = 192.168.10.0/24\n"), -1);
	expect_err(":14: [pbx a b]: ", "a name is 1 to 31");
}

Test(config, too_many_trunks)
{
	char extra[2048];
	size_t off = 0;

	/* Two lines each: the ninth header is on line 14 + 2 * 8. */
	for (int i = 0; i <= CFG_MAX_TRUNKS; i++)
		off += (size_t)snprintf(extra + off, sizeof(extra) - off,
		    "[trunk t%d]\ntgrp = T%d\n", i, i);
	load_bad(extra, ":30: [trunk t8]: ",
	    "too many [trunk NAME] sections (at most 8)");

	/* Exactly CFG_MAX_TRUNKS is fine. */
	off = 0;
	for (int i = 0; i < CFG_MAX_TRUNKS; i++)
		off += (size_t)snprintf(extra + off, sizeof(extra) - off,
		    "[trunk t%d]\ntgrp = T%d\n", i, i);
	snprintf(extra + off, sizeof(extra) - off,
	    "[route out]\ndirection = to_cloud\ntrunk = t7\n");
	load_ok(extra);
	cr_assert_eq(cfg->ntrunks, CFG_MAX_TRUNKS);
	cr_assert_str_eq(cfg->trunks[7].name, "t7");
}

Test(config, named_pbx_transports_not_in_pbx_transports)
{
	cr_assert_eq(load_named("[pbx]\ntransports = udp\n"	/* 14 */
	    "[pbx a]\n"					/* 16 */
	    "address = 192.168.10.21:5060\n"
	    "allow = 192.168.10.0/24\n"
	    "transports = tcp\n"), -1);			/* 19 */
	expect_err(":19: [pbx a] transports: ",
	    "none of them is in [pbx] transports");
	/* udp,tcp in a PBX under [pbx] udp: udp only. */
	cr_assert_eq(load_named("[pbx]\ntransports = udp\n"
	    "[pbx a]\naddress = 192.168.10.21:5060\n"
	    "allow = 192.168.10.0/24\ntransports = udp, tcp\n"), 0, "%s", err);
	cr_assert_eq(cfg->pbxs[0].transports, CFG_TP_UDP);
}

Test(config, route_to_unknown_trunk)
{
	load_bad("[trunk eu]\ntgrp = A\n"		/* 14 */
	    "[route out]\n"				/* 16 */
	    "direction = to_cloud\n"			/* 17 */
	    "trunk = nope\n",				/* 18 */
	    ":18: [route out] trunk: ", "unknown trunk \"nope\" (trunks: eu)");
	/* Without [trunk NAME] sections the one trunk is "default". */
	load_bad("[route out]\ndirection = to_cloud\ntrunk = eu\n",
	    ":16: [route out] trunk: ", "unknown trunk \"eu\" (trunks: default)");
	load_ok("[route out]\ndirection = to_cloud\ntrunk = default\n");
}

Test(config, two_trunks_need_a_to_cloud_route)
{
	load_bad("[trunk eu]\ntgrp = A\n[trunk us]\ntgrp = B\n",
	    ":0: [route] direction: ",
	    "2 trunks and no [route] with direction = to_cloud");
	cr_assert_eq(load_named(
	    "[pbx a]\naddress = 192.168.10.21\nallow = 10.1.0.0/16\n"
	    "[pbx b]\naddress = 192.168.10.22\nallow = 10.2.0.0/16\n"), -1);
	expect_err(":0: [route] direction: ",
	    "2 PBXs and no [route] with direction = to_pbx");
}

/* The error points at the key the trunk set, not at [cloud] or the
 * trunk's header. */
Test(config, trunk_tls_min_above_max)
{
	load_bad("[trunk eu]\n"				/* 14 */
	    "tgrp = A\n"				/* 15 */
	    "tls_max_version = 1.2\n"			/* 16 */
	    "tls_min_version = 1.3\n",			/* 17 */
	    ":16: [trunk eu] tls_max_version: ",
	    "tls_min_version is above tls_max_version");
	/* Only tls_min_version set in the trunk: [cloud]'s 1.2 default max. */
	load_bad("[trunk eu]\n"				/* 14 */
	    "tgrp = A\n"				/* 15 */
	    "tls_min_version = 1.3\n",			/* 16 */
	    ":16: [trunk eu] tls_min_version: ",
	    "tls_min_version is above tls_max_version");
}

Test(config, regex_rule_compiled_and_freed)
{
	load_ok("[rule intl]\nmatch = ^0(\\d+)$\nreplace = +44$1\n"
	    "[route out]\ndirection = to_cloud\ncalled = intl\n"
	    "trunk = default\n");
	cr_assert_eq(cfg->plan.nrules, 1);
	cr_assert_eq(cfg->plan.rules[0].kind, NP_RULE_REGEX);
	cr_assert_not_null(cfg->plan.rules[0].re);
	config_free(cfg);
	cr_assert_null(cfg->plan.rules[0].re);
	cr_assert_null(cfg->plan.rules[0].md);
	/* Twice is harmless (teardown frees again). */
	config_free(cfg);
}

Test(config, regex_rule_freed_when_a_later_check_fails)
{
	/* The plan is finished (regex compiled) before [media] is checked:
	 * the failed load must not leak it (ASan's leak check). */
	load_bad("[rule intl]\nmatch = ^0(\\d+)$\nreplace = +44$1\n"
	    "[route out]\ndirection = to_cloud\ncalled = intl\n"
	    "trunk = default\n[media]\nport_min = 20001\n",
	    ":22: [media] port_min: ", "must be even");
	cr_assert_null(cfg->plan.rules[0].re);
}
