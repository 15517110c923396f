/*
 * sipframe.c - SIP framing on a stream with sofia-sip's streaming parser.
 *
 * The parser, once it has a message's header, knows its Content-Length
 * and keeps a place for the body in its own buffer: the body's remaining
 * bytes must go there, and only msg_recv_iovec() says where that is.
 * Writing them at the end of the buffer instead (msg_buf_alloc) leaves
 * the body waiting forever for bytes that went elsewhere: a message whose
 * body did not come in the header's read was never delivered.  So every
 * byte goes through msg_recv_iovec() / msg_recv_commit(), and bytes past
 * the end of a message are the next message's (msg_next()).
 *
 * Between messages CRLFs are keepalives (RFC 5626 3.5.1): a double CRLF
 * is a ping.  They never start a message, so they never start its clock.
 */
#include <errno.h>
#include <string.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_buffer.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

#include "sipframe.h"
#include "sipmsg.h"

/* Bytes handed to the parser at once (see sipframe_feed). */
#define SIPFRAME_SLICE	4096
/*
 * The parser's own limit, a memory guard only: it counts buffers rounded
 * up to 512 bytes, so at maxsize itself it would refuse some messages
 * under maxsize.  The exact limit is ours (sipframe_extract).
 */
#define SIPFRAME_HEADROOM	(2 * SIPFRAME_SLICE + 1024)

void
sipframe_init(struct sipframe *f, size_t maxsize)
{
	memset(f, 0, sizeof(*f));
	f->maxsize = maxsize;
}

void
sipframe_free(struct sipframe *f)
{
	if (f->rx != NULL)
		msg_destroy(f->rx);
	f->rx = NULL;
	f->open = 0;
}

int
sipframe_open(const struct sipframe *f)
{
	return f->open;
}

/* Copy data into the buffers the parser hands out, then commit it. */
static int
sipframe_put(struct sipframe *f, const char *data, size_t len)
{
	msg_iovec_t vec[msg_n_fragments];
	issize_t n;
	size_t off = 0;

	if (f->rx == NULL) {
		if ((f->rx = msg_create(sip_default_mclass(), 0)) == NULL)
			return -ENOMEM;
		msg_maxsize(f->rx, f->maxsize + SIPFRAME_HEADROOM);
		f->used = 0;
	}
	n = msg_recv_iovec(f->rx, vec, msg_n_fragments, len, 0);
	if (n <= 0)	/* no room under maxsize (or no memory) */
		return -EMSGSIZE;
	for (issize_t i = 0; i < n && off < len; i++) {
		size_t k = vec[i].mv_len < len - off ? vec[i].mv_len : len - off;
		memcpy(vec[i].mv_base, data + off, k);
		off += k;
	}
	if (off != len || msg_recv_commit(f->rx, len, 0) < 0)
		return -EMSGSIZE;
	f->used += len;
	return 0;
}

/*
 * What follows a message: leading CRLFs are keepalives (counted for
 * pings); anything else begins the next message.  Returns the callback's
 * non-zero value, else 0.
 */
static int
sipframe_after(struct sipframe *f, msg_t *next, sipframe_cb cb, void *ctx)
{
	const char *p = msg_buf_committed_data(next);
	size_t n = msg_buf_committed(next), k;
	int r;

	for (k = 0; k < n && (p[k] == '\r' || p[k] == '\n'); k++) {
		if (p[k] == '\n' && ++f->lf_run == 2) {
			f->lf_run = 0;
			if ((r = cb(ctx, SIPFRAME_PING, NULL)) != 0) {
				msg_destroy(next);
				return r;
			}
		}
	}
	if (k == n) {		/* only keepalives: no message begun */
		msg_destroy(next);
		return 0;
	}
	f->lf_run = 0;
	msg_maxsize(next, f->maxsize + SIPFRAME_HEADROOM);
	f->rx = next;
	f->used = n;
	f->open = 1;
	return 0;
}

/* A message over maxsize: the core may answer it if its header parsed. */
static int
sipframe_toobig(struct sipframe *f, sipframe_cb cb, void *ctx)
{
	msg_t *m = f->rx;
	sip_t const *sip = m != NULL ? sip_object(m) : NULL;

	f->rx = NULL;
	f->open = 0;
	if (m == NULL)
		return -EMSGSIZE;
	if (sip != NULL && (sip->sip_request != NULL || sip->sip_status != NULL) &&
	    sip->sip_via != NULL)
		cb(ctx, SIPFRAME_TOOBIG, m);
	else
		msg_destroy(m);
	return -EMSGSIZE;
}

/*
 * A message the parser gave up on: where it ends is unknown, so the
 * stream cannot go on; but when its request line and the fields a
 * response copies did parse, the sender can still be told (400).
 */
static int
sipframe_bad(struct sipframe *f, sipframe_cb cb, void *ctx)
{
	msg_t *m = f->rx;
	sip_t const *sip = sip_object(m);

	f->rx = NULL;
	f->open = 0;
	if (sip != NULL && sip->sip_request != NULL && sipmsg_answerable(sip)) {
		msg_set_flags(m, MSG_FLG_ERROR);
		cb(ctx, SIPFRAME_BAD, m);
	} else {
		msg_destroy(m);
	}
	return -EBADMSG;
}

/* Deliver every message the buffer completes. */
static int
sipframe_extract(struct sipframe *f, sipframe_cb cb, void *ctx)
{
	while (f->rx != NULL) {
		msg_t *m = f->rx, *next;
		size_t mlen;
		int r = msg_extract(m);

		if (r == 0)
			return 0;
		if (msg_get_flags(m, MSG_FLG_TOOLARGE))
			return sipframe_toobig(f, cb, ctx);
		if (r < 0 || msg_get_flags(m, MSG_FLG_TRUNC))
			return sipframe_bad(f, cb, ctx);
		next = msg_next(m);
		mlen = f->used - msg_buf_committed(next);
		f->rx = NULL;
		f->open = 0;
		/* Over the limit but whole (the parser's own limit has some
		 * headroom): refused, and the stream stays in step. */
		if (mlen > f->maxsize) {
			msg_set_flags(m, MSG_FLG_TOOLARGE);
			r = cb(ctx, SIPFRAME_TOOBIG, m);
		} else {
			r = cb(ctx, SIPFRAME_MSG, m);
		}
		if (next != NULL) {
			if (r != 0) {
				msg_destroy(next);
				return r;
			}
			r = sipframe_after(f, next, cb, ctx);
		}
		if (r != 0)
			return r;
	}
	return 0;
}

int
sipframe_feed(struct sipframe *f, const char *data, size_t len,
    sipframe_cb cb, void *ctx)
{
	int r;

	while (len > 0) {
		size_t n;

		if (!f->open) {
			if (*data != '\r' && *data != '\n') {
				f->lf_run = 0;
				f->open = 1;
				continue;
			}
			if (*data == '\n' && ++f->lf_run == 2) {
				f->lf_run = 0;
				if ((r = cb(ctx, SIPFRAME_PING, NULL)) != 0)
					return r;
			}
			data++;
			len--;
			continue;
		}
		/* A slice at a time: a message past its end is copied once
		 * for the next (msg_next), so a read of many small messages
		 * costs a slice per message, not the whole read. */
		n = len < SIPFRAME_SLICE ? len : SIPFRAME_SLICE;
		if ((r = sipframe_put(f, data, n)) < 0)
			return r == -EMSGSIZE ? sipframe_toobig(f, cb, ctx) : r;
		if ((r = sipframe_extract(f, cb, ctx)) != 0)
			return r;
		data += n;
		len -= n;
	}
	return 0;
}
