/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store - persistent state behind one interface: consent events,
 * suppressions, audit rows (hash-chained) and DMARC evaluation rows.
 *
 * A backend is a struct pw_store_ops vtable (OpenSMTPD table_backend,
 * Postfix DICT): "sqlite:/path" (store_sqlite.c, the embedded default)
 * and "postgresql://..." (store_pg.c, a libpq connection URI, for a fleet
 * of MTAs sharing one store).  The functions below dispatch to the
 * backend.
 *
 * Results follow the Postfix dict convention: lookups return 1 (found),
 * 0 (not found) or -1; writes return 0 or -1.  -1 always means "cannot
 * decide now" (locked, unreadable, disk full, I/O error...): the caller
 * tempfails, it never fails open.  The reason is logged and is available
 * to the calling thread from pw_store_strerror().
 *
 * Addresses must already be normalised (addrnorm.h).  Lists are names;
 * "" or NULL means every list of the organisation.  Times are Unix
 * seconds, UTC; since schema version 5 the times that a row records as it
 * happens (an audit row's, a withdrawal request's, a feedback or DMARC
 * row's) also have a pw_time_us twin with the microseconds.  Records are
 * append-only: there is no update or delete, except pw_store_dmarc_expire
 * (old DMARC rows, for the report job).
 *
 * A store is shared by all threads; each call is independent.
 */
#ifndef PW_STORE_H
#define PW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/util.h"
#include "compliance/consent_state.h"

struct pw_store;
struct pw_buf;

/*
 * Microseconds since the epoch, UTC (schema version 5).  0 (PW_NOTIME_US):
 * not recorded - a row written before version 5 has whole seconds only,
 * and reports then show whole seconds.  On a write the twin wins: a
 * caller that sets it gets the seconds field set from it (floor); one that
 * sets the seconds only gets a twin of whole seconds.  Queries by time
 * (since, until) stay in whole seconds.
 */
typedef int64_t pw_time_us;
#define PW_NOTIME_US	((pw_time_us)0)

/* The clock, in microseconds (CLOCK_REALTIME). */
pw_time_us pw_now_us(void);
/* The seconds of us (floor, also before 1970). */
time_t	pw_time_us_sec(pw_time_us us);
/* For writers: us if set, else s in whole seconds. */
pw_time_us pw_time_us_pick(time_t s, pw_time_us us);

struct pw_store_opts {
	int	busy_timeout_ms;	/* wait this long on a lock, then -1 */
	bool	create;			/* create the file and schema */
	bool	readonly;		/* reports, verification */
	/* Create the schema, or migrate it to this version (postwarden-ctl
	   store init).  PostgreSQL creates nothing without it; SQLite
	   creates a new file's schema with `create` alone. */
	bool	init;
	/* PostgreSQL: a file whose first line is the password (when the
	   URI and ~/.pgpass give none).  NULL: none. */
	const char *password_file;
};
#define PW_STORE_OPTS_DEFAULT	{ 2000, true, false, false, NULL }

/* One consent event as recorded (consent.h gives the semantics). */
struct pw_consent_record {
	int64_t			 id;		/* set by the store */
	const char		*org;
	const char		*address;
	const char		*list;
	enum pw_consent_type	 type;
	time_t			 obtained_at;
	time_t			 expires_at;	/* PW_NOTIME: none given */
	time_t			 relationship_date; /* PW_NOTIME: none */
	const char		*source;	/* web_form, import, api... */
	const char		*proof;		/* reference to the evidence */
	time_t			 created_at;	/* set by the store */
	int64_t			 recorded_us;	/* set by the store: the
						   recording clock (consent.h) */
};

/* The events of one (org, address), every list; suppressions appear as
   WITHDRAWN events with a negative id (-suppression id). */
struct pw_consent_events {
	struct pw_consent_event	*v;
	size_t			 n;
	char			*strings;	/* owns the list names */
};
void	pw_consent_events_free(struct pw_consent_events *);

struct pw_suppression {
	int64_t		 id;
	const char	*org;
	const char	*address;
	const char	*list;
	const char	*reason;	/* one_click_post, mailto, manual... */
	time_t		 requested_at;
	pw_time_us	 requested_us;	/* v5; effective: recorded_us */
	const char	*token_id;	/* may be NULL */
	time_t		 created_at;	/* set by the store */
	int64_t		 recorded_us;	/* set by the store */
};

/* One row per (message, recipient), R20. */
struct pw_audit_row {
	int64_t		 id;		/* set by the store */
	time_t		 time;
	/* v5: the time in microseconds; 0 in rows written before it, which
	   are hashed in the old format (audit_chain.c) */
	pw_time_us	 time_us;
	const char	*queue_id;
	const char	*message_id;
	const char	*org;
	const char	*recipient;
	const char	*class;		/* commercial | transactional | other */
	const char	*class_source;	/* header | organisation | heuristic */
	const char	*consent;	/* consent state name, or NULL */
	int64_t		 basis_id;	/* 0: none */
	const char	*basis_type;
	time_t		 basis_expires;	/* PW_NOTIME: none */
	const char	*reason;	/* refusal reason, or NULL */
	const char	*token_id;
	const char	*dkim_d;
	const char	*dkim_s;
	const char	*action;	/* delivered, refused_rcpt, removed... */
	unsigned char	 prev_hash[32];	/* set by the store */
	unsigned char	 hash[32];	/* set by the store */
};

/* One DMARC evaluation (issue 3: aggregate reports). */
struct pw_dmarc_row {
	time_t		 time;
	pw_time_us	 time_us;	/* v5; 0: whole seconds only */
	const char	*from_domain;
	const char	*source_ip;
	const char	*policy;	/* none | quarantine | reject */
	const char	*disposition;	/* none | quarantine | reject */
	const char	*spf_result;
	const char	*spf_domain;
	const char	*dkim_result;	/* comma-separated when several */
	const char	*dkim_domain;
	/* Schema version 2 (issue 11, RFC 9990 aggregate reports); NULL in
	   rows written before it. */
	const char	*env_from;	/* RFC 5321.MailFrom domain */
	const char	*spf_scope;	/* mfrom | helo */
	const char	*dkim_selector;	/* comma-separated, as dkim_domain */
	const char	*dmarc_result;	/* pass fail temperror ... */
	const char	*spf_aligned;	/* pass | fail */
	const char	*dkim_aligned;	/* pass | fail */
	const char	*override;	/* RFC 9990 reasons, comma-separated */
	const char	*pub_domain;	/* where the record was found */
	const char	*pub_record;	/* the record as discovered */
	const char	*discovery;	/* treewalk | psl */
};

/* One attempt to send an aggregate report to one rua destination
   (schema version 4, postwarden-ctl dmarc report): append-only, so a
   report is "sent" when one attempt of it is. */
struct pw_dmarc_sent {
	time_t		 time;		/* of the attempt */
	const char	*report_id;	/* the same for every attempt */
	const char	*domain;	/* the policy domain */
	const char	*rua;		/* the mailto: address */
	time_t		 begin, end;	/* the period, end excluded */
	const char	*status;	/* sent | failed */
	const char	*detail;	/* the MTA's answer, or NULL */
	int64_t		 bytes;		/* of the gzipped report */
};

/* Rows of dmarc_eval and dmarc_report_sent younger than this many days
   cannot be deleted: the triggers of both backends refuse it, whoever
   asks (dmarc_keep_days has this as its minimum). */
#define PW_DMARC_KEEP_MIN_DAYS	7

/* One record of an aggregate report (RFC 9990): the rows of one policy
   domain in a period that share every field below, and how many they
   are (postwarden-ctl dmarc report).  NULL columns read as "". */
struct pw_dmarc_group {
	/* The policy domain as written in the domain's newest row of the
	   period (domains are grouped case-insensitively), with that row's
	   record and discovery method; NULL for the rows without the report
	   columns (written before schema version 3), which come as groups
	   of their own, only to be counted. */
	const char	*pub_domain;
	const char	*pub_record;
	const char	*discovery;
	const char	*source_ip;
	/* RFC 9990 ActionDispositionType: "pass" for a message that passed
	   under an enforcing policy, else the disposition ("none" if
	   empty) */
	const char	*disposition;
	const char	*dkim_aligned;
	const char	*spf_aligned;
	const char	*override;
	const char	*env_from;
	const char	*from_domain;
	const char	*dkim_domain;
	const char	*dkim_selector;
	const char	*dkim_result;
	const char	*spf_domain;
	const char	*spf_scope;
	const char	*spf_result;
	int64_t		 count;
};

/* One bounce or complaint about a recipient of an organisation's mail
   (issue 17: pol_feedback, postwarden-ctl complaints), append-only. */
struct pw_feedback_row {
	int64_t		 id;		/* set by the store */
	time_t		 time;
	pw_time_us	 time_us;	/* v5; 0: whole seconds only */
	const char	*org;
	const char	*address;	/* normalised */
	const char	*kind;		/* bounce_hard | bounce_soft |
					   complaint */
	const char	*status;	/* DSN status, ARF feedback type */
	const char	*message_id;	/* the original's, may be NULL */
	const char	*source;	/* dsn, arf, import */
};

/* Sending quotas (issue 17, pol_quota): what one MTA counted for one
   organisation in one hour bucket since its last flush, append-only.  The
   fleet's use of a window is the sum of every host's rows in it.  A
   negative count takes back what was counted for a message that was not
   sent after all. */
struct pw_quota_row {
	const char	*org;
	time_t		 hour_start;	/* the bucket: a multiple of 3600 */
	int64_t		 messages;
	int64_t		 recipients;
	const char	*host;		/* the MTA that counted */
	time_t		 recorded_at;	/* when it was flushed */
};

/* The sum of the rows of one organisation (or, per organisation, of all)
   in a range of buckets. */
struct pw_quota_sum {
	const char	*org;
	int64_t		 messages;
	int64_t		 recipients;
};

/* A complaint-rate hold of an organisation's commercial mail, or its
   release (issue 17: compliance/complaint_watch.h), append-only: an
   organisation is held from a "hold" row until a later "release" row. */
struct pw_chold_row {
	int64_t		 id;		/* set by the store */
	time_t		 time;
	const char	*org;
	const char	*action;	/* hold | release */
	int64_t		 complaints;	/* what the hold was decided on */
	int64_t		 delivered;	/* (0 for a release) */
	time_t		 since;		/* start of the counted window */
	const char	*actor;		/* postwarden@HOST, or the admin */
	const char	*note;		/* may be NULL */
};

/* Which audit rows to list; NULL strings and PW_NOTIME times match all. */
struct pw_audit_filter {
	const char	*org;
	const char	*recipient;	/* normalised address */
	time_t		 since;		/* time >= since */
	time_t		 until;		/* time < until */
};

struct pw_store_ops {
	const char	*scheme;
	int	(*open)(const char *where, const struct pw_store_opts *,
		    struct pw_store **, char **error_r);
	void	(*close)(struct pw_store *);
	int	(*consent_add)(struct pw_store *, struct pw_consent_record *,
		    size_t n);
	int	(*consent_events)(struct pw_store *, const char *org,
		    const char *address, struct pw_consent_events *);
	int	(*consent_export)(struct pw_store *, const char *org,
		    const char *address,
		    int (*cb)(const struct pw_consent_record *, void *),
		    void *ctx);
	int	(*suppression_add)(struct pw_store *, struct pw_suppression *);
	int	(*suppression_list)(struct pw_store *, const char *org,
		    int (*cb)(const struct pw_suppression *, void *),
		    void *ctx);
	int	(*audit_append)(struct pw_store *, struct pw_audit_row *);
	int	(*audit_verify)(struct pw_store *, int64_t *bad_id_r,
		    unsigned char *head_r);
	int	(*dmarc_add)(struct pw_store *, const struct pw_dmarc_row *,
		    size_t);
	/* Optional (NULL: reports unavailable for this backend). */
	int	(*audit_list)(struct pw_store *, const struct pw_audit_filter *,
		    int (*cb)(const struct pw_audit_row *, void *), void *ctx);
	/* Optional: every DMARC row in id order (store copy). */
	int	(*dmarc_list)(struct pw_store *,
		    int (*cb)(const struct pw_dmarc_row *, void *), void *ctx);
	/* Optional: the report groups of a period (pw_store_dmarc_groups). */
	int	(*dmarc_groups)(struct pw_store *, time_t since, time_t until,
		    int (*cb)(const struct pw_dmarc_group *, void *), void *ctx);
	/* Optional: fill this (empty) store with every record of src, ids,
	   times and hashes kept, in one transaction (store copy). */
	int	(*copy_from)(struct pw_store *, struct pw_store *src);
	/* Optional (issue 17): feedback rows, and how many of (org,
	   address, kind) since a time. */
	int	(*feedback_add)(struct pw_store *, struct pw_feedback_row *);
	int	(*feedback_count)(struct pw_store *, const char *org,
		    const char *address, const char *kind, time_t since,
		    int64_t *n_r);
	/* Optional: the feedback rows of org with since <= time < until
	   (PW_NOTIME: open), in id order. */
	int	(*feedback_list)(struct pw_store *, const char *org,
		    time_t since, time_t until,
		    int (*cb)(const struct pw_feedback_row *, void *),
		    void *ctx);
	/* Optional: the reason of suppression id (malloc'd). */
	int	(*suppression_reason)(struct pw_store *, int64_t id,
		    char **reason_r);
	/* Optional (issue 11, schema version 4): the sent-record of
	   aggregate reports, and the deletion of old DMARC rows. */
	int	(*dmarc_sent_add)(struct pw_store *,
		    const struct pw_dmarc_sent *);
	int	(*dmarc_sent_check)(struct pw_store *, const char *report_id,
		    const char *rua);
	int	(*dmarc_expire)(struct pw_store *, time_t before,
		    int64_t *rows_r, int64_t *sent_r);
	/* Optional (issue 17): sending quota deltas and their sums. */
	int	(*quota_add)(struct pw_store *, const struct pw_quota_row *,
		    size_t n);
	int	(*quota_sum)(struct pw_store *, const char *org, time_t since,
		    time_t until,
		    int (*cb)(const struct pw_quota_sum *, void *), void *ctx);
	/* Optional: every row of dmarc_report_sent and of quota_delta,
	   in the order written (store copy). */
	int	(*dmarc_sent_list)(struct pw_store *,
		    int (*cb)(const struct pw_dmarc_sent *, void *), void *ctx);
	int	(*quota_list)(struct pw_store *, int (*cb)(int64_t id,
		    const struct pw_quota_row *, void *), void *ctx);
	/* Optional (issue 17, complaint-rate holds). */
	int	(*chold_add)(struct pw_store *, struct pw_chold_row *);
	int	(*chold_list)(struct pw_store *, const char *org,
		    int (*cb)(const struct pw_chold_row *, void *), void *ctx);
	int	(*complaint_counts)(struct pw_store *, const char *org,
		    time_t since, int (*cb)(const char *org,
		    int64_t complaints, int64_t delivered, void *), void *ctx);
	/* n suppressions in one transaction (group commit). */
	int	(*suppression_add_batch)(struct pw_store *,
		    struct pw_suppression *, size_t n);
};

/* Every store starts with this. */
struct pw_store {
	const struct pw_store_ops	*ops;
};

extern const struct pw_store_ops pw_store_sqlite_ops;
extern const struct pw_store_ops pw_store_pg_ops;	/* postgresql:// */
extern const struct pw_store_ops pw_store_postgres_ops;	/* postgres:// */

/* Open "scheme:rest" (e.g. "sqlite:/var/lib/postwarden/pw.db").  opts may
   be NULL for the defaults.  Returns 0, or -1 with *error_r (malloc'd):
   -1 for what may pass (server down, file locked...), -2 when the store
   answered but holds no schema or one this program does not know (the
   message names the command to run: postwarden-ctl store init).  A
   daemon refuses to start on -2. */
int	pw_store_open(const char *spec, const struct pw_store_opts *,
	    struct pw_store **store_r, char **error_r);
void	pw_store_close(struct pw_store **);
/* For a daemon about to serve: 0 if it may start - the store answered
   with a schema this program knows, or did not answer now (logged; what
   needs the store tempfails until it does) - or -1 with *error_r
   (malloc'd) when it holds no schema or another version: the message
   names the command to run. */
int	pw_store_startup_check(const char *spec, const char *password_file,
	    char **error_r);

/* The last failure of this thread, for logs and replies. */
const char *pw_store_strerror(void);
/* Backends set it (printf-like; also logged at LOG_ERR). */
void	pw_store_set_error(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* Append n consent events in one transaction: all or nothing.  Each is
   checked with pw_consent_event_check first (a bad record is a -1 with
   the reason, nothing written).  Sets each record's id and created_at. */
int	pw_store_consent_add(struct pw_store *, struct pw_consent_record *,
	    size_t n);
/* All events of (org, address): 1 found, 0 none, -1. */
int	pw_store_consent_events(struct pw_store *, const char *org,
	    const char *address, struct pw_consent_events *);
/* The hot path: the state for mail to (org, address, list) at now.  1:
   consent holds (express or implied), 0: it does not (r says why), -1:
   temporary failure.  r->basis points into *ev_r, which the caller frees
   with pw_consent_events_free. */
int	pw_store_consent_check(struct pw_store *, const char *org,
	    const char *address, const char *list, time_t now,
	    struct pw_consent_result *r, struct pw_consent_events *ev_r);
/* Every event of an org (address NULL) or one address, in id order (org
   NULL too: every event of every org, for store copy); cb
   returning non-zero stops the walk.  0 or -1. */
int	pw_store_consent_export(struct pw_store *, const char *org,
	    const char *address,
	    int (*cb)(const struct pw_consent_record *, void *), void *ctx);

int	pw_store_suppression_add(struct pw_store *, struct pw_suppression *);
/* n suppressions in one transaction: all stored (0) or none (-1), with
   one durable commit for the group - postwarden-unsubd commits the
   one-click withdrawals that arrive together this way (one fsync for
   the group instead of one each).  Each is checked as by
   pw_store_suppression_add first; sets each one's id, created_at and
   recorded_us. */
int	pw_store_suppression_add_batch(struct pw_store *,
	    struct pw_suppression *, size_t n);
/* The suppressions of org (NULL: of every org), in id order. */
int	pw_store_suppression_list(struct pw_store *, const char *org,
	    int (*cb)(const struct pw_suppression *, void *), void *ctx);

/* Append an audit row; the store links it to the previous row:
   hash = SHA-256(prev_hash || canonical row), see store_sqlite.c. */
int	pw_store_audit_append(struct pw_store *, struct pw_audit_row *);
/* Recompute the chain: 1 intact (head_r, if not NULL, gets the last
   hash), 0 broken at *bad_id_r, -1 temporary failure. */
int	pw_store_audit_verify(struct pw_store *, int64_t *bad_id_r,
	    unsigned char *head_r);

/* n rows in one transaction: all stored (0) or none (-1). */
int	pw_store_dmarc_add(struct pw_store *, const struct pw_dmarc_row *,
	    size_t n);

/* The audit rows matching f, in id (chain) order; strings in a row are
   valid during the callback only.  cb returning non-zero stops the walk.
   0 or -1 (also when the backend cannot list). */
int	pw_store_audit_list(struct pw_store *, const struct pw_audit_filter *f,
	    int (*cb)(const struct pw_audit_row *, void *), void *ctx);

/* The store of one configuration snapshot, shared by every check and
   thread: opened on first use, after the daemon dropped privileges (a
   file created by root would not be writable later).  A failed open is
   retried at the next use; the callers tempfail meanwhile. */
struct pw_store_handle;
struct pw_msg;
struct pw_store_handle *pw_store_handle_new(const char *spec,
		    const char *password_file);
void	pw_store_handle_free(struct pw_store_handle **);
/* The open store, or NULL (logged with the message's queue ID; m may be
   NULL). */
struct pw_store *pw_store_handle_get(struct pw_store_handle *,
		    const struct pw_msg *m);
/* The spec for log lines and messages: a password in the URI is "***". */
const char *pw_store_handle_spec(const struct pw_store_handle *);
char	*pw_store_shown_spec(const char *spec);	/* malloc'd */

/* Every DMARC row, in id order; 0 or -1 (also when the backend cannot). */
int	pw_store_dmarc_list(struct pw_store *,
	    int (*cb)(const struct pw_dmarc_row *, void *), void *ctx);

/* The DMARC rows with since <= time < until, grouped by the database into
   aggregate report records (struct pw_dmarc_group), so that a report job
   holds one domain at a time whatever the number of rows: the groups of
   one policy domain come one after the other, the domains in the order
   of their lower-cased names.  Strings are valid during the callback
   only; cb returning non-zero stops the walk.  0 or -1. */
int	pw_store_dmarc_groups(struct pw_store *, time_t since, time_t until,
	    int (*cb)(const struct pw_dmarc_group *, void *), void *ctx);

/* Feedback (bounces, complaints): append one row (sets id); count the
   rows of (org, address, kind) with time >= since.  0 or -1 (also when
   the backend cannot). */
int	pw_store_feedback_add(struct pw_store *, struct pw_feedback_row *);
int	pw_store_feedback_count(struct pw_store *, const char *org,
	    const char *address, const char *kind, time_t since,
	    int64_t *n_r);

/* The feedback rows of org with since <= time < until (PW_NOTIME: no
   bound), in id order; strings valid during the callback; cb returning
   non-zero stops.  0 or -1. */
int	pw_store_feedback_list(struct pw_store *, const char *org, time_t since,
	    time_t until, int (*cb)(const struct pw_feedback_row *, void *),
	    void *ctx);

/* The reason of one suppression (bounce, complaint, mailto...), for the
   refusal's text: 1 with *reason_r (malloc'd), 0 none, -1. */
int	pw_store_suppression_reason(struct pw_store *, int64_t id,
	    char **reason_r);

/* Aggregate reports (postwarden-ctl dmarc report): record one attempt;
   whether report_id was sent to rua (1 yes, 0 no attempt succeeded, -1);
   delete the dmarc_eval rows with time < before and the sent-records of
   attempts before it (*rows_r, *sent_r: how many).  The backends refuse
   to delete anything younger than PW_DMARC_KEEP_MIN_DAYS (a trigger):
   then -1 and nothing is deleted.  0 or -1. */
int	pw_store_dmarc_sent_add(struct pw_store *, const struct pw_dmarc_sent *);
int	pw_store_dmarc_sent_check(struct pw_store *, const char *report_id,
	    const char *rua);
int	pw_store_dmarc_expire(struct pw_store *, time_t before, int64_t *rows_r,
	    int64_t *sent_r);
/* Sending quotas: append n delta rows in one transaction (all or none);
   0 or -1. */
int	pw_store_quota_add(struct pw_store *, const struct pw_quota_row *,
	    size_t n);
/* The sums of the delta rows with since <= hour_start < until (PW_NOTIME:
   no bound), one callback per organisation that has rows (org NULL), or
   exactly one for org (zero sums when it has none); strings valid during
   the callback.  0 or -1. */
int	pw_store_quota_sum(struct pw_store *, const char *org, time_t since,
	    time_t until, int (*cb)(const struct pw_quota_sum *, void *),
	    void *ctx);
/* For store copy: every report attempt (dmarc_report_sent), every quota
   delta row with its id, in the order written; strings valid during the
   callback; cb returning non-zero stops.  0 or -1. */
int	pw_store_dmarc_sent_list(struct pw_store *,
	    int (*cb)(const struct pw_dmarc_sent *, void *), void *ctx);
int	pw_store_quota_list(struct pw_store *, int (*cb)(int64_t id,
	    const struct pw_quota_row *, void *), void *ctx);
/* Complaint-rate holds (issue 17): append one row (sets id); list the
   rows of org (NULL: of every org) in id order.  0 or -1.  In a
   PostgreSQL store only the owner may add a "release" row (row-level
   security: conf/postwarden-roles.sql). */
int	pw_store_chold_add(struct pw_store *, struct pw_chold_row *);
int	pw_store_chold_list(struct pw_store *, const char *org,
	    int (*cb)(const struct pw_chold_row *, void *), void *ctx);
/* Per organisation (org, or every one when NULL) with either: the
   complaints (feedback rows of kind complaint) and the commercial
   recipients delivered (audit rows class commercial, action delivered)
   with time >= since, one call each, in org order.  0 or -1. */
int	pw_store_complaint_counts(struct pw_store *, const char *org,
	    time_t since, int (*cb)(const char *org, int64_t complaints,
	    int64_t delivered, void *), void *ctx);

/* Copy every record of src into dst, which must be empty: consent events
   and suppressions keep their ids and recording times, audit rows their
   ids and hashes; feedback rows, complaint holds and quota deltas their
   ids; DMARC rows and report attempts (dmarc_report_sent) their times.
   0 or -1 (nothing written). */
int	pw_store_copy(struct pw_store *dst, struct pw_store *src);

/* For backends, building a struct pw_consent_events: push appends one
   event (its list name copied into pool, e.list set by finish), finish
   hands pool to ev as ev->strings and points each event at its list. */
void	pw_store_events_push(struct pw_consent_events *, size_t *cap,
	    struct pw_buf *pool, struct pw_consent_event e, const char *list);
void	pw_store_events_finish(struct pw_consent_events *, struct pw_buf *pool);

/* For backends, pw_store_dmarc_groups: the groups come from the query
   without their domain's record (dmarc_groups_sql.h); this holds one
   domain's groups (strings copied into pool) until the next domain or
   the end, asks the backend's newest() for the domain's newest row (its
   id: the largest of the groups' last) and hands the groups to cb with
   that row's pub_domain, pub_record and discovery.  Groups with a NULL
   key (rows without the report columns) go to cb at once.  push returns
   non-zero when the walk should stop (cb said so, or newest() failed:
   failed set); end hands over the last domain and frees; 0, or -1 if
   newest() failed. */
struct pw_dmarc_gbuf {
	int	(*cb)(const struct pw_dmarc_group *, void *);
	void	*ctx;
	/* fills pub_domain, pub_record, discovery of *g (valid until the
	   next call); 0 or -1 (the store's error set) */
	int	(*newest)(void *nctx, int64_t id, struct pw_dmarc_group *g);
	void	*nctx;
	struct pw_dmarc_group *g;	/* strings: offsets into pool */
	size_t	 n, cap;
	struct pw_buf pool;
	char	*key;			/* the domain held, lower-cased */
	int64_t	 last;			/* its newest row */
	bool	 stop, failed;
};
int	pw_store_dmarc_gbuf_push(struct pw_dmarc_gbuf *, const char *key,
	    int64_t last, const struct pw_dmarc_group *);
int	pw_store_dmarc_gbuf_end(struct pw_dmarc_gbuf *);

/* For backends: the chain hash of a row, SHA-256(prev || canonical(row)),
   where the canonical form names every field in a fixed order with its
   length, so that no two rows share an encoding.  row->id must be set.
   The format follows the row: "pw-audit-v1" (whole seconds) when
   row->time_us is 0, "pw-audit-v2" (seconds and microseconds) otherwise;
   see the top of compliance/audit_chain.c.  0, or -1 if OpenSSL fails. */
int	pw_audit_hash(const unsigned char *prev, const struct pw_audit_row *,
	    unsigned char *out);

#endif
