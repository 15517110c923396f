/* cloud_roots.c - the spec's table of roots the cloud trusts, as data. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "cloud_roots.h"

/*
 * One row per root, in the order of shared/spec/byoc-tls.md ("A / B"
 * cells expanded).  Subject CNs (and OUs) checked against the Debian 12
 * ca-certificates copies where those exist.
 */
#define R(auth, name, cn, ou, h)	{ auth, name, cn, ou, #h, 0x##h##UL, 0 }
/* A row whose hash the spec prints cut: printed text, then full hash. */
#define RT(auth, name, cn, ou, text, h)	{ auth, name, cn, ou, text, 0x##h##UL, 1 }

const struct cloud_root cloud_roots[] = {
	R("Actalis", "Actalis Authentication Root CA", NULL, NULL, 930ac5d2),

	R("Amazon Trust Services", "Amazon Root CA 1", NULL, NULL, ce5e74ef),
	R("Amazon Trust Services", "Amazon Root CA 2", NULL, NULL, 6d41d539),
	R("Amazon Trust Services", "Amazon Root CA 3", NULL, NULL, 8cb5ee0f),
	R("Amazon Trust Services", "Amazon Root CA 4", NULL, NULL, de6d66f3),

	R("Certum", "Certum CA", NULL, NULL, 442adcac),
	R("Certum", "Certum Trusted Network CA", NULL, NULL, 48bec511),
	R("Certum", "Certum Trusted Network CA 2", NULL, NULL, 40193066),

	R("Deutsche Telekom", "Telekom Security TLS RSA Root 2023", NULL, NULL, 7fa05551),
	R("Deutsche Telekom", "Telekom Security TLS ECC Root 2020", NULL, NULL, ddcda989),

	R("DigiCert", "DigiCert Global Root CA", NULL, NULL, 3513523f),
	R("DigiCert", "DigiCert High Assurance EV Root CA", NULL, NULL, 244b5494),
	R("DigiCert", "DigiCert Global Root G2", NULL, NULL, 607986c7),
	R("DigiCert", "DigiCert Global Root G3", NULL, NULL, dd8e9d41),
	R("DigiCert", "DigiCert ECC P384 Root G5", NULL, NULL, c1223238),
	R("DigiCert", "DigiCert RSA4096 Root G5", NULL, NULL, 9ccd262b),
	R("DigiCert", "DigiCert TLS ECC P384 Root G5", NULL, NULL, 9846683b),
	R("DigiCert", "DigiCert TLS RSA4096 Root G5", NULL, NULL, d52c538d),

	R("DigiCert / QuoVadis", "QuoVadis Root CA 2", NULL, NULL, d7e8dc79),
	R("DigiCert / QuoVadis", "QuoVadis Root CA 3", NULL, NULL, 76faf6c0),
	R("DigiCert / QuoVadis", "QuoVadis Root CA 1 G3", NULL, NULL, 749e9e03),
	R("DigiCert / QuoVadis", "QuoVadis Root CA 2 G3", NULL, NULL, 064e0aa9),
	R("DigiCert / QuoVadis", "QuoVadis Root CA 3 G3", NULL, NULL, e18bfb83),

	R("DigiCert / Thawte", "thawte Primary Root CA", NULL, NULL, 2e4eed3c),
	R("DigiCert / Thawte", "thawte Primary Root CA - G2", NULL, NULL, c089bbbd),
	R("DigiCert / Thawte", "thawte Primary Root CA - G3", NULL, NULL, ba89ed3b),
	R("DigiCert / Thawte", "thawte Primary Root CA - G4", NULL, NULL, 854dca2b),

	R("DigiCert / VeriSign", "VeriSign Class 3 Public Primary CA - G5",
	    "VeriSign Class 3 Public Primary Certification Authority - G5", NULL,
	    b204d74a),

	R("Entrust", "Entrust Root Certification Authority", NULL, NULL, 6b99d060),
	R("Entrust", "Entrust.net Certification Authority (2048)", NULL, NULL, aee5f10d),
	R("Entrust", "Entrust Root CA - EC1",
	    "Entrust Root Certification Authority - EC1", NULL, 106f3e4d),
	R("Entrust", "Entrust Root CA - G2",
	    "Entrust Root Certification Authority - G2", NULL, 02265526),
	R("Entrust", "Entrust Root CA - G3",
	    "Entrust Root Certification Authority - G3", NULL, 425d82a9),
	R("Entrust", "Entrust Root CA - G4",
	    "Entrust Root Certification Authority - G4", NULL, 5e98733a),

	RT("GlobalSign", "GlobalSign Root E46", NULL, NULL, "413", feffd413),
	R("GlobalSign", "GlobalSign Root R46", NULL, NULL, 002c0b4f),
	RT("GlobalSign", "GlobalSign Root CA - R3", "GlobalSign",
	    "GlobalSign Root CA - R3", "062cee6", 062cdee6),
	R("GlobalSign", "GlobalSign Root CA - R6", "GlobalSign",
	    "GlobalSign Root CA - R6", dc4d6a89),
	R("GlobalSign", "GlobalSign ECC Root CA - R4", "GlobalSign",
	    "GlobalSign ECC Root CA - R4", b0e59380),
	R("GlobalSign", "GlobalSign ECC Root CA - R5", "GlobalSign",
	    "GlobalSign ECC Root CA - R5", 1d3472b9),

	R("GoDaddy / Starfield", "Go Daddy Class 2 CA", NULL,
	    "Go Daddy Class 2 Certification Authority", f081611a),
	R("GoDaddy / Starfield", "Go Daddy Root CA - G2",
	    "Go Daddy Root Certificate Authority - G2", NULL, cbf06781),
	R("GoDaddy / Starfield", "Go Daddy Root CA - G3",
	    "Go Daddy Root Certificate Authority - G3", NULL, 4b82aaf1),
	R("GoDaddy / Starfield", "Go Daddy Root CA - G4",
	    "Go Daddy Root Certificate Authority - G4", NULL, fd8d27e1),
	R("GoDaddy / Starfield", "Starfield Class 2 CA", NULL,
	    "Starfield Class 2 Certification Authority", f387163d),
	R("GoDaddy / Starfield", "Starfield Root CA - G2",
	    "Starfield Root Certificate Authority - G2", NULL, 4bfab552),
	R("GoDaddy / Starfield", "Starfield Root CA - G3",
	    "Starfield Root Certificate Authority - G3", NULL, 3661ca00),
	R("GoDaddy / Starfield", "Starfield Root CA - G4",
	    "Starfield Root Certificate Authority - G4", NULL, 978d3d03),

	R("Starfield / Amazon", "Starfield Services Root CA",
	    "Starfield Services Root Certificate Authority", NULL, 006016b6),
	R("Starfield / Amazon", "Starfield Services Root CA - G2",
	    "Starfield Services Root Certificate Authority - G2", NULL, 09789157),

	R("ISRG (Let's Encrypt)", "ISRG Root X1", NULL, NULL, 4042bcee),
	R("ISRG (Let's Encrypt)", "ISRG Root X2", NULL, NULL, 0b9bc432),

	/* Two roots, one subject: the Dec 2029 and the Dec 2030 one. */
	R("Network Solutions", "Network Solutions CA (Dec 2029)",
	    "Network Solutions Certificate Authority", NULL, 4304c5e5),
	R("Network Solutions", "Network Solutions CA (Dec 2030)",
	    "Network Solutions Certificate Authority", NULL, 4304c5e5),
	R("Network Solutions", "Network Solutions EV SSL CA", NULL, NULL, 4df989ce),

	R("Sectigo / Comodo", "AAA Certificate Services", NULL, NULL, ee64a828),
	R("Sectigo / AddTrust", "AddTrust External CA Root", NULL, NULL, 157753a5),
	R("Sectigo / Comodo", "COMODO ECC Certification Authority", NULL, NULL, eed8c118),
	R("Sectigo / Comodo", "COMODO RSA Certification Authority", NULL, NULL, d6325660),
	R("Sectigo / UserTrust", "USERTrust ECC Certification Authority", NULL, NULL, f30dd6ad),
	R("Sectigo / UserTrust", "USERTrust RSA Certification Authority", NULL, NULL, fc5a8f99),
	R("Sectigo / UserTrust", "UTN-USERFirst-Hardware", NULL, NULL, b13cc6df),

	R("SwissSign", "SwissSign Silver CA - G2", NULL, NULL, 57bcb2da),
	R("SwissSign", "SwissSign Gold CA - G2", NULL, NULL, 4f316efb),
	R("SwissSign", "SwissSign Platinum CA - G2", NULL, NULL, a8dee976),

	R("Telia", "TeliaSonera Root CA v1", NULL, NULL, 5cd81ad7),
	R("Telia", "Telia Root CA v2", NULL, NULL, 8f103249),

	R("Trustwave", "Secure Global CA", NULL, NULL, b66938e9),
	R("Trustwave", "SecureTrust CA", NULL, NULL, f39fc864),
	R("Trustwave", "Trustwave Global CA",
	    "Trustwave Global Certification Authority", NULL, f249de83),
	R("Trustwave", "Trustwave Global ECC P256 CA",
	    "Trustwave Global ECC P256 Certification Authority", NULL, 9b5697b0),
	R("Trustwave", "Trustwave Global ECC P384 CA",
	    "Trustwave Global ECC P384 Certification Authority", NULL, d887a5bb),
};

const size_t cloud_roots_count = sizeof(cloud_roots) / sizeof(cloud_roots[0]);

static int
str_ieq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

static int
name_matches(const struct cloud_root *r, const char *cn, const char *ou)
{
	if (r->ou != NULL) {
		/* A generic CN ("GlobalSign") or none: the OU names the root. */
		if (!str_ieq(ou, r->ou))
			return 0;
		return r->cn == NULL || cn == NULL || str_ieq(cn, r->cn);
	}
	return str_ieq(cn, r->name) || str_ieq(cn, r->cn);
}

const struct cloud_root *
cloud_root_find(unsigned long hash, const char *cn, const char *ou, int *how)
{
	const struct cloud_root *byname = NULL;

	for (size_t i = 0; i < cloud_roots_count; i++) {
		const struct cloud_root *r = &cloud_roots[i];
		if (r->hash == hash) {
			/* Rows sharing a hash: prefer the one whose name agrees. */
			for (size_t j = i; j < cloud_roots_count; j++) {
				if (cloud_roots[j].hash == hash &&
				    name_matches(&cloud_roots[j], cn, ou)) {
					if (how != NULL)
						*how = CLOUD_ROOT_BY_HASH |
						    CLOUD_ROOT_BY_NAME;
					return &cloud_roots[j];
				}
			}
			if (how != NULL)
				*how = CLOUD_ROOT_BY_HASH;
			return r;
		}
		if (byname == NULL && name_matches(r, cn, ou))
			byname = r;
	}
	if (how != NULL)
		*how = byname != NULL ? CLOUD_ROOT_BY_NAME : 0;
	return byname;
}

const char *
cloud_root_how_str(int how)
{
	switch (how & (CLOUD_ROOT_BY_HASH | CLOUD_ROOT_BY_NAME)) {
	case CLOUD_ROOT_BY_HASH | CLOUD_ROOT_BY_NAME:
		return "subject hash and name";
	case CLOUD_ROOT_BY_HASH:
		return "subject hash";
	case CLOUD_ROOT_BY_NAME:
		return "subject name";
	default:
		return "none";
	}
}

unsigned long
cloud_root_name_hash(const X509_NAME *name)
{
	int ok = 0;
	unsigned long h = X509_NAME_hash_ex(name, NULL, NULL, &ok);

	return ok ? h : 0;
}

/* First entry of nid in name, as UTF-8 into buf; NULL when absent. */
static const char *
name_entry(const X509_NAME *name, int nid, char *buf, size_t len)
{
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	const X509_NAME_ENTRY *e;
	unsigned char *u = NULL;
	int n;

	if (i < 0 || (e = X509_NAME_get_entry(name, i)) == NULL)
		return NULL;
	n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
	if (n < 0)
		return NULL;
	if ((size_t)n >= len)
		n = (int)len - 1;
	memcpy(buf, u, (size_t)n);
	buf[n] = '\0';
	OPENSSL_free(u);
	return buf;
}

/* Every OU of the name is tried: Entrust roots have two. */
const struct cloud_root *
cloud_root_match_name(const X509_NAME *name, int *how)
{
	char cnbuf[256], oubuf[256];
	const char *cn = name_entry(name, NID_commonName, cnbuf, sizeof(cnbuf));
	unsigned long h = cloud_root_name_hash(name);
	const struct cloud_root *r, *best = NULL;
	int besthow = 0, i = -1, h2;

	r = cloud_root_find(h, cn, NULL, &besthow);
	best = r;
	/* A name-only or no match may improve with an OU (GlobalSign R3). */
	while ((besthow & CLOUD_ROOT_BY_NAME) == 0 &&
	    (i = X509_NAME_get_index_by_NID(name, NID_organizationalUnitName,
	    i)) >= 0) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		unsigned char *u = NULL;
		int n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
		if (n < 0)
			continue;
		snprintf(oubuf, sizeof(oubuf), "%.*s", n, (const char *)u);
		OPENSSL_free(u);
		r = cloud_root_find(h, cn, oubuf, &h2);
		if (r != NULL && ((h2 & CLOUD_ROOT_BY_NAME) || best == NULL)) {
			best = r;
			besthow = h2;
		}
	}
	if (how != NULL)
		*how = best != NULL ? besthow : 0;
	return best;
}
