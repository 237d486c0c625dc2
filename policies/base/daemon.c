/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemon - detach, pid file, privilege drop (see daemon.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "base/config.h"
#include "base/daemon.h"
#include "base/log.h"

void
pw_daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		pw_fatal(EX_OSERR, "fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		pw_fatal(EX_OSERR, "setsid: %s", strerror(errno));
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	if (chdir("/") < 0)
		pw_fatal(EX_OSERR, "chdir /: %s", strerror(errno));
}

void
pw_write_pid(const char *path, const char *key)
{
	FILE *fp;

	if (path == NULL)
		return;
	if ((fp = fopen(path, "w")) == NULL)
		pw_fatal(EX_CANTCREAT, "%s %s: %s", key, path, strerror(errno));
	fprintf(fp, "%ld\n", (long)getpid());
	fclose(fp);
}

void
pw_drop_privileges(const struct pw_config *cfg, const char *chown_path)
{
	const char *user = cfg->core.user;
	struct passwd *pw;

	if (getuid() != 0 && geteuid() != 0)
		return;
	if (user == NULL || *user == '\0') {
		pw_syslog(LOG_WARNING, "running as root: set \"user\" in %s",
		    cfg->path);
		return;
	}
	if ((pw = getpwnam(user)) == NULL)
		pw_fatal(EX_NOUSER, "%s: user = %s: no such user",
		    pw_config_where(cfg, "user"), user);
	if (chown_path != NULL && chown(chown_path, pw->pw_uid, pw->pw_gid) < 0)
		pw_fatal(EX_OSERR, "chown %s: %s", chown_path, strerror(errno));
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
	    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		pw_fatal(EX_OSERR, "cannot become %s: %s", user,
		    strerror(errno));
	if (setuid(0) == 0)
		pw_fatal(EX_SOFTWARE, "could regain root after dropping it");
}
