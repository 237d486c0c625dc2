/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config - postwarden.conf: declarative settings tables, the parser and
 * immutable, reference-counted snapshots.
 *
 * The core and each settings owner (a check, the shared services, the
 * endpoint) declare their keys in a pw_setting table next to their code.
 * The parser knows no owner: the caller hands it the list.  Loading
 * builds a complete new snapshot; it becomes current only if every
 * owner's init() succeeds (Postfix main.cf tables, Dovecot
 * setting_define, OpenDKIM conf_refcnt).  A snapshot is read-only once
 * built and shared by all threads; connections pin the one they started
 * with.
 *
 * Errors follow the base layer's convention (util.h).
 */
#ifndef PW_CONFIG_H
#define PW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/cidr.h"
#include "base/util.h"

enum pw_set_type {
	PW_T_STR,	/* char *, NULL when unset */
	PW_T_INT,	/* long, min..max */
	PW_T_BOOL,	/* bool: yes/no/true/false/1/0 */
	PW_T_ENUM,	/* int: index into names[] */
	PW_T_TIME,	/* long seconds; suffix s m h d w */
	PW_T_SIZE,	/* long bytes; suffix k m g */
	PW_T_OCTAL,	/* long, written in octal (file modes) */
};

#define PW_REQUIRED	0x01	/* must be set in the file */
#define PW_SECRET	0x02	/* never printed by -n */

struct pw_setting {
	const char		*name;
	const char		*def;	/* default as text; NULL: unset */
	enum pw_set_type	 type;
	unsigned int		 flags;
	size_t			 offset;	/* into the owner's struct */
	const char *const	*names;		/* PW_T_ENUM */
	long			 min, max;	/* PW_T_INT/TIME/SIZE */
};

#define PW_SET_STR(n, d, f, T, m)                                              \
	{ (n), (d), PW_T_STR, (f), offsetof(T, m), NULL, 0, 0 }
#define PW_SET_INT(n, d, lo, hi, T, m)                                         \
	{ (n), (d), PW_T_INT, 0, offsetof(T, m), NULL, (lo), (hi) }
#define PW_SET_BOOL(n, d, T, m)                                                \
	{ (n), (d), PW_T_BOOL, 0, offsetof(T, m), NULL, 0, 1 }
#define PW_SET_ENUM(n, d, names, T, m)                                         \
	{ (n), (d), PW_T_ENUM, 0, offsetof(T, m), (names), 0, 0 }
#define PW_SET_TIME(n, d, lo, hi, T, m)                                        \
	{ (n), (d), PW_T_TIME, 0, offsetof(T, m), NULL, (lo), (hi) }
#define PW_SET_SIZE(n, d, lo, hi, T, m)                                        \
	{ (n), (d), PW_T_SIZE, 0, offsetof(T, m), NULL, (lo), (hi) }
#define PW_SET_OCTAL(n, d, lo, hi, T, m)                                       \
	{ (n), (d), PW_T_OCTAL, 0, offsetof(T, m), NULL, (lo), (hi) }
#define PW_SET_END	{ NULL, NULL, PW_T_STR, 0, 0, NULL, 0, 0 }

/* "off | warn | enforce", shared by the compliance policies. */
enum pw_mode { PW_MODE_OFF, PW_MODE_WARN, PW_MODE_ENFORCE };
extern const char *const pw_mode_names[];

enum pw_on_error { PW_ON_ERROR_TEMPFAIL, PW_ON_ERROR_ACCEPT };
extern const char *const pw_on_error_names[];

enum pw_log_to { PW_LOG_SYSLOG, PW_LOG_STDERR };

/* The daemon's own settings. */
struct pw_core {
	char	*milter_socket;
	long	 milter_socket_mode;
	char	*internal_hosts;
	char	*originating_daemons;
	char	*authserv_id;
	char	*dns_nameservers;
	long	 dns_timeout;		/* seconds, per query */
	long	 dns_max_queries;	/* per message */
	bool	 verify_outbound;	/* VERIFY policies on outbound too */
	char	*user;
	char	*pid_file;
	int	 log;
	char	*log_facility;
	char	*store;
	char	*store_password_file;	/* PostgreSQL */
	char	*temp_dir;
	int	 on_internal_error;
	long	 max_header_bytes;
	long	 body_memory_limit;
	long	 milter_backlog;
	long	 milter_linger_ms;	/* milter/milterio.h; read at start */
	char	*metrics_listen;	/* base/metrics.h; read at start */
};

struct pw_config_entry;
struct pw_config;

/* One owner of settings: its keys, the struct they fill, and what it
   builds from them per snapshot. */
struct pw_config_owner {
	const char		*name;		/* "services", a check, "unsubd" */
	const struct pw_setting	*settings;	/* NULL: no keys */
	size_t			 settings_size;	/* struct they fill */
	/* Called in list order once the core and the owner's keys parsed.
	   Returns 0, or -1 with *error_r (malloc'd, "FILE:LINE: ...").
	   *conf_r may stay NULL (idle for this snapshot). */
	int	(*init)(const struct pw_config *, const void *settings,
		    void **conf_r, char **error_r);
	void	(*deinit)(void *conf);	/* in reverse order, last release */
	bool	 needed;	/* the owners after it use its conf: when its
				   init() fails without a conf, they are
				   not initialised */
};

/* pw_config_load() flags */
#define PW_CONFIG_PARTIAL 0x01	/* keys no owner declares are another
				   program's (postwarden -n checks all) */

struct pw_config {
	char			*path;
	struct pw_core		 core;
	struct pw_cidr_list	*internal;	/* from internal_hosts */
	char			**originating;	/* from originating_daemons */
	const struct pw_config_owner *owners;	/* the caller's list */
	size_t			 nowners;
	void			**settings;	/* per owner, list order */
	void			**conf;		/* per owner, from init() */
	struct pw_config_entry	*entries;	/* as read, for -n and where */
	int			 refcount;	/* under the snapshot lock */
};

/* Load and validate FILE for these owners (the array must outlive every
   snapshot).  On success returns a snapshot with refcount 1.  On failure
   returns NULL and appends one "FILE:LINE: message" line per problem to
   *errors (all of them, not just the first). */
struct pw_config *pw_config_load(const char *path,
		    const struct pw_config_owner *owners, size_t nowners,
		    unsigned int flags, struct pw_buf *errors);

/* The filled settings struct, or what init() built, of the owner with
   this name; NULL when the snapshot has no such owner (or it is idle). */
void	*pw_config_settings(const struct pw_config *, const char *owner);
void	*pw_config_conf(const struct pw_config *, const char *owner);

/* Drop one reference; deinit and free on the last. */
void	pw_config_release(struct pw_config **);

/* "FILE:LINE" of a key as set, or "FILE" when it has its default: for
   error messages from policies' init().  Returns a static-per-snapshot
   string. */
const char *pw_config_where(const struct pw_config *, const char *key);

/* Print the settings that differ from their defaults (postconf -n);
   with all, every setting. */
void	pw_config_print(const struct pw_config *, FILE *, bool all);

/* Parse one value of a given type (also used by unit tests). Returns 0,
   or -1 with *error_r (static text). */
int	pw_setting_parse(const struct pw_setting *, const char *text,
	    void *base, const char **error_r);

/* The value of any string setting, the core's or an owner's, by key (NULL
   when unset or not an owner's of this snapshot). */
const char *pw_config_str(const struct pw_config *, const char *key);

/* The value of a key as written in the file (continuation lines joined),
   or NULL when the file does not set it: for a program that reads a key
   another program owns (postwarden-ctl reads dkim_key_table), whose
   default is that owner's business. */
const char *pw_config_value(const struct pw_config *, const char *key);

/* The uid of the "user" setting, or (uid_t)-1 when unset or unknown: files
   it owns (key rings, stores) must stay loadable after the privilege drop,
   when a SIGHUP reload reads them again as that user. */
uid_t	pw_config_user_uid(const struct pw_config *);

/* The current snapshot, for the daemon: get pins it (refcount++). */
struct pw_config *pw_config_current(void);
void	pw_config_set_current(struct pw_config *);

#endif
