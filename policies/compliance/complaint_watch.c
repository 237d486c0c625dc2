/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * complaint_watch - the periodic complaint-rate computation and the hold
 * state of every organisation (complaint_watch.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "compliance/complaint_watch.h"
#include "compliance/org.h"
#include "store/store.h"

#define CW_FIRST_WAIT_S	5	/* a first lookup waits this long at most */
#define CW_RETRY_S	5	/* after a failed computation */

/* One organisation's slot. */
struct cw_org {
	const struct pw_org	*org;
	struct pw_crate_limits	 lim;
	struct pw_crate_eval	 e;		/* published */
	struct pw_crate_eval	 next;		/* being computed */
	int64_t			 hold_id;
};

struct pw_cwatch {
	struct pw_store_handle	*store;
	struct cw_org		*v;		/* sorted by name */
	size_t			 n;
	long			 interval;
	char			 actor[300];	/* postwarden@HOST */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* poke, stop, loaded */
	pthread_t		 thread;
	bool			 started;
	bool			 loaded;	/* one computation succeeded */
	bool			 poked;
	bool			 stop;
	bool			 failing;	/* logged once per outage */
};

void
pw_crate_limits_of(const struct pw_org *o, const struct pw_crate_limits *def,
    struct pw_crate_limits *out)
{
	*out = *def;
	if (o == NULL)
		return;
	if (o->complaint_warn_ppm != PW_RATE_UNSET)
		out->warn_ppm = o->complaint_warn_ppm;
	if (o->complaint_hold_ppm != PW_RATE_UNSET)
		out->hold_ppm = o->complaint_hold_ppm;
	if (o->complaint_min_delivered > 0)
		out->min_delivered = o->complaint_min_delivered;
}

/* ---- one organisation (also postwarden-ctl) ----------------------------- */

static int
eval_hold_row(const struct pw_chold_row *r, void *arg)
{
	struct pw_crate_eval *e = arg;

	if (strcmp(r->action, "hold") == 0) {
		e->held = true;
		e->held_at = r->time;
	} else {
		e->held = false;
		e->released_at = r->time;
	}
	return 0;
}

static int
eval_count(const char *org, int64_t complaints, int64_t delivered, void *arg)
{
	struct pw_crate_eval *e = arg;

	(void)org;
	e->complaints = complaints;
	e->delivered = delivered;
	return 0;
}

/* window_start - the last day, or since the last release */
static time_t
window_start(const struct pw_crate_eval *e, time_t now)
{
	time_t since = now - PW_RATE_WINDOW;

	return e->released_at > since ? e->released_at : since;
}

int
pw_crate_eval_org(struct pw_store *st, const struct pw_org *o,
    const struct pw_crate_limits *def, time_t now, struct pw_crate_eval *e)
{
	struct pw_crate_limits lim;

	memset(e, 0, sizeof(*e));
	if (pw_store_chold_list(st, o->name, eval_hold_row, e) < 0)
		return -1;
	e->since = window_start(e, now);
	if (pw_store_complaint_counts(st, o->name, e->since, eval_count, e) < 0)
		return -1;
	pw_crate_limits_of(o, def, &lim);
	e->level = pw_crate_level(e->complaints, e->delivered, &lim);
	return 0;
}

int
pw_crate_hold_add(struct pw_store *st, const char *org,
    const struct pw_crate_eval *e, const char *actor, time_t now)
{
	struct pw_chold_row r = {0};
	char rate[32];

	r.time = now;
	r.org = org;
	r.action = "hold";
	r.complaints = e->complaints;
	r.delivered = e->delivered;
	r.since = e->since;
	r.actor = actor;
	r.note = pw_crate_format(rate, sizeof(rate), e->complaints,
	    e->delivered);
	return pw_store_chold_add(st, &r);
}

/* ---- the watcher -------------------------------------------------------- */

static int
slot_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cw_org *)a)->org->name,
	    ((const struct cw_org *)b)->org->name);
}

/* slot - the slot of an organisation name, or NULL */
static struct cw_org *
slot(struct pw_cwatch *w, const char *name)
{
	size_t lo = 0, hi = w->n;

	if (name == NULL)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, w->v[mid].org->name);

		if (c == 0)
			return &w->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int
all_hold_row(const struct pw_chold_row *r, void *arg)
{
	struct cw_org *o = slot(arg, r->org);

	if (o != NULL) {
		eval_hold_row(r, &o->next);
		if (o->next.held)
			o->hold_id = r->id;
	}
	return 0;
}

static int
all_count(const char *org, int64_t complaints, int64_t delivered, void *arg)
{
	struct cw_org *o = slot(arg, org);

	if (o != NULL)
		eval_count(org, complaints, delivered, &o->next);
	return 0;
}

/* transition - log what changed for one organisation, and hold it */
static int
transition(struct pw_cwatch *w, struct pw_store *st, struct cw_org *o,
    time_t now)
{
	struct pw_crate_eval *e = &o->next;
	char rate[32], thr[32];

	pw_crate_format(rate, sizeof(rate), e->complaints, e->delivered);
	if (e->level == PW_CRATE_HOLD && !e->held) {
		if (pw_crate_hold_add(st, o->org->name, e, w->actor, now) < 0)
			return -1;
		e->held = true;
		e->held_at = now;
		pw_syslog(LOG_WARNING, "complaints: org=%s rate=%s (%lld "
		    "complaints / %lld commercial recipients delivered since "
		    "%lld) >= complaint_rate_hold %s: commercial mail held "
		    "until postwarden-ctl complaints release --org %s",
		    o->org->name, rate, (long long)e->complaints,
		    (long long)e->delivered, (long long)e->since,
		    pw_rate_format(thr, sizeof(thr), o->lim.hold_ppm),
		    o->org->name);
		return 0;
	}
	if (e->held && !o->e.held && w->loaded)
		pw_syslog(LOG_WARNING, "complaints: org=%s: commercial mail "
		    "held (a hold in the store)", o->org->name);
	if (!e->held && o->e.held)
		pw_syslog(LOG_NOTICE, "complaints: org=%s: released: "
		    "commercial mail flows again", o->org->name);
	if (e->level == PW_CRATE_WARN && o->e.level != PW_CRATE_WARN)
		pw_syslog(LOG_WARNING, "complaints: org=%s rate=%s (%lld "
		    "complaints / %lld commercial recipients delivered) >= "
		    "complaint_rate_warn %s (warn: nothing held)",
		    o->org->name, rate, (long long)e->complaints,
		    (long long)e->delivered,
		    pw_rate_format(thr, sizeof(thr), o->lim.warn_ppm));
	return 0;
}

/* compute - every organisation, from the store; 0 or -1 */
static int
compute(struct pw_cwatch *w)
{
	struct pw_store *st = pw_store_handle_get(w->store, NULL);
	time_t now = time(NULL), day = now - PW_RATE_WINDOW;

	if (st == NULL)
		return -1;
	for (size_t i = 0; i < w->n; i++)
		memset(&w->v[i].next, 0, sizeof(w->v[i].next));
	if (pw_store_chold_list(st, NULL, all_hold_row, w) < 0 ||
	    pw_store_complaint_counts(st, NULL, day, all_count, w) < 0)
		return -1;
	for (size_t i = 0; i < w->n; i++) {
		struct cw_org *o = &w->v[i];

		o->next.since = window_start(&o->next, now);
		/* released within the day: count from the release */
		if (o->next.since > day) {
			o->next.complaints = o->next.delivered = 0;
			if (pw_store_complaint_counts(st, o->org->name,
			    o->next.since, all_count, w) < 0)
				return -1;
		}
		o->next.level = pw_crate_level(o->next.complaints,
		    o->next.delivered, &o->lim);
		if (transition(w, st, o, now) < 0)
			return -1;
	}
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->n; i++)
		w->v[i].e = w->v[i].next;
	w->loaded = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

static void
deadline(struct timespec *t, long s)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += s;
}

static void *
watcher(void *arg)
{
	struct pw_cwatch *w = arg;
	struct timespec t;
	long wait;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		int rc;

		w->poked = false;
		pthread_mutex_unlock(&w->lock);
		rc = compute(w);
		pthread_mutex_lock(&w->lock);
		if (rc < 0 && !w->failing)
			pw_syslog(LOG_WARNING, "complaints: rates not computed: "
			    "%s; the last state stays in force (retrying)",
			    pw_store_strerror());
		else if (rc == 0 && w->failing)
			pw_syslog(LOG_NOTICE, "complaints: rates computed again");
		w->failing = rc < 0;
		wait = rc < 0 && w->interval > CW_RETRY_S ? CW_RETRY_S :
		    w->interval;
		deadline(&t, wait);
		while (!w->stop && !w->poked &&
		       pthread_cond_timedwait(&w->cond, &w->lock, &t) !=
			   ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct pw_cwatch *
pw_cwatch_new(const struct pw_orgs *orgs, struct pw_store_handle *store,
    const struct pw_cwatch_conf *conf)
{
	struct pw_cwatch *w;
	pthread_condattr_t ca;
	size_t n = orgs ? pw_orgs_count(orgs) : 0;
	bool any = false;
	char host[256];

	if (n == 0 || store == NULL)
		return NULL;
	w = pw_calloc(1, sizeof(*w));
	w->v = pw_calloc(n, sizeof(*w->v));
	for (size_t i = 0; i < n; i++) {
		struct cw_org *o = &w->v[w->n++];

		o->org = pw_orgs_nth(orgs, i);
		pw_crate_limits_of(o->org, &conf->def, &o->lim);
		any |= o->lim.warn_ppm >= 0 || o->lim.hold_ppm >= 0;
	}
	if (!any) {
		free(w->v);
		free(w);
		return NULL;
	}
	qsort(w->v, w->n, sizeof(*w->v), slot_cmp);
	w->store = store;
	w->interval = conf->interval > 0 ? conf->interval : 60;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(w->actor, sizeof(w->actor), "postwarden@%s", host);
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	return w;
}

void
pw_cwatch_free(struct pw_cwatch **wp)
{
	struct pw_cwatch *w = *wp;

	if (w == NULL)
		return;
	*wp = NULL;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w->v);
	free(w);
}

int
pw_cwatch_get(struct pw_cwatch *w, const char *org, struct pw_crate_eval *e)
{
	struct cw_org *o = slot(w, org);
	struct timespec t;
	bool known;
	int e2;

	if (o == NULL)
		return 0;
	pthread_mutex_lock(&w->lock);
	if (!w->started && !w->stop) {
		if ((e2 = pthread_create(&w->thread, NULL, watcher, w)) != 0)
			pw_syslog(LOG_ERR, "complaints: cannot start the "
			    "watcher thread: %s", strerror(e2));
		else
			w->started = true;
	}
	if (!w->loaded && w->started) {
		deadline(&t, CW_FIRST_WAIT_S);
		while (!w->loaded && !w->stop &&
		       pthread_cond_timedwait(&w->cond, &w->lock, &t) !=
			   ETIMEDOUT)
			;
	}
	known = w->loaded;
	if (known)
		*e = o->e;
	pthread_mutex_unlock(&w->lock);
	return known ? 1 : 0;
}

void
pw_cwatch_poke(struct pw_cwatch *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->poked = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}
