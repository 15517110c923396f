/* tls.h - OpenSSL contexts for the cloud leg, built once from config. */
#ifndef TLSTRUNK_TLS_H
#define TLSTRUNK_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

#include "config.h"

/* Client toward one trunk's proxies: its versions, suites, groups; peer
 * verified against its (or the default DigiCert) roots and by host name;
 * our certificate and the key log from cfg. */
SSL_CTX *tls_client_ctx_new(const struct config *cfg,
    const struct cfg_cloud *tc, char *err, size_t errlen);
/* Server for the cloud's connections: full chain, [cloud]'s policy. */
SSL_CTX *tls_server_ctx_new(const struct config *cfg, char *err, size_t errlen);

/* Per-connection setup: SNI and host-name check for a client. */
int tls_client_setup(SSL *ssl, const char *name);

/*
 * 1 when cert may serve a TLS peer as either a client's or a server's
 * certificate (is_ca: as a CA of such a chain).  Peer verification needs
 * no more: clientAuth is not required of a TLS client (the cloud's
 * certificates have serverAuth only since 2026-03).
 */
int tls_peer_purpose_ok(X509 *cert, int is_ca);

/* Describe why the last TLS operation failed (OpenSSL error queue). */
void tls_last_error(char *buf, size_t len);

/* Verify callback records its first failure here (via SSL app data). */
struct tls_verify_note {
	char text[256];
};

#endif
