/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * arf - read ARF complaints (RFC 5965).  See arf.h.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "parsers/arf.h"

static const char *const arf_types[] = {"message/feedback-report", NULL};

/* dup - a field value, or NULL */
static char *
dup(const struct pw_report_group *g, const char *name)
{
	const char *v = pw_report_get(g, name);

	return v != NULL && *v != '\0' ? pw_strdup(v) : NULL;
}

/* addr - "<a@b>" or "a@b" -> "a@b"; NULL when empty */
static char *
addr(const struct pw_report_group *g, const char *name)
{
	const char *v = pw_report_get(g, name);
	size_t l;

	if (v == NULL)
		return NULL;
	if (*v == '<')
		v++;
	l = strcspn(v, "> \t,");
	return l > 0 ? pw_strndup(v, l) : NULL;
}

int
pw_arf_parse(const char *msg, size_t len, struct pw_arf *a,
    const char **why_r)
{
	struct pw_report r;
	const struct pw_report_group *g;
	int rc;

	memset(a, 0, sizeof(*a));
	rc = pw_report_parse(msg, len, "feedback-report", arf_types, &r,
	    why_r);
	if (rc <= 0) {
		pw_report_free(&r);
		return rc;
	}
	/* RFC 5965 §3.1: one group of fields */
	g = &r.groups[0];
	if ((a->feedback_type = dup(g, "Feedback-Type")) == NULL) {
		*why_r = "no Feedback-Type";
		pw_report_free(&r);
		return -1;
	}
	pw_lowercase(a->feedback_type);
	a->user_agent = dup(g, "User-Agent");
	a->version = dup(g, "Version");
	a->original_mail_from = addr(g, "Original-Mail-From");
	a->original_rcpt_to = addr(g, "Original-Rcpt-To");
	a->arrival_date = dup(g, "Arrival-Date");
	a->reported_domain = dup(g, "Reported-Domain");
	a->source_ip = dup(g, "Source-IP");
	a->orig = r.orig;
	memset(&r.orig, 0, sizeof(r.orig));
	pw_report_free(&r);
	return 1;
}

void
pw_arf_free(struct pw_arf *a)
{
	free(a->feedback_type);
	free(a->user_agent);
	free(a->version);
	free(a->original_mail_from);
	free(a->original_rcpt_to);
	free(a->arrival_date);
	free(a->reported_domain);
	free(a->source_ip);
	pw_report_orig_free(&a->orig);
	memset(a, 0, sizeof(*a));
}
