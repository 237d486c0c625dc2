/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dsn - multipart/report messages (RFC 6522): delivery status
 * notifications (RFC 3464) here, feedback reports (RFC 5965) in arf.h.
 *
 * The MIME tree is parsed with GMime 3; the machine-readable part
 * (message/delivery-status, message/feedback-report) is a block of
 * header-like fields in groups separated by empty lines, read here.  The
 * returned original (message/rfc822 or text/rfc822-headers, RFC 6522
 * section 3) gives the headers that tie a report to a message we sent.
 *
 * Pure (no I/O, no global state but GMime's one-time initialisation,
 * done here with pthread_once); thread-safe.  Everything returned is
 * malloc'd and freed with the matching _free function.
 */
#ifndef PW_DSN_H
#define PW_DSN_H

#include <stdbool.h>
#include <stddef.h>

#define PW_REPORT_MAX_RCPTS	100	/* per-recipient groups kept */
#define PW_REPORT_MAX_FIELD	998	/* longer field values are cut */

/*
 * What a failed recipient's Status means for the sender (the table in
 * man/postwarden.conf.5, "Bounces"):
 *   HARD   the address will not work: 5.1.x (bad mailbox, domain,
 *          syntax, moved, null MX) and 5.2.1 (mailbox disabled);
 *   SOFT   may work later: 4.x.x, 5.2.x but 5.2.1 (5.2.2 mailbox full),
 *          5.3.x (destination system), 5.4.x (network, routing);
 *   OTHER  says nothing about the address: 5.5.x protocol, 5.6.x
 *          content, 5.7.x policy (a block of this message or sender),
 *          anything unparsable.
 */
enum pw_dsn_kind {
	PW_DSN_OTHER = 0,
	PW_DSN_HARD,
	PW_DSN_SOFT,
};

/* The headers of the returned original that matter to us; NULL when
   absent.  Values are unfolded, leading white space removed. */
struct pw_report_orig {
	char	*message_id;	/* with its <> as written */
	char	*list_unsubscribe;
	char	*from;
	char	*to;
	char	*subject;
	bool	 present;	/* an original part was found */
};

struct pw_dsn_rcpt {
	char		*final_rcpt;	/* the address, "rfc822;" removed */
	char		*original_rcpt;	/* the same, may be NULL */
	char		*action;	/* lower case: failed, delayed... */
	char		*status;	/* "5.1.1" (the code only) */
	char		*diag;		/* Diagnostic-Code, may be NULL */
	enum pw_dsn_kind kind;		/* PW_DSN_OTHER unless failed */
};

struct pw_dsn {
	char			*reporting_mta;	/* "dns; mx.example" or NULL */
	struct pw_dsn_rcpt	*v;
	size_t			 n;
	struct pw_report_orig	 orig;
};

/* Parse a whole message (headers and body, LF or CRLF).  Returns 1 with
   *dsn_r filled when it is a multipart/report with report-type
   delivery-status (or global-delivery-status, RFC 6533) and at least one
   per-recipient group with a Final-Recipient; 0 when it is not such a
   report (nothing allocated); -1 with *why_r (static text) when it says
   it is one but cannot be read.  *dsn_r is always safe to free. */
int	pw_dsn_parse(const char *msg, size_t len, struct pw_dsn *dsn_r,
	    const char **why_r);
void	pw_dsn_free(struct pw_dsn *);

/* The kind of a failure with this status code ("5.1.1"); OTHER for
   anything but a well-formed code. */
enum pw_dsn_kind pw_dsn_kind(const char *status);
const char *pw_dsn_kind_name(enum pw_dsn_kind);

/* ---- shared with arf.c ------------------------------------------------ */

/* One group of fields of a machine-readable report part. */
struct pw_report_field {
	char	*name;
	char	*value;		/* unfolded, trimmed */
};
struct pw_report_group {
	struct pw_report_field	*v;
	size_t			 n;
};
struct pw_report {
	char			*report_type;	/* lower case */
	struct pw_report_group	*groups;	/* [0]: per-message */
	size_t			 ngroups;
	struct pw_report_orig	 orig;
};

/* Find the multipart/report (top level, or the first one inside a
   multipart/mixed, as some providers wrap ARF) and read its second part
   of type machine_type ("message/delivery-status") into groups, and its
   returned original.  Returns 1, 0 (not a multipart/report of
   report_type), or -1 with *why_r. */
int	pw_report_parse(const char *msg, size_t len, const char *report_type,
	    const char *const *machine_types, struct pw_report *r,
	    const char **why_r);
void	pw_report_free(struct pw_report *);
/* The value of the first field of this name in a group, or NULL. */
const char *pw_report_get(const struct pw_report_group *, const char *name);
void	pw_report_orig_free(struct pw_report_orig *);
/* "rfc822; a@b" -> "a@b" (malloc'd, <> removed), NULL if not rfc822 or
   empty. */
char	*pw_report_addr(const char *typed);

#endif
