/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * evidence - report helpers (evidence.h).
 */
#include "autoconf.h"

#include <string.h>

#include <openssl/evp.h>

#include "base/util.h"
#include "compliance/evidence.h"
#include "compliance/org.h"

bool
pw_evidence_sent_after(const struct pw_audit_row *r, time_t requested_at,
    const int64_t *reconsent, size_t n)
{
	if (r->class == NULL || strcmp(r->class, "commercial") != 0 ||
	    r->action == NULL || strcmp(r->action, "delivered") != 0 ||
	    r->time < requested_at)
		return false;
	for (size_t i = 0; i < n; i++)
		if (r->basis_id > 0 && r->basis_id == reconsent[i])
			return false;
	return true;
}

/* field - "name=LEN:value\n" or "name=-\n": no two profiles collide */
static void
field(struct pw_buf *b, const char *name, const char *v)
{
	if (v == NULL)
		pw_buf_printf(b, "%s=-\n", name);
	else
		pw_buf_printf(b, "%s=%zu:%s\n", name, strlen(v), v);
}

char *
pw_evidence_profile(const struct pw_org *o, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	struct pw_buf b = {0};
	int ok;

	if (o == NULL || (o->business_name == NULL &&
	    o->mailing_address == NULL && o->identification_url == NULL))
		return NULL;
	pw_buf_puts(&b, "pw-ident-v1\n");
	field(&b, "business_name", o->business_name);
	field(&b, "mailing_address", o->mailing_address);
	field(&b, "contact_phone", o->contact_phone);
	field(&b, "contact_email", o->contact_email);
	field(&b, "contact_url", o->contact_url);
	field(&b, "identification_url", o->identification_url);
	ok = EVP_Digest(b.data, b.len, h, &len, EVP_sha256(), NULL) == 1 &&
	     len == 32;
	pw_buf_free(&b);
	if (!ok)
		return NULL;
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 8; i++) {
		out[7 + 2 * i] = hex[h[i] >> 4];
		out[8 + 2 * i] = hex[h[i] & 15];
	}
	out[23] = '\0';
	return out;
}

long
pw_evidence_delay(time_t requested_at, time_t effective_at)
{
	return effective_at > requested_at ? (long)(effective_at - requested_at)
					   : 0L;
}
