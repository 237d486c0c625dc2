/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dmarc_rows - a queue of DMARC evaluation rows and the thread that
 * writes them (see dmarc_rows.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/util.h"
#include "store/dmarc_rows.h"

#define ROWS_BATCH	256		/* write at once when this many wait */
#define ROWS_DELAY_MS	500		/* else this long after the first */
#define ROWS_MAX	50000		/* drop beyond this many waiting */
#define ROWS_RETRY_MS	1000		/* after a failed write */

/* A queued row: the struct and its strings in one allocation. */
struct qrow {
	struct pw_dmarc_row	 row;
	char			 strings[];
};

struct pw_dmarc_rows {
	struct pw_store		*store;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* rows came, or stop */
	struct qrow		**q;
	size_t			 n, cap;
	struct timespec		 first;		/* when q[0] came */
	unsigned long		 dropped;	/* since the last warning */
	bool			 stop;
};

/* deadline - first + ROWS_DELAY_MS */
static struct timespec
deadline(const struct timespec *first)
{
	struct timespec t = *first;

	t.tv_nsec += (long)ROWS_DELAY_MS * 1000000L;
	t.tv_sec += t.tv_nsec / 1000000000L;
	t.tv_nsec %= 1000000000L;
	return t;
}

/* write_batch - one transaction: true if stored (the rows are freed);
   false leaves them to the caller */
static bool
write_batch(struct pw_dmarc_rows *r, struct qrow **q, size_t n)
{
	struct pw_dmarc_row *rows = pw_calloc(n, sizeof(*rows));
	bool ok;

	for (size_t i = 0; i < n; i++)
		rows[i] = q[i]->row;
	ok = pw_store_dmarc_add(r->store, rows, n) == 0;
	if (!ok)
		pw_syslog(LOG_WARNING, "dmarc: %zu evaluation%s not stored "
		    "yet: %s", n, n == 1 ? "" : "s", pw_store_strerror());
	free(rows);
	if (ok)
		for (size_t i = 0; i < n; i++)
			free(q[i]);
	return ok;
}

/* requeue - put rows that could not be written back before those that
   came since, in order; past ROWS_MAX the newest are dropped.  Under
   r->lock.  Takes q. */
static void
requeue(struct pw_dmarc_rows *r, struct qrow **q, size_t n)
{
	size_t keep = r->n;

	if (n + r->n > ROWS_MAX) {
		keep = n >= ROWS_MAX ? 0 : ROWS_MAX - n;
		for (size_t i = keep; i < r->n; i++)
			free(r->q[i]);
		r->dropped += r->n - keep;
		for (size_t i = n > ROWS_MAX ? ROWS_MAX : n; i < n; i++)
			free(q[i]);
		r->dropped += n > ROWS_MAX ? n - ROWS_MAX : 0;
		if (n > ROWS_MAX)
			n = ROWS_MAX;
	}
	q = pw_realloc(q, (n + keep + 1) * sizeof(*q));
	if (keep > 0)
		memcpy(q + n, r->q, keep * sizeof(*q));
	free(r->q);
	r->q = q;
	r->n = n + keep;
	r->cap = n + keep + 1;
}

static void *
writer(void *arg)
{
	struct pw_dmarc_rows *r = arg;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct qrow **q;
		size_t n;
		unsigned long dropped;

		while (r->n == 0 && !r->stop)
			pthread_cond_wait(&r->cond, &r->lock);
		if (r->n == 0 && r->stop)
			break;
		if (!r->stop && r->n < ROWS_BATCH) {
			struct timespec t = deadline(&r->first);

			while (!r->stop && r->n < ROWS_BATCH &&
			       pthread_cond_timedwait(&r->cond, &r->lock,
				   &t) != ETIMEDOUT)
				;
		}
		q = r->q;
		n = r->n;
		dropped = r->dropped;
		r->q = NULL;
		r->n = r->cap = 0;
		r->dropped = 0;
		pthread_mutex_unlock(&r->lock);
		if (dropped > 0)
			pw_syslog(LOG_WARNING, "dmarc: the store is behind: %lu "
			    "evaluations dropped", dropped);
		if (write_batch(r, q, n)) {
			free(q);
			pthread_mutex_lock(&r->lock);
			continue;
		}
		/* The store is down or locked: the rows wait in memory (up
		   to ROWS_MAX) and the write is tried again a little later,
		   until it succeeds; at stop, what cannot be written is
		   dropped with a warning rather than holding the exit. */
		pthread_mutex_lock(&r->lock);
		if (r->stop) {
			pw_syslog(LOG_WARNING, "dmarc: stopping: %zu "
			    "evaluations dropped", n);
			for (size_t i = 0; i < n; i++)
				free(q[i]);
			free(q);
			continue;
		}
		requeue(r, q, n);
		{
			struct timespec t;

			clock_gettime(CLOCK_MONOTONIC, &t);
			t.tv_sec += ROWS_RETRY_MS / 1000;
			t.tv_nsec += (long)(ROWS_RETRY_MS % 1000) * 1000000L;
			t.tv_sec += t.tv_nsec / 1000000000L;
			t.tv_nsec %= 1000000000L;
			while (!r->stop && pthread_cond_timedwait(&r->cond,
			    &r->lock, &t) != ETIMEDOUT)
				;
			/* batch straight away: the rows are old enough */
			clock_gettime(CLOCK_MONOTONIC, &r->first);
			r->first.tv_sec -= 1;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

struct pw_dmarc_rows *
pw_dmarc_rows_new(struct pw_store *st, char **error_r)
{
	struct pw_dmarc_rows *r = pw_calloc(1, sizeof(*r));
	pthread_condattr_t ca;
	int e;

	r->store = st;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((e = pthread_create(&r->thread, NULL, writer, r)) != 0) {
		*error_r = pw_asprintf("cannot start the writer thread: %s",
		    strerror(e));
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return NULL;
	}
	return r;
}

/* dup_row - the row and copies of its strings, in one block */
static struct qrow *
dup_row(const struct pw_dmarc_row *in)
{
	struct pw_dmarc_row row = *in;
	const char **field[] = {&row.from_domain, &row.source_ip, &row.policy,
	    &row.disposition, &row.spf_result, &row.spf_domain,
	    &row.dkim_result, &row.dkim_domain, &row.env_from,
	    &row.spf_scope, &row.dkim_selector, &row.dmarc_result,
	    &row.spf_aligned, &row.dkim_aligned, &row.override,
	    &row.pub_domain, &row.pub_record, &row.discovery};
	size_t nf = sizeof(field) / sizeof(field[0]), len = 0;
	struct qrow *q;
	char *p;

	for (size_t i = 0; i < nf; i++)
		len += *field[i] ? strlen(*field[i]) + 1 : 0;
	q = pw_malloc(sizeof(*q) + len);
	p = q->strings;
	for (size_t i = 0; i < nf; i++) {
		if (*field[i] == NULL)
			continue;
		len = strlen(*field[i]) + 1;
		memcpy(p, *field[i], len);
		*field[i] = p;
		p += len;
	}
	q->row = row;
	return q;
}

void
pw_dmarc_rows_add(struct pw_dmarc_rows *r, const struct pw_dmarc_row *row)
{
	struct qrow *q = dup_row(row);

	pthread_mutex_lock(&r->lock);
	if (r->n >= ROWS_MAX) {
		r->dropped++;
		pthread_mutex_unlock(&r->lock);
		free(q);
		return;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->q = pw_realloc(r->q, r->cap * sizeof(*r->q));
	}
	if (r->n == 0)
		clock_gettime(CLOCK_MONOTONIC, &r->first);
	r->q[r->n++] = q;
	if (r->n == 1 || r->n == ROWS_BATCH)
		pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

void
pw_dmarc_rows_free(struct pw_dmarc_rows **rp)
{
	struct pw_dmarc_rows *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->q);
	free(r);
}
