/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns - the one shared caching resolver of the daemon, on libunbound.
 *
 * Every DNS lookup that SPF, DKIM and DMARC make goes through here (the
 * libraries are fed through their hooks, see dns_hooks.h), so one cache
 * serves them all and a temporary failure is reported the same way to
 * each.  Results distinguish an answer, NXDOMAIN, NODATA and a temporary
 * failure (SERVFAIL, REFUSED, any other RCODE, timeout, resolver error),
 * as RFC 7208 section 5 and RFC 7489 section 6.6.3 require; callers must
 * never turn PW_DNS_TEMPFAIL into a "fail".
 *
 * Timeouts: libunbound's synchronous ub_resolve() has no per-query
 * timeout (unbound may retry a dead forwarder for a long time).  Queries
 * are therefore sent with ub_resolve_async(); a dispatcher thread (started
 * at the first query, so the resolver may be built before the daemon
 * forks) calls ub_process() when ub_fd() is readable, and the asking
 * thread waits on a condition variable until its deadline.  A query
 * that misses it is cancelled and reported as a temporary failure.
 *
 * Cache: libunbound caches, but every lookup through it costs a round
 * trip to its worker thread (~70 us measured; an SPF check with one
 * include: 141 us).  Answers, NXDOMAIN and NODATA are therefore also kept
 * here for their TTL (at most an hour); temporary failures never are.
 * libspf2's own cache layer was measured too (6.5 us per SPF check) but
 * keeps TRY_AGAIN answers, which would stretch one SERVFAIL over later
 * messages, so it is not used.
 *
 * Limits: each message carries a pw_dns_budget (a query cap and an
 * absolute deadline for a whole stage).  Past the cap a query is not sent
 * and reported as PW_DNS_LIMIT, which callers treat like RFC 7208's
 * lookup limits (a permanent error), never as "fail".
 *
 * A pw_dns is thread-safe and reference counted.
 */
#ifndef PW_DNS_H
#define PW_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define PW_DNS_T_A	1
#define PW_DNS_T_PTR	12
#define PW_DNS_T_MX	15
#define PW_DNS_T_TXT	16
#define PW_DNS_T_AAAA	28

#define PW_DNS_DEFAULT_TIMEOUT_MS	5000
#define PW_DNS_DEFAULT_MAX_QUERIES	50

enum pw_dns_status {
	PW_DNS_ANSWER,		/* NOERROR with records of the type asked */
	PW_DNS_NODATA,		/* NOERROR, the name has no such records */
	PW_DNS_NXDOMAIN,	/* the name does not exist */
	PW_DNS_TEMPFAIL,	/* SERVFAIL, other RCODE, timeout: retry later */
	PW_DNS_LIMIT,		/* per-message cap reached; nothing was sent */
};

/* Per message (or per tool run): how much DNS work may still be done. */
struct pw_dns_budget {
	unsigned int	max;		/* queries allowed; 0 = no cap */
	unsigned int	used;		/* queries asked so far */
	unsigned int	tempfails;	/* of them, temporary failures */
	unsigned int	limited;	/* refused because of max */
	struct timespec	deadline;	/* CLOCK_MONOTONIC; 0 = none */
};

struct pw_dns_result {
	enum pw_dns_status	 status;
	const char		*why;		/* static text for TEMPFAIL */
	int			 rcode;		/* DNS RCODE; -1 if none */
	int			 ttl;
	bool			 secure;	/* DNSSEC validated */
	size_t			 n;		/* records (ANSWER) */
	const unsigned char	*const *data;	/* rdata, wire format */
	const int		*len;
	const unsigned char	*packet;	/* the whole reply, or NULL */
	size_t			 packet_len;
	void			*ub;		/* struct ub_result, private */
	void			*cached;	/* cache entry, private */
};

struct pw_dns;

/* Build a resolver.  nameservers is "IP[@PORT], ..." (forwarders) or NULL
   for the system resolvers (/etc/resolv.conf).  timeout_ms bounds each
   query.  Returns NULL and a malloc'd *error_r on a bad list. */
struct pw_dns *pw_dns_new(const char *nameservers, long timeout_ms,
		    char **error_r);
struct pw_dns *pw_dns_ref(struct pw_dns *);
/* Drop one reference; the last one stops the dispatcher and frees. */
void	pw_dns_free(struct pw_dns **);

/* The process-wide shared resolver for these settings: a new reference
   to the current one when nameservers and timeout are unchanged (the
   cache survives a configuration reload), else a new resolver that
   becomes the shared one.  Called from the policies' init(). */
struct pw_dns *pw_dns_shared(const char *nameservers, long timeout_ms,
		    char **error_r);

/* Can name be asked at all?  false for an empty name, an empty label,
   a label over 63 octets, a name over 253 octets (255 on the wire; one
   final dot allowed) or a backslash (libunbound would read it as an
   escape, so the name asked would not be the name given). */
bool	pw_dns_name_ok(const char *name);

/* One lookup.  budget may be NULL (no cap).  Returns the status, which
   is also res_r->status; free the result with pw_dns_result_free().
   A name that cannot be a DNS query (pw_dns_name_ok() false) is not
   sent and comes back as PW_DNS_NXDOMAIN with why "not a DNS name" and
   no packet: such a name cannot exist, which is not a network failure
   (RFC 7208 sections 4.3 and 4.8: no match; a DKIM key or a DMARC
   record under it does not exist).  It is not charged to the budget. */
enum pw_dns_status pw_dns_query(struct pw_dns *, struct pw_dns_budget *,
		    const char *name, int type, struct pw_dns_result *res_r);
void	pw_dns_result_free(struct pw_dns_result *);

/* TXT records of name, each one's character-strings concatenated
   without separators (RFC 7208 section 3.3, RFC 6376 section 3.6.2.2).
   *txt_r is a NULL-terminated malloc'd vector (pw_strv_free) on
   PW_DNS_ANSWER, else NULL.  *why_r gets a static reason on TEMPFAIL. */
enum pw_dns_status pw_dns_txt(struct pw_dns *, struct pw_dns_budget *,
		    const char *name, char ***txt_r, const char **why_r);

/* Budget helpers: a cap and a deadline of ms from now (0: none). */
void	pw_dns_budget_init(struct pw_dns_budget *, unsigned int max,
	    long ms);
/* The budget the library hooks charge (thread-local): set it around a
   call into libspf2 or libopendkim, restore the returned old one after. */
struct pw_dns_budget *pw_dns_budget_bind(struct pw_dns_budget *);
struct pw_dns_budget *pw_dns_budget_current(void);

const char *pw_dns_status_name(enum pw_dns_status);

/* --- for the policies ------------------------------------------------ */

/* Time allowed for all DNS of one SMTP stage: below Postfix's
   milter_command_timeout (30 s) with room for the rest of the work. */
#define PW_DNS_STAGE_MS	20000

struct pw_config;

/* The shared resolver for a snapshot: dns_nameservers and the per-query
   timeout; for policies' init().  NULL and *error_r ("FILE:LINE: ...")
   on a bad dns_nameservers. */
struct pw_dns *pw_dns_config(const struct pw_config *, char **error_r);

/* Counters for logs and benchmarks: queries sent to libunbound (cache
   misses), temporary failures. */
void	pw_dns_stats(struct pw_dns *, unsigned long *queries_r,
	    unsigned long *tempfails_r);
/* Lookups answered from our own cache. */
unsigned long pw_dns_cache_hits(struct pw_dns *);

#endif
