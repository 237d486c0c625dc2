/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dmarc_report_conf - the postwarden-ctl dmarc report keys of
 * postwarden.conf (dmarc_report_conf.h): a settings owner whose init()
 * checks the values and leaves its conf NULL.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/util.h"
#include "dmarc_report_conf.h"
#include "store/store.h"

#define S struct pw_dmarc_report_settings

static const struct pw_setting dr_settings[] = {
    /* the store's triggers refuse to delete younger rows (store.h) */
    PW_SET_INT("dmarc_keep_days", "35", PW_DMARC_KEEP_MIN_DAYS, 3650, S,
	       keep_days),
    PW_SET_STR("dmarc_report_transport", "sendmail:/usr/sbin/sendmail", 0,
	       S, transport),
    PW_SET_STR("dmarc_report_from", NULL, 0, S, from),
    PW_SET_STR("dmarc_report_org_name", NULL, 0, S, org_name),
    PW_SET_SIZE("dmarc_report_max_bytes", "10m", 1024, 1L << 30, S,
		max_bytes),
    PW_SET_STR("dmarc_report_store", NULL, PW_SECRET, S, store),
    PW_SET_END,
};

int
pw_dmarc_report_smtp_addr(const char *t, char **host_r, int *port_r)
{
	const char *h, *p, *e;
	char *end;
	long port;

	if (strncmp(t, "smtp:", 5) != 0)
		return -1;
	h = t + 5;
	if (*h == '[') {
		if ((e = strchr(h, ']')) == NULL || e[1] != ':')
			return -1;
		p = e + 2;
		h++;
	} else {
		if ((e = strrchr(h, ':')) == NULL)
			return -1;
		p = e + 1;
	}
	if (e == h)
		return -1;
	port = strtol(p, &end, 10);
	if (*p == '\0' || *end != '\0' || port < 1 || port > 65535)
		return -1;
	*host_r = pw_strndup(h, (size_t)(e - h));
	*port_r = (int)port;
	return 0;
}

static int
dr_init(const struct pw_config *cfg, const void *settings, void **conf_r,
    char **error_r)
{
	const S *s = settings;
	char *host;
	int port;

	(void)conf_r;
	if (strncmp(s->transport, "sendmail:", 9) == 0) {
		if (s->transport[9] != '/') {
			*error_r = pw_asprintf("%s: dmarc_report_transport = "
			    "%s: expected sendmail:/ABSOLUTE/PATH [ARGS...]",
			    pw_config_where(cfg, "dmarc_report_transport"),
			    s->transport);
			return -1;
		}
	} else if (pw_dmarc_report_smtp_addr(s->transport, &host, &port) ==
	    0) {
		free(host);
	} else {
		*error_r = pw_asprintf("%s: dmarc_report_transport = %s: "
		    "expected sendmail:/PATH [ARGS...] or smtp:HOST:PORT",
		    pw_config_where(cfg, "dmarc_report_transport"),
		    s->transport);
		return -1;
	}
	if (s->from != NULL && (strchr(s->from, '@') == NULL ||
	    strpbrk(s->from, " \t<>\r\n") != NULL)) {
		*error_r = pw_asprintf("%s: dmarc_report_from = %s: expected "
		    "a bare address (local@domain)",
		    pw_config_where(cfg, "dmarc_report_from"), s->from);
		return -1;
	}
	return 0;
}

const struct pw_config_owner pw_dmarc_report_owner = {
	"dmarc_report", dr_settings, sizeof(S), dr_init, NULL, false,
};
