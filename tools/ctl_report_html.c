/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_report_html - the auditor's page (see ctl_report_html.h).
 *
 * Counts are per audit row, that is per message and recipient, exactly
 * the lines of the CSV report of the same period; messages are counted
 * apart by distinct queue id.  Days are UTC days.  The page carries a
 * Content-Security-Policy that forbids every fetch and every script, so
 * that what the auditor prints is what the file holds.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "compliance/consent_state.h"
#include "compliance/org.h"
#include "ctl_report_html.h"
#include "store/store.h"

/* One counter: up to three key parts and a count. */
struct cnt {
	char	*k[3];
	long	 n;
};

struct cnts {
	struct cnt *v;
	size_t	 n, cap;
};

struct pw_html_agg {
	struct cnts days;	/* day, class, action */
	struct cnts basis;	/* basis type ("none"), commercial rows */
	struct cnts refusals;	/* action, reason: not delivered */
	struct cnts ident;	/* day, queue id, reason */
	struct cnts actions;	/* action: totals, and the chart's order */
	struct cnts classes;	/* class */
	char	**qids;		/* for the distinct message count */
	size_t	 nqids, capqids;
	long	 rows;
	time_t	 first, last;
};

#define NONE_LABEL "(none)"


/* sort_n - qsort, which must not be given NULL even for no elements
   (found by UBSan: an empty period) */
static void
sort_n(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(v, n, size, cmp);
}

static int
key_eq(const struct cnt *c, const char *const *k, int nk)
{
	for (int i = 0; i < nk; i++)
		if (strcmp(c->k[i], k[i]) != 0)
			return 0;
	return 1;
}

/* cnt_add - count one for the key; searched from the end, because rows
   come in time order and the latest keys are the likely ones */
static void
cnt_add(struct cnts *cs, const char *const *k, int nk)
{
	struct cnt *c;

	for (size_t i = cs->n; i > 0; i--) {
		if (key_eq(&cs->v[i - 1], k, nk)) {
			cs->v[i - 1].n++;
			return;
		}
	}
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? cs->cap * 2 : 32;
		cs->v = pw_realloc(cs->v, cs->cap * sizeof(*cs->v));
	}
	c = &cs->v[cs->n++];
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < nk; i++)
		c->k[i] = pw_strdup(k[i]);
	for (int i = nk; i < 3; i++)
		c->k[i] = pw_strdup("");
	c->n = 1;
}

static void
cnts_free(struct cnts *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		for (int j = 0; j < 3; j++)
			free(cs->v[i].k[j]);
	free(cs->v);
	memset(cs, 0, sizeof(*cs));
}

static int
cnt_cmp(const void *a, const void *b)
{
	const struct cnt *x = a, *y = b;
	int d;

	for (int i = 0; i < 3; i++)
		if ((d = strcmp(x->k[i], y->k[i])) != 0)
			return d;
	return 0;
}

/* by count, largest first; ties by key */
static int
cnt_cmp_n(const void *a, const void *b)
{
	const struct cnt *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return cnt_cmp(a, b);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct pw_html_agg *
pw_html_agg_new(void)
{
	struct pw_html_agg *a = pw_calloc(1, sizeof(*a));

	a->first = a->last = PW_NOTIME;
	return a;
}

void
pw_html_agg_free(struct pw_html_agg **ap)
{
	struct pw_html_agg *a = *ap;

	if (a == NULL)
		return;
	cnts_free(&a->days);
	cnts_free(&a->basis);
	cnts_free(&a->refusals);
	cnts_free(&a->ident);
	cnts_free(&a->actions);
	cnts_free(&a->classes);
	for (size_t i = 0; i < a->nqids; i++)
		free(a->qids[i]);
	free(a->qids);
	free(a);
	*ap = NULL;
}

static const char *
nz(const char *s)
{
	return s != NULL && *s != '\0' ? s : NONE_LABEL;
}

int
pw_html_agg_row(const struct pw_audit_row *r, void *ctx)
{
	struct pw_html_agg *a = ctx;
	char ts[21], day[11];
	const char *k[3];

	a->rows++;
	if (a->first == PW_NOTIME || r->time < a->first)
		a->first = r->time;
	if (a->last == PW_NOTIME || r->time > a->last)
		a->last = r->time;
	pw_date_format(r->time, ts);
	memcpy(day, ts, 10);
	day[10] = '\0';

	k[0] = day;
	k[1] = nz(r->class);
	k[2] = nz(r->action);
	cnt_add(&a->days, k, 3);
	cnt_add(&a->actions, k + 2, 1);
	cnt_add(&a->classes, k + 1, 1);
	if (r->class != NULL && strcmp(r->class, "commercial") == 0) {
		k[0] = nz(r->basis_type);
		cnt_add(&a->basis, k, 1);
	}
	if (r->action == NULL || (strcmp(r->action, "delivered") != 0 &&
	    strcmp(r->action, "quarantined") != 0)) {
		k[0] = nz(r->action);
		k[1] = nz(r->reason);
		cnt_add(&a->refusals, k, 2);
	}
	/* identify.c's reply: "... lacks sender identification (CASL ...)" */
	if (r->reason != NULL && strstr(r->reason, "identification") != NULL) {
		k[0] = day;
		k[1] = nz(r->queue_id);
		k[2] = r->reason;
		cnt_add(&a->ident, k, 3);
	}
	if (a->nqids == a->capqids) {
		a->capqids = a->capqids ? a->capqids * 2 : 64;
		a->qids = pw_realloc(a->qids, a->capqids * sizeof(*a->qids));
	}
	a->qids[a->nqids++] = pw_strdup(nz(r->queue_id));
	return 0;
}

/* ---- output helpers ------------------------------------------------------ */

/* esc - text for HTML content and attribute values */
static void
esc(FILE *fp, const char *s)
{
	if (s == NULL)
		return;
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", fp);
			break;
		case '<':
			fputs("&lt;", fp);
			break;
		case '>':
			fputs("&gt;", fp);
			break;
		case '"':
			fputs("&quot;", fp);
			break;
		case '\'':
			fputs("&#39;", fp);
			break;
		default:
			/* control characters would make the file invalid */
			if ((unsigned char)*s < 0x20 && *s != '\t')
				fputc(' ', fp);
			else
				fputc(*s, fp);
		}
	}
}

/* numcell - a counted number; key names it for the tests */
static void
numcell(FILE *fp, const char *key, long n)
{
	fputs("<td class=\"n\" data-key=\"", fp);
	esc(fp, key);
	fprintf(fp, "\">%ld</td>", n);
}

/* Colours for the actions; others take the spare ones in turn. */
static const struct {
	const char *action, *colour;
} act_colours[] = {
    {"delivered", "#2e7d32"},
    {"quarantined", "#6a1b9a"},
    {"refused_rcpt", "#c62828"},
    {"removed", "#ef6c00"},
    {"rejected", "#8e0000"},
    {"tempfail_rcpt", "#f9a825"},
    {"tempfailed", "#fbc02d"},
    {"discarded", "#616161"},
    {"aborted", "#9e9e9e"},
};
static const char *spare_colours[] = {"#1565c0", "#00838f", "#4e342e",
    "#ad1457", "#558b2f"};

static const char *
colour(const char *action, size_t idx)
{
	for (size_t i = 0; i < sizeof(act_colours) / sizeof(act_colours[0]);
	     i++)
		if (strcmp(act_colours[i].action, action) == 0)
			return act_colours[i].colour;
	return spare_colours[idx % (sizeof(spare_colours) /
	    sizeof(spare_colours[0]))];
}

static const char css[] =
    "body{font-family:'DejaVu Sans',Arial,Helvetica,sans-serif;color:#111;"
    "margin:2em auto;max-width:60em;padding:0 1em;font-size:11pt;"
    "line-height:1.4}\n"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;"
    "border-bottom:1px solid #999;margin-top:1.6em}\n"
    "table{border-collapse:collapse;margin:.5em 0}"
    "th,td{border:1px solid #bbb;padding:.2em .6em;text-align:left;"
    "vertical-align:top}th{background:#eee}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums}\n"
    ".meta td:first-child{font-weight:bold}.hash{font-family:monospace;"
    "word-break:break-all}\n"
    ".ok{color:#1b5e20;font-weight:bold}.bad{color:#b71c1c;"
    "font-weight:bold}.note{color:#444;font-size:.9em}\n"
    "svg{display:block;margin:.5em 0;max-width:100%;height:auto}\n"
    "svg text{font-family:'DejaVu Sans',Arial,sans-serif;font-size:11px;"
    "fill:#111}\n"
    "@page{size:A4;margin:15mm}\n"
    "@media print{body{margin:0;max-width:none;font-size:9.5pt}"
    "section{break-inside:avoid}h2{break-after:avoid}"
    "th{background:#eee!important;-webkit-print-color-adjust:exact;"
    "print-color-adjust:exact}svg{-webkit-print-color-adjust:exact;"
    "print-color-adjust:exact}}\n";

/* ---- sections -------------------------------------------------------------- */

struct day {
	const char *day;
	long total;
};

/* chart_days - stacked bars: rows per day, by action */
static void
chart_days(FILE *fp, const struct pw_html_agg *a, const struct cnt *sorted,
    const struct cnt *acts, size_t nacts)
{
	const int W = 720, H = 260, L = 48, R = 10, T = 10, B = 46;
	struct day *d = NULL;
	size_t nd = 0, step;
	long max = 1;
	double bw, x, y, h;

	for (size_t i = 0; i < a->days.n; i++) {
		if (nd == 0 || strcmp(d[nd - 1].day, sorted[i].k[0]) != 0) {
			d = pw_realloc(d, (nd + 1) * sizeof(*d));
			d[nd].day = sorted[i].k[0];
			d[nd++].total = 0;
		}
		d[nd - 1].total += sorted[i].n;
	}
	for (size_t i = 0; i < nd; i++)
		if (d[i].total > max)
			max = d[i].total;
	fprintf(fp, "<svg role=\"img\" aria-label=\"Audit rows per day by "
	    "action\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
	    "xmlns=\"http://www.w3.org/2000/svg\">\n", W, H + 22 *
	    (int)((nacts + 3) / 4), W, H + 22 * (int)((nacts + 3) / 4));
	/* axis and three grid lines: 0, half, max */
	for (int g = 0; g <= 2; g++) {
		long v = g == 0 ? 0 : g == 1 ? max / 2 : max;

		y = T + (H - T - B) * (1.0 - (double)v / max);
		fprintf(fp, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
		    "stroke=\"#ccc\"/><text x=\"%d\" y=\"%.1f\" "
		    "text-anchor=\"end\">%ld</text>\n", L, y, W - R, y, L - 4,
		    y + 4, v);
	}
	bw = nd ? (double)(W - L - R) / nd : 0;
	step = nd > 16 ? (nd + 15) / 16 : 1;	/* at most 16 labels */
	for (size_t i = 0; i < nd; i++) {
		double base = H - B;

		x = L + bw * i + bw * 0.1;
		for (size_t j = 0; j < nacts; j++) {
			for (size_t k = 0; k < a->days.n; k++) {
				if (strcmp(sorted[k].k[0], d[i].day) != 0 ||
				    strcmp(sorted[k].k[2], acts[j].k[0]) != 0)
					continue;
				h = (double)(H - T - B) * sorted[k].n / max;
				base -= h;
				fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" "
				    "width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
				    "<title>", x, base, bw * 0.8, h,
				    colour(acts[j].k[0], j));
				esc(fp, d[i].day);
				fputc(' ', fp);
				esc(fp, sorted[k].k[1]);
				fputc(' ', fp);
				esc(fp, acts[j].k[0]);
				fprintf(fp, ": %ld</title></rect>\n",
				    sorted[k].n);
			}
		}
		if (i % step == 0) {
			fprintf(fp, "<text x=\"%.1f\" y=\"%d\" "
			    "text-anchor=\"end\" transform=\"rotate(-40 %.1f "
			    "%d)\">", x + bw * 0.4, H - B + 14, x + bw * 0.4,
			    H - B + 14);
			esc(fp, d[i].day);
			fputs("</text>\n", fp);
		}
	}
	/* legend */
	for (size_t j = 0; j < nacts; j++) {
		int lx = L + (int)(j % 4) * 170, ly = H + 4 + (int)(j / 4) * 22;

		fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" "
		    "fill=\"%s\"/><text x=\"%d\" y=\"%d\">", lx, ly,
		    colour(acts[j].k[0], j), lx + 16, ly + 10);
		esc(fp, acts[j].k[0]);
		fprintf(fp, " (%ld)</text>\n", acts[j].n);
	}
	fputs("</svg>\n", fp);
	free(d);
}

/* chart_hbars - one horizontal bar per counter (label: key parts joined) */
static void
chart_hbars(FILE *fp, const char *label, const struct cnt *c, size_t n,
    int nk, const char *fill)
{
	const int W = 720, LW = 300, RH = 22;
	long max = 1;

	for (size_t i = 0; i < n; i++)
		if (c[i].n > max)
			max = c[i].n;
	fprintf(fp, "<svg role=\"img\" aria-label=\"%s\" viewBox=\"0 0 %d %d\" "
	    "width=\"%d\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">\n",
	    label, W, (int)n * RH + 4, W, (int)n * RH + 4);
	for (size_t i = 0; i < n; i++) {
		double w = (double)(W - LW - 60) * c[i].n / max;
		char buf[64];
		size_t len = 0;

		fprintf(fp, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
		    LW - 6, (int)i * RH + 15);
		/* labels are cut: the table below has them in full */
		for (int k = 0; k < nk && len < 40; k++) {
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
			    "%s%s", k ? ": " : "", c[i].k[k]);
			if (len >= sizeof(buf))
				len = sizeof(buf) - 1;
		}
		if (len > 44)
			strcpy(buf + 41, "...");
		esc(fp, buf);
		fprintf(fp, "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
		    "height=\"16\" fill=\"%s\"/><text x=\"%.1f\" y=\"%d\">%ld"
		    "</text>\n", LW, (int)i * RH + 3, w, fill, LW + w + 4,
		    (int)i * RH + 15, c[i].n);
	}
	fputs("</svg>\n", fp);
}

static void
meta_row(FILE *fp, const char *k, const char *v, const char *key)
{
	fputs("<tr><td>", fp);
	esc(fp, k);
	fputs("</td><td", fp);
	if (key != NULL) {
		fputs(" data-key=\"", fp);
		esc(fp, key);
		fputc('"', fp);
	}
	fputc('>', fp);
	esc(fp, v != NULL ? v : "not set");
	fputs("</td></tr>\n", fp);
}

static void
sec_profile(FILE *fp, const struct pw_html_info *in)
{
	const struct pw_org *o = in->org_conf;

	fputs("<section><h2>Identification profile</h2>\n", fp);
	if (o == NULL) {
		fputs("<p>Not available: run with <code>-c</code> naming the "
		    "configuration whose <code>organisations</code> file has "
		    "this organisation.</p></section>\n", fp);
		return;
	}
	fputs("<p class=\"note\">From the organisations file as it is now "
	    "(CRTC Regulations s.2): audit rows do not record the profile in "
	    "force when each message was sent.</p>\n<table class=\"meta\">\n",
	    fp);
	meta_row(fp, "Business name", o->business_name, "profile/business_name");
	meta_row(fp, "Mailing address", o->mailing_address,
	    "profile/mailing_address");
	meta_row(fp, "Telephone", o->contact_phone, NULL);
	meta_row(fp, "E-mail", o->contact_email, NULL);
	meta_row(fp, "Web", o->contact_url, NULL);
	meta_row(fp, "Identification page", o->identification_url, NULL);
	meta_row(fp, "Unsubscribe URL", o->unsubscribe_url, NULL);
	meta_row(fp, "Unsubscribe address", o->unsubscribe_mailto, NULL);
	meta_row(fp, "Profile digest", in->profile_digest, "profile/digest");
	fputs("</table></section>\n", fp);
}

static void
sec_days(FILE *fp, const struct pw_html_agg *a, struct cnt *sorted,
    struct cnt *acts)
{
	char key[256];

	fputs("<section><h2>Messages by class and action per day</h2>\n"
	    "<p class=\"note\">One count per message and recipient (the rows "
	    "of the CSV report); days in UTC.</p>\n", fp);
	if (a->rows == 0) {
		fputs("<p>No audit rows in this period.</p></section>\n", fp);
		return;
	}
	chart_days(fp, a, sorted, acts, a->actions.n);
	fputs("<table><tr><th>Day</th><th>Class</th><th>Action</th>"
	    "<th>Rows</th></tr>\n", fp);
	for (size_t i = 0; i < a->days.n; i++) {
		fputs("<tr><td>", fp);
		esc(fp, sorted[i].k[0]);
		fputs("</td><td>", fp);
		esc(fp, sorted[i].k[1]);
		fputs("</td><td>", fp);
		esc(fp, sorted[i].k[2]);
		fputs("</td>", fp);
		snprintf(key, sizeof(key), "day/%s/%s/%s", sorted[i].k[0],
		    sorted[i].k[1], sorted[i].k[2]);
		numcell(fp, key, sorted[i].n);
		fputs("</tr>\n", fp);
	}
	fputs("</table></section>\n", fp);
}

static void
sec_counts(FILE *fp, const char *title, const char *note, struct cnts *cs,
    int nk, const char *const *heads, const char *keypfx, const char *fill,
    const char *empty)
{
	char key[1024];

	fprintf(fp, "<section><h2>%s</h2>\n", title);
	if (note != NULL)
		fprintf(fp, "<p class=\"note\">%s</p>\n", note);
	if (cs->n == 0) {
		fprintf(fp, "<p>%s</p></section>\n", empty);
		return;
	}
	sort_n(cs->v, cs->n, sizeof(*cs->v), cnt_cmp_n);
	chart_hbars(fp, title, cs->v, cs->n, nk, fill);
	fputs("<table><tr>", fp);
	for (int k = 0; k < nk; k++)
		fprintf(fp, "<th>%s</th>", heads[k]);
	fputs("<th>Rows</th></tr>\n", fp);
	for (size_t i = 0; i < cs->n; i++) {
		size_t len = (size_t)snprintf(key, sizeof(key), "%s", keypfx);

		fputs("<tr>", fp);
		for (int k = 0; k < nk; k++) {
			fputs("<td>", fp);
			esc(fp, cs->v[i].k[k]);
			fputs("</td>", fp);
			if (len < sizeof(key))
				len += (size_t)snprintf(key + len,
				    sizeof(key) - len, "/%s", cs->v[i].k[k]);
		}
		numcell(fp, key, cs->v[i].n);
		fputs("</tr>\n", fp);
	}
	fputs("</table></section>\n", fp);
}

static int
long_cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static void
sec_unsub(FILE *fp, const struct pw_html_info *in)
{
	long *d, late = 0, median = 0, max = 0;
	char t1[21], t2[21];
	size_t n = in->nunsub;

	fputs("<section><h2>Unsubscribe requests</h2>\n<p class=\"note\">"
	    "Withdrawals requested in the period (one-click, mailto or "
	    "recorded by hand); the delay runs from the request to the moment "
	    "it took effect.  A message after a request is a commercial "
	    "message delivered to that recipient at or after the request, "
	    "without consent given again since (CASL s.11(3)), at any time up "
	    "to now.</p>\n", fp);
	d = pw_calloc(n ? n : 1, sizeof(*d));
	for (size_t i = 0; i < n; i++) {
		d[i] = in->unsub[i].delay_s;
		late += in->unsub[i].nlate;
	}
	sort_n(d, n, sizeof(*d), long_cmp);
	if (n > 0) {
		/* the lower middle for an even count: a delay that happened */
		median = d[(n - 1) / 2];
		max = d[n - 1];
	}
	free(d);
	fputs("<table class=\"meta\"><tr><th>Measure</th><th>Value</th></tr>"
	    "\n<tr><td>Requests</td>", fp);
	numcell(fp, "unsub/requests", (long)n);
	fputs("</tr>\n<tr><td>Median delay (s)</td>", fp);
	if (n)
		numcell(fp, "unsub/median_s", median);
	else
		fputs("<td data-key=\"unsub/median_s\">none</td>", fp);
	fputs("</tr>\n<tr><td>Longest delay (s)</td>", fp);
	if (n)
		numcell(fp, "unsub/max_s", max);
	else
		fputs("<td data-key=\"unsub/max_s\">none</td>", fp);
	fputs("</tr>\n<tr><td>Messages after a request</td>", fp);
	fprintf(fp, "<td class=\"n %s\" data-key=\"unsub/sent_after\">%ld"
	    "</td></tr>\n</table>\n", late ? "bad" : "ok", late);
	if (n > 0) {
		fputs("<table><tr><th>Address</th><th>Requested</th>"
		    "<th>Effective</th><th>Delay (s)</th><th>Messages after"
		    "</th></tr>\n", fp);
		for (size_t i = 0; i < n; i++) {
			const struct pw_html_unsub *u = &in->unsub[i];

			fputs("<tr><td>", fp);
			esc(fp, u->address);
			fprintf(fp, "</td><td>%s</td><td>%s</td><td class=\"n\">"
			    "%ld</td><td class=\"n%s\">%ld", pw_date_format(
			    u->requested_at, t1), pw_date_format(
			    u->effective_at, t2), u->delay_s, u->nlate ?
			    " bad" : "", u->nlate);
			if (u->nlate) {
				fputs(" (", fp);
				esc(fp, u->late);
				fputc(')', fp);
			}
			fputs("</td></tr>\n", fp);
		}
		fputs("</table>\n", fp);
	}
	fputs("</section>\n", fp);
}

static void
sec_ident(FILE *fp, struct pw_html_agg *a)
{
	long n = 0;

	for (size_t i = 0; i < a->ident.n; i++)
		n += a->ident.v[i].n;
	fputs("<section><h2>Identification failures</h2>\n<p class=\"note\">"
	    "Commercial messages refused because the body lacked the sender's "
	    "identification (identification_mode = enforce).  In warn mode "
	    "such messages are delivered and only logged: they are not in the "
	    "audit trail.</p>\n<table class=\"meta\"><tr><td>Rows</td>", fp);
	numcell(fp, "ident/rows", n);
	fputs("</tr></table>\n", fp);
	if (a->ident.n > 0) {
		sort_n(a->ident.v, a->ident.n, sizeof(*a->ident.v), cnt_cmp);
		fputs("<table><tr><th>Day</th><th>Queue id</th><th>Reason</th>"
		    "<th>Rows</th></tr>\n", fp);
		for (size_t i = 0; i < a->ident.n; i++) {
			fputs("<tr>", fp);
			for (int k = 0; k < 3; k++) {
				fputs("<td>", fp);
				esc(fp, a->ident.v[i].k[k]);
				fputs("</td>", fp);
			}
			fprintf(fp, "<td class=\"n\">%ld</td></tr>\n",
			    a->ident.v[i].n);
		}
		fputs("</table>\n", fp);
	}
	fputs("</section>\n", fp);
}

static void
sec_chain(FILE *fp, const struct pw_html_info *in)
{
	char rows[32];

	fputs("<section><h2>Audit chain</h2>\n<p class=\"note\">Every row of "
	    "the store (all organisations) is hashed with the one before it "
	    "(<code>postwarden-ctl audit verify</code>).  Keep the head hash: "
	    "<code>audit verify --expect-head HASH</code> later shows that no "
	    "row up to it was removed.</p>\n<table class=\"meta\">\n", fp);
	fprintf(fp, "<tr><td>Result</td><td class=\"%s\" "
	    "data-key=\"chain/result\">", in->chain_ok ? "ok" : "bad");
	esc(fp, in->chain_text);
	fputs("</td></tr>\n<tr><td>Rows verified</td>", fp);
	snprintf(rows, sizeof(rows), "%" PRIu64, in->chain_rows);
	fprintf(fp, "<td class=\"n\" data-key=\"chain/rows\">%s</td></tr>\n"
	    "<tr><td>Head hash</td><td class=\"hash\" data-key=\"chain/head\">"
	    "%s</td></tr>\n</table></section>\n", rows,
	    in->chain_head[0] ? in->chain_head : "none");
}

int
pw_html_write(FILE *fp, const struct pw_html_agg *ca,
    const struct pw_html_info *in)
{
	/* sections sort their counters in place */
	struct pw_html_agg *a = (struct pw_html_agg *)ca;
	static const char *const basis_h[] = {"Consent basis"};
	static const char *const ref_h[] = {"Action", "Reason"};
	struct cnt *sorted;
	char now[21], t1[21], t2[21];
	size_t nmsg = 0;

	/* distinct messages; a recipient refused before the MTA gave the
	   message a queue id (Postfix: NOQUEUE) is an attempt of its own */
	sort_n(a->qids, a->nqids, sizeof(*a->qids), str_cmp);
	for (size_t i = 0; i < a->nqids; i++)
		if (i == 0 || strcmp(a->qids[i], a->qids[i - 1]) != 0 ||
		    strcmp(a->qids[i], "NOQUEUE") == 0 ||
		    strcmp(a->qids[i], NONE_LABEL) == 0)
			nmsg++;
	sorted = a->days.v;
	sort_n(sorted, a->days.n, sizeof(*sorted), cnt_cmp);
	sort_n(a->actions.v, a->actions.n, sizeof(*a->actions.v), cnt_cmp_n);

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "\n<meta http-equiv=\"Content-Security-Policy\" content=\""
	    "default-src 'none'; style-src 'unsafe-inline'\">\n"
	    "<meta name=\"generator\" content=\"postwarden-ctl " PACKAGE_VERSION
	    "\">\n<title>Compliance report: ", fp);
	esc(fp, in->org);
	fprintf(fp, "</title>\n<style>\n%s</style>\n</head><body>\n", css);
	fputs("<h1>Compliance report: ", fp);
	esc(fp, in->org);
	fputs("</h1>\n<table class=\"meta\">\n", fp);
	meta_row(fp, "Organisation", in->org, "org");
	meta_row(fp, "Period from", in->since ? in->since :
	    "the first record", "since");
	meta_row(fp, "Period until (excluded)", in->until ? in->until : "now",
	    "until");
	meta_row(fp, "First row", a->rows ? pw_date_format(a->first, t1) :
	    "none", NULL);
	meta_row(fp, "Last row", a->rows ? pw_date_format(a->last, t2) :
	    "none", NULL);
	meta_row(fp, "Generated", pw_date_format(time(NULL), now), NULL);
	meta_row(fp, "By", "postwarden-ctl " PACKAGE_VERSION, NULL);
	fputs("</table>\n", fp);

	/* summary */
	fputs("<section><h2>Summary</h2>\n<table class=\"meta\">"
	    "<tr><td>Audit rows (message &#215; recipient)</td>", fp);
	numcell(fp, "total/rows", a->rows);
	fputs("</tr>\n<tr><td>Messages (distinct queue ids; each refusal before queueing counts as one)</td>", fp);
	numcell(fp, "total/messages", (long)nmsg);
	fputs("</tr>\n", fp);
	sort_n(a->classes.v, a->classes.n, sizeof(*a->classes.v), cnt_cmp);
	for (size_t i = 0; i < a->classes.n; i++) {
		char key[128];

		fputs("<tr><td>Class ", fp);
		esc(fp, a->classes.v[i].k[0]);
		fputs("</td>", fp);
		snprintf(key, sizeof(key), "class/%s", a->classes.v[i].k[0]);
		numcell(fp, key, a->classes.v[i].n);
		fputs("</tr>\n", fp);
	}
	for (size_t i = 0; i < a->actions.n; i++) {
		char key[128];

		fputs("<tr><td>Action ", fp);
		esc(fp, a->actions.v[i].k[0]);
		fputs("</td>", fp);
		snprintf(key, sizeof(key), "action/%s", a->actions.v[i].k[0]);
		numcell(fp, key, a->actions.v[i].n);
		fputs("</tr>\n", fp);
	}
	fputs("<tr><td>Complaints</td><td data-key=\"complaints\">not recorded"
	    " (postwarden receives no feedback-loop reports)</td></tr>\n"
	    "<tr><td>Audit chain</td>", fp);
	fprintf(fp, "<td class=\"%s\">", in->chain_ok ? "ok" : "bad");
	esc(fp, in->chain_ok ? "intact" : "BROKEN");
	fputs("</td></tr>\n</table></section>\n", fp);

	sec_days(fp, a, sorted, a->actions.v);
	sec_counts(fp, "Consent basis mix", "Commercial rows by the consent "
	    "basis in force when each was sent; (none): no basis (refused, "
	    "removed, or consent_mode = off).", &a->basis, 1, basis_h,
	    "basis", "#1565c0", "No commercial rows in this period.");
	sec_counts(fp, "Refusals by reason", "Rows not delivered, by action "
	    "and the reason recorded.", &a->refusals, 2, ref_h, "refusal",
	    "#c62828", "None in this period.");
	sec_unsub(fp, in);
	sec_ident(fp, a);
	fputs("<section><h2>Complaints</h2>\n<p data-key=\"complaints/text\">"
	    "Not recorded: postwarden does not receive complaint (feedback "
	    "loop) reports, so there is no count to show.</p></section>\n", fp);
	sec_chain(fp, in);
	sec_profile(fp, in);
	fputs("</body></html>\n", fp);
	return ferror(fp) ? -1 : 0;
}
