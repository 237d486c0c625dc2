/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * arf - Abuse Reporting Format complaints (RFC 5965, RFC 6650): a
 * multipart/report with report-type feedback-report, read with the
 * multipart/report reader of dsn.h.  Pure; thread-safe; everything
 * returned is malloc'd and freed with pw_arf_free.
 */
#ifndef PW_ARF_H
#define PW_ARF_H

#include <stddef.h>

#include "parsers/dsn.h"

struct pw_arf {
	char			*feedback_type;	/* lower case: abuse, fraud,
						   not-spam... */
	char			*user_agent;
	char			*version;
	char			*original_mail_from;	/* <> removed */
	char			*original_rcpt_to;	/* first; <> removed */
	char			*arrival_date;
	char			*reported_domain;
	char			*source_ip;
	struct pw_report_orig	 orig;
};

/* Parse a whole message.  1: an ARF report with a Feedback-Type (RFC
   5965 section 3.1; the other required fields are kept when present); 0:
   not a feedback report; -1 with *why_r (static) when it says it is one
   but cannot be read.  *arf_r is always safe to free. */
int	pw_arf_parse(const char *msg, size_t len, struct pw_arf *arf_r,
	    const char **why_r);
void	pw_arf_free(struct pw_arf *);

#endif
