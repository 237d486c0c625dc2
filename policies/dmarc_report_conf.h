/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dmarc_report_conf - the keys of postwarden-ctl dmarc report (RFC 9990
 * aggregate reports, issue 11) in postwarden.conf.
 *
 * Declared by pw_dmarc_report_owner, which the milter passes to
 * pw_config_load() so that "postwarden -n" checks them (init() only
 * checks the values; the milter does not use them), and which
 * postwarden-ctl dmarc report loads to read the filled struct.
 */
#ifndef PW_DMARC_REPORT_CONF_H
#define PW_DMARC_REPORT_CONF_H

#include "base/config.h"

struct pw_dmarc_report_settings {
	long	 keep_days;	/* dmarc_eval rows older are deleted */
	char	*transport;	/* "sendmail:CMD [ARGS]" or "smtp:HOST:PORT" */
	char	*from;		/* envelope and header From; NULL: postmaster@host */
	char	*org_name;	/* report_metadata org_name; NULL: host name */
	long	 max_bytes;	/* a gzipped report larger is split */
	char	*store;		/* the store the job opens; NULL: "store" */
};

extern const struct pw_config_owner pw_dmarc_report_owner;

/* Parse "smtp:HOST:PORT" ("smtp:[v6]:PORT"): host (malloc'd) and port;
   0 or -1.  Also used by postwarden-ctl. */
int	pw_dmarc_report_smtp_addr(const char *transport, char **host_r,
	    int *port_r);

#endif
