/*
 * cloud_roots.h - the roots the cloud trusts for *our* certificate (the
 * one tlstrunk's TLS server presents when the cloud calls the site), as
 * listed with their OpenSSL subject-name hashes in shared/spec/byoc-tls.md.
 * Used by `tlstrunk doctor` to say whether cert_file ends at one of them.
 *
 * The source table is imperfect and the data keeps it visible:
 * - two hashes are truncated there: GlobalSign Root E46 shows "413" (the
 *   real hash is feffd413) and GlobalSign Root CA - R3 shows "062cee6"
 *   (the real hash is 062cdee6, one digit dropped in the middle).  Such a
 *   row keeps the printed text in spec_hash, the full hash in hash, and has
 *   truncated set; a truncated text is never matched on its own.
 * - two Network Solutions roots (expiring Dec 2029 and Dec 2030) share one
 *   subject, hence one hash (4304c5e5): two rows.
 * - the table abbreviates some names ("Go Daddy Root CA - G2" is the root
 *   "Go Daddy Root Certificate Authority - G2"): name holds the spec's
 *   text, cn the certificate's subject CN where it differs.
 * - some old roots have no distinctive CN (GlobalSign R3..R6 are all
 *   "CN=GlobalSign", Go Daddy / Starfield Class 2 have no CN at all): for
 *   those, ou is the subject OU that names the root, and a name match
 *   requires it.
 * The vendor list also names Harica, IdenTrust and SSL.com without rows:
 * they are not in the table.
 */
#ifndef TLSTRUNK_CLOUD_ROOTS_H
#define TLSTRUNK_CLOUD_ROOTS_H

#include <stddef.h>
#include <openssl/x509.h>

struct cloud_root {
	const char *authority;	/* "Amazon Trust Services" */
	const char *name;	/* the spec's "Root common name" for this root */
	const char *cn;		/* subject CN when it differs from name, or
				 * NULL (same as name, or no CN at all: see ou) */
	const char *ou;		/* subject OU that must match too, or NULL */
	const char *spec_hash;	/* as printed in the spec ("413" when cut) */
	unsigned long hash;	/* full subject hash (X509_NAME_hash_ex) */
	int truncated;		/* spec_hash is not the full 8 hex digits */
};

/* How a root was matched (bit set). */
#define CLOUD_ROOT_BY_HASH	0x1
#define CLOUD_ROOT_BY_NAME	0x2

extern const struct cloud_root cloud_roots[];
extern const size_t cloud_roots_count;

/*
 * The row for a subject given as its hash and its CN / OU (either may be
 * NULL).  A hash match wins; otherwise a name match (case-insensitive:
 * the CN equals the row's cn or name, and the OU equals the row's ou when
 * the row has one; a generic "CN=GlobalSign" alone matches nothing).
 * *how (may be NULL) gets the CLOUD_ROOT_BY_* bits that agreed for the
 * returned row.  NULL when nothing matches.
 */
const struct cloud_root *cloud_root_find(unsigned long hash, const char *cn,
    const char *ou, int *how);

/* Same, from a certificate subject or issuer name. */
const struct cloud_root *cloud_root_match_name(const X509_NAME *name, int *how);

/* "subject hash", "subject name", "subject hash and name" or "none". */
const char *cloud_root_how_str(int how);

/* The subject hash as `openssl x509 -subject_hash` prints it. */
unsigned long cloud_root_name_hash(const X509_NAME *name);

#endif
