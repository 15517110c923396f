/*
 * sipframe.h - SIP message framing on a byte stream (RFC 3261 18.3):
 * bytes in, in whatever pieces TCP or TLS delivers them, whole messages
 * out, by sofia-sip's streaming parser.  Knows nothing of sockets: the
 * stream's owner feeds it and is called back for each message.
 */
#ifndef TLSTRUNK_SIPFRAME_H
#define TLSTRUNK_SIPFRAME_H

#include <stddef.h>
#include <sofia-sip/msg.h>

enum sipframe_event {
	SIPFRAME_MSG,		/* a whole message: the callee owns it */
	SIPFRAME_TOOBIG,	/* over maxsize, headers parsed: the callee
				   owns it (to answer 513).  Flagged
				   MSG_FLG_TOOLARGE; the stream goes on unless
				   sipframe_feed() then fails */
	SIPFRAME_PING,		/* a double CRLF keepalive (RFC 5626) */
	SIPFRAME_BAD,		/* unparsable, but enough of its header
				   parsed to answer 400: the callee owns it;
				   the stream then ends (-EBADMSG) */
};

/* Return 0 to go on, non-zero to stop: the stream is closing. */
typedef int (*sipframe_cb)(void *ctx, enum sipframe_event ev, msg_t *msg);

struct sipframe {
	msg_t *rx;		/* the message being received, or NULL */
	size_t maxsize;		/* largest message taken, bytes */
	size_t used;		/* bytes given to rx, leading CRLFs included */
	unsigned lf_run;	/* LFs seen between messages */
	int open;		/* a message has begun (not only CRLFs) */
};

void sipframe_init(struct sipframe *f, size_t maxsize);
void sipframe_free(struct sipframe *f);

/*
 * Take len bytes.  0 when all were taken (a message may be left
 * unfinished for the next call), the callback's non-zero value when it
 * stopped, -EMSGSIZE for a message over maxsize, -EBADMSG for bytes
 * that frame no SIP message, -ENOMEM.  After an error the stream cannot
 * be read further: close it.
 */
int sipframe_feed(struct sipframe *f, const char *data, size_t len,
    sipframe_cb cb, void *ctx);

/* 1 while a message has begun and is not complete (its clock runs). */
int sipframe_open(const struct sipframe *f);

#endif
