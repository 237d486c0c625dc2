/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * audit_chain - checking the hash chain of audit rows (store.h,
 * compliance-rules.md R20, §6.5 item 5) one row at a time, so that the
 * first broken row can be named with what is wrong with it.
 *
 * Rows must be fed in id order.  Row ids start at 1 and run without gaps;
 * each row's prev_hash is the hash of the row before it (zeros for row 1)
 * and its hash is pw_audit_hash(prev_hash, row).  So:
 *   - a changed row fails its own hash (PW_CHAIN_HASH);
 *   - a changed row whose hash was recomputed fails the next row's link
 *     (PW_CHAIN_LINK);
 *   - a deleted row leaves a gap (PW_CHAIN_GAP, at the row after it);
 *   - deleting the newest rows leaves a valid shorter chain: only a head
 *     recorded earlier (pw_audit_chain_anchor) shows it.
 * Pure; one struct per walk.
 */
#ifndef PW_AUDIT_CHAIN_H
#define PW_AUDIT_CHAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

enum pw_chain_status {
	PW_CHAIN_OK,
	PW_CHAIN_GAP,		/* id is not the previous id + 1 */
	PW_CHAIN_LINK,		/* prev_hash is not the previous hash */
	PW_CHAIN_HASH,		/* hash does not match the row's content */
	PW_CHAIN_ERROR,		/* hashing failed (OpenSSL) */
};

struct pw_audit_chain {
	int64_t		 last_id;	/* 0 before the first row */
	unsigned char	 head[32];	/* hash of the last good row */
	uint64_t	 rows;		/* good rows so far */
	bool		 anchored;	/* an expected head was given */
	unsigned char	 anchor[32];
	int64_t		 anchor_id;	/* row whose hash is the anchor; 0 */
};

void	pw_audit_chain_init(struct pw_audit_chain *);
/* Expect a head recorded earlier: some row of the chain must have this
   hash (pw_audit_chain_anchor_found after the walk). */
void	pw_audit_chain_anchor(struct pw_audit_chain *,
	    const unsigned char *hash);
/* Check the next row; on OK the chain advances, otherwise it stays at the
   last good row and the caller stops. */
enum pw_chain_status pw_audit_chain_step(struct pw_audit_chain *,
			    const struct pw_audit_row *);
bool	pw_audit_chain_anchor_found(const struct pw_audit_chain *);
/* Text for a status: "row changed (hash does not match its content)". */
const char *pw_audit_chain_why(enum pw_chain_status);

/* 64 lower-case hex digits and a NUL into out[65]. */
void	pw_hex32(const unsigned char *h, char *out);
/* Parse 64 hex digits; 0, or -1 if malformed. */
int	pw_unhex32(const char *s, unsigned char *out);

#endif
