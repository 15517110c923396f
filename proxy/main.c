/* main.c - command line: run, check a configuration, version, help, man page. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config.h"
#include "doctor.h"
#include "dryrun.h"
#include "log.h"
#include "media.h"
#include "app.h"

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
	{ "route -c FILE --from IP --to NUMBER", "where a call would go (nothing sent)" },
	{ "--version | --help", "" },
};

static const struct help_item help_options[] = {
	{ "-c FILE", "the configuration file (INI, keys below)" },
	{ "-t", "check FILE (every key) and the certificate, key, CA and CRL\n"
	    "files it names; print the routing table and \"FILE: configuration\n"
	    "ok\", or the error" },
	{ "doctor", "first argument: check the chain, the cloud proxies and the PBX\n"
	    "side; \"ok|warn|fail  CHECK: DETAIL\" lines, fixes included" },
	{ "route", "first argument: the route, trunk or PBX and the rewritten\n"
	    "Request-URI, To, From, P-Asserted-Identity of a call from --from\n"
	    "IP to --to NUMBER (--calling NUMBER, --direction to_cloud|to_pbx);\n"
	    "exit 1 when no route takes it" },
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

/* --help: the keys come from config.c's table, as the man page's do. */
static void
help(void)
{
	struct config_key_doc d;
	const char *prev = NULL;

	usage(stdout);
	help_list("options", help_options, NITEMS(help_options), 14);
	printf("\nexit status: %s\n", help_exit);
	help_list("signals", help_signals, NITEMS(help_signals), 14);
	help_list("environment", help_env, NITEMS(help_env), 28);
	printf("\nconfiguration keys: %s\n", help_keys_intro);
	for (int k = 0; config_key_doc(k, &d) == 0; k++) {
		if (prev == NULL || strcmp(d.section, prev) != 0)
			printf("\n");
		prev = d.section;
		printf("  [%s] %s =%s%s\n      %s\n", d.section, d.key,
		    d.def[0] ? " " : "", d.def, d.help);
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
	struct config_key_doc d;
	const char *prev = NULL;
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
	for (int k = 0; config_key_doc(k, &d) == 0; k++) {
		if (prev == NULL || strcmp(d.section, prev) != 0)
			printf(".SS [%s]\n", d.section);
		prev = d.section;
		printf(".TP\n\\fB[%s] %s\\fR =%s", d.section, d.key,
		    d.def[0] ? " " : "");
		man_text(d.def, 1);
		putchar('\n');
		man_text(d.help, 0);
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
	struct app app;
	struct proxy *px = &app.px;
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
	r = app_init(&app, &loop, cfg);
	core_call_events(px, &calls);
	if (r == 0 && (r = media_init(&md, &loop, cfg, &calls)) < 0)
		log_error(NULL, "media: %s", uv_strerror(r));
	if (r == 0)
		media_attach(&md, &px->hooks);
	if (r == 0)
		r = app_start(&app, &md);
	if (r < 0)
		app_shutdown(&app);
	uv_run(&loop, UV_RUN_DEFAULT);
	media_free(&md);
	if (app.failed < 0)
		r = app.failed;
	app_free(&app);
	if (uv_loop_close(&loop) != 0)
		log_warn(NULL, "loop closed with handles still open");
	return r < 0 ? 1 : 0;
}

/* The routing table as understood: names in configuration order. */
static void
print_plan(const struct config *cfg)
{
	const char *pbx[CFG_MAX_PBX], *trunk[CFG_MAX_TRUNKS];

	for (int i = 0; i < cfg->npbx; i++)
		pbx[i] = cfg->pbxs[i].name;
	for (int i = 0; i < cfg->ntrunks; i++)
		trunk[i] = cfg->trunks[i].name;
	numplan_print(&cfg->plan, pbx, trunk, stdout);
}

/* `route`'s own options; 0, or 2 (usage) with a message. */
static int
route_arg(int argc, char **argv, int *i, struct dryrun_args *a)
{
	const char *opt = argv[*i];

	if (*i + 1 >= argc) {
		fprintf(stderr, "tlstrunk: %s needs a value\n", opt);
		return 2;
	}
	if (strcmp(opt, "--from") == 0)
		a->from = argv[++*i];
	else if (strcmp(opt, "--to") == 0)
		a->to = argv[++*i];
	else if (strcmp(opt, "--calling") == 0)
		a->calling = argv[++*i];
	else if (strcmp(argv[*i + 1], "to_cloud") == 0 ||
	    strcmp(argv[*i + 1], "to_pbx") == 0)
		a->dir = strcmp(argv[++*i], "to_cloud") == 0 ? NP_TO_CLOUD :
		    NP_TO_PBX;
	else {
		fprintf(stderr, "tlstrunk: --direction is to_cloud or to_pbx\n");
		return 2;
	}
	return 0;
}

static int
route_opt(const char *s)
{
	return strcmp(s, "--from") == 0 || strcmp(s, "--to") == 0 ||
	    strcmp(s, "--calling") == 0 || strcmp(s, "--direction") == 0;
}

int
main(int argc, char **argv)
{
	const char *file = NULL;
	int check = 0, doctor = 0, route = 0;
	struct dryrun_args ra = { .dir = -1 };
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
		} else if (strcmp(argv[i], "route") == 0 && i == 1) {
			route = 1;
		} else if (route && route_opt(argv[i])) {
			if (route_arg(argc, argv, &i, &ra) != 0)
				return 2;
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
	if (route && (ra.from == NULL || ra.to == NULL)) {
		fprintf(stderr, "tlstrunk: route needs --from IP and --to NUMBER\n");
		usage(stderr);
		return 2;
	}
	if (file == NULL) {
		fprintf(stderr, "tlstrunk: no configuration file (-c FILE)\n");
		usage(stderr);
		return 2;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return 1;
	if (config_load(cfg, file, err, sizeof(err)) < 0 ||
	    (!doctor && !route && config_check_files(cfg, err,
	    sizeof(err)) < 0)) {
		fprintf(stderr, "%s\n", err);
		config_free(cfg);
		free(cfg);
		return 1;
	}
	if (doctor) {
		rc = doctor_run(cfg, stdout);
	} else if (route) {
		rc = dryrun_run(cfg, &ra, stdout);
	} else if (check) {
		print_plan(cfg);
		printf("%s: configuration ok\n", file);
		rc = 0;
	} else {
		rc = run(cfg);
	}
	config_free(cfg);
	free(cfg);
	return rc;
}
