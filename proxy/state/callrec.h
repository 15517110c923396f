/*
 * callrec.h - one call as stored in Redis (issue 15): its dialog and its
 * media, written as text so that a record can be read with redis-cli and
 * checked field by field when it comes back.  Nothing read back is
 * trusted: callrec_decode() validates every field and says which one is
 * wrong.  Keys travel as a=crypto values (sdes_crypto_format/parse).
 */
#ifndef TLSTRUNK_CALLREC_H
#define TLSTRUNK_CALLREC_H

#include <stddef.h>
#include <stdint.h>

#include "dialog.h"
#include "media.h"

/* Bumped when the format changes: a record of another version is
 * skipped (a stale record from an older release, or a newer one). */
#define CALLREC_VERSION	1

/* The largest record callrec_decode() takes. */
#define CALLREC_MAX	16384

struct callrec {
	char node[64];			/* the instance that wrote it */
	uint64_t written_unix_ms;
	struct dialog_state d;		/* d.callid is the record's name */
	int have_media;
	struct media_state m;
	char *strings;			/* callrec_decode's: d's strings */
};

/*
 * r as text into *out (malloc'd, NUL-terminated, *len bytes without the
 * NUL).  The buffer holds keys: callrec_text_free() wipes and frees it.
 * 0 or -ENOMEM / -EINVAL (what callrec_decode would refuse: a key that
 * does not format, a field out of range (callrec_check says which), a
 * text over CALLREC_MAX).
 */
int callrec_encode(const struct callrec *r, char **out, size_t *len);
void callrec_text_free(char *text, size_t len);

/*
 * Parse and validate n bytes at p into r (zeroed first).  0, or -EINVAL
 * with why (a short reason naming the field) filled.  On success r owns
 * r->strings: callrec_free() wipes the keys and frees it.
 */
int callrec_decode(const char *p, size_t n, struct callrec *r, char *why,
    size_t whylen);
void callrec_free(struct callrec *r);

/* The checks callrec_decode makes of the values: 0, or -EINVAL with why
 * naming the field (callrec_encode refuses what fails them). */
int callrec_check(const struct callrec *r, char *why, size_t whylen);

/* 1 when a and b hold the same values in every field that is present
 * (the strings compared as text, keys with their tag, lifetime, WSH). */
int callrec_equal(const struct callrec *a, const struct callrec *b);

#endif
