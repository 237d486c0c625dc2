/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unsubd - postwarden-unsubd, the one-click unsubscribe endpoint (RFC
 * 8058; compliance-rules.md §7.4), on libmicrohttpd.
 *
 *   POST BASE/[ORG/]TOKEN  body List-Unsubscribe=One-Click: verify the
 *                          token, record the withdrawal, 200.
 *   GET  BASE/[ORG/]TOKEN  a page naming the organisation with a button
 *                          that POSTs; never changes state (link scanners
 *                          fetch links).
 *
 * RFC 8058 §3.2: no redirect, no cookies, no login, no confirmation step
 * on the POST.  Repeated POSTs are idempotent: a recipient whose
 * withdrawal is already in force gets the same 200 and nothing is
 * recorded.  Answers never depend on whether an address is on a list;
 * tokens that fail verification all get the same 404 page (§6: nothing
 * that helps forgery).  A store failure is a 503 with Retry-After, so the
 * mailbox provider retries.
 *
 * Settings come from postwarden.conf (unsubd_conf.h); the key ring is
 * "unsubscribe_keys", the one the milter mints under.  The socket, key
 * ring and TLS files are opened as root; the daemon then becomes "user"
 * and opens the store as that user.  libmicrohttpd runs a small thread
 * pool.
 *
 * Recording (group commit): a durable commit costs an fsync, a few
 * milliseconds, so committing each click alone caps the endpoint at a
 * few hundred withdrawals a second.  A POST whose token verifies is
 * first checked against the store by its pool thread (a withdrawal
 * already in force - a provider's retry, a double click - is answered
 * 200 at once, nothing recorded); a new one is queued and its connection
 * suspended (MHD_suspend_connection: the pool thread goes on serving
 * other connections).  One writer thread takes every withdrawal queued
 * so far (up to GROUP_MAX), writes them in one transaction, and only
 * after the commit returns resumes the connections, each of which then
 * answers: 200 once its withdrawal is durable, 503 with the store's
 * error if the commit failed.  While a group commits, the next one
 * queues, so the groups grow with the load and a lone click still
 * commits at once.
 *
 * Two simultaneous POSTs for one recipient record one row: the writer
 * is the only thread that records, drops a withdrawal that an earlier
 * one of its group covers, and checks again in the store any whose
 * recipient a group committed after that withdrawal's own check began
 * (the groups are numbered; the writer remembers the recipients of the
 * last RECENT withdrawals by hash, and checks again whenever it cannot
 * tell).
 *
 * Availability (issue 14): a client that opens many connections and
 * trickles a header line on each never goes idle long enough for
 * unsubd_timeout (libmicrohttpd's timeout is an idle timeout).  Two
 * limits keep the endpoint answering everyone else:
 *   - unsubd_client_connections: connections at once per client address,
 *     checked by the accept policy (the count is kept by the connection
 *     notifications; between the two, each pool thread may accept one
 *     more, so the limit can be exceeded by at most unsubd_threads - 1).
 *     A trusted proxy (unsubd_proxy_hosts) is not limited by its own
 *     address: its requests in progress are counted per forwarded client
 *     address instead, once the headers are read (the proxy buffers slow
 *     headers and bodies itself: conf/nginx-unsubd.conf).
 *   - unsubd_request_deadline: the longest a connection may take from
 *     its accept, or the end of its previous request, to the end of the
 *     next one.  The main thread sweeps the open connections every second
 *     and shuts overdue sockets down (shutdown(2), never close(2): the
 *     descriptor stays libmicrohttpd's, which then sees the end of the
 *     stream and closes the connection in its own thread).  This is safe
 *     because a connection leaves our list in its CLOSED notification,
 *     under the same lock, before libmicrohttpd closes its descriptor.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/cidr.h"
#include "base/config.h"
#include "base/daemon.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/metrics_http.h"
#include "base/util.h"
#include "compliance/consent_state.h"
#include "compliance/org.h"
#include "compliance/token.h"
#include "compliance/unsubd_conf.h"
#include "snapshot.h"
#include "store/store.h"
#include "unsubd_body.h"
#include "unsubd_http.h"

#define DEFAULT_CONFIG PW_SYSCONFDIR "/postwarden.conf"
#define RATE_SLOTS 4096	  /* clients tracked for the rate limit */
#define RETRY_AFTER "120" /* seconds, on 503 */
#define CONN_BUCKETS 1024 /* per-address connection counts */
#define GROUP_MAX 256	  /* withdrawals committed together, at most */
#define RECENT 4096	  /* recipients of the last groups, remembered */


struct rate_slot {
	unsigned char key[16]; /* IPv6 or IPv4-mapped */
	double tokens;
	double last; /* monotonic seconds */
};

/* Connections at once from one client address (a hash chain node; freed
   when the count drops to 0, so there are never more than the open
   connections). */
struct addr_count {
	struct addr_count *next;
	unsigned char key[16];
	unsigned int n;
};

/* Per connection (libmicrohttpd's socket context). */
struct conn {
	struct conn *prev, *next; /* ud.conns */
	int fd;
	double since;	/* monotonic: accept or end of the last request */
	bool counted;	/* in ud.counts under key */
	unsigned char key[16];
};

struct ud {
	struct pw_config *cfg;
	const struct pw_unsubd_settings *s;
	char *base; /* no trailing '/' */
	const struct pw_keyring *ring;	/* the snapshot's */
	const struct pw_orgs *orgs;	/* the snapshot's; NULL: names only */
	struct pw_cidr_list *proxies;
	struct pw_store *store; /* opened lazily, under store_lock */
	pthread_mutex_t store_lock;
	/* POSTs waiting for the writer (group commit), under q_lock */
	pthread_mutex_t q_lock;
	pthread_cond_t q_cond;
	struct req *q_head, **q_tail;
	bool q_stop;	 /* stopping: no more queued, the writer drains */
	uint64_t gen;	 /* groups committed so far, under q_lock */
	pthread_t writer;
	/* The writer's own: hashes of the recipients recorded by the
	   latest groups, oldest overwritten first, with their group. */
	struct recent {
		uint64_t gen, h;
	} recent[RECENT];
	size_t recent_next;
	uint64_t recent_lost; /* the newest group of an overwritten one */
	pthread_mutex_t rate_lock;
	struct rate_slot *rate;
	uint32_t rate_seed;
	pthread_mutex_t conn_lock; /* conns and counts */
	struct conn *conns;
	struct addr_count *counts[CONN_BUCKETS];
	unsigned long deadline_closed; /* for the log */
};

/* Per request. */
struct req {
	struct pw_buf body;
	bool too_big;
	time_t started;
	pw_time_us started_us;		/* the withdrawal's requested time */
	struct timespec t0;		/* for the latency histogram */
	bool counted; /* proxied: in ud.counts under key */
	unsigned char key[16];
	/* A one-click POST handed to the writer: what to record, then the
	   outcome (set by the writer before it resumes the connection). */
	struct req *qnext;
	struct MHD_Connection *conn;
	bool done;
	char *org, *rcpt, *list; /* list "": every list */
	char token_id[17];
	char client[INET6_ADDRSTRLEN + 8];
	uint64_t gen;	/* groups committed before its check began */
	int rc;		/* 1 recorded, 0 already in force, -1 store failure */
	int64_t id;	/* the suppression, when recorded */
	char *err;	/* the store's error, when -1 */
};

static struct pw_metric m_requests = PW_COUNTER(
    "postwarden_unsubd_requests_total", "HTTP requests answered, by "
    "method and status code", "method", "code");
static struct pw_metric m_latency = PW_HISTOGRAM(
    "postwarden_unsubd_request_duration_seconds", "Time from a request's "
    "headers to its answer (a POST includes recording the withdrawal)",
    NULL);
static struct pw_metric m_withdrawals = PW_COUNTER(
    "postwarden_withdrawals_total", "Consent withdrawals recorded (repeats "
    "of one in force are not), by organisation and channel", "organisation",
    "channel");

/* The request this thread is answering (MHD answers a connection on one
   thread): its start and method, for respond(). */
static _Thread_local struct timespec req_t0;
static _Thread_local const char *req_method;

static const char *config_path = DEFAULT_CONFIG;

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr,
		"usage: postwarden-unsubd [-c config] [-f] [-n] [-v]... "
		"[-V]\n"
		"  -c FILE  configuration (default %s)\n"
		"  -f       stay in the foreground\n"
		"  -n       check the configuration, key ring and TLS files, "
		"then exit\n"
		"  -v       more logging\n"
		"  -V       print the version and exit\n",
		DEFAULT_CONFIG);
	exit(EX_USAGE);
}

/* ---- configuration -------------------------------------------------- */

/* The snapshot: the shared services and the endpoint's own keys; the
   checks' keys in the same file are the milter's (postwarden -n). */
static struct pw_config_owner owners[2];

static struct pw_config *
load_config(const char *path)
{
	struct pw_buf errs = {0};
	struct pw_config *cfg;

	owners[0] = pw_services_owner;
	owners[1] = pw_unsubd_owner;
	cfg = pw_config_load(path, owners, 2, PW_CONFIG_PARTIAL, &errs);

	if (cfg == NULL)
		fprintf(stderr, "%s", errs.data ? errs.data : "cannot load\n");
	pw_buf_free(&errs);
	return cfg;
}

/* read_file - a whole PEM file, NUL-terminated */
static char *
read_file(const char *what, const char *path)
{
	struct pw_buf b = {0};
	char chunk[4096];
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		pw_fatal(EX_NOINPUT, "%s %s: %s", what, path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		pw_buf_add(&b, chunk, n);
	fclose(fp);
	pw_buf_add(&b, "", 1);
	return b.data;
}

static void
load_parts(struct ud *u)
{
	const struct pw_unsubd_settings *s = u->s;
	struct pw_buf errs = {0};
	const struct pw_services *svc = pw_services(u->cfg);

	/* The milter mints under these keys (pol_unsub). */
	if ((u->ring = svc->ring) == NULL)
		pw_fatal(EX_CONFIG,
			 "%s: unsubscribe_keys is not set: the "
			 "endpoint verifies tokens with that key ring",
			 u->cfg->path);
	u->orgs = svc->orgs;
	if (s->proxy_hosts != NULL)
		u->proxies = pw_cidr_parse(
		    s->proxy_hosts,
		    pw_config_where(u->cfg, "unsubd_proxy_hosts"), &errs);
	pw_buf_free(&errs);
	/* "/" is the root: URLs are /TOKEN */
	u->base = pw_strdup(strcmp(s->base_path, "/") == 0 ? "" : s->base_path);
	if (u->cfg->core.store == NULL)
		pw_fatal(EX_CONFIG, "%s: store is not set", u->cfg->path);
}

/* ---- rate limit: a token bucket per client ---------------------------- */

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* rate_ok - may this client make one more request?  Buckets hold one
   minute's allowance; a slot taken by another client is reset (the table
   forgets idle clients, never blocks a new one). */
static bool
rate_ok(struct ud *u, const unsigned char key[16])
{
	double rate = (double)u->s->rate_limit / 60.0, t = now_mono();
	struct rate_slot *r;
	uint32_t h = u->rate_seed;
	bool ok;
	int i;

	if (u->s->rate_limit == 0)
		return true;
	for (i = 0; i < 16; i++) /* FNV-1a, seeded */
		h = (h ^ key[i]) * 16777619u;
	pthread_mutex_lock(&u->rate_lock);
	r = &u->rate[h % RATE_SLOTS];
	if (memcmp(r->key, key, 16) != 0 || r->last == 0) {
		memcpy(r->key, key, 16);
		r->tokens = (double)u->s->rate_limit;
		r->last = t;
	}
	r->tokens += (t - r->last) * rate;
	if (r->tokens > (double)u->s->rate_limit)
		r->tokens = (double)u->s->rate_limit;
	r->last = t;
	if ((ok = r->tokens >= 1.0))
		r->tokens -= 1.0;
	pthread_mutex_unlock(&u->rate_lock);
	return ok;
}

/* ---- connections per client address ------------------------------------ */

/* sa_key - a socket address as 16 bytes (IPv4 mapped); false if neither */
static bool
sa_key(const struct sockaddr *sa, unsigned char key[16])
{
	memset(key, 0, 16);
	if (sa != NULL && sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)
				 ->sin6_addr,
		       16);
		return true;
	}
	if (sa != NULL && sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12,
		       &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		       4);
		return true;
	}
	return false;
}

static struct addr_count **
count_slot(struct ud *u, const unsigned char key[16])
{
	uint32_t h = u->rate_seed;
	struct addr_count **pp;
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	for (pp = &u->counts[h % CONN_BUCKETS]; *pp != NULL;
	     pp = &(*pp)->next)
		if (memcmp((*pp)->key, key, 16) == 0)
			break;
	return pp;
}

/* count_get - connections now open from key; conn_lock held */
static unsigned int
count_get(struct ud *u, const unsigned char key[16])
{
	struct addr_count *c = *count_slot(u, key);

	return c != NULL ? c->n : 0;
}

/* count_add - one more (delta 1) or one less (-1); conn_lock held */
static void
count_add(struct ud *u, const unsigned char key[16], int delta)
{
	struct addr_count **pp = count_slot(u, key), *c = *pp;

	if (c == NULL) {
		if (delta < 0)
			return;
		c = pw_calloc(1, sizeof(*c));
		memcpy(c->key, key, 16);
		*pp = c;
	}
	if (delta > 0)
		c->n++;
	else if (c->n > 0)
		c->n--;
	if (c->n == 0) {
		*pp = c->next;
		free(c);
	}
}

static bool
is_proxy(const struct ud *u, const struct sockaddr *sa)
{
	return sa != NULL && u->proxies != NULL && pw_cidr_match(u->proxies, sa);
}

/* ud_accept - the accept policy: refuse a client that already has
   unsubd_client_connections open (a trusted proxy is counted later, per
   forwarded address) */
static enum MHD_Result
ud_accept(void *cls, const struct sockaddr *sa, socklen_t len)
{
	struct ud *u = cls;
	unsigned char key[16];
	char text[INET6_ADDRSTRLEN];
	bool ok;

	(void)len;
	if (u->s->client_connections == 0 || is_proxy(u, sa) ||
	    !sa_key(sa, key))
		return MHD_YES;
	pthread_mutex_lock(&u->conn_lock);
	ok = count_get(u, key) < (unsigned int)u->s->client_connections;
	pthread_mutex_unlock(&u->conn_lock);
	if (!ok && pw_verbose > 0) {
		if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)(const void *)
					sa)
				       ->sin6_addr,
				  text, sizeof(text));
		else
			inet_ntop(AF_INET,
				  &((const struct sockaddr_in *)(const void *)sa)
				       ->sin_addr,
				  text, sizeof(text));
		pw_debug(NULL, 1,
			 "client=%s: refused: unsubd_client_connections "
			 "(%ld) open",
			 text, u->s->client_connections);
	}
	return ok ? MHD_YES : MHD_NO;
}

/* ud_connection - a connection opened or closed: the per-address count
   and the list the deadline sweep walks */
static void
ud_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
	      enum MHD_ConnectionNotificationCode toe)
{
	struct ud *u = cls;
	struct conn *c = *socket_context;
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa = NULL;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		c = pw_calloc(1, sizeof(*c));
		c->since = now_mono();
		c->fd = -1;
		if ((ci = MHD_get_connection_info(
			 mc, MHD_CONNECTION_INFO_CONNECTION_FD)) != NULL)
			c->fd = ci->connect_fd;
		if ((ci = MHD_get_connection_info(
			 mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS)) != NULL)
			sa = ci->client_addr;
		pthread_mutex_lock(&u->conn_lock);
		if (!is_proxy(u, sa) && sa_key(sa, c->key)) {
			count_add(u, c->key, 1);
			c->counted = true;
		}
		c->next = u->conns;
		if (u->conns != NULL)
			u->conns->prev = c;
		u->conns = c;
		pthread_mutex_unlock(&u->conn_lock);
		*socket_context = c;
		return;
	}
	if (c == NULL)
		return;
	/* CLOSED: before libmicrohttpd closes the descriptor. */
	pthread_mutex_lock(&u->conn_lock);
	if (c->counted)
		count_add(u, c->key, -1);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		u->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&u->conn_lock);
	free(c);
	*socket_context = NULL;
}

/* deadline_sweep - shut down the connections that have taken longer than
   unsubd_request_deadline over one request; returns how many */
static unsigned long
deadline_sweep(struct ud *u)
{
	double limit = now_mono() - (double)u->s->request_deadline;
	unsigned long n = 0;
	struct conn *c;

	pthread_mutex_lock(&u->conn_lock);
	for (c = u->conns; c != NULL; c = c->next) {
		if (c->fd < 0 || c->since > limit)
			continue;
		/* Once: libmicrohttpd closes it when it sees the end. */
		(void)shutdown(c->fd, SHUT_RDWR);
		c->since = now_mono() + 1e9;
		n++;
	}
	pthread_mutex_unlock(&u->conn_lock);
	return n;
}

/* proxied - is the peer a trusted proxy? */
static bool
proxied(struct ud *u, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	return ci != NULL && is_proxy(u, ci->client_addr);
}

/* client_key - the client address as 16 bytes, and as text in buf; from
   the last X-Forwarded-For entry when the peer is a trusted proxy (the
   entry our proxy appended; earlier ones are the client's to forge) */
static void
client_key(struct ud *u, struct MHD_Connection *conn, unsigned char key[16],
	   char *buf, size_t bufsz)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa = NULL;
	const char *xff, *last;
	char tmp[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	struct in_addr a4;
	size_t n;

	memset(key, 0, 16);
	snprintf(buf, bufsz, "unknown");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL)
		sa = ci->client_addr;
	if (sa != NULL && u->proxies != NULL && pw_cidr_match(u->proxies, sa) &&
	    (xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					       "X-Forwarded-For")) != NULL) {
		last = strrchr(xff, ',');
		last = last ? last + 1 : xff;
		last += strspn(last, " \t");
		n = strcspn(last, " \t");
		if (n < sizeof(tmp)) {
			memcpy(tmp, last, n);
			tmp[n] = '\0';
			if (inet_pton(AF_INET6, tmp, &a6) == 1) {
				memcpy(key, &a6, 16);
				snprintf(buf, bufsz, "%s", tmp);
				return;
			}
			if (inet_pton(AF_INET, tmp, &a4) == 1) {
				key[10] = key[11] = 0xff;
				memcpy(key + 12, &a4, 4);
				snprintf(buf, bufsz, "%s", tmp);
				return;
			}
		}
	}
	if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		memcpy(key, &s6->sin6_addr, 16);
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)bufsz);
	} else if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		key[10] = key[11] = 0xff;
		memcpy(key + 12, &s4->sin_addr, 4);
		inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)bufsz);
	}
}

/* ---- responses --------------------------------------------------------- */

static void
page_start(struct pw_buf *b, const char *title)
{
	pw_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
		       "<meta charset=\"utf-8\"><meta name=\"viewport\" "
		       "content=\"width=device-width\"><meta name=\"robots\" "
		       "content=\"noindex\"><title>");
	pw_unsubd_html_escape(b, title);
	pw_buf_puts(b, "</title></head><body style=\"font-family:sans-serif;"
		       "max-width:36em;margin:2em auto\"><h1>");
	pw_unsubd_html_escape(b, title);
	pw_buf_puts(b, "</h1>\n");
}

/* respond - queue a page (takes b).  Every answer: no cookie, no
   redirect, not cached, not framed, no Referer (the URL is a secret). */
static enum MHD_Result
respond(struct MHD_Connection *conn, unsigned int status, struct pw_buf *b)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	pw_buf_puts(b, "</body></html>\n");
	r = MHD_create_response_from_buffer(b->len, b->data,
					    MHD_RESPMEM_MUST_FREE);
	b->data = NULL;
	b->len = b->cap = 0;
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(
	    r, "Content-Security-Policy",
	    "default-src 'none'; style-src 'unsafe-inline'; "
	    "form-action 'self'; frame-ancestors 'none'");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, "Allow", "GET, HEAD, POST");
	if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(r, "Retry-After", RETRY_AFTER);
	if (status == MHD_HTTP_TOO_MANY_REQUESTS)
		MHD_add_response_header(r, "Retry-After", "60");
	if (pw_metrics_enabled()) {
		char code[8];

		snprintf(code, sizeof(code), "%u", status);
		pw_metric_inc(&m_requests, PW_LV(req_method, code));
		pw_metric_since(&m_latency, &req_t0, NULL);
	}
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
respond_simple(struct MHD_Connection *conn, unsigned int status,
	       const char *title, const char *text)
{
	struct pw_buf b = {0};

	page_start(&b, title);
	pw_buf_puts(&b, "<p>");
	pw_unsubd_html_escape(&b, text);
	pw_buf_puts(&b, "</p>\n");
	return respond(conn, status, &b);
}

/* The one answer for every token that does not verify (unknown key,
   forged, wrong organisation): nothing that tells them apart. */
static enum MHD_Result
respond_invalid(struct MHD_Connection *conn)
{
	return respond_simple(
	    conn, MHD_HTTP_NOT_FOUND, "Link not valid",
	    "This unsubscribe link is not valid.  Please use the unsubscribe "
	    "link or address in a recent message from the sender.");
}

static const char *
org_display(const struct ud *u, const char *org)
{
	const struct pw_org *o = u->orgs ? pw_orgs_by_name(u->orgs, org) : NULL;

	return o != NULL && o->business_name != NULL ? o->business_name : org;
}

static enum MHD_Result
page_get(struct ud *u, struct MHD_Connection *conn, const struct pw_token *t)
{
	struct pw_buf b = {0};
	const char *name = org_display(u, t->org);
	char *title = pw_asprintf("Unsubscribe from %s", name);

	page_start(&b, title);
	free(title);
	pw_buf_puts(&b, "<p>Press the button to stop receiving ");
	if (t->list[0] != '\0') {
		pw_buf_puts(&b, "the &ldquo;");
		pw_unsubd_html_escape(&b, t->list);
		pw_buf_puts(&b, "&rdquo; messages");
	} else {
		pw_buf_puts(&b, "commercial messages");
	}
	pw_buf_puts(&b, " from ");
	pw_unsubd_html_sentence_end(&b, name);
	/* A token of list mail: the first button withdraws that list (as
	   the one-click POST does), the second every list. */
	pw_buf_puts(&b, "</p>\n<form method=\"post\"><input type=\"hidden\" "
			"name=\"List-Unsubscribe\" value=\"One-Click\"><button "
			"type=\"submit\">");
	pw_buf_puts(&b, t->list[0] != '\0' ? "Unsubscribe from this list" :
					     "Unsubscribe");
	pw_buf_puts(&b, "</button></form>\n");
	if (t->list[0] != '\0') {
		pw_buf_puts(
		    &b,
		    "<form method=\"post\"><input type=\"hidden\" "
		    "name=\"List-Unsubscribe\" value=\"One-Click\"><input "
		    "type=\"hidden\" name=\"scope\" value=\"all\"><button "
		    "type=\"submit\">Unsubscribe from all commercial messages "
		    "from ");
		pw_unsubd_html_escape(&b, name);
		pw_buf_puts(&b, "</button></form>\n");
	}
	return respond(conn, MHD_HTTP_OK, &b);
}

/* ---- recording ------------------------------------------------------------
 */

/* sanitise - printable ASCII only, at most 200 bytes, for a log line */
static void
sanitise(char *out, size_t outsz, const char *in)
{
	size_t i;

	for (i = 0; in != NULL && in[i] != '\0' && i + 1 < outsz && i < 200;
	     i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f && in[i] != '"') ? in[i]
									 : '?';
	out[i] = '\0';
}

/* covered - does an earlier withdrawal of the group, to be recorded,
   already cover g[i] (same recipient; every list, or the same list)? */
static bool
covered(struct req **g, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (g[j]->rc == 1 && strcmp(g[j]->org, g[i]->org) == 0 &&
		    strcmp(g[j]->rcpt, g[i]->rcpt) == 0 &&
		    (g[j]->list[0] == '\0' ||
		     strcmp(g[j]->list, g[i]->list) == 0))
			return true;
	return false;
}

/* fail_all - the outcome -1, with the store's error, for every request
   of g */
static void
fail_all(struct req **g, size_t n, const char *why)
{
	size_t i;

	for (i = 0; i < n; i++) {
		g[i]->rc = -1;
		g[i]->err = pw_strdup(why);
	}
}

/* get_store - the store, opened on first use; NULL (logged, *why_r
   malloc'd) if it cannot be opened now */
static struct pw_store *
get_store(struct ud *u, char **why_r)
{
	struct pw_store_opts so = PW_STORE_OPTS_DEFAULT;
	struct pw_store *st;
	char *err = NULL;

	so.password_file = u->cfg->core.store_password_file;
	pthread_mutex_lock(&u->store_lock);
	if (u->store == NULL &&
	    pw_store_open(u->cfg->core.store, &so, &u->store, &err) < 0) {
		pw_syslog(LOG_ERR, "store %s: %s", u->cfg->core.store,
			  err ? err : "cannot open");
		*why_r = err ? err : pw_strdup("cannot open");
		u->store = NULL;
	}
	st = u->store;
	pthread_mutex_unlock(&u->store_lock);
	return st;
}

/* in_force - is a withdrawal covering rq's already in force?  1 yes, 0
   no, -1 store failure (rq->err set) */
static int
in_force(struct ud *u, struct req *rq)
{
	struct pw_consent_events ev;
	struct pw_consent_result cr;
	struct pw_store *st;
	char *why = NULL;
	int rc;

	if ((st = get_store(u, &why)) == NULL) {
		rq->err = why;
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	rc = pw_store_consent_check(st, rq->org, rq->rcpt,
				    rq->list[0] ? rq->list : NULL, time(NULL),
				    &cr, &ev);
	pw_consent_events_free(&ev);
	if (rc < 0) {
		rq->err = pw_strdup(pw_store_strerror());
		return -1;
	}
	return rc == 0 && cr.state == PW_CSTATE_WITHDRAWN;
}

/* rcpt_hash - FNV-1a of (organisation, recipient) */
static uint64_t
rcpt_hash(const struct req *rq)
{
	uint64_t h = 14695981039346656037u;
	const char *p;

	for (p = rq->org; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	h = (h ^ 0xff) * 1099511628211u;
	for (p = rq->rcpt; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	return h;
}

/* recorded_since - may a group committed after rq's check began have
   recorded a withdrawal for its recipient?  (Writer only.) */
static bool
recorded_since(struct ud *u, const struct req *rq)
{
	uint64_t h = rcpt_hash(rq);
	size_t i, k;

	if (u->recent_lost > rq->gen)
		return true; /* forgotten: cannot tell */
	for (k = 1; k <= RECENT; k++) {
		i = (u->recent_next + RECENT - k) % RECENT;
		if (u->recent[i].gen <= rq->gen)
			break; /* older ones: seen by its check */
		if (u->recent[i].h == h)
			return true;
	}
	return false;
}

/* remember - rq's recipient, recorded by group gen (writer only) */
static void
remember(struct ud *u, const struct req *rq, uint64_t gen)
{
	struct recent *r = &u->recent[u->recent_next];

	if (r->gen > u->recent_lost)
		u->recent_lost = r->gen;
	r->gen = gen;
	r->h = rcpt_hash(rq);
	u->recent_next = (u->recent_next + 1) % RECENT;
}

/* record_group - the withdrawals of g, checked by their pool threads,
   in one transaction; each is dropped if an earlier one of g covers it,
   or, checked again, if one recorded since covers it.  Sets each
   request's rc (and id, err). */
static void
record_group(struct ud *u, struct req **g, size_t n)
{
	struct pw_suppression sup[GROUP_MAX];
	struct req *w[GROUP_MAX];
	struct pw_store *st;
	char *why = NULL;
	uint64_t gen;
	size_t i, k = 0;
	int rc;

	if ((st = get_store(u, &why)) == NULL) {
		fail_all(g, n, why);
		free(why);
		return;
	}
	for (i = 0; i < n; i++)
		g[i]->rc = 1;
	for (i = 0; i < n; i++) {
		if (covered(g, i)) {
			g[i]->rc = 0; /* a double click in one group */
			continue;
		}
		if (recorded_since(u, g[i]) && (rc = in_force(u, g[i])) != 0) {
			g[i]->rc = rc > 0 ? 0 : -1;
			continue;
		}
		memset(&sup[k], 0, sizeof(sup[k]));
		sup[k].org = g[i]->org;
		sup[k].address = g[i]->rcpt;
		sup[k].list = g[i]->list;
		sup[k].reason = "one_click_post";
		sup[k].requested_at = g[i]->started;
		sup[k].requested_us = g[i]->started_us;
		sup[k].token_id = g[i]->token_id;
		w[k++] = g[i];
	}
	if (k == 0)
		return;
	if (pw_store_suppression_add_batch(st, sup, k) < 0) {
		fail_all(w, k, pw_store_strerror());
		return;
	}
	pthread_mutex_lock(&u->q_lock);
	gen = ++u->gen;
	pthread_mutex_unlock(&u->q_lock);
	for (i = 0; i < k; i++) {
		w[i]->id = sup[i].id;
		remember(u, w[i], gen);
		pw_metric_inc(&m_withdrawals, PW_LV(w[i]->org, "one_click"));
	}
}

/* writer - the thread that records: takes what is queued, records it as
   one group, then lets each waiting connection answer */
static void *
writer(void *arg)
{
	struct ud *u = arg;
	struct req *g[GROUP_MAX], *rq;
	size_t i, n;

	pthread_mutex_lock(&u->q_lock);
	for (;;) {
		while (u->q_head == NULL && !u->q_stop)
			pthread_cond_wait(&u->q_cond, &u->q_lock);
		if (u->q_head == NULL)
			break; /* stopping, and nothing is left */
		for (n = 0; n < GROUP_MAX && (rq = u->q_head) != NULL; n++) {
			u->q_head = rq->qnext;
			g[n] = rq;
		}
		if (u->q_head == NULL)
			u->q_tail = &u->q_head;
		pthread_mutex_unlock(&u->q_lock);
		record_group(u, g, n);
		/* After the commit.  A resumed request may be answered and
		   freed at once: nothing of g[i] is touched after its
		   resume. */
		for (i = 0; i < n; i++) {
			g[i]->done = true;
			MHD_resume_connection(g[i]->conn);
		}
		pthread_mutex_lock(&u->q_lock);
	}
	pthread_mutex_unlock(&u->q_lock);
	return NULL;
}

/* answer_unavailable - 503: the store cannot record now */
static enum MHD_Result
answer_unavailable(struct MHD_Connection *conn)
{
	return respond_simple(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
			      "Please try again",
			      "The request could not be recorded "
			      "just now.  Please try again in a few minutes.");
}

/* post_answer - a POST whose withdrawal the writer has dealt with: the
   log line and the page (called when its connection is resumed) */
static enum MHD_Result
post_answer(struct ud *u, struct MHD_Connection *conn, struct req *rq)
{
	const char *list = rq->list;
	const char *name = org_display(u, rq->org);
	struct pw_buf b = {0};
	char ua[256];

	sanitise(ua, sizeof(ua),
		 MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					     MHD_HTTP_HEADER_USER_AGENT));
	if (rq->rc < 0) {
		pw_syslog(LOG_WARNING,
			  "unsubscribe org=%s list=%s token=%s "
			  "client=%s: store: %s: answering 503",
			  rq->org, list[0] ? list : "*", rq->token_id,
			  rq->client, rq->err ? rq->err : "failed");
		return answer_unavailable(conn);
	}
	if (rq->rc > 0)
		pw_syslog(LOG_INFO,
			  "unsubscribe org=%s list=%s token=%s "
			  "client=%s ua=\"%s\" suppression=%" PRId64
			  " delay=%lds",
			  rq->org, list[0] ? list : "*", rq->token_id,
			  rq->client, ua, rq->id,
			  (long)(time(NULL) - rq->started));
	else
		pw_syslog(LOG_INFO,
			  "unsubscribe org=%s list=%s token=%s "
			  "client=%s ua=\"%s\" already in force",
			  rq->org, list[0] ? list : "*", rq->token_id,
			  rq->client, ua);
	/* The same page whether or not anything was recorded. */
	page_start(&b, "Unsubscribed");
	pw_buf_puts(&b, "<p>You will receive no more ");
	if (list[0] != '\0') {
		pw_buf_puts(&b, "&ldquo;");
		pw_unsubd_html_escape(&b, list);
		pw_buf_puts(&b, "&rdquo; messages");
	} else {
		pw_buf_puts(&b, "commercial messages");
	}
	pw_buf_puts(&b, " from ");
	pw_unsubd_html_sentence_end(&b, name);
	pw_buf_puts(&b, "  This took effect immediately.</p>\n");
	return respond(conn, MHD_HTTP_OK, &b);
}

static enum MHD_Result
do_post(struct ud *u, struct MHD_Connection *conn, struct req *rq,
	const struct pw_token *t, const char *client)
{
	const char *list = t->list;
	bool stopping;
	int flags, rc;

	/* libmicrohttpd's post processor, ours where it differs (there) */
	flags = pw_unsubd_body(
	    conn, (const unsigned char *)(rq->body.data ? rq->body.data : ""),
	    rq->body.len);
	if (flags < 0 || !(flags & PW_UNSUBD_ONECLICK))
		return respond_simple(conn, MHD_HTTP_BAD_REQUEST, "Bad request",
				      "Expected the body "
				      "List-Unsubscribe=One-Click (RFC 8058).");
	if (flags & PW_UNSUBD_SCOPE_ALL)
		list = "";
	rq->org = pw_strdup(t->org);
	rq->rcpt = pw_strdup(t->rcpt);
	rq->list = pw_strdup(list);
	snprintf(rq->token_id, sizeof(rq->token_id), "%s", t->id);
	snprintf(rq->client, sizeof(rq->client), "%s", client);
	rq->conn = conn;
	/* Checked here, in parallel with the other pool threads; the
	   writer checks again only what may have changed since. */
	pthread_mutex_lock(&u->q_lock);
	rq->gen = u->gen;
	pthread_mutex_unlock(&u->q_lock);
	if ((rc = in_force(u, rq)) != 0) {
		rq->rc = rc > 0 ? 0 : -1;
		return post_answer(u, conn, rq);
	}
	pthread_mutex_lock(&u->q_lock);
	if (!(stopping = u->q_stop)) {
		/* Suspended before it is queued: the writer may resume it
		   as soon as it is in the queue, and resuming a connection
		   that is not suspended is undefined.  (The writer never
		   holds q_lock while it resumes.) */
		MHD_suspend_connection(conn);
		*u->q_tail = rq;
		u->q_tail = &rq->qnext;
		pthread_cond_signal(&u->q_cond);
	}
	pthread_mutex_unlock(&u->q_lock);
	if (stopping) /* shutting down: the writer has finished */
		return answer_unavailable(conn);
	return MHD_YES;
}

/* ---- the request handler ---------------------------------------------- */

/* handle - a complete request (body read, if any) */
static enum MHD_Result
handle(struct ud *u, struct MHD_Connection *conn, const char *url, bool post,
       struct req *rq, const char *client)
{
	struct pw_unsubd_target tg;
	struct pw_token t;
	enum pw_token_status st;
	enum MHD_Result ret;
	char *org = NULL;

	if (pw_unsubd_path_parse(url, u->base, &tg) < 0)
		return respond_simple(conn, MHD_HTTP_NOT_FOUND, "Not found",
				      "There is nothing here.");
	if (tg.org != NULL)
		org = pw_strndup(tg.org, tg.org_len);
	st = pw_token_verify(u->ring, tg.token, tg.token_len, time(NULL),
			     u->s->token_lifetime, org, &t);
	free(org);
	switch (st) {
	case PW_TOKEN_OK:
		break;
	case PW_TOKEN_EXPIRED:
		/* Authentic but past unsubd_token_lifetime: point to a fresh
		   message rather than fail silently (§7.3). */
		ret = respond_simple(
		    conn, MHD_HTTP_GONE, "Link expired",
		    "This unsubscribe link has expired.  Please use the "
		    "unsubscribe link or address in a recent message from "
		    "the sender, or reply to it asking to be removed.");
		pw_token_clear(&t);
		return ret;
	case PW_TOKEN_MALFORMED:
		pw_debug(NULL, 1, "client=%s: malformed token", client);
		return respond_simple(conn, MHD_HTTP_BAD_REQUEST,
				      "Link not valid",
				      "This unsubscribe link is not valid.");
	default:
		pw_debug(NULL, 1, "client=%s: token: %s", client,
			 pw_token_status_str(st));
		pw_token_clear(&t);
		return respond_invalid(conn);
	}
	ret = post ? do_post(u, conn, rq, &t, client) : page_get(u, conn, &t);
	pw_token_clear(&t);
	return ret;
}

static enum MHD_Result
ud_access(void *cls, struct MHD_Connection *conn, const char *url,
	  const char *method, const char *version, const char *upload,
	  size_t *upload_size, void **con_cls)
{
	struct ud *u = cls;
	struct req *rq = *con_cls;
	unsigned char key[16];
	char client[INET6_ADDRSTRLEN + 8];
	const char *cl;
	bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	char *end;

	(void)version;
	/* A label from a fixed set: the method is the client's text. */
	req_method = post ? "POST" : strcmp(method, "GET") == 0 ? "GET" :
	    strcmp(method, "HEAD") == 0 ? "HEAD" : "other";
	req_t0 = rq != NULL ? rq->t0 : pw_metric_now();
	if (rq != NULL && rq->done)
		return post_answer(u, conn, rq); /* resumed by the writer */
	if (rq == NULL) {
		/* First call: headers only.  Refuse early what needs no
		   body, before reading one. */
		client_key(u, conn, key, client, sizeof(client));
		if (!rate_ok(u, key))
			return respond_simple(conn, MHD_HTTP_TOO_MANY_REQUESTS,
					      "Too many requests",
					      "Please try again later.");
		if (u->s->client_connections > 0 && proxied(u, conn)) {
			/* Behind the proxy: requests in progress per
			   forwarded address (the accept policy saw only
			   the proxy). */
			bool ok;

			pthread_mutex_lock(&u->conn_lock);
			ok = count_get(u, key) <
			     (unsigned int)u->s->client_connections;
			if (ok)
				count_add(u, key, 1);
			pthread_mutex_unlock(&u->conn_lock);
			if (!ok)
				return respond_simple(
				    conn, MHD_HTTP_TOO_MANY_REQUESTS,
				    "Too many requests",
				    "Please try again later.");
			rq = pw_calloc(1, sizeof(*rq));
			rq->counted = true;
			memcpy(rq->key, key, 16);
			*con_cls = rq;
		}
		if (!post && strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
		    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
			return respond_simple(
			    conn, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "Method not allowed",
			    "Use GET to see the page or POST to unsubscribe.");
		if (!post)
			return handle(u, conn, url, false, rq, client);
		cl = MHD_lookup_connection_value(
		    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && (strtoull(cl, &end, 10) >
				       (unsigned long long)u->s->max_body ||
				   end == cl))
			return respond_simple(conn, MHD_HTTP_CONTENT_TOO_LARGE,
					      "Request too large",
					      "The request body is too large.");
		if (rq == NULL) {
			rq = pw_calloc(1, sizeof(*rq));
			*con_cls = rq;
		}
		rq->started_us = pw_now_us();
		rq->started = pw_time_us_sec(rq->started_us);
		rq->t0 = req_t0;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		/* Chunked bodies have no Content-Length: count here. */
		if (!rq->too_big &&
		    rq->body.len + *upload_size > (size_t)u->s->max_body) {
			rq->too_big = true;
			pw_buf_free(&rq->body);
		}
		if (!rq->too_big)
			pw_buf_add(&rq->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_big)
		return respond_simple(conn, MHD_HTTP_CONTENT_TOO_LARGE,
				      "Request too large",
				      "The request body is too large.");
	client_key(u, conn, key, client, sizeof(client));
	return handle(u, conn, url, true, rq, client);
}

static void
ud_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct ud *u = cls;
	struct req *rq = *con_cls;
	const union MHD_ConnectionInfo *ci;
	struct conn *c;

	(void)toe;
	/* The deadline runs from here for the next request (keep-alive). */
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	pthread_mutex_lock(&u->conn_lock);
	if (ci != NULL && (c = ci->socket_context) != NULL &&
	    c->since < now_mono())
		c->since = now_mono();
	if (rq != NULL && rq->counted)
		count_add(u, rq->key, -1);
	pthread_mutex_unlock(&u->conn_lock);
	if (rq != NULL) {
		pw_buf_free(&rq->body);
		free(rq->org);
		free(rq->rcpt);
		free(rq->list);
		free(rq->err);
		free(rq);
		*con_cls = NULL;
	}
}

static void ud_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
ud_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char *msg = pw_vasprintf(fmt, ap);
	size_t n = strlen(msg);

	(void)cls;
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	pw_syslog(LOG_WARNING, "libmicrohttpd: %s", msg);
	free(msg);
}

/* ---- process ------------------------------------------------------------- */

static int
open_listener(const struct pw_unsubd_settings *s)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (void *)&ss;
	struct sockaddr_in6 *s6 = (void *)&ss;
	socklen_t len;
	int fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s->listen_address, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)s->listen_port);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, s->listen_address, &s6->sin6_addr) ==
		   1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)s->listen_port);
		len = sizeof(*s6);
	} else {
		pw_fatal(EX_CONFIG, "unsubd_listen_address = %s: not numeric",
			 s->listen_address);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		pw_fatal(EX_OSERR, "socket: %s", strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
				 sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		pw_fatal(EX_OSERR, "bind %s port %ld: %s", s->listen_address,
			 s->listen_port, strerror(errno));
	if (listen(fd, 128) < 0)
		pw_fatal(EX_OSERR, "listen: %s", strerror(errno));
	return fd;
}

static struct MHD_Daemon *
start_mhd(struct ud *u, int fd, char *cert, char *key)
{
	const struct pw_unsubd_settings *s = u->s;
	/* suspend/resume: a POST waits for its group's commit without
	   holding a pool thread (unsubd.c head) */
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL},
					{MHD_OPTION_END, 0, NULL},
					{MHD_OPTION_END, 0, NULL}};

	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
		flags |= MHD_USE_EPOLL;
	if (cert != NULL) {
		flags |= MHD_USE_TLS;
		tls[0] =
		    (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cert};
		tls[1] =
		    (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key};
	}
	/* The logger first: MHD logs through the default one until then. */
	return MHD_start_daemon(
	    flags, 0, ud_accept, u, ud_access, u, MHD_OPTION_EXTERNAL_LOGGER,
	    ud_mhd_log, u, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)s->threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)s->max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)s->timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
	    MHD_OPTION_NOTIFY_COMPLETED, ud_completed, u,
	    MHD_OPTION_NOTIFY_CONNECTION, ud_connection, u, MHD_OPTION_ARRAY, tls,
	    MHD_OPTION_END);
}

int
main(int argc, char **argv)
{
	struct ud u;
	struct MHD_Daemon *d;
	bool foreground = false, check = false;
	char *cert = NULL, *key = NULL;
	struct timespec tick = {1, 0};
	unsigned long swept;
	sigset_t set;
	int ch, fd, i, sig;

	while ((ch = getopt(argc, argv, "c:fhnvV")) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'n':
			check = true;
			break;
		case 'v':
			pw_verbose++;
			break;
		case 'V':
			printf("postwarden-unsubd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	memset(&u, 0, sizeof(u));
	if ((u.cfg = load_config(config_path)) == NULL)
		return EX_CONFIG;
	u.s = pw_config_settings(u.cfg, pw_unsubd_owner.name);
	pw_log_init("postwarden-unsubd",
		    check || u.cfg->core.log == PW_LOG_STDERR,
		    pw_log_facility(u.cfg->core.log_facility));
	load_parts(&u);
	if (u.s->tls_cert != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			pw_fatal(
			    EX_CONFIG,
			    "%s: unsubd_tls_cert: this "
			    "libmicrohttpd has no TLS support; put a TLS proxy "
			    "in front (conf/nginx-unsubd.conf)",
			    pw_config_where(u.cfg, "unsubd_tls_cert"));
		cert = read_file("unsubd_tls_cert", u.s->tls_cert);
		key = read_file("unsubd_tls_key", u.s->tls_key);
	}
	if (check) {
		printf("%s: ok: listen %s port %ld%s, base %s/TOKEN\n",
		       u.cfg->path, u.s->listen_address, u.s->listen_port,
		       cert ? " (TLS)" : "", u.base);
		/* Freed for LeakSanitizer (the sanitizer pass of
		   scripts/test.sh runs -n). */
		free(cert);
		free(key);
		free(u.base);
		pw_cidr_free(&u.proxies);
		pw_config_release(&u.cfg);
		return 0;
	}
	fd = open_listener(u.s);
	if (!foreground)
		pw_daemonize();
	pw_write_pid(u.s->pid_file, "unsubd_pid_file");
	pw_drop_privileges(u.cfg, NULL);
	{
		/* a store of another schema version: refuse to start */
		char *err = NULL;

		if (pw_store_startup_check(u.cfg->core.store,
		    u.cfg->core.store_password_file, &err) < 0)
			pw_fatal(EX_CONFIG, "store: %s", err);
	}
	if (u.s->metrics_listen != NULL) {
		char *err = NULL;

		if (pw_metrics_http_start(u.s->metrics_listen, &err) < 0)
			pw_fatal(EX_OSERR, "%s: %s", pw_config_where(u.cfg,
			    "unsubd_metrics_listen"), err);
		pw_metric_register(&m_requests);
		pw_metric_register(&m_withdrawals);
	}
	pthread_mutex_init(&u.store_lock, NULL);
	pthread_mutex_init(&u.q_lock, NULL);
	pthread_cond_init(&u.q_cond, NULL);
	u.q_tail = &u.q_head;
	pthread_mutex_init(&u.rate_lock, NULL);
	pthread_mutex_init(&u.conn_lock, NULL);
	u.rate = pw_calloc(RATE_SLOTS, sizeof(*u.rate));
	u.rate_seed = (uint32_t)getpid() ^ (uint32_t)time(NULL) ^ 2166136261u;

	/* Signals are taken by sigwait in this thread only. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((errno = pthread_create(&u.writer, NULL, writer, &u)) != 0)
		pw_fatal(EX_OSERR, "cannot start the writer thread: %s",
			 strerror(errno));
	if ((d = start_mhd(&u, fd, cert, key)) == NULL)
		pw_fatal(EX_SOFTWARE, "cannot start the HTTP server");
	pw_syslog(LOG_INFO, "listening on %s port %ld%s, base %s/TOKEN",
		  u.s->listen_address, u.s->listen_port, cert ? " (TLS)" : "",
		  u.base);
	for (;;) {
		/* Every second: the request deadline (unsubd.c head). */
		if ((sig = sigtimedwait(&set, NULL, &tick)) < 0) {
			if ((swept = deadline_sweep(&u)) > 0) {
				u.deadline_closed += swept;
				pw_syslog(LOG_INFO,
					  "closed %lu connection%s over "
					  "unsubd_request_deadline (%lds); "
					  "%lu so far",
					  swept, swept == 1 ? "" : "s",
					  u.s->request_deadline,
					  u.deadline_closed);
			}
			continue;
		}
		if (sig == SIGHUP) {
			pw_syslog(LOG_INFO, "SIGHUP: restart to apply "
					    "configuration changes");
			continue;
		}
		break;
	}
	pw_syslog(LOG_INFO, "stopping");
	/* Every queued withdrawal is recorded and answered first:
	   libmicrohttpd must not be stopped with suspended connections. */
	pthread_mutex_lock(&u.q_lock);
	u.q_stop = true;
	pthread_cond_signal(&u.q_cond);
	pthread_mutex_unlock(&u.q_lock);
	pthread_join(u.writer, NULL);
	MHD_stop_daemon(d);
	close(fd);
	for (i = 0; i < CONN_BUCKETS; i++)
		while (u.counts[i] != NULL) {
			struct addr_count *next = u.counts[i]->next;

			free(u.counts[i]);
			u.counts[i] = next;
		}
	pw_store_close(&u.store);
	pw_cidr_free(&u.proxies);
	free(u.rate);
	free(u.base);
	free(cert);
	free(key);
	if (u.s->pid_file != NULL)
		(void)unlink(u.s->pid_file);
	pw_config_release(&u.cfg);
	return 0;
}
