/* sdp_rewrite.c - SDP inspection and rewriting for the media bridge. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/sdp.h>

#include "sdp_rewrite.h"

/*
 * Direction attributes stay ordinary attributes, in place: sofia-sip
 * would otherwise fold the media ones into m_mode and print them back
 * before the other attributes, and only where they differ from the
 * session's.
 */
#define SDP_FLAGS	sdp_f_mode_manual

/* One parsed body; everything hangs off home. */
struct sdp_doc {
	su_home_t	 home[1];
	sdp_parser_t	*parser;
	sdp_session_t	*sdp;
	int		 nmedia;
};

/* RFC 4566 token characters, the set sofia-sip's parser uses. */
static int
is_token(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("-!#$%&'*+.^_`{|}~", c) != NULL);
}

static const char *
skip_tokens(const char *p, const char *end)
{
	const char *s = p;

	while (p < end && is_token(*p))
		p++;
	return p == s ? NULL : p;
}

static const char *
skip_digits(const char *p, const char *end)
{
	const char *s = p;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p == s ? NULL : p;
}

static const char *
skip_spaces(const char *p, const char *end)
{
	const char *s = p;

	while (p < end && *p == ' ')
		p++;
	return p == s ? NULL : p;
}

/*
 * "m=<media> <port>[/<n>] <proto>[/<proto>...] <fmt> ..." (RFC 4566
 * 5.14), exactly.  The sofia-sip 1.12.11 parser loops allocating
 * until memory runs out on a format that does not start with a token
 * character (found by fuzzing: "m=audio 0 X/Y a=b", "m=audio 1V X /Y
 * 0"), so it only gets to see this grammar.
 */
static int
mline_check(const char *line, size_t n)
{
	const char *p = line + 2, *end = line + n;
	int nfmt = 0;

	if ((p = skip_tokens(p, end)) == NULL ||
	    (p = skip_spaces(p, end)) == NULL ||
	    (p = skip_digits(p, end)) == NULL)
		return -EINVAL;
	if (p < end && *p == '/' && (p = skip_digits(p + 1, end)) == NULL)
		return -EINVAL;
	if ((p = skip_spaces(p, end)) == NULL ||
	    (p = skip_tokens(p, end)) == NULL)
		return -EINVAL;
	while (p < end && *p == '/')
		if ((p = skip_tokens(p + 1, end)) == NULL)
			return -EINVAL;
	while (p < end) {
		if ((p = skip_spaces(p, end)) == NULL)
			return -EINVAL;
		if (p == end)
			break;
		if ((p = skip_tokens(p, end)) == NULL)
			return -EINVAL;
		nfmt++;
	}
	return nfmt > 0 ? 0 : -EINVAL;
}

/*
 * sofia-sip copies the body with strncpy(), so a NUL silently ends it,
 * and it stops parsing without a word at a line shorter than two
 * bytes (skipping its own sanity check).  Refuse both, and any line
 * that is not "<type>=" (RFC 4566 5: no whitespace around '='), before
 * the parser sees the body.
 */
static int
body_check(const char *body, size_t len)
{
	size_t i = 0, start;

	if (body == NULL || len == 0)
		return -EINVAL;
	if (len > SDP_MAX_LEN)
		return -E2BIG;
	while (i < len) {
		if (body[i] == '\r' || body[i] == '\n') {
			i++;
			continue;
		}
		start = i;
		/* No control characters but TAB: sofia-sip parses some into
		 * fields it then prints as "(null)" (found by fuzzing). */
		for (; i < len && body[i] != '\r' && body[i] != '\n'; i++)
			if (((unsigned char)body[i] < 0x20 && body[i] != '\t') ||
			    body[i] == 0x7f)
				return -EINVAL;
		if (i - start < 2 || body[start] < 'a' || body[start] > 'z' ||
		    body[start + 1] != '=')
			return -EINVAL;
		if (body[start] == 'm' &&
		    mline_check(body + start, i - start) != 0)
			return -EINVAL;
	}
	return 0;
}

/* "<port>" or "<port> <nettype> <addrtype> <addr>" (RFC 3605). */
static int
rtcp_port(const char *v, unsigned *port)
{
	unsigned long n = 0;
	const char *p;

	if (v == NULL)
		return -EINVAL;
	for (p = v; *p >= '0' && *p <= '9'; p++)
		if ((n = n * 10 + (unsigned long)(*p - '0')) > 65535)
			return -EINVAL;
	if (p == v || n == 0 || (*p != '\0' && *p != ' ' && *p != '\t'))
		return -EINVAL;
	*port = (unsigned)n;
	return 0;
}

/* What the parser accepts but we do not. */
static int
media_check(const sdp_media_t *m)
{
	const sdp_attribute_t *a;
	unsigned port;

	if (m->m_port > 65535)
		return -EINVAL;
	/* One format at least (RFC 4566 5.14): the printer invents "19". */
	if (m->m_rtpmaps == NULL && m->m_format == NULL)
		return -EINVAL;
	/* An rtpmap without an encoding name would print as "(null)". */
	for (const sdp_rtpmap_t *rm = m->m_rtpmaps; rm != NULL; rm = rm->rm_next)
		if (rm->rm_encoding == NULL)
			return -EINVAL;
	for (a = m->m_attributes; a != NULL; a = a->a_next) {
		if (strcasecmp(a->a_name, "rtcp") == 0 &&
		    rtcp_port(a->a_value, &port) != 0)
			return -EINVAL;
		if (strcasecmp(a->a_name, "crypto") == 0 && a->a_value == NULL)
			return -EINVAL;
	}
	return 0;
}

static void
doc_init(struct sdp_doc *d)
{
	memset(d, 0, sizeof(*d));
	su_home_init(d->home);
}

static void
doc_free(struct sdp_doc *d)
{
	/* Also takes the static out-of-memory parser. */
	sdp_parser_free(d->parser);
	su_home_deinit(d->home);
}

static int
doc_load(struct sdp_doc *d, const char *body, size_t len)
{
	const sdp_media_t *m;
	int rc;

	if ((rc = body_check(body, len)) != 0)
		return rc;
	d->parser = sdp_parse(d->home, body, (issize_t)len, SDP_FLAGS);
	if ((d->sdp = sdp_session(d->parser)) == NULL)
		return -EINVAL;
	for (m = d->sdp->sdp_media; m != NULL; m = m->m_next) {
		if (++d->nmedia > SDP_MAX_MEDIA)
			return -E2BIG;
		if ((rc = media_check(m)) != 0)
			return rc;
	}
	return 0;
}

/*
 * Only exact RTP/AVP and RTP/SAVP count: the feedback and DTLS
 * profiles are other protocols that this bridge does not speak.
 */
static int
media_proto(const sdp_media_t *m)
{
	if (m->m_proto_name == NULL)
		return SDP_PROTO_OTHER;
	if (m->m_proto == sdp_proto_rtp &&
	    strcasecmp(m->m_proto_name, "RTP/AVP") == 0)
		return SDP_PROTO_AVP;
	if (m->m_proto == sdp_proto_srtp &&
	    strcasecmp(m->m_proto_name, "RTP/SAVP") == 0)
		return SDP_PROTO_SAVP;
	return SDP_PROTO_OTHER;
}

/* The first direction attribute in a, else def. */
static int
attr_dir(const sdp_attribute_t *a, int def)
{
	for (; a != NULL; a = a->a_next) {
		if (strcasecmp(a->a_name, "sendrecv") == 0)
			return SDP_SENDRECV;
		if (strcasecmp(a->a_name, "sendonly") == 0)
			return SDP_SENDONLY;
		if (strcasecmp(a->a_name, "recvonly") == 0)
			return SDP_RECVONLY;
		if (strcasecmp(a->a_name, "inactive") == 0)
			return SDP_INACTIVE;
	}
	return def;
}

static int
copy_str(char *dst, size_t size, const char *src)
{
	if (src == NULL)
		src = "";
	if (strlen(src) >= size)
		return -E2BIG;
	strcpy(dst, src);
	return 0;
}

static int
media_attrs_info(const sdp_media_t *m, struct sdp_media_info *mi)
{
	const sdp_attribute_t *a;
	int rc;

	for (a = m->m_attributes; a != NULL; a = a->a_next) {
		if (strcasecmp(a->a_name, "rtcp-mux") == 0)
			mi->rtcp_mux = 1;
		else if (strcasecmp(a->a_name, "rtcp") == 0)
			/* Valid: media_check() said so. */
			(void)rtcp_port(a->a_value, &mi->rtcp_port);
		else if (strcasecmp(a->a_name, "crypto") == 0) {
			/* The SRTP side needs every offered line intact. */
			if (mi->ncrypto == SDP_MAX_CRYPTO)
				return -E2BIG;
			rc = copy_str(mi->crypto[mi->ncrypto],
			    sizeof(mi->crypto[0]), a->a_value);
			if (rc != 0)
				return rc;
			mi->ncrypto++;
		}
	}
	return 0;
}

static int addr_type(const char *addr);

static int
media_info(const sdp_session_t *sdp, const sdp_media_t *m,
    struct sdp_media_info *mi)
{
	const sdp_connection_t *c;
	int rc;

	/* Not the crypto strings: 2 KiB a line, and ncrypto bounds them. */
	memset(mi, 0, offsetof(struct sdp_media_info, crypto));
	mi->ncrypto = 0;
	mi->audio = m->m_type == sdp_media_audio;
	mi->proto = media_proto(m);
	mi->port = (unsigned)m->m_port;
	c = m->m_connections ? m->m_connections : sdp->sdp_connection;
	/*
	 * The relay sends media to this address: it must be an IP literal of
	 * the type the line names ("c=IN IP4 300.1.2.3.4" parses, and went
	 * into the relay as the PBX's address), and a stream in use must
	 * have one at all (RFC 4566 5.7).  Names are not resolved here.
	 */
	if (c == NULL && m->m_port != 0)
		return -EINVAL;
	if (c != NULL && (c->c_nettype != sdp_net_in ||
	    c->c_addrtype == sdp_addr_x ||
	    addr_type(c->c_address) != (int)c->c_addrtype))
		return -EINVAL;
	if (c != NULL && (rc = copy_str(mi->addr, sizeof(mi->addr),
	    c->c_address)) != 0)
		return rc;
	mi->dir = attr_dir(m->m_attributes,
	    attr_dir(sdp->sdp_attributes, SDP_SENDRECV));
	if ((rc = media_attrs_info(m, mi)) != 0)
		return rc;
	mi->hold = mi->dir == SDP_SENDONLY || mi->dir == SDP_INACTIVE ||
	    strcmp(mi->addr, "0.0.0.0") == 0 || strcmp(mi->addr, "::") == 0;
	return 0;
}

struct sdp_doc *
sdp_doc_load(const char *body, size_t len, int *rc)
{
	struct sdp_doc *d;

	if ((d = malloc(sizeof(*d))) == NULL) {
		*rc = -ENOMEM;
		return NULL;
	}
	doc_init(d);
	if ((*rc = doc_load(d, body, len)) != 0) {
		sdp_doc_free(d);
		return NULL;
	}
	return d;
}

void
sdp_doc_free(struct sdp_doc *d)
{
	if (d == NULL)
		return;
	doc_free(d);
	free(d);
}

int
sdp_doc_inspect(const struct sdp_doc *d, struct sdp_info *out)
{
	const sdp_media_t *m;
	int rc = 0;

	out->nmedia = 0;
	for (m = d->sdp->sdp_media; m != NULL; m = m->m_next)
		if ((rc = media_info(d->sdp, m, &out->m[out->nmedia++])) != 0)
			break;
	if (rc != 0)
		out->nmedia = 0;
	return rc;
}

int
sdp_inspect(const char *body, size_t len, struct sdp_info *out)
{
	struct sdp_doc *d;
	int rc;

	if (out == NULL)
		return -EINVAL;
	out->nmedia = 0;
	if ((d = sdp_doc_load(body, len, &rc)) == NULL)
		return rc;
	rc = sdp_doc_inspect(d, out);
	sdp_doc_free(d);
	return rc;
}

/* An IPv4 or IPv6 literal: nothing else may reach the printed c=. */
static int
addr_type(const char *addr)
{
	unsigned char buf[16];

	if (addr == NULL || strnlen(addr, SDP_ADDR_LEN) == SDP_ADDR_LEN)
		return sdp_addr_x;
	if (inet_pton(AF_INET, addr, buf) == 1)
		return sdp_addr_ip4;
	if (inet_pton(AF_INET6, addr, buf) == 1)
		return sdp_addr_ip6;
	return sdp_addr_x;
}

/* A value printed as "a=crypto:<v>": one line, no control bytes. */
static int
value_valid(const char *v)
{
	const unsigned char *p;

	if (v == NULL || *v == '\0' ||
	    strnlen(v, SDP_CRYPTO_LEN) == SDP_CRYPTO_LEN)
		return 0;
	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int
media_edit_check(const struct sdp_media_edit *me)
{
	int i;

	if (me->keep) {
		if (me->proto != SDP_PROTO_AVP && me->proto != SDP_PROTO_SAVP)
			return -EINVAL;
		if (me->port == 0 || me->port > 65535)
			return -EINVAL;
		if (addr_type(me->addr) == sdp_addr_x)
			return -EINVAL;
	} else if (me->addr[0] != '\0' && addr_type(me->addr) == sdp_addr_x)
		return -EINVAL;
	if (me->ncrypto < 0 || me->ncrypto > SDP_MAX_CRYPTO)
		return -EINVAL;
	for (i = 0; i < me->ncrypto; i++)
		if (!value_valid(me->crypto[i]))
			return -EINVAL;
	return 0;
}

static int
edit_check(const struct sdp_edit *edit)
{
	int i, rc;

	if (edit->nmedia < 0 || edit->nmedia > SDP_MAX_MEDIA)
		return -EINVAL;
	if (edit->origin_addr != NULL &&
	    addr_type(edit->origin_addr) == sdp_addr_x)
		return -EINVAL;
	for (i = 0; i < edit->nmedia; i++)
		if ((rc = media_edit_check(&edit->m[i])) != 0)
			return rc;
	return 0;
}

/*
 * The session c=: a kept m= line's address, else any address given.
 * Always set, so that rejected m= lines, which lose their own c=, do
 * not fall back to the other leg's address.
 */
static const char *
session_addr(const struct sdp_edit *edit)
{
	int i;

	for (i = 0; i < edit->nmedia; i++)
		if (edit->m[i].keep)
			return edit->m[i].addr;
	for (i = 0; i < edit->nmedia; i++)
		if (edit->m[i].addr[0] != '\0')
			return edit->m[i].addr;
	return edit->origin_addr;
}

static sdp_connection_t *
conn_new(su_home_t *home, const char *addr)
{
	sdp_connection_t *c;

	if ((c = su_salloc(home, sizeof(*c))) == NULL)
		return NULL;
	c->c_nettype = sdp_net_in;
	c->c_addrtype = addr_type(addr);
	c->c_groups = 1;
	if ((c->c_address = su_strdup(home, addr)) == NULL)
		return NULL;
	return c;
}

/* Put the edit's a=crypto lines at *app, leaving *app after them. */
static int
crypto_insert(su_home_t *home, sdp_attribute_t ***app,
    const struct sdp_media_edit *me)
{
	sdp_attribute_t *a;
	int i;

	for (i = 0; i < me->ncrypto; i++) {
		if ((a = su_salloc(home, sizeof(*a))) == NULL)
			return -ENOMEM;
		a->a_name = "crypto";
		if ((a->a_value = su_strdup(home, me->crypto[i])) == NULL)
			return -ENOMEM;
		a->a_next = **app;
		**app = a;
		*app = &a->a_next;
	}
	return 0;
}

/* a=rtcp for our RTCP port; NULL value: drop the attribute. */
static int
rtcp_value(su_home_t *home, const struct sdp_media_edit *me, char **v)
{
	*v = NULL;
	if (!me->keep || me->port >= 65535)
		return 0;
	*v = su_sprintf(home, "%u IN %s %s", me->port + 1,
	    addr_type(me->addr) == sdp_addr_ip6 ? "IP6" : "IP4", me->addr);
	return *v ? 0 : -ENOMEM;
}

/*
 * ICE and DTLS attributes describe the transport of the leg they came
 * from; we terminate media on our own sockets, so they must not cross
 * (a PBX's private candidates would otherwise reach the cloud).
 */
static const char *const leg_local_attrs[] = {
	"candidate", "remote-candidates", "end-of-candidates", "ice-ufrag",
	"ice-pwd", "ice-options", "ice-lite", "ice-mismatch", "fingerprint",
	"setup", "connection", NULL
};

static int
attr_leg_local(const sdp_attribute_t *a)
{
	for (int i = 0; leg_local_attrs[i] != NULL; i++)
		if (strcasecmp(a->a_name, leg_local_attrs[i]) == 0)
			return 1;
	return 0;
}

static void
attrs_remove_leg_local(sdp_attribute_t **ap)
{
	while (*ap != NULL) {
		if (attr_leg_local(*ap))
			*ap = (*ap)->a_next;
		else
			ap = &(*ap)->a_next;
	}
}

static int
media_attrs_edit(su_home_t *home, sdp_media_t *m,
    const struct sdp_media_edit *me)
{
	sdp_attribute_t **ap = &m->m_attributes, *a;
	char *rtcp;
	int placed = 0, rc;

	if ((rc = rtcp_value(home, me, &rtcp)) != 0)
		return rc;
	attrs_remove_leg_local(&m->m_attributes);
	while ((a = *ap) != NULL) {
		if (strcasecmp(a->a_name, "crypto") == 0) {
			*ap = a->a_next;
			if (!placed && (rc = crypto_insert(home, &ap, me)) != 0)
				return rc;
			placed = 1;
			continue;
		}
		if (strcasecmp(a->a_name, "rtcp") == 0 && rtcp == NULL) {
			*ap = a->a_next;
			continue;
		}
		if (strcasecmp(a->a_name, "rtcp") == 0)
			a->a_value = rtcp;
		ap = &a->a_next;
	}
	return placed ? 0 : crypto_insert(home, &ap, me);
}

static int
media_edit(su_home_t *home, sdp_media_t *m, const struct sdp_media_edit *me,
    const char *sess)
{
	m->m_number_of_ports = 0;
	m->m_connections = NULL;
	m->m_key = NULL;
	if (me->keep) {
		if (media_proto(m) == SDP_PROTO_OTHER)
			return -EINVAL;
		m->m_port = me->port;
		m->m_rejected = 0;
		sdp_media_transport(m,
		    me->proto == SDP_PROTO_SAVP ? "RTP/SAVP" : "RTP/AVP");
		if (strcmp(me->addr, sess) != 0 &&
		    (m->m_connections = conn_new(home, me->addr)) == NULL)
			return -ENOMEM;
	} else {
		/* RFC 3264 6: rejected, proto and formats as offered. */
		m->m_port = 0;
		m->m_rejected = 1;
	}
	return media_attrs_edit(home, m, me);
}

/* One pass: sdp_attribute_remove() in a loop is quadratic. */
static void
attrs_remove(sdp_attribute_t **ap, const char *name)
{
	while (*ap != NULL) {
		if (strcasecmp((*ap)->a_name, name) == 0)
			*ap = (*ap)->a_next;
		else
			ap = &(*ap)->a_next;
	}
}

static int
session_edit(struct sdp_doc *d, const struct sdp_edit *edit)
{
	sdp_session_t *sdp = d->sdp;
	sdp_media_t *m;
	const char *sess;
	int i = 0, rc;

	if ((sess = session_addr(edit)) == NULL)
		return -EINVAL;
	if ((sdp->sdp_connection = conn_new(d->home, sess)) == NULL)
		return -ENOMEM;
	if (edit->origin_addr != NULL && (sdp->sdp_origin->o_address =
	    conn_new(d->home, edit->origin_addr)) == NULL)
		return -ENOMEM;
	/*
	 * Keys of one leg never reach the other: session a=crypto is
	 * invalid (RFC 4568 9.1), k= obsolete (RFC 8866 5.12).
	 */
	attrs_remove(&sdp->sdp_attributes, "crypto");
	attrs_remove_leg_local(&sdp->sdp_attributes);
	sdp->sdp_key = NULL;
	for (m = sdp->sdp_media; m != NULL; m = m->m_next, i++)
		if ((rc = media_edit(d->home, m, &edit->m[i], sess)) != 0)
			return rc;
	return 0;
}

static char *
doc_print(struct sdp_doc *d, size_t *outlen)
{
	sdp_printer_t *pr;
	const char *msg;
	char *out = NULL;
	size_t n;

	pr = sdp_print(d->home, d->sdp, NULL, 0, SDP_FLAGS);
	if ((msg = sdp_message(pr)) == NULL)
		goto done;
	n = (size_t)sdp_message_size(pr);
	if ((out = malloc(n + 1)) == NULL)
		goto done;
	memcpy(out, msg, n);
	out[n] = '\0';
	*outlen = n;
done:
	sdp_printer_free(pr);
	return out;
}

char *
sdp_doc_rewrite(struct sdp_doc *d, const struct sdp_edit *edit, size_t *outlen)
{
	*outlen = 0;
	if (edit == NULL || edit_check(edit) != 0 || d->nmedia != edit->nmedia ||
	    session_edit(d, edit) != 0)
		return NULL;
	return doc_print(d, outlen);
}

char *
sdp_rewrite(const char *body, size_t len, const struct sdp_edit *edit,
    size_t *outlen)
{
	struct sdp_doc *d;
	char *out;
	int rc;

	if (outlen == NULL)
		return NULL;
	*outlen = 0;
	if (edit == NULL || edit_check(edit) != 0)
		return NULL;
	if ((d = sdp_doc_load(body, len, &rc)) == NULL)
		return NULL;
	out = sdp_doc_rewrite(d, edit, outlen);
	sdp_doc_free(d);
	return out;
}
