/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * org - sender organisations: the file named by the "organisations" key
 * (conf/organisations.conf.sample documents the format), and the lookups
 * that map outbound mail to exactly one organisation (compliance-rules.md
 * R1).
 *
 * An organisation is the party that sends, or causes or permits sending,
 * under CASL s.6(1): a hosting provider's customer or the company itself.
 * Consent is per organisation (CRTC Regs s.4), so every compliance policy
 * starts from msg->comply.org, which pol_classify sets.
 *
 * Recognition, first match wins:
 *   1. SASL login (the authenticated identity: hardest to forge);
 *   2. envelope sender domain (MAIL FROM);
 *   3. From header domain (RFC 5322 author).
 * Domains are compared after IDNA A-label mapping and lower-casing
 * (addrnorm.h); an entry written ".example.com" matches every subdomain of
 * example.com but not example.com itself (Postfix parent_domain style).
 * SASL logins compare ASCII case-insensitively.
 *
 * A set is immutable once loaded and shared by all threads.
 */
#ifndef PW_ORG_H
#define PW_ORG_H

#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"
#include "compliance/quota_window.h"

struct pw_buf;
struct pw_orgs;

/* Outbound compliance state of a message (msg->comply), set by
   pol_classify: the class and how it was decided (compliance-rules.md R1,
   R2), and how the sending organisation was recognised. */
enum pw_class {
	PW_CLASS_NONE = 0,	/* not classified (no organisation) */
	PW_CLASS_COMMERCIAL,	/* CEM, incl. consent requests */
	PW_CLASS_TRANSACTIONAL,	/* CASL s.6(6) */
	PW_CLASS_OTHER,		/* not commercial */
};

enum pw_class_how { PW_CLASS_BY_NONE = 0, PW_CLASS_BY_HEADER,
	PW_CLASS_BY_ORG, PW_CLASS_BY_HEURISTIC };

enum pw_org_how { PW_ORG_NONE = 0, PW_ORG_BY_SASL, PW_ORG_BY_ENVELOPE,
	PW_ORG_BY_FROM };


/* The rules an organisation sets a mode (off | warn | enforce) for. */
enum pw_org_rule {
	PW_RULE_UNSUB,		/* R10-R12: List-Unsubscribe headers */
	PW_RULE_IDENT,		/* R8: identification in the body */
	PW_RULE_CONSENT,	/* R5: consent per recipient */
	PW_RULE_CLASS_HEADER,	/* R2/R3: Postwarden-Class from submitters */
	PW_RULE_SENDER_BINDING,	/* envelope/From/Sender in its own domains */
	PW_RULE_QUOTA,		/* sending quotas (pol_quota, issue 17) */
	PW_RULE_N
};

/* R4: a commercial message with several recipients. */
enum pw_multi_rcpt {
	PW_MULTI_RCPT_LIMIT,	/* 452 4.5.3 for the 2nd and later RCPT */
	PW_MULTI_REJECT,	/* 550 5.7.1 at end of message */
	PW_MULTI_MAILTO_ONLY,	/* one per-message mailto-only header */
};

/* R10: missing or invalid List-Unsubscribe headers on commercial mail. */
enum pw_unsub_invalid {
	PW_UNSUB_INVALID_REPLACE,	/* generate ours (default) */
	PW_UNSUB_INVALID_REJECT,	/* 550 5.7.1 at end of message */
};

/* What happens to a mailto unsubscribe once recorded (pol_unsub_mailto). */
enum pw_mailto_action {
	PW_MAILTO_DISCARD,	/* accepted and dropped (default) */
	PW_MAILTO_DELIVER,	/* delivered to the mailbox as usual */
};

/* R5: a recipient without valid consent. */
enum pw_missing_consent {
	PW_NOCONSENT_REFUSE_AT_RCPT,	/* 550 at RCPT when class_final,
					   else as drop_at_eom */
	PW_NOCONSENT_DROP_AT_EOM,	/* delete the recipient at EOM */
	PW_NOCONSENT_REJECT,		/* reject the whole message */
};

/* Whose Postwarden-Class header the organisation trusts. */
enum pw_class_header_from {
	PW_CLASSHDR_SUBMITTERS,	/* its SASL logins and internal hosts */
	PW_CLASSHDR_SASL,	/* its SASL logins only */
	PW_CLASSHDR_INTERNAL,	/* internal_hosts / local sendmail only */
	PW_CLASSHDR_NOBODY,
};

struct pw_org {
	char		*name;		/* [A-Za-z0-9._-]{1,64}: token-safe */
	char		*where;		/* "FILE:LINE" of its [org] line */
	char		**domains;	/* sender domains, normalised */
	char		**sasl_logins;
	char		**envelope_domains;	/* default: domains */
	char		**from_domains;		/* default: domains */
	enum pw_class	 default_class;
	/* Identification profile (CRTC Regs s.2(1)); NULL when unset. */
	char		*business_name;
	char		*mailing_address;
	char		*contact_phone;
	char		*contact_email;
	char		*contact_url;
	char		*identification_url;	/* s.2(2) page */
	/* Unsubscribe (RFC 8058, CASL s.11). */
	char		*unsubscribe_url;	/* https:// base */
	char		*unsubscribe_mailto;	/* address, no "mailto:" */
	int		 token_key_id;		/* -1: the ring's newest */
	enum pw_mode	 mode[PW_RULE_N];
	enum pw_multi_rcpt	 multi_recipient;
	enum pw_missing_consent	 missing_consent;
	enum pw_unsub_invalid	 unsub_invalid;
	/* Inbound mail to unsubscribe_mailto (pol_unsub_mailto). */
	enum pw_mailto_action	 mailto_action;	/* unsubscribe_mailto_action */
	bool			 mailto_from;	/* unsubscribe_mailto_from:
						   no valid token = a request
						   for the From address */
	/* Inbound ARF complaints (RFC 5965) to this address become
	   suppressions (pol_feedback, issue 17).  NULL: none. */
	char			*complaints_address;
	/* Overrides of postwarden.conf's feedback-loop settings (0, or
	   PW_RATE_UNSET for the rates: not set here). */
	long			 bounce_soft_limit;
	long			 bounce_soft_days;
	long			 complaint_warn_ppm;	/* complaint_rate.h */
	long			 complaint_hold_ppm;
	long			 complaint_min_delivered;
	/* Tenant binding (pol_classify, pol_dkim_sign). */
	char			**send_as;	/* more addresses ("@" in
						   them) and domains its
						   submitters may use */
	bool			 bind_internal;	/* sender_binding_internal:
						   also for internal hosts
						   without SASL */
	enum pw_class_header_from class_header_from;
	/* Sending quotas (pol_quota, issue 17): the limit per clock hour,
	   day and calendar month (UTC); 0: no limit for that window. */
	long long		 quota[PW_QUOTA_NWIN];
	enum pw_quota_unit	 quota_unit;
	enum pw_quota_month_action quota_month_action;
};

/* Load FILE.  On error returns NULL and appends one "FILE:LINE: message"
   line per problem to *errors (all of them). */
struct pw_orgs	*pw_orgs_load(const char *path, struct pw_buf *errors);
void		 pw_orgs_free(struct pw_orgs **);
/* Settings of a loaded set that cannot act together (multi_recipient =
   rcpt_limit or missing_consent = refuse_at_rcpt, written in the file,
   where the class cannot be known at MAIL FROM): appends one
   "FILE:LINE: warning: ..." line per problem to *out and returns how
   many.  They load all the same (postwarden -n logs them). */
size_t		 pw_orgs_warnings(const struct pw_orgs *, struct pw_buf *out);

size_t		 pw_orgs_count(const struct pw_orgs *);
const struct pw_org *pw_orgs_nth(const struct pw_orgs *, size_t);
const struct pw_org *pw_orgs_by_name(const struct pw_orgs *, const char *);

/* Single lookups; NULL when nothing matches or the input is malformed. */
const struct pw_org *pw_orgs_by_sasl(const struct pw_orgs *, const char *);
const struct pw_org *pw_orgs_by_envelope(const struct pw_orgs *,
		    const char *domain);
const struct pw_org *pw_orgs_by_from(const struct pw_orgs *,
		    const char *domain);

/* The documented order: SASL login, envelope sender, From address (each
   may be NULL).  Sets *how_r (PW_ORG_NONE when NULL is returned). */
const struct pw_org *pw_orgs_match(const struct pw_orgs *, const char *sasl,
		    const char *env_from, const char *from_addr,
		    enum pw_org_how *how_r);

/* May o's submitters use this address (envelope sender, From, Sender)?
   True when its domain is one of o's domains, envelope_domains or
   from_domains, or the address or its domain is in send_as (".parent"
   entries match subdomains).  False for a malformed address. */
bool		 pw_org_may_send_as(const struct pw_org *o, const char *addr);

/* The organisation that owns a domain (its domains, envelope_domains or
   from_domains), or NULL: a DKIM key of that domain signs only its mail
   (pol_dkim_sign). */
const struct pw_org *pw_orgs_owner(const struct pw_orgs *,
		    const char *domain);

/* Names for logs and the summary line. */
const char	*pw_class_name(enum pw_class);
const char	*pw_class_how_name(enum pw_class_how);
const char	*pw_org_how_name(enum pw_org_how);
/* Parse a class name; returns 0, or -1 when unknown. */
int		 pw_class_parse(const char *, enum pw_class *);

#endif
