/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * comply - helpers shared by the outbound compliance policies that come
 * after pol_classify: pol_consent (R5), pol_unsub (R10-R12) and pol_audit
 * (R12, R20).  Not a policy: the per-recipient records they share live in
 * msg->comply (msg.h); the store is the snapshot's (snapshot.h).
 *
 * The record of a recipient is created when a policy first decides
 * something about it (consent at RCPT or EOM, a token at EOM) and read by
 * pol_audit, which writes one hash-chained row per (message, recipient).
 */
#ifndef PW_COMPLY_H
#define PW_COMPLY_H

#include <stdbool.h>

#include "msg.h"
#include "store/store.h"

/* The record of rcpt (as in msg->rcpts), created if create is true;
   NULL if absent and not created.  Arena-owned. */
struct pw_comply_rcpt *pw_comply_rcpt(struct pw_msg *, const char *rcpt,
			    bool create);

/* Has rcpt been removed with pw_msg_delrcpt()? */
bool	pw_comply_removed(const struct pw_msg *, const char *rcpt);
/* Recipients that will still receive the message. */
size_t	pw_comply_live(const struct pw_msg *);

/* The state of the existing List-Unsubscribe / -Post headers (RFC 2369,
   RFC 8058 §3.1): exactly one of each, the first a valid one-click list
   (exactly one https URI, optional mailto, no http), the second exactly
   "List-Unsubscribe=One-Click". */
enum pw_unsub_status {
	PW_UNSUB_VALID,
	PW_UNSUB_MISSING,	/* neither header */
	PW_UNSUB_INVALID,	/* *why_r says what is wrong */
};
enum pw_unsub_status pw_comply_unsub_status(struct pw_msg *,
			    const char **why_r);

/* The single Message-ID (without <>, arena), or NULL. */
const char *pw_comply_message_id(struct pw_msg *);

/* Fill an audit row for one recipient record (r may be NULL: only the
   message fields).  Strings point into the message; the caller sets
   action if r->action is NULL. */
void	pw_comply_audit_row(struct pw_msg *, const struct pw_comply_rcpt *r,
	    const char *rcpt, time_t now, struct pw_audit_row *row);

/* Count n refusals (recipients or messages refused, or recipients
   removed) of this message's organisation for reason (a short code:
   "consent_none", "identification_missing", ...) in the metrics. */
void	pw_comply_refused(const struct pw_msg *, const char *reason, size_t n);

#endif
