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

#include <opendkim/dkim.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "base/util.h"
#include "dns/dns.h"
#include "dns/dns_hooks.h"

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

static SPF_dns_rr_t *
spf_lookup(SPF_dns_server_t *srv, const char *domain, ns_type t,
    int should_cache)
{
	struct pw_dns_result r;
	SPF_dns_rr_t *rr;
	int herr, cnt = 0;

	(void)should_cache;
	switch (pw_dns_query(srv->hook, pw_dns_budget_current(), domain,
	    t == ns_t_spf ? PW_DNS_T_TXT : (int)t, &r)) {
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
	case PW_DNS_LIMIT:	/* the policy sees budget->limited */
	default:
		herr = TRY_AGAIN;
		break;
	}
	rr = SPF_dns_rr_new_init(srv, domain, t, r.ttl, herr);
	if (rr == NULL) {
		pw_dns_result_free(&r);
		return NULL;
	}
	for (size_t i = 0; herr == NETDB_SUCCESS && i < r.n; i++)
		spf_add(rr, &cnt, t, r.data[i], r.len[i] > 0 ?
		    (size_t)r.len[i] : 0);
	rr->num_rr = cnt;
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

static int
dk_start(void *srv, int type, unsigned char *query, unsigned char *buf,
    size_t buflen, void **qh)
{
	struct pw_dns_result r;
	struct dkq *q;
	enum pw_dns_status st;

	st = pw_dns_query(srv, pw_dns_budget_current(), (const char *)query,
	    type, &r);
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
