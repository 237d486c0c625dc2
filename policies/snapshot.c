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
#include "compliance/org.h"
#include "compliance/token.h"
#include "dns/dns.h"
#include "snapshot.h"
#include "store/store.h"

struct svc_settings {
	char	*organisations;
	char	*unsubscribe_keys;
};

static const struct pw_setting svc_settings_tab[] = {
    PW_SET_STR("organisations", NULL, 0, struct svc_settings, organisations),
    PW_SET_STR("unsubscribe_keys", NULL, 0, struct svc_settings,
	unsubscribe_keys),
    PW_SET_END,
};

static void
svc_deinit(void *vsvc)
{
	struct pw_services *svc = vsvc;

	if (svc == NULL)
		return;
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
	if (bad.len == 0)
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
