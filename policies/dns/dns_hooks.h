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
 *
 * The DMARC record is not fetched through a hook: dmarc_verify looks it
 * up with pw_dns_txt() and hands it to libopendmarc with
 * opendmarc_policy_store_dmarc(), so libopendmarc never does DNS.
 */
#ifndef PW_DNS_HOOKS_H
#define PW_DNS_HOOKS_H

struct pw_dns;
struct SPF_dns_server_struct;
struct dkim_lib;

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
