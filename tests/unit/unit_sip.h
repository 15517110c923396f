/*
 * unit_sip.h - what the SIP unit tests share: a configuration loaded from
 * text, and a message parsed from text (\n becomes CRLF).
 */
#ifndef TLSTRUNK_UNIT_SIP_H
#define TLSTRUNK_UNIT_SIP_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <sofia-sip/msg_buffer.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

#include "config.h"

/* A whole configuration file's text, loaded (nothing added to it). */
static inline void
unit_config_text(struct config *cfg, const char *text)
{
	char path[] = "/tmp/tlstrunk-unit-XXXXXX", err[512];
	int fd = mkstemp(path);
	FILE *f;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	cr_assert_eq(config_load(cfg, path, err, sizeof(err)), 0, "%s", err);
	unlink(path);
}

/* The keys every test configuration needs, the cloud proxies, then extra. */
static inline void
unit_config_hosts(struct config *cfg, const char *hosts, const char *extra)
{
	char path[] = "/tmp/tlstrunk-unit-XXXXXX", err[512];
	int fd = mkstemp(path);
	FILE *f;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f, "[pbx]\naddress = 127.0.0.1:5090\nallow = 127.0.0.0/29\n"
	    "[cloud]\nhosts = %s\ntgrp = T\n"
	    "trunk_context = c.example\n[tls_server]\ncert_file = /x.pem\n"
	    "key_file = /x.key\nadvertised_name = sbc.test.example\n"
	    "listen = 127.0.0.1:15061\n%s", hosts, extra);
	fclose(f);
	cr_assert_eq(config_load(cfg, path, err, sizeof(err)), 0, "%s", err);
	unlink(path);
}

static inline void
unit_config(struct config *cfg, const char *extra)
{
	unit_config_hosts(cfg, "lb01.voice.use1.pure.cloud", extra);
}

static inline msg_t *
unit_parse(const char *text)
{
	char buf[4096];
	size_t n = 0;
	msg_t *m;
	void *b;

	for (const char *p = text; *p != '\0' && n + 2 < sizeof(buf); p++) {
		if (*p == '\n')
			buf[n++] = '\r';
		buf[n++] = *p;
	}
	m = msg_create(sip_default_mclass(), 0);
	cr_assert_not_null(m);
	b = msg_buf_alloc(m, n + 1);
	memcpy(b, buf, n);
	msg_buf_commit(m, n, 1);
	cr_assert_gt(msg_extract(m), 0, "unparsable: %s", text);
	return m;
}

#endif
