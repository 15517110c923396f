/* sipmsg.c - building and printing messages with sofia-sip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/rand.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_alloc.h>

#include "sipmsg.h"

char *
sipmsg_print(msg_t *msg, size_t *len)
{
	sip_t *sip = sip_object(msg);

	if (sip == NULL)
		return NULL;
	/* Messages we build have no empty line before the (empty) body:
	 * on a stream the peer would wait for it forever. */
	if (sip->sip_separator == NULL && msg_header_insert(msg, (msg_pub_t *)sip,
	    (msg_header_t *)sip_separator_create(msg_home(msg))) < 0)
		return NULL;
	/* Over UDP a request may come without Content-Length (the body ends
	 * with the datagram, RFC 3261 18.3); a stream cannot frame it without
	 * one (20.14), and the cloud drops the whole connection over it. */
	if (sip->sip_content_length == NULL && msg_header_insert(msg,
	    (msg_pub_t *)sip, (msg_header_t *)sip_content_length_create(
	    msg_home(msg), sip->sip_payload ? (uint32_t)sip->sip_payload->pl_len :
	    0)) < 0)
		return NULL;
	if (msg_serialize(msg, (msg_pub_t *)sip) < 0)
		return NULL;
	/* A NULL home makes sofia use plain malloc: the caller free()s. */
	return msg_as_string(NULL, msg, NULL, 0, len);
}

int
sipmsg_version_ok(sip_t const *sip)
{
	const char *v = sip->sip_request != NULL ? sip->sip_request->rq_version :
	    sip->sip_status != NULL ? sip->sip_status->st_version : NULL;

	/* Case-insensitive (RFC 3261 7.1). */
	return v != NULL && strcasecmp(v, "SIP/2.0") == 0;
}

const char *
sipmsg_check(msg_t *msg, sip_t const *sip)
{
	if (sip == NULL || msg_has_error(msg) || sip->sip_error != NULL)
		return "malformed header";
	if (sip->sip_request == NULL && sip->sip_status == NULL)
		return "no start line";
	/* Another version (SIP/7.0) is not ours to pass on: the next hop may
	 * well drop the whole connection over it (RFC 3261 21.5.6: 505). */
	if (!sipmsg_version_ok(sip))
		return "SIP Version Not Supported";
	if (sip->sip_via == NULL || sip->sip_via->v_host == NULL)
		return "missing Via";
	if (sip->sip_from == NULL || sip->sip_to == NULL)
		return "missing From or To";
	if (sip->sip_call_id == NULL || sip->sip_call_id->i_id == NULL)
		return "missing Call-ID";
	if (sip->sip_cseq == NULL)
		return "missing CSeq";
	if (sip->sip_request != NULL) {
		if (sip->sip_request->rq_url->url_type != url_sip &&
		    sip->sip_request->rq_url->url_type != url_sips)
			return "Request-URI is not a SIP URI";
		if (sip->sip_cseq->cs_method != sip->sip_request->rq_method ||
		    (sip->sip_cseq->cs_method == sip_method_unknown &&
		    strcmp(sip->sip_cseq->cs_method_name,
		    sip->sip_request->rq_method_name) != 0))
			return "CSeq method does not match the request";
		/* A Via without a branch is an RFC 2543 hop: still valid
		 * (RFC 3261 17.2.3, RFC 4475 3.1.1.7), see txn_skey(). */
	}
	return NULL;
}

int
sipmsg_answerable(sip_t const *sip)
{
	return sip != NULL && sip->sip_via != NULL && sip->sip_from != NULL &&
	    sip->sip_to != NULL && sip->sip_call_id != NULL &&
	    sip->sip_cseq != NULL;
}

int
sipmsg_header_count(msg_t *msg)
{
	msg_header_t **head = msg_chain_head(msg);
	int n = 0;

	for (msg_header_t *h = head ? *head : NULL; h != NULL; h = h->sh_succ)
		n++;
	return n;
}

const char *
sipmsg_callid(sip_t const *sip)
{
	if (sip == NULL || sip->sip_call_id == NULL || sip->sip_call_id->i_id == NULL)
		return "-";
	return sip->sip_call_id->i_id;
}

static void
sipmsg_random_tag(char *buf, size_t len)
{
	unsigned char r[8];

	RAND_bytes(r, sizeof(r));
	snprintf(buf, len, "tt%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1],
	    r[2], r[3], r[4], r[5], r[6], r[7]);
}

msg_t *
sipmsg_response(msg_t *req, int skip_vias, int status, const char *phrase)
{
	sip_t const *rq = sip_object(req);
	msg_t *msg = msg_create(sip_default_mclass(), 0);
	sip_via_t const *v;
	sip_t *sip;
	su_home_t *home;

	/* Nothing to answer with: the caller drops the request instead. */
	if (rq == NULL || rq->sip_via == NULL || rq->sip_from == NULL ||
	    rq->sip_to == NULL || rq->sip_call_id == NULL || rq->sip_cseq == NULL) {
		if (msg != NULL)
			msg_destroy(msg);
		return NULL;
	}
	if (msg == NULL)
		return NULL;
	home = msg_home(msg);
	sip = sip_object(msg);
	if (phrase == NULL)
		phrase = sip_status_phrase(status);
	if (phrase == NULL)
		phrase = "Unknown";
	if (msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)
	    sip_status_create(home, status, phrase, NULL)) < 0)
		goto fail;
	/* sip_add_dup copies a header and every one chained after it. */
	v = rq->sip_via;
	while (v != NULL && skip_vias-- > 0)
		v = v->v_next;
	if (v != NULL && sip_add_dup(msg, sip, (sip_header_t const *)v) < 0)
		goto fail;
	if (sip_add_dup(msg, sip, (sip_header_t const *)rq->sip_from) < 0 ||
	    sip_add_dup(msg, sip, (sip_header_t const *)rq->sip_to) < 0 ||
	    sip_add_dup(msg, sip, (sip_header_t const *)rq->sip_call_id) < 0 ||
	    sip_add_dup(msg, sip, (sip_header_t const *)rq->sip_cseq) < 0)
		goto fail;
	if (status > 100 && sip->sip_to->a_tag == NULL) {
		char tag[32];
		sipmsg_random_tag(tag, sizeof(tag));
		if (sip_to_tag(home, sip->sip_to, tag) < 0)
			goto fail;
	}
	/* RFC 3261 21.4.13: a 415 lists the body types we take. */
	if (status == 415 &&
	    sip_add_make(msg, sip, sip_accept_class, "application/sdp") < 0)
		goto fail;
	if (sip_add_make(msg, sip, sip_server_class, "tlstrunk/" TLSTRUNK_VERSION) < 0 ||
	    sip_add_make(msg, sip, sip_content_length_class, "0") < 0)
		goto fail;
	return msg;
fail:
	msg_destroy(msg);
	return NULL;
}

msg_t *
sipmsg_hop_request(msg_t *invite, sip_t const *resp, sip_method_t m)
{
	sip_t const *iv = sip_object(invite);
	msg_t *msg = msg_create(sip_default_mclass(), 0);
	sip_t *sip;
	su_home_t *home;
	const char *name = m == sip_method_ack ? "ACK" : "CANCEL";

	if (msg == NULL)
		return NULL;
	home = msg_home(msg);
	sip = sip_object(msg);
	if (msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)
	    sip_request_create(home, m, name,
	    (url_string_t const *)iv->sip_request->rq_url, NULL)) < 0)
		goto fail;
	/* Only our own Via: ACK and CANCEL are hop-by-hop here. */
	if (msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)
	    sip_via_dup(home, iv->sip_via)) < 0)
		goto fail;
	sip->sip_via->v_next = NULL;
	/* One call copies the whole Route list, in order. */
	if (iv->sip_route != NULL &&
	    sip_add_dup(msg, sip, (sip_header_t const *)iv->sip_route) < 0)
		goto fail;
	if (sip_add_make(msg, sip, sip_max_forwards_class, "70") < 0 ||
	    sip_add_dup(msg, sip, (sip_header_t const *)iv->sip_from) < 0 ||
	    sip_add_dup(msg, sip, (sip_header_t const *)
	    (resp != NULL ? resp->sip_to : iv->sip_to)) < 0 ||
	    sip_add_dup(msg, sip, (sip_header_t const *)iv->sip_call_id) < 0)
		goto fail;
	if (msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)
	    sip_cseq_create(home, iv->sip_cseq->cs_seq, m, name)) < 0)
		goto fail;
	if (sip_add_make(msg, sip, sip_content_length_class, "0") < 0)
		goto fail;
	return msg;
fail:
	msg_destroy(msg);
	return NULL;
}

msg_t *
sipmsg_dialog_request(msg_t *invite, sip_t const *resp, sip_method_t m)
{
	sip_t const *iv = sip_object(invite);
	msg_t *msg;
	sip_t *sip;
	su_home_t *home;
	const char *name = m == sip_method_ack ? "ACK" : "BYE";
	uint32_t seq = iv->sip_cseq->cs_seq + (m == sip_method_ack ? 0 : 1);
	int n = 0;

	if (resp->sip_contact == NULL)
		return NULL;
	if ((msg = msg_create(sip_default_mclass(), 0)) == NULL)
		return NULL;
	home = msg_home(msg);
	sip = sip_object(msg);
	if (msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)
	    sip_request_create(home, m, name,
	    (url_string_t const *)resp->sip_contact->m_url, NULL)) < 0)
		goto fail;
	/* The caller's route set is the Record-Route reversed (RFC 3261
	 * 12.1.2); sofia appends each Route, so walk the list backwards. */
	for (sip_record_route_t const *rr = resp->sip_record_route; rr != NULL;
	    rr = rr->r_next)
		n++;
	for (int i = n - 1; i >= 0; i--) {
		sip_record_route_t const *rr = resp->sip_record_route;
		sip_route_t *r;
		for (int k = 0; k < i; k++)
			rr = rr->r_next;
		r = sip_route_create(home, rr->r_url, NULL);
		if (r == NULL || msg_header_insert(msg, (msg_pub_t *)sip,
		    (msg_header_t *)r) < 0)
			goto fail;
	}
	if (sip_add_make(msg, sip, sip_max_forwards_class, "70") < 0 ||
	    sip_add_dup(msg, sip, (sip_header_t const *)iv->sip_from) < 0 ||
	    sip_add_dup(msg, sip, (sip_header_t const *)resp->sip_to) < 0 ||
	    sip_add_dup(msg, sip, (sip_header_t const *)iv->sip_call_id) < 0 ||
	    msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)
	    sip_cseq_create(home, seq, m, name)) < 0 ||
	    sip_add_make(msg, sip, sip_content_length_class, "0") < 0)
		goto fail;
	return msg;
fail:
	msg_destroy(msg);
	return NULL;
}

int
sipmsg_via_param(msg_t *msg, sip_via_t *v, const char *param)
{
	/* sofia keeps the pointer, not a copy: the string must live in the
	 * message's home. */
	char *p = su_strdup(msg_home(msg), param);

	if (p == NULL || msg_header_replace_param(msg_home(msg), v->v_common, p) < 0)
		return -1;
	msg_fragment_clear(v->v_common);
	return 0;
}
