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
 *	complaint_rate_*	each organisation's complaint rate and
 *				hold state (compliance/complaint_watch.h)
 *
 * The services are a settings owner of their own (pw_services_owner),
 * listed first so that they are built before the checks' init() asks
 * for them.  The programs that share postwarden.conf (postwarden,
 * postwarden-unsubd, postwarden-ctl) each pass it to pw_config_load().
 */
#ifndef PW_SNAPSHOT_H
#define PW_SNAPSHOT_H

#include "base/config.h"
#include "compliance/complaint_watch.h"

struct pw_orgs;
struct pw_keyring;
struct pw_store_handle;
struct pw_dns;

/* complaint_hold_action: what a held organisation's commercial mail
   gets (pol_complaint_hold). */
enum pw_chold_action {
	PW_CHOLD_TEMPFAIL,	/* 451 4.7.1 at end of message */
	PW_CHOLD_QUARANTINE,	/* accepted into Postfix's hold queue */
};
extern const char *const pw_chold_action_names[];

struct pw_services {
	struct pw_orgs		*orgs;	/* NULL: no organisations */
	struct pw_keyring	*ring;	/* NULL: no unsubscribe_keys */
	struct pw_store_handle	*store;
	struct pw_dns		*dns;
	/* complaint rates (issue 17): the settings, and the watcher
	   (NULL: no organisations, no store, or every threshold off) */
	struct pw_cwatch_conf	 complaints;
	enum pw_chold_action	 hold_action;
	struct pw_cwatch	*cwatch;
	const char		*orgs_path;	/* as set, "file:" removed */
	const char		*keys_path;
};

extern const struct pw_config_owner pw_services_owner;

/* The services of a snapshot loaded with pw_services_owner (never NULL
   for such a snapshot). */
const struct pw_services *pw_services(const struct pw_config *);

#endif
