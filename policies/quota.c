/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * quota - sending quotas per organisation (issue 17): messages or
 * recipients per clock hour, day and calendar month (UTC), each optional,
 * counted across the fleet through the store.
 *
 * The organisations file sets the limits (quota_hour, quota_day,
 * quota_month), what they count (quota_unit = messages | recipients),
 * quota_mode (warn | enforce) and what the monthly limit does
 * (quota_month_action = reject | tempfail).  For an organisation's
 * outbound mail, at RCPT:
 *   - over the monthly limit: 550 5.7.1, or 452 4.7.1 (tempfail);
 *   - over the daily or hourly limit: 452 4.7.1 (the sending MTA retries
 *     later; the reply says which limit);
 *   - warn: logged with the queue ID, delivered and counted.
 * Mail whose organisation is only known at end of headers (From domain),
 * and mail from the sendmail command (which cannot refuse one
 * recipient), is decided at end of message: 451 4.7.1 or 550 5.7.1.
 *
 * No store write on a message's path.  Each MTA counts in memory: a
 * recipient accepted at RCPT is counted at once (so that concurrent
 * messages see each other), and taken back in cleanup if the message is
 * not sent after all (rejected, tempfailed, aborted).  A thread of its
 * own appends what was counted to the store every quota_flush_interval
 * (one row per organisation and hour bucket, table quota_delta) and then
 * reads the fleet's sums back.  A decision is the fleet's sum at the
 * last read plus what this MTA counted since; what the other MTAs
 * counted since their last flush is not seen, so the fleet can overshoot
 * a limit by at most quota_flush_interval (plus one read) of the other
 * MTAs' traffic.
 *
 * When the fleet's sums are older than quota_store_grace (the store is
 * down or locked), postwarden cannot decide: quota_store_error says what
 * to do - tempfail (451 4.3.0, the default), last_known (decide on the
 * last sums read plus this MTA's counts) or accept (count, do not
 * check).  Counts that cannot be written wait in memory and are written
 * when the store is back; a stop or reload writes them first.
 */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "compliance/org.h"
#include "compliance/quota_window.h"
#include "comply.h"
#include "policy.h"
#include "snapshot.h"
#include "store/store.h"

#define Q_PRIOR_S	60	/* the month's earlier days: read this often */

enum { QE_TEMPFAIL, QE_LAST_KNOWN, QE_ACCEPT };
static const char *const store_error_names[] = {"tempfail", "last_known",
    "accept", NULL};

struct q_settings {
	long	flush_interval;		/* quota_flush_interval */
	long	grace;			/* quota_store_grace */
	int	store_error;		/* quota_store_error */
};

static const struct pw_setting q_settings_tab[] = {
    PW_SET_TIME("quota_flush_interval", "5s", 1, 300, struct q_settings,
	flush_interval),
    PW_SET_TIME("quota_store_grace", "30s", 1, 86400, struct q_settings,
	grace),
    PW_SET_ENUM("quota_store_error", "tempfail", store_error_names,
	struct q_settings, store_error),
    PW_SET_END,
};

/* Counts of one hour bucket: [0] messages, [1] recipients. */
struct bucket {
	time_t	hour;
	int64_t	n[2];
};

struct blist {
	struct bucket	*v;
	size_t		 n, cap;
};

/* One organisation with a limit.  Everything but org under conf lock. */
struct qorg {
	const struct pw_org	*org;
	struct blist		 pending;	/* counted, not written yet */
	struct blist		 inflight;	/* being written now */
	struct blist		 flushed;	/* written, not in fleet yet */
	int64_t			 fleet[PW_QUOTA_NWIN][2];
	time_t			 fleet_start[PW_QUOTA_NWIN]; /* of fleet */
	int64_t			 prior[2];	/* [month start, day start) */
	int64_t			 read[2][2];	/* a refresh's reads */
};

struct q_conf {
	struct q_settings	 s;
	struct pw_store_handle	*store;
	char			 host[256];
	struct qorg		*v;		/* sorted by name */
	size_t			 n;
	pthread_mutex_t		 lock;		/* the counts */
	pthread_cond_t		 cond;		/* stop */
	pthread_mutex_t		 start_lock;
	bool			 started;	/* thread running (atomic) */
	bool			 start_failed;
	bool			 stop;
	pthread_t		 thread;
	struct timespec		 fresh;		/* last good read (MONOTONIC),
						   0: none */
	time_t			 prior_day;	/* day start of prior sums */
	struct timespec		 prior_at;
	bool			 store_down_logged;
};

/* What one message reserved. */
struct q_msg {
	struct qorg	*qo;		/* NULL: no quota decided yet */
	time_t		 hour;		/* its bucket */
	int64_t		 n[2];		/* counted: messages, recipients */
	bool		 rcpt_seen;	/* decided at RCPT */
	bool		 eom;
	/* warn mode, over a limit at RCPT: logged at end of message, where
	   the queue ID is known (it may not be at the first RCPT) */
	bool		 warned;
	enum pw_quota_window warn_w;
	int64_t		 warn_used, warn_add;
};

/* ---- counts ------------------------------------------------------------- */

static void
blist_add(struct blist *l, time_t hour, int64_t msgs, int64_t rcpts)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].hour == hour) {
			l->v[i].n[0] += msgs;
			l->v[i].n[1] += rcpts;
			return;
		}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = pw_realloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct bucket){hour, {msgs, rcpts}};
}

/* blist_move - add every bucket of from to to; empty from */
static void
blist_move(struct blist *to, struct blist *from)
{
	for (size_t i = 0; i < from->n; i++)
		blist_add(to, from->v[i].hour, from->v[i].n[0],
		    from->v[i].n[1]);
	from->n = 0;
}

static int64_t
blist_sum(const struct blist *l, time_t from, time_t to, int u)
{
	int64_t s = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].hour >= from && l->v[i].hour < to)
			s += l->v[i].n[u];
	return s;
}

/* usage - the fleet's use of window w at now, unit u (under lock) */
static int64_t
usage(const struct qorg *qo, enum pw_quota_window w, time_t now, int u)
{
	time_t from = pw_quota_window_start(w, now);
	time_t to = pw_quota_window_end(w, now);
	int64_t s;

	/* Sums read in another window (it has rolled over since) are not
	   this window's: only what this MTA counted in it is known. */
	s = qo->fleet_start[w] == from ? qo->fleet[w][u] : 0;
	s += blist_sum(&qo->pending, from, to, u);
	s += blist_sum(&qo->inflight, from, to, u);
	s += blist_sum(&qo->flushed, from, to, u);
	return s;
}

static int
qorg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct qorg *)a)->org->name,
	    ((const struct qorg *)b)->org->name);
}

static struct qorg *
qorg_find(const struct q_conf *c, const char *name)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(name, c->v[mid].org->name);

		if (d == 0)
			return &c->v[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ---- the flush and read thread ------------------------------------------- */

static double
mono_since(const struct timespec *t)
{
	struct timespec now;

	if (t->tv_sec == 0 && t->tv_nsec == 0)
		return 1e18;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	       (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* flush - write what was counted; true when there was nothing to write
   or it was written */
static bool
flush(struct q_conf *c, struct pw_store *st)
{
	struct pw_quota_row *rows = NULL;
	size_t n = 0, cap = 0;
	time_t now = pw_quota_now();
	bool ok;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++) {
		struct qorg *qo = &c->v[i];

		for (size_t j = 0; j < qo->pending.n; j++) {
			const struct bucket *b = &qo->pending.v[j];

			if (b->n[0] == 0 && b->n[1] == 0)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				rows = pw_realloc(rows, cap * sizeof(*rows));
			}
			rows[n++] = (struct pw_quota_row){qo->org->name,
			    b->hour, b->n[0], b->n[1], c->host, now};
		}
		blist_move(&qo->inflight, &qo->pending);
	}
	pthread_mutex_unlock(&c->lock);
	ok = n == 0 || (st != NULL && pw_store_quota_add(st, rows, n) == 0);
	if (!ok)
		pw_syslog(LOG_WARNING, "quota: %zu count%s not written yet: %s",
		    n, n == 1 ? "" : "s", st ? pw_store_strerror() :
		    "no store");
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++)
		blist_move(ok ? &c->v[i].flushed : &c->v[i].pending,
		    &c->v[i].inflight);
	pthread_mutex_unlock(&c->lock);
	free(rows);
	return ok;
}

struct read_ctx {
	struct q_conf	*c;
	int		 slot;		/* qorg.read[slot], or -1: prior */
};

static int
read_cb(const struct pw_quota_sum *q, void *arg)
{
	struct read_ctx *x = arg;
	struct qorg *qo = qorg_find(x->c, q->org);

	if (qo == NULL)
		return 0;	/* an organisation without a limit */
	if (x->slot < 0) {
		qo->prior[0] = q->messages;
		qo->prior[1] = q->recipients;
	} else {
		qo->read[x->slot][0] = q->messages;
		qo->read[x->slot][1] = q->recipients;
	}
	return 0;
}

/* refresh - read the fleet's sums of every organisation; true if read */
static bool
refresh(struct q_conf *c, struct pw_store *st)
{
	time_t now = pw_quota_now();
	time_t h = pw_quota_window_start(PW_QUOTA_HOUR, now);
	time_t d = pw_quota_window_start(PW_QUOTA_DAY, now);
	time_t mo = pw_quota_window_start(PW_QUOTA_MONTH, now);
	struct read_ctx x = {c, 0};
	bool prior = c->prior_day != d || mono_since(&c->prior_at) >= Q_PRIOR_S;

	if (st == NULL)
		return false;
	/* Only this thread writes read[] and prior[]; the decisions read
	   fleet[], set under the lock below. */
	for (size_t i = 0; i < c->n; i++) {
		memset(c->v[i].read, 0, sizeof(c->v[i].read));
		if (prior)
			memset(c->v[i].prior, 0, sizeof(c->v[i].prior));
	}
	if (pw_store_quota_sum(st, NULL, h, PW_NOTIME, read_cb, &x) < 0)
		return false;
	x.slot = 1;
	if (pw_store_quota_sum(st, NULL, d, PW_NOTIME, read_cb, &x) < 0)
		return false;
	/* The month's earlier days change little (late flushes, messages
	   taken back): read once a minute, not at every flush. */
	x.slot = -1;
	if (prior && mo < d &&
	    pw_store_quota_sum(st, NULL, mo, d, read_cb, &x) < 0) {
		c->prior_day = 0;
		return false;
	}
	if (prior) {
		c->prior_day = d;
		clock_gettime(CLOCK_MONOTONIC, &c->prior_at);
	}
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++) {
		struct qorg *qo = &c->v[i];

		for (int u = 0; u < 2; u++) {
			qo->fleet[PW_QUOTA_HOUR][u] = qo->read[0][u];
			qo->fleet[PW_QUOTA_DAY][u] = qo->read[1][u];
			qo->fleet[PW_QUOTA_MONTH][u] = qo->read[1][u] +
			    qo->prior[u];
		}
		qo->fleet_start[PW_QUOTA_HOUR] = h;
		qo->fleet_start[PW_QUOTA_DAY] = d;
		qo->fleet_start[PW_QUOTA_MONTH] = mo;
		/* written before these reads: in fleet[] now */
		qo->flushed.n = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->fresh);
	pthread_mutex_unlock(&c->lock);
	return true;
}

/* cycle - one flush and read; logs a store that went down or came back */
static void
cycle(struct q_conf *c)
{
	struct pw_store *st = pw_store_handle_get(c->store, NULL);
	bool ok = flush(c, st);

	ok = refresh(c, st) && ok;
	if (!ok && !c->store_down_logged) {
		pw_syslog(LOG_WARNING, "quota: %s: cannot count the fleet's "
		    "use: %s (after %ld s without: quota_store_error = %s)",
		    pw_store_handle_spec(c->store), st ? pw_store_strerror() :
		    "cannot open", c->s.grace,
		    store_error_names[c->s.store_error]);
		c->store_down_logged = true;
	} else if (ok && c->store_down_logged) {
		pw_syslog(LOG_INFO, "quota: %s: the fleet's use is counted "
		    "again", pw_store_handle_spec(c->store));
		c->store_down_logged = false;
	}
}

static void *
worker(void *arg)
{
	struct q_conf *c = arg;
	struct timespec t;

	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_sec += c->s.flush_interval;
		while (!c->stop && pthread_cond_timedwait(&c->cond, &c->lock,
		    &t) != ETIMEDOUT)
			;
		if (c->stop)
			break;
		pthread_mutex_unlock(&c->lock);
		cycle(c);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* started - the thread, and a first read, at the first message that
   needs them (after the daemon dropped privileges and forked; never for
   postwarden -n).  False if the thread cannot run. */
static bool
started(struct q_conf *c)
{
	bool ok;
	int e;

	if (__atomic_load_n(&c->started, __ATOMIC_ACQUIRE))
		return true;
	pthread_mutex_lock(&c->start_lock);
	if (!c->started && !c->start_failed) {
		/* One read on this message's path, once per snapshot: the
		   first decision needs the fleet's sums. */
		cycle(c);
		if ((e = pthread_create(&c->thread, NULL, worker, c)) != 0) {
			/* decided on what this MTA counts, or tempfailed
			   (quota_store_error), until a reload */
			pw_syslog(LOG_ERR, "quota: cannot start the counting "
			    "thread: %s", strerror(e));
			c->start_failed = true;
		} else
			__atomic_store_n(&c->started, true, __ATOMIC_RELEASE);
	}
	ok = c->started;
	pthread_mutex_unlock(&c->start_lock);
	return ok;
}

/* ---- init ------------------------------------------------------------------ */

static bool
has_quota(const struct pw_org *o)
{
	return o->mode[PW_RULE_QUOTA] != PW_MODE_OFF &&
	       (o->quota[PW_QUOTA_HOUR] > 0 || o->quota[PW_QUOTA_DAY] > 0 ||
		o->quota[PW_QUOTA_MONTH] > 0);
}

static void
q_deinit(void *vconf)
{
	struct q_conf *c = vconf;

	if (c == NULL)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
		/* a stop or reload writes what was counted */
		if (!flush(c, pw_store_handle_get(c->store, NULL)))
			pw_syslog(LOG_WARNING, "quota: stopping: counts not "
			    "written (the fleet's sums will miss them)");
	}
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].pending.v);
		free(c->v[i].inflight.v);
		free(c->v[i].flushed.v);
	}
	free(c->v);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->start_lock);
	free(c);
}

static int
q_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	const struct pw_orgs *orgs = pw_services(cfg)->orgs;
	const struct pw_org *first = NULL;
	pthread_condattr_t ca;
	struct q_conf *c;
	size_t n = 0;

	for (size_t i = 0; orgs != NULL && i < pw_orgs_count(orgs); i++)
		if (has_quota(pw_orgs_nth(orgs, i)) && n++ == 0)
			first = pw_orgs_nth(orgs, i);
	if (n == 0)
		return 0;	/* idle: no organisation has a limit */
	if (cfg->core.store == NULL || *cfg->core.store == '\0') {
		*error_r = pw_asprintf("%s: store is empty: the sending quotas "
		    "of organisation \"%s\" (%s) are counted in the store",
		    pw_config_where(cfg, "store"), first->name, first->where);
		return -1;
	}
	c = pw_calloc(1, sizeof(*c));
	c->s = *(const struct q_settings *)vs;
	c->store = pw_services(cfg)->store;
	if (gethostname(c->host, sizeof(c->host) - 1) < 0 || !c->host[0])
		snprintf(c->host, sizeof(c->host), "unknown");
	c->v = pw_calloc(n, sizeof(*c->v));
	for (size_t i = 0; i < pw_orgs_count(orgs); i++)
		if (has_quota(pw_orgs_nth(orgs, i)))
			c->v[c->n++].org = pw_orgs_nth(orgs, i);
	qsort(c->v, c->n, sizeof(*c->v), qorg_cmp);
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->start_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	*conf_r = c;
	return 0;
}

/* ---- decisions ---------------------------------------------------------- */

enum q_result { Q_OK, Q_OVER, Q_UNKNOWN };

/*
 * decide - may this message count add[] more (messages, recipients)?  Q_OK
 * counts them; Q_OVER sets *w_r and *used_r (counted too in warn mode);
 * Q_UNKNOWN: the fleet's sums are stale and quota_store_error is
 * tempfail.
 */
static enum q_result
decide(struct q_conf *c, struct q_msg *qm, struct qorg *qo,
    const int64_t add[2], enum pw_quota_window *w_r, int64_t *used_r)
{
	const struct pw_org *o = qo->org;
	int u = o->quota_unit == PW_QUOTA_RECIPIENTS;
	enum q_result res = Q_OK;
	bool check = add[u] > 0;
	time_t now;

	if (!started(c) && c->s.store_error == QE_TEMPFAIL)
		return Q_UNKNOWN;
	pthread_mutex_lock(&c->lock);
	now = pw_quota_now();
	if (check && mono_since(&c->fresh) > (double)c->s.grace) {
		/* warn mode refuses nothing: it goes on counting, and logs
		   what the last sums read say */
		if (c->s.store_error == QE_TEMPFAIL &&
		    o->mode[PW_RULE_QUOTA] != PW_MODE_WARN) {
			pthread_mutex_unlock(&c->lock);
			return Q_UNKNOWN;
		}
		check = c->s.store_error != QE_ACCEPT;
	}
	/* The monthly limit first: its action is the strongest. */
	for (int w = PW_QUOTA_MONTH; check && w >= PW_QUOTA_HOUR; w--) {
		int64_t used;

		if (o->quota[w] <= 0)
			continue;
		used = usage(qo, (enum pw_quota_window)w, now, u);
		if (used + add[u] > o->quota[w]) {
			*w_r = (enum pw_quota_window)w;
			*used_r = used;
			res = Q_OVER;
			break;
		}
	}
	if (res == Q_OK || o->mode[PW_RULE_QUOTA] == PW_MODE_WARN) {
		/* counted now, taken back in cleanup if not sent */
		if (qm->n[0] == 0 && qm->n[1] == 0)
			qm->hour = pw_quota_window_start(PW_QUOTA_HOUR, now);
		blist_add(&qo->pending, qm->hour, add[0], add[1]);
		qm->n[0] += add[0];
		qm->n[1] += add[1];
	}
	pthread_mutex_unlock(&c->lock);
	return res;
}

/* over_log - the log line and summary of a limit passed */
static void
over_log(struct pw_msg *m, const struct pw_org *o, const char *rcpt,
    enum pw_quota_window w, int64_t used, int64_t add)
{
	bool warn = o->mode[PW_RULE_QUOTA] == PW_MODE_WARN;
	bool reject = w == PW_QUOTA_MONTH &&
	    o->quota_month_action == PW_QUOTA_MONTH_REJECT;

	pw_info(m, "quota: %s%s%s%s over its %s quota: %lld used + %lld > "
	    "%lld %s per %s%s", rcpt ? "<" : "", rcpt ? rcpt : "",
	    rcpt ? ">: " : "", o->name, pw_quota_window_adj(w),
	    (long long)used, (long long)add, o->quota[w],
	    pw_quota_unit_name(o->quota_unit), w == PW_QUOTA_MONTH ?
	    "calendar month" : pw_quota_window_name(w),
	    warn ? " (warn: not refused)" : reject ? ": refused" :
	    ": deferred");
	pw_msg_summary(m, "quota=over_%s%s", pw_quota_window_name(w),
	    warn ? "(warn)" : "");
}

/* over_reply - the reply, log line, summary and audit reason of a
   refusal (rcpt NULL: the whole message, at end of message) */
static enum pw_verdict
over_reply(struct pw_msg *m, struct q_msg *qm, struct qorg *qo,
    const char *rcpt, enum pw_quota_window w, int64_t used, int64_t add)
{
	const struct pw_org *o = qo->org;
	const char *unit = pw_quota_unit_name(o->quota_unit);
	bool warn = o->mode[PW_RULE_QUOTA] == PW_MODE_WARN;
	bool reject = w == PW_QUOTA_MONTH &&
	    o->quota_month_action == PW_QUOTA_MONTH_REJECT;
	const char *per = w == PW_QUOTA_MONTH ? "calendar month" :
	    pw_quota_window_name(w);
	char reason[32];
	struct pw_comply_rcpt *r;
	const char *text;

	if (warn && rcpt != NULL) {
		if (!qm->warned) {
			qm->warned = true;
			qm->warn_w = w;
			qm->warn_used = used;
			qm->warn_add = add;
		}
		return PW_DUNNO;
	}
	over_log(m, o, rcpt, w, used, add);
	if (warn)
		return PW_DUNNO;
	snprintf(reason, sizeof(reason), "quota_%s", pw_quota_window_name(w));
	text = pw_arena_printf(m->arena, "%s is over its %s sending quota "
	    "(%lld %s per %s)%s", o->name, pw_quota_window_adj(w),
	    o->quota[w], unit, per, reject ? "" : ", try again later");
	pw_comply_refused(m, reason, 1);
	if (rcpt != NULL) {
		r = pw_comply_rcpt(m, rcpt, true);
		r->action = reject ? "refused_rcpt" : "tempfail_rcpt";
		r->reason = pw_arena_printf(m->arena, "%s: %lld %s per %s",
		    reason, o->quota[w], unit, per);
		r->refusal = text;
		pw_msg_reply(m, reject ? "550" : "452", reject ? "5.7.1" :
		    "4.7.1", "<%s>: %s", rcpt, text);
	} else
		pw_msg_reply(m, reject ? "550" : "451", reject ? "5.7.1" :
		    "4.7.1", "%s", text);
	return reject ? PW_REJECT : PW_TEMPFAIL;
}

static enum pw_verdict
unknown_reply(struct pw_msg *m, struct qorg *qo, const char *rcpt)
{
	struct pw_comply_rcpt *r;

	if (qo->org->mode[PW_RULE_QUOTA] == PW_MODE_WARN) {
		pw_info(m, "quota: %s: the fleet's use is unknown (store "
		    "unavailable) (warn: not refused)", qo->org->name);
		return PW_DUNNO;
	}
	pw_warn(m, "quota: %s: the fleet's use is unknown (store "
	    "unavailable): tempfail (quota_store_error = tempfail)",
	    qo->org->name);
	pw_msg_summary(m, "quota=tempfail");
	if (rcpt != NULL) {
		r = pw_comply_rcpt(m, rcpt, true);
		r->action = "tempfail_rcpt";
		r->reason = "quota records unavailable";
	}
	pw_msg_reply(m, "451", "4.3.0", "sending quota records unavailable, "
	    "try again later");
	return PW_TEMPFAIL;
}

/* qorg_of - the quota of the message's organisation, or NULL */
static struct qorg *
qorg_of(const struct pw_call *call)
{
	const struct pw_org *o = call->msg->comply.org;

	if (call->conf == NULL || o == NULL || !has_quota(o))
		return NULL;
	return qorg_find(call->conf, o->name);
}

static enum pw_verdict
q_rcpt(struct pw_call *call, const char *rcpt)
{
	struct pw_msg *m = call->msg;
	struct q_msg *qm = call->priv;
	struct qorg *qo;
	enum pw_quota_window w;
	int64_t used, add[2];

	/* The sendmail command cannot refuse one recipient: end of
	   message decides for the whole message. */
	if (m->nonsmtp || (qo = qorg_of(call)) == NULL)
		return PW_DUNNO;
	qm->qo = qo;
	qm->rcpt_seen = true;
	add[0] = qm->n[0] == 0;		/* the message, once */
	add[1] = 1;
	switch (decide(call->conf, qm, qo, add, &w, &used)) {
	case Q_OK:
		return PW_DUNNO;
	case Q_UNKNOWN:
		return unknown_reply(m, qo, rcpt);
	default:
		return over_reply(m, qm, qo, rcpt, w, used,
		    add[qo->org->quota_unit == PW_QUOTA_RECIPIENTS]);
	}
}

static enum pw_verdict
q_eom(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	struct q_msg *qm = call->priv;
	struct qorg *qo;
	enum pw_quota_window w;
	int64_t used, add[2];

	qm->eom = true;
	if (qm->warned)
		over_log(m, qm->qo->org, NULL, qm->warn_w, qm->warn_used,
		    qm->warn_add);
	if (qm->rcpt_seen || (qo = qorg_of(call)) == NULL)
		return PW_DUNNO;
	/* the organisation came from the From header, or the sendmail
	   command submitted the message: decided here, for all of it */
	qm->qo = qo;
	add[0] = 1;
	add[1] = (int64_t)pw_comply_live(m);
	switch (decide(call->conf, qm, qo, add, &w, &used)) {
	case Q_OK:
		return PW_DUNNO;
	case Q_UNKNOWN:
		return unknown_reply(m, qo, NULL);
	default:
		return over_reply(m, qm, qo, NULL, w, used,
		    add[qo->org->quota_unit == PW_QUOTA_RECIPIENTS]);
	}
}

/* q_cleanup - take back what a message that was not sent counted */
static void
q_cleanup(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	struct q_msg *qm = call->priv;
	struct q_conf *c = call->conf;
	int64_t back[2] = {0, 0};

	if (qm->qo == NULL || (qm->n[0] == 0 && qm->n[1] == 0))
		return;
	if (!qm->eom || m->verdict >= PW_TEMPFAIL || m->defer) {
		back[0] = qm->n[0];
		back[1] = qm->n[1];
	} else {
		/* sent, but without the recipients removed at end of
		   message (pol_consent drop_at_eom) */
		for (size_t i = 0; i < m->nrcpts && back[1] < qm->n[1]; i++)
			back[1] += pw_comply_removed(m, m->rcpts[i]);
	}
	if (back[0] == 0 && back[1] == 0)
		return;
	pthread_mutex_lock(&c->lock);
	blist_add(&qm->qo->pending, qm->hour, -back[0], -back[1]);
	pthread_mutex_unlock(&c->lock);
	qm->n[0] -= back[0];
	qm->n[1] -= back[1];
}

const struct pw_policy pol_quota = {
    .name = "quota",
    .phase = PW_PHASE_COMPLY,
    .needs = PW_NEED_RCPTS,
    .dirs = PW_DIR_OUT,
    .msg_state_size = sizeof(struct q_msg),
    .settings = q_settings_tab,
    .settings_size = sizeof(struct q_settings),
    .init = q_init,
    .deinit = q_deinit,
    .rcpt = q_rcpt,
    .eom = q_eom,
    .cleanup = q_cleanup,
};
