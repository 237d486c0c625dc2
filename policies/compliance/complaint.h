/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * complaint - record an ARF complaint (RFC 5965) about an organisation's
 * mail as a suppression with reason "complaint" (issue 17), and find our
 * unsubscribe token in a returned original's List-Unsubscribe (shared
 * with pol_feedback's bounces).  Used by postwarden-ctl complaints
 * import.
 */
#ifndef PW_COMPLAINT_H
#define PW_COMPLAINT_H

#include <stdbool.h>

#include "compliance/token.h"
#include "parsers/arf.h"

struct pw_orgs;
struct pw_org;
struct pw_store;

/* Our token in a List-Unsubscribe value (an https URI's last path
   segment, or LOCAL+TOKEN of a mailto), verified with ring at any age
   (the report is about a message we sent): true with *tok_r filled
   (pw_token_clear it), false otherwise. */
bool	pw_unsub_token_find(const struct pw_keyring *, const char *value,
	    struct pw_token *tok_r);

enum pw_complaint_outcome {
	PW_COMPLAINT_SUPPRESSED,	/* recorded, suppression added */
	PW_COMPLAINT_ALREADY,		/* recorded, already suppressed */
	PW_COMPLAINT_IGNORED,		/* not-spam: nothing recorded */
	PW_COMPLAINT_UNKNOWN,		/* no organisation or recipient */
	PW_COMPLAINT_UNMATCHED,		/* no message of ours to them */
	PW_COMPLAINT_FAIL,		/* the store failed */
};

struct pw_complaint_result {
	enum pw_complaint_outcome outcome;
	const struct pw_org	*org;
	char			 addr[321];	/* normalised, or "" */
	const char		*how;		/* token, headers */
};

/*
 * The organisation and recipient come from the token in the original's
 * List-Unsubscribe, else from the original's From domain
 * (pw_orgs_by_from) and the report's Original-Rcpt-To or the original's
 * To.  Without a token, a "delivered" audit row of that organisation to
 * that recipient must exist (a forged report changes nothing).  Records
 * a feedback_event row (kind complaint, status the Feedback-Type, source
 * as given) and a suppression with reason "complaint".  Returns the
 * outcome (also in res).
 */
enum pw_complaint_outcome pw_complaint_record(const struct pw_orgs *,
		    const struct pw_keyring *, struct pw_store *,
		    const struct pw_arf *, const char *source,
		    struct pw_complaint_result *res);
const char *pw_complaint_outcome_name(enum pw_complaint_outcome);

#endif
