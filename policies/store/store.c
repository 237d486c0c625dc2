/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store - backend dispatch, per-thread error text and the audit chain
 * hash shared by every backend.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "store/store.h"

static const struct pw_store_ops *const backends[] = {
    &pw_store_sqlite_ops,
    &pw_store_pg_ops,
    &pw_store_postgres_ops,
};

static _Thread_local char store_error[512];

pw_time_us
pw_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (pw_time_us)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

time_t
pw_time_us_sec(pw_time_us us)
{
	pw_time_us s = us / 1000000;

	return (time_t)(us % 1000000 < 0 ? s - 1 : s);
}

pw_time_us
pw_time_us_pick(time_t s, pw_time_us us)
{
	return us != PW_NOTIME_US ? us : (pw_time_us)s * 1000000;
}

const char *
pw_store_strerror(void)
{
	return store_error[0] ? store_error : "no error";
}

void
pw_store_set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(store_error, sizeof(store_error), fmt, ap);
	va_end(ap);
	pw_syslog(LOG_ERR, "store: %s", store_error);
}

int
pw_store_open(const char *spec, const struct pw_store_opts *opts,
	      struct pw_store **store_r, char **error_r)
{
	static const struct pw_store_opts defaults = PW_STORE_OPTS_DEFAULT;
	const char *colon = strchr(spec, ':');
	size_t i, slen;

	if (opts == NULL)
		opts = &defaults;
	if (colon == NULL) {
		*error_r =
		    pw_asprintf("store \"%s\": expected TYPE:WHERE, "
				"e.g. sqlite:/var/lib/postwarden/postwarden.db",
				spec);
		return -1;
	}
	slen = (size_t)(colon - spec);
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strlen(backends[i]->scheme) == slen &&
		    strncmp(spec, backends[i]->scheme, slen) == 0)
			return backends[i]->open(colon + 1, opts, store_r,
						 error_r);
	*error_r = pw_asprintf("store \"%s\": unknown type \"%.*s\" "
			       "(supported: sqlite, postgresql)",
			       spec, (int)slen, spec);
	return -1;
}

int
pw_store_startup_check(const char *spec, const char *password_file,
    char **error_r)
{
	struct pw_store_opts o = PW_STORE_OPTS_DEFAULT;
	struct pw_store *s = NULL;
	char *err = NULL;
	int rc;

	if (spec == NULL || *spec == '\0')
		return 0;
	o.create = false;	/* SQLite: the first write creates the file */
	o.readonly = true;
	o.password_file = password_file;
	rc = pw_store_open(spec, &o, &s, &err);
	if (rc == 0) {
		pw_store_close(&s);
		return 0;
	}
	if (rc == -2) {
		*error_r = err;
		return -1;
	}
	if (strncmp(spec, "sqlite:", 7) != 0)
		pw_syslog(LOG_WARNING, "store: %s; starting anyway: what "
		    "needs the store is deferred (4xx) until it answers",
		    err ? err : "cannot open");
	free(err);
	return 0;
}

void
pw_store_close(struct pw_store **storep)
{
	if (*storep != NULL)
		(*storep)->ops->close(*storep);
	*storep = NULL;
}

void
pw_consent_events_free(struct pw_consent_events *ev)
{
	free(ev->v);
	free(ev->strings);
	memset(ev, 0, sizeof(*ev));
}

int
pw_store_consent_add(struct pw_store *s, struct pw_consent_record *rec,
		     size_t n)
{
	struct pw_consent_event ev;
	const char *why;
	size_t i;

	for (i = 0; i < n; i++) {
		ev.id = 0;
		ev.list = rec[i].list;
		ev.type = rec[i].type;
		ev.obtained_at = rec[i].obtained_at;
		ev.expires_at = rec[i].expires_at;
		ev.relationship_date = rec[i].relationship_date;
		if (rec[i].org == NULL || rec[i].org[0] == '\0' ||
		    rec[i].address == NULL || rec[i].address[0] == '\0' ||
		    rec[i].source == NULL || rec[i].source[0] == '\0') {
			pw_store_set_error("consent record %zu: organisation, "
					   "address and source are required",
					   i + 1);
			return -1;
		}
		if (pw_consent_event_check(&ev, &why) < 0) {
			pw_store_set_error("consent record %zu: %s", i + 1,
					   why);
			return -1;
		}
	}
	return s->ops->consent_add(s, rec, n);
}

int
pw_store_consent_events(struct pw_store *s, const char *org,
			const char *address, struct pw_consent_events *ev)
{
	return s->ops->consent_events(s, org, address, ev);
}

static struct pw_metric m_store_time = PW_HISTOGRAM(
    "postwarden_store_duration_seconds", "Store operations on the mail "
    "path, by operation", "operation");
static struct pw_metric m_store_errors = PW_COUNTER(
    "postwarden_store_errors_total", "Store operations that failed, by "
    "operation", "operation");

/* timed - count one store operation that started at t0 and returned rc */
static int
timed(const char *op, const struct timespec *t0, int rc)
{
	pw_metric_since(&m_store_time, t0, PW_LV(op));
	if (rc < 0)
		pw_metric_inc(&m_store_errors, PW_LV(op));
	return rc;
}

int
pw_store_consent_check(struct pw_store *s, const char *org, const char *address,
		       const char *list, time_t now,
		       struct pw_consent_result *r,
		       struct pw_consent_events *ev)
{
	struct timespec t0 = pw_metric_now();
	int rc;

	memset(r, 0, sizeof(*r));
	rc = s->ops->consent_events(s, org, address, ev);
	if (timed("consent_check", &t0, rc) < 0)
		return -1;
	pw_consent_evaluate(ev->v, ev->n, list, now, r);
	return r->state == PW_CSTATE_EXPRESS || r->state == PW_CSTATE_IMPLIED;
}

int
pw_store_consent_export(struct pw_store *s, const char *org,
			const char *address,
			int (*cb)(const struct pw_consent_record *, void *),
			void *ctx)
{
	return s->ops->consent_export(s, org, address, cb, ctx);
}

int
pw_store_suppression_add(struct pw_store *s, struct pw_suppression *sup)
{
	/* the backend gets both times; the caller's stay as given, so that
	   a struct reused with a new requested_at is not held to the last
	   call's microseconds */
	struct pw_suppression v = *sup;
	struct timespec t0;
	int rc;

	if (v.requested_us != PW_NOTIME_US)
		v.requested_at = pw_time_us_sec(v.requested_us);
	if (v.org == NULL || v.org[0] == '\0' || v.address == NULL ||
	    v.address[0] == '\0' || v.reason == NULL ||
	    v.requested_at == PW_NOTIME) {
		pw_store_set_error("suppression: organisation, address, reason "
				   "and time are required");
		return -1;
	}
	v.requested_us = pw_time_us_pick(v.requested_at, v.requested_us);
	t0 = pw_metric_now();
	rc = timed("suppression_add", &t0, s->ops->suppression_add(s, &v));
	sup->id = v.id;
	sup->created_at = v.created_at;
	sup->recorded_us = v.recorded_us;
	return rc;
}

int
pw_store_suppression_add_batch(struct pw_store *s, struct pw_suppression *sup,
			       size_t n)
{
	struct timespec t0;
	size_t i;

	for (i = 0; i < n; i++) {
		/* both times, as pw_store_suppression_add gives the backend
		   (here in the caller's array: it is the group's scratch) */
		if (sup[i].requested_us != PW_NOTIME_US)
			sup[i].requested_at =
			    pw_time_us_sec(sup[i].requested_us);
		if (sup[i].org == NULL || sup[i].org[0] == '\0' ||
		    sup[i].address == NULL || sup[i].address[0] == '\0' ||
		    sup[i].reason == NULL || sup[i].requested_at == PW_NOTIME) {
			pw_store_set_error("suppression %zu: organisation, "
					   "address, reason and time are "
					   "required", i + 1);
			return -1;
		}
		sup[i].requested_us = pw_time_us_pick(sup[i].requested_at,
		    sup[i].requested_us);
	}
	if (n == 0)
		return 0;
	t0 = pw_metric_now();
	return timed("suppression_add_batch", &t0,
		     s->ops->suppression_add_batch(s, sup, n));
}

int
pw_store_suppression_list(struct pw_store *s, const char *org,
			  int (*cb)(const struct pw_suppression *, void *),
			  void *ctx)
{
	return s->ops->suppression_list(s, org, cb, ctx);
}

int
pw_store_audit_append(struct pw_store *s, struct pw_audit_row *row)
{
	struct pw_audit_row v = *row;
	struct timespec t0;
	int rc;

	if (row->queue_id == NULL || row->action == NULL) {
		pw_store_set_error(
		    "audit row: queue id and action are required");
		return -1;
	}
	/* every new row carries microseconds, so it is hashed as v2; the
	   caller's times stay as given (see suppression_add) */
	if (v.time_us != PW_NOTIME_US)
		v.time = pw_time_us_sec(v.time_us);
	v.time_us = pw_time_us_pick(v.time, v.time_us);
	t0 = pw_metric_now();
	rc = timed("audit_append", &t0, s->ops->audit_append(s, &v));
	row->id = v.id;
	memcpy(row->prev_hash, v.prev_hash, sizeof(row->prev_hash));
	memcpy(row->hash, v.hash, sizeof(row->hash));
	return rc;
}

int
pw_store_audit_verify(struct pw_store *s, int64_t *bad_id_r,
		      unsigned char *head_r)
{
	return s->ops->audit_verify(s, bad_id_r, head_r);
}

int
pw_store_dmarc_add(struct pw_store *s, const struct pw_dmarc_row *rows,
    size_t n)
{
	struct timespec t0;

	if (n == 0)
		return 0;
	t0 = pw_metric_now();
	return timed("dmarc_add", &t0, s->ops->dmarc_add(s, rows, n));
}

int
pw_store_audit_list(struct pw_store *s, const struct pw_audit_filter *f,
    int (*cb)(const struct pw_audit_row *, void *), void *ctx)
{
	if (s->ops->audit_list == NULL) {
		pw_store_set_error("%s: audit rows cannot be listed",
		    s->ops->scheme);
		return -1;
	}
	return s->ops->audit_list(s, f, cb, ctx);
}

int
pw_store_dmarc_list(struct pw_store *s,
    int (*cb)(const struct pw_dmarc_row *, void *), void *ctx)
{
	if (s->ops->dmarc_list == NULL) {
		pw_store_set_error("%s: DMARC rows cannot be listed",
		    s->ops->scheme);
		return -1;
	}
	return s->ops->dmarc_list(s, cb, ctx);
}

int
pw_store_dmarc_groups(struct pw_store *s, time_t since, time_t until,
    int (*cb)(const struct pw_dmarc_group *, void *), void *ctx)
{
	if (s->ops->dmarc_groups == NULL) {
		pw_store_set_error("%s: DMARC rows cannot be grouped",
		    s->ops->scheme);
		return -1;
	}
	return s->ops->dmarc_groups(s, since, until, cb, ctx);
}

int
pw_store_feedback_add(struct pw_store *s, struct pw_feedback_row *row)
{
	struct pw_feedback_row v = *row;	/* see suppression_add */
	int rc;

	if (s->ops->feedback_add == NULL) {
		pw_store_set_error("%s: no feedback records", s->ops->scheme);
		return -1;
	}
	if (v.time_us != PW_NOTIME_US)
		v.time = pw_time_us_sec(v.time_us);
	v.time_us = pw_time_us_pick(v.time, v.time_us);
	rc = s->ops->feedback_add(s, &v);
	row->id = v.id;
	return rc;
}

int
pw_store_feedback_count(struct pw_store *s, const char *org,
    const char *address, const char *kind, time_t since, int64_t *n_r)
{
	if (s->ops->feedback_count == NULL) {
		pw_store_set_error("%s: no feedback records", s->ops->scheme);
		return -1;
	}
	return s->ops->feedback_count(s, org, address, kind, since, n_r);
}

int
pw_store_dmarc_sent_add(struct pw_store *s, const struct pw_dmarc_sent *r)
{
	if (s->ops->dmarc_sent_add == NULL) {
		pw_store_set_error("%s: no report records", s->ops->scheme);
		return -1;
	}
	return s->ops->dmarc_sent_add(s, r);
}

int
pw_store_dmarc_sent_check(struct pw_store *s, const char *report_id,
    const char *rua)
{
	if (s->ops->dmarc_sent_check == NULL) {
		pw_store_set_error("%s: no report records", s->ops->scheme);
		return -1;
	}
	return s->ops->dmarc_sent_check(s, report_id, rua);
}

int
pw_store_dmarc_expire(struct pw_store *s, time_t before, int64_t *rows_r,
    int64_t *sent_r)
{
	if (s->ops->dmarc_expire == NULL) {
		pw_store_set_error("%s: cannot delete DMARC rows",
		    s->ops->scheme);
		return -1;
	}
	return s->ops->dmarc_expire(s, before, rows_r, sent_r);
}

int
pw_store_quota_add(struct pw_store *s, const struct pw_quota_row *rows,
    size_t n)
{
	if (s->ops->quota_add == NULL) {
		pw_store_set_error("%s: no quota records", s->ops->scheme);
		return -1;
	}
	if (n == 0)
		return 0;
	return s->ops->quota_add(s, rows, n);
}

/* one_org - the single callback promised for one organisation */
struct one_org {
	const char	*org;
	bool		 seen;
	int		 (*cb)(const struct pw_quota_sum *, void *);
	void		*ctx;
};

static int
one_org_cb(const struct pw_quota_sum *q, void *arg)
{
	struct one_org *x = arg;

	x->seen = true;
	return x->cb(q, x->ctx);
}

int
pw_store_quota_sum(struct pw_store *s, const char *org, time_t since,
    time_t until, int (*cb)(const struct pw_quota_sum *, void *), void *ctx)
{
	struct one_org x = {org, false, cb, ctx};
	struct pw_quota_sum zero = {org, 0, 0};

	if (s->ops->quota_sum == NULL) {
		pw_store_set_error("%s: no quota records", s->ops->scheme);
		return -1;
	}
	if (org == NULL)
		return s->ops->quota_sum(s, NULL, since, until, cb, ctx);
	if (s->ops->quota_sum(s, org, since, until, one_org_cb, &x) < 0)
		return -1;
	if (!x.seen)
		(void)cb(&zero, ctx);
	return 0;
}

int
pw_store_dmarc_sent_list(struct pw_store *s,
    int (*cb)(const struct pw_dmarc_sent *, void *), void *ctx)
{
	if (s->ops->dmarc_sent_list == NULL) {
		pw_store_set_error("%s: report records cannot be listed",
		    s->ops->scheme);
		return -1;
	}
	return s->ops->dmarc_sent_list(s, cb, ctx);
}

int
pw_store_quota_list(struct pw_store *s,
    int (*cb)(int64_t, const struct pw_quota_row *, void *), void *ctx)
{
	if (s->ops->quota_list == NULL) {
		pw_store_set_error("%s: quota records cannot be listed",
		    s->ops->scheme);
		return -1;
	}
	return s->ops->quota_list(s, cb, ctx);
}

int
pw_store_feedback_list(struct pw_store *s, const char *org, time_t since,
    time_t until, int (*cb)(const struct pw_feedback_row *, void *),
    void *ctx)
{
	if (s->ops->feedback_list == NULL) {
		pw_store_set_error("%s: no feedback records", s->ops->scheme);
		return -1;
	}
	return s->ops->feedback_list(s, org, since, until, cb, ctx);
}

int
pw_store_suppression_reason(struct pw_store *s, int64_t id, char **reason_r)
{
	*reason_r = NULL;
	if (s->ops->suppression_reason == NULL)
		return 0;	/* the refusal then gives no reason */
	return s->ops->suppression_reason(s, id, reason_r);
}

int
pw_store_chold_add(struct pw_store *s, struct pw_chold_row *row)
{
	if (s->ops->chold_add == NULL) {
		pw_store_set_error("%s: no complaint holds", s->ops->scheme);
		return -1;
	}
	return s->ops->chold_add(s, row);
}

int
pw_store_chold_list(struct pw_store *s, const char *org,
    int (*cb)(const struct pw_chold_row *, void *), void *ctx)
{
	if (s->ops->chold_list == NULL) {
		pw_store_set_error("%s: no complaint holds", s->ops->scheme);
		return -1;
	}
	return s->ops->chold_list(s, org, cb, ctx);
}

int
pw_store_complaint_counts(struct pw_store *s, const char *org, time_t since,
    int (*cb)(const char *, int64_t, int64_t, void *), void *ctx)
{
	if (s->ops->complaint_counts == NULL) {
		pw_store_set_error("%s: no complaint counts", s->ops->scheme);
		return -1;
	}
	return s->ops->complaint_counts(s, org, since, cb, ctx);
}

int
pw_store_copy(struct pw_store *dst, struct pw_store *src)
{
	if (dst->ops->copy_from == NULL || src->ops->audit_list == NULL ||
	    src->ops->dmarc_list == NULL || src->ops->dmarc_sent_list == NULL ||
	    src->ops->quota_list == NULL) {
		pw_store_set_error("cannot copy a %s store into a %s store",
		    src->ops->scheme, dst->ops->scheme);
		return -1;
	}
	return dst->ops->copy_from(dst, src);
}

/* ---- audit chain ---------------------------------------------------- */

static void
canon_str(struct pw_buf *b, const char *name, const char *v)
{
	if (v == NULL)
		pw_buf_printf(b, "%s=-\n", name);
	else
		pw_buf_printf(b, "%s=%zu:%s\n", name, strlen(v), v);
}

static void
canon_int(struct pw_buf *b, const char *name, int64_t v)
{
	pw_buf_printf(b, "%s=%" PRId64 "\n", name, v);
}

int
pw_audit_hash(const unsigned char *prev, const struct pw_audit_row *row,
	      unsigned char *out)
{
	struct pw_buf b = {0};
	unsigned int len = 0;
	int ok;

	/* the format follows the row (audit_chain.c): v1 for rows written
	   before schema version 5, which have whole seconds only */
	if (row->time_us == PW_NOTIME_US) {
		pw_buf_puts(&b, "pw-audit-v1\n");
		canon_int(&b, "id", row->id);
		canon_int(&b, "time", (int64_t)row->time);
	} else {
		pw_buf_puts(&b, "pw-audit-v2\n");
		canon_int(&b, "id", row->id);
		canon_int(&b, "time", (int64_t)row->time);
		canon_int(&b, "time_us", row->time_us);
	}
	canon_str(&b, "queue_id", row->queue_id);
	canon_str(&b, "message_id", row->message_id);
	canon_str(&b, "org", row->org);
	canon_str(&b, "recipient", row->recipient);
	canon_str(&b, "class", row->class);
	canon_str(&b, "class_source", row->class_source);
	canon_str(&b, "consent", row->consent);
	canon_int(&b, "basis_id", row->basis_id);
	canon_str(&b, "basis_type", row->basis_type);
	canon_int(&b, "basis_expires", (int64_t)row->basis_expires);
	canon_str(&b, "reason", row->reason);
	canon_str(&b, "token_id", row->token_id);
	canon_str(&b, "dkim_d", row->dkim_d);
	canon_str(&b, "dkim_s", row->dkim_s);
	canon_str(&b, "action", row->action);
	{
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		ok = ctx != NULL &&
		     EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
		     EVP_DigestUpdate(ctx, prev, 32) &&
		     EVP_DigestUpdate(ctx, b.data, b.len) &&
		     EVP_DigestFinal_ex(ctx, out, &len) && len == 32;
		EVP_MD_CTX_free(ctx);
	}
	pw_buf_free(&b);
	return ok ? 0 : -1;
}

void
pw_store_events_push(struct pw_consent_events *ev, size_t *cap,
    struct pw_buf *pool, struct pw_consent_event e, const char *list)
{
	if (list == NULL)
		list = "";
	if (ev->n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		ev->v = pw_realloc(ev->v, *cap * sizeof(*ev->v));
	}
	/* an offset until finish: the pool moves as it grows */
	e.list = (const char *)(uintptr_t)pool->len;
	pw_buf_add(pool, list, strlen(list) + 1);
	ev->v[ev->n++] = e;
}

void
pw_store_events_finish(struct pw_consent_events *ev, struct pw_buf *pool)
{
	ev->strings = pool->data;
	for (size_t i = 0; i < ev->n; i++)
		ev->v[i].list = pool->data + (uintptr_t)ev->v[i].list;
}

/* The string fields of a group, in one place for copying them. */
#define GROUP_STRINGS(g)                                                       \
	{&(g)->source_ip, &(g)->disposition, &(g)->dkim_aligned,               \
	    &(g)->spf_aligned, &(g)->override, &(g)->env_from,                 \
	    &(g)->from_domain, &(g)->dkim_domain, &(g)->dkim_selector,         \
	    &(g)->dkim_result, &(g)->spf_domain, &(g)->spf_scope,              \
	    &(g)->spf_result}
#define NSTRINGS 13

/* gbuf_flush - the held domain's groups to cb, with its newest row */
static void
gbuf_flush(struct pw_dmarc_gbuf *b)
{
	struct pw_dmarc_group top;

	if (b->key == NULL)
		return;
	memset(&top, 0, sizeof(top));
	if (!b->stop && b->newest(b->nctx, b->last, &top) < 0)
		b->failed = b->stop = true;
	for (size_t i = 0; i < b->n && !b->stop; i++) {
		struct pw_dmarc_group g = b->g[i];
		const char **f[NSTRINGS] = GROUP_STRINGS(&g);

		for (int k = 0; k < NSTRINGS; k++)
			*f[k] = b->pool.data + (uintptr_t)*f[k];
		g.pub_domain = top.pub_domain;
		g.pub_record = top.pub_record;
		g.discovery = top.discovery;
		if (b->cb(&g, b->ctx) != 0)
			b->stop = true;
	}
	b->n = 0;
	b->pool.len = 0;
	free(b->key);
	b->key = NULL;
}

int
pw_store_dmarc_gbuf_push(struct pw_dmarc_gbuf *b, const char *key,
    int64_t last, const struct pw_dmarc_group *g)
{
	struct pw_dmarc_group h;
	const char **f[NSTRINGS] = GROUP_STRINGS(&h);

	if (b->stop)
		return 1;
	if (key == NULL) {
		/* no domain: nothing to look up (after the domain held, to
		   keep the query's order) */
		gbuf_flush(b);
		if (b->stop)
			return 1;
		h = *g;
		h.pub_domain = h.pub_record = h.discovery = NULL;
		if (b->cb(&h, b->ctx) != 0)
			b->stop = true;
		return b->stop;
	}
	if (b->key != NULL && strcmp(b->key, key) != 0)
		gbuf_flush(b);
	if (b->stop)
		return 1;
	if (b->key == NULL) {
		b->key = pw_strdup(key);
		b->last = last;
	} else if (last > b->last)
		b->last = last;
	h = *g;
	/* offsets until the flush: the pool moves as it grows */
	for (int k = 0; k < NSTRINGS; k++) {
		const char *v = *f[k] != NULL ? *f[k] : "";

		*f[k] = (const char *)(uintptr_t)b->pool.len;
		pw_buf_add(&b->pool, v, strlen(v) + 1);
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->g = pw_realloc(b->g, b->cap * sizeof(*b->g));
	}
	b->g[b->n++] = h;
	return 0;
}

int
pw_store_dmarc_gbuf_end(struct pw_dmarc_gbuf *b)
{
	gbuf_flush(b);
	free(b->key);
	free(b->g);
	pw_buf_free(&b->pool);
	b->key = NULL;
	b->g = NULL;
	b->n = b->cap = 0;
	return b->failed ? -1 : 0;
}

char *
pw_store_shown_spec(const char *spec)
{
	const char *auth = strstr(spec, "//"), *at, *colon;

	if (auth == NULL)
		return pw_strdup(spec);
	auth += 2;
	at = strpbrk(auth, "@/?");
	if (at == NULL || *at != '@')
		return pw_strdup(spec);
	colon = memchr(auth, ':', (size_t)(at - auth));
	if (colon == NULL)
		return pw_strdup(spec);
	return pw_asprintf("%.*s:***%s", (int)(colon - spec), spec, at);
}

struct pw_store_handle {
	char		*spec;
	char		*shown;		/* spec without a password, for logs */
	char		*password_file;	/* NULL: none */
	pthread_mutex_t	 lock;
	struct pw_store	*store;		/* NULL until opened */
};

struct pw_store_handle *
pw_store_handle_new(const char *spec, const char *password_file)
{
	struct pw_store_handle *h = pw_calloc(1, sizeof(*h));

	h->password_file = password_file ? pw_strdup(password_file) : NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->spec = pw_strdup(spec);
	h->shown = pw_store_shown_spec(spec);
	return h;
}

void
pw_store_handle_free(struct pw_store_handle **hp)
{
	struct pw_store_handle *h = *hp;

	if (h == NULL)
		return;
	*hp = NULL;
	pw_store_close(&h->store);
	pthread_mutex_destroy(&h->lock);
	free(h->spec);
	free(h->shown);
	free(h->password_file);
	free(h);
}

const char *
pw_store_handle_spec(const struct pw_store_handle *h)
{
	return h->shown;
}

struct pw_store *
pw_store_handle_get(struct pw_store_handle *h, const struct pw_msg *m)
{
	struct pw_store_opts o = PW_STORE_OPTS_DEFAULT;
	struct pw_store *st;
	char *err = NULL;

	o.password_file = h->password_file;
	pthread_mutex_lock(&h->lock);
	if (h->store == NULL &&
	    pw_store_open(h->spec, &o, &h->store, &err) < 0) {
		pw_warn(m, "store %s: %s", h->shown, err ? err : "cannot open");
		free(err);
		h->store = NULL;
	}
	st = h->store;
	pthread_mutex_unlock(&h->lock);
	return st;
}
