/*
 * hep.c - HEP v3 encoding: "HEP3", total length, then chunks of
 * (vendor 0, type, length, value), all in network byte order.
 */
#include <errno.h>
#include <string.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "hep.h"
#include "log.h"

#define HEP_MAX	65535

struct hep_out {
	char *p;
	size_t len, cap;
};

static int
hep_chunk(struct hep_out *o, uint16_t type, const void *v, size_t n)
{
	uint16_t hdr[3] = { 0, htons(type), htons((uint16_t)(6 + n)) };

	if (o->len + 6 + n > o->cap || 6 + n > HEP_MAX)
		return -1;
	memcpy(o->p + o->len, hdr, 6);
	memcpy(o->p + o->len + 6, v, n);
	o->len += 6 + n;
	return 0;
}

static int
hep_u8(struct hep_out *o, uint16_t type, uint8_t v)
{
	return hep_chunk(o, type, &v, 1);
}

static int
hep_u16(struct hep_out *o, uint16_t type, uint16_t v)
{
	v = htons(v);
	return hep_chunk(o, type, &v, 2);
}

static int
hep_u32(struct hep_out *o, uint16_t type, uint32_t v)
{
	v = htonl(v);
	return hep_chunk(o, type, &v, 4);
}

size_t
hep_pack(char *out, size_t cap, const struct sockaddr *src,
    const struct sockaddr *dst, int proto, unsigned agent_id,
    const char *payload, size_t len)
{
	struct hep_out o = { out, 6, cap < HEP_MAX ? cap : HEP_MAX };
	int v6 = src->sa_family == AF_INET6;
	const struct sockaddr_in *s4 = (const void *)src, *d4 = (const void *)dst;
	const struct sockaddr_in6 *s6 = (const void *)src, *d6 = (const void *)dst;
	struct timeval tv;
	uint16_t total;
	int r = 0;

	if (cap < 6 || src->sa_family != dst->sa_family)
		return 0;
	gettimeofday(&tv, NULL);
	memcpy(out, "HEP3", 4);
	r |= hep_u8(&o, 0x0001, v6 ? AF_INET6 : AF_INET);
	r |= hep_u8(&o, 0x0002, (uint8_t)proto);
	if (v6) {
		r |= hep_chunk(&o, 0x0005, &s6->sin6_addr, 16);
		r |= hep_chunk(&o, 0x0006, &d6->sin6_addr, 16);
	} else {
		r |= hep_chunk(&o, 0x0003, &s4->sin_addr, 4);
		r |= hep_chunk(&o, 0x0004, &d4->sin_addr, 4);
	}
	r |= hep_u16(&o, 0x0007, ntohs(s4->sin_port));	/* same offset in v6 */
	r |= hep_u16(&o, 0x0008, ntohs(d4->sin_port));
	r |= hep_u32(&o, 0x0009, (uint32_t)tv.tv_sec);
	r |= hep_u32(&o, 0x000a, (uint32_t)tv.tv_usec);
	r |= hep_u8(&o, 0x000b, 1);			/* SIP */
	r |= hep_u32(&o, 0x000c, agent_id);
	r |= hep_chunk(&o, 0x000f, payload, len);
	if (r != 0)
		return 0;
	total = htons((uint16_t)o.len);
	memcpy(out + 4, &total, 2);
	return o.len;
}

int
hep_open(struct hep *hp, uv_loop_t *loop, const struct config *cfg)
{
	int r;

	memset(hp, 0, sizeof(*hp));
	if (cfg->trace.hep_collector.port == 0)
		return 0;
	if (!cfg->trace.hep_collector.is_ip) {
		log_error(NULL, "hep_collector %s: an IP address is needed",
		    cfg->trace.hep_collector.host);
		return -EINVAL;
	}
	if ((r = uv_udp_init(loop, &hp->h)) < 0)
		return r;
	hp->open = 1;
	memcpy(&hp->to, &cfg->trace.hep_collector.ss, sizeof(hp->to));
	hp->id = (unsigned)cfg->trace.hep_id;
	log_info(NULL, "HEP v3 copies of every SIP message to %s:%u (id %d)",
	    cfg->trace.hep_collector.host, cfg->trace.hep_collector.port,
	    cfg->trace.hep_id);
	return 0;
}

void
hep_close(struct hep *hp)
{
	if (hp->open && !uv_is_closing((uv_handle_t *)&hp->h))
		uv_close((uv_handle_t *)&hp->h, NULL);
}

void
hep_capture(void *arg, const struct sockaddr *src,
    const struct sockaddr *dst, int proto, const char *buf, size_t len)
{
	static char pkt[HEP_MAX];
	struct hep *hp = arg;
	size_t n;
	uv_buf_t b;

	if (hp == NULL || !hp->open || uv_is_closing((uv_handle_t *)&hp->h))
		return;
	n = hep_pack(pkt, sizeof(pkt), src, dst, proto, hp->id, buf, len);
	if (n == 0)
		return;
	b = uv_buf_init(pkt, (unsigned)n);
	/* Best effort: a busy collector loses copies, never calls. */
	uv_udp_try_send(&hp->h, &b, 1, (const struct sockaddr *)&hp->to);
}
