/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns - the shared caching resolver (libunbound) with per-query deadlines
 * and per-message budgets.  See dns.h for the contract.
 *
 * Threads: any number of milter threads call pw_dns_query().  Each query
 * is a struct dnsq shared between the asking thread and the libunbound
 * callback, which runs in our dispatcher thread.  Both sides hold
 * dns->lock while they touch it; whoever sees the other side gone frees
 * it.  ub_cancel() takes only libunbound's own locks, never ours, and
 * libunbound calls callbacks with none of its locks held, so calling it
 * with dns->lock held cannot deadlock.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unbound.h>

#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "dns/dns.h"
#include "dns/dns_cache.h"

#define DNS_RCODE_NOERROR	0
#define DNS_RCODE_NXDOMAIN	3

struct dnsq {
	pthread_cond_t	 cond;
	bool		 done;		/* callback ran */
	bool		 abandoned;	/* asker gave up; callback frees */
	int		 err;		/* libunbound error, 0 if none */
	struct ub_result *res;
	struct dnsq	*prev, *next;	/* dns->pending, for pw_dns_free */
	struct pw_dns	*dns;
};

struct pw_dns {
	struct ub_ctx	*ub;
	char		*spec;		/* nameservers as given, "" = system */
	long		 timeout_ms;
	pthread_mutex_t	 lock;		/* everything below, and dnsq */
	int		 refcount;
	bool		 started;	/* dispatcher running */
	pthread_t	 thread;
	int		 wake[2];	/* write a byte to stop the dispatcher */
	struct dnsq	*pending;	/* abandoned queries still in unbound */
	unsigned long	 queries;
	unsigned long	 tempfails;
	struct pw_dns_cache *cache;	/* dns_cache.h */
};

static __thread struct pw_dns_budget *bound_budget;

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pw_dns *shared;

static int check_forwarder(const char *, char **);
static int dns_start(struct pw_dns *);
static void *dns_dispatch(void *);
static void dns_callback(void *, int, struct ub_result *);
static void dnsq_free(struct dnsq *);
static void deadline_for(const struct pw_dns *,
    const struct pw_dns_budget *, struct timespec *);

/* check_forwarder - "IP" or "IP@PORT"; libunbound would accept less */
static int
check_forwarder(const char *s, char **error_r)
{
	const char *at = strrchr(s, '@');
	char *ip = at ? pw_strndup(s, (size_t)(at - s)) : pw_strdup(s);
	unsigned char sa[sizeof(struct in6_addr)];
	int ok = inet_pton(AF_INET, ip, sa) == 1 ||
	    inet_pton(AF_INET6, ip, sa) == 1;

	free(ip);
	if (!ok) {
		*error_r = pw_asprintf("dns_nameservers: \"%s\": not an IP "
		    "address (expected IP[@PORT])", s);
		return -1;
	}
	if (at != NULL) {
		char *end;
		long port;

		errno = 0;
		port = strtol(at + 1, &end, 10);
		if (at[1] == '\0' || *end != '\0' || errno || port < 1 ||
		    port > 65535) {
			*error_r = pw_asprintf("dns_nameservers: \"%s\": bad "
			    "port (expected IP[@PORT])", s);
			return -1;
		}
	}
	return 0;
}

/* libunbound 1.17's default local zones (unbound.conf(5), "local-zone"),
   "test." apart; the 64-127.100.in-addr.arpa ones are added in the loop */
static const char *const default_zones[] = {
	"localhost.", "127.in-addr.arpa.",
	"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "ip6.arpa.",
	"home.arpa.", "resolver.arpa.", "service.arpa.", "onion.",
	"invalid.", "10.in-addr.arpa.", "16.172.in-addr.arpa.",
	"17.172.in-addr.arpa.", "18.172.in-addr.arpa.", "19.172.in-addr.arpa.",
	"20.172.in-addr.arpa.", "21.172.in-addr.arpa.", "22.172.in-addr.arpa.",
	"23.172.in-addr.arpa.", "24.172.in-addr.arpa.", "25.172.in-addr.arpa.",
	"26.172.in-addr.arpa.", "27.172.in-addr.arpa.", "28.172.in-addr.arpa.",
	"29.172.in-addr.arpa.", "30.172.in-addr.arpa.", "31.172.in-addr.arpa.",
	"168.192.in-addr.arpa.", "0.in-addr.arpa.", "254.169.in-addr.arpa.",
	"2.0.192.in-addr.arpa.", "100.51.198.in-addr.arpa.",
	"113.0.203.in-addr.arpa.", "255.255.255.255.in-addr.arpa.",
	"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "ip6.arpa.",
	"d.f.ip6.arpa.", "8.e.f.ip6.arpa.", "9.e.f.ip6.arpa.",
	"a.e.f.ip6.arpa.", "b.e.f.ip6.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa.",
	NULL
};

struct pw_dns *
pw_dns_new(const char *nameservers, long timeout_ms, char **error_r)
{
	struct pw_dns *dns;
	char **v = NULL;
	size_t n = 0;
	int rc;

	*error_r = NULL;
	if (nameservers != NULL && *nameservers != '\0') {
		v = pw_split_list(nameservers, &n);
		for (size_t i = 0; i < n; i++)
			if (check_forwarder(v[i], error_r) < 0) {
				pw_strv_free(&v);
				return NULL;
			}
	}
	dns = pw_calloc(1, sizeof(*dns));
	dns->spec = pw_strdup(nameservers ? nameservers : "");
	dns->timeout_ms = timeout_ms > 0 ? timeout_ms :
	    PW_DNS_DEFAULT_TIMEOUT_MS;
	dns->refcount = 1;
	dns->wake[0] = dns->wake[1] = -1;
	pthread_mutex_init(&dns->lock, NULL);
	dns->cache = pw_dns_cache_new();
	if ((dns->ub = ub_ctx_create()) == NULL) {
		*error_r = pw_strdup("libunbound: cannot create a context");
		goto fail;
	}
	/* A worker thread, not a forked process, does the resolving. */
	if ((rc = ub_ctx_async(dns->ub, 1)) != 0 ||
	    (rc = ub_ctx_set_option(dns->ub, "do-not-query-localhost:",
	    "no")) != 0) {
		*error_r = pw_asprintf("libunbound: %s", ub_strerror(rc));
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		if ((rc = ub_ctx_set_fwd(dns->ub, v[i])) != 0) {
			*error_r = pw_asprintf("dns_nameservers: \"%s\": %s",
			    v[i], ub_strerror(rc));
			goto fail;
		}
	if (n == 0 && (rc = ub_ctx_resolvconf(dns->ub, NULL)) != 0) {
		*error_r = pw_asprintf("cannot use the system resolvers "
		    "(/etc/resolv.conf): %s; set dns_nameservers",
		    rc == UB_READFILE ? "unreadable" : ub_strerror(rc));
		goto fail;
	}
	/*
	 * libunbound answers NXDOMAIN itself for the RFC 6761 "test." zone;
	 * let such names reach the forwarders (our tests use them; real
	 * resolvers answer NXDOMAIN anyway).  This must come last: it
	 * finalizes the context, and a forwarder set after it is silently
	 * dropped.
	 */
	(void)ub_ctx_zone_remove(dns->ub, "test.");
	/*
	 * With dns_nameservers every query goes to the admin's servers:
	 * libunbound's other default local zones (RFC 6303 and RFC 6761:
	 * the private and documentation reverse zones, e.g. 168.192.in-
	 * addr.arpa and 8.b.d.0.1.0.0.2.ip6.arpa) would answer NXDOMAIN
	 * themselves, so the PTR names an SPF "ptr" or %{p} needs for a
	 * client on a private network could never be found.
	 */
	if (n > 0) {
		char z[32];

		for (size_t i = 0; default_zones[i] != NULL; i++)
			(void)ub_ctx_zone_remove(dns->ub, default_zones[i]);
		for (int i = 64; i <= 127; i++) {	/* RFC 6598 */
			snprintf(z, sizeof(z), "%d.100.in-addr.arpa.", i);
			(void)ub_ctx_zone_remove(dns->ub, z);
		}
	}
	pw_strv_free(&v);
	return dns;
fail:
	pw_strv_free(&v);
	if (dns->ub != NULL)
		ub_ctx_delete(dns->ub);
	pthread_mutex_destroy(&dns->lock);
	pw_dns_cache_free(&dns->cache);
	free(dns->spec);
	free(dns);
	return NULL;
}

struct pw_dns *
pw_dns_ref(struct pw_dns *dns)
{
	pthread_mutex_lock(&dns->lock);
	dns->refcount++;
	pthread_mutex_unlock(&dns->lock);
	return dns;
}

void
pw_dns_free(struct pw_dns **dnsp)
{
	struct pw_dns *dns = *dnsp;
	struct dnsq *q, *nq;
	int left;

	if (dns == NULL)
		return;
	*dnsp = NULL;
	pthread_mutex_lock(&dns->lock);
	left = --dns->refcount;
	pthread_mutex_unlock(&dns->lock);
	if (left > 0)
		return;
	if (dns->started) {
		ssize_t w;

		do
			w = write(dns->wake[1], "x", 1);
		while (w < 0 && errno == EINTR);
		pthread_join(dns->thread, NULL);
		close(dns->wake[0]);
		close(dns->wake[1]);
	}
	/* Nobody waits any more: the callbacks of these will never run. */
	ub_ctx_delete(dns->ub);
	for (q = dns->pending; q != NULL; q = nq) {
		nq = q->next;
		dnsq_free(q);
	}
	pw_dns_cache_free(&dns->cache);
	pthread_mutex_destroy(&dns->lock);
	free(dns->spec);
	free(dns);
}

struct pw_dns *
pw_dns_shared(const char *nameservers, long timeout_ms, char **error_r)
{
	struct pw_dns *dns, *old = NULL;
	const char *spec = nameservers ? nameservers : "";

	*error_r = NULL;
	pthread_mutex_lock(&shared_lock);
	if (shared != NULL && strcmp(shared->spec, spec) == 0 &&
	    shared->timeout_ms == timeout_ms) {
		dns = pw_dns_ref(shared);
		pthread_mutex_unlock(&shared_lock);
		return dns;
	}
	if ((dns = pw_dns_new(nameservers, timeout_ms, error_r)) != NULL) {
		old = shared;
		shared = pw_dns_ref(dns);
	}
	pthread_mutex_unlock(&shared_lock);
	/* The snapshots still using the old one hold their own refs. */
	pw_dns_free(&old);
	return dns;
}

/* dns_start - the dispatcher thread, at the first query (after any fork) */
static int
dns_start(struct pw_dns *dns)
{
	if (dns->started)
		return 0;
	if (pipe(dns->wake) < 0) {
		pw_syslog(LOG_ERR, "dns: pipe: %s", strerror(errno));
		return -1;
	}
	(void)fcntl(dns->wake[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(dns->wake[1], F_SETFD, FD_CLOEXEC);
	if (pthread_create(&dns->thread, NULL, dns_dispatch, dns) != 0) {
		pw_syslog(LOG_ERR, "dns: cannot start the dispatcher thread");
		close(dns->wake[0]);
		close(dns->wake[1]);
		return -1;
	}
	dns->started = true;
	return 0;
}

/* dns_dispatch - deliver libunbound's answers as they arrive */
static void *
dns_dispatch(void *arg)
{
	struct pw_dns *dns = arg;
	struct pollfd p[2];

	p[0].fd = ub_fd(dns->ub);
	p[0].events = POLLIN;
	p[1].fd = dns->wake[0];
	p[1].events = POLLIN;
	for (;;) {
		p[0].revents = p[1].revents = 0;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pw_syslog(LOG_ERR, "dns: poll: %s", strerror(errno));
			sleep(1);
			continue;
		}
		if (p[1].revents != 0)
			return NULL;
		if (p[0].revents != 0)
			(void)ub_process(dns->ub);
	}
}

/* dns_callback - libunbound's answer for one query (dispatcher thread) */
static void
dns_callback(void *arg, int err, struct ub_result *res)
{
	struct dnsq *q = arg;
	struct pw_dns *dns = q->dns;

	pthread_mutex_lock(&dns->lock);
	if (q->abandoned) {
		if (q->prev != NULL)
			q->prev->next = q->next;
		else
			dns->pending = q->next;
		if (q->next != NULL)
			q->next->prev = q->prev;
		pthread_mutex_unlock(&dns->lock);
		if (res != NULL)
			ub_resolve_free(res);
		dnsq_free(q);
		return;
	}
	q->err = err;
	q->res = res;
	q->done = true;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&dns->lock);
}

static void
dnsq_free(struct dnsq *q)
{
	if (q->res != NULL)
		ub_resolve_free(q->res);
	pthread_cond_destroy(&q->cond);
	free(q);
}

/* deadline_for - now + timeout, or the budget's deadline if earlier */
static void
deadline_for(const struct pw_dns *dns, const struct pw_dns_budget *b,
    struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += dns->timeout_ms / 1000;
	ts->tv_nsec += (dns->timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
	if (b != NULL && (b->deadline.tv_sec != 0 ||
	    b->deadline.tv_nsec != 0) &&
	    (b->deadline.tv_sec < ts->tv_sec ||
	    (b->deadline.tv_sec == ts->tv_sec &&
	    b->deadline.tv_nsec < ts->tv_nsec)))
		*ts = b->deadline;
}

/* classify - RFC 7208 section 5 / RFC 7489 section 6.6.3 outcomes */
static void
classify(struct pw_dns_result *r, int err, struct ub_result *ub)
{
	r->ub = ub;
	if (err != 0 || ub == NULL) {
		r->status = PW_DNS_TEMPFAIL;
		r->why = err ? ub_strerror(err) : "resolver error";
		return;
	}
	r->rcode = ub->rcode;
	r->ttl = ub->ttl;
	r->secure = ub->secure != 0;
	r->packet = ub->answer_packet;
	r->packet_len = ub->answer_len > 0 ? (size_t)ub->answer_len : 0;
	if (ub->rcode == DNS_RCODE_NXDOMAIN) {
		r->status = PW_DNS_NXDOMAIN;
	} else if (ub->rcode != DNS_RCODE_NOERROR) {
		r->status = PW_DNS_TEMPFAIL;
		r->why = ub->rcode == 2 ? "SERVFAIL" : ub->rcode == 5 ?
		    "REFUSED" : "DNS error";
	} else if (ub->bogus) {
		r->status = PW_DNS_TEMPFAIL;	/* DNSSEC says: not trusted */
		r->why = "DNSSEC bogus";
	} else if (!ub->havedata) {
		r->status = PW_DNS_NODATA;
	} else {
		r->status = PW_DNS_ANSWER;
		while (ub->data[r->n] != NULL)
			r->n++;
		r->data = (const unsigned char *const *)ub->data;
		r->len = ub->len;
	}
}

/* dnsq_new - a query record, its condition variable on the monotonic
   clock (the deadlines are CLOCK_MONOTONIC) */
static struct dnsq *
dnsq_new(struct pw_dns *dns)
{
	struct dnsq *q = pw_calloc(1, sizeof(*q));
	pthread_condattr_t ca;

	q->dns = dns;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	return q;
}

/* ask - send one query and wait for it until the deadline; 0 with the
   answer classified into r, or -1 (temporary failure, r->why set) */
static int
ask(struct pw_dns *dns, const char *name, int type,
    const struct timespec *until, struct pw_dns_result *r)
{
	struct dnsq *q = dnsq_new(dns);
	int id, rc;

	pthread_mutex_lock(&dns->lock);
	dns->queries++;
	rc = dns_start(dns);
	pthread_mutex_unlock(&dns->lock);
	if (rc < 0) {
		dnsq_free(q);
		r->why = "resolver unavailable";
		return -1;
	}
	if ((rc = ub_resolve_async(dns->ub, name, type, 1, q, dns_callback,
	    &id)) != 0) {
		dnsq_free(q);
		r->why = ub_strerror(rc);
		return -1;
	}
	pthread_mutex_lock(&dns->lock);
	while (!q->done)
		if (pthread_cond_timedwait(&q->cond, &dns->lock, until) ==
		    ETIMEDOUT && !q->done)
			break;
	if (!q->done) {
		/* Too late: cancel, or leave it to the callback to free. */
		if (ub_cancel(dns->ub, id) == 0) {
			dnsq_free(q);
		} else {
			q->abandoned = true;
			q->next = dns->pending;
			if (q->next != NULL)
				q->next->prev = q;
			dns->pending = q;
		}
		pthread_mutex_unlock(&dns->lock);
		r->why = "timeout";
		return -1;
	}
	pthread_mutex_unlock(&dns->lock);
	classify(r, q->err, q->res);
	q->res = NULL;			/* now owned by r */
	dnsq_free(q);
	return r->status == PW_DNS_TEMPFAIL ? -1 : 0;
}

bool
pw_dns_name_ok(const char *name)
{
	size_t n, label = 0;

	if (name == NULL || (n = strlen(name)) == 0)
		return false;
	if (name[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '\\')
			return false;
		if (name[i] != '.') {
			if (++label > 63)
				return false;
			continue;
		}
		if (label == 0)
			return false;	/* empty label: leading or ".." */
		label = 0;
	}
	return label > 0;		/* "x.." ends in an empty label */
}
static struct pw_metric m_dns_time = PW_HISTOGRAM(
    "postwarden_dns_query_duration_seconds", "DNS queries sent to the "
    "resolver (cache misses), by outcome", "status");
static struct pw_metric m_dns_hits = PW_COUNTER(
    "postwarden_dns_cache_hits_total", "DNS lookups answered from "
    "postwarden's own cache", NULL);
static struct pw_metric m_dns_lookups = PW_COUNTER(
    "postwarden_dns_lookups_total", "DNS lookups (cache hits included), "
    "by outcome", "status");

enum pw_dns_status
pw_dns_query(struct pw_dns *dns, struct pw_dns_budget *b, const char *name,
    int type, struct pw_dns_result *r)
{
	enum pw_dns_status st;
	struct timespec until, t0;

	memset(r, 0, sizeof(*r));
	r->rcode = -1;
	/*
	 * A name that cannot be put into a query cannot exist: answer
	 * NXDOMAIN ourselves.  libunbound would refuse it with an error,
	 * which reads as a network failure (temperror), and the sender
	 * chooses names like %{l}._spf.example: it must not be able to turn
	 * a receiver's verdict into a 451 that way (issue 13).
	 */
	if (!pw_dns_name_ok(name)) {
		r->status = PW_DNS_NXDOMAIN;
		r->rcode = DNS_RCODE_NXDOMAIN;
		r->why = "not a DNS name";
		return r->status;
	}
	if (b != NULL && b->max != 0 && b->used >= b->max) {
		b->limited++;
		r->status = PW_DNS_LIMIT;
		r->why = "too many DNS queries for one message";
		return r->status;
	}
	if (b != NULL)
		b->used++;
	if (pw_dns_cache_get(dns->cache, name, type, r)) {
		pw_metric_inc(&m_dns_hits, NULL);
		pw_metric_inc(&m_dns_lookups,
		    PW_LV(pw_dns_status_name(r->status)));
		return r->status;
	}
	deadline_for(dns, b, &until);
	t0 = pw_metric_now();
	if (ask(dns, name, type, &until, r) == 0) {
		pw_dns_cache_put(dns->cache, name, type, r);
		st = r->status;
		pw_metric_since(&m_dns_time, &t0, PW_LV(pw_dns_status_name(st)));
		pw_metric_inc(&m_dns_lookups, PW_LV(pw_dns_status_name(st)));
		return st;
	}
	pw_metric_since(&m_dns_time, &t0, PW_LV("tempfail"));
	pw_metric_inc(&m_dns_lookups, PW_LV("tempfail"));
	r->status = PW_DNS_TEMPFAIL;
	pthread_mutex_lock(&dns->lock);
	dns->tempfails++;
	pthread_mutex_unlock(&dns->lock);
	if (b != NULL)
		b->tempfails++;
	return r->status;
}

void
pw_dns_result_free(struct pw_dns_result *r)
{
	if (r->ub != NULL)
		ub_resolve_free(r->ub);
	pw_dns_cache_release(r->cached);
	memset(r, 0, sizeof(*r));
}

enum pw_dns_status
pw_dns_txt(struct pw_dns *dns, struct pw_dns_budget *b, const char *name,
    char ***txt_r, const char **why_r)
{
	struct pw_dns_result r;
	enum pw_dns_status st;
	char **v;

	*txt_r = NULL;
	*why_r = NULL;
	st = pw_dns_query(dns, b, name, PW_DNS_T_TXT, &r);
	if (st != PW_DNS_ANSWER) {
		*why_r = r.why;
		pw_dns_result_free(&r);
		return st;
	}
	v = pw_calloc(r.n + 1, sizeof(*v));
	for (size_t i = 0; i < r.n; i++) {
		const unsigned char *d = r.data[i];
		size_t len = r.len[i] > 0 ? (size_t)r.len[i] : 0, p = 0;
		char *o = v[i] = pw_malloc(len + 1);

		/* rdata is a sequence of <length><bytes> character-strings */
		while (p < len) {
			size_t l = d[p++];

			if (l > len - p)
				l = len - p;
			memcpy(o, d + p, l);
			o += l;
			p += l;
		}
		*o = '\0';
	}
	pw_dns_result_free(&r);
	*txt_r = v;
	return PW_DNS_ANSWER;
}

void
pw_dns_budget_init(struct pw_dns_budget *b, unsigned int max, long ms)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
	if (ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &b->deadline);
		b->deadline.tv_sec += ms / 1000;
		b->deadline.tv_nsec += (ms % 1000) * 1000000L;
		if (b->deadline.tv_nsec >= 1000000000L) {
			b->deadline.tv_sec++;
			b->deadline.tv_nsec -= 1000000000L;
		}
	}
}

struct pw_dns_budget *
pw_dns_budget_bind(struct pw_dns_budget *b)
{
	struct pw_dns_budget *old = bound_budget;

	bound_budget = b;
	return old;
}

struct pw_dns_budget *
pw_dns_budget_current(void)
{
	return bound_budget;
}

const char *
pw_dns_status_name(enum pw_dns_status st)
{
	switch (st) {
	case PW_DNS_ANSWER:
		return "answer";
	case PW_DNS_NODATA:
		return "nodata";
	case PW_DNS_NXDOMAIN:
		return "nxdomain";
	case PW_DNS_TEMPFAIL:
		return "tempfail";
	case PW_DNS_LIMIT:
		return "limit";
	}
	return "unknown";
}

void
pw_dns_stats(struct pw_dns *dns, unsigned long *queries_r,
    unsigned long *tempfails_r)
{
	pthread_mutex_lock(&dns->lock);
	*queries_r = dns->queries;
	*tempfails_r = dns->tempfails;
	pthread_mutex_unlock(&dns->lock);
}

/* The core keys dns_timeout (seconds) and dns_max_queries. */
#define DNS_CONF_TIMEOUT_MS(cfg)	((cfg)->core.dns_timeout * 1000)
#define DNS_CONF_MAX_QUERIES(cfg)	((cfg)->core.dns_max_queries)

struct pw_dns *
pw_dns_config(const struct pw_config *cfg, char **error_r)
{
	struct pw_dns *dns;
	char *err = NULL;

	dns = pw_dns_shared(cfg->core.dns_nameservers,
	    DNS_CONF_TIMEOUT_MS(cfg), &err);
	if (dns == NULL) {
		*error_r = pw_asprintf("%s: %s",
		    pw_config_where(cfg, "dns_nameservers"), err);
		free(err);
	}
	return dns;
}

unsigned long
pw_dns_cache_hits(struct pw_dns *dns)
{
	return pw_dns_cache_nhits(dns->cache);
}
