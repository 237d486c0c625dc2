/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * snapshot - the services one configuration snapshot shares with every
 * check, every thread and the tools: built once per snapshot, never once
 * per policy.
 *
 *	organisations		the organisations file, parsed once
 *	unsubscribe_keys	the token key ring
 *	store			one handle, opened on first use, shared
 *	dns_nameservers		the resolver and its cache (process-wide,
 *				kept across reloads when unchanged)
 *
 * The services are a settings owner of their own (pw_services_owner),
 * listed first so that they are built before the checks' init() asks
 * for them.  The programs that share postwarden.conf (postwarden,
 * postwarden-unsubd, postwarden-ctl) each pass it to pw_config_load().
 */
#ifndef PW_SNAPSHOT_H
#define PW_SNAPSHOT_H

#include "base/config.h"

struct pw_orgs;
struct pw_keyring;
struct pw_store_handle;
struct pw_dns;

struct pw_services {
	struct pw_orgs		*orgs;	/* NULL: no organisations */
	struct pw_keyring	*ring;	/* NULL: no unsubscribe_keys */
	struct pw_store_handle	*store;
	struct pw_dns		*dns;
	const char		*orgs_path;	/* as set, "file:" removed */
	const char		*keys_path;
};

extern const struct pw_config_owner pw_services_owner;

/* The services of a snapshot loaded with pw_services_owner (never NULL
   for such a snapshot). */
const struct pw_services *pw_services(const struct pw_config *);

#endif
