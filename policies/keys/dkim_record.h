/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dkim_record - DKIM key records in DNS (RFC 6376 3.6.1, RFC 8463): tag
 * lookup, the published public key, and whether it is the one of our
 * private key.  Shared by postwarden-ctl dns-check, the signer's startup
 * check and key rotation (rotation.h).  Thread-safe; no state.
 */
#ifndef PW_DKIM_RECORD_H
#define PW_DKIM_RECORD_H

#include <openssl/evp.h>

struct pw_dns;
struct pw_dns_budget;

/* The value of tag t in a "t=v; t=v" list, white space removed
   (malloc'd), or NULL when absent. */
char	*pw_dkim_record_tag(const char *rec, const char *t);

/* The key of k= (NULL: rsa) and p= as an EVP_PKEY, or NULL with *why_r. */
EVP_PKEY *pw_dkim_record_pubkey(const char *k, const char *p,
	    const char **why_r);

/* What SELECTOR._domainkey.DOMAIN publishes, compared with ours. */
enum pw_dkim_published {
	PW_DKIM_PUB_MATCH,	/* a record with our public key */
	PW_DKIM_PUB_MISSING,	/* no record (NXDOMAIN, no TXT) */
	PW_DKIM_PUB_MISMATCH,	/* a record, not our key (or revoked) */
	PW_DKIM_PUB_TEMPFAIL,	/* the lookup failed: try again later */
};

/* Look the record up through dns (budget may be NULL) and compare it
   with ours; *why_r (static text) says what is wrong. */
enum pw_dkim_published pw_dkim_published(struct pw_dns *,
	    struct pw_dns_budget *, const char *domain, const char *selector,
	    EVP_PKEY *ours, const char **why_r);

const char *pw_dkim_published_name(enum pw_dkim_published);

#endif
