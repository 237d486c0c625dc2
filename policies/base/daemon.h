/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemon - what both daemons (postwarden, postwarden-unsubd) do around
 * their main loop: detach, write the pid file, drop root for good.
 * Fatal errors exit with sysexits codes (pw_fatal).  Not thread-safe: call
 * before any thread starts.
 */
#ifndef PW_DAEMON_H
#define PW_DAEMON_H

struct pw_config;

/* Fork, start a new session, stdio to /dev/null, chdir /.  The parent
   exits 0. */
void	pw_daemonize(void);

/* Write our pid to path (what names the file in errors: the key). */
void	pw_write_pid(const char *path, const char *key);

/* Become the config's "user" for good (initgroups, setgid, setuid, and a
   check that root cannot be regained); chown_path, when not NULL (a unix
   socket), goes to that user first.  Running as root without "user" is
   allowed with a warning; not running as root, nothing happens. */
void	pw_drop_privileges(const struct pw_config *, const char *chown_path);

#endif
