/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log - logging to syslog or stderr.
 *
 * Every line about a message starts with the MTA queue ID.  Whether a line
 * is written is decided here, never at call sites.  Thread-safe.
 */
#ifndef PW_LOG_H
#define PW_LOG_H

#include <syslog.h>

struct pw_msg;

extern int pw_verbose;

/* Log to stderr (foreground, tests) or to syslog with this facility. */
void	pw_log_init(const char *ident, int to_stderr, int facility);

/* How to find a message's queue ID: set by the message layer (msg.c,
   at load time), so that this base layer needs no struct pw_msg. */
void	pw_log_set_msg_qid(const char *(*)(const struct pw_msg *));

/* A line about one message: "QID: text". */
void	pw_log(int prio, const struct pw_msg *, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* A line about the daemon itself. */
void	pw_syslog(int prio, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define pw_info(m, ...)	pw_log(LOG_INFO, (m), __VA_ARGS__)
#define pw_warn(m, ...)	pw_log(LOG_WARNING, (m), __VA_ARGS__)
#define pw_debug(m, lvl, ...)                                                  \
	do {                                                                   \
		if (pw_verbose >= (lvl))                                       \
			pw_log(LOG_DEBUG, (m), __VA_ARGS__);                   \
	} while (0)

/* Log and exit with the sysexits code (bad config, startup errors). */
void	pw_fatal(int exitcode, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
/* A broken internal invariant: log and abort() for a core. */
void	pw_panic(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* Syslog facility by name ("mail", "local0"...); -1 if unknown. */
int	pw_log_facility(const char *);

#endif
