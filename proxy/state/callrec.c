/*
 * callrec.c - a call as text: "name=value" lines, "v=1" first.
 *
 * One table (cr_fields) names every field of struct callrec with its
 * type, range and the flag it depends on; encoding, decoding, checking
 * and comparing all walk it, so a field cannot be written and then be
 * forgotten by the reader.  Values are bytes with '%', control bytes
 * and bytes >= 0x7f written as %XX: a value never holds a '\n', and a
 * record stays readable in redis-cli.  '=' needs no escape: a name
 * never holds one, so a line splits at its first '='.
 *
 * The reader is strict, since what comes back from Redis may be stale,
 * foreign or damaged: a record of another version, an unknown or
 * duplicate field, a missing one, a raw control byte, a control byte
 * even escaped (tab aside: no SIP header has one), a number with
 * anything but digits or out of range, a key that does not parse, an
 * address that is not one: each is refused, with the field named.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "callrec.h"
#include "sippath.h"

enum cr_type {
	CR_STR,		/* const char *, in r->strings; NULL when absent */
	CR_CHARS,	/* a char array of the struct (node) */
	CR_IP,		/* a char array: an IP literal, or "" */
	CR_INT,		/* int */
	CR_UINT,	/* uint8/16/32/64_t (width bytes) */
	CR_KEY,		/* struct sdes_crypto, as a=crypto text */
};

/* What a field depends on: present (and required) only when it holds. */
enum cr_cond { CR_ALWAYS, CR_MEDIA, CR_TX, CR_RX };

#define CR_REQ	1	/* required (when its condition holds) */
#define CR_EVEN	2	/* an even number (RTP ports) */

struct cr_field {
	const char	*name;
	unsigned char	 type;
	unsigned char	 width;		/* CR_UINT: bytes */
	unsigned char	 flags;
	unsigned char	 cond;
	size_t		 off;		/* in struct callrec */
	size_t		 size;		/* CR_CHARS/CR_IP: the array */
	uint64_t	 min, max;	/* numbers: range; strings: length */
};

/*
 * Longest strings a record carries.  SIP puts no limit on them; these
 * are far beyond what real calls use and keep a record under
 * CALLREC_MAX.  Route sets are several Record-Route values.
 */
#define CR_CALLID_MAX	512
#define CR_NAMEADDR_MAX	1024	/* From/To with tags, Contact URIs */
#define CR_ROUTE_MAX	4096
#define CR_HOST_MAX	255
#define CR_KEYTEXT_MAX	255	/* a=crypto text: ~140 at most */
#define CR_SRC_IP_MAX	63	/* struct dialog's src_ip[64] */

#define CR_OFF(m)	offsetof(struct callrec, m)
#define CR_SIZE(m)	sizeof(((struct callrec *)0)->m)

#define F_STR(n, m, req, lo, hi) \
	{ n, CR_STR, 0, req, CR_ALWAYS, CR_OFF(m), 0, lo, hi }
#define F_INT(n, m, fl, c, lo, hi) \
	{ n, CR_INT, 0, CR_REQ | (fl), c, CR_OFF(m), 0, lo, hi }
#define F_U(n, m, c, lo, hi) \
	{ n, CR_UINT, CR_SIZE(m), CR_REQ, c, CR_OFF(m), 0, lo, hi }
#define F_BOOL(n, m, c)	F_INT(n, m, 0, c, 0, 1)
#define F_IP(n, m) \
	{ n, CR_IP, 0, CR_REQ, CR_MEDIA, CR_OFF(m), CR_SIZE(m), 0, 0 }
#define F_KEY(n, m, c) \
	{ n, CR_KEY, 0, CR_REQ, c, CR_OFF(m), 0, 0, 0 }
#define F_PEER(side, i) \
	F_IP("peer." side ".ip", m.peer[i].ip), \
	F_U("peer." side ".port", m.peer[i].port, CR_MEDIA, 0, 65535), \
	F_U("peer." side ".rtcp_port", m.peer[i].rtcp_port, CR_MEDIA, 0, 65535), \
	F_U("peer." side ".rtcp_mux", m.peer[i].rtcp_mux, CR_MEDIA, 0, 1)
#define F_POS(dir, p) \
	F_U(dir ".have_rtp", p.have_rtp, CR_MEDIA, 0, 1), \
	F_U(dir ".have_rtcp", p.have_rtcp, CR_MEDIA, 0, 1), \
	F_U(dir ".ssrc", p.ssrc, CR_MEDIA, 0, UINT32_MAX), \
	F_U(dir ".roc", p.roc, CR_MEDIA, 0, UINT32_MAX), \
	F_U(dir ".seq", p.seq, CR_MEDIA, 0, UINT16_MAX), \
	F_U(dir ".rtcp_ssrc", p.rtcp_ssrc, CR_MEDIA, 0, UINT32_MAX), \
	F_U(dir ".rtcp_count", p.rtcp_count, CR_MEDIA, 0, UINT32_MAX)

/*
 * Every field, in the order written.  A flag comes before the fields
 * that depend on it (cr_cond_on reads the value already decoded), and
 * the last line written is always a required one, so a record cut at a
 * line boundary misses a field and one cut inside a line its newline.
 */
static const struct cr_field cr_fields[] = {
	{ "node", CR_CHARS, 0, CR_REQ, CR_ALWAYS, CR_OFF(node),
	    CR_SIZE(node), 1, CR_SIZE(node) - 1 },
	F_U("written", written_unix_ms, CR_ALWAYS, 0, UINT64_MAX),
	F_STR("callid", d.callid, CR_REQ, 1, CR_CALLID_MAX),
	F_INT("caller_side", d.caller_side, 0, CR_ALWAYS, SIDE_PBX, SIDE_CLOUD),
	F_BOOL("confirmed", d.confirmed, CR_ALWAYS),
	F_STR("caller", d.caller, 0, 0, CR_NAMEADDR_MAX),
	F_STR("callee", d.callee, 0, 0, CR_NAMEADDR_MAX),
	F_STR("caller_target", d.caller_target, 0, 0, CR_NAMEADDR_MAX),
	F_STR("callee_target", d.callee_target, 0, 0, CR_NAMEADDR_MAX),
	F_STR("route_to_caller", d.route_to_caller, 0, 0, CR_ROUTE_MAX),
	F_STR("route_to_callee", d.route_to_callee, 0, 0, CR_ROUTE_MAX),
	F_STR("proxy", d.proxy, 0, 0, CR_HOST_MAX),
	F_STR("trunk", d.trunk, 0, 1, NP_NAME_MAX - 1),
	F_STR("pbx_name", d.pbx, 0, 1, NP_NAME_MAX - 1),
	F_U("cseq.pbx", d.cseq[SIDE_PBX], CR_ALWAYS, 0, UINT32_MAX),
	F_U("cseq.cloud", d.cseq[SIDE_CLOUD], CR_ALWAYS, 0, UINT32_MAX),
	F_U("started", d.started_unix_ms, CR_ALWAYS, 0, UINT64_MAX),
	F_STR("src_ip", d.src_ip, 0, 0, CR_SRC_IP_MAX),
	F_BOOL("media", have_media, CR_ALWAYS),
	/* RTP on the even port, RTCP on the odd one above (port_pool). */
	F_INT("pbx_port", m.pbx_port, CR_EVEN, CR_MEDIA, 1024, 65534),
	F_INT("cloud_port", m.cloud_port, CR_EVEN, CR_MEDIA, 1024, 65534),
	F_INT("ai", m.ai, 0, CR_MEDIA, 0, 63),
	F_BOOL("have_tx", m.have_tx, CR_MEDIA),
	F_BOOL("have_rx", m.have_rx, CR_MEDIA),
	F_KEY("tx_key", m.tx_key, CR_TX),
	F_KEY("rx_key", m.rx_key, CR_RX),
	F_PEER("pbx", SIDE_PBX),
	F_PEER("cloud", SIDE_CLOUD),
	F_POS("tx", m.tx_pos),
	F_POS("rx", m.rx_pos),
	F_U("idle_ms", m.idle_ms, CR_MEDIA, 0, UINT64_MAX),
};

#define CR_NFIELDS	(sizeof(cr_fields) / sizeof(cr_fields[0]))

_Static_assert(CR_NFIELDS <= 64, "cr_dec.seen is one 64-bit mask");

/* A field's place in r. */
static void *
cr_ptr(const struct cr_field *f, const struct callrec *r)
{
	return (char *)r + f->off;
}

static int
cr_cond_on(const struct callrec *r, int cond)
{
	switch (cond) {
	case CR_MEDIA:
		return r->have_media == 1;
	case CR_TX:
		return r->have_media == 1 && r->m.have_tx == 1;
	case CR_RX:
		return r->have_media == 1 && r->m.have_rx == 1;
	default:
		return 1;
	}
}

static uint64_t
cr_num_get(const struct cr_field *f, const struct callrec *r)
{
	const void *p = cr_ptr(f, r);

	if (f->type == CR_INT)
		return (uint64_t)(int64_t)*(const int *)p;
	switch (f->width) {
	case 1:
		return *(const uint8_t *)p;
	case 2:
		return *(const uint16_t *)p;
	case 4:
		return *(const uint32_t *)p;
	default:
		return *(const uint64_t *)p;
	}
}

/* v is within the field's range (checked before). */
static void
cr_num_set(const struct cr_field *f, struct callrec *r, uint64_t v)
{
	void *p = cr_ptr(f, r);

	if (f->type == CR_INT) {
		*(int *)p = (int)v;
		return;
	}
	switch (f->width) {
	case 1:
		*(uint8_t *)p = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)p = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)p = (uint32_t)v;
		break;
	default:
		*(uint64_t *)p = v;
		break;
	}
}

static int
cr_fail(char *why, size_t whylen, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "field: reason" into why; always -EINVAL. */
static int
cr_fail(char *why, size_t whylen, const char *field, const char *fmt, ...)
{
	char reason[160];
	va_list ap;

	if (why == NULL || whylen == 0)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(why, whylen, "%s: %s", field, reason);
	return -EINVAL;
}

/*
 * The key as a=crypto text, with what sdes_crypto_format leaves out but
 * a restored stream needs: the lifetime (before the MKI, as RFC 4568
 * orders them) and the WSH.  buf holds the key: the caller wipes it.
 */
static int
cr_key_format(const struct sdes_crypto *c, char *buf, size_t len)
{
	struct sdes_crypto bare = *c;
	size_t n;
	int k;

	bare.has_mki = 0;
	k = sdes_crypto_format(&bare, buf, len);
	sdes_crypto_wipe(&bare);
	if (k < 0)
		return -EINVAL;
	n = (size_t)k;
	if (c->lifetime != 0 && n < len)
		n += (size_t)snprintf(buf + n, len - n, "|%llu",
		    (unsigned long long)c->lifetime);
	if (c->has_mki && n < len)
		n += (size_t)snprintf(buf + n, len - n, "|%llu:%u",
		    (unsigned long long)c->mki, c->mki_len);
	if (c->wsh != 0 && n < len)
		n += (size_t)snprintf(buf + n, len - n, " WSH=%u", c->wsh);
	if (n >= len) {
		OPENSSL_cleanse(buf, len);
		return -EINVAL;
	}
	return (int)n;
}

/* What sdes_crypto_format checks, and what it does not write. */
static int
cr_key_check(const struct sdes_crypto *c, const char *name, char *why,
    size_t whylen)
{
	char text[CR_KEYTEXT_MAX + 1];
	int n;

	if (c->lifetime > SDES_LIFETIME_MAX)
		return cr_fail(why, whylen, name, "lifetime out of range");
	if (c->wsh != 0 && (c->wsh < SDES_WSH_MIN || c->wsh > SDES_WSH_MAX))
		return cr_fail(why, whylen, name, "WSH %u out of range",
		    c->wsh);
	n = cr_key_format(c, text, sizeof(text));
	OPENSSL_cleanse(text, sizeof(text));
	if (n < 0)
		return cr_fail(why, whylen, name, "not a valid key");
	return 0;
}

/*
 * A control byte (tab aside: SIP allows it in quoted strings) or DEL in a
 * value: no SIP header holds one, and a Call-ID with a newline would
 * forge lines in the log.  Its index, or -1.
 */
static long
cr_ctl_at(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return (long)i;
	}
	return -1;
}

static int
cr_ip_ok(const char *s)
{
	unsigned char a[sizeof(struct in6_addr)];

	return *s == '\0' || inet_pton(AF_INET, s, a) == 1 ||
	    inet_pton(AF_INET6, s, a) == 1;
}

/* One field's value against its type and range. */
static int
cr_field_check(const struct cr_field *f, const struct callrec *r, char *why,
    size_t whylen)
{
	const char *s;
	uint64_t v;
	size_t n;
	long i;

	switch (f->type) {
	case CR_STR:
		s = *(const char *const *)cr_ptr(f, r);
		if (s == NULL)
			return (f->flags & CR_REQ) ?
			    cr_fail(why, whylen, f->name, "missing") : 0;
		n = strnlen(s, f->max + 1);
		if (n < f->min)
			return cr_fail(why, whylen, f->name, "empty");
		if (n > f->max)
			return cr_fail(why, whylen, f->name,
			    "too long (at most %llu bytes)",
			    (unsigned long long)f->max);
		if ((i = cr_ctl_at(s, n)) >= 0)
			return cr_fail(why, whylen, f->name,
			    "control byte 0x%02x", (unsigned char)s[i]);
		return 0;
	case CR_CHARS:
	case CR_IP:
		s = cr_ptr(f, r);
		n = strnlen(s, f->size);
		if (n == f->size)
			return cr_fail(why, whylen, f->name, "not terminated");
		if (n < f->min)
			return cr_fail(why, whylen, f->name, "empty");
		if ((i = cr_ctl_at(s, n)) >= 0)
			return cr_fail(why, whylen, f->name,
			    "control byte 0x%02x", (unsigned char)s[i]);
		if (f->type == CR_IP && !cr_ip_ok(s))
			return cr_fail(why, whylen, f->name,
			    "not an IP address");
		return 0;
	case CR_KEY:
		return cr_key_check(cr_ptr(f, r), f->name, why, whylen);
	default:
		v = cr_num_get(f, r);
		if (f->type == CR_INT && *(const int *)cr_ptr(f, r) < 0)
			return cr_fail(why, whylen, f->name, "negative");
		if (v < f->min || v > f->max)
			return cr_fail(why, whylen, f->name,
			    "%llu out of range (%llu..%llu)",
			    (unsigned long long)v, (unsigned long long)f->min,
			    (unsigned long long)f->max);
		if ((f->flags & CR_EVEN) && v % 2 != 0)
			return cr_fail(why, whylen, f->name, "%llu is odd",
			    (unsigned long long)v);
		return 0;
	}
}

int
callrec_check(const struct callrec *r, char *why, size_t whylen)
{
	int rv;

	for (size_t i = 0; i < CR_NFIELDS; i++)
		if (cr_cond_on(r, cr_fields[i].cond) &&
		    (rv = cr_field_check(&cr_fields[i], r, why, whylen)) < 0)
			return rv;
	return 0;
}

/*
 * Encoding.  Two passes over the same code: the first (o->p NULL)
 * counts, the second writes into a buffer of exactly that size, so a
 * buffer that holds keys is never grown (realloc would leave a copy).
 */
struct cr_out {
	char	*p;
	size_t	 len, cap;
};

static void
out_bytes(struct cr_out *o, const char *s, size_t n)
{
	if (o->p != NULL && o->len + n <= o->cap)
		memcpy(o->p + o->len, s, n);
	o->len += n;
}

static int
cr_needs_escape(unsigned char c)
{
	return c == '%' || c < 0x20 || c >= 0x7f;
}

static void
out_escaped(struct cr_out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char esc[3];

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!cr_needs_escape(c)) {
			out_bytes(o, s + i, 1);
			continue;
		}
		esc[0] = '%';
		esc[1] = hex[c >> 4];
		esc[2] = hex[c & 15];
		out_bytes(o, esc, 3);
	}
}

static void
out_line(struct cr_out *o, const char *name, const char *val, size_t n)
{
	out_bytes(o, name, strlen(name));
	out_bytes(o, "=", 1);
	out_escaped(o, val, n);
	out_bytes(o, "\n", 1);
}

static int
cr_write_field(struct cr_out *o, const struct cr_field *f,
    const struct callrec *r)
{
	char text[CR_KEYTEXT_MAX + 1];
	const char *s;
	int n;

	switch (f->type) {
	case CR_STR:
		s = *(const char *const *)cr_ptr(f, r);
		if (s != NULL)
			out_line(o, f->name, s, strlen(s));
		return 0;
	case CR_CHARS:
	case CR_IP:
		s = cr_ptr(f, r);
		out_line(o, f->name, s, strlen(s));
		return 0;
	case CR_KEY:
		n = cr_key_format(cr_ptr(f, r), text, sizeof(text));
		if (n >= 0)
			out_line(o, f->name, text, (size_t)n);
		OPENSSL_cleanse(text, sizeof(text));
		return n < 0 ? -EINVAL : 0;
	default:
		n = snprintf(text, sizeof(text), "%llu",
		    (unsigned long long)cr_num_get(f, r));
		out_line(o, f->name, text, (size_t)n);
		return 0;
	}
}

static int
cr_write(struct cr_out *o, const struct callrec *r)
{
	char v[16];
	int rv;

	snprintf(v, sizeof(v), "%d", CALLREC_VERSION);
	out_line(o, "v", v, strlen(v));
	for (size_t i = 0; i < CR_NFIELDS; i++)
		if (cr_cond_on(r, cr_fields[i].cond) &&
		    (rv = cr_write_field(o, &cr_fields[i], r)) < 0)
			return rv;
	return 0;
}

int
callrec_encode(const struct callrec *r, char **out, size_t *len)
{
	struct cr_out o = { NULL, 0, 0 };
	char why[192];
	int rv;

	*out = NULL;
	*len = 0;
	/* What the reader would refuse is not written. */
	if (callrec_check(r, why, sizeof(why)) < 0)
		return -EINVAL;
	if ((rv = cr_write(&o, r)) < 0)
		return rv;
	if (o.len > CALLREC_MAX)
		return -EINVAL;
	if ((o.p = malloc(o.len + 1)) == NULL)
		return -ENOMEM;
	o.cap = o.len;
	o.len = 0;
	if ((rv = cr_write(&o, r)) < 0 || o.len != o.cap) {
		callrec_text_free(o.p, o.cap);
		return rv < 0 ? rv : -EINVAL;
	}
	o.p[o.len] = '\0';
	*out = o.p;
	*len = o.len;
	return 0;
}

void
callrec_text_free(char *text, size_t len)
{
	if (text == NULL)
		return;
	OPENSSL_cleanse(text, len);
	free(text);
}

/*
 * Decoding.
 */
struct cr_dec {
	struct callrec	*r;
	char		*cur;		/* next free byte of r->strings */
	uint64_t	 seen;		/* bit i: cr_fields[i] was read */
	char		*why;
	size_t		 whylen;
};

static const struct cr_field *
cr_field_find(const char *name, size_t n, size_t *idx)
{
	for (size_t i = 0; i < CR_NFIELDS; i++)
		if (strlen(cr_fields[i].name) == n &&
		    memcmp(cr_fields[i].name, name, n) == 0) {
			*idx = i;
			return &cr_fields[i];
		}
	return NULL;
}

static int
cr_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Undo the %XX escapes of the n bytes at s into dst (n + 1 bytes of
 * room: a value never grows), NUL-terminated; its length, or -1 with
 * *err set.  Raw bytes were checked by the caller.
 */
static long
cr_unescape(const char *s, size_t n, char *dst, const char **err)
{
	size_t i, j = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			dst[j++] = s[i];
			continue;
		}
		if (n - i < 3 || (hi = cr_hex(s[i + 1])) < 0 ||
		    (lo = cr_hex(s[i + 2])) < 0) {
			*err = "bad %-escape";
			return -1;
		}
		if (hi == 0 && lo == 0) {
			*err = "NUL byte (%00)";
			return -1;
		}
		dst[j++] = (char)(hi << 4 | lo);
		i += 2;
	}
	dst[j] = '\0';
	return (long)j;
}

/* Digits only (strtoull alone takes blanks, '+' and '-'), in range. */
static int
cr_parse_num(struct cr_dec *dc, const struct cr_field *f, const char *s,
    size_t n)
{
	char buf[24];
	uint64_t wmax;
	unsigned long long v;
	char *end;

	if (n == 0)
		return cr_fail(dc->why, dc->whylen, f->name, "empty");
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return cr_fail(dc->why, dc->whylen, f->name,
			    "not a number");
	if (n >= sizeof(buf))
		return cr_fail(dc->why, dc->whylen, f->name, "out of range");
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		return cr_fail(dc->why, dc->whylen, f->name, "out of range");
	wmax = f->type == CR_INT ? 65535 : f->width == 8 ? UINT64_MAX :
	    (UINT64_C(1) << (8 * f->width)) - 1;
	if (v < f->min || v > f->max || v > wmax)
		return cr_fail(dc->why, dc->whylen, f->name,
		    "%llu out of range (%llu..%llu)", v,
		    (unsigned long long)f->min, (unsigned long long)f->max);
	cr_num_set(f, dc->r, v);
	return 0;
}

static int
cr_parse_key(struct cr_dec *dc, const struct cr_field *f, const char *s,
    size_t n)
{
	char text[CR_KEYTEXT_MAX + 1];
	const char *err = NULL;
	int rv = 0, sr;

	if (n > CR_KEYTEXT_MAX)
		return cr_fail(dc->why, dc->whylen, f->name, "too long");
	if (cr_unescape(s, n, text, &err) < 0) {
		rv = cr_fail(dc->why, dc->whylen, f->name, "%s", err);
		goto done;
	}
	sr = sdes_crypto_parse(text, cr_ptr(f, dc->r));
	if (sr == SDES_ESUITE)
		rv = cr_fail(dc->why, dc->whylen, f->name, "unknown suite");
	else if (sr != SDES_OK)
		rv = cr_fail(dc->why, dc->whylen, f->name,
		    "not a valid crypto value (sdes error %d)", sr);
done:
	OPENSSL_cleanse(text, sizeof(text));
	return rv;
}

static int
cr_parse_value(struct cr_dec *dc, const struct cr_field *f, const char *s,
    size_t n)
{
	char tmp[CR_HOST_MAX + 1];
	const char *err = NULL;
	long len;

	switch (f->type) {
	case CR_KEY:
		return cr_parse_key(dc, f, s, n);
	case CR_INT:
	case CR_UINT:
		return cr_parse_num(dc, f, s, n);
	case CR_STR:
		/* r->strings has room for every value (callrec_decode). */
		if ((len = cr_unescape(s, n, dc->cur, &err)) < 0)
			return cr_fail(dc->why, dc->whylen, f->name, "%s", err);
		*(const char **)cr_ptr(f, dc->r) = dc->cur;
		dc->cur += len + 1;
		return 0;
	default:
		break;
	}
	/* CR_CHARS, CR_IP: through a scratch copy, the array is small. */
	if (n >= sizeof(tmp))
		return cr_fail(dc->why, dc->whylen, f->name, "too long");
	if ((len = cr_unescape(s, n, tmp, &err)) < 0)
		return cr_fail(dc->why, dc->whylen, f->name, "%s", err);
	if ((size_t)len >= f->size)
		return cr_fail(dc->why, dc->whylen, f->name,
		    "too long (at most %zu bytes)", f->size - 1);
	memcpy(cr_ptr(f, dc->r), tmp, (size_t)len + 1);
	return 0;
}

/* The raw bytes of a value: what the writer escapes may not be there. */
static int
cr_raw_check(struct cr_dec *dc, const char *name, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0')
			return cr_fail(dc->why, dc->whylen, name, "NUL byte");
		if (c < 0x20 || c >= 0x7f)
			return cr_fail(dc->why, dc->whylen, name,
			    "raw byte 0x%02x (not %%-escaped)", c);
	}
	return 0;
}

/* A name as it may be quoted in why: [a-z0-9_.], at most 32. */
static int
cr_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

/* One line (no '\n'); last: the record ended without its newline. */
static int
cr_parse_line(struct cr_dec *dc, int lineno, const char *s, size_t n,
    int last)
{
	const char *eq = memchr(s, '=', n);
	const struct cr_field *f;
	char name[33];
	size_t nlen, idx;
	int rv;

	nlen = eq != NULL ? (size_t)(eq - s) : n;
	if (!cr_name_ok(s, nlen)) {
		snprintf(name, sizeof(name), "line %d", lineno);
		return cr_fail(dc->why, dc->whylen, name, "%s", eq == NULL ?
		    "not name=value" : "not a field name");
	}
	memcpy(name, s, nlen);
	name[nlen] = '\0';
	if (eq == NULL)
		return cr_fail(dc->why, dc->whylen, name, "no '='");
	if (last)
		return cr_fail(dc->why, dc->whylen, name,
		    "truncated (no newline at the end of the record)");
	if ((f = cr_field_find(s, nlen, &idx)) == NULL)
		return cr_fail(dc->why, dc->whylen, name, "%s",
		    strcmp(name, "v") == 0 ? "version line not first" :
		    "unknown field");
	if (dc->seen & (UINT64_C(1) << idx))
		return cr_fail(dc->why, dc->whylen, name, "duplicate");
	dc->seen |= UINT64_C(1) << idx;
	s = eq + 1;
	n -= nlen + 1;
	if ((rv = cr_raw_check(dc, name, s, n)) < 0)
		return rv;
	return cr_parse_value(dc, f, s, n);
}

/* "v=1" first: a record of another format is refused as a whole. */
static int
cr_parse_version(struct cr_dec *dc, const char *s, size_t n, int last)
{
	char want[16];
	int k = snprintf(want, sizeof(want), "v=%d", CALLREC_VERSION);

	if (n >= 2 && memcmp(s, "v=", 2) == 0) {
		if (last)
			return cr_fail(dc->why, dc->whylen, "v",
			    "truncated (no newline at the end of the record)");
		if ((size_t)k == n && memcmp(s, want, n) == 0)
			return 0;
		if (cr_raw_check(dc, "v", s, n) < 0)
			return -EINVAL;
		if (n - 2 > 20)
			return cr_fail(dc->why, dc->whylen, "v",
			    "version not supported");
		return cr_fail(dc->why, dc->whylen, "v",
		    "version %.*s not supported (want %d)", (int)(n - 2),
		    s + 2, CALLREC_VERSION);
	}
	return cr_fail(dc->why, dc->whylen, "v",
	    "missing (not a call record)");
}

/* Required fields there, fields whose condition is off absent. */
static int
cr_check_presence(struct cr_dec *dc)
{
	for (size_t i = 0; i < CR_NFIELDS; i++) {
		const struct cr_field *f = &cr_fields[i];
		int on = cr_cond_on(dc->r, f->cond);
		int seen = (dc->seen >> i) & 1;

		if (on && !seen && (f->flags & CR_REQ))
			return cr_fail(dc->why, dc->whylen, f->name, "missing");
		if (!on && seen)
			return cr_fail(dc->why, dc->whylen, f->name,
			    "present without %s", f->cond == CR_MEDIA ?
			    "media" : f->cond == CR_TX ? "have_tx" : "have_rx");
	}
	return 0;
}

static int
cr_parse(struct cr_dec *dc, const char *p, size_t n)
{
	const char *end = p + n, *nl;
	int lineno = 1, rv;

	if (n == 0)
		return cr_fail(dc->why, dc->whylen, "v", "empty record");
	if (n > CALLREC_MAX)
		return cr_fail(dc->why, dc->whylen, "record",
		    "too long (%zu bytes, at most %d)", n, CALLREC_MAX);
	for (; p < end; p = nl + 1, lineno++) {
		size_t len;
		int last;

		nl = memchr(p, '\n', (size_t)(end - p));
		last = nl == NULL;
		if (last)
			nl = end;
		len = (size_t)(nl - p);
		rv = lineno == 1 ? cr_parse_version(dc, p, len, last) :
		    cr_parse_line(dc, lineno, p, len, last);
		if (rv < 0)
			return rv;
	}
	if ((rv = cr_check_presence(dc)) < 0)
		return rv;
	return callrec_check(dc->r, dc->why, dc->whylen);
}

int
callrec_decode(const char *p, size_t n, struct callrec *r, char *why,
    size_t whylen)
{
	struct cr_dec dc;
	int rv;

	memset(r, 0, sizeof(*r));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (p == NULL)
		return cr_fail(why, whylen, "record", "none");
	memset(&dc, 0, sizeof(dc));
	dc.r = r;
	dc.why = why;
	dc.whylen = whylen;
	/* Each string is at most its raw value, plus its NUL in place of
	 * the line's '='. */
	if (n <= CALLREC_MAX && (r->strings = malloc(n + 1)) == NULL)
		return -ENOMEM;
	dc.cur = r->strings;
	if ((rv = cr_parse(&dc, p, n)) < 0)
		callrec_free(r);
	return rv;
}

void
callrec_free(struct callrec *r)
{
	if (r == NULL)
		return;
	free(r->strings);
	OPENSSL_cleanse(r, sizeof(*r));
}

static int
cr_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
cr_key_eq(const struct sdes_crypto *a, const struct sdes_crypto *b)
{
	return a->tag == b->tag && a->lifetime == b->lifetime &&
	    a->wsh == b->wsh && sdes_crypto_same_key(a, b);
}

int
callrec_equal(const struct callrec *a, const struct callrec *b)
{
	for (size_t i = 0; i < CR_NFIELDS; i++) {
		const struct cr_field *f = &cr_fields[i];
		const void *pa = cr_ptr(f, a), *pb = cr_ptr(f, b);
		int eq;

		/* A condition differs in its own field, compared before. */
		if (!cr_cond_on(a, f->cond))
			continue;
		switch (f->type) {
		case CR_STR:
			eq = cr_str_eq(*(const char *const *)pa,
			    *(const char *const *)pb);
			break;
		case CR_CHARS:
		case CR_IP:
			eq = strncmp(pa, pb, f->size) == 0;
			break;
		case CR_KEY:
			eq = cr_key_eq(pa, pb);
			break;
		default:
			eq = cr_num_get(f, a) == cr_num_get(f, b);
			break;
		}
		if (!eq)
			return 0;
	}
	return 1;
}
