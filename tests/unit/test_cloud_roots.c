/*
 * test_cloud_roots.c - the table of roots the cloud trusts for our
 * certificate (config/cloud_roots.c) against the spec's table
 * (shared/spec/byoc-tls.md), copied here row by row, hashes as printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cloud_roots.h"

/* Every root of the spec's table, "A / B" cells expanded, hash as printed. */
static const struct {
	const char *name;
	const char *hash;
} spec_rows[] = {
	{ "Actalis Authentication Root CA", "930ac5d2" },
	{ "Amazon Root CA 1", "ce5e74ef" },
	{ "Amazon Root CA 2", "6d41d539" },
	{ "Amazon Root CA 3", "8cb5ee0f" },
	{ "Amazon Root CA 4", "de6d66f3" },
	{ "Certum CA", "442adcac" },
	{ "Certum Trusted Network CA", "48bec511" },
	{ "Certum Trusted Network CA 2", "40193066" },
	{ "Telekom Security TLS RSA Root 2023", "7fa05551" },
	{ "Telekom Security TLS ECC Root 2020", "ddcda989" },
	{ "DigiCert Global Root CA", "3513523f" },
	{ "DigiCert High Assurance EV Root CA", "244b5494" },
	{ "DigiCert Global Root G2", "607986c7" },
	{ "DigiCert Global Root G3", "dd8e9d41" },
	{ "DigiCert ECC P384 Root G5", "c1223238" },
	{ "DigiCert RSA4096 Root G5", "9ccd262b" },
	{ "DigiCert TLS ECC P384 Root G5", "9846683b" },
	{ "DigiCert TLS RSA4096 Root G5", "d52c538d" },
	{ "QuoVadis Root CA 2", "d7e8dc79" },
	{ "QuoVadis Root CA 3", "76faf6c0" },
	{ "QuoVadis Root CA 1 G3", "749e9e03" },
	{ "QuoVadis Root CA 2 G3", "064e0aa9" },
	{ "QuoVadis Root CA 3 G3", "e18bfb83" },
	{ "thawte Primary Root CA", "2e4eed3c" },
	{ "thawte Primary Root CA - G2", "c089bbbd" },
	{ "thawte Primary Root CA - G3", "ba89ed3b" },
	{ "thawte Primary Root CA - G4", "854dca2b" },
	{ "VeriSign Class 3 Public Primary CA - G5", "b204d74a" },
	{ "Entrust Root Certification Authority", "6b99d060" },
	{ "Entrust.net Certification Authority (2048)", "aee5f10d" },
	{ "Entrust Root CA - EC1", "106f3e4d" },
	{ "Entrust Root CA - G2", "02265526" },
	{ "Entrust Root CA - G3", "425d82a9" },
	{ "Entrust Root CA - G4", "5e98733a" },
	{ "GlobalSign Root E46", "413" },
	{ "GlobalSign Root R46", "002c0b4f" },
	{ "GlobalSign Root CA - R3", "062cee6" },
	{ "GlobalSign Root CA - R6", "dc4d6a89" },
	{ "GlobalSign ECC Root CA - R4", "b0e59380" },
	{ "GlobalSign ECC Root CA - R5", "1d3472b9" },
	{ "Go Daddy Class 2 CA", "f081611a" },
	{ "Go Daddy Root CA - G2", "cbf06781" },
	{ "Go Daddy Root CA - G3", "4b82aaf1" },
	{ "Go Daddy Root CA - G4", "fd8d27e1" },
	{ "Starfield Class 2 CA", "f387163d" },
	{ "Starfield Root CA - G2", "4bfab552" },
	{ "Starfield Root CA - G3", "3661ca00" },
	{ "Starfield Root CA - G4", "978d3d03" },
	{ "Starfield Services Root CA", "006016b6" },
	{ "Starfield Services Root CA - G2", "09789157" },
	{ "ISRG Root X1", "4042bcee" },
	{ "ISRG Root X2", "0b9bc432" },
	{ "Network Solutions CA (Dec 2029)", "4304c5e5" },
	{ "Network Solutions CA (Dec 2030)", "4304c5e5" },
	{ "Network Solutions EV SSL CA", "4df989ce" },
	{ "AAA Certificate Services", "ee64a828" },
	{ "AddTrust External CA Root", "157753a5" },
	{ "COMODO ECC Certification Authority", "eed8c118" },
	{ "COMODO RSA Certification Authority", "d6325660" },
	{ "USERTrust ECC Certification Authority", "f30dd6ad" },
	{ "USERTrust RSA Certification Authority", "fc5a8f99" },
	{ "UTN-USERFirst-Hardware", "b13cc6df" },
	{ "SwissSign Silver CA - G2", "57bcb2da" },
	{ "SwissSign Gold CA - G2", "4f316efb" },
	{ "SwissSign Platinum CA - G2", "a8dee976" },
	{ "TeliaSonera Root CA v1", "5cd81ad7" },
	{ "Telia Root CA v2", "8f103249" },
	{ "Secure Global CA", "b66938e9" },
	{ "SecureTrust CA", "f39fc864" },
	{ "Trustwave Global CA", "f249de83" },
	{ "Trustwave Global ECC P256 CA", "9b5697b0" },
	{ "Trustwave Global ECC P384 CA", "d887a5bb" },
};
#define NSPEC (sizeof(spec_rows) / sizeof(spec_rows[0]))

static const struct cloud_root *
row_named(const char *name)
{
	for (size_t i = 0; i < cloud_roots_count; i++)
		if (strcmp(cloud_roots[i].name, name) == 0)
			return &cloud_roots[i];
	return NULL;
}

Test(cloud_roots, every_spec_row_present)
{
	cr_assert_eq(NSPEC, 72);
	cr_assert_eq(cloud_roots_count, NSPEC, "table has %zu rows, spec %zu",
	    cloud_roots_count, NSPEC);
	for (size_t i = 0; i < NSPEC; i++) {
		const struct cloud_root *r = row_named(spec_rows[i].name);
		cr_assert_not_null(r, "missing: %s", spec_rows[i].name);
		cr_assert_str_eq(r->spec_hash, spec_rows[i].hash, "%s",
		    spec_rows[i].name);
		cr_assert_not_null(r->authority);
		cr_assert(r->authority[0] != '\0');
	}
}

Test(cloud_roots, full_hashes_are_the_printed_ones)
{
	char hex[16];

	for (size_t i = 0; i < cloud_roots_count; i++) {
		const struct cloud_root *r = &cloud_roots[i];
		snprintf(hex, sizeof(hex), "%08lx", r->hash);
		if (r->truncated)
			cr_assert_lt(strlen(r->spec_hash), 8, "%s", r->name);
		else
			cr_assert_str_eq(hex, r->spec_hash, "%s", r->name);
	}
}

Test(cloud_roots, match_by_hash)
{
	int how = -1;

	for (size_t i = 0; i < NSPEC; i++) {
		const struct cloud_root *r;
		if (strlen(spec_rows[i].hash) != 8)
			continue;
		r = cloud_root_find(strtoul(spec_rows[i].hash, NULL, 16), NULL,
		    NULL, &how);
		cr_assert_not_null(r, "%s", spec_rows[i].hash);
		cr_assert_eq(r->hash, strtoul(spec_rows[i].hash, NULL, 16));
		cr_assert_eq(how, CLOUD_ROOT_BY_HASH);
	}
	/* A hash plus the agreeing name says both. */
	/* A wrong hash with the right name: by name only. */
	cloud_root_find(0x4042beeeUL, "ISRG Root X1", NULL, &how);
	cr_assert_eq(how, CLOUD_ROOT_BY_NAME, "0x4042beee is not a row");
	cr_assert_eq(cloud_root_find(0x4042bceeUL, "ISRG Root X1", NULL, &how),
	    row_named("ISRG Root X1"));
	cr_assert_eq(how, CLOUD_ROOT_BY_HASH | CLOUD_ROOT_BY_NAME);
	cr_assert_str_eq(cloud_root_how_str(how), "subject hash and name");
}

Test(cloud_roots, match_by_name)
{
	int how = -1;
	const struct cloud_root *r;

	/* The certificate's CN, when the hash does not help. */
	r = cloud_root_find(0x12345678UL, "USERTrust RSA Certification Authority",
	    NULL, &how);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->name, "USERTrust RSA Certification Authority");
	cr_assert_eq(how, CLOUD_ROOT_BY_NAME);
	cr_assert_str_eq(cloud_root_how_str(how), "subject name");
	/* Case-insensitive; the spec's abbreviation and the real CN both. */
	r = cloud_root_find(0, "go daddy root certificate authority - g2", NULL, &how);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->name, "Go Daddy Root CA - G2");
	r = cloud_root_find(0, "Go Daddy Root CA - G2", NULL, &how);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->spec_hash, "cbf06781");
	/* A generic CN needs its OU: "GlobalSign" alone is four roots. */
	cr_assert_null(cloud_root_find(0, "GlobalSign", NULL, &how));
	cr_assert_eq(how, 0);
	r = cloud_root_find(0, "GlobalSign", "GlobalSign Root CA - R6", &how);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->name, "GlobalSign Root CA - R6");
	/* No CN at all (Go Daddy / Starfield Class 2): the OU. */
	r = cloud_root_find(0, NULL, "Starfield Class 2 Certification Authority",
	    &how);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->spec_hash, "f387163d");
	/* Unknown names and a test root match nothing. */
	cr_assert_null(cloud_root_find(0xdeadbeefUL, "tlstrunk Test Root CA",
	    NULL, &how));
	cr_assert_str_eq(cloud_root_how_str(how), "none");
}

Test(cloud_roots, truncated_hashes)
{
	const struct cloud_root *e46 = row_named("GlobalSign Root E46");
	const struct cloud_root *r3 = row_named("GlobalSign Root CA - R3");
	int how;

	cr_assert_not_null(e46);
	cr_assert_not_null(r3);
	cr_assert(e46->truncated);
	cr_assert(r3->truncated);
	/* The real certificates' hashes (Debian ca-certificates). */
	cr_assert_eq(e46->hash, 0xfeffd413UL);
	cr_assert_eq(r3->hash, 0x062cdee6UL);
	cr_assert_eq(cloud_root_find(0xfeffd413UL, NULL, NULL, &how), e46);
	cr_assert_eq(how, CLOUD_ROOT_BY_HASH);
	cr_assert_eq(cloud_root_find(0x062cdee6UL, "GlobalSign",
	    "GlobalSign Root CA - R3", &how), r3);
	cr_assert_eq(how, CLOUD_ROOT_BY_HASH | CLOUD_ROOT_BY_NAME);
	/* The cut texts are never matched as if they were whole hashes. */
	cr_assert_null(cloud_root_find(0x413UL, NULL, NULL, &how));
	cr_assert_null(cloud_root_find(0x0062cee6UL, NULL, NULL, &how));
	cr_assert_null(cloud_root_find(0x062cee60UL, NULL, NULL, &how));
	cr_assert_null(cloud_root_find(0x41300000UL, NULL, NULL, &how));
	/* Every other row still matches by name. */
	cr_assert_eq(cloud_root_find(0, "GlobalSign Root E46", NULL, &how), e46);
	cr_assert_eq(how, CLOUD_ROOT_BY_NAME);
}

Test(cloud_roots, shared_hash_two_rows)
{
	const struct cloud_root *r;
	int n = 0, how;

	for (size_t i = 0; i < cloud_roots_count; i++)
		if (cloud_roots[i].hash == 0x4304c5e5UL)
			n++;
	cr_assert_eq(n, 2);
	r = cloud_root_find(0x4304c5e5UL, "Network Solutions Certificate Authority",
	    NULL, &how);
	cr_assert_not_null(r);
	cr_assert_eq(how, CLOUD_ROOT_BY_HASH | CLOUD_ROOT_BY_NAME);
}

/* A real certificate subject, built in memory: hash computed by OpenSSL. */
Test(cloud_roots, match_x509_name)
{
	X509_NAME *n = X509_NAME_new();
	const struct cloud_root *r;
	int how;

	X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC,
	    (const unsigned char *)"GlobalSign Root CA - R3", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"GlobalSign", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"GlobalSign", -1, -1, 0);
	cr_assert_eq(cloud_root_name_hash(n), 0x062cdee6UL);
	r = cloud_root_match_name(n, &how);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->name, "GlobalSign Root CA - R3");
	cr_assert_eq(how, CLOUD_ROOT_BY_HASH | CLOUD_ROOT_BY_NAME);
	X509_NAME_free(n);

	/* Same CN, a different subject: by name only, and it says so. */
	n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"ISRG Root X1", -1, -1, 0);
	r = cloud_root_match_name(n, &how);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->name, "ISRG Root X1");
	cr_assert_eq(how, CLOUD_ROOT_BY_NAME);
	X509_NAME_free(n);

	n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"tlstrunk Test Root CA", -1, -1, 0);
	cr_assert_null(cloud_root_match_name(n, &how));
	cr_assert_eq(how, 0);
	X509_NAME_free(n);
}

/*
 * Against the system's copies of the roots, where installed: each file
 * /etc/ssl/certs/<hash>.0 for a row matches that row by hash and by name.
 */
Test(cloud_roots, system_store_agrees)
{
	char path[64];
	int seen = 0;

	for (size_t i = 0; i < cloud_roots_count; i++) {
		const struct cloud_root *r = &cloud_roots[i], *m;
		FILE *f;
		X509 *x;
		int how = 0;

		snprintf(path, sizeof(path), "/etc/ssl/certs/%08lx.0", r->hash);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
		cr_assert_not_null(x, "%s", path);
		m = cloud_root_match_name(X509_get_subject_name(x), &how);
		cr_assert_not_null(m, "%s (%s)", path, r->name);
		cr_assert_eq(m->hash, r->hash);
		cr_assert_eq(how, CLOUD_ROOT_BY_HASH | CLOUD_ROOT_BY_NAME,
		    "%s (%s): matched by %s only", path, r->name,
		    cloud_root_how_str(how));
		X509_free(x);
		seen++;
	}
	if (seen == 0)
		cr_log_warn("no root of the table in /etc/ssl/certs: skipped");
}
