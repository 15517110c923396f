/*
 * config.h - the configuration, parsed once from an INI file (inih) into
 * this struct; the rest of tlstrunk only reads it.  Key names follow
 * shared/spec/config-contract.md.
 */
#ifndef TLSTRUNK_CONFIG_H
#define TLSTRUNK_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "netaddr.h"
#include "numplan.h"

#define CFG_HOST_MAX	256	/* host name or literal, NUL included */
#define CFG_MAX_HOSTS	8
#define CFG_MAX_ALLOW	64
#define CFG_MAX_RESOLVE	32
#define CFG_MAX_SUITES	8
#define CFG_MAX_KEYS	80	/* keys config.c knows, see key_line */
#define CFG_MAX_TRUNKS	8	/* [trunk NAME] sections */
#define CFG_MAX_PBX	16	/* [pbx NAME] sections */
#define CFG_DEFAULT_NAME	"default"	/* the trunk and PBX of a file
					   without named ones */

enum cfg_transport {
	CFG_TP_UDP = 1 << 0,
	CFG_TP_TCP = 1 << 1,
};

/* "host:port" or "[v6]:port"; host may be a name or an IP literal. */
struct cfg_addr {
	char host[CFG_HOST_MAX];
	uint16_t port;
	int is_ip;			/* host is an IP literal */
	struct sockaddr_storage ss;	/* filled when is_ip */
	socklen_t sslen;
};

/* A list of networks: [pbx] allow, [tls_server] allow. */
struct cfg_netlist {
	struct netaddr_cidr net[CFG_MAX_ALLOW];
	int n;
};

struct cfg_resolve {
	char name[CFG_HOST_MAX];	/* host name to verify */
	struct sockaddr_storage ss;	/* where to connect (port 0) */
	socklen_t sslen;
};

/*
 * One BYOC trunk: its proxies, Request-URI labels, TLS policy, health.
 * [cloud] is one, each [trunk NAME] another (unset keys: [cloud]'s).
 */
struct cfg_cloud {
	char name[NP_NAME_MAX];		/* "default" for [cloud] alone */
	int line;			/* of its [trunk NAME] header; 0 */
	struct cfg_netlist allow;	/* its proxies' source networks, for
					   calls from the cloud; may be empty */
	char region[16];		/* "" when only hosts is set */
	char hosts[CFG_MAX_HOSTS][CFG_HOST_MAX];	/* always filled after
					 * load: explicit list or the region's lb01..lb04 */
	int nhosts;			/* 0 with domain: from SRV */
	char domain[CFG_HOST_MAX];	/* "" = no SRV lookup */
	int resolve_interval;		/* seconds between lookups, 300 */
	uint16_t port;			/* default 5061 */
	char tgrp[128];			/* required */
	char trunk_context[CFG_HOST_MAX];	/* required */
	char ca_file[PATH_MAX];		/* "" = default DigiCert roots */
	char ca_path[PATH_MAX];
	char crl_file[PATH_MAX];
	int tls_min_version;		/* TLS1_2_VERSION etc.; default 1.2 */
	int tls_max_version;		/* default 1.2 */
	char ciphers[1024];		/* OpenSSL names, ':'-joined */
	char groups[256];		/* ':'-joined; default secp384r1 */
	struct cfg_resolve resolve[CFG_MAX_RESOLVE];
	int nresolve;
	int keepalive_interval;		/* seconds, default 30; process-wide */
	int balance;			/* enum cfg_balance */
	int options_interval;		/* 30 */
	int options_interval_down;	/* 10 */
	int failover_timeout;		/* 4 */
	int drain_timeout;		/* 30; process-wide */
	size_t max_message_size;	/* process-wide */	/* 16384: largest SIP message
					 * forwarded toward the cloud; a
					 * larger one makes common proxies
					 * (Kamailio's 16 KiB tcp_rd_buf_size)
					 * drop the whole shared connection */
};

/* One PBX: where calls from the cloud go, and its source networks. */
struct cfg_pbx {
	char name[NP_NAME_MAX];		/* "default" for [pbx] alone */
	struct cfg_addr address;
	int address_transport;		/* CFG_TP_UDP or CFG_TP_TCP */
	struct cfg_netlist allow;
	unsigned transports;		/* CFG_TP_* it may send on */
};

enum cfg_balance { CFG_BALANCE_RR = 0, CFG_BALANCE_CALLID_HASH = 1 };

struct config {
	char path[PATH_MAX];

	struct {
		int log_level;		/* enum log_level; default info */
		int log_json;		/* log_format = json */
		struct cfg_addr admin_listen;	/* port 0 = off */
	} general;

	/* [pbx] as written; address and allow only without [pbx NAME]
	 * sections, and read at run time from pbxs[]. */
	struct {
		struct cfg_addr listen;		/* default 0.0.0.0:5060 */
		unsigned transports;		/* CFG_TP_* ; default udp,tcp */
		struct cfg_addr address;	/* required; must be an IP */
		int address_transport;		/* CFG_TP_UDP (default) or TCP */
		struct cfg_netlist allow;	/* required */
		char advertised_address[CFG_HOST_MAX];	/* never empty after load */
	} pbx;

	/*
	 * [cloud] as the file says it: the settings of the one trunk of a
	 * file without [trunk NAME] sections, else what every trunk
	 * inherits.  Only the process-wide keys (keepalive_interval,
	 * drain_timeout, max_message_size) are read from here at run
	 * time; everything per trunk from trunks[].
	 */
	struct cfg_cloud cloud;
	struct cfg_cloud trunks[CFG_MAX_TRUNKS];	/* [trunk NAME]s in
					   file order, or the [cloud] one */
	int ntrunks;			/* >= 1 after load */
	/* Where calls from the cloud go and who may send: [pbx NAME]s in
	 * file order, or the one [pbx] describes. */
	struct cfg_pbx pbxs[CFG_MAX_PBX];
	int npbx;			/* >= 1 after load */
	struct numplan plan;		/* [rule NAME], [route NAME] */

	struct {
		struct cfg_addr listen;		/* default 0.0.0.0:5061 */
		char cert_file[PATH_MAX];	/* required */
		char key_file[PATH_MAX];	/* required */
		char advertised_name[CFG_HOST_MAX];	/* required, a host name */
		int mutual;			/* default 0 */
		char client_ca_file[PATH_MAX];	/* required when mutual */
		struct cfg_netlist allow;	/* empty = any source */
	} tls_server;

	struct {
		char pbx_address[CFG_HOST_MAX];
		char public_address[CFG_HOST_MAX];
		int port_min;			/* 20000 */
		int port_max;			/* 29999 */
		char srtp_suites[CFG_MAX_SUITES][40];
		int nsrtp_suites;		/* default the two AES_CM_128 suites */
		int timeout;			/* 60 */
	} media;

	struct {
		size_t max_message_size;	/* 65536 */
		int max_connections;		/* 1024 */
		int max_connections_per_source;	/* 64 */
		int max_calls;			/* 2000 */
		int max_cps_per_source;		/* 50 */
		int handshake_timeout;		/* 10 */
		int idle_timeout;		/* 300 */
		int message_timeout;		/* 10: a message must be whole by then */
		int max_headers;		/* 128 header fields per message */
		int max_calls_per_source;	/* 1000 concurrent calls per source IP */
		int max_unanswered_invites;	/* 200 new calls not answered yet
						   downstream: beyond, 503 */
	} limits;

	struct {
		struct cfg_addr hep_collector;	/* port 0 = off */
		int hep_id;			/* 2001 */
		char tls_keylog[PATH_MAX];
		char srtp_keylog[PATH_MAX];
	} trace;

	/* Call state in Redis (issue 15); off while redis is "". */
	struct {
		char redis[PATH_MAX];		/* ip:port, [v6]:port or an
						   absolute unix socket path */
		char redis_password_file[PATH_MAX];
		char redis_password[256];	/* its first line, read at load:
						   never log or print it */
		char key_prefix[65];		/* "tlstrunk:" */
		char node[64];			/* default: the host name */
		int ttl;			/* seconds, 3600 */
	} state;

	/*
	 * Private to config.c: the line each key was set on, 0 = default,
	 * so that later checks (config_check_files) can point at the line.
	 * Read it with config_key_line().
	 */
	int key_line[CFG_MAX_KEYS];
};

/*
 * Fill cfg with defaults, parse path, validate.  Returns 0, or -1 with
 * err holding "FILE:LINE: [section] key: reason" (LINE 0 for a missing
 * required key or a whole-file problem).
 */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);
/* What a loaded configuration holds beyond itself (compiled regexes);
 * the struct stays the caller's. */
void config_free(struct config *cfg);

/*
 * Checks that open the files the configuration names: certificate chain
 * readable and matching the key, CA/CRL files readable, advertised_name
 * a host name present in the certificate.  Same error format.
 */
int config_check_files(const struct config *cfg, char *err, size_t errlen);

/* 1 when sa's address lies in one of the networks of nl. */
int config_net_allowed(const struct cfg_netlist *nl, const struct sockaddr *sa);
/* The first resolve pair of a trunk for name (connect there, verify
 * name), or NULL: DNS decides. */
const struct cfg_resolve *config_resolve_find(const struct cfg_cloud *tc,
    const char *name);
/* The first PBX whose allow lists sa's address, or -1. */
int config_pbx_find(const struct config *cfg, const struct sockaddr *sa);
/* 1 when sa's address lies in one of the PBXs' allow lists. */
int config_pbx_allowed(const struct config *cfg, const struct sockaddr *sa);
/* The trunk or PBX of that name, or -1. */
int config_trunk_named(const struct config *cfg, const char *name);
int config_pbx_named(const struct config *cfg, const char *name);
/* The first trunk whose allow lists sa's address, or -1. */
int config_trunk_by_source(const struct config *cfg,
    const struct sockaddr *sa);
/* 1 when [tls_server] allow is empty or lists sa's address. */
int config_cloud_allowed(const struct config *cfg, const struct sockaddr *sa);

/*
 * Line of cfg->path where [section] key was set; 0 when it took its
 * default, -1 when there is no such key.
 */
int config_key_line(const struct config *cfg, const char *section,
    const char *key);

/* What --help and the man page say of a key: config.c's one table. */
struct config_key_doc {
	const char *section, *key;
	const char *def;		/* the default, "" for none, or
					   "(required)" */
	const char *help;
};
/* The i-th key (from 0) into out: 0, or -1 past the last. */
int config_key_doc(int i, struct config_key_doc *out);

/*
 * The IANA name of an OpenSSL suite name the cloud deprecated (byoc-tls.md),
 * NULL for any other: the one list of them, for config.c's warning and
 * the doctor's.  CONFIG_CIPHER_DEPRECATED_WHY finishes "X is ...".
 */
const char *config_cipher_deprecated(const char *name);
/* fn(ctx, name, iana) for each deprecated suite a trunk's ciphers names,
 * in its order; returns how many suites it names in all. */
int config_ciphers_deprecated(const struct cfg_cloud *t,
    void (*fn)(void *ctx, const char *name, const char *iana), void *ctx);
#define CONFIG_CIPHER_DEPRECATED_WHY	"deprecated by the cloud " \
	"(announced 2025-03-24, removed from 2025-11-17)"

/* Certificates' expiry (byoc-tls.md: expiry is the top cause of outages):
 * a warning this many days before notAfter, an error from the second. */
#define CFG_CERT_WARN_DAYS	30
#define CFG_CERT_ERROR_DAYS	7

/*
 * The roots trusted toward the cloud when [cloud] ca_file and ca_path
 * are both empty: DigiCert High Assurance EV, Global Root G2 and G3.
 * NULL-terminated; a missing file is skipped as long as one loads.
 */
extern const char *const config_default_root_files[];

#endif
