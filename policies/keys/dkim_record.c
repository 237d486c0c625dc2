/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dkim_record - DKIM key records: tags, the public key, ours or not.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/util.h"
#include "dns/dns.h"
#include "keys/dkim_record.h"

char *
pw_dkim_record_tag(const char *rec, const char *t)
{
	size_t tl = strlen(t);

	for (const char *p = rec; p && *p;) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		if (pw_strncaseeq(p, t, tl)) {
			const char *q = p + tl;

			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '=') {
				struct pw_buf b = {0};

				for (q++; *q && *q != ';'; q++)
					if (!isspace((unsigned char)*q))
						pw_buf_add(&b, q, 1);
				pw_buf_add(&b, "", 1);
				return b.data;
			}
		}
		p = strchr(p, ';');
	}
	return NULL;
}

EVP_PKEY *
pw_dkim_record_pubkey(const char *k, const char *p, const char **why)
{
	unsigned char *der = pw_malloc(strlen(p) + 4);
	const unsigned char *q = der;
	EVP_PKEY *key = NULL;
	int len = EVP_DecodeBlock(der, (const unsigned char *)p,
	    (int)strlen(p));

	/* EVP_DecodeBlock counts the '=' padding as zero bytes. */
	for (size_t i = strlen(p); len > 0 && i > 0 && p[i - 1] == '='; i--)
		len--;
	if (len <= 0)
		*why = "p= is not base64";
	else if (k == NULL || pw_strcaseeq(k, "rsa")) {
		if ((key = d2i_PUBKEY(NULL, &q, len)) == NULL)
			*why = "p= is not an RSA public key";
	} else if (pw_strcaseeq(k, "ed25519")) {
		key = len == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
		    NULL, der, 32) : NULL;
		if (key == NULL)
			*why = "p= is not a 32-byte Ed25519 key (RFC 8463 4)";
	} else
		*why = "unknown key type k=";
	free(der);
	return key;
}

enum pw_dkim_published
pw_dkim_published(struct pw_dns *dns, struct pw_dns_budget *b,
    const char *domain, const char *selector, EVP_PKEY *ours,
    const char **why_r)
{
	char *name = pw_asprintf("%s._domainkey.%s", selector, domain), **v;
	enum pw_dkim_published res = PW_DKIM_PUB_MISMATCH;
	enum pw_dns_status st;
	const char *why = NULL;

	st = pw_dns_txt(dns, b, name, &v, &why);
	free(name);
	if (st == PW_DNS_TEMPFAIL || st == PW_DNS_LIMIT) {
		*why_r = why ? why : "DNS lookup failed";
		return PW_DKIM_PUB_TEMPFAIL;
	}
	if (st != PW_DNS_ANSWER || v == NULL || v[0] == NULL) {
		pw_strv_free(&v);
		*why_r = "no key record published";
		return PW_DKIM_PUB_MISSING;
	}
	*why_r = "the published key is not ours";
	/* Several records: a verifier may pick any, so each must be ours. */
	for (size_t i = 0; v[i] != NULL; i++) {
		char *k = pw_dkim_record_tag(v[i], "k");
		char *p = pw_dkim_record_tag(v[i], "p");
		EVP_PKEY *pub = NULL;

		if (p == NULL)
			*why_r = "no p= tag: not a DKIM key record";
		else if (*p == '\0')
			*why_r = "p= is empty: the key is revoked";
		else if ((pub = pw_dkim_record_pubkey(k, p, why_r)) != NULL &&
		    EVP_PKEY_eq(pub, ours) == 1)
			res = PW_DKIM_PUB_MATCH;
		else if (pub != NULL)
			*why_r = "the published key is not ours";
		EVP_PKEY_free(pub);
		free(k);
		free(p);
		if (pub == NULL || res != PW_DKIM_PUB_MATCH) {
			res = PW_DKIM_PUB_MISMATCH;
			break;
		}
	}
	pw_strv_free(&v);
	if (res == PW_DKIM_PUB_MATCH)
		*why_r = NULL;
	return res;
}

const char *
pw_dkim_published_name(enum pw_dkim_published r)
{
	switch (r) {
	case PW_DKIM_PUB_MATCH:
		return "published";
	case PW_DKIM_PUB_MISSING:
		return "missing";
	case PW_DKIM_PUB_MISMATCH:
		return "mismatch";
	case PW_DKIM_PUB_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}
