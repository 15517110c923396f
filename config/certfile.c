/* certfile.c - the PEM files a configuration names (certfile.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "certfile.h"

int
certfile_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

BIO *
certfile_open(const char *path, char *why, size_t len)
{
	struct stat st;
	FILE *fp;
	BIO *b;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(why, len, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(why, len, "%s is not a regular file", path);
		fclose(fp);
		return NULL;
	}
	if ((b = BIO_new_fp(fp, BIO_CLOSE)) == NULL) {
		snprintf(why, len, "out of memory");
		fclose(fp);
	}
	return b;
}

int
certfile_pem_clean_end(void)
{
	unsigned long e = ERR_peek_last_error();
	int clean = e == 0 || (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE);

	ERR_clear_error();
	return clean;
}

STACK_OF(X509) *
certfile_read_certs(const char *path, char *why, size_t len)
{
	STACK_OF(X509) *sk;
	BIO *b;
	X509 *x;

	if ((b = certfile_open(path, why, len)) == NULL)
		return NULL;
	if ((sk = sk_X509_new_null()) == NULL) {
		BIO_free(b);
		snprintf(why, len, "out of memory");
		return NULL;
	}
	/* _AUX: a trusted certificate (a root with trust settings) too. */
	while ((x = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			break;
		}
	}
	BIO_free(b);
	if (!certfile_pem_clean_end())
		snprintf(why, len, "%s: malformed PEM after %d certificate(s)",
		    path, sk_X509_num(sk));
	else if (sk_X509_num(sk) == 0)
		snprintf(why, len, "%s holds no PEM certificate", path);
	else
		return sk;
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

const char *
certfile_date(const ASN1_TIME *t, int with_time, char *buf, size_t len)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 || strftime(buf, len, with_time ?
	    "%Y-%m-%d %H:%M:%S UTC" : "%Y-%m-%d", &tm) == 0)
		snprintf(buf, len, "?");
	return buf;
}

time_t
certfile_time(const ASN1_TIME *t)
{
	struct tm tm;

	return ASN1_TIME_to_tm(t, &tm) == 1 ? timegm(&tm) : 0;
}

time_t
certfile_not_after(const char *path)
{
	char why[256];
	STACK_OF(X509) *sk = certfile_read_certs(path, why, sizeof(why));
	time_t t = 0;

	if (sk != NULL)
		t = certfile_time(X509_get0_notAfter(sk_X509_value(sk, 0)));
	sk_X509_pop_free(sk, X509_free);
	return t;
}
