/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * snapshot - build and free the shared services of one configuration
 * snapshot (snapshot.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "compliance/complaint_watch.h"
#include "compliance/org.h"
#include "compliance/token.h"
#include "dns/dns.h"
#include "snapshot.h"
#include "store/store.h"

struct svc_settings {
	char	*organisations;
	char	*unsubscribe_keys;
	/* complaint rates (issue 17): complaint_watch.h */
	char	*complaint_warn;
	char	*complaint_hold;
	long	 complaint_min;
	long	 complaint_interval;
	int	 complaint_action;
};

const char *const pw_chold_action_names[] = {"tempfail", "hold", NULL};

static const struct pw_setting svc_settings_tab[] = {
    PW_SET_STR("organisations", NULL, 0, struct svc_settings, organisations),
    PW_SET_STR("unsubscribe_keys", NULL, 0, struct svc_settings,
	unsubscribe_keys),
    PW_SET_STR("complaint_rate_warn", "0.1%", 0, struct svc_settings,
	complaint_warn),
    PW_SET_STR("complaint_rate_hold", "0.3%", 0, struct svc_settings,
	complaint_hold),
    PW_SET_INT("complaint_rate_min_messages", "1000", 1, 100000000,
	struct svc_settings, complaint_min),
    PW_SET_TIME("complaint_rate_interval", "60s", 1, 3600,
	struct svc_settings, complaint_interval),
    PW_SET_ENUM("complaint_hold_action", "tempfail", pw_chold_action_names,
	struct svc_settings, complaint_action),
    PW_SET_END,
};

static void
svc_deinit(void *vsvc)
{
	struct pw_services *svc = vsvc;

	if (svc == NULL)
		return;
	pw_cwatch_free(&svc->cwatch);	/* its thread reads the store */
	pw_orgs_free(&svc->orgs);
	pw_keyring_free(&svc->ring);
	pw_store_handle_free(&svc->store);
	pw_dns_free(&svc->dns);
	free(svc);
}

/* error_lines - a loader's "FILE:LINE: ..." lines as one malloc'd text */
static char *
error_lines(struct pw_buf *errs, const char *fallback)
{
	if (errs->len > 0 && errs->data[errs->len - 1] == '\n')
		errs->data[--errs->len] = '\0';
	return errs->data ? errs->data : pw_strdup(fallback);
}

/* load_orgs - the organisations file ("file:PATH" or PATH) */
static int
load_orgs(const struct pw_config *cfg, struct pw_services *svc,
    const char *path, char **error_r)
{
	struct pw_buf errs = {0};

	if (strncmp(path, "file:", 5) == 0)
		path += 5;
	else if (strchr(path, ':') != NULL) {
		*error_r = pw_asprintf("%s: organisations = %s: expected "
		    "file:PATH", pw_config_where(cfg, "organisations"), path);
		return -1;
	}
	if (access(path, R_OK) != 0) {
		*error_r = pw_asprintf("%s: organisations: %s: cannot open: %s",
		    pw_config_where(cfg, "organisations"), path,
		    strerror(errno));
		return -1;
	}
	svc->orgs_path = path;
	if ((svc->orgs = pw_orgs_load(path, &errs)) == NULL) {
		/* One "ORGFILE:LINE: ..." line per problem. */
		*error_r = error_lines(&errs, "organisations: cannot load");
		return -1;
	}
	/* Loaded, but some choices cannot act: logged at startup, reload
	   and in postwarden -n (stderr there). */
	if (pw_orgs_warnings(svc->orgs, &errs) > 0) {
		char *line, *save = NULL;

		for (line = strtok_r(errs.data, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save))
			pw_warn(NULL, "%s", line);
	}
	pw_buf_free(&errs);
	return 0;
}

/* complaint_conf - the complaint-rate settings, and the watcher when
   there are organisations and a store (started at its first use) */
static int
complaint_conf(const struct pw_config *cfg, const struct svc_settings *s,
    struct pw_services *svc, struct pw_buf *bad)
{
	struct pw_cwatch_conf *c = &svc->complaints;
	const char *why, *keys[2] = {"complaint_rate_warn",
	    "complaint_rate_hold"}, *vals[2] = {s->complaint_warn,
	    s->complaint_hold};
	long *ppm[2] = {&c->def.warn_ppm, &c->def.hold_ppm};

	for (int i = 0; i < 2; i++)
		if (pw_rate_parse(vals[i], ppm[i], &why) < 0) {
			pw_buf_printf(bad, "%s%s: %s = %s: %s", bad->len ? "\n" :
			    "", pw_config_where(cfg, keys[i]), keys[i],
			    vals[i], why);
			return -1;
		}
	c->def.min_delivered = s->complaint_min;
	c->interval = s->complaint_interval;
	svc->hold_action = (enum pw_chold_action)s->complaint_action;
	if (svc->orgs != NULL && cfg->core.store != NULL &&
	    *cfg->core.store != '\0')
		svc->cwatch = pw_cwatch_new(svc->orgs, svc->store, c);
	return 0;
}

static int
svc_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	const struct svc_settings *s = vs;
	struct pw_services *svc = pw_calloc(1, sizeof(*svc));
	struct pw_buf errs = {0}, bad = {0};
	char *e = NULL;

	/* The resolver and the store handle first: the checks' init() take
	   them whatever else fails, so that every error is still reported.
	   Without a resolver there is no conf, and the load stops here. */
	if ((svc->dns = pw_dns_config(cfg, error_r)) == NULL) {
		free(svc);
		return -1;
	}
	*conf_r = svc;		/* freed by svc_deinit, also on error */
	svc->store = pw_store_handle_new(cfg->core.store,
	    cfg->core.store_password_file);
	if (s->organisations != NULL &&
	    load_orgs(cfg, svc, s->organisations, &e) < 0) {
		pw_buf_printf(&bad, "%s", e);
		free(e);
	}
	/* Loaded as the "user" too: a SIGHUP reload reads it after the
	   privilege drop. */
	if ((svc->keys_path = s->unsubscribe_keys) != NULL &&
	    (svc->ring = pw_keyring_load_owner(s->unsubscribe_keys,
	    pw_config_user_uid(cfg), &errs)) == NULL) {
		e = error_lines(&errs, "cannot load");
		pw_buf_printf(&bad, "%s%s: unsubscribe_keys: %s",
		    bad.len ? "\n" : "", pw_config_where(cfg,
		    "unsubscribe_keys"), e);
		free(e);
	}
	if (complaint_conf(cfg, s, svc, &bad) == 0 && bad.len == 0)
		return 0;
	*error_r = bad.data;
	return -1;
}

const struct pw_config_owner pw_services_owner = {
	"services", svc_settings_tab, sizeof(struct svc_settings),
	svc_init, svc_deinit, true,
};

const struct pw_services *
pw_services(const struct pw_config *cfg)
{
	return pw_config_conf(cfg, pw_services_owner.name);
}
