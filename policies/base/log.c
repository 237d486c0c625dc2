/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log - logging to syslog or stderr.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

int pw_verbose;

static int log_stderr = 1;
static const char *log_ident = "postwarden";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void
pw_log_init(const char *ident, int to_stderr, int facility)
{
	log_ident = ident;
	log_stderr = to_stderr;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

/* pw_vlog - write one line; the only place that decides */
static void
pw_vlog(int prio, const char *prefix, const char *fmt, va_list ap)
{
	char line[2048];
	int n = 0;

	if (prio == LOG_DEBUG && pw_verbose == 0)
		return;
	if (prefix != NULL)
		n = snprintf(line, sizeof(line), "%s: ", prefix);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* Never let a header value break a log line in two. */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (log_stderr) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		pthread_mutex_lock(&log_lock);
		fprintf(stderr, "%s.%03ld %s: %s\n", when,
		    ts.tv_nsec / 1000000, log_ident, line);
		fflush(stderr);
		pthread_mutex_unlock(&log_lock);
	} else {
		syslog(prio, "%s", line);
	}
}

/* Set once by the message layer (msg.c), which knows struct pw_msg. */
static const char *(*msg_qid)(const struct pw_msg *);

void
pw_log_set_msg_qid(const char *(*fn)(const struct pw_msg *))
{
	msg_qid = fn;
}

void
pw_log(int prio, const struct pw_msg *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pw_vlog(prio, m != NULL && msg_qid != NULL ? msg_qid(m) : NULL, fmt,
	    ap);
	va_end(ap);
}

void
pw_syslog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pw_vlog(prio, NULL, fmt, ap);
	va_end(ap);
}

void
pw_fatal(int exitcode, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pw_vlog(LOG_ERR, "fatal", fmt, ap);
	va_end(ap);
	exit(exitcode);
}

void
pw_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pw_vlog(LOG_CRIT, "panic", fmt, ap);
	va_end(ap);
	abort();
}

int
pw_log_facility(const char *name)
{
	static const struct {
		const char *name;
		int code;
	} fac[] = {
	    {"mail", LOG_MAIL},	    {"daemon", LOG_DAEMON},
	    {"user", LOG_USER},	    {"local0", LOG_LOCAL0},
	    {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
	    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},
	    {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},
	    {"local7", LOG_LOCAL7},
	};

	for (size_t i = 0; i < sizeof(fac) / sizeof(fac[0]); i++)
		if (strcmp(fac[i].name, name) == 0)
			return fac[i].code;
	return -1;
}
