/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * consent - the consent data model and the derivation of the current
 * consent state from append-only events (compliance-rules.md §6; CASL
 * s.10(9)-(10), CRTC guidance on implied consent).
 *
 * Records are events; nothing is updated in place.  The state of one
 * (organisation, recipient, list) at a time t is computed here, by pure
 * functions, from the events the store returns for that key:
 *
 *   express          no expiry (CRTC: valid until withdrawn); an explicit
 *                    expires_at, if given, is honoured.
 *   implied-purchase purchase, lease, barter or accepted opportunity:
 *                    2 years after the relationship date (s.10(10)(a)-(c)).
 *   implied-contract written contract: 2 years after the relationship date,
 *                    which for a contract is the day it ended, or the last
 *                    day it was known to be in force (s.10(10)(d)).
 *   implied-inquiry  inquiry or application: 6 months after the
 *                    relationship date (s.10(10)(e)).
 *   implied          any other implied basis (conspicuous publication,
 *                    disclosed address, non-business relationship...):
 *                    the statute gives no period, so an explicit
 *                    expires_at (a review date) is required.
 *   withdrawn        an unsubscribe or any other withdrawal.
 *
 * Dates: the relationship date defaults to obtained_at.  Periods are
 * calendar months on the UTC date (Feb 29 + 2 years = Feb 28, Aug 31 + 6
 * months = end of February: never longer than the law), and expiry is
 * exclusive at 00:00 UTC of that day: consent from a purchase on
 * 2024-03-15 is valid for mail sent up to 2026-03-14 23:59:59Z ("within
 * the two-year period immediately before the day on which the message was
 * sent", read conservatively, §6.3).  An explicit expires_at on an
 * implied-purchase/contract/inquiry event is honoured only up to the
 * statutory date (an import cannot lengthen what the law allows).
 *
 * Withdrawal wins: implied consent given before or after a withdrawal
 * never revives consent; only an express consent obtained after the
 * latest withdrawal does.  When the two carry the same obtained time (an
 * unsubscribe and a re-subscription within one second, or the same day in
 * a date-only import), the order in which they were recorded decides
 * (seq, the store's recording clock); without that, the withdrawal wins.
 * An event with a list applies to that list only; an event without one
 * applies to every list of the organisation.  Events dated after t are
 * ignored.
 */
#ifndef PW_CONSENT_H
#define PW_CONSENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PW_NOTIME	((time_t)0)	/* "no date" / "never expires" */

enum pw_consent_type {
	PW_CONSENT_EXPRESS,
	PW_CONSENT_IMPLIED_PURCHASE,
	PW_CONSENT_IMPLIED_CONTRACT,
	PW_CONSENT_IMPLIED_INQUIRY,
	PW_CONSENT_IMPLIED,
	PW_CONSENT_WITHDRAWN,
};

struct pw_consent_event {
	int64_t			 id;		/* store row id (basis) */
	const char		*list;		/* NULL or "": every list */
	enum pw_consent_type	 type;
	time_t			 obtained_at;	/* withdrawal: requested at */
	time_t			 expires_at;	/* PW_NOTIME: none given */
	time_t			 relationship_date; /* PW_NOTIME: obtained */
	int64_t			 seq;		/* recording order; 0: unknown */
};

enum pw_consent_state {
	PW_CSTATE_NONE,		/* nothing on record */
	PW_CSTATE_EXPRESS,
	PW_CSTATE_IMPLIED,
	PW_CSTATE_EXPIRED,	/* a basis existed but has lapsed */
	PW_CSTATE_WITHDRAWN,
};

struct pw_consent_result {
	enum pw_consent_state		 state;
	/* EXPRESS/IMPLIED: the event relied on; EXPIRED: the basis with the
	   latest expiry; WITHDRAWN: the withdrawal; NONE: NULL */
	const struct pw_consent_event	*basis;
	time_t				 valid_until;	/* PW_NOTIME: open */
};

/* Names as used in files and CSV ("express", "implied-purchase",
   "implied-contract", "implied-inquiry", "implied", "withdrawn"); parse
   returns -1 for an unknown name (case-insensitive). */
const char *pw_consent_type_name(enum pw_consent_type);
int	pw_consent_type_parse(const char *);
const char *pw_consent_state_name(enum pw_consent_state);

/* Is the event well-formed?  0, or -1 with *why_r (static): obtained_at
   missing, "implied" without expires_at, expires_at not after the
   relationship date, a withdrawal with an expiry. */
int	pw_consent_event_check(const struct pw_consent_event *,
	    const char **why_r);

/* The effective expiry of a consent event (PW_NOTIME: none). */
time_t	pw_consent_expiry(const struct pw_consent_event *);

/* The state at time now for mail on list (NULL: mail on no list).
   Malformed events (pw_consent_event_check) are ignored. */
void	pw_consent_evaluate(const struct pw_consent_event *, size_t n,
	    const char *list, time_t now, struct pw_consent_result *r);

/* Calendar helpers, UTC.  add_months: 00:00Z of the day `months` after
   the date of t, the day clamped to the end of a shorter month. */
time_t	pw_date_add_months(time_t t, int months);
/* "YYYY-MM-DD" (00:00Z) or "YYYY-MM-DDTHH:MM:SSZ" (also with a space for
   the T).  Returns 0 with *t_r, or -1. */
int	pw_date_parse(const char *, time_t *t_r);
/* "YYYY-MM-DDTHH:MM:SSZ" into buf[21]; returns buf. */
char	*pw_date_format(time_t, char *buf);
/* Microseconds since the epoch (store.h pw_time_us) as ISO 8601 with the
   fraction, "YYYY-MM-DDTHH:MM:SS.ffffffZ", into buf[28]; returns buf. */
char	*pw_date_format_us(int64_t us, char *buf);

#endif
