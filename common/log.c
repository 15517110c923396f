/* log.c - line-oriented logging to stderr, text or JSON lines. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/time.h>

#include "log.h"

static enum log_level log_cur = LOG_INFO;
static int log_json;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

void
log_init(enum log_level level, int json)
{
	log_cur = level;
	log_json = json;
}

int
log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, log_names[i]) == 0)
			return i;
	return -1;
}

int
log_enabled(enum log_level level)
{
	return level <= log_cur;
}

/* Copy s into out as a JSON string body, escaping what JSON requires. */
static void
log_json_escape(char *out, size_t outlen, const char *s)
{
	size_t o = 0;

	for (; *s != '\0' && o + 7 < outlen; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

void
log_msg(enum log_level level, const char *callid, const char *fmt, ...)
{
	char msg[2048], ts[64];
	struct timeval tv;
	struct tm tm;
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One event, one line: fold any newline a peer smuggled in. */
	for (char *p = msg; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

	if (log_json) {
		char emsg[4096], ecid[512];
		log_json_escape(emsg, sizeof(emsg), msg);
		log_json_escape(ecid, sizeof(ecid), callid ? callid : "");
		fprintf(stderr,
		    "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"call_id\":\"%s\",\"msg\":\"%s\"}\n",
		    ts, (long)tv.tv_usec / 1000, log_names[level], ecid, emsg);
	} else if (callid != NULL) {
		fprintf(stderr, "%s.%03ldZ %-5s [%s] %s\n", ts,
		    (long)tv.tv_usec / 1000, log_names[level], callid, msg);
	} else {
		fprintf(stderr, "%s.%03ldZ %-5s %s\n", ts,
		    (long)tv.tv_usec / 1000, log_names[level], msg);
	}
}

void
fatal(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "fatal: %s\n", msg);
	abort();
}
