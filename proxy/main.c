/* main.c - command line: run, check a configuration, version, help, man page. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config.h"
#include "doctor.h"
#include "log.h"
#include "media.h"
#include "proxy.h"

/*
 * Every configuration key, for --help.  tests/integration/88_packaging.sh
 * fails when a key of config/config.c's cfg_keys[] is missing here (or
 * here but not there), or when a default below differs from the one in
 * config/tlstrunk.ini.example, which tests/unit/test_docs.c checks against
 * the built-in defaults.  README.md's "Configuration keys" block is this
 * output, checked by the same test.
 */
static const struct help_key {
	const char *section, *key, *def, *meaning;
} help_keys[] = {
	{ "general", "log_level", "info", "error, warn, info or debug" },
	{ "general", "log_format", "text",
	    "text, or json (one JSON object per line)" },
	{ "general", "admin_listen", "127.0.0.1:9090",
	    "HTTP GET /healthz and /metrics (Prometheus); empty = off" },

	{ "pbx", "listen", "0.0.0.0:5060",
	    "plaintext SIP from and to the PBX, on every transport listed" },
	{ "pbx", "transports", "udp,tcp", "udp, tcp or both" },
	{ "pbx", "address", "(required)",
	    "the PBX's IP:port for calls from the cloud; ;transport=tcp or udp (default)" },
	{ "pbx", "allow", "(required)",
	    "CIDR list of the source networks allowed to send SIP (others: 403)" },
	{ "pbx", "advertised_address", "",
	    "address in Via/Record-Route toward the PBX; empty: listen or interface address" },

	{ "cloud", "region", "",
	    "BYOC region (use1 ... aps1): proxies lb01..lb04; required unless hosts is set" },
	{ "cloud", "hosts", "",
	    "explicit proxy host names (not IP addresses); wins over region" },
	{ "cloud", "domain", "",
	    "instead of hosts: find the proxies by SRV _sips._tcp.<domain> (targets inside domain)" },
	{ "cloud", "resolve_interval", "300",
	    "seconds between DNS lookups of the proxies (SRV: its TTL when shorter)" },
	{ "cloud", "port", "5061", "TLS port of the cloud proxies" },
	{ "cloud", "tgrp", "(required)",
	    "trunk group label of the BYOC trunk (RFC 4904), in the Request-URI" },
	{ "cloud", "trunk_context", "(required)",
	    "trunk group namespace of the BYOC trunk (RFC 4904), in the Request-URI" },
	{ "cloud", "ca_file", "",
	    "PEM roots toward the cloud; with ca_path empty: the DigiCert EV, G2, G3 roots" },
	{ "cloud", "ca_path", "", "hashed directory of roots toward the cloud" },
	{ "cloud", "crl_file", "", "PEM CRLs (the leaf issuer's is required; also client CAs' when mutual); empty = none" },
	{ "cloud", "tls_min_version", "1.2", "1.2 or 1.3" },
	{ "cloud", "tls_max_version", "1.2", "1.2 or 1.3 (the cloud speaks 1.2)" },
	{ "cloud", "ciphers",
	    "ECDHE-RSA-AES256-GCM-SHA384,ECDHE-RSA-AES128-GCM-SHA256,"
	    "ECDHE-RSA-AES256-SHA,AES256-GCM-SHA384,AES128-GCM-SHA256,AES256-SHA",
	    "TLS 1.2 suites (OpenSSL names), preferred first; weak ones refused, the cloud's deprecated ones warned about" },
	{ "cloud", "groups", "secp384r1", "ECDHE groups offered" },
	{ "cloud", "resolve", "",
	    "name=ip pairs: connect to ip, verify the certificate against name" },
	{ "cloud", "keepalive_interval", "30",
	    "seconds of silence before a double-CRLF keep-alive on our TLS connections" },
	{ "cloud", "balance", "round-robin",
	    "round-robin or call-id-hash: how new calls are spread over the proxies" },
	{ "cloud", "options_interval", "30",
	    "seconds between OPTIONS probes of a proxy that is up" },
	{ "cloud", "options_interval_down", "10",
	    "seconds between OPTIONS probes of a proxy that is down" },
	{ "cloud", "failover_timeout", "4",
	    "seconds without a provisional response before the next proxy is tried" },
	{ "cloud", "drain_timeout", "30",
	    "seconds SIGTERM waits for active calls (new calls get 503)" },
	{ "cloud", "max_message_size", "16384",
	    "largest SIP message sent toward the cloud, in bytes; larger ones make common proxies drop the connection" },

	{ "tls_server", "listen", "0.0.0.0:5061", "TLS listener for calls from the cloud" },
	{ "tls_server", "cert_file", "(required)",
	    "PEM end-entity certificate followed by every intermediate" },
	{ "tls_server", "key_file", "(required)", "PEM private key of cert_file (not encrypted)" },
	{ "tls_server", "advertised_name", "(required)",
	    "the FQDN configured on the cloud trunk; must be in the certificate" },
	{ "tls_server", "mutual", "off", "on or off: require a client certificate" },
	{ "tls_server", "client_ca_file", "",
	    "PEM CAs for client certificates; required when mutual is on" },
	{ "tls_server", "allow", "",
	    "CIDR list of the networks that may connect; empty: any (the cloud's addresses change)" },

	{ "media", "pbx_address", "",
	    "address of the relay sockets facing the PBX; empty: the [pbx] listen host" },
	{ "media", "public_address", "",
	    "relay address put in the SDP toward the cloud; required if tls listen is 0.0.0.0" },
	{ "media", "port_min", "20000", "lowest relay port (even)" },
	{ "media", "port_max", "29999", "highest relay port" },
	{ "media", "srtp_suites", "AES_CM_128_HMAC_SHA1_80,AES_CM_128_HMAC_SHA1_32",
	    "SDES suites offered to the cloud, preferred first" },
	{ "media", "timeout", "60", "seconds without media before a call is ended" },

	{ "limits", "max_message_size", "65536", "largest SIP message accepted, in bytes" },
	{ "limits", "max_connections", "1024", "open connections on each listener (PBX TCP, TLS), counted apart" },
	{ "limits", "max_connections_per_source", "64",
	    "open TCP/TLS connections from one source address" },
	{ "limits", "max_calls", "2000", "concurrent calls in all (beyond: 503)" },
	{ "limits", "max_cps_per_source", "50",
	    "new calls per second from one source address (beyond: 503)" },
	{ "limits", "handshake_timeout", "10", "seconds a TLS handshake may take" },
	{ "limits", "idle_timeout", "300",
	    "seconds a connection a peer opened may stay without traffic" },
	{ "limits", "message_timeout", "10",
	    "seconds within which a started SIP message must be complete" },
	{ "limits", "max_headers", "128", "header fields allowed in one SIP message" },
	{ "limits", "max_calls_per_source", "1000",
	    "concurrent calls from one source address (beyond: 503)" },
	{ "limits", "max_unanswered_invites", "200",
	    "new calls forwarded and not answered at all yet (beyond: 503 at once: overload)" },

	{ "trace", "hep_collector", "",
	    "host:port of a HEP v3 collector (Homer, sngrep); empty = off" },
	{ "trace", "hep_id", "2001", "HEP capture agent id" },
	{ "trace", "tls_keylog", "",
	    "NSS key log file of the TLS leg (Wireshark); empty = off, warned when on" },
	{ "trace", "srtp_keylog", "",
	    "key log file of the SRTP keys; empty = off, warned when on" },
};

/*
 * The rest of --help, as tables that --man prints too (the man page,
 * tlstrunk(8), is this output in roff: it cannot say other than --help).
 * A '\n' in a text is where --help breaks the line.
 */
struct help_item {
	const char *name, *text;
};

static const struct help_item help_usage[] = {
	{ "-c FILE", "run in the foreground, log to stderr" },
	{ "-t -c FILE", "check FILE and the files it names, then exit" },
	{ "doctor -c FILE", "pre-flight report, one line per check" },
	{ "--version | --help", "" },
};

static const struct help_item help_options[] = {
	{ "-c FILE", "the configuration file (INI, keys below)" },
	{ "-t", "check FILE (every key) and the certificate, key, CA and CRL\n"
	    "files it names; print \"FILE: configuration ok\" or the error" },
	{ "doctor", "first argument: check the chain, the cloud proxies and the PBX\n"
	    "side; \"ok|warn|fail  CHECK: DETAIL\" lines, fixes included" },
	{ "-h, --help", "this text" },
	{ "--version", "\"tlstrunk VERSION\"" },
};

static const struct help_item help_signals[] = {
	{ "SIGHUP", "re-read the certificate, key and CA files (calls are kept; a\n"
	    "broken file is refused and the old one stays); other keys\n"
	    "need a restart" },
	{ "SIGTERM", "drain: new calls get 503, exit when the calls have ended or\n"
	    "after [cloud] drain_timeout" },
	{ "SIGINT", "exit now" },
};

static const struct help_item help_env[] = {
	{ "TLSTRUNK_SRTP_STOCK=1", "libsrtp2's own AES and HMAC-SHA1, not OpenSSL's" },
	{ "TLSTRUNK_DOCTOR_TRUST=FILE", "doctor: also accept these PEM roots (tests only)" },
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static const char help_exit[] =
    "0 ok; 1 configuration error, run-time error or a failed doctor\n"
    "check; 2 usage error.";
static const char help_keys_intro[] =
    "\"[section] key = default\" and what it means.\n"
    "Unknown keys are errors; \"(required)\" has no default; empty means not set.\n"
    "Lists are comma-separated; addresses are host:port or [v6]:port.";
static const char help_files[] =
    "tlstrunk.ini.example (config/ in the source tree,\n"
    "/usr/share/doc/tlstrunk/ once installed, and in the container image)";

static void
usage(FILE *f)
{
	size_t i;

	for (i = 0; i < NITEMS(help_usage); i++)
		fprintf(f, "%s tlstrunk %-*s%s\n", i == 0 ? "usage:" : "      ",
		    help_usage[i].text[0] ? 19 : 0, help_usage[i].name,
		    help_usage[i].text);
}

/* items TITLE: "  NAME  text" with the text at column WIDTH + 2. */
static void
help_list(const char *title, const struct help_item *it, size_t n, int width)
{
	const char *p;
	size_t i;

	printf("\n%s:\n", title);
	for (i = 0; i < n; i++) {
		printf("  %-*s", width, it[i].name);
		for (p = it[i].text; *p != '\0'; p++) {
			if (*p == '\n')
				printf("\n  %-*s", width, "");
			else
				putchar(*p);
		}
		putchar('\n');
	}
}

static void
help(void)
{
	size_t i;

	usage(stdout);
	help_list("options", help_options, NITEMS(help_options), 14);
	printf("\nexit status: %s\n", help_exit);
	help_list("signals", help_signals, NITEMS(help_signals), 14);
	help_list("environment", help_env, NITEMS(help_env), 28);
	printf("\nconfiguration keys: %s\n", help_keys_intro);
	for (i = 0; i < NITEMS(help_keys); i++) {
		if (i == 0 || strcmp(help_keys[i].section,
		    help_keys[i - 1].section) != 0)
			printf("\n");
		printf("  [%s] %s =%s%s\n      %s\n", help_keys[i].section,
		    help_keys[i].key, help_keys[i].def[0] ? " " : "",
		    help_keys[i].def, help_keys[i].meaning);
	}
	printf("\nevery key, commented: %s\n", help_files);
}

/*
 * roff text: '-' is a minus (what the shell takes), a '.' or '\'' opening a
 * line is no request, a ',' in a long list may break there (BREAK).  A '\n'
 * stays: roff fills the lines.
 */
static void
man_text(const char *s, int brk)
{
	int bol = 1;

	for (; *s != '\0'; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", stdout);
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else if (*s == ',' && brk)
			fputs(",\\:", stdout);
		else
			putchar(*s);
		bol = *s == '\n';
	}
}

static void
man_list(const char *title, const struct help_item *it, size_t n)
{
	size_t i;

	printf(".SH %s\n", title);
	for (i = 0; i < n; i++) {
		fputs(".TP\n\\fB", stdout);
		man_text(it[i].name, 0);
		fputs("\\fR\n", stdout);
		man_text(it[i].text, 0);
		putchar('\n');
	}
}

/* --man (not in --help): tlstrunk(8) in roff, from --help's tables. */
static void
man(void)
{
	size_t i;

	printf(".\\\" tlstrunk(8), generated by tlstrunk --man from the tables of --help.\n"
	    ".TH TLSTRUNK 8 \"\" \"tlstrunk %s\" \"System Manager's Manual\"\n"
	    ".ad l\n.nh\n"
	    ".SH NAME\n"
	    "tlstrunk \\- SIP over TLS and SRTP trunk sidecar for plaintext PBXs\n"
	    ".SH SYNOPSIS\n", TLSTRUNK_VERSION);
	for (i = 0; i < NITEMS(help_usage); i++) {
		fputs(i == 0 ? "" : ".br\n", stdout);
		fputs("\\fBtlstrunk\\fR ", stdout);
		man_text(help_usage[i].name, 0);
		putchar('\n');
	}
	fputs(".SH DESCRIPTION\n", stdout);
	for (i = 0; i < NITEMS(help_usage); i++) {
		if (help_usage[i].text[0] == '\0')
			continue;
		fputs(".TP\n\\fBtlstrunk ", stdout);
		man_text(help_usage[i].name, 0);
		fputs("\\fR\n", stdout);
		man_text(help_usage[i].text, 0);
		putchar('\n');
	}
	man_list("OPTIONS", help_options, NITEMS(help_options));
	fputs(".SH EXIT STATUS\n", stdout);
	man_text(help_exit, 0);
	putchar('\n');
	man_list("SIGNALS", help_signals, NITEMS(help_signals));
	man_list("ENVIRONMENT", help_env, NITEMS(help_env));
	fputs(".SH CONFIGURATION KEYS\n", stdout);
	man_text(help_keys_intro, 0);
	putchar('\n');
	for (i = 0; i < NITEMS(help_keys); i++) {
		if (i == 0 || strcmp(help_keys[i].section,
		    help_keys[i - 1].section) != 0)
			printf(".SS [%s]\n", help_keys[i].section);
		printf(".TP\n\\fB[%s] %s\\fR =%s", help_keys[i].section,
		    help_keys[i].key, help_keys[i].def[0] ? " " : "");
		man_text(help_keys[i].def, 1);
		putchar('\n');
		man_text(help_keys[i].meaning, 0);
		putchar('\n');
	}
	fputs(".SH FILES\n"
	    ".TP\n/etc/tlstrunk/tlstrunk.ini\n"
	    "the configuration file the systemd unit (tlstrunk.service) runs with\n"
	    ".TP\n/usr/share/doc/tlstrunk/tlstrunk.ini.example\n"
	    "every key, commented: ", stdout);
	man_text(help_files, 0);
	fputs("\n.SH SEE ALSO\n"
	    "\\fBsystemctl\\fR(1), \\fBopenssl\\fR(1),\n"
	    "/usr/share/doc/tlstrunk/README.md\n", stdout);
}

static int
run(const struct config *cfg)
{
	uv_loop_t loop;
	struct proxy px;
	struct media md;
	struct call_events calls;
	int r;

	memset(&md, 0, sizeof(md));
	log_init(cfg->general.log_level, cfg->general.log_json);
	signal(SIGPIPE, SIG_IGN);
	if ((r = uv_loop_init(&loop)) < 0) {
		log_error(NULL, "uv_loop_init: %s", uv_strerror(r));
		return 1;
	}
	r = proxy_init(&px, &loop, cfg);
	proxy_call_events(&px, &calls);
	if (r == 0 && (r = media_init(&md, &loop, cfg, &calls)) < 0)
		log_error(NULL, "media: %s", uv_strerror(r));
	if (r == 0)
		media_attach(&md, &px.hooks);
	if (r == 0) {
		log_info(NULL, "tlstrunk %s up: pbx %s:%u, tls %s:%u, %d cloud proxies",
		    TLSTRUNK_VERSION, px.pbx_host, px.pbx_port, px.tls_name,
		    px.tls_port, px.nhosts);
	}
	if (r < 0)
		proxy_shutdown(&px);
	uv_run(&loop, UV_RUN_DEFAULT);
	media_free(&md);
	proxy_free(&px);
	if (uv_loop_close(&loop) != 0)
		log_warn(NULL, "loop closed with handles still open");
	return r < 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	const char *file = NULL;
	int check = 0, doctor = 0;
	struct config *cfg;
	char err[1024];
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("tlstrunk %s\n", TLSTRUNK_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			help();
			return 0;
		} else if (strcmp(argv[i], "--man") == 0) {
			man();
			return 0;
		} else if (strcmp(argv[i], "-t") == 0) {
			check = 1;
		} else if (strcmp(argv[i], "doctor") == 0 && i == 1) {
			doctor = 1;
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			file = argv[++i];
		} else {
			if (strcmp(argv[i], "-c") == 0)
				fprintf(stderr, "tlstrunk: -c needs a FILE\n");
			else
				fprintf(stderr, "tlstrunk: unknown argument \"%s\"\n",
				    argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (file == NULL) {
		fprintf(stderr, "tlstrunk: no configuration file (-c FILE)\n");
		usage(stderr);
		return 2;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return 1;
	if (config_load(cfg, file, err, sizeof(err)) < 0 ||
	    (!doctor && config_check_files(cfg, err, sizeof(err)) < 0)) {
		fprintf(stderr, "%s\n", err);
		free(cfg);
		return 1;
	}
	if (doctor) {
		rc = doctor_run(cfg, stdout);
	} else if (check) {
		printf("%s: configuration ok\n", file);
		rc = 0;
	} else {
		rc = run(cfg);
	}
	free(cfg);
	return rc;
}
