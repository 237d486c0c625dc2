/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_delivery - postwarden-ctl delivery report (issue 17): one
 * organisation's delivery record per day (UTC).
 *
 *   delivery report --org ORG [--since T] [--until T] [--format csv|json]
 *                   [--store SPEC]
 *
 * From the audit rows (R20: one per message and recipient):
 *   messages_CLASS     messages delivered, per class (a message's rows
 *                      are written together at end of message, so a new
 *                      queue ID in id order is a new message);
 *   recipients_CLASS   recipients delivered, per class;
 *   refused_no_consent, refused_expired, refused_withdrawn (withdrawn or
 *   suppressed), refused_other: recipients refused at RCPT, removed at
 *   end of message or in a rejected message, by the consent state;
 * from the feedback_event rows: bounces_hard, bounces_soft, complaints;
 * from the suppressions: unsubscribes (every reason but bounce and
 * complaint, by the day they were recorded);
 *   complaint_rate = complaints / recipients_commercial,
 *   bounce_rate = (bounces_hard + bounces_soft) / recipients delivered,
 * empty (CSV) or null (JSON) when the divisor is 0.  Days without any
 * row are left out.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <jansson.h>

#include "base/util.h"
#include "compliance/consent_state.h"
#include "ctl.h"
#include "store/store.h"

enum { C_COMMERCIAL, C_TRANSACTIONAL, C_OTHER, C_N };
enum { R_NONE, R_EXPIRED, R_WITHDRAWN, R_OTHER, R_N };
static const char *const class_names[C_N] = {"commercial", "transactional",
    "other"};
static const char *const refused_names[R_N] = {"no_consent", "expired",
    "withdrawn", "other"};

struct day {
	long	day;		/* Unix day number */
	long	msgs[C_N];
	long	rcpts[C_N];
	long	refused[R_N];
	long	hard, soft, complaints, unsubs;
};

struct rep {
	struct day	*v;
	size_t		 n, cap;
	char		 last_qid[64];
	int		 last_class;
	time_t		 since, until;
};

/* day_of - the record of the day of t (kept sorted by day) */
static struct day *
day_of(struct rep *r, time_t t)
{
	long d = (long)(t / 86400);
	size_t i;

	for (i = r->n; i > 0 && r->v[i - 1].day >= d; i--)
		if (r->v[i - 1].day == d)
			return &r->v[i - 1];
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = pw_realloc(r->v, r->cap * sizeof(*r->v));
	}
	memmove(&r->v[i + 1], &r->v[i], (r->n - i) * sizeof(*r->v));
	memset(&r->v[i], 0, sizeof(*r->v));
	r->v[i].day = d;
	r->n++;
	return &r->v[i];
}

static int
class_index(const char *c)
{
	if (c != NULL && strcmp(c, "commercial") == 0)
		return C_COMMERCIAL;
	if (c != NULL && strcmp(c, "transactional") == 0)
		return C_TRANSACTIONAL;
	return C_OTHER;
}

static int
audit_cb(const struct pw_audit_row *a, void *arg)
{
	struct rep *r = arg;
	struct day *d;
	int c = class_index(a->class);

	if (a->action == NULL)
		return 0;
	d = day_of(r, a->time);
	if (strcmp(a->action, "delivered") == 0) {
		d->rcpts[c]++;
		if (a->queue_id == NULL || strcmp(a->queue_id, r->last_qid) != 0 ||
		    r->last_class != c)
			d->msgs[c]++;
		snprintf(r->last_qid, sizeof(r->last_qid), "%s",
		    a->queue_id ? a->queue_id : "");
		r->last_class = c;
	} else if (strcmp(a->action, "refused_rcpt") == 0 ||
		   strcmp(a->action, "removed") == 0 ||
		   strcmp(a->action, "rejected") == 0) {
		if (a->consent == NULL)
			d->refused[R_OTHER]++;
		else if (strcmp(a->consent, "none") == 0)
			d->refused[R_NONE]++;
		else if (strcmp(a->consent, "expired") == 0)
			d->refused[R_EXPIRED]++;
		else if (strcmp(a->consent, "withdrawn") == 0)
			d->refused[R_WITHDRAWN]++;
		else
			d->refused[R_OTHER]++;
	}
	return 0;
}

static int
fb_cb(const struct pw_feedback_row *f, void *arg)
{
	struct day *d = day_of(arg, f->time);

	if (strcmp(f->kind, "bounce_hard") == 0)
		d->hard++;
	else if (strcmp(f->kind, "bounce_soft") == 0)
		d->soft++;
	else if (strcmp(f->kind, "complaint") == 0)
		d->complaints++;
	return 0;
}

static int
supp_cb(const struct pw_suppression *s, void *arg)
{
	struct rep *r = arg;

	if (strcmp(s->reason, "bounce") == 0 ||
	    strcmp(s->reason, "complaint") == 0 ||
	    (r->since != PW_NOTIME && s->created_at < r->since) ||
	    (r->until != PW_NOTIME && s->created_at >= r->until))
		return 0;
	day_of(r, s->created_at)->unsubs++;
	return 0;
}

static long
sum(const long *v, int n)
{
	long t = 0;

	for (int i = 0; i < n; i++)
		t += v[i];
	return t;
}

static void
date_str(long day, char *buf, size_t len)
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

static int
emit_csv(const struct rep *r)
{
	printf("date");
	for (int c = 0; c < C_N; c++)
		printf(",messages_%s", class_names[c]);
	for (int c = 0; c < C_N; c++)
		printf(",recipients_%s", class_names[c]);
	for (int i = 0; i < R_N; i++)
		printf(",refused_%s", refused_names[i]);
	printf(",bounces_hard,bounces_soft,complaints,unsubscribes,"
	    "complaint_rate,bounce_rate\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct day *d = &r->v[i];
		long delivered = sum(d->rcpts, C_N);
		char date[16];

		date_str(d->day, date, sizeof(date));
		printf("%s", date);
		for (int c = 0; c < C_N; c++)
			printf(",%ld", d->msgs[c]);
		for (int c = 0; c < C_N; c++)
			printf(",%ld", d->rcpts[c]);
		for (int k = 0; k < R_N; k++)
			printf(",%ld", d->refused[k]);
		printf(",%ld,%ld,%ld,%ld,", d->hard, d->soft, d->complaints,
		    d->unsubs);
		if (d->rcpts[C_COMMERCIAL] > 0)
			printf("%.6f", (double)d->complaints /
			    (double)d->rcpts[C_COMMERCIAL]);
		printf(",");
		if (delivered > 0)
			printf("%.6f", (double)(d->hard + d->soft) /
			    (double)delivered);
		printf("\n");
	}
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}

static int
emit_json(const struct rep *r)
{
	json_t *arr = json_array();
	int rc;

	for (size_t i = 0; i < r->n; i++) {
		const struct day *d = &r->v[i];
		json_t *o = json_object(), *m = json_object(),
		    *rc_ = json_object(), *rf = json_object();
		long delivered = sum(d->rcpts, C_N);
		char date[16];

		date_str(d->day, date, sizeof(date));
		json_object_set_new(o, "date", json_string(date));
		for (int c = 0; c < C_N; c++) {
			json_object_set_new(m, class_names[c],
			    json_integer(d->msgs[c]));
			json_object_set_new(rc_, class_names[c],
			    json_integer(d->rcpts[c]));
		}
		for (int k = 0; k < R_N; k++)
			json_object_set_new(rf, refused_names[k],
			    json_integer(d->refused[k]));
		json_object_set_new(o, "messages", m);
		json_object_set_new(o, "recipients", rc_);
		json_object_set_new(o, "refused", rf);
		json_object_set_new(o, "bounces_hard", json_integer(d->hard));
		json_object_set_new(o, "bounces_soft", json_integer(d->soft));
		json_object_set_new(o, "complaints",
		    json_integer(d->complaints));
		json_object_set_new(o, "unsubscribes", json_integer(d->unsubs));
		json_object_set_new(o, "complaint_rate",
		    d->rcpts[C_COMMERCIAL] > 0 ? json_real((double)
		    d->complaints / (double)d->rcpts[C_COMMERCIAL]) :
		    json_null());
		json_object_set_new(o, "bounce_rate", delivered > 0 ?
		    json_real((double)(d->hard + d->soft) /
		    (double)delivered) : json_null());
		json_array_append_new(arr, o);
	}
	rc = json_dumpf(arr, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(arr);
	if (rc == 0)
		putchar('\n');
	return rc == 0 && fflush(stdout) == 0 ? 0 : -1;
}

/* opt - "--name VALUE" or "--name=VALUE" at argv[*i]; NULL if not it */
static const char *
opt(int argc, char **argv, int *i, const char *name, bool *missing)
{
	size_t l = strlen(name);

	if (strncmp(argv[*i], name, l) != 0)
		return NULL;
	if (argv[*i][l] == '=')
		return argv[*i] + l + 1;
	if (argv[*i][l] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

int
pw_ctl_delivery(struct pw_ctl *ctl, int argc, char **argv)
{
	const char *org = NULL, *since = NULL, *until = NULL, *fmt = "csv";
	const char *spec = NULL;
	struct rep r;
	struct pw_audit_filter f;
	struct pw_store *s;
	int rc;

	if (argc < 2 || strcmp(argv[1], "report") != 0) {
		pw_ctl_error("delivery", "expected: report --org ORG");
		return EX_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		bool missing = false;
		const char *v;

		if ((v = opt(argc, argv, &i, "--org", &missing)) != NULL)
			org = v;
		else if ((v = opt(argc, argv, &i, "--since", &missing)) != NULL)
			since = v;
		else if ((v = opt(argc, argv, &i, "--until", &missing)) != NULL)
			until = v;
		else if ((v = opt(argc, argv, &i, "--format", &missing)) != NULL)
			fmt = v;
		else if ((v = opt(argc, argv, &i, "--store", &missing)) != NULL)
			spec = v;
		else {
			pw_ctl_error("delivery", missing ? "option \"%s\" needs "
			    "a value" : "bad argument \"%s\"", argv[i]);
			return EX_USAGE;
		}
	}
	if (org == NULL || !pw_ctl_name_ok(org, false)) {
		pw_ctl_error("delivery", "--org ORG is required (a name of "
		    "[A-Za-z0-9._-])");
		return EX_USAGE;
	}
	if (strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0) {
		pw_ctl_error("delivery", "--format: csv or json");
		return EX_USAGE;
	}
	memset(&r, 0, sizeof(r));
	r.last_class = -1;
	memset(&f, 0, sizeof(f));
	f.org = org;
	f.since = f.until = PW_NOTIME;
	if ((since && pw_date_parse(since, &f.since) < 0) ||
	    (until && pw_date_parse(until, &f.until) < 0)) {
		pw_ctl_error("delivery", "--since/--until: YYYY-MM-DD or "
		    "YYYY-MM-DDTHH:MM:SSZ");
		return EX_USAGE;
	}
	r.since = f.since;
	r.until = f.until;
	if ((s = pw_ctl_open_store(ctl, spec, "delivery", true)) == NULL)
		return 1;
	rc = pw_store_audit_list(s, &f, audit_cb, &r);
	if (rc == 0)
		rc = pw_store_feedback_list(s, org, f.since, f.until, fb_cb, &r);
	if (rc == 0)
		rc = pw_store_suppression_list(s, org, supp_cb, &r);
	pw_store_close(&s);
	if (rc < 0) {
		pw_ctl_error("delivery", "%s", pw_store_strerror());
		free(r.v);
		return EX_TEMPFAIL;
	}
	rc = strcmp(fmt, "csv") == 0 ? emit_csv(&r) : emit_json(&r);
	free(r.v);
	if (rc < 0) {
		pw_ctl_error("delivery", "error writing standard output");
		return 1;
	}
	return 0;
}
