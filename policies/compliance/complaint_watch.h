/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * complaint_watch - each organisation's complaint rate and hold state,
 * computed periodically by one thread per configuration snapshot, never
 * per message (issue 17).
 *
 * The rate is complaints / commercial recipients delivered (the store's
 * feedback_event and audit rows) over the last 24 hours, or since the
 * organisation's last release when that is later: a release starts the
 * count again, else the complaints that caused the hold would hold it
 * again at once.  Below complaint_rate_min_messages delivered nothing
 * is judged (complaint_rate.h).  At complaint_rate_warn the thread logs
 * (once, when the level is reached); at complaint_rate_hold it appends a
 * "hold" row to the store's complaint_hold table, which every MTA of a
 * fleet reads: the organisation's commercial mail is held until
 * postwarden-ctl complaints release appends a "release" row.  The state
 * lives in the store, so it survives restarts and is the same on every
 * host; each host sees a release within complaint_rate_interval.
 *
 * The thread starts at the first lookup (after the daemon dropped
 * privileges), computes at once, then every complaint_rate_interval and
 * when poked (a complaint was recorded).  Lookups read a table in memory
 * under a mutex: the store is never on a message's path.  A store that
 * cannot be read leaves the last state in force (logged); before the
 * first successful read the state is unknown.
 *
 * Thread-safe.  postwarden-ctl uses pw_crate_eval_org() and
 * pw_crate_hold_add() directly, without the thread.
 */
#ifndef PW_COMPLAINT_WATCH_H
#define PW_COMPLAINT_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "compliance/complaint_rate.h"

struct pw_org;
struct pw_orgs;
struct pw_store;
struct pw_store_handle;
struct pw_cwatch;

/* What postwarden.conf sets (the services' settings, snapshot.c). */
struct pw_cwatch_conf {
	struct pw_crate_limits	 def;		/* organisations may override */
	long			 interval;	/* seconds */
};

/* The limits of one organisation: its own, else def. */
void	pw_crate_limits_of(const struct pw_org *,
	    const struct pw_crate_limits *def, struct pw_crate_limits *out);

/* One organisation's state as computed from the store. */
struct pw_crate_eval {
	enum pw_crate_level	 level;
	int64_t			 complaints;
	int64_t			 delivered;
	time_t			 since;		/* counted from */
	bool			 held;
	time_t			 held_at;	/* of the hold in force, or
						   of the last one */
	time_t			 released_at;	/* of the last release */
};

/* Compute the state of org at now (two store reads).  0 or -1. */
int	pw_crate_eval_org(struct pw_store *, const struct pw_org *,
	    const struct pw_crate_limits *def, time_t now,
	    struct pw_crate_eval *);
/* Append a "hold" row for org with the figures of e (actor: who decides,
   "postwarden@HOST").  0 or -1. */
int	pw_crate_hold_add(struct pw_store *, const char *org,
	    const struct pw_crate_eval *e, const char *actor, time_t now);

/* NULL when no organisation and no default has a threshold on (nothing
   to watch).  orgs and store are the snapshot's and outlive it. */
struct pw_cwatch *pw_cwatch_new(const struct pw_orgs *,
		    struct pw_store_handle *, const struct pw_cwatch_conf *);
/* Stops the thread; *w becomes NULL. */
void	pw_cwatch_free(struct pw_cwatch **w);

/* The state of an organisation: 1 with *e filled, 0 when not known yet
   (the store was never read: waits up to a few seconds the first time),
   and for an organisation the file does not name. */
int	pw_cwatch_get(struct pw_cwatch *, const char *org,
	    struct pw_crate_eval *e);
/* Compute again now (a complaint was just recorded). */
void	pw_cwatch_poke(struct pw_cwatch *);

#endif
