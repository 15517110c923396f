/* metrics.c - SIP/TLS/call counters and their Prometheus text form. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static const char *const methods[METRICS_NMETHODS] = {
	"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "UPDATE", "INFO", "PRACK",
	"REFER", "NOTIFY", "SUBSCRIBE", "MESSAGE", "REGISTER", "PUBLISH", "other"
};
static const char *const legs[2] = { "pbx", "cloud" };
static const char *const dirs[2] = { "in", "out" };
static const char *const results[MR_NRESULTS] = { "answered", "failed", "cancelled" };
static const char *const tls_names[MT_NTLS] = { "ok", "verify", "handshake", "timeout" };

void
mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		if (b->oom)
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0,
		    fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if (b->p != NULL && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

void
metrics_sip(struct metrics *m, int leg, int out, const char *buf, size_t len)
{
	if (len >= 11 && memcmp(buf, "SIP/2.0 ", 8) == 0) {
		int c = buf[8] - '0';
		m->responses[leg][out][c >= 1 && c <= 6 ? c : 0]++;
		return;
	}
	for (int i = 0; i < METRICS_NMETHODS - 1; i++) {
		size_t n = strlen(methods[i]);
		if (len > n && memcmp(buf, methods[i], n) == 0 && buf[n] == ' ') {
			m->requests[leg][out][i]++;
			return;
		}
	}
	m->requests[leg][out][METRICS_NMETHODS - 1]++;
}

/* Calls by trunk and PBX: what each site and trunk carried. */
static void
metrics_print_routes(const struct metrics *m, const struct config *cfg,
    struct mbuf *b)
{
	mbuf_printf(b, "# HELP tlstrunk_trunk_calls_total Calls ended, by "
	    "direction, trunk, PBX and result.\n"
	    "# TYPE tlstrunk_trunk_calls_total counter\n");
	for (int d = 0; d < 2; d++)
		for (int t = 0; t < cfg->ntrunks; t++)
			for (int p = 0; p < cfg->npbx; p++)
				for (int r = 0; r < MR_NRESULTS; r++)
					mbuf_printf(b, "tlstrunk_trunk_calls_total"
					    "{direction=\"%s\",trunk=\"%s\","
					    "pbx=\"%s\",result=\"%s\"} %llu\n",
					    d == 0 ? "pbx_to_cloud" :
					    "cloud_to_pbx", cfg->trunks[t].name,
					    cfg->pbxs[p].name, results[r],
					    (unsigned long long)
					    m->route_calls[d][t][p][r]);
	mbuf_printf(b, "# HELP tlstrunk_calls_no_route_total New calls "
	    "refused with 404: no route takes the number.\n"
	    "# TYPE tlstrunk_calls_no_route_total counter\n");
	for (int d = 0; d < 2; d++)
		mbuf_printf(b, "tlstrunk_calls_no_route_total{direction=\"%s\"} "
		    "%llu\n", d == 0 ? "pbx_to_cloud" : "cloud_to_pbx",
		    (unsigned long long)m->no_route[d]);
}

void
metrics_print(const struct metrics *m, const struct config *cfg,
    const uint64_t tls[MT_NTLS], struct mbuf *b)
{
	mbuf_printf(b, "# HELP tlstrunk_calls_total Calls ended, by direction and result.\n"
	    "# TYPE tlstrunk_calls_total counter\n");
	for (int d = 0; d < 2; d++)
		for (int r = 0; r < MR_NRESULTS; r++)
			mbuf_printf(b, "tlstrunk_calls_total{direction=\"%s\",result=\"%s\"} %llu\n",
			    d == 0 ? "pbx_to_cloud" : "cloud_to_pbx", results[r],
			    (unsigned long long)m->calls[d][r]);
	metrics_print_routes(m, cfg, b);
	mbuf_printf(b, "# HELP tlstrunk_sip_requests_total SIP requests by leg, direction and method.\n"
	    "# TYPE tlstrunk_sip_requests_total counter\n");
	for (int l = 0; l < 2; l++)
		for (int d = 0; d < 2; d++)
			for (int i = 0; i < METRICS_NMETHODS; i++)
				if (m->requests[l][d][i] != 0 || i == 0)
					mbuf_printf(b, "tlstrunk_sip_requests_total{leg=\"%s\",direction=\"%s\",method=\"%s\"} %llu\n",
					    legs[l], dirs[d], methods[i],
					    (unsigned long long)m->requests[l][d][i]);
	mbuf_printf(b, "# HELP tlstrunk_sip_responses_total SIP responses by leg, direction and status class.\n"
	    "# TYPE tlstrunk_sip_responses_total counter\n");
	for (int l = 0; l < 2; l++)
		for (int d = 0; d < 2; d++)
			for (int c = 1; c <= 6; c++)
				mbuf_printf(b, "tlstrunk_sip_responses_total{leg=\"%s\",direction=\"%s\",class=\"%dxx\"} %llu\n",
				    legs[l], dirs[d], c,
				    (unsigned long long)m->responses[l][d][c]);
	mbuf_printf(b, "# HELP tlstrunk_tls_handshakes_total TLS handshakes by result.\n"
	    "# TYPE tlstrunk_tls_handshakes_total counter\n");
	mbuf_printf(b, "tlstrunk_tls_handshakes_total{result=\"ok\",reason=\"\"} %llu\n",
	    (unsigned long long)tls[MT_OK]);
	for (int i = MT_OK + 1; i < MT_NTLS; i++)
		mbuf_printf(b, "tlstrunk_tls_handshakes_total{result=\"failed\",reason=\"%s\"} %llu\n",
		    tls_names[i], (unsigned long long)tls[i]);
	mbuf_printf(b, "# HELP tlstrunk_refused_sources_total Requests refused: source not in [pbx] allow.\n"
	    "# TYPE tlstrunk_refused_sources_total counter\n"
	    "tlstrunk_refused_sources_total %llu\n",
	    (unsigned long long)m->refused_sources);
	mbuf_printf(b, "# HELP tlstrunk_connections_refused_total Connections closed at accept.\n"
	    "# TYPE tlstrunk_connections_refused_total counter\n"
	    "tlstrunk_connections_refused_total{reason=\"source\"} %llu\n"
	    "tlstrunk_connections_refused_total{reason=\"limit\"} %llu\n",
	    (unsigned long long)m->conns_refused[0],
	    (unsigned long long)m->conns_refused[1]);
	mbuf_printf(b, "# HELP tlstrunk_calls_refused_total New calls refused by a limit (503).\n"
	    "# TYPE tlstrunk_calls_refused_total counter\n"
	    "tlstrunk_calls_refused_total %llu\n", (unsigned long long)m->calls_refused);
}
