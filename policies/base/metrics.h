/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics - counters, gauges and histograms, and their Prometheus text
 * exposition.
 *
 * A metric is a static struct in the module that counts (PW_COUNTER(),
 * PW_HISTOGRAM() below); it joins the process-wide registry the first
 * time it moves, or when pw_metric_register() is called.  Each distinct
 * set of label values is a series, made once and never freed; series are
 * found by walking a short list and added with a compare-and-swap, and
 * values are relaxed atomics, so counting takes no lock.  A metric keeps
 * at most PW_METRIC_MAXSERIES series: label values past that are counted
 * under the values "other", so a flood of new domains cannot grow memory.
 *
 * Counting is off until pw_metrics_enable() (the programs call it when a
 * metrics listener is configured); while off every call returns at once.
 *
 * Histograms take nanoseconds and are exposed in seconds.  Rendering
 * (pw_metrics_render) is pure: no I/O, the HTTP side is glue.
 */
#ifndef PW_METRICS_H
#define PW_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/util.h"

#define PW_METRIC_MAXLABELS	4
#define PW_METRIC_MAXSERIES	1000

enum pw_metric_kind {
	PW_METRIC_COUNTER,
	PW_METRIC_GAUGE,
	PW_METRIC_HISTOGRAM,
};

struct pw_series;

struct pw_metric {
	const char	*name;
	const char	*help;
	enum pw_metric_kind kind;
	const char	*labels[PW_METRIC_MAXLABELS + 1];	/* NULL ends */
	const double	*bounds;	/* histogram: upper bounds, seconds */
	/* Runtime state, zero in the static initialiser. */
	_Atomic(struct pw_series *) series;
	atomic_int	 nseries;
	atomic_bool	 registered;
	struct pw_metric *next;		/* registry, under its lock */
};

/* The default latency buckets, seconds (0.5 ms .. 10 s), 0-terminated. */
extern const double pw_metric_seconds[];

#define PW_COUNTER(n, h, ...) \
	{ .name = (n), .help = (h), .kind = PW_METRIC_COUNTER, \
	  .labels = { __VA_ARGS__ } }
#define PW_GAUGE(n, h, ...) \
	{ .name = (n), .help = (h), .kind = PW_METRIC_GAUGE, \
	  .labels = { __VA_ARGS__ } }
#define PW_HISTOGRAM(n, h, ...) \
	{ .name = (n), .help = (h), .kind = PW_METRIC_HISTOGRAM, \
	  .bounds = pw_metric_seconds, .labels = { __VA_ARGS__ } }

/* Label values, in the order of the metric's label names. */
#define PW_LV(...)	((const char *const[]){ __VA_ARGS__ })

/* Counting on (the daemon's metrics_listen is set) or off (default). */
void	pw_metrics_enable(bool);
bool	pw_metrics_enabled(void);

/* Make a metric visible before it moves (an unlabeled one shows 0). */
void	pw_metric_register(struct pw_metric *);

/* Counter += n.  vals: one per label name (NULL for an unlabeled
   metric); a NULL value is exposed as "". */
void	pw_metric_add(struct pw_metric *, uint64_t n,
	    const char *const *vals);
#define pw_metric_inc(m, vals)	pw_metric_add((m), 1, (vals))

/* Gauge = v. */
void	pw_metric_set(struct pw_metric *, int64_t v, const char *const *vals);

/* Histogram: one observation of ns nanoseconds. */
void	pw_metric_observe_ns(struct pw_metric *, uint64_t ns,
	    const char *const *vals);

/* The monotonic clock, and the histogram observation of the time since
   start (for "t0 = pw_metric_now(); ...; pw_metric_since(...)"). */
struct timespec pw_metric_now(void);
void	pw_metric_since(struct pw_metric *, const struct timespec *start,
	    const char *const *vals);

/* Append the text exposition (format 0.0.4) of every registered metric. */
void	pw_metrics_render(struct pw_buf *);

/*
 * Parse a listen address "HOST:PORT" ("127.0.0.1:9830", "[::1]:9830";
 * HOST is a numeric address).  Returns 0 with *host_r (malloc'd) and
 * *port_r, or -1 with *why_r.
 */
int	pw_metrics_listen_parse(const char *spec, char **host_r,
	    unsigned short *port_r, const char **why_r);

#endif
