/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns_hooks - feed libspf2 and libopendkim from the shared resolver.
 *
 * Both libraries would otherwise use glibc's stub resolver, which cannot
 * be pointed at a port, has no shared cache and reports a SERVFAIL to
 * libopendkim as "no key" (harness-notes 4a, 4b).  With these hooks
 * every query goes through pw_dns_query() and is charged to the budget
 * bound to the calling thread (pw_dns_budget_bind()).  A temporary
 * failure reaches libspf2 as TRY_AGAIN (temperror) and libopendkim as a
 * failed query (DKIM_SIGERROR_KEYFAIL), never as NXDOMAIN or "no key".
 * A name that cannot be asked (pw_dns_name_ok()) reaches libspf2 as
 * HOST_NOT_FOUND and libopendkim as an NXDOMAIN reply ("no key"): it
 * cannot exist, and the sender must not be able to force a temporary
 * failure with it.  libspf2's names longer than 253 octets lose labels
 * from the left first (RFC 7208 7.3).
 *
 * The DMARC record is not fetched through a hook: dmarc_verify looks it
 * up with pw_dns_txt() and hands it to libopendmarc with
 * opendmarc_policy_store_dmarc(), so libopendmarc never does DNS.
 */
#ifndef PW_DNS_HOOKS_H
#define PW_DNS_HOOKS_H

#include <stdbool.h>
#include <sys/socket.h>

struct pw_dns;
struct SPF_dns_server_struct;
struct dkim_lib;

/*
 * RFC 7208 accounting of one SPF evaluation, kept by the libspf2 layer
 * while bound to the calling thread (pw_dns_spf_bind()).  libspf2 1.2.10
 * counts DNS mechanisms per record only, has no void lookup limit and
 * hands records to its parser unchecked; the layer corrects that:
 *  - every SPF record fetched is checked and rewritten by
 *    pw_spf_record_check() (spf_record.h); a syntax error sets permerror;
 *  - the terms that cost a lookup (include, a, mx, ptr, exists,
 *    redirect) are counted across the whole evaluation, includes and
 *    redirects too: the 11th sets permerror (4.6.4), as does a third
 *    void lookup (NXDOMAIN or no answer) and an MX answer of more than
 *    10 names.
 * The address lookups of the names an MX or PTR answer gave are part of
 * their term and not counted.
 */
#define PW_SPF_ACCT_HOSTS	32

struct pw_spf_acct {
	const struct sockaddr_storage *ip;	/* the client */
	unsigned int	 records;	/* SPF records fetched */
	unsigned int	 terms;		/* lookup terms (4.6.4), <= 10 */
	unsigned int	 voids;		/* void lookups, <= 2 */
	const char	*permerror;	/* static reason, or NULL */
	char		*last_spf;	/* libspf2 asks SPF, then TXT */
	char		*hosts[PW_SPF_ACCT_HOSTS];	/* from MX/PTR */
	bool		 from_ptr[PW_SPF_ACCT_HOSTS];
	unsigned int	 nhosts;
	unsigned int	 skipped;	/* failed lookups of PTR names:
					   skipped, not temperror (5.5) */
	char		*exp_domain;	/* exp= of the deciding record: */
	char		*exp_target;	/* its %{d} and expanded target */
};

/* Bind acct (zeroed by the caller, ip set) to this thread for the
   libspf2 layer; returns the previous one.  pw_dns_spf_acct_free()
   releases what the layer kept in it. */
struct pw_spf_acct *pw_dns_spf_bind(struct pw_spf_acct *);
void	pw_dns_spf_acct_free(struct pw_spf_acct *);

/* A libspf2 DNS layer on the resolver (holds a reference, released by
   the layer's destroy, i.e. SPF_dns_free()).  No libspf2 cache layer is
   put on top: unbound's cache already serves every library, and
   libspf2's cache would keep temporary failures and is not needed for
   the hit rate (measured: see dns_hooks.c). */
struct SPF_dns_server_struct *pw_dns_spf_layer(struct pw_dns *);

/* Make libopendkim use the resolver for key lookups (holds a reference,
   released by dkim_close()).  Returns 0, or -1 if libopendkim refused. */
int	pw_dns_dkim_attach(struct dkim_lib *, struct pw_dns *);

#endif
