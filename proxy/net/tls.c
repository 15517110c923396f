/* tls.c - the cloud's TLS policy as OpenSSL contexts. */
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls.h"

/*
 * [cloud] crl_file semantics. The store checks every certificate of the
 * chain (X509_V_FLAG_CRL_CHECK_ALL), but only the leaf's issuer MUST have a
 * CRL in the file: without one the handshake is refused ("unable to get
 * certificate CRL", depth 0), since a check the operator asked for is never
 * skipped silently. An intermediate is checked when the file holds its
 * issuer's CRL (a revoked intermediate is refused), and a missing CRL for
 * it is no error: CRL_CHECK_ALL alone refused every handshake unless the
 * file also held the root's CRL, which operators rarely fetch. Part of the
 * store's callback too (tls_verify_allow), so that other verifications with
 * the store (tlstrunk doctor) agree with the handshake.
 */
static int
tls_crl_missing_ok(int ok, X509_STORE_CTX *xs)
{
	if (!ok && X509_STORE_CTX_get_error(xs) == X509_V_ERR_UNABLE_TO_GET_CRL &&
	    X509_STORE_CTX_get_error_depth(xs) > 0) {
		/* Clear it, or SSL_get_verify_result() would still report it. */
		X509_STORE_CTX_set_error(xs, X509_V_OK);
		return 1;
	}
	return ok;
}

/*
 * A peer certificate's purpose.  As a TLS server, OpenSSL checks a client's
 * chain for the "sslclient" purpose: an extended key usage, where there is
 * one, must list clientAuth, at every depth.  Since 2026-03 the cloud's
 * certificates carry serverAuth only (public CAs dropped clientAuth from
 * TLS server certificates), so with [tls_server] mutual on the cloud would
 * be refused.  A certificate that fails the purpose check is accepted when
 * it serves as a TLS server's instead (serverAuth, or no EKU): either TLS
 * purpose will do.  Chain, dates, names and CRLs are checked as before.
 * Toward the cloud the purpose checked is already "sslserver": no change.
 */
int
tls_peer_purpose_ok(X509 *cert, int is_ca)
{
	return X509_check_purpose(cert, X509_PURPOSE_SSL_CLIENT, is_ca) == 1 ||
	    X509_check_purpose(cert, X509_PURPOSE_SSL_SERVER, is_ca) == 1;
}

static int
tls_purpose_either_ok(int ok, X509_STORE_CTX *xs)
{
	X509 *cert = X509_STORE_CTX_get_current_cert(xs);

	if (!ok && X509_STORE_CTX_get_error(xs) == X509_V_ERR_INVALID_PURPOSE &&
	    cert != NULL && tls_peer_purpose_ok(cert,
	    X509_STORE_CTX_get_error_depth(xs) > 0)) {
		X509_STORE_CTX_set_error(xs, X509_V_OK);
		return 1;
	}
	return ok;
}

/* The store's callback: what verification tolerates beyond OpenSSL's. */
static int
tls_verify_allow(int ok, X509_STORE_CTX *xs)
{
	return tls_crl_missing_ok(tls_purpose_either_ok(ok, xs), xs);
}

static int
tls_verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl;
	struct tls_verify_note *note;
	X509 *cert;
	char subj[160] = "?";

	if ((ok = tls_verify_allow(ok, xs)))
		return ok;
	ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	note = ssl ? SSL_get_app_data(ssl) : NULL;
	if (note == NULL || note->text[0] != '\0')
		return ok;	/* keep the first, most telling, failure */
	cert = X509_STORE_CTX_get_current_cert(xs);
	if (cert != NULL)
		X509_NAME_oneline(X509_get_subject_name(cert), subj, sizeof(subj));
	snprintf(note->text, sizeof(note->text),
	    "certificate verify failed: %s (depth %d, subject %s)",
	    X509_verify_cert_error_string(X509_STORE_CTX_get_error(xs)),
	    X509_STORE_CTX_get_error_depth(xs), subj);
	return ok;
}

/* NSS key log (SSLKEYLOGFILE format) so Wireshark can read the TLS leg.
 * Off unless [trace] tls_keylog names a file; loud when on. */
static FILE *tls_keylog_file;

static void
tls_keylog_cb(const SSL *ssl, const char *line)
{
	if (tls_keylog_file != NULL) {
		fprintf(tls_keylog_file, "%s\n", line);
		fflush(tls_keylog_file);
	}
}

static void
tls_keylog_attach(SSL_CTX *ctx, const struct config *cfg)
{
	if (cfg->trace.tls_keylog[0] == '\0')
		return;
	if (tls_keylog_file == NULL) {
		tls_keylog_file = fopen(cfg->trace.tls_keylog, "a");
		if (tls_keylog_file == NULL) {
			log_error(NULL, "tls_keylog %s: cannot open", cfg->trace.tls_keylog);
			return;
		}
		log_warn(NULL, "TLS KEY LOGGING IS ON (%s): anyone who reads this file "
		    "can decrypt the SIP traffic; turn it off after debugging",
		    cfg->trace.tls_keylog);
	}
	SSL_CTX_set_keylog_callback(ctx, tls_keylog_cb);
}

void
tls_last_error(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "handshake failed");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
}

/* Versions, suites and groups shared by both directions. */
static int
tls_ctx_policy(SSL_CTX *ctx, const struct cfg_cloud *tc, char *err,
    size_t errlen)
{
	if (!SSL_CTX_set_min_proto_version(ctx, tc->tls_min_version) ||
	    !SSL_CTX_set_max_proto_version(ctx, tc->tls_max_version)) {
		snprintf(err, errlen, "cannot set TLS versions");
		return -1;
	}
	if (!SSL_CTX_set_cipher_list(ctx, tc->ciphers)) {
		snprintf(err, errlen, "no usable cipher in '%s'", tc->ciphers);
		return -1;
	}
	if (!SSL_CTX_set1_groups_list(ctx, tc->groups)) {
		snprintf(err, errlen, "bad groups '%s'", tc->groups);
		return -1;
	}
	/* No renegotiation, no compression, no session tickets to juggle. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return 0;
}

static int
tls_ctx_load_roots(SSL_CTX *ctx, const struct cfg_cloud *tc, char *err,
    size_t errlen)
{
	int loaded = 0;

	if (tc->ca_file[0] != '\0' || tc->ca_path[0] != '\0') {
		const char *f = tc->ca_file[0] ? tc->ca_file : NULL;
		const char *p = tc->ca_path[0] ? tc->ca_path : NULL;
		if (!SSL_CTX_load_verify_locations(ctx, f, p)) {
			snprintf(err, errlen, "cannot load CA %s", f ? f : p);
			return -1;
		}
		return 0;
	}
	for (int i = 0; config_default_root_files[i] != NULL; i++)
		if (SSL_CTX_load_verify_locations(ctx, config_default_root_files[i], NULL))
			loaded++;
	ERR_clear_error();
	if (loaded == 0) {
		snprintf(err, errlen, "none of the default DigiCert roots found");
		return -1;
	}
	return 0;
}

static int
tls_ctx_load_crl(SSL_CTX *ctx, const char *file, char *err, size_t errlen)
{
	X509_STORE *st = SSL_CTX_get_cert_store(ctx);
	X509_LOOKUP *lk;

	if (file[0] == '\0')
		return 0;
	lk = X509_STORE_add_lookup(st, X509_LOOKUP_file());
	if (lk == NULL || X509_load_crl_file(lk, file, X509_FILETYPE_PEM) <= 0) {
		snprintf(err, errlen, "cannot load CRL %s", file);
		return -1;
	}
	/* Every CA of the chain, but see tls_crl_missing_ok(). */
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	X509_STORE_set_verify_cb(st, tls_verify_allow);
	return 0;
}

SSL_CTX *
tls_client_ctx_new(const struct config *cfg, const struct cfg_cloud *tc,
    char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	if (tls_ctx_policy(ctx, tc, err, errlen) < 0 ||
	    tls_ctx_load_roots(ctx, tc, err, errlen) < 0 ||
	    tls_ctx_load_crl(ctx, tc->crl_file, err, errlen) < 0)
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_verify_cb);
	SSL_CTX_set_verify_depth(ctx, 8);
	tls_keylog_attach(ctx, cfg);
	/* The client presents our chain too, for peers that ask (mutual). */
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_server.cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_server.key_file, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "cannot load certificate/key for the client side");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_server_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	/* One listener for every trunk: [cloud]'s policy. */
	if (tls_ctx_policy(ctx, &cfg->cloud, err, errlen) < 0)
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_server.cert_file) != 1) {
		snprintf(err, errlen, "cannot load cert_file %s", cfg->tls_server.cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_server.key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "key_file %s does not match cert_file",
		    cfg->tls_server.key_file);
		goto fail;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	tls_keylog_attach(ctx, cfg);
	SSL_CTX_set_num_tickets(ctx, 0);
	/* set_num_tickets() is TLS 1.3 only: no TLS 1.2 tickets either, so
	 * every handshake is a full one. With mutual on, a client resuming a
	 * 1.2 ticket was refused ("session id context uninitialized"). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (cfg->tls_server.mutual) {
		STACK_OF(X509_NAME) *names;
		if (!SSL_CTX_load_verify_locations(ctx, cfg->tls_server.client_ca_file, NULL)) {
			snprintf(err, errlen, "cannot load client_ca_file");
			goto fail;
		}
		names = SSL_load_client_CA_file(cfg->tls_server.client_ca_file);
		if (names != NULL)
			SSL_CTX_set_client_CA_list(ctx, names);
		if (tls_ctx_load_crl(ctx, cfg->cloud.crl_file, err, errlen) < 0)
			goto fail;
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, tls_verify_cb);
	}
	ERR_clear_error();
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

int
tls_client_setup(SSL *ssl, const char *name)
{
	if (!SSL_set_tlsext_host_name(ssl, name))
		return -1;
	/* Name only: SSL_set1_host never accepts an IP as a match. */
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (!SSL_set1_host(ssl, name))
		return -1;
	return 0;
}
