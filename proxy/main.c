/* main.c - command line: run, check a configuration, version, help. */
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

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: tlstrunk -c FILE        run in the foreground, log to stderr\n"
	    "       tlstrunk -t -c FILE     check FILE (and the files it names)\n"
	    "       tlstrunk doctor -c FILE pre-flight report\n"
	    "       tlstrunk --version | --help\n");
}

static int
run(const struct config *cfg)
{
	uv_loop_t loop;
	struct proxy px;
	struct media md;
	int r;

	memset(&md, 0, sizeof(md));
	log_init(cfg->general.log_level, cfg->general.log_json);
	signal(SIGPIPE, SIG_IGN);
	if ((r = uv_loop_init(&loop)) < 0) {
		log_error(NULL, "uv_loop_init: %s", uv_strerror(r));
		return 1;
	}
	r = proxy_init(&px, &loop, cfg);
	if (r == 0 && (r = media_init(&md, &px)) < 0)
		log_error(NULL, "media: %s", uv_strerror(r));
	if (r == 0)
		media_attach(&md);
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
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "-t") == 0) {
			check = 1;
		} else if (strcmp(argv[i], "doctor") == 0 && i == 1) {
			doctor = 1;
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			file = argv[++i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (file == NULL) {
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
