/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics - counters, gauges and histograms; Prometheus text exposition.
 *
 * Threads: any thread counts; the hot path is a relaxed atomic load of
 * the "enabled" flag, a walk of the metric's series list (acquire loads)
 * with a few strcmp()s, and relaxed atomic adds.  The registry's lock is
 * taken once per metric (first use) and by the renderer.  Series are
 * never freed, so a reader never sees one go away.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/metrics.h"

struct pw_series {
	struct pw_series *next;
	char		*vals[PW_METRIC_MAXLABELS];
	_Atomic uint64_t count;		/* counter, or histogram count */
	_Atomic int64_t	 gauge;
	_Atomic uint64_t sum_ns;	/* histogram */
	_Atomic uint64_t buckets[];	/* histogram, one per bound */
};

const double pw_metric_seconds[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 0,
};

static atomic_bool enabled;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pw_metric *reg_head, **reg_tail = &reg_head;

void
pw_metrics_enable(bool on)
{
	atomic_store(&enabled, on);
}

bool
pw_metrics_enabled(void)
{
	return atomic_load_explicit(&enabled, memory_order_relaxed);
}

static size_t
nlabels(const struct pw_metric *m)
{
	size_t n = 0;

	while (n < PW_METRIC_MAXLABELS && m->labels[n] != NULL)
		n++;
	return n;
}

static size_t
nbounds(const struct pw_metric *m)
{
	size_t n = 0;

	if (m->kind == PW_METRIC_HISTOGRAM)
		while (m->bounds[n] != 0)
			n++;
	return n;
}

/* series_match - do the label values equal s's? */
static bool
series_match(const struct pw_series *s, size_t nl, const char *const *vals)
{
	for (size_t i = 0; i < nl; i++)
		if (strcmp(s->vals[i], vals && vals[i] ? vals[i] : "") != 0)
			return false;
	return true;
}

/* series_find - the series for vals in the list from head, or NULL */
static struct pw_series *
series_find(struct pw_series *head, size_t nl, const char *const *vals)
{
	for (struct pw_series *s = head; s != NULL; s = s->next)
		if (series_match(s, nl, vals))
			return s;
	return NULL;
}

static void
do_register(struct pw_metric *m)
{
	pthread_mutex_lock(&reg_lock);
	if (!atomic_load(&m->registered)) {
		*reg_tail = m;
		reg_tail = &m->next;
		atomic_store_explicit(&m->registered, true,
		    memory_order_release);
	}
	pthread_mutex_unlock(&reg_lock);
}

/*
 * series_get - the series for these label values, made when new.  Past
 * the cap the values become "other" (one overflow series).
 */
static struct pw_series *
series_get(struct pw_metric *m, const char *const *vals)
{
	static const char *const other[PW_METRIC_MAXLABELS] = {
	    "other", "other", "other", "other"};
	size_t nl = nlabels(m), nb;
	struct pw_series *s, *head;

	if (!atomic_load_explicit(&m->registered, memory_order_acquire))
		do_register(m);
	/* The head searched is the one the first compare-and-swap expects:
	   a series another thread adds after it makes the swap fail and is
	   then found below, so no value gets two series (and no counts
	   go to one that render() does not show). */
	head = atomic_load_explicit(&m->series, memory_order_acquire);
	if ((s = series_find(head, nl, vals)) != NULL)
		return s;
	if (nl > 0 && atomic_load(&m->nseries) >= PW_METRIC_MAXSERIES) {
		vals = other;
		if ((s = series_find(head, nl, vals)) != NULL)
			return s;
	}
	nb = nbounds(m);
	s = pw_calloc(1, sizeof(*s) + (nb + 1) * sizeof(s->buckets[0]));
	for (size_t i = 0; i < nl; i++)
		s->vals[i] = pw_strdup(vals && vals[i] ? vals[i] : "");
	for (;;) {
		struct pw_series *seen;

		s->next = head;
		if (atomic_compare_exchange_weak_explicit(&m->series, &head, s,
		    memory_order_acq_rel, memory_order_acquire))
			break;
		/* Another thread added one: is it ours? */
		for (seen = head; seen != NULL && seen != s->next;
		     seen = seen->next)
			if (series_match(seen, nl, vals)) {
				for (size_t i = 0; i < nl; i++)
					free(s->vals[i]);
				free(s);
				return seen;
			}
	}
	atomic_fetch_add(&m->nseries, 1);
	return s;
}

void
pw_metric_register(struct pw_metric *m)
{
	if (nlabels(m) == 0)
		(void)series_get(m, NULL);
	else if (!atomic_load(&m->registered))
		do_register(m);
}

void
pw_metric_add(struct pw_metric *m, uint64_t n, const char *const *vals)
{
	if (!pw_metrics_enabled())
		return;
	atomic_fetch_add_explicit(&series_get(m, vals)->count, n,
	    memory_order_relaxed);
}

void
pw_metric_set(struct pw_metric *m, int64_t v, const char *const *vals)
{
	if (!pw_metrics_enabled())
		return;
	atomic_store_explicit(&series_get(m, vals)->gauge, v,
	    memory_order_relaxed);
}

void
pw_metric_observe_ns(struct pw_metric *m, uint64_t ns,
    const char *const *vals)
{
	struct pw_series *s;
	double sec = (double)ns / 1e9;
	size_t i;

	if (!pw_metrics_enabled())
		return;
	s = series_get(m, vals);
	/* Buckets are stored per bound (not cumulative): one add each. */
	for (i = 0; m->bounds[i] != 0 && sec > m->bounds[i]; i++)
		;
	atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_ns, ns, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

struct timespec
pw_metric_now(void)
{
	struct timespec ts = {0, 0};

	if (pw_metrics_enabled())
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

void
pw_metric_since(struct pw_metric *m, const struct timespec *start,
    const char *const *vals)
{
	struct timespec now;
	int64_t ns;

	if (!pw_metrics_enabled() || (start->tv_sec == 0 &&
	    start->tv_nsec == 0))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (int64_t)(now.tv_sec - start->tv_sec) * 1000000000 +
	    (now.tv_nsec - start->tv_nsec);
	pw_metric_observe_ns(m, ns > 0 ? (uint64_t)ns : 0, vals);
}

/* ---- exposition ----------------------------------------------------- */

/* put_escaped - a HELP text or a label value, escaped as the format
   wants (label values also escape '"') */
static void
put_escaped(struct pw_buf *b, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			pw_buf_puts(b, "\\\\");
		else if (*s == '\n')
			pw_buf_puts(b, "\\n");
		else if (*s == '"' && quote)
			pw_buf_puts(b, "\\\"");
		else
			pw_buf_add(b, s, 1);
	}
}

/* put_labels - {a="x",b="y"[,le="0.5"]}, or nothing */
static void
put_labels(struct pw_buf *b, const struct pw_metric *m,
    const struct pw_series *s, const char *le)
{
	size_t nl = nlabels(m);

	if (nl == 0 && le == NULL)
		return;
	pw_buf_puts(b, "{");
	for (size_t i = 0; i < nl; i++) {
		pw_buf_printf(b, "%s%s=\"", i ? "," : "", m->labels[i]);
		put_escaped(b, s->vals[i], true);
		pw_buf_puts(b, "\"");
	}
	if (le != NULL)
		pw_buf_printf(b, "%sle=\"%s\"", nl ? "," : "", le);
	pw_buf_puts(b, "}");
}

static void
render_histogram(struct pw_buf *b, const struct pw_metric *m,
    const struct pw_series *s)
{
	size_t nb = nbounds(m);
	uint64_t cum = 0;
	char le[32];

	for (size_t i = 0; i <= nb; i++) {
		cum += atomic_load_explicit(&s->buckets[i],
		    memory_order_relaxed);
		if (i < nb)
			snprintf(le, sizeof(le), "%g", m->bounds[i]);
		else
			strcpy(le, "+Inf");
		pw_buf_printf(b, "%s_bucket", m->name);
		put_labels(b, m, s, le);
		pw_buf_printf(b, " %llu\n", (unsigned long long)cum);
	}
	pw_buf_printf(b, "%s_sum", m->name);
	put_labels(b, m, s, NULL);
	pw_buf_printf(b, " %.9f\n", (double)atomic_load_explicit(&s->sum_ns,
	    memory_order_relaxed) / 1e9);
	/* The count is the +Inf bucket: the same number, read once. */
	pw_buf_printf(b, "%s_count", m->name);
	put_labels(b, m, s, NULL);
	pw_buf_printf(b, " %llu\n", (unsigned long long)cum);
}

void
pw_metrics_render(struct pw_buf *b)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};

	pthread_mutex_lock(&reg_lock);
	for (const struct pw_metric *m = reg_head; m != NULL; m = m->next) {
		pw_buf_printf(b, "# HELP %s ", m->name);
		put_escaped(b, m->help, false);
		pw_buf_printf(b, "\n# TYPE %s %s\n", m->name, types[m->kind]);
		for (const struct pw_series *s = atomic_load_explicit(
		     &m->series, memory_order_acquire); s != NULL;
		     s = s->next) {
			if (m->kind == PW_METRIC_HISTOGRAM) {
				render_histogram(b, m, s);
				continue;
			}
			pw_buf_puts(b, m->name);
			put_labels(b, m, s, NULL);
			if (m->kind == PW_METRIC_COUNTER)
				pw_buf_printf(b, " %llu\n", (unsigned long long)
				    atomic_load_explicit(&s->count,
				    memory_order_relaxed));
			else
				pw_buf_printf(b, " %lld\n", (long long)
				    atomic_load_explicit(&s->gauge,
				    memory_order_relaxed));
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

int
pw_metrics_listen_parse(const char *spec, char **host_r,
    unsigned short *port_r, const char **why_r)
{
	const char *colon, *h = spec, *port;
	unsigned char addr[16];
	size_t hlen;
	char *end, *host;
	long p;

	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (rb == NULL || rb[1] != ':') {
			*why_r = "expected [ADDRESS]:PORT";
			return -1;
		}
		h = spec + 1;
		hlen = (size_t)(rb - h);
		port = rb + 2;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL) {
			*why_r = "expected ADDRESS:PORT";
			return -1;
		}
		hlen = (size_t)(colon - spec);
		port = colon + 1;
	}
	errno = 0;
	p = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || errno != 0 || p < 1 ||
	    p > 65535) {
		*why_r = "bad port (1-65535)";
		return -1;
	}
	host = pw_strndup(h, hlen);
	if (inet_pton(AF_INET, host, addr) != 1 &&
	    inet_pton(AF_INET6, host, addr) != 1) {
		free(host);
		*why_r = "the address must be numeric (127.0.0.1, [::1])";
		return -1;
	}
	*host_r = host;
	*port_r = (unsigned short)p;
	return 0;
}
