/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_report_html - "audit report --format html": the period's audit rows
 * of one organisation as one self-contained HTML page for an auditor
 * (inline CSS and SVG, no script, nothing fetched; a print stylesheet).
 *
 * ctl_audit.c owns the store: it feeds every audit row of the period to
 * pw_html_agg_row (a pw_store_audit_list callback), gathers the chain
 * verification, the withdrawals and the organisation's profile into a
 * struct pw_html_info, and calls pw_html_write.  Every number on the page
 * is in a table cell with a data-key attribute (the charts repeat them),
 * so that a test can compare the rendered page with the CSV report.
 */
#ifndef PW_CTL_REPORT_HTML_H
#define PW_CTL_REPORT_HTML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct pw_audit_row;
struct pw_org;
struct pw_html_agg;

/* One withdrawal (unsubscribe request) requested in the period. */
struct pw_html_unsub {
	const char	*address;
	time_t		 requested_at;
	time_t		 effective_at;
	long		 delay_s;
	long		 nlate;		/* commercial messages sent after */
	const char	*late;		/* "QID/audit_id ..." */
};

struct pw_html_info {
	const char	*org;
	const char	*since;		/* as given, NULL: open */
	const char	*until;
	const struct pw_org *org_conf;	/* NULL: no organisations file */
	const char	*profile_digest;	/* evidence.h; NULL: none */
	/* the whole store's hash chain (audit verify) */
	bool		 chain_ok;
	const char	*chain_text;
	char		 chain_head[65];
	uint64_t	 chain_rows;
	const struct pw_html_unsub *unsub;
	size_t		 nunsub;
};

struct pw_html_agg *pw_html_agg_new(void);
/* pw_store_audit_list callback; ctx is the aggregate */
int	pw_html_agg_row(const struct pw_audit_row *, void *ctx);
/* The page on fp; -1 on a write error. */
int	pw_html_write(FILE *fp, const struct pw_html_agg *,
	    const struct pw_html_info *);
void	pw_html_agg_free(struct pw_html_agg **);

#endif
