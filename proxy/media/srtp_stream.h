/*
 * srtp_stream.h - one direction of one media leg over libsrtp2.
 *
 * A tx stream protects what we send with our own key; an rx stream
 * unprotects what the peer sends with the key from the peer's crypto
 * line.  Both match any SSRC (ssrc_any_outbound / ssrc_any_inbound):
 * libsrtp2 clones per-SSRC state from the template on the first packet
 * of each SSRC, so an SSRC change on the plain side (a transfer, a
 * re-bridged call) starts a fresh rollover counter and replay window
 * for that SSRC under the same key, and the far end follows.
 *
 * Rekeying is srtp_stream_free() then srtp_stream_init_*() with the
 * new crypto: that is what restarts the rollover counter and replay
 * state.  When a re-INVITE keeps the keys (sdes_crypto_same_key), keep
 * the stream: restarting it would desynchronise the rollover counter
 * from the peer's and, on tx, reuse keystream.
 *
 * The sender must keep each SSRC's sequence numbers moving forward:
 * libsrtp2's allow_repeat_tx stays off, so protecting an index already
 * used (a jump back, or the same sequence number with another payload)
 * fails with SRTP_STREAM_EREPLAY rather than reusing keystream (a
 * two-time pad).  One repeat is allowed, the way endpoints send it: a
 * tx stream remembers the last RTP packet it protected (plaintext and
 * SRTP, up to SRTP_STREAM_REPEAT_MAX plain bytes), and the very same
 * plaintext again (RFC 4733 sends an event's end packet three times
 * with one sequence number) gets the very same SRTP bytes back, without
 * going through libsrtp2: identical ciphertext under the same index
 * tells an eavesdropper nothing the first copy did not.  A plain side
 * that restarts its sequence numbers on the same SSRC needs renumbering
 * before it reaches srtp_stream_protect().
 *
 * Not thread-safe; one stream belongs to one loop.
 */
#ifndef TLSTRUNK_SRTP_STREAM_H
#define TLSTRUNK_SRTP_STREAM_H

#include <stdint.h>
#include <srtp2/srtp.h>

#include "sdes.h"

enum srtp_stream_err {
	SRTP_STREAM_OK = 0,
	SRTP_STREAM_REPEAT = 1,		/* protect: the last packet again, its
					   SRTP bytes resent (not an error) */
	SRTP_STREAM_EAUTH = -1,		/* tag did not verify: wrong key,
					   tampered packet, unknown MKI */
	SRTP_STREAM_EREPLAY = -2,	/* index already seen, or older than
					   the replay window */
	SRTP_STREAM_ESPACE = -3,	/* buffer has no room for the trailer */
	SRTP_STREAM_EPACKET = -4,	/* too short or malformed header */
	SRTP_STREAM_EEXPIRED = -5,	/* key usage limit reached: rekey */
	SRTP_STREAM_EINVAL = -6,	/* bad argument or stream not set up */
	SRTP_STREAM_EFAIL = -7		/* any other libsrtp2 failure */
};

/* The largest RTP packet (plain) a tx stream remembers for a repeat:
 * what endpoints send again on purpose, RFC 4733 events (a 4-byte
 * payload) and comfort noise (RFC 3389).  Voice is not repeated: keeping
 * it would cost two copies of every packet and ~400 bytes per stream. */
#define SRTP_STREAM_REPEAT_MAX	64

struct srtp_stream_last;

/*
 * Where one direction stands, to carry it across a restart (issue 15):
 * the latest SSRC's rollover counter and highest sequence number, and
 * for SRTCP the latest SSRC and how many packets went under the key (tx:
 * the SRTCP index is that count).  Read from another thread: the stream
 * publishes it in two 64-bit words, one relaxed store each per packet.
 */
struct srtp_stream_pos {
	uint8_t		 have_rtp, have_rtcp;
	uint32_t	 ssrc;
	uint32_t	 roc;		/* rollover counter (RFC 3711 3.3.1) */
	uint16_t	 seq;		/* highest sequence number */
	uint32_t	 rtcp_ssrc;
	uint32_t	 rtcp_count;	/* SRTCP packets under the key */
};

/* SRTCP indices a resumed tx stream skips beyond the stored count: what
 * may have been sent after the last write (RTCP goes every ~5 s). */
#define SRTP_STREAM_RTCP_MARGIN	64
/* ... so whoever stores positions writes again once the count moved by
 * this much (well inside the margin). */
#define SRTP_STREAM_RTCP_STEP	32
/* A resumed tx stream refuses to burn through more SRTCP indices than
 * this (about 60 days of RTCP every 5 s): a count beyond it is corrupt. */
#define SRTP_STREAM_RTCP_RESUME_MAX	(1u << 20)

struct srtp_stream {
	srtp_t		 session;	/* NULL when not set up */
	int		 use_mki;	/* packets carry the crypto's MKI */
	int		 trailer;	/* most bytes srtp_protect adds */
	int		 trailer_rtcp;	/* most bytes srtp_protect_rtcp adds */
	struct srtp_stream_last *last;	/* tx: the last RTP packet protected */
	struct srtp_stream_pos at;	/* the stream's thread's own view */
	struct srtp_stream_pos resume;	/* srtp_stream_resume's, until the
					   first packet of resume.ssrc */
	uint64_t	 pub_rtp;	/* at, published: see pos_pack */
	uint64_t	 pub_rtcp;
};

/*
 * srtp_init() once; later calls return 0 at once.  Stream set-up calls
 * it too, so calling it first only moves libsrtp2's self-test to start.
 */
int srtp_stream_global_init(void);

/* srtp_shutdown(); free every stream first. */
void srtp_stream_global_shutdown(void);

/*
 * Set up s (zeroed, or freed with srtp_stream_free) from c: replay
 * protection with libsrtp2's default window (wider when an rx crypto
 * carries a larger WSH); a tx stream repeats only its last packet (see
 * above; its memory is allocated here, none per packet).  The key is
 * copied into libsrtp2's own state; c may be wiped afterwards.
 */
int srtp_stream_init_tx(struct srtp_stream *s, const struct sdes_crypto *c);
int srtp_stream_init_rx(struct srtp_stream *s, const struct sdes_crypto *c);

/*
 * Protect the RTP or RTCP packet of *len bytes at pkt in place; maxlen
 * is the size of the buffer at pkt, which must leave room for the
 * trailer (s->trailer or s->trailer_rtcp bytes, at most
 * SRTP_MAX_TRAILER_LEN + 4).  *len becomes the protected length.
 * RTP: SRTP_STREAM_REPEAT when pkt equals the last packet protected
 * (byte for byte); pkt then holds the SRTP bytes sent for it.  RTCP
 * never repeats an index (the sender's SRTCP index counts every call).
 */
int srtp_stream_protect(struct srtp_stream *s, void *pkt, int *len,
    int maxlen);
int srtp_stream_protect_rtcp(struct srtp_stream *s, void *pkt, int *len,
    int maxlen);

/* Verify and decrypt in place; *len becomes the plain length. */
int srtp_stream_unprotect(struct srtp_stream *s, void *pkt, int *len);
int srtp_stream_unprotect_rtcp(struct srtp_stream *s, void *pkt, int *len);

/*
 * Carry on from pos after a restart (s just set up with c, the key pos
 * was reached under: libsrtp2 needs it again for pos.ssrc's own stream).  RTP:
 * the first packet of pos.ssrc gets its rollover counter from pos
 * (RFC 3711 appendix A against pos.seq, so a wrap in between is
 * followed); tx also refuses to go back behind pos.seq.  SRTCP, tx: the
 * index moves to pos.rtcp_count + SRTP_STREAM_RTCP_MARGIN, so the far
 * end never sees an index twice (RFC 3711 3.3.1 / 9.2).  0 or
 * SRTP_STREAM_EINVAL.
 */
int srtp_stream_resume(struct srtp_stream *s, const struct sdes_crypto *c,
    const struct srtp_stream_pos *pos);

/* Where s stands now; any thread. */
void srtp_stream_pos_read(const struct srtp_stream *s, struct srtp_stream_pos *out);

/* Release s and zero it; safe on a zeroed or already freed stream. */
void srtp_stream_free(struct srtp_stream *s);

/* Short text for an enum srtp_stream_err, for logs. */
const char *srtp_stream_strerror(int err);

#endif
