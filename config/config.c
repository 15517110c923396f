/*
 * config.c - read the INI file into struct config and validate every key,
 * so that a bad configuration stops tlstrunk before any socket is opened,
 * with an error that points at the line to fix.
 *
 * Every key is described once in cfg_keys[]: its section, name and the
 * function that checks and stores its value.  Checks that involve
 * several keys run after the whole file is read (cfg_finish).
 */
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <ini.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "certfile.h"
#include "cfglist.h"
#include "config.h"
#include "log.h"
#include "netaddr.h"
#include "regions.h"
#include "srtp_suites.h"

/*
 * Longest line accepted.  inih's compiled-in 200 bytes is too short for
 * a cipher or allow list; a longer line is an error, never split.
 */
#define CFG_LINE_MAX	4096
#define CFG_WHY_MAX	(PATH_MAX + 512)	/* a path and what is wrong with it */
#define CFG_SECONDS_MAX	86400

#define MEMBER_SIZE(m)	sizeof(((struct config *)0)->m)

const char *const config_default_root_files[] = {
	"/etc/ssl/certs/DigiCert_High_Assurance_EV_Root_CA.pem",
	"/etc/ssl/certs/DigiCert_Global_Root_G2.pem",
	"/etc/ssl/certs/DigiCert_Global_Root_G3.pem",
	NULL
};


/*
 * Suites the cloud deprecated (byoc-tls.md: announced 2025-03-24, removed
 * from 2025-11-17; it already ranks them last).  Still accepted in
 * [cloud] ciphers, for peers that need them, but warned about.
 */
static const struct {
	const char *name;	/* OpenSSL */
	const char *iana;	/* as the cloud's notices spell it */
} cfg_deprecated_ciphers[] = {
	{ "AES256-SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA256" },
	{ "ECDHE-RSA-AES256-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" },
};

static const char *const cfg_sections[] = {
	"general", "pbx", "cloud", "tls_server", "media", "limits", "trace",
	"state", NULL
};

#define SRTP_SUITE_NAME(n)	#n,
static const char *const srtp_known[] = {
	SRTP_SUITE_LIST(SRTP_SUITE_NAME) NULL
};

struct cfg_key;
typedef int (*cfg_set_fn)(struct config *, const struct cfg_key *,
    const char *, char *, size_t);

struct cfg_key {
	const char	*section;
	const char	*name;
	cfg_set_fn	 set;
	size_t		 off;		/* member of struct config (generic setters) */
	size_t		 size;		/* its size, for strings */
	long		 min, max;	/* range, for integers */
	int		 required;	/* a missing key is an error */
	const char	*def;		/* default, as the file would say it */
	const char	*help;		/* one line for --help and the man page */
};

/* One key of a [trunk NAME] or [pbx NAME] section, kept until the
 * whole file is read: a trunk's unset keys take [cloud]'s values, which
 * may come later in the file. */
struct cfg_entry {
	int		 key;		/* index in cfg_keys[] */
	int		 line;
	char		*val;
};

struct cfg_named {
	char		 name[NP_NAME_MAX];
	int		 line;		/* of its [header] */
	struct cfg_entry *e;
	int		 ne;
};

struct cfg_parse {
	struct config	*cfg;
	FILE		*fp;
	int		 lineno;	/* line the reader handed to inih last */
	int		 hdr_line;	/* line of the last [section] header */
	char		 hdr[64];	/* its name */
	int		 hdr_keys;	/* keys seen under it */
	int		 failed;	/* err holds the first error */
	char		*err;
	size_t		 errlen;
	struct cfg_named trunk[CFG_MAX_TRUNKS];
	int		 ntrunk;
	struct cfg_named pbx[CFG_MAX_PBX];
	int		 npbx;
};

const char *
config_cipher_deprecated(const char *name)
{
	for (size_t i = 0; i < sizeof(cfg_deprecated_ciphers) /
	    sizeof(cfg_deprecated_ciphers[0]); i++)
		if (strcasecmp(name, cfg_deprecated_ciphers[i].name) == 0)
			return cfg_deprecated_ciphers[i].iana;
	return NULL;
}

/* "FILE:LINE: [section] key: why", leaving out what is NULL. */
static void
cfg_format(char *err, size_t errlen, const char *path, int line,
    const char *section, const char *key, const char *why)
{
	if (section != NULL && key != NULL)
		snprintf(err, errlen, "%s:%d: [%s] %s: %s", path, line,
		    section, key, why);
	else if (section != NULL)
		snprintf(err, errlen, "%s:%d: [%s]: %s", path, line, section,
		    why);
	else if (key != NULL)
		snprintf(err, errlen, "%s:%d: %s: %s", path, line, key, why);
	else
		snprintf(err, errlen, "%s:%d: %s", path, line, why);
}

/* Record the first error only: later ones are usually its echoes. */
static void
cfg_error(struct cfg_parse *p, int line, const char *section,
    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
cfg_error(struct cfg_parse *p, int line, const char *section,
    const char *key, const char *fmt, ...)
{
	char why[CFG_WHY_MAX];
	va_list ap;

	if (p->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	cfg_format(p->err, p->errlen, p->cfg->path, line, section, key, why);
	p->failed = 1;
}

/* snprintf into a fixed field; -1 when it does not fit. */
static int
copy_str(char *dst, size_t len, const char *src)
{
	int n = snprintf(dst, len, "%s", src);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void *
key_field(struct config *cfg, const struct cfg_key *k)
{
	return (char *)cfg + k->off;
}

int
cfg_list_next(const char **s, char *buf, size_t len)
{
	const char *p = *s, *end;
	size_t n;

	if (p == NULL)
		return 0;
	end = strchr(p, ',');
	n = end ? (size_t)(end - p) : strlen(p);
	*s = end ? end + 1 : NULL;
	while (n > 0 && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	if (n == 0 || n >= len)
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 1;
}

/* Strict decimal: strtol alone would take "12abc" or "". */
static int
parse_long(const char *s, long *v)
{
	char *end;

	if (*s == '\0' || (!isdigit((unsigned char)*s) && *s != '-'))
		return -1;
	errno = 0;
	*v = strtol(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static int
parse_range(const char *val, const struct cfg_key *k, long *v, char *why,
    size_t len)
{
	if (parse_long(val, v) == -1) {
		snprintf(why, len, "\"%s\" is not a number", val);
		return -1;
	}
	if (*v < k->min || *v > k->max) {
		snprintf(why, len, "%ld is out of range (%ld..%ld)", *v, k->min,
		    k->max);
		return -1;
	}
	return 0;
}

/* Generic setters, driven by the key's off/size/min/max. */

static int
set_int(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	long v;

	if (parse_range(val, k, &v, why, len) == -1)
		return -1;
	*(int *)key_field(cfg, k) = (int)v;
	return 0;
}

static int
set_size(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	long v;

	if (parse_range(val, k, &v, why, len) == -1)
		return -1;
	*(size_t *)key_field(cfg, k) = (size_t)v;
	return 0;
}

static int
set_port(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	long v;

	if (parse_range(val, k, &v, why, len) == -1)
		return -1;
	*(uint16_t *)key_field(cfg, k) = (uint16_t)v;
	return 0;
}

static int
set_bool(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	static const char *const yes[] = { "on", "yes", "true", "1", NULL };
	static const char *const no[] = { "off", "no", "false", "0", NULL };

	for (int i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(val, yes[i]) == 0) {
			*(int *)key_field(cfg, k) = 1;
			return 0;
		}
		if (strcasecmp(val, no[i]) == 0) {
			*(int *)key_field(cfg, k) = 0;
			return 0;
		}
	}
	snprintf(why, len, "\"%s\" is not on/off, yes/no, true/false or 1/0",
	    val);
	return -1;
}

static int
set_path(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	if (*val == '\0' && k->required) {
		snprintf(why, len, "must not be empty");
		return -1;
	}
	if (copy_str(key_field(cfg, k), k->size, val) == -1) {
		snprintf(why, len, "too long (at most %zu characters)",
		    k->size - 1);
		return -1;
	}
	return 0;
}

/*
 * tgrp and trunk_context travel as user-part parameters (RFC 4904), so
 * they may only hold what needs no escaping there: unreserved, "%HH"
 * escapes and the trunk-group-unreserved "/&+$".  ';', '=', '@', ':'
 * and blanks would end the parameter or the user part.
 */
static int
uparam_valid(const char *s)
{
	const char *marks = "-_.!~*'()/&+$";

	for (; *s != '\0'; s++) {
		if (*s == '%') {
			if (!isxdigit((unsigned char)s[1]) ||
			    !isxdigit((unsigned char)s[2]))
				return 0;
			s += 2;
		} else if (!isalnum((unsigned char)*s) &&
		    strchr(marks, *s) == NULL) {
			return 0;
		}
	}
	return 1;
}

static int
set_uparam(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	if (*val == '\0') {
		snprintf(why, len, "must not be empty");
		return -1;
	}
	if (!uparam_valid(val)) {
		snprintf(why, len, "\"%s\" has characters not allowed in a SIP "
		    "URI user parameter (use letters, digits, -_.!~*'()/&+$ "
		    "or %%HH)", val);
		return -1;
	}
	return set_path(cfg, k, val, why, len);
}

/* Fill a from "host:port"; need_ip refuses host names. */
static int
addr_parse(struct cfg_addr *a, const char *s, int default_port, int need_ip,
    char *why, size_t len)
{
	struct cfg_addr n;

	memset(&n, 0, sizeof(n));
	if (netaddr_parse_hostport(s, n.host, sizeof(n.host), &n.port,
	    default_port) == -1) {
		snprintf(why, len, "\"%s\" is not host:port or [v6]:port", s);
		return -1;
	}
	n.is_ip = netaddr_is_ip(n.host);
	if (n.is_ip)
		netaddr_to_sockaddr(n.host, n.port, &n.ss, &n.sslen);
	else if (need_ip) {
		snprintf(why, len, "\"%s\" must be an IP address, not a host "
		    "name", n.host);
		return -1;
	} else if (!netaddr_is_hostname(n.host)) {
		snprintf(why, len, "\"%s\" is not a valid host name", n.host);
		return -1;
	}
	*a = n;
	return 0;
}

/* A listen address: IP literal; the port defaults to the default's. */
static int
set_listen(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	struct cfg_addr *a = key_field(cfg, k);

	return addr_parse(a, val, a->port, 1, why, len);
}

/* An IP literal, or "" for the default computed after loading. */
static int
set_ip(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	if (*val != '\0' && !netaddr_is_ip(val)) {
		snprintf(why, len, "\"%s\" must be an IP address", val);
		return -1;
	}
	return set_path(cfg, k, val, why, len);
}

static int
set_tls_version(struct config *cfg, const struct cfg_key *k,
    const char *val, char *why, size_t len)
{
	int *v = key_field(cfg, k);

	if (strcmp(val, "1.2") == 0)
		*v = TLS1_2_VERSION;
	else if (strcmp(val, "1.3") == 0)
		*v = TLS1_3_VERSION;
	else {
		snprintf(why, len, "\"%s\" is not 1.2 or 1.3", val);
		return -1;
	}
	return 0;
}

/* Key-specific setters. */

static int
set_log_level(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	int level = log_level_parse(val);

	if (level == -1) {
		snprintf(why, len, "\"%s\" is not error, warn, info or debug",
		    val);
		return -1;
	}
	cfg->general.log_level = level;
	return 0;
}

static int
set_log_format(struct config *cfg, const struct cfg_key *k,
    const char *val, char *why, size_t len)
{
	if (strcmp(val, "text") == 0)
		cfg->general.log_json = 0;
	else if (strcmp(val, "json") == 0)
		cfg->general.log_json = 1;
	else {
		snprintf(why, len, "\"%s\" is not text or json", val);
		return -1;
	}
	return 0;
}

static int
set_admin_listen(struct config *cfg, const struct cfg_key *k,
    const char *val, char *why, size_t len)
{
	if (*val == '\0') {
		memset(&cfg->general.admin_listen, 0,
		    sizeof(cfg->general.admin_listen));
		return 0;
	}
	return set_listen(cfg, k, val, why, len);
}

static int
set_transports(struct config *cfg, const struct cfg_key *k,
    const char *val, char *why, size_t len)
{
	char item[16];
	unsigned tp = 0;
	int r;

	while ((r = cfg_list_next(&val, item, sizeof(item))) == 1) {
		if (strcasecmp(item, "udp") == 0)
			tp |= CFG_TP_UDP;
		else if (strcasecmp(item, "tcp") == 0)
			tp |= CFG_TP_TCP;
		else
			break;
	}
	if (r != 0 || tp == 0) {
		snprintf(why, len, "expected a list of udp, tcp");
		return -1;
	}
	cfg->pbx.transports = tp;
	return 0;
}

/* "ip[:port][;transport=udp|tcp]" */
static int
set_pbx_address(struct config *cfg, const struct cfg_key *k,
    const char *val, char *why, size_t len)
{
	char hp[CFG_HOST_MAX + 16];
	const char *semi = strchr(val, ';');
	size_t n = semi ? (size_t)(semi - val) : strlen(val);

	if (n >= sizeof(hp)) {
		snprintf(why, len, "too long");
		return -1;
	}
	memcpy(hp, val, n);
	hp[n] = '\0';
	cfg->pbx.address_transport = CFG_TP_UDP;
	if (semi != NULL) {
		if (strcasecmp(semi, ";transport=tcp") == 0)
			cfg->pbx.address_transport = CFG_TP_TCP;
		else if (strcasecmp(semi, ";transport=udp") != 0) {
			snprintf(why, len, "\"%s\" is not ;transport=udp or "
			    ";transport=tcp", semi);
			return -1;
		}
	}
	return addr_parse(&cfg->pbx.address, hp, 5060, 1, why, len);
}

/*
 * A CIDR list into the struct cfg_netlist at k->off.  An empty value is
 * an error for a required list ([pbx] allow: toll fraud) and means "any
 * source" for an optional one.
 */
static int
set_allow(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	struct cfg_netlist *nl = (struct cfg_netlist *)((char *)cfg + k->off);
	struct netaddr_cidr c;
	char item[80];
	int r, n = 0;

	if (*val == '\0' && !k->required) {
		nl->n = 0;
		return 0;
	}
	while ((r = cfg_list_next(&val, item, sizeof(item))) == 1) {
		if (n == CFG_MAX_ALLOW) {
			snprintf(why, len, "too many networks (at most %d)",
			    CFG_MAX_ALLOW);
			return -1;
		}
		r = cidr_parse(item, &c);
		if (r == -1) {
			snprintf(why, len, "\"%s\" is not an IP address or "
			    "CIDR network", item);
			return -1;
		}
		/* 10.0.0.5/8 is more likely a typo than a wish for 10/8. */
		if (r == 1) {
			snprintf(why, len, "\"%s\" has host bits set", item);
			return -1;
		}
		nl->net[n++] = c;
	}
	if (r == -1 || (n == 0 && k->required)) {
		snprintf(why, len, "expected a list of CIDR networks");
		return -1;
	}
	nl->n = n;
	return 0;
}

static int
set_advertised_address(struct config *cfg, const struct cfg_key *k,
    const char *val, char *why, size_t len)
{
	if (*val != '\0' && !netaddr_is_ip(val) && !netaddr_is_hostname(val)) {
		snprintf(why, len, "\"%s\" is not an IP address or host name",
		    val);
		return -1;
	}
	return set_path(cfg, k, val, why, len);
}

static int
set_region(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	const char *const *names = region_names();
	size_t off;

	if (*val == '\0' || region_valid(val))
		return set_path(cfg, k, val, why, len);
	off = (size_t)snprintf(why, len, "unknown region \"%s\" (one of", val);
	for (int i = 0; names[i] != NULL && off < len; i++)
		off += (size_t)snprintf(why + off, len - off, " %s", names[i]);
	if (off < len)
		snprintf(why + off, len - off, ")");
	return -1;
}

/*
 * A TLS peer name: the certificate is checked against it, so an IP
 * literal would never match a cloud proxy certificate.
 */
static int
check_peer_name(const char *name, char *why, size_t len)
{
	char host[CFG_HOST_MAX];
	uint16_t port;

	if (netaddr_parse_hostport(name, host, sizeof(host), &port, 0) == 0 &&
	    netaddr_is_ip(host)) {
		snprintf(why, len, "\"%s\" must be a host name, not an IP "
		    "address", name);
		return -1;
	}
	if (!netaddr_is_hostname(name)) {
		snprintf(why, len, "\"%s\" is not a valid host name", name);
		return -1;
	}
	return 0;
}

static int
set_domain(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	if (*val != '\0' && check_peer_name(val, why, len) == -1)
		return -1;
	return set_path(cfg, k, val, why, len);	/* a bounded string copy */
}

static int
set_hosts(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	char item[CFG_HOST_MAX];
	int r, n = 0;

	/* Empty means "not set": the region table applies. */
	if (*val == '\0') {
		cfg->cloud.nhosts = 0;
		return 0;
	}
	while ((r = cfg_list_next(&val, item, sizeof(item))) == 1) {
		if (n == CFG_MAX_HOSTS) {
			snprintf(why, len, "too many hosts (at most %d)",
			    CFG_MAX_HOSTS);
			return -1;
		}
		if (check_peer_name(item, why, len) == -1)
			return -1;
		memcpy(cfg->cloud.hosts[n++], item, sizeof(item));
	}
	if (r == -1) {
		snprintf(why, len, "expected a list of host names");
		return -1;
	}
	cfg->cloud.nhosts = n;
	return 0;
}

/* A throwaway context: the checks ask OpenSSL itself what it accepts. */
static SSL_CTX *
probe_ctx(char *why, size_t len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());

	if (ctx == NULL)
		snprintf(why, len, "OpenSSL cannot create a context");
	return ctx;
}

/* The exact TLS 1.2 suite called name, or NULL ("HIGH" is no suite). */
static const SSL_CIPHER *
cipher_lookup(SSL_CTX *ctx, const char *name)
{
	STACK_OF(SSL_CIPHER) *sk;
	const SSL_CIPHER *c;

	if (SSL_CTX_set_cipher_list(ctx, name) != 1) {
		ERR_clear_error();
		return NULL;
	}
	sk = SSL_CTX_get_ciphers(ctx);
	for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
		c = sk_SSL_CIPHER_value(sk, i);
		/* TLS 1.3 suites (key exchange "any") are set elsewhere. */
		if (SSL_CIPHER_get_kx_nid(c) != NID_kx_any &&
		    strcmp(SSL_CIPHER_get_name(c), name) == 0)
			return c;
	}
	return NULL;
}

static int
cipher_name_weak(const char *name)
{
	static const char *const bad[] = {
		"3DES", "DES-CBC3", "RC4", "NULL", "EXPORT", "EXP-", "MD5",
		"ADH", "AECDH", NULL
	};

	for (int i = 0; bad[i] != NULL; i++)
		if (strcasestr(name, bad[i]) != NULL)
			return 1;
	return 0;
}

/* Weak: a name above, no AES, or no certificate authentication. */
static int
cipher_weak(const SSL_CIPHER *c, const char *name)
{
	int auth = SSL_CIPHER_get_auth_nid(c);

	return cipher_name_weak(name) || strcasestr(name, "AES") == NULL ||
	    (auth != NID_auth_rsa && auth != NID_auth_ecdsa);
}

static int
check_cipher(SSL_CTX *ctx, const char *name, char *why, size_t len)
{
	const SSL_CIPHER *c = cipher_lookup(ctx, name);

	if (c == NULL && !cipher_name_weak(name)) {
		snprintf(why, len, "unknown cipher suite \"%s\" (not a TLS 1.2 "
		    "suite OpenSSL knows)", name);
		return -1;
	}
	if (c == NULL || cipher_weak(c, name)) {
		snprintf(why, len, "weak suite \"%s\"", name);
		return -1;
	}
	return 0;
}

/* Append item to a ':'-joined list of size len. */
static int
join_item(char *list, size_t len, const char *item)
{
	size_t off = strlen(list);
	int n = snprintf(list + off, len - off, "%s%s", off ? ":" : "", item);

	return n < 0 || (size_t)n >= len - off ? -1 : 0;
}

/*
 * Commas per the contract; ':' also accepted since that is how OpenSSL
 * users write it.  Each name is checked alone so the error can name it.
 */
static int
set_ciphers(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	char list[sizeof(cfg->cloud.ciphers)], copy[CFG_LINE_MAX], item[128];
	const char *p = copy;
	SSL_CTX *ctx = NULL;
	int r, rc = -1;

	list[0] = '\0';
	if (copy_str(copy, sizeof(copy), val) == -1) {
		snprintf(why, len, "list too long");
		goto done;
	}
	for (char *c = copy; *c != '\0'; c++)
		if (*c == ':')
			*c = ',';
	if ((ctx = probe_ctx(why, len)) == NULL)
		goto done;
	while ((r = cfg_list_next(&p, item, sizeof(item))) == 1) {
		if (check_cipher(ctx, item, why, len) == -1)
			goto done;
		if (join_item(list, sizeof(list), item) == -1) {
			snprintf(why, len, "list too long");
			goto done;
		}
	}
	if (r == -1 || list[0] == '\0') {
		snprintf(why, len, "expected a list of cipher suite names");
		goto done;
	}
	if (SSL_CTX_set_cipher_list(ctx, list) != 1) {
		snprintf(why, len, "OpenSSL rejects the list \"%s\"", list);
		goto done;
	}
	memcpy(cfg->cloud.ciphers, list, sizeof(list));
	rc = 0;
done:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

static int
set_groups(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	char list[sizeof(cfg->cloud.groups)], item[64];
	SSL_CTX *ctx;
	int r, rc = -1;

	list[0] = '\0';
	if ((ctx = probe_ctx(why, len)) == NULL)
		return -1;
	while ((r = cfg_list_next(&val, item, sizeof(item))) == 1) {
		if (SSL_CTX_set1_groups_list(ctx, item) != 1) {
			snprintf(why, len, "unknown group \"%s\"", item);
			goto done;
		}
		if (join_item(list, sizeof(list), item) == -1) {
			snprintf(why, len, "list too long");
			goto done;
		}
	}
	if (r == -1 || list[0] == '\0' ||
	    SSL_CTX_set1_groups_list(ctx, list) != 1) {
		snprintf(why, len, "expected a list of group names");
		goto done;
	}
	memcpy(cfg->cloud.groups, list, sizeof(list));
	rc = 0;
done:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/* One "name=ip" pair. */
static int
resolve_parse(struct cfg_resolve *res, const char *item, char *why,
    size_t len)
{
	const char *eq = strchr(item, '=');
	const char *ip = eq ? eq + 1 : "";
	size_t n = eq ? (size_t)(eq - item) : 0;

	memset(res, 0, sizeof(*res));
	if (eq == NULL || n == 0 || n >= sizeof(res->name)) {
		snprintf(why, len, "\"%s\" is not name=ip", item);
		return -1;
	}
	memcpy(res->name, item, n);
	res->name[n] = '\0';
	if (check_peer_name(res->name, why, len) == -1)
		return -1;
	if (netaddr_to_sockaddr(ip, 0, &res->ss, &res->sslen) == -1) {
		snprintf(why, len, "\"%s\" is not an IP address", ip);
		return -1;
	}
	return 0;
}

static int
set_resolve(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	char item[CFG_HOST_MAX + 64];
	int r, n = 0;

	if (*val == '\0') {
		cfg->cloud.nresolve = 0;
		return 0;
	}
	while ((r = cfg_list_next(&val, item, sizeof(item))) == 1) {
		if (n == CFG_MAX_RESOLVE) {
			snprintf(why, len, "too many pairs (at most %d)",
			    CFG_MAX_RESOLVE);
			return -1;
		}
		if (resolve_parse(&cfg->cloud.resolve[n], item, why, len) == -1)
			return -1;
		n++;
	}
	if (r == -1) {
		snprintf(why, len, "expected a list of name=ip pairs");
		return -1;
	}
	cfg->cloud.nresolve = n;
	return 0;
}

static int
set_balance(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	if (strcmp(val, "round-robin") == 0)
		cfg->cloud.balance = CFG_BALANCE_RR;
	else if (strcmp(val, "call-id-hash") == 0)
		cfg->cloud.balance = CFG_BALANCE_CALLID_HASH;
	else {
		snprintf(why, len, "\"%s\" is not round-robin or call-id-hash",
		    val);
		return -1;
	}
	return 0;
}

/*
 * The FQDN the cloud trunk dials and checks our certificate against:
 * public CAs issue no '_' names, and wildcards are not relied on.
 */
static int
set_advertised_name(struct config *cfg, const struct cfg_key *k,
    const char *val, char *why, size_t len)
{
	if (*val == '\0') {
		snprintf(why, len, "must not be empty");
		return -1;
	}
	if (strchr(val, '*') != NULL) {
		snprintf(why, len, "\"%s\" must not be a wildcard", val);
		return -1;
	}
	if (strchr(val, '_') != NULL) {
		snprintf(why, len, "\"%s\" must not contain '_' (public CAs "
		    "do not issue such names)", val);
		return -1;
	}
	if (check_peer_name(val, why, len) == -1)
		return -1;
	return set_path(cfg, k, val, why, len);
}

static int
srtp_suite_known(const char *name)
{
	for (int i = 0; srtp_known[i] != NULL; i++)
		if (strcmp(name, srtp_known[i]) == 0)
			return 1;
	return 0;
}

static int
set_srtp_suites(struct config *cfg, const struct cfg_key *k,
    const char *val, char *why, size_t len)
{
	char item[40];
	int r, n = 0;

	while ((r = cfg_list_next(&val, item, sizeof(item))) == 1) {
		if (!srtp_suite_known(item)) {
			snprintf(why, len, "unknown SRTP suite \"%s\"", item);
			return -1;
		}
		for (int i = 0; i < n; i++)
			if (strcmp(cfg->media.srtp_suites[i], item) == 0) {
				snprintf(why, len, "\"%s\" listed twice", item);
				return -1;
			}
		if (n == CFG_MAX_SUITES) {
			snprintf(why, len, "too many suites");
			return -1;
		}
		memcpy(cfg->media.srtp_suites[n++], item, sizeof(item));
	}
	if (r == -1 || n == 0) {
		snprintf(why, len, "expected a list of SRTP suite names");
		return -1;
	}
	cfg->media.nsrtp_suites = n;
	return 0;
}

static int
set_hep_collector(struct config *cfg, const struct cfg_key *k,
    const char *val, char *why, size_t len)
{
	if (*val == '\0') {
		memset(&cfg->trace.hep_collector, 0,
		    sizeof(cfg->trace.hep_collector));
		return 0;
	}
	return addr_parse(&cfg->trace.hep_collector, val, -1, 0, why, len);
}

/*
 * [state] redis: the loop talks to Redis, so nothing may block it: an IP
 * literal (hiredis would resolve a host name with a blocking
 * getaddrinfo) or a unix socket path.
 */
static int
set_redis(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	char host[CFG_HOST_MAX];
	uint16_t port;

	if (*val == '/') {
		if (strlen(val) >= 108) {	/* sun_path */
			snprintf(why, len, "unix socket path too long (at most "
			    "107 characters)");
			return -1;
		}
	} else if (*val != '\0') {
		if (netaddr_parse_hostport(val, host, sizeof(host), &port,
		    -1) == -1) {
			snprintf(why, len, "\"%s\" is not ip:port, [v6]:port "
			    "or an absolute unix socket path", val);
			return -1;
		}
		if (!netaddr_is_ip(host)) {
			snprintf(why, len, "\"%s\" must be an IP address or a "
			    "unix socket path, not a host name (the event loop "
			    "must not wait for DNS)", host);
			return -1;
		}
	}
	return set_path(cfg, k, val, why, len);
}

/*
 * [state] redis_password_file: read here, so that a missing or empty
 * file stops the start like any bad key.  The password stays in
 * cfg->state.redis_password; it is never logged.
 */
static int
set_redis_password_file(struct config *cfg, const struct cfg_key *k,
    const char *val, char *why, size_t len)
{
	char buf[sizeof(cfg->state.redis_password) + 2];
	size_t n;
	FILE *fp;
	int rv = -1;

	OPENSSL_cleanse(cfg->state.redis_password,
	    sizeof(cfg->state.redis_password));
	if (set_path(cfg, k, val, why, len) == -1)
		return -1;
	if (*val == '\0')
		return 0;	/* no AUTH */
	if ((fp = fopen(val, "r")) == NULL) {
		snprintf(why, len, "cannot read \"%s\": %s", val,
		    strerror(errno));
		return -1;
	}
	buf[0] = '\0';
	if (fgets(buf, sizeof(buf), fp) == NULL && ferror(fp)) {
		snprintf(why, len, "cannot read \"%s\": %s", val,
		    strerror(errno));
		goto done;
	}
	n = strcspn(buf, "\r\n");
	if (n == 0) {
		snprintf(why, len, "\"%s\": the first line (the password) is "
		    "empty", val);
		goto done;
	}
	if (n >= sizeof(cfg->state.redis_password)) {
		snprintf(why, len, "\"%s\": the password is too long (at most "
		    "%zu bytes)", val, sizeof(cfg->state.redis_password) - 1);
		goto done;
	}
	memcpy(cfg->state.redis_password, buf, n);
	cfg->state.redis_password[n] = '\0';
	rv = 0;
done:
	OPENSSL_cleanse(buf, sizeof(buf));
	fclose(fp);
	return rv;
}

/* Printable, no blanks: it starts every key, and SCAN matches it. */
static int
set_key_prefix(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	if (*val == '\0') {
		snprintf(why, len, "must not be empty");
		return -1;
	}
	for (const char *p = val; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			snprintf(why, len, "\"%s\" has a blank or a control or "
			    "non-ASCII character", val);
			return -1;
		}
	return set_path(cfg, k, val, why, len);
}

/* This instance's name in what it writes; empty: the host name. */
static int
set_node(struct config *cfg, const struct cfg_key *k, const char *val,
    char *why, size_t len)
{
	char host[256];

	if (*val == '\0') {
		if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
			snprintf(host, sizeof(host), "tlstrunk");
		host[sizeof(host) - 1] = '\0';
		/* A longer host name is cut: the name only tells nodes apart. */
		snprintf(cfg->state.node, sizeof(cfg->state.node), "%.*s",
		    (int)sizeof(cfg->state.node) - 1, host);
		return 0;
	}
	for (const char *p = val; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("-_.", *p) == NULL) {
			snprintf(why, len, "\"%s\": use letters, digits, '-', "
			    "'_' and '.'", val);
			return -1;
		}
	return set_path(cfg, k, val, why, len);
}

/*
 * Every key tlstrunk accepts (the contract's, shared/spec/config-contract.md,
 * and its additions), in the order --help and the man page list them: the
 * one table of each key's setter, default (config_defaults) and help text
 * (config_key_doc).  tests/integration/88_packaging.sh holds README.md's
 * key block and config/tlstrunk.ini.example to it, tests/unit/test_docs.c
 * the example's values to these defaults.
 */
static const struct cfg_key cfg_keys[] = {
	{ "general", "log_level", .set = set_log_level,
	    .def = "info",
	    .help = "error, warn, info or debug" },
	{ "general", "log_format", .set = set_log_format,
	    .def = "text",
	    .help = "text, or json (one JSON object per line)" },
	{ "general", "admin_listen", .set = set_admin_listen,
	    .off = offsetof(struct config, general.admin_listen),
	    .def = "127.0.0.1:9090",
	    .help = "HTTP GET /healthz and /metrics (Prometheus); empty = off" },

	{ "pbx", "listen", .set = set_listen,
	    .off = offsetof(struct config, pbx.listen),
	    .def = "0.0.0.0:5060",
	    .help = "plaintext SIP from and to the PBX, on every transport listed" },
	{ "pbx", "transports", .set = set_transports,
	    .def = "udp,tcp",
	    .help = "udp, tcp or both" },
	{ "pbx", "address", .set = set_pbx_address, .required = 1,
	    .help = "the PBX's IP:port for calls from the cloud; ;transport=tcp or udp (default); with [pbx NAME] sections: in each of them instead" },
	{ "pbx", "allow", .set = set_allow, .required = 1,
	    .off = offsetof(struct config, pbx.allow),
	    .help = "CIDR list of the source networks allowed to send SIP (others: 403); with [pbx NAME] sections: in each of them instead" },
	{ "pbx", "advertised_address", .set = set_advertised_address,
	    .off = offsetof(struct config, pbx.advertised_address),
	    .size = MEMBER_SIZE(pbx.advertised_address),
	    .help = "address in Via/Record-Route toward the PBX; empty: listen or interface address" },

	{ "cloud", "region", .set = set_region,
	    .off = offsetof(struct config, cloud.region),
	    .size = MEMBER_SIZE(cloud.region),
	    .help = "BYOC region (use1 ... aps1): proxies lb01..lb04; required unless hosts is set" },
	{ "cloud", "hosts", .set = set_hosts,
	    .help = "explicit proxy host names (not IP addresses); wins over region" },
	{ "cloud", "domain", .set = set_domain,
	    .off = offsetof(struct config, cloud.domain),
	    .size = MEMBER_SIZE(cloud.domain),
	    .help = "instead of hosts: find the proxies by SRV _sips._tcp.<domain> (targets inside domain)" },
	{ "cloud", "resolve_interval", .set = set_int,
	    .off = offsetof(struct config, cloud.resolve_interval),
	    .min = 1, .max = CFG_SECONDS_MAX,
	    .def = "300",
	    .help = "seconds between DNS lookups of the proxies (SRV: its TTL when shorter)" },
	{ "cloud", "port", .set = set_port,
	    .off = offsetof(struct config, cloud.port), .min = 1, .max = 65535,
	    .def = "5061",
	    .help = "TLS port of the cloud proxies" },
	{ "cloud", "tgrp", .set = set_uparam,
	    .off = offsetof(struct config, cloud.tgrp),
	    .size = MEMBER_SIZE(cloud.tgrp), .required = 1,
	    .help = "trunk group label of the BYOC trunk (RFC 4904), in the Request-URI" },
	{ "cloud", "trunk_context", .set = set_uparam,
	    .off = offsetof(struct config, cloud.trunk_context),
	    .size = MEMBER_SIZE(cloud.trunk_context), .required = 1,
	    .help = "trunk group namespace of the BYOC trunk (RFC 4904), in the Request-URI" },
	{ "cloud", "ca_file", .set = set_path,
	    .off = offsetof(struct config, cloud.ca_file),
	    .size = MEMBER_SIZE(cloud.ca_file),
	    .help = "PEM roots toward the cloud; with ca_path empty: the DigiCert EV, G2, G3 roots" },
	{ "cloud", "ca_path", .set = set_path,
	    .off = offsetof(struct config, cloud.ca_path),
	    .size = MEMBER_SIZE(cloud.ca_path),
	    .help = "hashed directory of roots toward the cloud" },
	{ "cloud", "crl_file", .set = set_path,
	    .off = offsetof(struct config, cloud.crl_file),
	    .size = MEMBER_SIZE(cloud.crl_file),
	    .help = "PEM CRLs (the leaf issuer's is required; also client CAs' when mutual); empty = none" },
	{ "cloud", "tls_min_version", .set = set_tls_version,
	    .off = offsetof(struct config, cloud.tls_min_version),
	    .def = "1.2",
	    .help = "1.2 or 1.3" },
	{ "cloud", "tls_max_version", .set = set_tls_version,
	    .off = offsetof(struct config, cloud.tls_max_version),
	    .def = "1.2",
	    .help = "1.2 or 1.3 (the cloud speaks 1.2)" },
	/* The spec's eight suites less the two the cloud deprecated,
	 * ECDHE-GCM first: the cloud drops CBC ones. */
	{ "cloud", "ciphers", .set = set_ciphers,
	    .def = "ECDHE-RSA-AES256-GCM-SHA384,ECDHE-RSA-AES128-GCM-SHA256,"
	    "ECDHE-RSA-AES256-SHA,AES256-GCM-SHA384,AES128-GCM-SHA256,AES256-SHA",
	    .help = "TLS 1.2 suites (OpenSSL names), preferred first; weak ones refused, the cloud's deprecated ones warned about" },
	{ "cloud", "groups", .set = set_groups,
	    .def = "secp384r1",
	    .help = "ECDHE groups offered" },
	{ "cloud", "resolve", .set = set_resolve,
	    .help = "name=ip pairs: connect to ip, verify the certificate against name" },
	{ "cloud", "keepalive_interval", .set = set_int,
	    .off = offsetof(struct config, cloud.keepalive_interval),
	    .min = 1, .max = CFG_SECONDS_MAX,
	    .def = "30",
	    .help = "seconds of silence before a double-CRLF keep-alive on our TLS connections" },
	{ "cloud", "balance", .set = set_balance,
	    .def = "round-robin",
	    .help = "round-robin or call-id-hash: how new calls are spread over the proxies" },
	{ "cloud", "options_interval", .set = set_int,
	    .off = offsetof(struct config, cloud.options_interval),
	    .min = 1, .max = CFG_SECONDS_MAX,
	    .def = "30",
	    .help = "seconds between OPTIONS probes of a proxy that is up" },
	{ "cloud", "options_interval_down", .set = set_int,
	    .off = offsetof(struct config, cloud.options_interval_down),
	    .min = 1, .max = CFG_SECONDS_MAX,
	    .def = "10",
	    .help = "seconds between OPTIONS probes of a proxy that is down" },
	{ "cloud", "failover_timeout", .set = set_int,
	    .off = offsetof(struct config, cloud.failover_timeout),
	    .min = 1, .max = 300,
	    .def = "4",
	    .help = "seconds without a provisional response before the next proxy is tried" },
	{ "cloud", "drain_timeout", .set = set_int,
	    .off = offsetof(struct config, cloud.drain_timeout),
	    .min = 1, .max = CFG_SECONDS_MAX,
	    .def = "30",
	    .help = "seconds SIGTERM waits for active calls (new calls get 503)" },
	/* What common SIP proxies read in one piece: Kamailio's TLS reader
	 * drops the connection past 16 KiB (tcp_rd_buf_size). */
	{ "cloud", "max_message_size", .set = set_size,
	    .off = offsetof(struct config, cloud.max_message_size),
	    .min = 1024, .max = 1 << 20,
	    .def = "16384",
	    .help = "largest SIP message sent toward the cloud, in bytes; larger ones make common proxies drop the connection" },

	/* Only in [trunk NAME]: which trunk a call from the cloud came in
	 * on, for routes with from_trunk (its own connections count too). */
	{ "trunk", "allow", .set = set_allow,
	    .off = offsetof(struct config, cloud.allow),
	    .help = "[trunk NAME] only: CIDR list of its proxies' source addresses, for calls from the cloud (routes' from_trunk)" },

	{ "tls_server", "listen", .set = set_listen,
	    .off = offsetof(struct config, tls_server.listen),
	    .def = "0.0.0.0:5061",
	    .help = "TLS listener for calls from the cloud" },
	{ "tls_server", "cert_file", .set = set_path,
	    .off = offsetof(struct config, tls_server.cert_file),
	    .size = MEMBER_SIZE(tls_server.cert_file), .required = 1,
	    .help = "PEM end-entity certificate followed by every intermediate" },
	{ "tls_server", "key_file", .set = set_path,
	    .off = offsetof(struct config, tls_server.key_file),
	    .size = MEMBER_SIZE(tls_server.key_file), .required = 1,
	    .help = "PEM private key of cert_file (not encrypted)" },
	{ "tls_server", "advertised_name", .set = set_advertised_name,
	    .off = offsetof(struct config, tls_server.advertised_name),
	    .size = MEMBER_SIZE(tls_server.advertised_name), .required = 1,
	    .help = "the FQDN configured on the cloud trunk; must be in the certificate" },
	{ "tls_server", "mutual", .set = set_bool,
	    .off = offsetof(struct config, tls_server.mutual),
	    .def = "off",
	    .help = "on or off: require a client certificate" },
	{ "tls_server", "client_ca_file", .set = set_path,
	    .off = offsetof(struct config, tls_server.client_ca_file),
	    .size = MEMBER_SIZE(tls_server.client_ca_file),
	    .help = "PEM CAs for client certificates; required when mutual is on" },
	{ "tls_server", "allow", .set = set_allow,
	    .off = offsetof(struct config, tls_server.allow),
	    .help = "CIDR list of the networks that may connect; empty: any (the cloud's addresses change)" },

	{ "media", "pbx_address", .set = set_ip,
	    .off = offsetof(struct config, media.pbx_address),
	    .size = MEMBER_SIZE(media.pbx_address),
	    .help = "address of the relay sockets facing the PBX; empty: the [pbx] listen host" },
	{ "media", "public_address", .set = set_ip,
	    .off = offsetof(struct config, media.public_address),
	    .size = MEMBER_SIZE(media.public_address),
	    .help = "relay address put in the SDP toward the cloud; required if tls listen is 0.0.0.0" },
	{ "media", "port_min", .set = set_int,
	    .off = offsetof(struct config, media.port_min),
	    .min = 1, .max = 65535,
	    .def = "20000",
	    .help = "lowest relay port (even)" },
	{ "media", "port_max", .set = set_int,
	    .off = offsetof(struct config, media.port_max),
	    .min = 1, .max = 65535,
	    .def = "29999",
	    .help = "highest relay port" },
	{ "media", "srtp_suites", .set = set_srtp_suites,
	    .def = "AES_CM_128_HMAC_SHA1_80,AES_CM_128_HMAC_SHA1_32",
	    .help = "SDES suites offered to the cloud, preferred first" },
	{ "media", "timeout", .set = set_int,
	    .off = offsetof(struct config, media.timeout),
	    .min = 1, .max = CFG_SECONDS_MAX,
	    .def = "60",
	    .help = "seconds without media before a call is ended" },

	{ "limits", "max_message_size", .set = set_size,
	    .off = offsetof(struct config, limits.max_message_size),
	    .min = 1024, .max = 1 << 20,
	    .def = "65536",
	    .help = "largest SIP message accepted, in bytes" },
	{ "limits", "max_connections", .set = set_int,
	    .off = offsetof(struct config, limits.max_connections),
	    .min = 1, .max = 1000000,
	    .def = "1024",
	    .help = "open connections on each listener (PBX TCP, TLS), counted apart" },
	{ "limits", "max_connections_per_source", .set = set_int,
	    .off = offsetof(struct config, limits.max_connections_per_source),
	    .min = 1, .max = 1000000,
	    .def = "64",
	    .help = "open TCP/TLS connections from one source address" },
	{ "limits", "max_calls", .set = set_int,
	    .off = offsetof(struct config, limits.max_calls),
	    .min = 1, .max = 1000000,
	    .def = "2000",
	    .help = "concurrent calls in all (beyond: 503)" },
	{ "limits", "max_cps_per_source", .set = set_int,
	    .off = offsetof(struct config, limits.max_cps_per_source),
	    .min = 1, .max = 100000,
	    .def = "50",
	    .help = "new calls per second from one source address (beyond: 503)" },
	{ "limits", "handshake_timeout", .set = set_int,
	    .off = offsetof(struct config, limits.handshake_timeout),
	    .min = 1, .max = 300,
	    .def = "10",
	    .help = "seconds a TLS handshake may take" },
	{ "limits", "idle_timeout", .set = set_int,
	    .off = offsetof(struct config, limits.idle_timeout),
	    .min = 1, .max = CFG_SECONDS_MAX,
	    .def = "300",
	    .help = "seconds a connection a peer opened may stay without traffic" },
	{ "limits", "message_timeout", .set = set_int,
	    .off = offsetof(struct config, limits.message_timeout),
	    .min = 1, .max = 300,
	    .def = "10",
	    .help = "seconds within which a started SIP message must be complete" },
	{ "limits", "max_headers", .set = set_int,
	    .off = offsetof(struct config, limits.max_headers),
	    .min = 16, .max = 10000,
	    .def = "128",
	    .help = "header fields allowed in one SIP message" },
	{ "limits", "max_calls_per_source", .set = set_int,
	    .off = offsetof(struct config, limits.max_calls_per_source),
	    .min = 1, .max = 1000000,
	    .def = "1000",
	    .help = "concurrent calls from one source address (beyond: 503)" },
	{ "limits", "max_unanswered_invites", .set = set_int,
	    .off = offsetof(struct config, limits.max_unanswered_invites),
	    .min = 1, .max = 1000000,
	    .def = "200",
	    .help = "new calls forwarded and not answered at all yet (beyond: 503 at once: overload)" },

	{ "trace", "hep_collector", .set = set_hep_collector,
	    .help = "host:port of a HEP v3 collector (Homer, sngrep); empty = off" },
	{ "trace", "hep_id", .set = set_int,
	    .off = offsetof(struct config, trace.hep_id),
	    .min = 0, .max = INT_MAX,
	    .def = "2001",
	    .help = "HEP capture agent id" },
	{ "trace", "tls_keylog", .set = set_path,
	    .off = offsetof(struct config, trace.tls_keylog),
	    .size = MEMBER_SIZE(trace.tls_keylog),
	    .help = "NSS key log file of the TLS leg (Wireshark); empty = off, warned when on" },
	{ "trace", "srtp_keylog", .set = set_path,
	    .off = offsetof(struct config, trace.srtp_keylog),
	    .size = MEMBER_SIZE(trace.srtp_keylog),
	    .help = "key log file of the SRTP keys; empty = off, warned when on" },

	/* Issue 15: extras, not in the contract. */
	{ "state", "redis", .set = set_redis,
	    .off = offsetof(struct config, state.redis),
	    .size = MEMBER_SIZE(state.redis),
	    .help = "Redis keeping call state across restarts: ip:port, [v6]:port or a unix socket path (no host names); empty = off" },
	{ "state", "redis_password_file", .set = set_redis_password_file,
	    .off = offsetof(struct config, state.redis_password_file),
	    .size = MEMBER_SIZE(state.redis_password_file),
	    .help = "file whose first line is the Redis AUTH password; empty = no AUTH" },
	{ "state", "key_prefix", .set = set_key_prefix,
	    .off = offsetof(struct config, state.key_prefix),
	    .size = MEMBER_SIZE(state.key_prefix),
	    .def = "tlstrunk:",
	    .help = "prefix of the Redis keys tlstrunk writes (<prefix>call:<Call-ID>)" },
	{ "state", "node", .set = set_node,
	    .off = offsetof(struct config, state.node),
	    .size = MEMBER_SIZE(state.node),
	    .def = "",
	    .help = "this instance's name in the records it writes; empty: the host name" },
	{ "state", "ttl", .set = set_int,
	    .off = offsetof(struct config, state.ttl),
	    .min = 60, .max = CFG_SECONDS_MAX,
	    .def = "3600",
	    .help = "seconds a call's record lives in Redis unless written again (a lost delete expires)" },
};

#define CFG_NKEYS	(int)(sizeof(cfg_keys) / sizeof(cfg_keys[0]))

_Static_assert(sizeof(cfg_keys) / sizeof(cfg_keys[0]) <= CFG_MAX_KEYS,
    "struct config key_line[] is too small for cfg_keys[]");

static int
cfg_key_index(const char *section, const char *name)
{
	for (int i = 0; i < CFG_NKEYS; i++)
		if (strcmp(cfg_keys[i].section, section) == 0 &&
		    strcmp(cfg_keys[i].name, name) == 0)
			return i;
	return -1;
}

int
config_key_doc(int i, struct config_key_doc *out)
{
	const struct cfg_key *k;

	if (i < 0 || i >= CFG_NKEYS)
		return -1;
	k = &cfg_keys[i];
	out->section = k->section;
	out->key = k->name;
	out->def = k->required ? "(required)" : k->def != NULL ? k->def : "";
	out->help = k->help;
	return 0;
}

int
config_key_line(const struct config *cfg, const char *section,
    const char *key)
{
	int i = cfg_key_index(section, key);

	return i == -1 ? -1 : cfg->key_line[i];
}

/*
 * The contract's defaults: each key's .def, set by its own setter as if
 * the file said it, so that the table is the one place a default is
 * written (--help and the man page print the same text).  A default
 * that does not parse is a bug: test_config loads an empty file.
 */
static int
config_defaults(struct config *cfg, char *why, size_t whylen)
{
	memset(cfg, 0, sizeof(*cfg));
	/* Not a key of its own: [pbx] address may leave it out. */
	cfg->pbx.address_transport = CFG_TP_UDP;
	for (int i = 0; i < CFG_NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->def != NULL && k->set(cfg, k, k->def, why, whylen) < 0)
			return -1;
	}
	return 0;
}

/* Sections that carry a name: "[trunk eu]". */
static const char *const cfg_named_kinds[] = { "trunk", "pbx", NULL };

static int
name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= NP_NAME_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("_.-", *s) == NULL)
			return 0;
	return 1;
}

/* "trunk eu" -> kind "trunk", name "eu"; 0, or -1 when not that form. */
static int
section_split(const char *section, char *kind, size_t klen, const char **name)
{
	const char *sp = strchr(section, ' ');
	size_t n;

	if (sp == NULL || (n = (size_t)(sp - section)) >= klen)
		return -1;
	memcpy(kind, section, n);
	kind[n] = '\0';
	while (*sp == ' ')
		sp++;
	*name = sp;
	return 0;
}

static int
section_known(const char *name)
{
	char kind[16];
	const char *sub;

	for (int i = 0; cfg_sections[i] != NULL; i++)
		if (strcmp(name, cfg_sections[i]) == 0)
			return 1;
	if (numplan_section(name))
		return 1;
	if (section_split(name, kind, sizeof(kind), &sub) == -1)
		return 0;
	for (int i = 0; cfg_named_kinds[i] != NULL; i++)
		if (strcmp(kind, cfg_named_kinds[i]) == 0)
			return 1;
	return 0;
}

/*
 * inih never reports a section without keys: a named one ("[pbx b]")
 * left empty would vanish without a word, and a route naming it fail
 * with a puzzling "unknown".  Checked at the next header and at the end.
 */
static int
section_close(struct cfg_parse *p)
{
	if (p->hdr[0] == '\0' || p->hdr_keys > 0 ||
	    strchr(p->hdr, ' ') == NULL)
		return 0;
	cfg_error(p, p->hdr_line, p->hdr, NULL, "section without keys");
	return -1;
}

/*
 * inih never reports a section without keys, so unknown sections are
 * caught here, on the raw line.  A malformed header is left to inih.
 */
static int
reader_check_section(struct cfg_parse *p, const char *line)
{
	char name[64];
	const char *end;
	size_t n;

	if (p->lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
		line += 3;
	while (isspace((unsigned char)*line))
		line++;
	if (*line != '[' || (end = strchr(line, ']')) == NULL)
		return 0;
	if (section_close(p) == -1)
		return -1;
	p->hdr_line = p->lineno;
	n = (size_t)(end - line - 1);
	if (n < sizeof(name)) {
		memcpy(name, line + 1, n);
		name[n] = '\0';
		memcpy(p->hdr, name, n + 1);
		p->hdr_keys = 0;
		if (section_known(name))
			return 0;
	}
	cfg_error(p, p->lineno, n < sizeof(name) ? name : "...", NULL,
	    "unknown section");
	return -1;
}

/* fgets for inih, counting lines: its handler gets no line number. */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct cfg_parse *p = stream;
	size_t n;

	if (p->failed || fgets(str, num, p->fp) == NULL)
		return NULL;
	p->lineno++;
	n = strlen(str);
	if (n > 0 && str[n - 1] != '\n' && !feof(p->fp)) {
		cfg_error(p, p->lineno, NULL, NULL,
		    "line too long (at most %d characters)", num - 2);
		return NULL;
	}
	if (reader_check_section(p, str) == -1)
		return NULL;
	return str;
}

/* Keys a [pbx NAME] may set, and the [cloud] keys a trunk may not. */
static const char *const cfg_pbx_named_keys[] = {
	"address", "allow", "transports", NULL
};
static const char *const cfg_process_wide_keys[] = {
	"keepalive_interval", "drain_timeout", "max_message_size", NULL
};

static int
str_in(const char *s, const char *const *list)
{
	for (int i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* The cfg_keys[] row for a key of a named section, or -1. */
static int
named_key_index(const char *kind, const char *key)
{
	if (strcmp(kind, "pbx") == 0)
		return str_in(key, cfg_pbx_named_keys) ?
		    cfg_key_index("pbx", key) : -1;
	if (cfg_key_index("trunk", key) != -1)
		return cfg_key_index("trunk", key);
	return str_in(key, cfg_process_wide_keys) ? -1 :
	    cfg_key_index("cloud", key);
}

/* The section "kind name" in its table, created on its first key. */
static struct cfg_named *
named_get(struct cfg_parse *p, const char *section, const char *kind,
    const char *name)
{
	int trunk = strcmp(kind, "trunk") == 0;
	struct cfg_named *tab = trunk ? p->trunk : p->pbx;
	int *n = trunk ? &p->ntrunk : &p->npbx;
	int max = trunk ? CFG_MAX_TRUNKS : CFG_MAX_PBX;

	if (!name_valid(name)) {
		cfg_error(p, p->hdr_line, section, NULL, "a name is 1 to %d "
		    "letters, digits, '_', '.' or '-'", NP_NAME_MAX - 1);
		return NULL;
	}
	for (int i = 0; i < *n; i++) {
		if (strcmp(tab[i].name, name) != 0)
			continue;
		if (tab[i].line != p->hdr_line) {
			cfg_error(p, p->hdr_line, section, NULL, "already "
			    "defined on line %d", tab[i].line);
			return NULL;
		}
		return &tab[i];
	}
	if (*n == max) {
		cfg_error(p, p->hdr_line, section, NULL, "too many [%s NAME] "
		    "sections (at most %d)", kind, max);
		return NULL;
	}
	memcpy(tab[*n].name, name, strlen(name) + 1);
	tab[*n].line = p->hdr_line;
	return &tab[(*n)++];
}

static int
named_handler(struct cfg_parse *p, const char *section, const char *key,
    const char *value)
{
	struct cfg_named *nm;
	struct cfg_entry *e;
	char kind[16];
	const char *name;
	int i;

	if (section_split(section, kind, sizeof(kind), &name) == -1 ||
	    (nm = named_get(p, section, kind, name)) == NULL) {
		cfg_error(p, p->hdr_line, section, NULL, "unknown section");
		return 0;
	}
	if ((i = named_key_index(kind, key)) == -1) {
		cfg_error(p, p->lineno, section, key, "unknown key%s",
		    str_in(key, cfg_process_wide_keys) ? " (process-wide: "
		    "set it in [cloud])" : "");
		return 0;
	}
	for (int j = 0; j < nm->ne; j++)
		if (nm->e[j].key == i) {
			cfg_error(p, p->lineno, section, key, "duplicate key "
			    "(first set on line %d)", nm->e[j].line);
			return 0;
		}
	e = realloc(nm->e, (size_t)(nm->ne + 1) * sizeof(*e));
	if (e == NULL || (e[nm->ne].val = strdup(value)) == NULL) {
		if (e != NULL)
			nm->e = e;
		cfg_error(p, p->lineno, section, key, "out of memory");
		return 0;
	}
	nm->e = e;
	e[nm->ne].key = i;
	e[nm->ne++].line = p->lineno;
	return 1;
}

static int
numplan_handler(struct cfg_parse *p, const char *section, const char *key,
    const char *value)
{
	struct np_error e;

	memset(&e, 0, sizeof(e));
	if (numplan_set(&p->cfg->plan, section, key, value, p->lineno,
	    p->hdr_line, &e) == 0)
		return 1;
	cfg_error(p, e.line, e.section[0] ? e.section : section,
	    e.key[0] ? e.key : NULL, "%s", e.why);
	return 0;
}

static int
cfg_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct cfg_parse *p = user;
	char why[CFG_WHY_MAX];
	int i, *line;

	p->hdr_keys++;
	if (*section == '\0') {
		cfg_error(p, p->lineno, NULL, name, "not inside a [section]");
		return 0;
	}
	if (numplan_section(section))
		return numplan_handler(p, section, name, value);
	if (strchr(section, ' ') != NULL)
		return named_handler(p, section, name, value);
	if ((i = cfg_key_index(section, name)) == -1) {
		cfg_error(p, p->lineno, section, name, "unknown key");
		return 0;
	}
	line = &p->cfg->key_line[i];
	if (*line != 0) {
		cfg_error(p, p->lineno, section, name,
		    "duplicate key (first set on line %d)", *line);
		return 0;
	}
	*line = p->lineno;
	why[0] = '\0';
	if (cfg_keys[i].set(p->cfg, &cfg_keys[i], value, why,
	    sizeof(why)) == -1) {
		cfg_error(p, p->lineno, section, name, "%s", why);
		return 0;
	}
	return 1;
}

/* inih's knobs are process-wide: set ours for this parse only. */
static int
cfg_parse_stream(struct cfg_parse *p)
{
	bool multiline = ini_allow_multiline, stack = ini_use_stack;
	bool stop = ini_stop_on_first_error;
	int max_line = ini_max_line, initial = ini_initial_alloc, r;

	/* A continuation line would look like a duplicate key. */
	ini_allow_multiline = false;
	/* A heap line buffer is the only way to get longer lines. */
	ini_use_stack = false;
	ini_max_line = CFG_LINE_MAX;
	ini_initial_alloc = CFG_LINE_MAX;
	ini_stop_on_first_error = true;
	r = ini_parse_stream(cfg_reader, p, cfg_handler, p);
	ini_allow_multiline = multiline;
	ini_use_stack = stack;
	ini_max_line = max_line;
	ini_initial_alloc = initial;
	ini_stop_on_first_error = stop;
	return r;
}

/* Keys required of a trunk or a PBX: there, or in each named one. */
static int
key_per_target(const struct cfg_parse *p, const struct cfg_key *k)
{
	if (strcmp(k->section, "cloud") == 0)
		return p->ntrunk > 0;
	if (strcmp(k->section, "pbx") == 0)
		return p->npbx > 0;
	return 0;
}

static int
cfg_check_required(struct cfg_parse *p)
{
	for (int i = 0; i < CFG_NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (!k->required || p->cfg->key_line[i] != 0)
			continue;
		if (key_per_target(p, k))
			continue;
		cfg_error(p, 0, k->section, k->name, "required key missing");
		return -1;
	}
	return 0;
}

static int
line_of(const struct config *cfg, const char *section, const char *key)
{
	int line = config_key_line(cfg, section, key);

	return line > 0 ? line : 0;
}

/* The line of key in a named section, else its header's. */
static int
named_line(const struct cfg_named *nm, const char *key)
{
	for (int i = 0; i < nm->ne; i++)
		if (strcmp(cfg_keys[nm->e[i].key].name, key) == 0)
			return nm->e[i].line;
	return nm->line;
}

/*
 * Where a trunk's settings are: [cloud] (section "cloud", lines from
 * key_line) or a [trunk NAME] (its entries).
 */
struct cfg_where {
	const char *section;
	const struct cfg_named *nm;	/* NULL for [cloud] */
};

static int
where_line(const struct cfg_parse *p, const struct cfg_where *w,
    const char *key)
{
	return w->nm ? named_line(w->nm, key) : line_of(p->cfg, "cloud", key);
}

/* The line where this section set key, 0 when it did not. */
static int
where_set(const struct cfg_parse *p, const struct cfg_where *w,
    const char *key)
{
	if (w->nm == NULL)
		return line_of(p->cfg, "cloud", key);
	return named_line(w->nm, key) != w->nm->line ?
	    named_line(w->nm, key) : 0;
}

/* The proxy list: SRV at run time, explicit hosts, or the region table. */
static int
cfg_finish_hosts(struct cfg_parse *p, struct cfg_cloud *c,
    const struct cfg_where *w)
{
	if (c->domain[0] != '\0') {
		if (c->nhosts != 0) {
			cfg_error(p, where_line(p, w, "domain"), w->section,
			    "domain", "set hosts or domain, not both");
			return -1;
		}
		return 0;	/* from _sips._tcp.<domain> at run time */
	}
	if (c->nhosts == 0 && c->region[0] == '\0') {
		cfg_error(p, w->nm ? w->nm->line : 0, w->section, "region",
		    "required key missing (or set hosts or domain)");
		return -1;
	}
	/* An explicit hosts list wins over the region table. */
	for (int i = 0; c->nhosts == 0 && i < REGION_NHOSTS; i++)
		region_host(c->region, i + 1, c->hosts[i], sizeof(c->hosts[i]));
	if (c->nhosts == 0)
		c->nhosts = REGION_NHOSTS;
	return 0;
}

static int
cfg_finish_trunk(struct cfg_parse *p, struct cfg_cloud *c,
    const struct cfg_where *w)
{
	int line;

	if (cfg_finish_hosts(p, c, w) == -1)
		return -1;
	if (c->tgrp[0] == '\0' || c->trunk_context[0] == '\0') {
		cfg_error(p, w->nm ? w->nm->line : 0, w->section,
		    c->tgrp[0] == '\0' ? "tgrp" : "trunk_context",
		    "required key missing (here or in [cloud])");
		return -1;
	}
	if (c->tls_min_version > c->tls_max_version) {
		/* Point at whichever of the two this section set. */
		line = where_set(p, w, "tls_max_version");
		cfg_error(p, line ? line : where_line(p, w, "tls_min_version"),
		    w->section, line ? "tls_max_version" : "tls_min_version",
		    "tls_min_version is above tls_max_version");
		return -1;
	}
	return 0;
}

/* Apply a named section's keys to scratch, through the key table. */
static int
named_apply(struct cfg_parse *p, const struct cfg_named *nm,
    const char *section, struct config *scratch)
{
	char why[CFG_WHY_MAX];

	for (int i = 0; i < nm->ne; i++) {
		const struct cfg_key *k = &cfg_keys[nm->e[i].key];
		why[0] = '\0';
		if (k->set(scratch, k, nm->e[i].val, why, sizeof(why)) == -1) {
			cfg_error(p, nm->e[i].line, section, k->name, "%s", why);
			return -1;
		}
	}
	return 0;
}

static int
named_sets(const struct cfg_named *nm, const char *key)
{
	return named_line(nm, key) != nm->line;
}

/*
 * Each [trunk NAME]: [cloud] as written, its own keys over it (one that
 * names the proxies, region, hosts or domain, replaces all three), then
 * the same checks as [cloud].  Without named trunks, [cloud] is the one.
 */
static int
cfg_finish_trunks(struct cfg_parse *p, struct config *scratch)
{
	struct config *cfg = p->cfg;
	struct cfg_where w = { "cloud", NULL };
	char section[NP_NAME_MAX + 8];

	for (int i = 0; i < p->ntrunk; i++) {
		const struct cfg_named *nm = &p->trunk[i];
		struct cfg_cloud *c = &scratch->cloud;
		*c = cfg->cloud;
		if (named_sets(nm, "region") || named_sets(nm, "hosts") ||
		    named_sets(nm, "domain")) {
			c->region[0] = c->domain[0] = '\0';
			c->nhosts = 0;
		}
		snprintf(section, sizeof(section), "trunk %s", nm->name);
		w.section = section;
		w.nm = nm;
		if (named_apply(p, nm, section, scratch) == -1 ||
		    cfg_finish_trunk(p, c, &w) == -1)
			return -1;
		memcpy(c->name, nm->name, sizeof(c->name));
		c->line = nm->line;
		cfg->trunks[i] = *c;
	}
	cfg->ntrunks = p->ntrunk;
	if (p->ntrunk > 0)
		return 0;
	w.section = "cloud";
	w.nm = NULL;
	if (cfg_finish_trunk(p, &cfg->cloud, &w) == -1)
		return -1;
	copy_str(cfg->cloud.name, sizeof(cfg->cloud.name), CFG_DEFAULT_NAME);
	cfg->trunks[0] = cfg->cloud;
	cfg->ntrunks = 1;
	return 0;
}

/* The one PBX [pbx] describes, or each [pbx NAME] (then [pbx] names none). */
static int
cfg_finish_pbxs(struct cfg_parse *p, struct config *scratch)
{
	struct config *cfg = p->cfg;
	char section[NP_NAME_MAX + 8];
	const char *key;

	if (p->npbx == 0) {
		struct cfg_pbx *x = &cfg->pbxs[0];
		copy_str(x->name, sizeof(x->name), CFG_DEFAULT_NAME);
		x->address = cfg->pbx.address;
		x->address_transport = cfg->pbx.address_transport;
		x->allow = cfg->pbx.allow;
		x->transports = cfg->pbx.transports;
		cfg->npbx = 1;
		return 0;
	}
	key = line_of(cfg, "pbx", "address") ? "address" :
	    line_of(cfg, "pbx", "allow") ? "allow" : NULL;
	if (key != NULL) {
		cfg_error(p, line_of(cfg, "pbx", key), "pbx", key, "set it in "
		    "each [pbx NAME] section instead (there are %d)", p->npbx);
		return -1;
	}
	for (int i = 0; i < p->npbx; i++) {
		const struct cfg_named *nm = &p->pbx[i];
		struct cfg_pbx *x = &cfg->pbxs[i];
		snprintf(section, sizeof(section), "pbx %s", nm->name);
		scratch->pbx = cfg->pbx;	/* transports: [pbx]'s */
		if (named_apply(p, nm, section, scratch) == -1)
			return -1;
		key = !named_sets(nm, "address") ? "address" :
		    !named_sets(nm, "allow") ? "allow" : NULL;
		if (key != NULL) {
			cfg_error(p, nm->line, section, key, "required key "
			    "missing");
			return -1;
		}
		memcpy(x->name, nm->name, sizeof(x->name));
		x->address = scratch->pbx.address;
		x->address_transport = scratch->pbx.address_transport;
		x->allow = scratch->pbx.allow;
		x->transports = scratch->pbx.transports & cfg->pbx.transports;
		if (x->transports == 0) {
			cfg_error(p, named_line(nm, "transports"), section,
			    "transports", "none of them is in [pbx] transports");
			return -1;
		}
	}
	cfg->npbx = p->npbx;
	return 0;
}

static int
cfg_finish_plan(struct cfg_parse *p)
{
	struct config *cfg = p->cfg;
	const char *pbx[CFG_MAX_PBX], *trunk[CFG_MAX_TRUNKS];
	struct np_error e;

	for (int i = 0; i < cfg->npbx; i++)
		pbx[i] = cfg->pbxs[i].name;
	for (int i = 0; i < cfg->ntrunks; i++)
		trunk[i] = cfg->trunks[i].name;
	memset(&e, 0, sizeof(e));
	if (numplan_finish(&cfg->plan, pbx, cfg->npbx, trunk, cfg->ntrunks,
	    &e) == 0)
		return 0;
	cfg_error(p, e.line, e.section[0] ? e.section : NULL,
	    e.key[0] ? e.key : NULL, "%s", e.why);
	return -1;
}

/* Named sections in a scratch struct config: the setters write there. */
static int
cfg_finish_named(struct cfg_parse *p)
{
	struct config *scratch = calloc(1, sizeof(*scratch));
	int r;

	if (scratch == NULL) {
		cfg_error(p, 0, NULL, NULL, "out of memory");
		return -1;
	}
	r = cfg_finish_trunks(p, scratch) == -1 ||
	    cfg_finish_pbxs(p, scratch) == -1 || cfg_finish_plan(p) == -1 ?
	    -1 : 0;
	free(scratch);
	return r;
}

/* First non-loopback IPv4 interface address, else 127.0.0.1. */
static void
iface_address(char *buf, size_t len)
{
	struct ifaddrs *ifa, *i;

	copy_str(buf, len, "127.0.0.1");
	if (getifaddrs(&ifa) == -1)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
		    (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
		    buf, (socklen_t)len);
		break;
	}
	freeifaddrs(ifa);
}

/* A listen host as an address to give peers: wildcards are not one. */
static void
host_or_iface(const char *listen_host, char *buf, size_t len)
{
	if (netaddr_is_any(listen_host))
		iface_address(buf, len);
	else
		copy_str(buf, len, listen_host);
}

static int
cfg_finish_addresses(struct cfg_parse *p)
{
	struct config *cfg = p->cfg;

	if (cfg->pbx.advertised_address[0] == '\0')
		host_or_iface(cfg->pbx.listen.host, cfg->pbx.advertised_address,
		    sizeof(cfg->pbx.advertised_address));
	if (cfg->media.pbx_address[0] == '\0')
		host_or_iface(cfg->pbx.listen.host, cfg->media.pbx_address,
		    sizeof(cfg->media.pbx_address));
	if (cfg->media.public_address[0] != '\0')
		return 0;
	/* The SDP toward the cloud needs the address NAT maps to us. */
	if (netaddr_is_any(cfg->tls_server.listen.host)) {
		cfg_error(p, 0, "media", "public_address", "required key "
		    "missing ([tls_server] listen is a wildcard address)");
		return -1;
	}
	copy_str(cfg->media.public_address, sizeof(cfg->media.public_address),
	    cfg->tls_server.listen.host);
	return 0;
}

static int
cfg_finish_ranges(struct cfg_parse *p)
{
	struct config *cfg = p->cfg;
	int line;

	if (cfg->tls_server.mutual && cfg->tls_server.client_ca_file[0] == '\0') {
		cfg_error(p, 0, "tls_server", "client_ca_file",
		    "required key missing (mutual is on)");
		return -1;
	}
	/* RTP takes the even port, RTCP the odd one above it. */
	if (cfg->media.port_min % 2 != 0) {
		cfg_error(p, line_of(cfg, "media", "port_min"), "media",
		    "port_min", "%d must be even", cfg->media.port_min);
		return -1;
	}
	if (cfg->media.port_min >= cfg->media.port_max) {
		line = line_of(cfg, "media", "port_max");
		cfg_error(p, line ? line : line_of(cfg, "media", "port_min"),
		    "media", line ? "port_max" : "port_min",
		    "port_min must be below port_max");
		return -1;
	}
	if (cfg->limits.max_connections_per_source <=
	    cfg->limits.max_connections)
		return 0;
	/* Point at whichever of the two the file set. */
	if ((line = line_of(cfg, "limits", "max_connections_per_source")) > 0)
		cfg_error(p, line, "limits", "max_connections_per_source",
		    "above max_connections (%d)", cfg->limits.max_connections);
	else
		cfg_error(p, line_of(cfg, "limits", "max_connections"),
		    "limits", "max_connections",
		    "below max_connections_per_source (%d)",
		    cfg->limits.max_connections_per_source);
	return -1;
}

static void
named_free(struct cfg_named *nm, int n)
{
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < nm[i].ne; j++)
			free(nm[i].e[j].val);
		free(nm[i].e);
	}
}

static int
cfg_finish(struct cfg_parse *p)
{
	if (cfg_check_required(p) == -1 || cfg_finish_named(p) == -1 ||
	    cfg_finish_ranges(p) == -1 || cfg_finish_addresses(p) == -1)
		return -1;
	return 0;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct cfg_parse p;
	char why[CFG_WHY_MAX];
	int r;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.err = err;
	p.errlen = errlen;
	if (config_defaults(cfg, why, sizeof(why)) < 0) {
		cfg_error(&p, 0, NULL, NULL, "a built-in default: %s", why);
		goto done;
	}
	if (copy_str(cfg->path, sizeof(cfg->path), path) == -1) {
		cfg_error(&p, 0, NULL, NULL, "path too long");
		goto done;
	}
	if ((p.fp = fopen(path, "r")) == NULL) {
		cfg_error(&p, 0, NULL, NULL, "cannot open: %s", strerror(errno));
		goto done;
	}
	r = cfg_parse_stream(&p);
	if (r == 0 && !p.failed)
		section_close(&p);
	if (r == -2)
		cfg_error(&p, 0, NULL, NULL, "out of memory");
	else if (r != 0)
		cfg_error(&p, r, NULL, NULL, "syntax error (expected "
		    "[section] or key = value)");
	else if (ferror(p.fp))
		cfg_error(&p, p.lineno, NULL, NULL, "read error");
	if (!p.failed)
		cfg_finish(&p);
done:
	if (p.fp != NULL)
		fclose(p.fp);
	named_free(p.trunk, p.ntrunk);
	named_free(p.pbx, p.npbx);
	if (p.failed)
		numplan_free(&cfg->plan);
	return p.failed ? -1 : 0;
}

void
config_free(struct config *cfg)
{
	if (cfg != NULL)
		numplan_free(&cfg->plan);
}

int
config_net_allowed(const struct cfg_netlist *nl, const struct sockaddr *sa)
{
	for (int i = 0; i < nl->n; i++)
		if (cidr_match(&nl->net[i], sa))
			return 1;
	return 0;
}

const struct cfg_resolve *
config_resolve_find(const struct cfg_cloud *tc, const char *name)
{
	for (int i = 0; i < tc->nresolve; i++)
		if (strcasecmp(tc->resolve[i].name, name) == 0)
			return &tc->resolve[i];
	return NULL;
}

int
config_pbx_find(const struct config *cfg, const struct sockaddr *sa)
{
	for (int i = 0; i < cfg->npbx; i++)
		if (config_net_allowed(&cfg->pbxs[i].allow, sa))
			return i;
	return -1;
}

int
config_pbx_allowed(const struct config *cfg, const struct sockaddr *sa)
{
	return config_pbx_find(cfg, sa) != -1;
}

int
config_trunk_named(const struct config *cfg, const char *name)
{
	for (int i = 0; i < cfg->ntrunks; i++)
		if (strcmp(cfg->trunks[i].name, name) == 0)
			return i;
	return -1;
}

int
config_pbx_named(const struct config *cfg, const char *name)
{
	for (int i = 0; i < cfg->npbx; i++)
		if (strcmp(cfg->pbxs[i].name, name) == 0)
			return i;
	return -1;
}

int
config_trunk_by_source(const struct config *cfg, const struct sockaddr *sa)
{
	for (int i = 0; i < cfg->ntrunks; i++)
		if (config_net_allowed(&cfg->trunks[i].allow, sa))
			return i;
	return -1;
}

int
config_cloud_allowed(const struct config *cfg, const struct sockaddr *sa)
{
	return cfg->tls_server.allow.n == 0 ||
	    config_net_allowed(&cfg->tls_server.allow, sa);
}

/*
 * config_check_files: open what the configuration names, so that "-t"
 * catches a wrong file before the first call does.
 */

/*
 * Read every certificate of a PEM file; keep the first in *first when
 * first is not NULL.  Returns the count, or -1 with why.
 */
static int
pem_read_certs(const char *path, X509 **first, char *why, size_t len)
{
	STACK_OF(X509) *sk = certfile_read_certs(path, why, len);
	int n;

	if (sk == NULL)
		return -1;
	n = sk_X509_num(sk);
	if (first != NULL)
		*first = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	return n;
}

/* Dates: expired is an error; the last 30 days are worth a warning. */
static int
check_validity(const char *path, X509 *leaf, char *why, size_t len)
{
	char when[64];
	time_t soon = time(NULL) + CFG_CERT_WARN_DAYS * 86400;

	if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
		certfile_date(X509_get0_notBefore(leaf), 1, when, sizeof(when));
		snprintf(why, len, "%s is not valid before %s", path, when);
		return -1;
	}
	certfile_date(X509_get0_notAfter(leaf), 1, when, sizeof(when));
	if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0) {
		snprintf(why, len, "%s expired on %s", path, when);
		return -1;
	}
	if (X509_cmp_time(X509_get0_notAfter(leaf), &soon) <= 0)
		log_warn(NULL, "%s expires on %s: renew it", path, when);
	return 0;
}

static int
check_chain(const char *path, X509 **leaf, char *why, size_t len)
{
	int n = pem_read_certs(path, leaf, why, len);

	if (n == -1)
		return -1;
	/* The cloud needs every intermediate; one cert is seldom enough. */
	if (n == 1 && X509_check_issued(*leaf, *leaf) != X509_V_OK)
		log_warn(NULL, "%s holds only the end-entity certificate; "
		    "append every intermediate", path);
	return check_validity(path, *leaf, why, len);
}

static EVP_PKEY *
read_key(const char *path, char *why, size_t len)
{
	EVP_PKEY *key;
	BIO *b;

	if ((b = certfile_open(path, why, len)) == NULL)
		return NULL;
	key = PEM_read_bio_PrivateKey(b, NULL, certfile_no_passphrase, NULL);
	BIO_free(b);
	ERR_clear_error();
	if (key == NULL)
		snprintf(why, len, "%s holds no readable PEM private key "
		    "(encrypted keys are not supported)", path);
	return key;
}

static int
check_crl(const char *path, char *why, size_t len)
{
	X509_CRL *crl;
	BIO *b;
	int n = 0;

	if ((b = certfile_open(path, why, len)) == NULL)
		return -1;
	while ((crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL) {
		X509_CRL_free(crl);
		n++;
	}
	BIO_free(b);
	if (!certfile_pem_clean_end() || n == 0) {
		snprintf(why, len, "%s holds no readable PEM CRL", path);
		return -1;
	}
	return 0;
}

static int
check_dir(const char *path, char *why, size_t len)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(why, len, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || access(path, R_OK | X_OK) == -1) {
		snprintf(why, len, "%s is not a readable directory", path);
		return -1;
	}
	return 0;
}

/* At least one default root must load; name the missing ones. */
static int
check_default_roots(char *why, size_t len)
{
	char missing[1024] = "", dummy[CFG_WHY_MAX];
	int loaded = 0;

	for (int i = 0; config_default_root_files[i] != NULL; i++) {
		if (pem_read_certs(config_default_root_files[i], NULL, dummy,
		    sizeof(dummy)) > 0)
			loaded++;
		else
			join_item(missing, sizeof(missing),
			    config_default_root_files[i]);
	}
	if (loaded == 0) {
		snprintf(why, len, "none of the default DigiCert roots can be "
		    "read (missing: %s); install ca-certificates or set ca_file",
		    missing);
		return -1;
	}
	if (missing[0] != '\0')
		log_warn(NULL, "default DigiCert roots missing: %s", missing);
	return 0;
}

struct check_ctx {
	const struct config	*cfg;
	char			*err;
	size_t			 errlen;
	char			 why[CFG_WHY_MAX];
};

/* Record an error against [section] key, at the line it was set on. */
static int
check_fail(struct check_ctx *c, const char *section, const char *key)
{
	cfg_format(c->err, c->errlen, c->cfg->path,
	    line_of(c->cfg, section, key), section, key, c->why);
	return -1;
}

/* A trunk's: [cloud]'s line, or its [trunk NAME] header's. */
static int
check_fail_trunk(struct check_ctx *c, const struct cfg_cloud *t,
    const char *key)
{
	char section[NP_NAME_MAX + 8];

	if (t->line == 0)
		return check_fail(c, "cloud", key);
	snprintf(section, sizeof(section), "trunk %s", t->name);
	cfg_format(c->err, c->errlen, c->cfg->path, t->line, section, key,
	    c->why);
	return -1;
}

static int
check_tls_server(struct check_ctx *c)
{
	const struct config *cfg = c->cfg;
	X509 *leaf = NULL;
	EVP_PKEY *key = NULL;
	int rc = -1;

	if (check_chain(cfg->tls_server.cert_file, &leaf, c->why,
	    sizeof(c->why)) == -1) {
		rc = check_fail(c, "tls_server", "cert_file");
		goto done;
	}
	if ((key = read_key(cfg->tls_server.key_file, c->why,
	    sizeof(c->why))) == NULL) {
		rc = check_fail(c, "tls_server", "key_file");
		goto done;
	}
	if (X509_check_private_key(leaf, key) != 1) {
		snprintf(c->why, sizeof(c->why), "does not match cert_file");
		rc = check_fail(c, "tls_server", "key_file");
		goto done;
	}
	if (X509_check_host(leaf, cfg->tls_server.advertised_name, 0,
	    X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1) {
		snprintf(c->why, sizeof(c->why), "\"%s\" is not a name in "
		    "cert_file (subject CN or DNS SAN; wildcards are not "
		    "relied on)", cfg->tls_server.advertised_name);
		rc = check_fail(c, "tls_server", "advertised_name");
		goto done;
	}
	if (cfg->tls_server.client_ca_file[0] != '\0' &&
	    pem_read_certs(cfg->tls_server.client_ca_file, NULL, c->why,
	    sizeof(c->why)) == -1) {
		rc = check_fail(c, "tls_server", "client_ca_file");
		goto done;
	}
	rc = 0;
done:
	X509_free(leaf);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return rc;
}

/* A trunk's files; errors point at [cloud] when the value is [cloud]'s. */
static int
check_trunk(struct check_ctx *c, const struct cfg_cloud *t)
{
	if (t->ca_file[0] != '\0' &&
	    pem_read_certs(t->ca_file, NULL, c->why, sizeof(c->why)) == -1)
		return check_fail_trunk(c, t, "ca_file");
	if (t->ca_path[0] != '\0' &&
	    check_dir(t->ca_path, c->why, sizeof(c->why)) == -1)
		return check_fail_trunk(c, t, "ca_path");
	if (t->ca_file[0] == '\0' && t->ca_path[0] == '\0' &&
	    check_default_roots(c->why, sizeof(c->why)) == -1)
		return check_fail_trunk(c, t, "ca_file");
	if (t->crl_file[0] != '\0' &&
	    check_crl(t->crl_file, c->why, sizeof(c->why)) == -1)
		return check_fail_trunk(c, t, "crl_file");
	return 0;
}

static int
check_cloud(struct check_ctx *c)
{
	for (int i = 0; i < c->cfg->ntrunks; i++)
		if (check_trunk(c, &c->cfg->trunks[i]) == -1)
			return -1;
	return 0;
}

/*
 * A deprecated suite still works (the operator may need it for a while),
 * so it is a warning, not an error: one line per suite, where -t, the
 * start and every reload show it.
 */
struct warn_ctx {
	const struct config *cfg;
	const struct cfg_cloud *t;
};

static void
warn_deprecated_cipher(void *ctx, const char *name, const char *iana)
{
	const struct warn_ctx *w = ctx;

	if (w->t->line == 0)
		log_warn(NULL, "%s:%d: [cloud] ciphers: %s (%s) is %s: remove "
		    "it from the list", w->cfg->path, line_of(w->cfg, "cloud",
		    "ciphers"), name, iana, CONFIG_CIPHER_DEPRECATED_WHY);
	else
		log_warn(NULL, "%s:%d: [trunk %s] ciphers: %s (%s) is %s: "
		    "remove it from the list", w->cfg->path, w->t->line,
		    w->t->name, name, iana, CONFIG_CIPHER_DEPRECATED_WHY);
}

int
config_ciphers_deprecated(const struct cfg_cloud *t,
    void (*fn)(void *ctx, const char *name, const char *iana), void *ctx)
{
	char list[sizeof(t->ciphers)], *name, *save = NULL;
	const char *iana;
	int n = 0;

	memcpy(list, t->ciphers, sizeof(list));
	for (name = strtok_r(list, ":", &save); name != NULL;
	    name = strtok_r(NULL, ":", &save), n++)
		if ((iana = config_cipher_deprecated(name)) != NULL)
			fn(ctx, name, iana);
	return n;
}

int
config_check_files(const struct config *cfg, char *err, size_t errlen)
{
	struct check_ctx c;

	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	c.err = err;
	c.errlen = errlen;
	if (check_tls_server(&c) == -1 || check_cloud(&c) == -1)
		return -1;
	for (int i = 0; i < cfg->ntrunks; i++) {
		struct warn_ctx w = { cfg, &cfg->trunks[i] };
		config_ciphers_deprecated(&cfg->trunks[i],
		    warn_deprecated_cipher, &w);
	}
	return 0;
}
