/*
 * sdp_rewrite.h - read and rewrite the SDP bodies the media bridge
 * relays between the plain PBX leg (RTP/AVP) and the cloud leg
 * (RTP/SAVP with SDES a=crypto, shared/spec/byoc-tls.md "Media").
 *
 * SDP is parsed and printed by sofia-sip, never edited as text.  Key
 * handling lives elsewhere: this module sees a=crypto values (the text
 * after "a=crypto:") only as opaque strings.
 */
#ifndef TLSTRUNK_SDP_REWRITE_H
#define TLSTRUNK_SDP_REWRITE_H

#include <stddef.h>

#define SDP_MAX_LEN	65536	/* largest body accepted, bytes */
#define SDP_MAX_MEDIA	8	/* most m= lines accepted */
#define SDP_MAX_CRYPTO	8	/* most a=crypto lines per m= line */
#define SDP_CRYPTO_LEN	256	/* a=crypto value, NUL included */
#define SDP_ADDR_LEN	64	/* connection address, NUL included */

enum sdp_proto { SDP_PROTO_OTHER, SDP_PROTO_AVP, SDP_PROTO_SAVP };
enum sdp_dir { SDP_SENDRECV, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };

struct sdp_media_info {
	int		 audio;		/* m=audio */
	int		 proto;		/* enum sdp_proto; RTP/SAVPF,
					   UDP/TLS/RTP/SAVP, udptl... are
					   OTHER */
	unsigned	 port;		/* 0: disabled m= line */
	unsigned	 rtcp_port;	/* a=rtcp (RFC 3605) port, 0: none */
	char		 addr[SDP_ADDR_LEN]; /* media c=, else session c=,
					   else "" */
	int		 rtcp_mux;	/* a=rtcp-mux */
	int		 dir;		/* enum sdp_dir; media attribute,
					   else session attribute */
	int		 hold;		/* c= 0.0.0.0 or ::, or sendonly or
					   inactive (informational) */
	char		 crypto[SDP_MAX_CRYPTO][SDP_CRYPTO_LEN];
	int		 ncrypto;	/* a=crypto values, in order */
};

struct sdp_info {
	int			nmedia;
	struct sdp_media_info	m[SDP_MAX_MEDIA];
};

/*
 * Parse body (len bytes, need not be NUL-terminated) into out.
 * Returns 0, or -EINVAL (malformed: not SDP, bad line, port > 65535,
 * bad a=rtcp, a=crypto without value), -E2BIG (longer than
 * SDP_MAX_LEN, more than SDP_MAX_MEDIA m= lines or SDP_MAX_CRYPTO
 * a=crypto lines in one, a value that does not fit out).  Only
 * out->m[0 .. nmedia-1] are filled, and of each only crypto[0 ..
 * ncrypto-1]; nmedia is 0 on failure.
 */
int	 sdp_inspect(const char *body, size_t len, struct sdp_info *out);

struct sdp_media_edit {
	int		 keep;		/* 0: port 0, rejects this m= line */
	int		 proto;		/* SDP_PROTO_AVP or SDP_PROTO_SAVP
					   (ignored when keep is 0) */
	char		 addr[SDP_ADDR_LEN]; /* our IPv4 or IPv6 literal
					   (may be "" when keep is 0) */
	unsigned	 port;		/* our RTP port, 1..65535 */
	const char	*crypto[SDP_MAX_CRYPTO]; /* replace all a=crypto */
	int		 ncrypto;	/* 0: remove all a=crypto */
};

struct sdp_edit {
	int			 nmedia; /* must equal the body's m= count */
	struct sdp_media_edit	 m[SDP_MAX_MEDIA];
	const char		*origin_addr; /* o= address, NULL: keep */
};

/*
 * Rewrite body per edit, m[i] applying to the i-th m= line.  Returns a
 * malloc'd NUL-terminated SDP (free() it) and its length in *outlen,
 * or NULL when the body is rejected as sdp_inspect() would (crypto
 * limits aside: those lines are replaced) or the edit is invalid: count
 * mismatch, bad address/port/proto, a value holding control characters,
 * keep on an m= line that is not RTP/AVP or RTP/SAVP.
 *
 * What changes, everything else (formats, rtpmap/fmtp, ptime,
 * direction attributes, rtcp-mux, b=, other attributes) passing
 * through; sofia-sip prints a=rtpmap/a=fmtp first in each m= section,
 * the other attributes after them in their order:
 *  - the m= port and proto; a kept m= line gets addr/port/proto, a
 *    rejected one port 0, its proto and format list unchanged;
 *  - c=: the session c= becomes the first kept m= line's address (or
 *    the first address given, or origin_addr) so that no c= is left
 *    pointing at the other leg; an m= line whose address differs gets
 *    its own c=, every other media c= is removed;
 *  - a=crypto: all removed, edit's values put in place of the first
 *    one (or appended); session-level a=crypto (invalid per RFC 4568)
 *    and k= lines (obsolete) removed so that no key crosses legs;
 *  - a=rtcp: set to "port+1 IN IP4|IP6 addr" on kept m= lines, removed
 *    on rejected ones or when port+1 would not be a port;
 *  - o=: username, session id and version kept, address set to
 *    origin_addr when given.  The version is not bumped: the proxy
 *    relays each peer version once and the output is a function of
 *    (body, edit), so the caller must give the same edit (same keys,
 *    address, port) for a body whose o= version did not change.
 */
char	*sdp_rewrite(const char *body, size_t len,
	    const struct sdp_edit *edit, size_t *outlen);

/*
 * The same two steps on one parse, for a caller that inspects a body
 * and then rewrites it: load (NULL and *rc as sdp_inspect() on a body
 * it rejects), inspect, rewrite at most once (the document is edited in
 * place), free.
 */
struct sdp_doc;
struct sdp_doc	*sdp_doc_load(const char *body, size_t len, int *rc);
int	 sdp_doc_inspect(const struct sdp_doc *d, struct sdp_info *out);
char	*sdp_doc_rewrite(struct sdp_doc *d, const struct sdp_edit *edit,
	    size_t *outlen);
void	 sdp_doc_free(struct sdp_doc *d);

#endif
