/*
 * doctor.h - `tlstrunk doctor -c FILE`: a pre-flight report of what the
 * cloud and the PBX will find wrong, one line per check:
 *
 *     ok|warn|fail  <check>: <detail>[; fix: <what to do>]
 *
 * Checks, in order:
 *   chain.*   our certificate ([tls_server] cert_file/key_file): the key
 *             matches (and is RSA: the cloud's suites are RSA-only), the
 *             chain is complete and in order, it ends at a root the cloud
 *             trusts (config/cloud_roots.h: matched by subject hash or by
 *             subject name, and the line says which), advertised_name is
 *             in the SAN/CN exactly, its extended key usage allows a TLS
 *             server (chain.purpose; clientAuth is not needed), days to
 *             notAfter (warn under 30).
 *   tls_server.mutual (when on): client_ca_file reads, its CAs can issue
 *             TLS certificates; what a client certificate needs (clientAuth
 *             is not required: tls.c, tls_peer_purpose_ok).
 *   cloud.*   [cloud] ciphers: a warning for each suite the cloud
 *             deprecated (config_cipher_deprecated); then every [cloud] host
 *             (with its [cloud] resolve override): resolves, TCP connects
 *             (5 s), TLS handshake with the exact client policy
 *             (tls_client_ctx_new), the chain verifies to the configured
 *             roots, the certificate's extended key usage (cloud.purpose:
 *             whether it has clientAuth), the name matches, days to expiry,
 *             an OPTIONS round trip over that connection.
 *   pbx.*, tls_server.listen, general.admin_listen, media.*: the
 *             listeners can bind, [pbx] allow is not 0.0.0.0/0 or ::/0,
 *             the media port range is large enough for [limits] max_calls
 *             (4 ports a call) and its ports are free.
 *
 * Testing only: the environment variable TLSTRUNK_DOCTOR_TRUST may name a
 * PEM file of extra roots that chain.root accepts as if the cloud trusted
 * them (the test PKI's root); the line says so.  Production never sets it.
 */
#ifndef TLSTRUNK_DOCTOR_H
#define TLSTRUNK_DOCTOR_H

#include <stdio.h>

#include "config.h"

#define DOCTOR_TRUST_ENV	"TLSTRUNK_DOCTOR_TRUST"

/*
 * Run every check against cfg (loaded by config_load; config_check_files
 * need not have passed: the doctor reports those problems as lines),
 * writing the report to out.  Blocking; takes up to a few seconds per
 * unreachable cloud host.  Returns the process exit status: 0 when no
 * check failed (warnings allowed), 1 otherwise.
 */
int doctor_run(const struct config *cfg, FILE *out);

#endif
