/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns_hooks - the libspf2 DNS layer and the libopendkim resolver
 * callbacks on the shared resolver.  See dns_hooks.h.
 *
 * libspf2 cache layer: not used.  unbound already caches for all three
 * libraries; libspf2's SPF_dns_cache keeps TRY_AGAIN answers as well,
 * which would stretch one transient SERVFAIL over later messages.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opendkim/dkim.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "base/util.h"
#include "dns/dns.h"
#include "dns/dns_hooks.h"
#include "parsers/spf_record.h"

/* --- libspf2 ---------------------------------------------------------- */

/* spf_add - one rdata item into rr->rr[*cnt], in libspf2's layout */
static void
spf_add(SPF_dns_rr_t *rr, int *cnt, ns_type t, const unsigned char *d,
    size_t len)
{
	char name[NS_MAXDNAME];
	size_t p = 0;
	char *o;

	switch (t) {
	case ns_t_a:
		if (len == 4 && SPF_dns_rr_buf_realloc(rr, *cnt, 4) == 0)
			memcpy(&rr->rr[(*cnt)++]->a, d, 4);
		break;
	case ns_t_aaaa:
		if (len == 16 && SPF_dns_rr_buf_realloc(rr, *cnt, 16) == 0)
			memcpy(&rr->rr[(*cnt)++]->aaaa, d, 16);
		break;
	case ns_t_txt:
	case ns_t_spf:
		/* Join the <len><bytes> strings (RFC 7208 section 3.3). */
		if (SPF_dns_rr_buf_realloc(rr, *cnt, len + 1) != 0)
			break;
		o = rr->rr[*cnt]->txt;
		while (p < len) {
			size_t l = d[p++];

			if (l > len - p)
				l = len - p;
			memcpy(o, d + p, l);
			o += l;
			p += l;
		}
		*o = '\0';
		(*cnt)++;
		break;
	case ns_t_mx:
	case ns_t_ptr:
		/* libunbound hands out uncompressed wire-format names. */
		p = t == ns_t_mx ? 2 : 0;
		if (len <= p || ns_name_ntop(d + p, name, sizeof(name)) < 0)
			break;
		if (SPF_dns_rr_buf_realloc(rr, *cnt, strlen(name) + 1) != 0)
			break;
		strcpy(t == ns_t_mx ? rr->rr[*cnt]->mx : rr->rr[*cnt]->ptr,
		    name);
		(*cnt)++;
		break;
	default:
		break;
	}
}

/*
 * spf_truncate - RFC 7208 section 7.3: an expanded domain name longer
 * than 253 octets loses labels from the left until it fits.  libspf2
 * 1.2.10 does not do it (the suite's domain-name-truncation test); a
 * name that needs it can only come from a macro, so doing it here for
 * every SPF query is the same thing.  Returns name or a pointer into it.
 */
static const char *
spf_truncate(const char *name)
{
	size_t n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	while (n > 253) {
		const char *dot = memchr(name, '.', n);

		if (dot == NULL)
			break;	/* one huge label: not a DNS name */
		n -= (size_t)(dot + 1 - name);
		name = dot + 1;
	}
	return name;
}

static __thread struct pw_spf_acct *bound_acct;

struct pw_spf_acct *
pw_dns_spf_bind(struct pw_spf_acct *a)
{
	struct pw_spf_acct *old = bound_acct;

	bound_acct = a;
	return old;
}

void
pw_dns_spf_acct_free(struct pw_spf_acct *a)
{
	for (unsigned int i = 0; i < a->nhosts; i++)
		free(a->hosts[i]);
	a->nhosts = 0;
	free(a->last_spf);
	a->last_spf = NULL;
	free(a->exp_domain);
	free(a->exp_target);
	a->exp_domain = a->exp_target = NULL;
}

/*
 * spf_exp - libspf2 asks for an explanation (a name under
 * PW_SPF_EXP_LABEL, spf_record.h): keep its current domain and target for
 * spf_verify, which fetches the text itself.  Nothing is asked here, so a
 * failed fetch cannot touch the result (RFC 7208 6.2).  The last one
 * wins: an include's is asked before the record that decides.
 */
static bool
spf_exp(struct pw_spf_acct *a, const char *name)
{
	size_t el = strlen(PW_SPF_EXP_LABEL), sl = strlen(PW_SPF_EXP_SEP);
	const char *d, *sep;

	if (strncasecmp(name, PW_SPF_EXP_LABEL, el) != 0 || name[el] != '.')
		return false;
	d = name + el + 1;
	for (sep = d; (sep = strchr(sep, '.')) != NULL; sep++)
		if (strncasecmp(sep + 1, PW_SPF_EXP_SEP, sl) == 0 &&
		    sep[sl + 1] == '.')
			break;
	free(a->exp_domain);
	free(a->exp_target);
	a->exp_domain = a->exp_target = NULL;
	if (sep != NULL) {
		a->exp_domain = pw_strndup(d, (size_t)(sep - d));
		a->exp_target = pw_strdup(spf_truncate(sep + sl + 2));
	}
	return true;
}

/* acct_host - 0: not a name from an MX or PTR answer, 1: from MX, 2:
   from PTR */
static int
acct_host(const struct pw_spf_acct *a, const char *name)
{
	for (unsigned int i = 0; i < a->nhosts; i++)
		if (strcasecmp(a->hosts[i], name) == 0)
			return a->from_ptr[i] ? 2 : 1;
	return 0;
}

/* acct_term - one more lookup term; false (and permerror) past 10 */
static bool
acct_term(struct pw_spf_acct *a)
{
	if (++a->terms <= 10)
		return true;
	if (a->permerror == NULL)
		a->permerror = "more than 10 DNS lookups (RFC 7208 4.6.4)";
	return false;
}

/* spf_check_txt - libspf2 1.2.10 takes a record as it comes: check and
   rewrite each SPF record of a TXT answer (spf_record.h) */
static void
spf_check_txt(SPF_dns_rr_t *rr, const unsigned char *d, size_t len,
    struct pw_spf_acct *a)
{
	char *raw = pw_malloc(len + 1), *fixed = NULL;
	size_t p = 0, o = 0;
	const char *why;

	/* the joined strings, NULs and all (a NUL must not hide the rest) */
	while (p < len) {
		size_t l = d[p++];

		if (l > len - p)
			l = len - p;
		memcpy(raw + o, d + p, l);
		o += l;
		p += l;
	}
	/* An SPF record for libspf2 is what comes before a NUL: "v=spf1\0
	   -all" is one too (and an error), not a record that says nothing. */
	if (!pw_spf_record_is_spf(raw, o) &&
	    !pw_spf_record_is_spf(raw, strnlen(raw, o))) {
		free(raw);
		return;
	}
	why = pw_spf_record_check(raw, o, a->ip->ss_family, &fixed);
	free(raw);
	if (why != NULL) {
		if (a->permerror == NULL)
			a->permerror = why;
		/* libspf2 still gets a record; the result is permerror */
		fixed = pw_strdup("v=spf1 ?all");
	}
	if (SPF_dns_rr_buf_realloc(rr, rr->num_rr, strlen(fixed) + 1) == 0)
		strcpy(rr->rr[rr->num_rr]->txt, fixed);
	free(fixed);
}

/* spf_any_addr - the client's own address as the one answer (a name
   under PW_SPF_ANY_LABEL: "any address of this family", spf_record.h) */
static void
spf_any_addr(SPF_dns_rr_t *rr, int *cnt, ns_type t,
    const struct sockaddr_storage *ip)
{
	if (t == ns_t_a && ip->ss_family == AF_INET)
		spf_add(rr, cnt, t, (const unsigned char *)
		    &((const struct sockaddr_in *)ip)->sin_addr, 4);
	else if (t == ns_t_aaaa && ip->ss_family == AF_INET6)
		spf_add(rr, cnt, t, (const unsigned char *)
		    &((const struct sockaddr_in6 *)ip)->sin6_addr, 16);
}

static SPF_dns_rr_t *
spf_lookup(SPF_dns_server_t *srv, const char *domain, ns_type t,
    int should_cache)
{
	struct pw_spf_acct *a = bound_acct;
	struct pw_dns_result r;
	SPF_dns_rr_t *rr;
	enum pw_dns_status st;
	const char *name = domain;
	size_t al = strlen(PW_SPF_ANY_LABEL);
	bool any = false, counted = false;
	int herr, cnt = 0, host = 0;

	(void)should_cache;
	if (a != NULL && strncasecmp(name, PW_SPF_ANY_LABEL, al) == 0 &&
	    name[al] == '.') {
		any = true;
		name += al + 1;
	}
	if (a != NULL && spf_exp(a, domain))
		return SPF_dns_rr_new_init(srv, domain, t, 0, HOST_NOT_FOUND);
	if (a != NULL) {
		/* RFC 7208 4.6.4, counted here: libspf2 1.2.10 counts per
		   record only and has no void lookup limit. */
		bool ok = true;

		switch (t) {
		case ns_t_spf:
		case ns_t_txt:
			/* libspf2 asks type SPF first, then TXT for the same
			   name: one record fetch.  The first is the checked
			   domain's own, the others include: or redirect=. */
			if (t == ns_t_txt && a->last_spf != NULL &&
			    strcasecmp(a->last_spf, name) == 0)
				break;
			free(a->last_spf);
			a->last_spf = t == ns_t_spf ? pw_strdup(name) : NULL;
			if (++a->records > 1)
				ok = acct_term(a);
			break;
		case ns_t_a:
		case ns_t_aaaa:
			if ((host = acct_host(a, domain)) != 0)
				break;
			counted = true;
			ok = acct_term(a);
			break;
		default:	/* mx, ptr */
			counted = true;
			ok = acct_term(a);
			break;
		}
		if (!ok || a->permerror != NULL) {
			/* stop here: the result will be permerror */
			return SPF_dns_rr_new_init(srv, domain, t, 0,
			    TRY_AGAIN);
		}
	}
	/* NXDOMAIN for a name that cannot be asked (pw_dns_name_ok()):
	   libspf2 then treats the mechanism as not matching (RFC 7208 4.8,
	   5: "a, mx, exists" with a non-existent name). */
	st = pw_dns_query(srv->hook, pw_dns_budget_current(),
	    spf_truncate(name), t == ns_t_spf ? PW_DNS_T_TXT : (int)t, &r);
	switch (st) {
	case PW_DNS_ANSWER:
		herr = NETDB_SUCCESS;
		break;
	case PW_DNS_NXDOMAIN:
		herr = HOST_NOT_FOUND;
		break;
	case PW_DNS_NODATA:
		herr = NO_DATA;
		break;
	case PW_DNS_TEMPFAIL:
		/* RFC 7208 5.5: "If a DNS error occurs while doing an A RR
		   lookup, then that domain name is skipped and the search
		   continues" (the validation of a PTR name); libspf2 would
		   make it temperror (the suite's ptr-cname-loop). */
		if (host == 2) {
			a->skipped++;
			herr = HOST_NOT_FOUND;
			break;
		}
		/* 5.5 too: "If a DNS error occurs while doing the PTR RR
		   lookup, then this mechanism fails to match"; for %{p}
		   the name is then "unknown" (7.3). */
		if (a != NULL && t == ns_t_ptr) {
			a->skipped++;
			herr = HOST_NOT_FOUND;
			break;
		}
		herr = TRY_AGAIN;
		break;
	case PW_DNS_LIMIT:	/* the policy sees budget->limited */
	default:
		herr = TRY_AGAIN;
		break;
	}
	if (a != NULL && counted && (st == PW_DNS_NXDOMAIN ||
	    st == PW_DNS_NODATA || (st == PW_DNS_ANSWER && r.n == 0)) &&
	    ++a->voids > 2 && a->permerror == NULL)
		a->permerror = "more than 2 void lookups (RFC 7208 4.6.4)";
	if (a != NULL && t == ns_t_mx && st == PW_DNS_ANSWER && r.n > 10 &&
	    a->permerror == NULL)
		a->permerror = "more than 10 MX names (RFC 7208 4.6.4)";
	rr = SPF_dns_rr_new_init(srv, domain, t, r.ttl, herr);
	if (rr == NULL) {
		pw_dns_result_free(&r);
		return NULL;
	}
	if (herr == NETDB_SUCCESS && any && (t == ns_t_a || t == ns_t_aaaa)) {
		if (r.n > 0)
			spf_any_addr(rr, &cnt, t, a->ip);
		if (cnt == 0)
			rr->herrno = NO_DATA;
	} else {
		for (size_t i = 0; herr == NETDB_SUCCESS && i < r.n; i++) {
			size_t len = r.len[i] > 0 ? (size_t)r.len[i] : 0;
			int before = cnt;

			/* RFC 7208 4.6.4: at most 10 PTR names are looked
			   at, the rest ignored; libspf2 1.2.10 gives
			   permerror when there are more. */
			if (a != NULL && t == ns_t_ptr && cnt >= 10)
				break;
			spf_add(rr, &cnt, t, r.data[i], len);
			if (cnt == before)
				continue;
			/* see put_dom() in spf_record.c: libspf2 compares
			   names case-sensitively */
			if (a != NULL && t == ns_t_ptr)
				pw_lowercase(rr->rr[cnt - 1]->ptr);
			if (a != NULL && (t == ns_t_txt || t == ns_t_spf)) {
				rr->num_rr = cnt - 1;
				spf_check_txt(rr, r.data[i], len, a);
			}
			if (a != NULL && (t == ns_t_mx || t == ns_t_ptr) &&
			    a->nhosts < PW_SPF_ACCT_HOSTS) {
				const char *h = t == ns_t_mx ?
				    rr->rr[cnt - 1]->mx : rr->rr[cnt - 1]->ptr;

				/* a /0 mx: its names are "any address" too */
				a->from_ptr[a->nhosts] = t == ns_t_ptr;
				a->hosts[a->nhosts++] = any ? pw_asprintf(
				    "%s.%s", PW_SPF_ANY_LABEL, h) :
				    pw_strdup(h);
			}
		}
		/* the names handed on keep the "any address" label */
		for (int i = 0; any && t == ns_t_mx && i < cnt; i++) {
			char *h = pw_asprintf("%s.%s", PW_SPF_ANY_LABEL,
			    rr->rr[i]->mx);

			if (SPF_dns_rr_buf_realloc(rr, i, strlen(h) + 1) == 0)
				strcpy(rr->rr[i]->mx, h);
			free(h);
		}
	}
	rr->num_rr = cnt;
	if (cnt == 0 && herr == NETDB_SUCCESS)
		rr->herrno = NO_DATA;
	pw_dns_result_free(&r);
	return rr;
}

static void
spf_destroy(SPF_dns_server_t *srv)
{
	struct pw_dns *dns = srv->hook;

	pw_dns_free(&dns);
	free(srv);
}

SPF_dns_server_t *
pw_dns_spf_layer(struct pw_dns *dns)
{
	SPF_dns_server_t *srv = pw_calloc(1, sizeof(*srv));

	srv->destroy = spf_destroy;
	srv->lookup = spf_lookup;
	srv->name = "postwarden";
	srv->hook = pw_dns_ref(dns);
	return srv;
}

/* --- libopendkim ------------------------------------------------------ */

/*
 * libopendkim's model is start / waitreply / cancel, and it calls cancel
 * after every query.  start does the whole (deadline-bounded) lookup and
 * copies the reply; waitreply hands it over; cancel frees it.
 */
struct dkq {
	size_t	len;
	int	dnssec;
};

static __thread struct pw_dns *attaching;

static int
dk_init(void **srv)
{
	if (attaching == NULL)
		return DKIM_DNS_ERROR;
	*srv = pw_dns_ref(attaching);
	return DKIM_DNS_SUCCESS;
}

static void
dk_close(void *srv)
{
	struct pw_dns *dns = srv;

	pw_dns_free(&dns);
}

/*
 * nxdomain_packet - an NXDOMAIN reply for a name we did not ask, into buf.
 * libopendkim reads the type and class from the question section before
 * it looks at the RCODE, so the reply has one question; its name is
 * "invalid." (RFC 6761): the real one cannot be written on the wire.
 * Returns the length, 0 if buf is too small.
 */
static size_t
nxdomain_packet(int type, unsigned char *buf, size_t buflen)
{
	static const unsigned char head[] = {
	    0, 0,		/* id */
	    0x81, 0x83,		/* QR, RD; RA, RCODE 3 (NXDOMAIN) */
	    0, 1, 0, 0, 0, 0, 0, 0,	/* QD 1, AN NS AR 0 */
	    7, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 0};
	size_t n = sizeof(head);

	if (buflen < n + 4)
		return 0;
	memcpy(buf, head, n);
	buf[n++] = (unsigned char)(type >> 8);
	buf[n++] = (unsigned char)type;
	buf[n++] = 0;
	buf[n++] = 1;		/* class IN */
	return n;
}

static int
dk_start(void *srv, int type, unsigned char *query, unsigned char *buf,
    size_t buflen, void **qh)
{
	struct pw_dns_result r;
	struct dkq *q;
	enum pw_dns_status st;

	st = pw_dns_query(srv, pw_dns_budget_current(), (const char *)query,
	    type, &r);
	/* A name that cannot be asked (a d= or s= that makes no DNS name)
	   has no key: libopendkim learns that from an NXDOMAIN reply. */
	if (st == PW_DNS_NXDOMAIN && r.packet == NULL) {
		size_t len = nxdomain_packet(type, buf, buflen);

		pw_dns_result_free(&r);
		if (len == 0)
			return DKIM_DNS_ERROR;
		q = pw_malloc(sizeof(*q));
		q->len = len;
		q->dnssec = DKIM_DNSSEC_INSECURE;
		*qh = q;
		return DKIM_DNS_SUCCESS;
	}
	/*
	 * libopendkim reads a SERVFAIL packet with no answers as "no key" (a
	 * permanent failure): report a temporary failure, a capped query or
	 * a reply too big for its buffer as a failed query instead, so that
	 * the signature gets DKIM_SIGERROR_KEYFAIL.
	 */
	if ((st != PW_DNS_ANSWER && st != PW_DNS_NODATA &&
	    st != PW_DNS_NXDOMAIN) || r.packet == NULL ||
	    r.packet_len > buflen) {
		pw_dns_result_free(&r);
		return DKIM_DNS_ERROR;
	}
	q = pw_malloc(sizeof(*q));
	q->len = r.packet_len;
	memcpy(buf, r.packet, r.packet_len);
	q->dnssec = r.secure ? DKIM_DNSSEC_SECURE : DKIM_DNSSEC_INSECURE;
	pw_dns_result_free(&r);
	*qh = q;
	return DKIM_DNS_SUCCESS;
}

static int
dk_waitreply(void *srv, void *qh, struct timeval *to, size_t *bytes,
    int *err, int *dnssec)
{
	struct dkq *q = qh;

	(void)srv;
	(void)to;
	if (bytes != NULL)
		*bytes = q->len;
	if (err != NULL)
		*err = 0;
	if (dnssec != NULL)
		*dnssec = q->dnssec;
	return DKIM_DNS_SUCCESS;
}

static int
dk_cancel(void *srv, void *qh)
{
	(void)srv;
	free(qh);
	return DKIM_DNS_SUCCESS;
}

int
pw_dns_dkim_attach(struct dkim_lib *lib, struct pw_dns *dns)
{
	int rc;

	dkim_dns_set_init(lib, dk_init);
	dkim_dns_set_close(lib, dk_close);
	dkim_dns_set_query_start(lib, dk_start);
	dkim_dns_set_query_waitreply(lib, dk_waitreply);
	dkim_dns_set_query_cancel(lib, dk_cancel);
	dkim_dns_set_nslist(lib, NULL);
	dkim_dns_set_config(lib, NULL);
	dkim_dns_set_trustanchor(lib, NULL);
	/* dkim_dns_init() closes any old service and calls dk_init. */
	attaching = dns;
	rc = dkim_dns_init(lib);
	attaching = NULL;
	return rc == DKIM_DNS_SUCCESS ? 0 : -1;
}
