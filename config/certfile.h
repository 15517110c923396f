/*
 * certfile.h - reading the PEM files a configuration names: certificates,
 * keys, their dates.  One implementation for `tlstrunk -t` (config.c),
 * the doctor and the running proxy.
 */
#ifndef TLSTRUNK_CERTFILE_H
#define TLSTRUNK_CERTFILE_H

#include <stddef.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

/* A PEM passphrase callback that refuses: never prompt for a key. */
int certfile_no_passphrase(char *buf, int size, int rwflag, void *u);
/* A regular file, opened for reading; NULL with why. */
BIO *certfile_open(const char *path, char *why, size_t len);
/* After a PEM read loop: 1 when it stopped at the end, 0 at garbage. */
int certfile_pem_clean_end(void);
/* Every certificate of a PEM file, in file order; NULL with why (none,
 * unreadable, or garbage after some). */
STACK_OF(X509) *certfile_read_certs(const char *path, char *why, size_t len);
/* "2031-05-04", or with the time "2031-05-04 12:00:00 UTC"; "?" when t
 * cannot be read. */
const char *certfile_date(const ASN1_TIME *t, int with_time, char *buf,
    size_t len);
/* t as a time_t, 0 when it cannot be read. */
time_t certfile_time(const ASN1_TIME *t);
/* The first certificate's notAfter, 0 when there is none. */
time_t certfile_not_after(const char *path);

#endif
