/* srtp_stream.c - one direction of one media leg over libsrtp2. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"
#include "srtp_openssl.h"
#include "srtp_stream.h"

#define RTP_HDR_LEN	12
#define RTCP_HDR_LEN	8

static int srtp_stream_initialised;

/*
 * The last RTP packet a tx stream protected: its plaintext, to know a
 * repeat, and the SRTP bytes sent for it, to send them again.  srtp_len
 * 0: nothing to repeat (none yet, too long, or the last protect failed).
 */
struct srtp_stream_last {
	int plain_len;
	int srtp_len;
	unsigned char *srtp;		/* behind plain: room for the trailer */
	unsigned char plain[];
};

/* What s->last takes: the struct, the plaintext, the SRTP packet. */
static size_t
last_size(const struct srtp_stream *s)
{
	return sizeof(struct srtp_stream_last) + 2 * SRTP_STREAM_REPEAT_MAX +
	    (size_t)s->trailer;
}

/*
 * libsrtp2 writes keys only in debug output, which is off unless a
 * debug module is switched on; errors and warnings carry none.  Drop
 * the debug and info levels anyway.
 */
static void
srtp_log(srtp_log_level_t level, const char *msg, void *arg)
{
	if (level == srtp_log_level_error || level == srtp_log_level_warning)
		log_warn(NULL, "libsrtp: %s", msg);
}

int
srtp_stream_global_init(void)
{
	if (srtp_stream_initialised)
		return SRTP_STREAM_OK;
	srtp_install_log_handler(srtp_log, NULL);
	if (srtp_init() != srtp_err_status_ok) {
		log_error(NULL, "libsrtp: initialisation failed");
		return SRTP_STREAM_EFAIL;
	}
	(void)srtp_openssl_init();	/* OpenSSL crypto; stock when refused */
	srtp_stream_initialised = 1;
	return SRTP_STREAM_OK;
}

void
srtp_stream_global_shutdown(void)
{
	if (!srtp_stream_initialised)
		return;
	srtp_shutdown();
	srtp_install_log_handler(NULL, NULL);
	srtp_stream_initialised = 0;
}

static int
map_status(srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_ok:
		return SRTP_STREAM_OK;
	case srtp_err_status_auth_fail:
	case srtp_err_status_bad_mki:	/* no key to check the tag with */
		return SRTP_STREAM_EAUTH;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
	case srtp_err_status_pkt_idx_old:
		return SRTP_STREAM_EREPLAY;
	case srtp_err_status_bad_param:
	case srtp_err_status_parse_err:
		return SRTP_STREAM_EPACKET;
	case srtp_err_status_key_expired:
		return SRTP_STREAM_EEXPIRED;
	default:
		return SRTP_STREAM_EFAIL;
	}
}

/* The MKI as it goes on the wire: big-endian in mki_len bytes. */
static void
mki_encode(const struct sdes_crypto *c, unsigned char *out)
{
	uint64_t v = c->mki;

	memset(out, 0, c->mki_len);
	for (unsigned int i = c->mki_len; i > 0 && v != 0; i--) {
		out[i - 1] = (unsigned char)v;
		v >>= 8;
	}
}

static int
stream_init(struct srtp_stream *s, const struct sdes_crypto *c,
    srtp_ssrc_type_t dir)
{
	const struct sdes_suite *su;
	srtp_policy_t pol;
	srtp_master_key_t mk, *mks[1];
	unsigned char mki[SDES_MKI_MAX];
	unsigned int tl;
	int rv;

	if (s == NULL || c == NULL || s->session != NULL)
		return SRTP_STREAM_EINVAL;
	memset(s, 0, sizeof(*s));
	su = sdes_suite_get(c->suite);
	if (su == NULL || c->keylen != su->keylen + su->saltlen ||
	    (c->has_mki && (c->mki_len < 1 || c->mki_len > SDES_MKI_MAX ||
	    !sdes_suite_mki_ok(c->suite))))
		return SRTP_STREAM_EINVAL;
	if ((rv = srtp_stream_global_init()) != SRTP_STREAM_OK)
		return rv;

	memset(&pol, 0, sizeof(pol));
	su->rtp_policy(&pol.rtp);
	su->rtcp_policy(&pol.rtcp);
	pol.ssrc.type = dir;
	/* libsrtp2 only reads the key, while deriving the session keys */
	if (c->has_mki) {
		mki_encode(c, mki);
		mk.key = (unsigned char *)c->key;
		mk.mki_id = mki;
		mk.mki_size = c->mki_len;
		mks[0] = &mk;
		pol.keys = mks;
		pol.num_master_keys = 1;
	} else
		pol.key = (unsigned char *)c->key;
	/* 0 is libsrtp2's default window (128); a larger hint widens it */
	if (dir == ssrc_any_inbound && c->wsh > 128)
		pol.window_size = c->wsh;
	pol.allow_repeat_tx = 0;

	if ((rv = map_status(srtp_create(&s->session, &pol))) != SRTP_STREAM_OK) {
		s->session = NULL;	/* srtp_create() freed what it made */
		goto fail;
	}
	s->use_mki = c->has_mki;
	rv = SRTP_STREAM_EFAIL;
	if (srtp_get_protect_trailer_length(s->session, (uint32_t)s->use_mki,
	    0, &tl) != srtp_err_status_ok)
		goto fail;
	s->trailer = (int)tl;
	if (srtp_get_protect_rtcp_trailer_length(s->session,
	    (uint32_t)s->use_mki, 0, &tl) != srtp_err_status_ok)
		goto fail;
	s->trailer_rtcp = (int)tl;
	if (dir == ssrc_any_outbound) {
		rv = SRTP_STREAM_EFAIL;
		if ((s->last = calloc(1, last_size(s))) == NULL)
			goto fail;
		s->last->srtp = s->last->plain + SRTP_STREAM_REPEAT_MAX;
	}
	return SRTP_STREAM_OK;
fail:
	srtp_stream_free(s);
	if (rv == SRTP_STREAM_EPACKET)	/* bad_param from srtp_create */
		rv = SRTP_STREAM_EINVAL;
	return rv;
}

int
srtp_stream_init_tx(struct srtp_stream *s, const struct sdes_crypto *c)
{
	return stream_init(s, c, ssrc_any_outbound);
}

int
srtp_stream_init_rx(struct srtp_stream *s, const struct sdes_crypto *c)
{
	return stream_init(s, c, ssrc_any_inbound);
}

/*
 * Version 2, and the CSRC list and header extension inside len.
 * libsrtp2 checks this too; checking here keeps it out of the
 * library's way for packets we can reject cheaply.
 */
static int
rtp_header_ok(const unsigned char *p, int len)
{
	int hl;

	if (len < RTP_HDR_LEN || (p[0] >> 6) != 2)
		return 0;
	hl = RTP_HDR_LEN + 4 * (p[0] & 0x0f);
	if (p[0] & 0x10) {
		if (len < hl + 4)
			return 0;
		hl += 4 + 4 * ((p[hl + 2] << 8) | p[hl + 3]);
	}
	return hl <= len;
}

static int
rtcp_header_ok(const unsigned char *p, int len)
{
	return len >= RTCP_HDR_LEN && (p[0] >> 6) == 2;
}

static int
check_args(struct srtp_stream *s, void *pkt, int *len)
{
	return s != NULL && s->session != NULL && pkt != NULL && len != NULL;
}

/*
 * The same plaintext as the last packet protected (same SSRC, sequence
 * number, hence index, and payload)?  Only packets up to
 * SRTP_STREAM_REPEAT_MAX bytes are kept, so for voice srtp_len is 0 and
 * this stops at once; else the memcmp stops at the sequence number.
 */
static int
last_is_repeat(const struct srtp_stream_last *l, const void *pkt, int len)
{
	return l != NULL && l->srtp_len > 0 && l->plain_len == len &&
	    memcmp(l->plain, pkt, (size_t)len) == 0;
}

/* Before protecting: remember the plaintext (or that there is none). */
static void
last_keep_plain(struct srtp_stream_last *l, const void *pkt, int len)
{
	if (l == NULL)
		return;
	l->srtp_len = 0;
	l->plain_len = len <= SRTP_STREAM_REPEAT_MAX ? len : 0;
	if (l->plain_len > 0)
		memcpy(l->plain, pkt, (size_t)len);
}

/* After protecting it: its SRTP bytes, the ones a repeat gets. */
static void
last_keep_srtp(struct srtp_stream_last *l, const void *pkt, int len)
{
	if (l == NULL || l->plain_len == 0)
		return;
	memcpy(l->srtp, pkt, (size_t)len);
	l->srtp_len = len;
}

int
srtp_stream_protect(struct srtp_stream *s, void *pkt, int *len, int maxlen)
{
	srtp_err_status_t st;
	int rv;

	if (!check_args(s, pkt, len) || *len > maxlen)
		return SRTP_STREAM_EINVAL;
	if (!rtp_header_ok(pkt, *len))
		return SRTP_STREAM_EPACKET;
	if (maxlen - *len < s->trailer)
		return SRTP_STREAM_ESPACE;
	if (last_is_repeat(s->last, pkt, *len)) {
		/* not through libsrtp2: it would refuse the used index */
		memcpy(pkt, s->last->srtp, (size_t)s->last->srtp_len);
		*len = s->last->srtp_len;
		return SRTP_STREAM_REPEAT;
	}
	last_keep_plain(s->last, pkt, *len);
	if (s->use_mki)
		st = srtp_protect_mki(s->session, pkt, len, 1, 0);
	else
		st = srtp_protect(s->session, pkt, len);
	if ((rv = map_status(st)) == SRTP_STREAM_OK)
		last_keep_srtp(s->last, pkt, *len);
	return rv;
}

int
srtp_stream_protect_rtcp(struct srtp_stream *s, void *pkt, int *len,
    int maxlen)
{
	srtp_err_status_t st;

	if (!check_args(s, pkt, len) || *len > maxlen)
		return SRTP_STREAM_EINVAL;
	if (!rtcp_header_ok(pkt, *len))
		return SRTP_STREAM_EPACKET;
	if (maxlen - *len < s->trailer_rtcp)
		return SRTP_STREAM_ESPACE;
	if (s->use_mki)
		st = srtp_protect_rtcp_mki(s->session, pkt, len, 1, 0);
	else
		st = srtp_protect_rtcp(s->session, pkt, len);
	return map_status(st);
}

int
srtp_stream_unprotect(struct srtp_stream *s, void *pkt, int *len)
{
	srtp_err_status_t st;

	if (!check_args(s, pkt, len))
		return SRTP_STREAM_EINVAL;
	if (!rtp_header_ok(pkt, *len))
		return SRTP_STREAM_EPACKET;
	if (s->use_mki)
		st = srtp_unprotect_mki(s->session, pkt, len, 1);
	else
		st = srtp_unprotect(s->session, pkt, len);
	return map_status(st);
}

int
srtp_stream_unprotect_rtcp(struct srtp_stream *s, void *pkt, int *len)
{
	srtp_err_status_t st;

	if (!check_args(s, pkt, len))
		return SRTP_STREAM_EINVAL;
	if (!rtcp_header_ok(pkt, *len))
		return SRTP_STREAM_EPACKET;
	if (s->use_mki)
		st = srtp_unprotect_rtcp_mki(s->session, pkt, len, 1);
	else
		st = srtp_unprotect_rtcp(s->session, pkt, len);
	return map_status(st);
}

void
srtp_stream_free(struct srtp_stream *s)
{
	if (s == NULL)
		return;
	/* libsrtp2 zeroes the cipher and auth state it frees */
	if (s->session != NULL)
		srtp_dealloc(s->session);
	if (s->last != NULL) {
		/* plaintext media: not left behind in freed memory */
		OPENSSL_cleanse(s->last, last_size(s));
		free(s->last);
	}
	memset(s, 0, sizeof(*s));
}

const char *
srtp_stream_strerror(int err)
{
	switch (err) {
	case SRTP_STREAM_OK:
		return "ok";
	case SRTP_STREAM_REPEAT:
		return "repeat of the last packet";
	case SRTP_STREAM_EAUTH:
		return "authentication failed";
	case SRTP_STREAM_EREPLAY:
		return "replayed or too old";
	case SRTP_STREAM_ESPACE:
		return "no room for the SRTP trailer";
	case SRTP_STREAM_EPACKET:
		return "malformed packet";
	case SRTP_STREAM_EEXPIRED:
		return "key usage limit reached";
	case SRTP_STREAM_EINVAL:
		return "invalid argument";
	default:
		return "libsrtp failure";
	}
}
