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

/* The policy for c: the keys stay c's (libsrtp2 copies them while it
 * derives the session keys), mk/mki are the caller's scratch. */
static void
policy_fill(srtp_policy_t *pol, const struct sdes_crypto *c, int tx,
    srtp_master_key_t *mk, srtp_master_key_t **mks, unsigned char *mki)
{
	const struct sdes_suite *su = sdes_suite_get(c->suite);

	memset(pol, 0, sizeof(*pol));
	su->rtp_policy(&pol->rtp);
	su->rtcp_policy(&pol->rtcp);
	pol->ssrc.type = tx ? ssrc_any_outbound : ssrc_any_inbound;
	if (c->has_mki) {
		mki_encode(c, mki);
		mk->key = (unsigned char *)c->key;
		mk->mki_id = mki;
		mk->mki_size = c->mki_len;
		mks[0] = mk;
		pol->keys = mks;
		pol->num_master_keys = 1;
	} else
		pol->key = (unsigned char *)c->key;
	/* 0 is libsrtp2's default window (128); a larger hint widens it */
	if (!tx && c->wsh > 128)
		pol->window_size = c->wsh;
	pol->allow_repeat_tx = 0;
}

/* c fits its suite: key length, MKI allowed and sized. */
static int
crypto_ok(const struct sdes_crypto *c)
{
	const struct sdes_suite *su = sdes_suite_get(c->suite);

	return su != NULL && c->keylen == su->keylen + su->saltlen &&
	    (!c->has_mki || (c->mki_len >= 1 && c->mki_len <= SDES_MKI_MAX &&
	    sdes_suite_mki_ok(c->suite)));
}

static int
stream_init(struct srtp_stream *s, const struct sdes_crypto *c, int tx)
{
	srtp_policy_t pol;
	srtp_master_key_t mk, *mks[1];
	unsigned char mki[SDES_MKI_MAX];
	unsigned int tl;
	int rv;

	if (s == NULL || c == NULL || s->session != NULL)
		return SRTP_STREAM_EINVAL;
	memset(s, 0, sizeof(*s));
	if (!crypto_ok(c))
		return SRTP_STREAM_EINVAL;
	if ((rv = srtp_stream_global_init()) != SRTP_STREAM_OK)
		return rv;
	policy_fill(&pol, c, tx, &mk, mks, mki);
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
	if (tx) {
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
	return stream_init(s, c, 1);
}

int
srtp_stream_init_rx(struct srtp_stream *s, const struct sdes_crypto *c)
{
	return stream_init(s, c, 0);
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

static uint32_t be32(const unsigned char *p);
static int resume_first(struct srtp_stream *s, uint32_t ssrc, uint16_t seq);
static void pos_rtp_seen(struct srtp_stream *s, uint32_t ssrc, uint16_t seq);
static void pos_rtcp_seen(struct srtp_stream *s, uint32_t ssrc);

/* An RTP header's SSRC and sequence number (checked by rtp_header_ok). */
static void
hdr_ids(const void *pkt, uint32_t *ssrc, uint16_t *seq)
{
	const unsigned char *p = pkt;

	*seq = (uint16_t)(p[2] << 8 | p[3]);
	*ssrc = be32(p + 8);
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
	uint32_t ssrc;
	uint16_t seq;
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
	hdr_ids(pkt, &ssrc, &seq);
	if ((rv = resume_first(s, ssrc, seq)) < 0)
		return rv;
	last_keep_plain(s->last, pkt, *len);
	if (s->use_mki)
		st = srtp_protect_mki(s->session, pkt, len, 1, 0);
	else
		st = srtp_protect(s->session, pkt, len);
	if ((rv = map_status(st)) == SRTP_STREAM_OK) {
		last_keep_srtp(s->last, pkt, *len);
		pos_rtp_seen(s, ssrc, seq);
	}
	return rv;
}

int
srtp_stream_protect_rtcp(struct srtp_stream *s, void *pkt, int *len,
    int maxlen)
{
	srtp_err_status_t st;
	uint32_t ssrc;

	if (!check_args(s, pkt, len) || *len > maxlen)
		return SRTP_STREAM_EINVAL;
	if (!rtcp_header_ok(pkt, *len))
		return SRTP_STREAM_EPACKET;
	if (maxlen - *len < s->trailer_rtcp)
		return SRTP_STREAM_ESPACE;
	ssrc = be32((const unsigned char *)pkt + 4);
	if (s->use_mki)
		st = srtp_protect_rtcp_mki(s->session, pkt, len, 1, 0);
	else
		st = srtp_protect_rtcp(s->session, pkt, len);
	if (st == srtp_err_status_ok)
		pos_rtcp_seen(s, ssrc);
	return map_status(st);
}

int
srtp_stream_unprotect(struct srtp_stream *s, void *pkt, int *len)
{
	srtp_err_status_t st;
	uint32_t ssrc;
	uint16_t seq;
	int rv;

	if (!check_args(s, pkt, len))
		return SRTP_STREAM_EINVAL;
	if (!rtp_header_ok(pkt, *len))
		return SRTP_STREAM_EPACKET;
	hdr_ids(pkt, &ssrc, &seq);
	if ((rv = resume_first(s, ssrc, seq)) < 0)
		return rv;
	if (s->use_mki)
		st = srtp_unprotect_mki(s->session, pkt, len, 1);
	else
		st = srtp_unprotect(s->session, pkt, len);
	if (st == srtp_err_status_ok)
		pos_rtp_seen(s, ssrc, seq);
	return map_status(st);
}

int
srtp_stream_unprotect_rtcp(struct srtp_stream *s, void *pkt, int *len)
{
	srtp_err_status_t st;
	uint32_t ssrc;

	if (!check_args(s, pkt, len))
		return SRTP_STREAM_EINVAL;
	if (!rtcp_header_ok(pkt, *len))
		return SRTP_STREAM_EPACKET;
	ssrc = be32((const unsigned char *)pkt + 4);
	if (s->use_mki)
		st = srtp_unprotect_rtcp_mki(s->session, pkt, len, 1);
	else
		st = srtp_unprotect_rtcp(s->session, pkt, len);
	if (st == srtp_err_status_ok)
		pos_rtcp_seen(s, ssrc);
	return map_status(st);
}

/* ---- positions (issue 15) ---- */

/*
 * Published as ssrc << 32 | 1 << 31 | roc << 16 | seq: one relaxed
 * 64-bit store per packet, read whole from any thread.  RFC 3711's ROC
 * has 32 bits; 15 of them cover 2^31 packets, a year at 50 a second.
 */
#define POS_HAVE	(1ull << 31)
#define POS_ROC_MAX	0x7fffu
#define SEQ_HALF	32768

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
pos_publish(struct srtp_stream *s)
{
	const struct srtp_stream_pos *at = &s->at;
	uint32_t roc = at->roc > POS_ROC_MAX ? POS_ROC_MAX : at->roc;

	if (at->have_rtp)
		__atomic_store_n(&s->pub_rtp, (uint64_t)at->ssrc << 32 |
		    POS_HAVE | (uint64_t)roc << 16 | at->seq, __ATOMIC_RELAXED);
	if (at->have_rtcp)
		__atomic_store_n(&s->pub_rtcp, (uint64_t)at->rtcp_ssrc << 32 |
		    at->rtcp_count, __ATOMIC_RELAXED);
}

/* An RTP packet of ssrc/seq went through: follow the highest index. */
static void
pos_rtp_seen(struct srtp_stream *s, uint32_t ssrc, uint16_t seq)
{
	struct srtp_stream_pos *at = &s->at;

	if (!at->have_rtp || at->ssrc != ssrc) {
		/* A new SSRC (or one back): libsrtp2 has just set its ROC. */
		uint32_t roc = 0;
		(void)srtp_get_stream_roc(s->session, ssrc, &roc);
		at->have_rtp = 1;
		at->ssrc = ssrc;
		at->roc = roc;
		at->seq = seq;
	} else if (seq > at->seq && seq - at->seq < SEQ_HALF)
		at->seq = seq;
	else if (seq < at->seq && at->seq - seq > SEQ_HALF) {
		at->roc++;		/* wrapped */
		at->seq = seq;
	} else
		return;			/* late, or the same again */
	pos_publish(s);
}

static void
pos_rtcp_seen(struct srtp_stream *s, uint32_t ssrc)
{
	/* Counted over every SSRC: an upper bound of each one's index. */
	s->at.have_rtcp = 1;
	s->at.rtcp_ssrc = ssrc;
	s->at.rtcp_count++;
	pos_publish(s);
}

void
srtp_stream_pos_read(const struct srtp_stream *s, struct srtp_stream_pos *out)
{
	uint64_t r = __atomic_load_n(&s->pub_rtp, __ATOMIC_RELAXED);
	uint64_t c = __atomic_load_n(&s->pub_rtcp, __ATOMIC_RELAXED);

	memset(out, 0, sizeof(*out));
	if (r & POS_HAVE) {
		out->have_rtp = 1;
		out->ssrc = (uint32_t)(r >> 32);
		out->roc = (uint32_t)(r >> 16) & POS_ROC_MAX;
		out->seq = (uint16_t)r;
	}
	if (c != 0) {
		out->have_rtcp = 1;
		out->rtcp_ssrc = (uint32_t)(c >> 32);
		out->rtcp_count = (uint32_t)c;
	}
}

/*
 * The first packet of the resumed SSRC: its ROC is the one that puts its
 * index nearest the stored one (RFC 3711 appendix A), handed to libsrtp2
 * for the stream srtp_stream_resume() added.  An index not beyond the
 * stored one was already used (tx: keystream reuse) or seen (rx: a
 * replay): refused.
 */
static int
resume_first(struct srtp_stream *s, uint32_t ssrc, uint16_t seq)
{
	const struct srtp_stream_pos *r = &s->resume;
	int64_t roc = r->roc;

	if (!r->have_rtp || ssrc != r->ssrc)
		return SRTP_STREAM_OK;
	if (r->seq < SEQ_HALF) {
		if (seq > r->seq && seq - r->seq > SEQ_HALF)
			roc--;
	} else if (r->seq - SEQ_HALF > seq)
		roc++;
	if (roc < 0 || ((uint64_t)roc << 16 | seq) <=
	    ((uint64_t)r->roc << 16 | r->seq))
		return SRTP_STREAM_EREPLAY;
	if (roc > 0 && srtp_set_stream_roc(s->session, ssrc,
	    (uint32_t)roc) != srtp_err_status_ok)
		return SRTP_STREAM_EFAIL;
	s->resume.have_rtp = 0;
	return SRTP_STREAM_OK;
}

/* tx: use up SRTCP indices 1..n of ssrc with RRs nobody will see. */
static int
resume_rtcp_skip(struct srtp_stream *s, uint32_t ssrc, uint32_t n)
{
	unsigned char rr[8 + SRTP_MAX_TRAILER_LEN + 4];

	for (uint32_t i = 0; i < n; i++) {
		int len = 8;
		srtp_err_status_t st;
		memset(rr, 0, sizeof(rr));
		rr[0] = 0x80;		/* V=2, no report blocks */
		rr[1] = 201;		/* RR */
		rr[3] = 1;		/* length: 2 words - 1 */
		rr[4] = (unsigned char)(ssrc >> 24);
		rr[5] = (unsigned char)(ssrc >> 16);
		rr[6] = (unsigned char)(ssrc >> 8);
		rr[7] = (unsigned char)ssrc;
		st = s->use_mki ? srtp_protect_rtcp_mki(s->session, rr, &len, 1, 0) :
		    srtp_protect_rtcp(s->session, rr, &len);
		if (st != srtp_err_status_ok)
			return map_status(st);
	}
	OPENSSL_cleanse(rr, sizeof(rr));
	return SRTP_STREAM_OK;
}

int
srtp_stream_resume(struct srtp_stream *s, const struct sdes_crypto *c,
    const struct srtp_stream_pos *pos)
{
	int tx = s != NULL && s->last != NULL;	/* only tx streams have one */
	srtp_policy_t pol;
	srtp_master_key_t mk, *mks[1];
	unsigned char mki[SDES_MKI_MAX];
	int rv;

	if (s == NULL || s->session == NULL || c == NULL || pos == NULL ||
	    !crypto_ok(c) || (pos->have_rtcp &&
	    pos->rtcp_count > SRTP_STREAM_RTCP_RESUME_MAX))
		return SRTP_STREAM_EINVAL;
	if (pos->have_rtp) {
		/* Its own stream now, so its ROC can be set before it is used. */
		policy_fill(&pol, c, tx, &mk, mks, mki);
		pol.ssrc.type = ssrc_specific;
		pol.ssrc.value = pos->ssrc;
		if ((rv = map_status(srtp_add_stream(s->session, &pol))) < 0)
			return rv == SRTP_STREAM_EPACKET ? SRTP_STREAM_EINVAL : rv;
		s->resume = *pos;
		s->resume.have_rtcp = 0;
	}
	if (tx && pos->have_rtcp) {
		uint32_t n = pos->rtcp_count + SRTP_STREAM_RTCP_MARGIN;
		if ((rv = resume_rtcp_skip(s, pos->rtcp_ssrc, n)) < 0)
			return rv;
		s->at.have_rtcp = 1;
		s->at.rtcp_ssrc = pos->rtcp_ssrc;
		s->at.rtcp_count = n;
		pos_publish(s);
	}
	return SRTP_STREAM_OK;
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
