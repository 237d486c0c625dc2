/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * audit_chain - the per-row chain check behind "postwarden-ctl audit
 * verify" (audit_chain.h).
 *
 * Hash formats and the move to microseconds (schema version 5, issue 10).
 * Rows written before version 5 were hashed with whole-second times, and
 * an append-only audit trail cannot be rehashed: rewriting old rows would
 * need UPDATE (the triggers and the roles refuse it) and would throw away
 * the evidence that they were never changed.  So each row says how it was
 * hashed, and a chain may hold both formats:
 *
 *   - audit.time_us NULL (row->time_us 0): a row from before version 5,
 *     hashed as "pw-audit-v1": id, time (seconds), then the other fields;
 *   - audit.time_us set: "pw-audit-v2": id, time (seconds), time_us, then
 *     the same fields.  The seconds column stays (queries by period use
 *     it) and is the floor of time_us; both are hashed, so neither can be
 *     edited alone.
 *
 * The migration only adds the nullable column: no row is rewritten, the
 * old rows keep NULL and their v1 hashes, every row written afterwards is
 * v2 (pw_store_audit_append gives it microseconds), and one chain links
 * them (each row's prev_hash is the previous row's hash, whatever its
 * format).  pw_audit_hash (store.c) picks the format from the row, for
 * the backends' own verify and for this walk alike.
 *
 * The marker cannot be used to forge a row: it is part of what is hashed
 * ("pw-audit-v1"/"pw-audit-v2" is the first line, and time_us a field), so
 * setting time_us on an old row, or clearing it on a new one, makes that
 * row fail its hash like any other edit.  A v1 row after a v2 row is not
 * refused: a daemon that was already running when store init migrated the
 * schema keeps inserting rows without time_us until it is restarted, and
 * those rows are well-formed v1 rows of the same chain.
 *
 * store copy copies time_us as stored (NULL stays NULL), with the hashes,
 * and verifies the chain in the destination afterwards.
 */
#include "autoconf.h"

#include <string.h>

#include <openssl/crypto.h>

#include "compliance/audit_chain.h"

void
pw_audit_chain_init(struct pw_audit_chain *c)
{
	memset(c, 0, sizeof(*c));
}

void
pw_audit_chain_anchor(struct pw_audit_chain *c, const unsigned char *hash)
{
	c->anchored = true;
	memcpy(c->anchor, hash, 32);
}

enum pw_chain_status
pw_audit_chain_step(struct pw_audit_chain *c, const struct pw_audit_row *r)
{
	unsigned char h[32];

	if (r->id != c->last_id + 1)
		return PW_CHAIN_GAP;
	/* Not secrets, but constant-time costs nothing here. */
	if (CRYPTO_memcmp(r->prev_hash, c->head, 32) != 0)
		return PW_CHAIN_LINK;
	if (pw_audit_hash(c->head, r, h) < 0)
		return PW_CHAIN_ERROR;
	if (CRYPTO_memcmp(r->hash, h, 32) != 0)
		return PW_CHAIN_HASH;
	memcpy(c->head, h, 32);
	c->last_id = r->id;
	c->rows++;
	if (c->anchored && c->anchor_id == 0 &&
	    CRYPTO_memcmp(h, c->anchor, 32) == 0)
		c->anchor_id = r->id;
	return PW_CHAIN_OK;
}

bool
pw_audit_chain_anchor_found(const struct pw_audit_chain *c)
{
	return !c->anchored || c->anchor_id != 0;
}

const char *
pw_audit_chain_why(enum pw_chain_status s)
{
	switch (s) {
	case PW_CHAIN_OK:
		return "ok";
	case PW_CHAIN_GAP:
		return "rows missing before it (deleted)";
	case PW_CHAIN_LINK:
		return "prev_hash does not match the row before it "
		       "(that row or this link was changed)";
	case PW_CHAIN_HASH:
		return "row changed (hash does not match its content)";
	case PW_CHAIN_ERROR:
		break;
	}
	return "cannot compute the hash";
}

void
pw_hex32(const unsigned char *h, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[h[i] >> 4];
		out[2 * i + 1] = hex[h[i] & 15];
	}
	out[64] = '\0';
}

/* nibble - value of one hex digit, or -1 */
static int
nibble(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int
pw_unhex32(const char *s, unsigned char *out)
{
	int hi, lo;

	if (strlen(s) != 64)
		return -1;
	for (int i = 0; i < 32; i++) {
		if ((hi = nibble(s[2 * i])) < 0 ||
		    (lo = nibble(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}
