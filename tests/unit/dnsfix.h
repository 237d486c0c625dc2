/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dnsfix.h - a real unbound for the DNS unit tests: dns_server.sh serves
 * tests/data/dns/unit.zone on 127.0.0.1:DNSFIX_PORT, which each test
 * program defines before including this file so that make -j runs them
 * side by side (the inbound range 5310-5319; 5319 never listens and
 * stands for a dead server).
 */
#ifndef PW_DNSFIX_H
#define PW_DNSFIX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DNSFIX_DEAD "127.0.0.1@5319"

static char dnsfix_dir[256];
static char dnsfix_fwd[64];	/* "127.0.0.1@PORT" */

static inline const char *
dnsfix_srcdir(void)
{
	const char *src = getenv("PW_SRCDIR");

	return src != NULL ? src : ".";
}

/* dnsfix_server - "start" or "stop"; returns system()'s status.  If
   DNSFIX_PORT is taken (another build's make check), DNSFIX_PORT + 3 and
   + 6 are tried: still in the range, and three test runs can overlap. */
static inline int
dnsfix_server(const char *verb)
{
	static int port;
	char cmd[1024];
	int rc = -1;

	if (dnsfix_dir[0] == '\0')
		snprintf(dnsfix_dir, sizeof(dnsfix_dir), "/tmp/pw-dns.%ld",
		    (long)getpid());
	if (strcmp(verb, "start") != 0) {
		snprintf(cmd, sizeof(cmd), "%s/tests/unit/dns_server.sh %s %s",
		    dnsfix_srcdir(), verb, dnsfix_dir);
		return system(cmd);
	}
	for (int i = 0; i < 3 && rc != 0; i++) {
		port = atoi(DNSFIX_PORT) + 3 * i;
		snprintf(cmd, sizeof(cmd), "%s/tests/unit/dns_server.sh start "
		    "%s %d %s/tests/data/dns/unit.zone", dnsfix_srcdir(),
		    dnsfix_dir, port, dnsfix_srcdir());
		rc = system(cmd);
	}
	snprintf(dnsfix_fwd, sizeof(dnsfix_fwd), "127.0.0.1@%d", port);
	return rc;
}

static inline int
dnsfix_cleanup(void)
{
	char cmd[512];

	dnsfix_server("stop");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dnsfix_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* No unbound: skip the whole program (automake's exit code 77). */
static inline void
dnsfix_require(void)
{
	if (access("/usr/sbin/unbound", X_OK) != 0) {
		printf("1..0 # SKIP unbound is not installed\n");
		exit(77);
	}
}

#endif
