/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main - postwarden: options, config check (-n), socket, daemon mode,
 * privilege drop, signals and reload.
 *
 * Signals: libmilter runs its own signal thread that stops the milter on
 * SIGHUP, SIGTERM and SIGINT.  We want SIGHUP to reload instead, so the
 * main thread keeps those signals blocked and waits for them itself with
 * sigwait(), while smfi_main() runs in a second thread.  Linux hands a
 * process-directed signal to the main thread whenever it is waiting for
 * it, so libmilter's thread does not see it.  SIGUSR1 (which libmilter
 * never touches) also reloads.  Reloading happens in its own thread so the
 * main thread is back in sigwait() at once.
 */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "base/config.h"
#include "base/daemon.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/metrics_http.h"
#include "base/util.h"
#include "interposers.h"
#include "milterio.h"
#include "mlfi.h"
#include "policy.h"
#include "quickack.h"
#include "store/store.h"

#define DEFAULT_CONFIG	PW_SYSCONFDIR "/postwarden.conf"
#define STOP_GRACE_SECONDS 30

static const char *config_path = DEFAULT_CONFIG;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reload_cond = PTHREAD_COND_INITIALIZER;
static int reload_pending;
static int milter_rc;

static struct pw_metric m_reloads = PW_COUNTER(
    "postwarden_config_reloads_total", "Configuration reloads (SIGHUP, "
    "SIGUSR1) by result", "result");
static struct pw_metric m_reload_ok = PW_GAUGE(
    "postwarden_config_last_reload_successful", "1 when the last reload "
    "was applied, 0 when it failed and the previous configuration runs",
    NULL);
static struct pw_metric m_build = PW_GAUGE("postwarden_build_info",
    "Always 1; the labels name the build", "version");

static void
usage(void)
{
	fprintf(stderr, "usage: postwarden [-c config] [-f] [-n] [-v]... "
	    "[-V]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -f       stay in the foreground\n"
	    "  -n       check the configuration, print the non-default "
	    "settings, exit\n"
	    "  -a       with -n: print every setting\n"
	    "  -v       more logging (repeat for more)\n"
	    "  -V       print the version and exit\n", DEFAULT_CONFIG);
	exit(EX_USAGE);
}

/* load_or_report - load a config, printing every error */
static struct pw_config *
load_or_report(const char *path, FILE *to)
{
	struct pw_buf errs = {0};
	struct pw_config *cfg = pw_policies_load(path, &errs);

	if (cfg == NULL) {
		char *line, *save = NULL;

		for (line = strtok_r(errs.data ? errs.data : "", "\n", &save);
		     line != NULL; line = strtok_r(NULL, "\n", &save)) {
			if (to != NULL)
				fprintf(to, "%s\n", line);	/* FILE:LINE: */
			else
				pw_syslog(LOG_ERR, "%s", line);
		}
	}
	pw_buf_free(&errs);
	return cfg;
}

/* reload_thread - build a new snapshot when asked; keep the old on error */
static void *
reload_thread(void *arg)
{
	(void)arg;
	for (;;) {
		struct pw_config *cfg;

		pthread_mutex_lock(&reload_lock);
		while (!reload_pending)
			pthread_cond_wait(&reload_cond, &reload_lock);
		reload_pending = 0;
		pthread_mutex_unlock(&reload_lock);
		pw_syslog(LOG_INFO, "reloading %s", config_path);
		if ((cfg = load_or_report(config_path, NULL)) == NULL) {
			pw_syslog(LOG_ERR, "reload failed: keeping the running "
			    "configuration");
			pw_metric_inc(&m_reloads, PW_LV("failure"));
			pw_metric_set(&m_reload_ok, 0, NULL);
			continue;
		}
		pw_config_set_current(cfg);
		pw_syslog(LOG_INFO, "reloaded %s", config_path);
		pw_metric_inc(&m_reloads, PW_LV("success"));
		pw_metric_set(&m_reload_ok, 1, NULL);
	}
	return NULL;
}

static void *
milter_thread(void *arg)
{
	(void)arg;
	milter_rc = smfi_main();
	/* After our own stop the process is already on its way out; if
	   libmilter gave up by itself, wake the main thread to exit too. */
	kill(getpid(), SIGTERM);
	return NULL;
}

/* socket_path - the file behind unix:/local: sockets, or NULL */
static const char *
socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return NULL;
}

/*
 * set_nodelay - TCP_NODELAY on libmilter's inet listening socket.  Linux
 * copies it to every accepted connection, so our small writes (a header
 * edit, then the reply) are not held back by Nagle's algorithm waiting
 * for the MTA's delayed ACK.  libmilter does not expose the descriptor:
 * find the one listening socket among ours.
 */
static void
set_nodelay(void)
{
	int one = 1;

	for (int fd = 3; fd < 1024; fd++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int acc = 0;
		socklen_t al = sizeof(acc);

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0 ||
		    !acc || getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one)) < 0)
			pw_syslog(LOG_WARNING, "TCP_NODELAY: %s",
			    strerror(errno));
	}
}

/* open_socket - register with libmilter and bind before dropping root */
static void
open_socket(const struct pw_config *cfg)
{
	const char *path = socket_path(cfg->core.milter_socket);
	mode_t old = umask(0117);	/* unix sockets: 0660 */

	if (smfi_setconn(cfg->core.milter_socket) != MI_SUCCESS)
		pw_fatal(EX_CONFIG, "%s: milter_socket = %s: not usable",
		    pw_config_where(cfg, "milter_socket"),
		    cfg->core.milter_socket);
	if (smfi_setbacklog((int)cfg->core.milter_backlog) != MI_SUCCESS ||
	    smfi_register(pw_mlfi_desc) != MI_SUCCESS)
		pw_fatal(EX_SOFTWARE, "smfi_register failed");
	if (smfi_opensocket(true) != MI_SUCCESS)
		pw_fatal(EX_OSERR, "cannot listen on %s (in use, or no "
		    "permission?)", cfg->core.milter_socket);
	umask(old);
	if (path == NULL) {
		set_nodelay();
		pw_quickack_enable();
	}
	pw_milterio_enable((int)cfg->core.milter_linger_ms);
	if (path != NULL && cfg->core.milter_socket_mode >= 0 &&
	    chmod(path, (mode_t)cfg->core.milter_socket_mode) < 0)
		pw_fatal(EX_OSERR, "chmod %s: %s", path, strerror(errno));
}

/*
 * start_metrics - serve /metrics (metrics_listen).  After daemonizing
 * (the listener is a thread) and the privilege drop (the port is a
 * user's port; binding needs no root).  Read at start only: a reload
 * does not move the listener.
 */
static void
start_metrics(const struct pw_config *cfg)
{
	char *err = NULL;

	pw_metric_register(&m_reload_ok);
	pw_metric_set(&m_reload_ok, 1, NULL);
	pw_metric_register(&m_reloads);
	pw_metric_set(&m_build, 1, PW_LV(PACKAGE_VERSION));
	if (pw_metrics_http_start(cfg->core.metrics_listen, &err) < 0)
		pw_fatal(EX_OSERR, "%s: %s", pw_config_where(cfg,
		    "metrics_listen"), err);
	pw_syslog(LOG_INFO, "metrics on http://%s/metrics",
	    cfg->core.metrics_listen);
}

/* wait_signals - the main thread's loop: reload or stop */
static void
wait_signals(const sigset_t *set)
{
	for (;;) {
		int sig;

		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP || sig == SIGUSR1) {
			pthread_mutex_lock(&reload_lock);
			reload_pending = 1;
			pthread_cond_signal(&reload_cond);
			pthread_mutex_unlock(&reload_lock);
			continue;
		}
		pw_syslog(LOG_INFO, "%s: finishing open connections",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT");
		/* Not smfi_stop(): Debian's libmilter runs sessions on a
		   worker pool that is torn down at once when the milter is
		   stopped, cutting the messages in flight.  Refuse new work
		   instead, let the open sessions finish, then exit. */
		pw_mlfi_stop();
		return;
	}
}

int
main(int argc, char **argv)
{
	bool foreground = false, check = false, all = false;
	struct pw_config *cfg;
	char *pid_file, *sock_path;
	pthread_t mt, rt;
	sigset_t set;
	int ch;

	while ((ch = getopt(argc, argv, "ac:fhnvV")) != -1) {
		switch (ch) {
		case 'a':
			all = true;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'n':
			check = true;
			break;
		case 'v':
			pw_verbose++;
			break;
		case 'V':
			printf("postwarden %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if ((cfg = load_or_report(config_path, stderr)) == NULL)
		return EX_CONFIG;
	if (cfg->core.metrics_listen != NULL) {
		const char *why;
		unsigned short port;
		char *host;

		if (pw_metrics_listen_parse(cfg->core.metrics_listen, &host,
		    &port, &why) < 0) {
			fprintf(stderr, "%s: metrics_listen = %s: %s\n",
			    pw_config_where(cfg, "metrics_listen"),
			    cfg->core.metrics_listen, why);
			return EX_CONFIG;
		}
		free(host);
		/* Counting starts now: the startup checks below set
		   gauges. */
		if (!check)
			pw_metrics_enable(true);
	}
	if (check) {
		pw_config_print(cfg, stdout, all);
		(void)pw_interposers_check(
		    socket_path(cfg->core.milter_socket) == NULL, 1);
		pw_config_release(&cfg);
		return 0;
	}
	pw_log_init("postwarden", cfg->core.log == PW_LOG_STDERR,
	    pw_log_facility(cfg->core.log_facility));
	open_socket(cfg);
	(void)pw_interposers_check(socket_path(cfg->core.milter_socket) ==
	    NULL, 0);
	if (!foreground)
		pw_daemonize();
	pid_file = cfg->core.pid_file ? pw_strdup(cfg->core.pid_file) : NULL;
	sock_path = socket_path(cfg->core.milter_socket) ?
	    pw_strdup(socket_path(cfg->core.milter_socket)) : NULL;
	pw_write_pid(pid_file, "pid_file");
	pw_drop_privileges(cfg, socket_path(cfg->core.milter_socket));
	{
		/* a store of another schema version: refuse to start (a
		   store that is only down does not stop signing) */
		char *err = NULL;

		if (pw_store_startup_check(cfg->core.store,
		    cfg->core.store_password_file, &err) < 0)
			pw_fatal(EX_CONFIG, "store: %s", err);
	}
	if (cfg->core.metrics_listen != NULL)
		start_metrics(cfg);
	pw_config_set_current(cfg);

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&rt, NULL, reload_thread, NULL) != 0 ||
	    pthread_create(&mt, NULL, milter_thread, NULL) != 0)
		pw_fatal(EX_OSERR, "pthread_create failed");
	pthread_detach(rt);
	pthread_detach(mt);
	pw_syslog(LOG_INFO, "postwarden %s listening on %s", PACKAGE_VERSION,
	    cfg->core.milter_socket);
	wait_signals(&set);
	/* A unix socket goes at once, so the MTA stops connecting; then the
	   messages in flight finish (the MTA would otherwise apply its
	   default action to them). */
	if (sock_path != NULL)
		(void)unlink(sock_path);
	for (int i = 0; i < STOP_GRACE_SECONDS * 10 && pw_mlfi_active() > 0;
	     i++) {
		struct timespec ts = {0, 100000000};

		nanosleep(&ts, NULL);
	}
	if (pw_mlfi_active() > 0)
		pw_syslog(LOG_WARNING, "stopping with %d connections open",
		    pw_mlfi_active());
	else
		/* The last reference: the policies finish their work (queued
		   DMARC rows are written).  With connections open their
		   snapshot stays, unwritten rows are lost. */
		pw_config_set_current(NULL);
	pw_interposers_report();
	pw_syslog(LOG_INFO, "stopped");
	if (pid_file != NULL)
		(void)unlink(pid_file);
	/* _exit: other threads (libmilter's listener and signal threads)
	   are still running, and exit()'s handlers (library destructors)
	   would race them. */
	fflush(NULL);
	_exit(milter_rc == MI_SUCCESS ? 0 : EX_SOFTWARE);
}
