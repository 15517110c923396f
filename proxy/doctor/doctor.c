/*
 * doctor.c - `tlstrunk doctor -c FILE`, the pre-flight report (doctor.h).
 * An offline command: blocking sockets, one check after the other, no
 * event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "certfile.h"
#include "cloud_roots.h"
#include "config.h"
#include "doctor.h"
#include "netaddr.h"
#include "resolver.h"
#include "tls.h"

#define DOC_TIMEOUT_MS	5000	/* connect, handshake, OPTIONS answer */
#define DOC_WARN_DAYS	CFG_CERT_WARN_DAYS	/* config.h */
#define DOC_MAX_ADDRS	8
#define DOC_DETAIL_MAX	2048

enum doc_level { DOC_OK, DOC_WARN, DOC_FAIL };

struct doc {
	FILE *out;
	int nfail;
};

static const char *const doc_level_str[] = { "ok", "warn", "fail" };

static void report(struct doc *d, enum doc_level lv, const char *check,
    const char *fix, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* One line: "LEVEL  CHECK: DETAIL[; fix: FIX]". */
static void
report(struct doc *d, enum doc_level lv, const char *check, const char *fix,
    const char *fmt, ...)
{
	char detail[DOC_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	/* Keep a line a line, whatever a peer put in its certificate. */
	for (char *p = detail; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(d->out, "%-4s  %s: %s", doc_level_str[lv], check, detail);
	if (fix != NULL && lv != DOC_OK)
		fprintf(d->out, "; fix: %s", fix);
	fputc('\n', d->out);
	fflush(d->out);
	if (lv == DOC_FAIL)
		d->nfail++;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- certificates ---------------------------------------------------- */

/* The CN of a name, or the whole name when it has none. */
static const char *
name_label(const X509_NAME *n, char *buf, size_t len)
{
	if (X509_NAME_get_text_by_NID((X509_NAME *)n, NID_commonName, buf,
	    (int)len) > 0)
		return buf;
	X509_NAME_oneline(n, buf, (int)len);
	return buf;
}

static const char *
subject_label(const X509 *x, char *buf, size_t len)
{
	return name_label(X509_get_subject_name(x), buf, len);
}

static const char *
issuer_label(const X509 *x, char *buf, size_t len)
{
	return name_label(X509_get_issuer_name(x), buf, len);
}

static int
self_signed(X509 *x)
{
	return X509_check_issued(x, x) == X509_V_OK;
}

/* Whole days from now to t (negative when past). */
static int
days_to(const ASN1_TIME *t)
{
	int days = 0, secs = 0;

	if (!ASN1_TIME_diff(&days, &secs, NULL, t))
		return 0;
	if (days == 0 && secs < 0)
		return -1;
	return days;
}

/* The DNS names of a certificate, ", "-joined, then its CN. */
static void
cert_names(X509 *x, char *buf, size_t len)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	char cn[256];
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_IA5STRING *s;
		int w;
		if (g->type == GEN_DNS) {
			s = g->d.dNSName;
			w = snprintf(buf + off, len - off, "%sDNS:%.*s",
			    off ? ", " : "", ASN1_STRING_length(s),
			    (const char *)ASN1_STRING_get0_data(s));
		} else if (g->type == GEN_IPADD) {
			w = snprintf(buf + off, len - off, "%sIP:(address)",
			    off ? ", " : "");
		} else {
			continue;
		}
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
	GENERAL_NAMES_free(gens);
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    cn, sizeof(cn)) > 0 && off < len)
		snprintf(buf + off, len - off, "%sCN=%s", off ? ", " : "", cn);
	if (buf[0] == '\0')
		snprintf(buf, len, "(none)");
}

/* DNS SAN entries: count, and whether one equals name exactly. */
static int
san_dns(X509 *x, const char *name, int *exact)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int n = 0;

	*exact = 0;
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		n++;
		if ((size_t)ASN1_STRING_length(g->d.dNSName) == strlen(name) &&
		    strncasecmp((const char *)ASN1_STRING_get0_data(g->d.dNSName),
		    name, strlen(name)) == 0)
			*exact = 1;
	}
	GENERAL_NAMES_free(gens);
	return n;
}

/*
 * The TLS purposes x's extended key usage lists ("serverAuth, clientAuth"),
 * or that it has none (any purpose).
 */
static const char *
eku_str(X509 *x, char *buf, size_t len)
{
	uint32_t xku = X509_get_extended_key_usage(x);

	ERR_clear_error();
	if (xku == UINT32_MAX) {
		snprintf(buf, len, "no extended key usage (any purpose)");
		return buf;
	}
	snprintf(buf, len, "extended key usage %s%s%s%s",
	    xku & XKU_SSL_SERVER ? "serverAuth" : "",
	    (xku & XKU_SSL_SERVER) && (xku & XKU_SSL_CLIENT) ? ", " : "",
	    xku & XKU_SSL_CLIENT ? "clientAuth" : "",
	    xku & (XKU_SSL_SERVER | XKU_SSL_CLIENT) ? "" :
	    "without serverAuth or clientAuth");
	return buf;
}

static int
eku_has(X509 *x, uint32_t flag)
{
	uint32_t xku = X509_get_extended_key_usage(x);

	ERR_clear_error();
	return xku == UINT32_MAX || (xku & flag) != 0;
}

/* ---- our chain --------------------------------------------------------- */

enum root_src { SRC_NONE, SRC_CLOUD, SRC_EXTRA, SRC_SYSTEM };

struct chain_ctx {
	const struct config *cfg;
	STACK_OF(X509) *certs;		/* cert_file, file order */
	STACK_OF(X509) *extra;		/* TLSTRUNK_DOCTOR_TRUST, or NULL */
	const char *extra_path;
	X509_STORE *sys;		/* the system store, for names only */
};

/* A self-signed certificate from the system store issuing x, or NULL. */
static X509 *
system_root_for(struct chain_ctx *c, X509 *x)
{
	X509_STORE_CTX *xs;
	X509 *iss = NULL;

	if (c->sys == NULL || (xs = X509_STORE_CTX_new()) == NULL)
		return NULL;
	if (X509_STORE_CTX_init(xs, c->sys, x, NULL) == 1 &&
	    X509_STORE_CTX_get1_issuer(&iss, xs, x) == 1 && !self_signed(iss)) {
		X509_free(iss);
		iss = NULL;
	}
	X509_STORE_CTX_free(xs);
	ERR_clear_error();
	return iss;
}

/*
 * Is x's issuer a root we know of (and where from)?  *root gets the
 * root certificate when one is at hand (extra trust or system store),
 * for a signature check; the caller frees it.
 */
static enum root_src
known_root_for(struct chain_ctx *c, X509 *x, X509 **root)
{
	*root = NULL;
	for (int i = 0; c->extra != NULL && i < sk_X509_num(c->extra); i++) {
		X509 *e = sk_X509_value(c->extra, i);
		if (X509_check_issued(e, x) == X509_V_OK) {
			X509_up_ref(e);
			*root = e;
			return SRC_EXTRA;
		}
	}
	if ((*root = system_root_for(c, x)) != NULL)
		return cloud_root_match_name(X509_get_issuer_name(x), NULL) ?
		    SRC_CLOUD : SRC_SYSTEM;
	if (cloud_root_match_name(X509_get_issuer_name(x), NULL) != NULL)
		return SRC_CLOUD;
	return SRC_NONE;
}

static void
doctor_key(struct doc *d, struct chain_ctx *c, X509 *leaf)
{
	const char *path = c->cfg->tls_server.key_file;
	EVP_PKEY *key = NULL;
	char lbl[256];
	BIO *b;
	int bits, open_err = 0;

	if ((b = BIO_new_file(path, "r")) != NULL) {
		key = PEM_read_bio_PrivateKey(b, NULL, certfile_no_passphrase, NULL);
		BIO_free(b);
	} else {
		open_err = errno ? errno : ENOENT;
	}
	ERR_clear_error();
	if (key == NULL) {
		report(d, DOC_FAIL, "chain.key", "point [tls_server] key_file "
		    "at the unencrypted PEM key of cert_file",
		    "cannot read a PEM private key from %s%s%s", path,
		    open_err ? ": " : " (encrypted keys are not supported)",
		    open_err ? strerror(open_err) : "");
		return;
	}
	bits = EVP_PKEY_get_bits(key);
	if (X509_check_private_key(leaf, key) != 1) {
		report(d, DOC_FAIL, "chain.key", "use the key the certificate "
		    "was issued for (compare `openssl x509 -noout -pubkey -in "
		    "CERT` with `openssl pkey -pubout -in KEY`)",
		    "key_file %s does not match the certificate '%s' at the "
		    "head of cert_file %s", path,
		    subject_label(leaf, lbl, sizeof(lbl)),
		    c->cfg->tls_server.cert_file);
	} else if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		report(d, DOC_FAIL, "chain.key", "get an RSA certificate (2048 "
		    "bits or more)", "the key is %s, but every suite the cloud "
		    "accepts is RSA (ECDHE-RSA or RSA key exchange)",
		    EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) :
		    OBJ_nid2sn(EVP_PKEY_get_base_id(key)));
	} else if (bits < 2048) {
		report(d, DOC_WARN, "chain.key", "get a 2048-bit or larger "
		    "RSA key", "key_file matches cert_file, but RSA %d bits is "
		    "weak", bits);
	} else {
		report(d, DOC_OK, "chain.key", NULL, "key_file matches cert_file "
		    "(RSA %d bits)", bits);
	}
	ERR_clear_error();
	EVP_PKEY_free(key);
}

/*
 * The chain: the leaf first, each certificate issued by the next,
 * signatures included.  Returns 1 when complete, with *last_out the last
 * certificate of the chain (the caller then checks the root), 0 when not.
 */
static int
doctor_order(struct doc *d, struct chain_ctx *c, X509 **last_out)
{
	static const char fix_order[] = "order cert_file leaf first, then "
	    "the certificate that issued it, and so on up to (optionally) the root";
	static const char fix_missing[] = "append every intermediate "
	    "certificate after the leaf in cert_file (your CA's chain or bundle "
	    "file): the cloud does not fetch missing intermediates";
	int n = sk_X509_num(c->certs), used = n;
	char path[DOC_DETAIL_MAX / 2] = "", desc[DOC_DETAIL_MAX / 2 + 64];
	char a[256], b[256];
	X509 *root = NULL, *last;
	enum root_src src;
	size_t off = 0;

	/* The server sends the first certificate as its own: the leaf. */
	for (int j = 1; j < n; j++) {
		X509 *x = sk_X509_value(c->certs, j);
		if (!self_signed(x) && X509_check_issued(sk_X509_value(c->certs,
		    0), x) == X509_V_OK) {
			report(d, DOC_FAIL, "chain.order", fix_order,
			    "certificate 1 ('%s') issued certificate %d ('%s'): "
			    "the end-entity certificate must come first",
			    subject_label(sk_X509_value(c->certs, 0), a,
			    sizeof(a)), j + 1, subject_label(x, b, sizeof(b)));
			return 0;
		}
	}
	for (int i = 0; i < n - 1; i++) {
		X509 *x = sk_X509_value(c->certs, i);
		X509 *nx = sk_X509_value(c->certs, i + 1);
		if (X509_check_issued(nx, x) == X509_V_OK) {
			if (X509_verify(x, X509_get0_pubkey(nx)) != 1) {
				ERR_clear_error();
				report(d, DOC_FAIL, "chain.order", "use the "
				    "intermediate that actually issued the "
				    "certificate before it", "certificate %d "
				    "('%s') names certificate %d ('%s') as its "
				    "issuer, but that key does not verify its "
				    "signature", i + 1, subject_label(x, a,
				    sizeof(a)), i + 2, subject_label(nx, b,
				    sizeof(b)));
				return 0;
			}
			continue;
		}
		for (int j = 0; j < n; j++) {
			if (j != i && j != i + 1 && X509_check_issued(
			    sk_X509_value(c->certs, j), x) == X509_V_OK) {
				report(d, DOC_FAIL, "chain.order", fix_order,
				    "certificate %d ('%s') is not issued by "
				    "the next one ('%s') but by certificate %d",
				    i + 1, subject_label(x, a, sizeof(a)),
				    subject_label(nx, b, sizeof(b)), j + 1);
				return 0;
			}
		}
		if (self_signed(x) || known_root_for(c, x, &root) != SRC_NONE) {
			/* Complete at i; what follows is not part of it. */
			X509_free(root);
			root = NULL;
			used = i + 1;
			break;
		}
		report(d, DOC_FAIL, "chain.complete", fix_missing,
		    "certificate %d ('%s') is issued by '%s', which is neither "
		    "the next certificate ('%s') nor a known root", i + 1,
		    subject_label(x, a, sizeof(a)), issuer_label(x, b,
		    sizeof(b)), subject_label(nx, path, sizeof(path)));
		return 0;
	}
	for (int i = 0; i < used; i++) {
		int w = snprintf(path + off, sizeof(path) - off, "%s'%s'",
		    i ? " <- " : "", subject_label(sk_X509_value(c->certs, i),
		    a, sizeof(a)));
		if (w < 0 || (size_t)w >= sizeof(path) - off)
			break;
		off += (size_t)w;
	}
	if (used == 1)
		snprintf(desc, sizeof(desc), "1 certificate, %s", path);
	else
		snprintf(desc, sizeof(desc), "%d certificates, each issued by "
		    "the next: %s", used, path);
	last = sk_X509_value(c->certs, used - 1);
	*last_out = last;
	if (used < n)
		report(d, DOC_WARN, "chain.extra", "remove the certificates "
		    "that are not part of the chain", "certificate(s) %d..%d "
		    "of cert_file are not part of the chain", used + 1, n);
	if (used == 1 && self_signed(last)) {
		report(d, DOC_OK, "chain.complete", NULL, "%s is self-signed: "
		    "a chain of one, no CA issued it (see chain.root)", path);
		return 1;
	}
	if (self_signed(last)) {
		report(d, DOC_OK, "chain.complete", NULL, "%s; ends at the "
		    "self-signed root (sending the root is allowed, not needed)",
		    desc);
		return 1;
	}
	src = known_root_for(c, last, &root);
	if (root != NULL && X509_verify(last, X509_get0_pubkey(root)) != 1) {
		ERR_clear_error();
		report(d, DOC_FAIL, "chain.complete", fix_missing, "%s: '%s' "
		    "names '%s' as its issuer, but that root's key does not "
		    "verify its signature (a different CA of the same name)",
		    path, subject_label(last, a, sizeof(a)),
		    issuer_label(last, b, sizeof(b)));
		X509_free(root);
		return 0;
	}
	X509_free(root);
	if (src != SRC_NONE) {
		report(d, DOC_OK, "chain.complete", NULL, "%s; %s issued by "
		    "the root '%s' (known from %s; peers must have it in their "
		    "trust store, it need not be sent)", desc,
		    used == 1 ? "it is" : "the last is",
		    issuer_label(last, b, sizeof(b)),
		    src == SRC_CLOUD ? "the cloud's root list" :
		    src == SRC_EXTRA ? DOCTOR_TRUST_ENV : "the system store");
		return 1;
	}
	if (used > 1 && X509_check_ca(last) > 0) {
		/* Leaf + intermediates, issuer unknown here: judged by root. */
		report(d, DOC_OK, "chain.complete", NULL, "%s; the last is "
		    "issued by '%s', which must be a root in the peer's trust "
		    "store (see chain.root)", desc, issuer_label(last, b,
		    sizeof(b)));
		return 1;
	}
	report(d, DOC_FAIL, "chain.complete", fix_missing, "%s is issued by "
	    "'%s', which is neither in cert_file nor a known root: the chain "
	    "is missing its intermediate(s)", path,
	    issuer_label(last, b, sizeof(b)));
	return 0;
}

/*
 * A root of that name in the system store: does it really anchor the
 * chain (same certificate or key when self-signed, else its signature on
 * last)?  1 yes, 0 no copy to check against, -1 copies but none does:
 * a private CA named like a public root.
 */
static int
system_confirms(struct chain_ctx *c, const X509_NAME *anchor, X509 *last)
{
	X509_STORE_CTX *xs;
	STACK_OF(X509) *cands = NULL;
	int rc = 0;

	if (c->sys == NULL || (xs = X509_STORE_CTX_new()) == NULL)
		return 0;
	if (X509_STORE_CTX_init(xs, c->sys, NULL, NULL) == 1)
		cands = X509_STORE_CTX_get1_certs(xs, (X509_NAME *)anchor);
	for (int i = 0; cands != NULL && i < sk_X509_num(cands); i++) {
		X509 *r = sk_X509_value(cands, i);
		if (self_signed(last) ? EVP_PKEY_eq(X509_get0_pubkey(r),
		    X509_get0_pubkey(last)) == 1 :
		    X509_verify(last, X509_get0_pubkey(r)) == 1) {
			rc = 1;
			break;
		}
		rc = -1;
	}
	sk_X509_pop_free(cands, X509_free);
	X509_STORE_CTX_free(xs);
	ERR_clear_error();
	return rc;
}

/* Does the chain end at a root the cloud trusts?  Which, and how? */
static void
doctor_root(struct doc *d, struct chain_ctx *c, X509 *last)
{
	const X509_NAME *anchor = self_signed(last) ?
	    X509_get_subject_name(last) : X509_get_issuer_name(last);
	unsigned long h = cloud_root_name_hash(anchor);
	const struct cloud_root *r;
	char a[256];
	int how = 0;

	name_label(anchor, a, sizeof(a));
	if ((r = cloud_root_match_name(anchor, &how)) != NULL) {
		int sys = system_confirms(c, anchor, last);
		if (sys < 0) {
			report(d, DOC_FAIL, "chain.root", "use a certificate "
			    "issued under the real public root", "ends at a CA "
			    "named '%s' (subject hash %08lx, matched by %s), but "
			    "the system's copy of %s (%s) did not issue it: a "
			    "private CA with a public root's name", a, h,
			    cloud_root_how_str(how), r->name, r->authority);
			return;
		}
		report(d, DOC_OK, "chain.root", NULL, "ends at '%s' (%s, subject "
		    "hash %08lx), a root the cloud trusts: matched by %s%s%s%s; "
		    "%s", r->name, r->authority, h, cloud_root_how_str(how),
		    r->truncated ? " (the spec prints this hash cut as " : "",
		    r->truncated ? r->spec_hash : "", r->truncated ? ")" : "",
		    sys > 0 ? "signature checked against the system's copy" :
		    "no copy in the system store to check the signature against");
		return;
	}
	for (int i = 0; c->extra != NULL && i < sk_X509_num(c->extra); i++) {
		X509 *e = sk_X509_value(c->extra, i);
		if (X509_NAME_cmp(X509_get_subject_name(e), anchor) == 0) {
			report(d, DOC_OK, "chain.root", NULL, "ends at '%s' "
			    "(subject hash %08lx), trusted through %s=%s: for "
			    "testing only, not one of the %zu roots the cloud "
			    "trusts", a, h, DOCTOR_TRUST_ENV, c->extra_path,
			    cloud_roots_count);
			return;
		}
	}
	report(d, DOC_FAIL, "chain.root", "use a certificate from one of the "
	    "CAs the cloud trusts (DigiCert, Sectigo, GlobalSign, Let's "
	    "Encrypt/ISRG, Amazon, Entrust, GoDaddy, ...; see the root list "
	    "in byoc-tls.md)", "ends at '%s' (subject hash %08lx), which is not "
	    "one of the %zu roots the cloud trusts (no match by subject hash "
	    "or name)%s", a, h, cloud_roots_count,
	    self_signed(last) ? "" : "; if it is an intermediate, append it "
	    "to cert_file");
}

static void
doctor_name(struct doc *d, X509 *leaf, const char *name)
{
	static const char fix[] = "set [tls_server] advertised_name to the "
	    "name on the certificate (and on the cloud trunk), or get a "
	    "certificate whose subjectAltName has exactly that name";
	char names[1024], cn[256] = "";
	int exact, ndns;

	cert_names(leaf, names, sizeof(names));
	if (netaddr_is_ip(name)) {
		report(d, DOC_FAIL, "chain.name", "give the cloud trunk a host "
		    "name and put it in the certificate", "advertised_name "
		    "\"%s\" is an IP address: the cloud checks a host name",
		    name);
		return;
	}
	if (strchr(name, '_') != NULL || strchr(name, '*') != NULL ||
	    !netaddr_is_hostname(name)) {
		report(d, DOC_FAIL, "chain.name", fix, "advertised_name \"%s\" "
		    "is not a host name a public CA issues (no '_', no '*')",
		    name);
		return;
	}
	ndns = san_dns(leaf, name, &exact);
	X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName,
	    cn, sizeof(cn));
	if (exact) {
		report(d, DOC_OK, "chain.name", NULL, "advertised_name %s is in "
		    "the subjectAltName (certificate names: %s)", name, names);
	} else if (ndns == 0 && strcasecmp(cn, name) == 0) {
		report(d, DOC_OK, "chain.name", NULL, "advertised_name %s is the "
		    "subject CN (the certificate has no DNS subjectAltName)",
		    name);
	} else if (strcasecmp(cn, name) == 0) {
		report(d, DOC_FAIL, "chain.name", fix, "advertised_name %s is "
		    "only the subject CN; the certificate has DNS "
		    "subjectAltNames (%s), so clients ignore the CN", name,
		    names);
	} else if (X509_check_host(leaf, name, 0, 0, NULL) == 1) {
		ERR_clear_error();
		report(d, DOC_FAIL, "chain.name", fix, "advertised_name %s "
		    "matches only through a wildcard (%s): the cloud does not "
		    "rely on wildcards", name, names);
	} else {
		ERR_clear_error();
		report(d, DOC_FAIL, "chain.name", fix, "advertised_name %s is "
		    "not in the certificate (names: %s)", name, names);
	}
}

static void
doctor_expiry(struct doc *d, struct chain_ctx *c, int n)
{
	static const char fix[] = "renew the certificate and replace "
	    "cert_file/key_file, then reload (SIGHUP): calls are not dropped";
	X509 *leaf = sk_X509_value(c->certs, 0);
	int days = days_to(X509_get0_notAfter(leaf)), worst = days, wi = 0;
	char when[32], lbl[256];

	if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
		report(d, DOC_FAIL, "chain.expiry", "check the clock, or wait "
		    "until the certificate is valid", "'%s' is not valid before "
		    "%s", subject_label(leaf, lbl, sizeof(lbl)),
		    certfile_date(X509_get0_notBefore(leaf), 0, when, sizeof(when)));
		return;
	}
	/* An intermediate may run out before the leaf does. */
	for (int i = 1; i < n; i++) {
		int dd = days_to(X509_get0_notAfter(sk_X509_value(c->certs, i)));
		if (dd < worst) {
			worst = dd;
			wi = i;
		}
	}
	if (X509_cmp_current_time(X509_get0_notAfter(
	    sk_X509_value(c->certs, wi))) <= 0) {
		report(d, DOC_FAIL, "chain.expiry", fix, "'%s' expired on %s",
		    subject_label(sk_X509_value(c->certs, wi), lbl, sizeof(lbl)),
		    certfile_date(X509_get0_notAfter(sk_X509_value(c->certs, wi)),
		    0, when, sizeof(when)));
	} else if (worst < DOC_WARN_DAYS) {
		report(d, DOC_WARN, "chain.expiry", fix, "'%s' expires in %d "
		    "day(s), on %s (warning from %d days)",
		    subject_label(sk_X509_value(c->certs, wi), lbl, sizeof(lbl)),
		    worst, certfile_date(X509_get0_notAfter(sk_X509_value(c->certs,
		    wi)), 0, when, sizeof(when)), DOC_WARN_DAYS);
	} else {
		report(d, DOC_OK, "chain.expiry", NULL, "%d days to notAfter "
		    "(%s)%s", days, certfile_date(X509_get0_notAfter(leaf), 0, when,
		    sizeof(when)), wi ? "; an intermediate expires sooner, "
		    "still more than 30 days away" : "");
	}
}

/*
 * The cloud checks our certificate as a TLS server's: serverAuth (or no
 * EKU at all).  clientAuth, which public CAs no longer issue, is not
 * needed: the cloud never asks us for a client certificate.
 */
static void
doctor_purpose(struct doc *d, X509 *leaf)
{
	char eku[128], lbl[256];

	eku_str(leaf, eku, sizeof(eku));
	if (!eku_has(leaf, XKU_SSL_SERVER)) {
		report(d, DOC_FAIL, "chain.purpose", "get a certificate with "
		    "the serverAuth extended key usage (TLS server)", "'%s' has "
		    "%s: the cloud refuses it as a TLS server's certificate",
		    subject_label(leaf, lbl, sizeof(lbl)), eku);
		return;
	}
	report(d, DOC_OK, "chain.purpose", NULL, "%s; serverAuth is what the "
	    "cloud checks, clientAuth %s (the cloud asks for no client "
	    "certificate)", eku, eku_has(leaf, XKU_SSL_CLIENT) ?
	    "is there but not needed" : "is absent and not needed");
}

/*
 * [tls_server] mutual: what a client certificate must be.  The purpose
 * rule is tls.c's (tls_peer_purpose_ok): a CA in client_ca_file that
 * cannot issue TLS certificates at all makes every client under it fail.
 */
static void
doctor_mutual(struct doc *d, const struct config *cfg)
{
	const char *path = cfg->tls_server.client_ca_file;
	STACK_OF(X509) *cas;
	char why[PATH_MAX + 256], names[512] = "", lbl[256];
	size_t off = 0;
	int n, bad = -1;

	if (!cfg->tls_server.mutual)
		return;
	if ((cas = certfile_read_certs(path, why, sizeof(why))) == NULL) {
		report(d, DOC_FAIL, "tls_server.mutual", "point [tls_server] "
		    "client_ca_file at the PEM CAs of the client certificates",
		    "client_ca_file: %s", why);
		return;
	}
	n = sk_X509_num(cas);
	for (int i = 0; i < n; i++) {
		X509 *ca = sk_X509_value(cas, i);
		int w = snprintf(names + off, sizeof(names) - off, "%s'%s'",
		    i ? ", " : "", subject_label(ca, lbl, sizeof(lbl)));
		if (w > 0 && (size_t)w < sizeof(names) - off)
			off += (size_t)w;
		if (bad < 0 && !tls_peer_purpose_ok(ca, 1))
			bad = i;
	}
	ERR_clear_error();
	if (bad >= 0)
		report(d, DOC_WARN, "tls_server.mutual", "use CAs without an "
		    "extended key usage, or with serverAuth or clientAuth",
		    "client_ca_file %s: '%s' cannot issue TLS certificates (%s): "
		    "clients under it are refused", path, subject_label(
		    sk_X509_value(cas, bad), lbl, sizeof(lbl)), eku_str(
		    sk_X509_value(cas, bad), why, sizeof(why)));
	else
		report(d, DOC_OK, "tls_server.mutual", NULL, "on: a client "
		    "certificate must chain to client_ca_file %s (%d CA(s): "
		    "%s), be within its dates%s; client certificate purpose: "
		    "serverAuth or clientAuth, clientAuth not required (the "
		    "cloud's certificates have serverAuth only since 2026-03)",
		    path, n, names, cfg->cloud.crl_file[0] ? " and not revoked "
		    "([cloud] crl_file)" : " (no [cloud] crl_file: no "
		    "revocation check)");
	sk_X509_pop_free(cas, X509_free);
}

static void
doctor_chain(struct doc *d, const struct config *cfg)
{
	struct chain_ctx c;
	char why[PATH_MAX + 256];
	X509 *last = NULL;
	const char *env = getenv(DOCTOR_TRUST_ENV);

	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	if (env != NULL && env[0] != '\0') {
		c.extra_path = env;
		if ((c.extra = certfile_read_certs(env, why, sizeof(why))) == NULL)
			report(d, DOC_FAIL, "doctor.trust", "unset "
			    DOCTOR_TRUST_ENV " or point it at a PEM file",
			    "%s: %s", DOCTOR_TRUST_ENV, why);
	}
	if ((c.sys = X509_STORE_new()) != NULL &&
	    X509_STORE_set_default_paths(c.sys) != 1) {
		X509_STORE_free(c.sys);
		c.sys = NULL;
	}
	ERR_clear_error();
	if ((c.certs = certfile_read_certs(cfg->tls_server.cert_file, why,
	    sizeof(why))) == NULL) {
		report(d, DOC_FAIL, "chain.file", "point [tls_server] cert_file "
		    "at the PEM chain: the certificate, then every intermediate",
		    "%s", why);
		goto done;
	}
	doctor_key(d, &c, sk_X509_value(c.certs, 0));
	if (doctor_order(d, &c, &last) && last != NULL)
		doctor_root(d, &c, last);
	doctor_name(d, sk_X509_value(c.certs, 0), cfg->tls_server.advertised_name);
	doctor_purpose(d, sk_X509_value(c.certs, 0));
	doctor_expiry(d, &c, sk_X509_num(c.certs));
done:
	sk_X509_pop_free(c.certs, X509_free);
	sk_X509_pop_free(c.extra, X509_free);
	X509_STORE_free(c.sys);
	ERR_clear_error();
}

/* ---- the cloud ------------------------------------------------------------ */

struct addr_list {
	struct sockaddr_storage ss[DOC_MAX_ADDRS];
	socklen_t len[DOC_MAX_ADDRS];
	int n;
};

static void
set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* [cloud] resolve first, then the resolver.  0, or -1 with why. */
static int
cloud_resolve(const struct config *cfg, const char *host, struct addr_list *al,
    int *pinned, char *why, size_t len)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	int r;

	al->n = 0;
	*pinned = 0;
	for (int i = 0; i < cfg->cloud.nresolve; i++) {
		if (strcasecmp(cfg->cloud.resolve[i].name, host) != 0 ||
		    al->n == DOC_MAX_ADDRS)
			continue;
		memcpy(&al->ss[al->n], &cfg->cloud.resolve[i].ss,
		    sizeof(al->ss[0]));
		al->len[al->n] = cfg->cloud.resolve[i].sslen;
		set_port(&al->ss[al->n], cfg->cloud.port);
		al->n++;
	}
	if (al->n > 0) {
		*pinned = 1;
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%u", cfg->cloud.port);
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(why, len, "%s", r == EAI_SYSTEM ? strerror(errno) :
		    gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL && al->n < DOC_MAX_ADDRS; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(al->ss[0]))
			continue;
		memcpy(&al->ss[al->n], ai->ai_addr, ai->ai_addrlen);
		al->len[al->n++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	if (al->n == 0) {
		snprintf(why, len, "no address");
		return -1;
	}
	return 0;
}

/* Connect within timeout_ms; a blocking fd with I/O timeouts, or -1. */
static int
connect_timeout(const struct sockaddr *sa, socklen_t len, int timeout_ms,
    char *why, size_t wlen)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct pollfd pfd;
	socklen_t elen = sizeof(int);
	int fd, fl, err = 0, r;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(why, wlen, "socket: %s", strerror(errno));
		return -1;
	}
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (connect(fd, sa, len) == -1) {
		if (errno != EINPROGRESS) {
			err = errno;
			goto fail;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			r = poll(&pfd, 1, timeout_ms);
		while (r == -1 && errno == EINTR);
		if (r == 0) {
			snprintf(why, wlen, "no answer within %d s (dropped by a "
			    "firewall?)", timeout_ms / 1000);
			close(fd);
			return -1;
		}
		if (r == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
		    &elen) == -1)
			err = errno;
		if (err != 0)
			goto fail;
	}
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
fail:
	snprintf(why, wlen, "%s", strerror(err));
	close(fd);
	return -1;
}

/*
 * Verify the peer's chain against the client context's store, as the
 * handshake did, but without the host name and the dates (those have
 * their own lines): does it chain to the configured roots?
 */
static void
cloud_verify(struct doc *d, SSL_CTX *ctx, STACK_OF(X509) *peer,
    const char *check, const char *roots)
{
	X509_STORE_CTX *xs = X509_STORE_CTX_new();
	X509 *leaf = sk_X509_value(peer, 0);
	STACK_OF(X509) *built;
	char path[1024] = "", a[256];
	size_t off = 0;
	int ok;

	if (xs == NULL || X509_STORE_CTX_init(xs, SSL_CTX_get_cert_store(ctx),
	    leaf, peer) != 1) {
		report(d, DOC_FAIL, check, NULL, "cannot set up verification");
		X509_STORE_CTX_free(xs);
		return;
	}
	X509_STORE_CTX_set_purpose(xs, X509_PURPOSE_SSL_SERVER);
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(xs),
	    X509_V_FLAG_NO_CHECK_TIME);
	ok = X509_verify_cert(xs);
	if (ok == 1) {
		built = X509_STORE_CTX_get0_chain(xs);
		for (int i = 0; i < sk_X509_num(built); i++) {
			int w = snprintf(path + off, sizeof(path) - off, "%s'%s'",
			    i ? " <- " : "", subject_label(sk_X509_value(built,
			    i), a, sizeof(a)));
			if (w < 0 || (size_t)w >= sizeof(path) - off)
				break;
			off += (size_t)w;
		}
		report(d, DOC_OK, check, NULL, "chain verifies to %s: %s", roots,
		    path);
	} else {
		int e = X509_STORE_CTX_get_error(xs);
		X509 *at = X509_STORE_CTX_get_current_cert(xs);
		report(d, DOC_FAIL, check, "the proxy must send its intermediates "
		    "and chain to a root in [cloud] ca_file/ca_path (by default "
		    "DigiCert High Assurance EV, Global Root G2 and G3)",
		    "chain does not verify to %s: %s (depth %d, '%s')", roots,
		    X509_verify_cert_error_string(e),
		    X509_STORE_CTX_get_error_depth(xs),
		    at ? subject_label(at, a, sizeof(a)) : "?");
	}
	X509_STORE_CTX_free(xs);
	ERR_clear_error();
}

/*
 * Whether the cloud's certificate has clientAuth: it has not since
 * 2026-03, and nothing here depends on it (tls.c, tls_peer_purpose_ok).
 */
static void
cloud_purpose(struct doc *d, X509 *leaf, int mutual, const char *check)
{
	char eku[128];

	report(d, DOC_OK, check, NULL, "%s%s; clientAuth not required of the "
	    "cloud as a TLS client (%s)", eku_str(leaf, eku, sizeof(eku)),
	    eku_has(leaf, XKU_SSL_CLIENT) ? "" : " (no clientAuth, as the "
	    "cloud's certificates since 2026-03)", mutual ? "mutual on: "
	    "serverAuth or clientAuth accepted" : "mutual off: no client "
	    "certificate asked");
}

static void
cloud_name(struct doc *d, X509 *leaf, const char *host, const char *check)
{
	char names[1024], *peername = NULL;

	cert_names(leaf, names, sizeof(names));
	/* The handshake's own rule (tls_client_setup): no partial wildcards,
	 * never an IP. */
	if (X509_check_host(leaf, host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
	    &peername) == 1) {
		report(d, DOC_OK, check, NULL, "%s matches the certificate "
		    "(%s; matched %s)", host, names, peername);
	} else {
		report(d, DOC_FAIL, check, "list in [cloud] hosts the names on "
		    "the proxies' certificates (lb0N.voice.<region>.pure.cloud); "
		    "pin addresses with [cloud] resolve = name=ip, never by "
		    "using the IP as the host", "the certificate is for %s, not "
		    "%s", names, host);
	}
	OPENSSL_free(peername);
	ERR_clear_error();
}

static void
cloud_expiry(struct doc *d, X509 *leaf, const char *check)
{
	char when[32];
	int days = days_to(X509_get0_notAfter(leaf));

	certfile_date(X509_get0_notAfter(leaf), 0, when, sizeof(when));
	if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0)
		report(d, DOC_FAIL, check, "check this host's clock", "the "
		    "proxy's certificate is not valid before %s",
		    certfile_date(X509_get0_notBefore(leaf), 0, when, sizeof(when)));
	else if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0)
		report(d, DOC_FAIL, check, "check this host's clock; otherwise "
		    "the proxy's operator must renew it", "the proxy's "
		    "certificate expired on %s", when);
	else if (days < DOC_WARN_DAYS)
		report(d, DOC_WARN, check, "nothing on this side (the cloud "
		    "rotates its certificates); trust roots, never pin the "
		    "certificate", "the proxy's certificate expires in %d "
		    "day(s), on %s", days, when);
	else
		report(d, DOC_OK, check, NULL, "%d days to notAfter (%s)", days,
		    when);
}

/*
 * OPTIONS over the verified connection; the status line of the answer
 * and the round trip in *rtt.  0, or -1 with why.
 */
static int
cloud_options(SSL *ssl, int fd, const struct config *cfg, const char *host,
    char *status, size_t slen, double *rtt, char *why, size_t wlen)
{
	char req[2048], buf[8192], tag[17], via[CFG_HOST_MAX];
	unsigned char rnd[8];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	size_t have = 0;
	double t0;
	int n;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0x5a, sizeof(rnd));
	for (int i = 0; i < 8; i++)
		snprintf(tag + 2 * i, 3, "%02x", rnd[i]);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		netaddr_ntop((struct sockaddr *)&ss, via, sizeof(via));
	else
		snprintf(via, sizeof(via), "%.*s", (int)sizeof(via) - 1,
		    cfg->tls_server.advertised_name);
	n = snprintf(req, sizeof(req),
	    "OPTIONS sip:%s:%u;transport=tls SIP/2.0\r\n"
	    "Via: SIP/2.0/TLS %s;branch=z9hG4bK-doctor-%s;rport\r\n"
	    "Max-Forwards: 70\r\n"
	    "From: <sip:doctor@%s>;tag=%s\r\n"
	    "To: <sip:%s:%u;transport=tls>\r\n"
	    "Call-ID: doctor-%s@%s\r\n"
	    "CSeq: 1 OPTIONS\r\n"
	    "User-Agent: tlstrunk-doctor/%s\r\n"
	    "Accept: application/sdp\r\n"
	    "Content-Length: 0\r\n"
	    "\r\n",
	    host, cfg->cloud.port, via, tag, cfg->tls_server.advertised_name,
	    tag, host, cfg->cloud.port, tag, cfg->tls_server.advertised_name,
	    TLSTRUNK_VERSION);
	t0 = now_ms();
	/* One message, one SSL_write (one record). */
	if (SSL_write(ssl, req, n) != n) {
		snprintf(why, wlen, "cannot send: %s", errno ? strerror(errno) :
		    "TLS write failed");
		return -1;
	}
	for (;;) {
		char *end, *line;
		int code;

		if (now_ms() - t0 > DOC_TIMEOUT_MS) {
			snprintf(why, wlen, "no answer within %d s",
			    DOC_TIMEOUT_MS / 1000);
			return -1;
		}
		/* Skip keep-alive CRLFs between messages. */
		while (have > 0 && (buf[0] == '\r' || buf[0] == '\n'))
			memmove(buf, buf + 1, --have);
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
			line = buf;
			if (sscanf(line, "SIP/2.0 %3d", &code) != 1) {
				snprintf(why, wlen, "not a SIP response: %.60s",
				    line);
				return -1;
			}
			if (code >= 200) {
				*rtt = now_ms() - t0;
				snprintf(status, slen, "%.*s", (int)strcspn(line,
				    "\r\n"), line);
				return 0;
			}
			/* A provisional answer: wait for the final one. */
			have -= (size_t)(end + 4 - buf);
			memmove(buf, end + 4, have);
			continue;
		}
		if (have >= sizeof(buf) - 1) {
			snprintf(why, wlen, "answer too long");
			return -1;
		}
		errno = 0;
		n = SSL_read(ssl, buf + have, (int)(sizeof(buf) - 1 - have));
		if (n <= 0) {
			int e = SSL_get_error(ssl, n);
			if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL &&
			    errno == 0))
				snprintf(why, wlen, "the proxy closed the "
				    "connection without answering");
			else if (errno == EAGAIN || errno == EWOULDBLOCK)
				snprintf(why, wlen, "no answer within %d s",
				    DOC_TIMEOUT_MS / 1000);
			else
				tls_last_error(why, wlen);
			ERR_clear_error();
			return -1;
		}
		have += (size_t)n;
	}
}

static void
doctor_cloud_host(struct doc *d, const struct config *cfg, SSL_CTX *ctx,
    const char *ctx_err, const char *roots, const char *host)
{
	struct addr_list al;
	struct tls_verify_note note;
	char check[CFG_HOST_MAX + 32], why[512], list[512] = "", a[NETADDR_STRLEN];
	char tried[1024] = "", status[256];
	STACK_OF(X509) *peer;
	size_t off = 0;
	int pinned, fd = -1, at = -1, r;
	double t0, ms, rtt;
	SSL *ssl = NULL;

	snprintf(check, sizeof(check), "cloud.resolve %s", host);
	if (cloud_resolve(cfg, host, &al, &pinned, why, sizeof(why)) == -1) {
		report(d, DOC_FAIL, check, "check DNS from this host, or pin "
		    "the address with [cloud] resolve = name=ip (the name is "
		    "still verified)", "cannot resolve %s: %s", host, why);
		return;
	}
	for (int i = 0; i < al.n; i++) {
		int w = snprintf(list + off, sizeof(list) - off, "%s%s",
		    i ? ", " : "", netaddr_ntop((struct sockaddr *)&al.ss[i],
		    a, sizeof(a)));
		if (w < 0 || (size_t)w >= sizeof(list) - off)
			break;
		off += (size_t)w;
	}
	report(d, DOC_OK, check, NULL, "%s (%s)", list, pinned ?
	    "from [cloud] resolve" : "DNS");

	snprintf(check, sizeof(check), "cloud.connect %s", host);
	off = 0;
	for (int i = 0; i < al.n && fd == -1; i++) {
		t0 = now_ms();
		fd = connect_timeout((struct sockaddr *)&al.ss[i], al.len[i],
		    DOC_TIMEOUT_MS, why, sizeof(why));
		ms = now_ms() - t0;
		if (fd != -1) {
			at = i;
		} else {
			int w = snprintf(tried + off, sizeof(tried) - off,
			    "%s%s: %s", off ? "; " : "", netaddr_ntop(
			    (struct sockaddr *)&al.ss[i], a, sizeof(a)), why);
			if (w > 0 && (size_t)w < sizeof(tried) - off)
				off += (size_t)w;
		}
	}
	if (fd == -1) {
		report(d, DOC_FAIL, check, "open outbound TCP to the cloud's "
		    "port (firewall, NAT, proxy) and check [cloud] hosts/port",
		    "cannot connect: %s", tried);
		return;
	}
	report(d, DOC_OK, check, NULL, "TCP to %s in %.1f ms",
	    netaddr_ntop((struct sockaddr *)&al.ss[at], a, sizeof(a)), ms);

	snprintf(check, sizeof(check), "cloud.tls %s", host);
	if (ctx == NULL) {
		report(d, DOC_FAIL, check, "fix the chain.* failures above",
		    "cannot build our TLS client context: %s", ctx_err);
		goto done;
	}
	memset(&note, 0, sizeof(note));
	if ((ssl = SSL_new(ctx)) == NULL || tls_client_setup(ssl, host) < 0 ||
	    SSL_set_fd(ssl, fd) != 1) {
		report(d, DOC_FAIL, check, NULL, "cannot set up TLS for %s", host);
		goto done;
	}
	SSL_set_app_data(ssl, &note);
	t0 = now_ms();
	errno = 0;
	r = SSL_connect(ssl);
	ms = now_ms() - t0;
	peer = SSL_get_peer_cert_chain(ssl);	/* leaf first, client side */
	if (r == 1) {
		const char *suite = SSL_get_cipher_name(ssl);
		int g = SSL_get_negotiated_group(ssl);
		const char *gname = g ? SSL_group_to_name(ssl, g) : NULL;
		int dep = config_cipher_deprecated(suite) != NULL;
		report(d, dep ? DOC_WARN : DOC_OK, check, "remove the "
		    "deprecated suites from [cloud] ciphers (the default has "
		    "none)", "%s, %s%s%s, handshake in %.1f ms%s",
		    SSL_get_version(ssl), suite, gname ? ", group " : "",
		    gname ? gname : "", ms, dep ? " (a suite "
		    CONFIG_CIPHER_DEPRECATED_WHY ")" : "");
	} else if (SSL_get_verify_result(ssl) != X509_V_OK || note.text[0]) {
		report(d, DOC_FAIL, check, "see the cloud.verify, cloud.name "
		    "and cloud.expiry lines below", "handshake refused by our "
		    "policy: %s", note.text[0] ? note.text :
		    X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
		ERR_clear_error();
	} else {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			snprintf(why, sizeof(why), "no answer within %d s",
			    DOC_TIMEOUT_MS / 1000);
		else if (ERR_peek_error() == 0)
			snprintf(why, sizeof(why), "the proxy closed the "
			    "connection (%s)", errno ? strerror(errno) : "EOF");
		else
			tls_last_error(why, sizeof(why));
		ERR_clear_error();
		report(d, DOC_FAIL, check, "the proxy must speak TLS 1.2 with one "
		    "of [cloud] ciphers and groups (the cloud's policy)",
		    "handshake failed: %s", why);
		goto done;
	}
	if (peer == NULL || sk_X509_num(peer) == 0) {
		report(d, DOC_FAIL, check, NULL, "the proxy sent no certificate");
		goto done;
	}
	snprintf(check, sizeof(check), "cloud.verify %s", host);
	cloud_verify(d, ctx, peer, check, roots);
	snprintf(check, sizeof(check), "cloud.purpose %s", host);
	cloud_purpose(d, sk_X509_value(peer, 0), cfg->tls_server.mutual, check);
	snprintf(check, sizeof(check), "cloud.name %s", host);
	cloud_name(d, sk_X509_value(peer, 0), host, check);
	snprintf(check, sizeof(check), "cloud.expiry %s", host);
	cloud_expiry(d, sk_X509_value(peer, 0), check);
	if (r != 1)
		goto done;	/* never SIP over a connection we refused */

	snprintf(check, sizeof(check), "cloud.options %s", host);
	if (cloud_options(ssl, fd, cfg, host, status, sizeof(status), &rtt,
	    why, sizeof(why)) == -1) {
		report(d, DOC_FAIL, check, "the proxy must answer OPTIONS "
		    "(the keepalive); check the trunk's configuration in the "
		    "cloud", "OPTIONS sip:%s:%u;transport=tls: %s", host,
		    cfg->cloud.port, why);
	} else {
		int code = atoi(status + 8);
		report(d, code >= 200 && code < 300 ? DOC_OK : DOC_WARN, check,
		    "a non-2xx answer still proves the path; check the trunk in "
		    "the cloud", "\"%s\" in %.1f ms", status, rtt);
	}
	SSL_shutdown(ssl);
done:
	SSL_free(ssl);
	if (fd != -1)
		close(fd);
	ERR_clear_error();
}

/* [cloud] domain: the SRV set as tlstrunk will use it, then each proxy. */
static void
doctor_cloud_srv(struct doc *d, const struct config *cfg, SSL_CTX *ctx,
    const char *err, const char *roots)
{
	static struct srv_lookup lk;
	struct config *one;
	char list[1024] = "";
	size_t off = 0;

	memset(&lk, 0, sizeof(lk));
	snprintf(lk.qname, sizeof(lk.qname), "_sips._tcp.%s", cfg->cloud.domain);
	resolver_srv_query(&lk);
	if (lk.rcode != 0 && lk.rcode != HOST_NOT_FOUND && lk.rcode != NO_DATA) {
		report(d, DOC_FAIL, "cloud.srv", "check DNS from this host",
		    "%s: %s", lk.qname, hstrerror(lk.rcode));
		return;
	}
	if (lk.ntargets == 0) {
		report(d, DOC_WARN, "cloud.srv", "publish _sips._tcp records, or "
		    "set [cloud] hosts", "%s: no records; the domain itself is "
		    "used (RFC 3263)", lk.qname);
		lk.ntargets = 1;
		snprintf(lk.targets[0].name, sizeof(lk.targets[0].name), "%s",
		    cfg->cloud.domain);
		lk.targets[0].port = cfg->cloud.port;
	}
	for (int i = 0; i < lk.ntargets && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s:%u "
		    "prio %u%s", i ? ", " : "", lk.targets[i].name,
		    lk.targets[i].port, lk.targets[i].prio,
		    resolver_in_domain(lk.targets[i].name, cfg->cloud.domain) ?
		    "" : " (outside the domain: ignored)");
	report(d, DOC_OK, "cloud.srv", NULL, "%s: %s", lk.qname, list);
	if ((one = malloc(sizeof(*one))) == NULL)
		return;
	for (int i = 0; i < lk.ntargets; i++) {
		if (!resolver_in_domain(lk.targets[i].name, cfg->cloud.domain))
			continue;
		/* The checks read the port from the configuration. */
		memcpy(one, cfg, sizeof(*one));
		one->cloud.port = lk.targets[i].port;
		doctor_cloud_host(d, one, ctx, err, roots, lk.targets[i].name);
	}
	free(one);
}

/* [cloud] ciphers against the suites the cloud deprecated: one line each. */
struct doc_ciphers {
	struct doc *d;
	const struct config *cfg;
	int ndep;
};

static void
doctor_cipher_deprecated(void *ctx, const char *name, const char *iana)
{
	struct doc_ciphers *dc = ctx;

	dc->ndep++;
	report(dc->d, DOC_WARN, "cloud.ciphers", "remove it from [cloud] "
	    "ciphers (the default lists only the six the cloud keeps)",
	    "%s:%d: [cloud] ciphers names %s (%s), %s", dc->cfg->path,
	    config_key_line(dc->cfg, "cloud", "ciphers"), name, iana,
	    CONFIG_CIPHER_DEPRECATED_WHY);
}

static void
doctor_ciphers(struct doc *d, const struct config *cfg)
{
	struct doc_ciphers dc = { d, cfg, 0 };
	int n = config_ciphers_deprecated(&cfg->cloud, doctor_cipher_deprecated,
	    &dc);

	if (dc.ndep == 0)
		report(d, DOC_OK, "cloud.ciphers", NULL, "%d suite(s), none "
		    "deprecated by the cloud: %s", n, cfg->cloud.ciphers);
}

static void
doctor_trunk(struct doc *d, const struct config *cfg)
{
	char err[512] = "", roots[PATH_MAX + 64];
	SSL_CTX *ctx = tls_client_ctx_new(cfg, &cfg->cloud, err, sizeof(err));

	ERR_clear_error();
	doctor_ciphers(d, cfg);
	if (cfg->cloud.ca_file[0] != '\0')
		snprintf(roots, sizeof(roots), "[cloud] ca_file %s",
		    cfg->cloud.ca_file);
	else if (cfg->cloud.ca_path[0] != '\0')
		snprintf(roots, sizeof(roots), "[cloud] ca_path %s",
		    cfg->cloud.ca_path);
	else
		snprintf(roots, sizeof(roots), "the default DigiCert roots");
	if (cfg->cloud.domain[0] != '\0')
		doctor_cloud_srv(d, cfg, ctx, err, roots);
	for (int i = 0; i < cfg->cloud.nhosts; i++)
		doctor_cloud_host(d, cfg, ctx, err, roots, cfg->cloud.hosts[i]);
	SSL_CTX_free(ctx);
}

/*
 * Each trunk's checks read its settings where a one-trunk file has them
 * ([cloud]): a copy of the configuration with the trunk in that place.
 */
static void
doctor_cloud(struct doc *d, const struct config *cfg)
{
	struct config *one;

	if (cfg->ntrunks == 1 && cfg->trunks[0].line == 0) {
		doctor_trunk(d, cfg);
		return;
	}
	if ((one = malloc(sizeof(*one))) == NULL)
		return;
	for (int i = 0; i < cfg->ntrunks; i++) {
		memcpy(one, cfg, sizeof(*one));
		one->cloud = cfg->trunks[i];
		report(d, DOC_OK, "cloud.trunk", NULL, "trunk %s: tgrp=%s "
		    "trunk-context=%s, %d proxies%s", cfg->trunks[i].name,
		    cfg->trunks[i].tgrp, cfg->trunks[i].trunk_context,
		    cfg->trunks[i].nhosts, cfg->trunks[i].domain[0] ?
		    " (and SRV)" : "");
		doctor_trunk(d, one);
	}
	free(one);
}

/* ---- the PBX side and local resources --------------------------------------- */

/* Bind (and for TCP listen) then close.  0, or the errno. */
static int
try_bind(int type, const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0), one = 1, err = 0;

	if (fd == -1)
		return errno;
	/* TCP as libuv does it (TIME_WAIT is no conflict); UDP exclusive. */
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 1) == -1))
		err = errno;
	close(fd);
	return err;
}

static void
doctor_listen(struct doc *d, const char *what, int type,
    const struct cfg_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char check[CFG_HOST_MAX + 64], fix[256];
	const char *proto = type == SOCK_STREAM ? "tcp" : "udp";
	int err;

	snprintf(check, sizeof(check), "%s %s %s:%u", what, proto,
	    a->host, a->port);
	if (netaddr_to_sockaddr(a->host, a->port, &ss, &len) == -1) {
		report(d, DOC_FAIL, check, "use an IP address of this host",
		    "not an IP address");
		return;
	}
	if ((err = try_bind(type, &ss, len)) == 0) {
		report(d, DOC_OK, check, NULL, "can bind");
		return;
	}
	if (err == EADDRINUSE)
		snprintf(fix, sizeof(fix), "stop what listens there (`ss -lnp%c "
		    "'sport = :%u'`; tlstrunk itself, if it is running) or "
		    "change the port", proto[0], a->port);
	else if (err == EACCES && a->port < 1024)
		snprintf(fix, sizeof(fix), "use a port >= 1024, or give the "
		    "service CAP_NET_BIND_SERVICE (AmbientCapabilities=)");
	else if (err == EADDRNOTAVAIL)
		snprintf(fix, sizeof(fix), "use an address of this host (or "
		    "0.0.0.0)");
	else
		snprintf(fix, sizeof(fix), "check the address and the port");
	report(d, DOC_FAIL, check, fix, "cannot bind: %s", strerror(err));
}

static void
doctor_allow_pbx(struct doc *d, const struct cfg_pbx *pbx, int named)
{
	char list[1024] = "", ip[INET6_ADDRSTRLEN], check[NP_NAME_MAX + 16];
	size_t off = 0;
	int any = 0;

	snprintf(check, sizeof(check), named ? "pbx.allow %s" : "pbx.allow",
	    pbx->name);
	for (int i = 0; i < pbx->allow.n; i++) {
		const struct netaddr_cidr *c = &pbx->allow.net[i];
		int w;
		inet_ntop(c->family, c->addr, ip, sizeof(ip));
		w = snprintf(list + off, sizeof(list) - off, "%s%s/%d",
		    i ? ", " : "", ip, c->prefix);
		if (w > 0 && (size_t)w < sizeof(list) - off)
			off += (size_t)w;
		if (c->prefix == 0)
			any = 1;
	}
	if (any)
		report(d, DOC_WARN, check, "list only the PBX's own "
		    "addresses or networks in [pbx] allow", "%s admits every "
		    "source address to the plaintext side", list);
	else
		report(d, DOC_OK, check, NULL, "%s", list);
}

/* Who may send on each side: toll fraud comes through an open door. */
static void
doctor_allow(struct doc *d, const struct config *cfg)
{
	for (int i = 0; i < cfg->npbx; i++)
		doctor_allow_pbx(d, &cfg->pbxs[i], cfg->npbx > 1 ||
		    strcmp(cfg->pbxs[i].name, CFG_DEFAULT_NAME) != 0);
	if (cfg->tls_server.allow.n == 0)
		report(d, DOC_WARN, "tls_server.allow", "list the cloud's "
		    "signaling addresses for your region in [tls_server] allow",
		    "empty: any address that reaches the TLS port may send "
		    "calls toward the PBX");
	else
		report(d, DOC_OK, "tls_server.allow", NULL, "%d network(s)",
		    cfg->tls_server.allow.n);
}

/* The ephemeral port range, to warn when the media range overlaps it. */
static int
ephemeral_range(int *lo, int *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int n;

	if (f == NULL)
		return -1;
	n = fscanf(f, "%d %d", lo, hi);
	fclose(f);
	return n == 2 ? 0 : -1;
}

static void
doctor_media(struct doc *d, const struct config *cfg)
{
	static const char fix_range[] = "widen [media] port_min..port_max "
	    "(4 ports a call) or lower [limits] max_calls";
	int lo = cfg->media.port_min, hi = cfg->media.port_max;
	int base = lo + (lo & 1);	/* as port_pool.c: even RTP ports */
	int npairs = hi > base ? (hi - base + 1) / 2 : 0;
	int calls = npairs / 2, need = cfg->limits.max_calls;
	int elo, ehi, nfree = 0, nbusy = 0, first_busy = -1, naddr;
	struct sockaddr_storage ss[2];
	socklen_t len[2];
	const char *addr[2];
	char busy[256] = "";

	if (calls < need)
		report(d, DOC_FAIL, "media.range", fix_range, "%d-%d holds %d "
		    "RTP/RTCP pairs, room for %d calls (2 pairs each), but "
		    "[limits] max_calls is %d (needs %d ports)", lo, hi, npairs,
		    calls, need, need * 4);
	else if (ephemeral_range(&elo, &ehi) == 0 && lo <= ehi && elo <= hi)
		report(d, DOC_WARN, "media.range", "move [media] port_min.."
		    "port_max out of net.ipv4.ip_local_port_range (or narrow "
		    "that)", "%d-%d (room for %d calls, max_calls %d) overlaps "
		    "the ephemeral port range %d-%d: outgoing connections may "
		    "take media ports", lo, hi, calls, need, elo, ehi);
	else
		report(d, DOC_OK, "media.range", NULL, "%d-%d: %d RTP/RTCP "
		    "pairs, room for %d calls (max_calls %d, 4 ports a call)",
		    lo, hi, npairs, calls, need);

	/* As media.c binds: the PBX leg on pbx_address, the cloud leg on
	 * the TLS listen address (or every address). */
	addr[0] = cfg->media.pbx_address;
	addr[1] = cfg->tls_server.listen.is_ip &&
	    !netaddr_is_any(cfg->tls_server.listen.host) ?
	    cfg->tls_server.listen.host : "0.0.0.0";
	naddr = strcmp(addr[0], addr[1]) == 0 ? 1 : 2;
	for (int i = 0; i < naddr; i++) {
		if (netaddr_to_sockaddr(addr[i], 0, &ss[i], &len[i]) == -1) {
			report(d, DOC_WARN, "media.ports", "set [media] "
			    "pbx_address to an IP address", "cannot test: "
			    "\"%s\" is not an IP address", addr[i]);
			return;
		}
	}
	/* Every port, one socket at a time (never holding a port long). */
	for (int p = base; p + 1 <= hi && p + 1 <= 65535; p += 2) {
		int ok = 1;
		for (int i = 0; i < naddr && ok; i++)
			for (int q = p; q <= p + 1 && ok; q++) {
				set_port(&ss[i], (uint16_t)q);
				if (try_bind(SOCK_DGRAM, &ss[i], len[i]) != 0) {
					ok = 0;
					if (first_busy < 0)
						first_busy = q;
				}
			}
		if (ok)
			nfree++;
		else
			nbusy++;
	}
	if (nbusy > 0)
		snprintf(busy, sizeof(busy), "; %d pair(s) in use, the first at "
		    "port %d", nbusy, first_busy);
	if (nfree / 2 < need && nbusy > 0)
		report(d, DOC_FAIL, "media.ports", "free the ports (`ss -lnup`) "
		    "or move the range", "%d of %d pairs free on %s%s%s: room for "
		    "only %d of max_calls %d%s", nfree, npairs, addr[0],
		    naddr > 1 ? " and " : "", naddr > 1 ? addr[1] : "",
		    nfree / 2, need, busy);
	else if (nbusy > 0)
		report(d, DOC_WARN, "media.ports", "free the ports (`ss -lnup`) "
		    "or move the range", "%d of %d pairs free on %s%s%s (room for "
		    "%d calls)%s", nfree, npairs, addr[0], naddr > 1 ? " and " :
		    "", naddr > 1 ? addr[1] : "", nfree / 2, busy);
	else
		report(d, DOC_OK, "media.ports", NULL, "all %d pairs free on "
		    "%s%s%s", npairs, addr[0], naddr > 1 ? " and " : "",
		    naddr > 1 ? addr[1] : "");
}

static void
doctor_local(struct doc *d, const struct config *cfg)
{
	if (cfg->pbx.transports & CFG_TP_UDP)
		doctor_listen(d, "pbx.listen", SOCK_DGRAM, &cfg->pbx.listen);
	if (cfg->pbx.transports & CFG_TP_TCP)
		doctor_listen(d, "pbx.listen", SOCK_STREAM, &cfg->pbx.listen);
	doctor_listen(d, "tls_server.listen", SOCK_STREAM, &cfg->tls_server.listen);
	if (cfg->general.admin_listen.port != 0)
		doctor_listen(d, "general.admin_listen", SOCK_STREAM,
		    &cfg->general.admin_listen);
	doctor_allow(d, cfg);
	doctor_media(d, cfg);
}

int
doctor_run(const struct config *cfg, FILE *out)
{
	struct doc d = { .out = out, .nfail = 0 };

	/* A proxy closing on us must not kill the report. */
	signal(SIGPIPE, SIG_IGN);
	doctor_chain(&d, cfg);
	doctor_mutual(&d, cfg);
	doctor_cloud(&d, cfg);
	doctor_local(&d, cfg);
	ERR_clear_error();
	return d.nfail > 0 ? 1 : 0;
}
