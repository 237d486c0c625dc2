/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl - postwarden-ctl, the administration tool: shared state and the
 * subcommand contract.
 *
 * ctl.c parses the global options and dispatches to one subcommand; each
 * subcommand lives in its own tools/ctl_<cmd>.c and is declared here.
 * Adding a subcommand is one file, one prototype below and one row in the
 * table in ctl.c.  Single-threaded.
 */
#ifndef PW_CTL_H
#define PW_CTL_H

#include <stdbool.h>

struct pw_config;
struct pw_store;

/* What every subcommand gets. */
struct pw_ctl {
	const char		*config_path;	/* -c, or the default path */
	bool			 config_given;	/* -c was on the command line */
	struct pw_config	*cfg;		/* loaded on demand, see below */
};

/*
 * A subcommand: argv[0] is the subcommand name, options follow (parse
 * them with getopt/getopt_long after setting optind = 1).  Returns the
 * process exit status: 0, 1 for a failure, or a <sysexits.h> code such
 * as EX_USAGE (64) for bad arguments.
 */
typedef int (*pw_ctl_fn)(struct pw_ctl *, int argc, char **argv);

int	pw_ctl_keygen(struct pw_ctl *, int, char **);
int	pw_ctl_dnscheck(struct pw_ctl *, int, char **);
int	pw_ctl_key(struct pw_ctl *, int, char **);
int	pw_ctl_consent(struct pw_ctl *, int, char **);
int	pw_ctl_suppression(struct pw_ctl *, int, char **);
int	pw_ctl_token(struct pw_ctl *, int, char **);
int	pw_ctl_audit(struct pw_ctl *, int, char **);
int	pw_ctl_unsubscribe(struct pw_ctl *, int, char **);
int	pw_ctl_store(struct pw_ctl *, int, char **);
int	pw_ctl_complaints(struct pw_ctl *, int, char **);
int	pw_ctl_delivery(struct pw_ctl *, int, char **);
int	pw_ctl_dmarc(struct pw_ctl *, int, char **);
int	pw_ctl_quota(struct pw_ctl *, int, char **);
/* "consent proof ADDRESS ..." (ctl_audit.c): pw_ctl_consent hands over
   its argv as is (argv[1] is "proof"). */
int	pw_ctl_consent_proof(struct pw_ctl *, int, char **);

/* The configuration named by -c, loaded on the first call.  On failure
   prints each "FILE:LINE: message" on stderr and returns NULL. */
struct pw_config *pw_ctl_config(struct pw_ctl *);

/*
 * pw_ctl_open_store - open the store for one command: spec (--store), else
 * "store" in the configuration.  readonly: the evidence commands (audit,
 * unsubscribe report, consent proof), which never create a store nor
 * write to one; otherwise the store is created if missing.  An operator
 * can wait: a busy store is retried for 10 s.  On failure prints
 * "postwarden-ctl: CMD: why" and returns NULL.  Close with
 * pw_store_close().
 */
struct pw_store *pw_ctl_open_store(struct pw_ctl *, const char *spec,
	    const char *cmd, bool readonly);

/* pw_ctl_name_ok - an organisation or list name: up to 64 characters of
   [A-Za-z0-9._-] (what fits in a token); "" only when empty_ok. */
bool	pw_ctl_name_ok(const char *, bool empty_ok);

/*
 * pw_ctl_opt_error - report what getopt_long() returned ch ('?' or, with
 * a leading ':' in the option string, ':') for: 'bad option "ARG"' or
 * 'option "ARG" needs a value', ARG being argv[optind - 1].  The
 * subcommands parse with opterr = 0 so that this is the only wording.
 */
void	pw_ctl_opt_error(const char *cmd, int ch, char *const *argv);

/* "postwarden-ctl: CMD: message" on stderr. */
void	pw_ctl_error(const char *cmd, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Same with ": strerror(errno)" appended. */
void	pw_ctl_error_errno(const char *cmd, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
